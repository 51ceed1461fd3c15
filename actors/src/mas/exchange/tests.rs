//! Every denial reason and every attenuation rule of the exchange, in-process.

use std::collections::{BTreeMap, HashMap};

use time::OffsetDateTime;
use uuid::Uuid;

use super::*;
use crate::checks::IntentMatch;
use crate::model::{AppType, SemanticSettings, ToolDef};

fn app(name: &str, app_type: AppType, allowed: &[&str], serves: &[&str]) -> AppRecord {
    let id = Uuid::now_v7();
    AppRecord {
        id,
        mas_id: Uuid::nil(),
        name: name.into(),
        app_type,
        base_url: None,
        allowed_tools: allowed.iter().map(|t| t.to_string()).collect(),
        tools: serves
            .iter()
            .map(|t| ToolDef { name: t.to_string(), description: format!("{t} tool"), ..Default::default() })
            .collect(),
        client_id: id.to_string(),
        secret_digest: String::new(),
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

fn subject(tools: &[&str], actors: usize) -> Claims {
    let act = (0..actors).fold(None, |inner, i| Some(Act { sub: format!("hop-{i}"), act: inner.map(Box::new) }));
    Claims {
        iss: "http://casa.test/realms/m".into(),
        sub: "client".into(),
        aud: "http://casa.test/realms/m".into(),
        client_id: "client".into(),
        iat: 1_000,
        nbf: 1_000,
        exp: 2_000,
        jti: "subject-jti".into(),
        scope: tools.join(" "),
        uiid: "session".into(),
        tools: tools.iter().map(|t| t.to_string()).collect(),
        act,
        parent: None,
        lineage: Vec::new(),
    }
}

/// A MAS with an agent (may act for fs:read, fs:write, web:search and x:y,
/// which nobody serves), a file server (fs:read, fs:write) and a web server
/// (web:search).
struct World {
    apps: BTreeMap<Uuid, AppRecord>,
    agent: AppRecord,
    files: AppRecord,
    web: AppRecord,
}

fn world() -> World {
    let agent = app("agent", AppType::Agent, &["fs:read", "fs:write", "web:search", "x:y"], &[]);
    let files = app("files", AppType::McpServer, &[], &["fs:read", "fs:write"]);
    let web = app("web", AppType::McpServer, &[], &["web:search"]);
    let apps = [&agent, &files, &web].into_iter().map(|a| (a.id, a.clone())).collect();
    World { apps, agent, files, web }
}

fn enforced(names: &[CheckName]) -> Vec<(Box<dyn checks::Check>, bool)> {
    names.iter().map(|n| (checks::implementation(*n, &SemanticSettings::default()), true)).collect()
}

/// What `decide` reads besides the world: no LLM calls, no intent.
struct Inputs {
    judgements: HashMap<String, Result<Judgement, AiError>>,
    intent: IntentMatch,
}

fn inputs() -> Inputs {
    Inputs { judgements: HashMap::new(), intent: IntentMatch::Unavailable("not evaluated") }
}

fn context<'a>(
    w: &'a World,
    subject: &'a Claims,
    actor: Option<&'a AppRecord>,
    checks: &'a [(Box<dyn checks::Check>, bool)],
    inputs: &'a Inputs,
) -> Context<'a> {
    Context {
        actor,
        subject,
        audience: None,
        apps: &w.apps,
        max_delegation_depth: 3,
        checks,
        llm_calls: &[],
        intent: &inputs.intent,
        judgements: &inputs.judgements,
        defer_judge: false,
    }
}

fn strings(tools: &[&str]) -> Vec<String> {
    tools.iter().map(|t| t.to_string()).collect()
}

/// Decides `tools` for `subject` with the given actor, audience and checks.
fn run(
    w: &World,
    subject: &Claims,
    actor: Option<&AppRecord>,
    audience: Option<&AppRecord>,
    checks: &[(Box<dyn checks::Check>, bool)],
    tools: &[&str],
) -> Decision {
    let inputs = inputs();
    let ctx = Context { audience, ..context(w, subject, actor, checks, &inputs) };
    decide(&strings(tools), &ctx)
}

type Checks = [(Box<dyn checks::Check>, bool)];

/// (case, subject, actor, audience, checks, tool, expected check, expected reason)
type DenialCase<'a> =
    (&'a str, Claims, Option<&'a AppRecord>, Option<&'a AppRecord>, &'a Checks, &'a str, &'a str, &'a str);

#[test]
fn every_denial_reason_of_the_exchange() {
    let w = world();
    let read_only = app("reader", AppType::Agent, &["fs:read"], &[]);
    let tool_selected = enforced(&[CheckName::DeterministicToolSelected]);
    let llm_selected = enforced(&[CheckName::DeterministicLlmSelectedTools]);
    let semantic = enforced(&[CheckName::SemanticIntentMatch]);
    let judged = enforced(&[CheckName::AiPoweredToolMatch]);
    let cases: Vec<DenialCase> = vec![
        ("foreign actor", subject(&["fs:read"], 0), None, None, &[], "fs:read", "ACTOR", "cross_mas_actor"),
        ("too deep", subject(&["fs:read"], 3), Some(&w.agent), None, &[], "fs:read", "ACTOR", "delegation_too_deep"),
        (
            "not the actor's tool",
            subject(&["fs:write"], 0),
            Some(&read_only),
            None,
            &[],
            "fs:write",
            "ACTOR",
            "tool_not_allowed_for_app",
        ),
        ("unknown tool", subject(&["x:y"], 0), Some(&w.agent), None, &[], "x:y", "TOOL_REGISTRY", "unknown_tool"),
        (
            "audience does not serve it",
            subject(&["web:search"], 0),
            Some(&w.agent),
            Some(&w.files),
            &[],
            "web:search",
            "TOOL_REGISTRY",
            "tool_not_served_by_audience",
        ),
        (
            "not in the subject token",
            subject(&["fs:read"], 0),
            Some(&w.agent),
            None,
            &tool_selected,
            "fs:write",
            "DETERMINISTIC_TOOL_SELECTED",
            "tool_not_in_token",
        ),
        (
            "no LLM call recorded",
            subject(&["fs:read"], 0),
            Some(&w.agent),
            None,
            &llm_selected,
            "fs:read",
            "DETERMINISTIC_LLM_SELECTED_TOOLS",
            "no_llm_calls_made",
        ),
        (
            "no intent to compare",
            subject(&["fs:read"], 0),
            Some(&w.agent),
            None,
            &semantic,
            "fs:read",
            "SEMANTIC_INTENT_MATCH",
            "intent_unavailable",
        ),
        (
            "no verdict of the judge",
            subject(&["fs:read"], 0),
            Some(&w.agent),
            None,
            &judged,
            "fs:read",
            "AI_POWERED_TOOL_MATCH",
            "llm_verifier_unavailable",
        ),
    ];
    for (case, subject, actor, audience, checks, tool, check, reason) in cases {
        let d = run(&w, &subject, actor, audience, checks, &[tool]);
        assert!(d.servers.is_empty(), "{case}: granted");
        let [denial] = &d.denials[..] else { panic!("{case}: {:?}", d.denials) };
        assert_eq!((denial.tool.as_str(), denial.check.as_str()), (tool, check), "{case}");
        assert_eq!(denial.reason, reason, "{case}");
        // The refusal is on the trail too, enforced.
        let last = d.results.last().unwrap_or_else(|| panic!("{case}: no check result"));
        assert!(!last.passed && last.enforced && last.check == check, "{case}: {last:?}");
    }
}

#[test]
fn a_tool_that_passes_every_rule_is_granted_with_its_server() {
    let w = world();
    let checks = enforced(&[CheckName::DeterministicToolSelected]);
    let d = run(&w, &subject(&["fs:read", "web:search"], 2), Some(&w.agent), None, &checks, &["fs:read", "web:search"]);
    assert!(d.denials.is_empty(), "{:?}", d.denials);
    assert_eq!(d.servers, [w.files.id, w.web.id].into_iter().collect());
    assert!(d.results.iter().all(|r| r.passed && r.tool_digest.is_some()), "{:?}", d.results);
    // The audience may be named when it serves the tool.
    let d = run(&w, &subject(&["fs:read"], 0), Some(&w.agent), Some(&w.files), &checks, &["fs:read"]);
    assert!(d.denials.is_empty() && d.servers.contains(&w.files.id));
}

#[test]
fn every_tool_is_decided_and_each_refusal_named() {
    let w = world();
    let checks = enforced(&[CheckName::DeterministicToolSelected]);
    let d = run(&w, &subject(&["fs:read"], 0), Some(&w.agent), None, &checks, &["fs:write", "fs:read", "x:y"]);
    let denied: Vec<(&str, &str)> = d.denials.iter().map(|d| (d.tool.as_str(), d.reason.as_str())).collect();
    assert_eq!(denied, [("fs:write", "tool_not_in_token"), ("x:y", "unknown_tool")]);
    assert_eq!(d.servers, [w.files.id].into_iter().collect(), "fs:read is still granted on its own");
}

#[test]
fn shadowed_checks_are_recorded_but_never_deny() {
    let w = world();
    let checks = vec![
        (checks::implementation(CheckName::DeterministicLlmSelectedTools, &SemanticSettings::default()), false),
        (checks::implementation(CheckName::DeterministicToolSelected, &SemanticSettings::default()), true),
    ];
    let d = run(&w, &subject(&["fs:read"], 0), Some(&w.agent), None, &checks, &["fs:read"]);
    assert!(d.denials.is_empty(), "{:?}", d.denials);
    let shadow = d.results.iter().find(|r| r.check == "DETERMINISTIC_LLM_SELECTED_TOOLS").unwrap();
    assert!(!shadow.passed && !shadow.enforced);
    // With both failing, the enforced one is the denial.
    let d = run(&w, &subject(&["fs:read"], 0), Some(&w.agent), None, &checks, &["fs:write"]);
    assert_eq!(d.denials[0].check, "DETERMINISTIC_TOOL_SELECTED");
}

#[test]
fn a_deferred_judge_is_not_asked_in_phase_one() {
    let w = world();
    let checks = enforced(&[CheckName::AiPoweredToolMatch]);
    let (subject, inputs) = (subject(&["fs:read"], 0), inputs());
    let ctx = Context { defer_judge: true, ..context(&w, &subject, Some(&w.agent), &checks, &inputs) };
    let d = decide(&strings(&["fs:read"]), &ctx);
    assert!(d.denials.is_empty() && d.results.is_empty(), "{d:?}");
}

#[test]
fn the_judges_verdicts_decide_the_ai_check() {
    let w = world();
    let checks = enforced(&[CheckName::AiPoweredToolMatch]);
    let verdict = |appropriate| Ok(Judgement { appropriate, reasoning: "because".into() });
    let judgements: HashMap<String, Result<Judgement, AiError>> = [
        ("fs:read".to_string(), verdict(true)),
        ("fs:write".to_string(), verdict(false)),
        ("web:search".to_string(), Err(AiError::Timeout)),
    ]
    .into_iter()
    .collect();
    let inputs = Inputs { judgements, ..inputs() };
    let subject = subject(&["fs:read", "fs:write", "web:search"], 0);
    let ctx = context(&w, &subject, Some(&w.agent), &checks, &inputs);
    let tools = strings(&["fs:read", "fs:write", "web:search"]);
    let d = decide(&tools, &ctx);
    let denied: Vec<(&str, &str)> = d.denials.iter().map(|d| (d.tool.as_str(), d.reason.as_str())).collect();
    assert_eq!(denied, [("fs:write", "llm_judged_inappropriate"), ("web:search", "llm_verifier_unavailable")]);
    assert_eq!(d.servers, [w.files.id].into_iter().collect());
}

#[test]
fn the_delegation_depth_allows_exactly_the_maximum() {
    let w = world();
    for (actors, granted) in [(0, true), (2, true), (3, false)] {
        let d = run(&w, &subject(&["fs:read"], actors), Some(&w.agent), None, &[], &["fs:read"]);
        assert_eq!(d.denials.is_empty(), granted, "{actors} actors before this hop");
    }
}

fn grant<'a>(actor: &'a str, audience: &'a str, now: i64, ttl: i64) -> Grant<'a> {
    Grant {
        issuer: "http://casa.test/realms/m",
        audience,
        actor,
        tools: vec!["fs:read".into()],
        now,
        ttl,
        jti: "new-jti".into(),
    }
}

#[test]
fn every_claim_of_an_exchanged_token_attenuates() {
    let mut s = subject(&["fs:read", "fs:write"], 1);
    s.lineage = vec!["root".into()];
    s.parent = Some("root".into());
    // (case, now, ttl, expected exp): never beyond the subject's expiry.
    for (case, now, ttl, exp) in [("short ttl", 1_100, 60, 1_160), ("ttl past the subject", 1_900, 600, 2_000)] {
        let c = exchanged_claims(&s, grant("agent", "files", now, ttl));
        assert_eq!(c.exp, exp, "{case}");
        assert!(c.exp <= s.exp, "{case}");
        assert_eq!((c.iat, c.nbf), (now, now), "{case}");
    }
    let c = exchanged_claims(&s, grant("agent", "files", 1_100, 60));
    // Who and what.
    assert_eq!(c.iss, "http://casa.test/realms/m");
    assert_eq!(c.sub, s.sub, "the user's client stays the subject");
    assert_eq!(c.aud, "files");
    assert_eq!(c.client_id, "agent");
    assert_eq!(c.tools, ["fs:read"]);
    assert_eq!(c.scope, EXCHANGED_SCOPE);
    assert_eq!(c.uiid, s.uiid, "the session stays the subject's");
    assert_eq!(c.jti, "new-jti");
    // The actor chain: the new actor outermost, the earlier ones inside.
    assert_eq!(c.act.as_ref().unwrap().subjects(), ["agent", "hop-0"]);
    assert_eq!(c.depth(), s.depth() + 1);
    // The lineage: every ancestor, root first, the subject last.
    assert_eq!(c.parent.as_deref(), Some("subject-jti"));
    assert_eq!(c.lineage, ["root", "subject-jti"]);
}

#[test]
fn attenuation_holds_whatever_checks_are_on() {
    let w = world();
    let shadow = |n| vec![(checks::implementation(n, &SemanticSettings::default()), false)];
    // (name, [(check, enforced)])
    type Case = (&'static str, Vec<(Box<dyn checks::Check>, bool)>);
    let cases: Vec<Case> = vec![
        ("no checks", vec![]),
        ("only the LLM-evidence check", enforced(&[CheckName::DeterministicLlmSelectedTools])),
        ("only the judge, with a verdict for it", enforced(&[CheckName::AiPoweredToolMatch])),
        ("the tool check in shadow mode", shadow(CheckName::DeterministicToolSelected)),
        ("the semantic check in shadow mode", shadow(CheckName::SemanticIntentMatch)),
    ];
    let approve = Ok(Judgement { appropriate: true, reasoning: "fine".into() });
    let inputs = Inputs { judgements: [("fs:write".to_string(), approve)].into_iter().collect(), ..inputs() };
    let subject = subject(&["fs:read"], 0);
    for (case, checks) in cases {
        let ctx = context(&w, &subject, Some(&w.agent), &checks, &inputs);
        let d = decide(&strings(&["fs:write"]), &ctx);
        assert!(d.servers.is_empty(), "{case}: a tool outside the subject token was granted");
        let [denial] = &d.denials[..] else { panic!("{case}: {:?}", d.denials) };
        assert_eq!(
            (denial.check.as_str(), denial.reason.as_str()),
            ("DETERMINISTIC_TOOL_SELECTED", "tool_not_in_token")
        );
        assert!(d.results.iter().any(|r| r.reason.as_deref() == Some("tool_not_in_token") && r.enforced), "{case}");
    }
}

#[test]
fn a_subject_bound_to_one_server_is_exchanged_for_that_server_only() {
    let w = world();
    let mut bound = subject(&["fs:read", "web:search"], 1);
    bound.aud = w.files.client_id.clone();
    let d = run(&w, &bound, Some(&w.agent), None, &[], &["fs:read", "web:search"]);
    let denied: Vec<(&str, &str)> = d.denials.iter().map(|d| (d.tool.as_str(), d.reason.as_str())).collect();
    assert_eq!(denied, [("web:search", "audience_not_in_token")]);
    assert_eq!(d.servers, [w.files.id].into_iter().collect());
}
