//! The exchange rules (RFC 8693), as pure functions: given the validated
//! subject, the authenticated actor, the named audience and the MAS's apps
//! and checks, which requested tools are granted and why the others are not;
//! and the claims of the token that is issued. The actor (`grants`) looks
//! everything up, calls these, and records the outcome.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use uuid::Uuid;

use crate::checks::{self, CheckInput, IntentMatch};
use crate::intent::{AiError, Judgement};
use crate::model::{AppRecord, CheckName};
use crate::oauth::{Denial, EXCHANGED_SCOPE};
use crate::session::LlmCall;
use crate::token::{Act, Claims};
use crate::trace::CheckResult;

/// What the per-tool decision looks at, all of it already looked up.
pub struct Context<'a> {
    /// The actor, when it is an app of this MAS.
    pub actor: Option<&'a AppRecord>,
    pub subject: &'a Claims,
    pub audience: Option<&'a AppRecord>,
    pub apps: &'a BTreeMap<Uuid, AppRecord>,
    pub max_delegation_depth: usize,
    /// Each check with whether it is enforced (false: shadow mode).
    pub checks: &'a [(Box<dyn checks::Check>, bool)],
    pub llm_calls: &'a [LlmCall],
    pub intent: &'a IntentMatch,
    pub judgements: &'a HashMap<String, Result<Judgement, AiError>>,
    /// Phase one of a judged exchange: skip the judge, it is asked next.
    pub defer_judge: bool,
}

/// The outcome for all requested tools.
#[derive(Debug, Default)]
pub struct Decision {
    /// The apps serving the granted tools.
    pub servers: BTreeSet<Uuid>,
    /// One per refused tool: the first enforced rule it failed.
    pub denials: Vec<Denial>,
    /// Every check evaluated, for the trail.
    pub results: Vec<CheckResult>,
}

/// The app of the MAS that serves `tool`.
pub fn tool_server<'a>(apps: &'a BTreeMap<Uuid, AppRecord>, tool: &str) -> Option<&'a AppRecord> {
    apps.values().find(|a| a.tools.iter().any(|t| t.name == tool))
}

/// Decision steps 2 to 4 for each tool (step 1, the tokens' validity, is the
/// realm's): every tool is decided, so the answer names every refusal. Steps
/// 2 and 3 (the actor, the registry and attenuation) hold whatever checks
/// the MAS enables; step 4 is its checks.
pub fn decide(tools: &[String], ctx: &Context<'_>) -> Decision {
    let mut decision = Decision::default();
    for tool in tools {
        match decide_tool(tool, ctx, &mut decision.results) {
            Ok(server) => {
                decision.servers.insert(server);
            }
            Err(denial) => decision.denials.push(denial),
        }
    }
    decision
}

/// Steps 2 to 4 for one tool, stopping at the first failure; the serving
/// app's id when it passes.
fn decide_tool(tool: &str, ctx: &Context<'_>, results: &mut Vec<CheckResult>) -> Result<Uuid, Denial> {
    let server = tool_server(ctx.apps, tool);
    let tool_digest = server.and_then(|a| a.tools.iter().find(|t| t.name == tool)).map(crate::intent::tool_digest);
    let mut record = |check: &str, v: (bool, Option<&str>, Option<String>, Option<f64>), enforced: bool| {
        results.push(CheckResult {
            tool: tool.to_string(),
            check: check.to_string(),
            passed: v.0,
            reason: v.1.map(str::to_string),
            detail: v.2,
            score: v.3,
            enforced,
            tool_digest: tool_digest.clone(),
        });
    };
    let mut deny = |check: &str, reason: &str, detail: String| {
        record(check, (false, Some(reason), Some(detail.clone()), None), true);
        Denial { tool: tool.to_string(), check: check.to_string(), reason: reason.to_string(), detail: Some(detail) }
    };
    // 2. The actor belongs to this MAS and may act.
    let Some(actor) = ctx.actor else {
        return Err(deny("ACTOR", "cross_mas_actor", "the actor is an app of another MAS".into()));
    };
    let depth = ctx.subject.depth() + 1;
    let max = ctx.max_delegation_depth;
    if depth > max {
        let detail = format!("this hop would make the delegation depth {depth}; the MAS allows {max}");
        return Err(deny("ACTOR", "delegation_too_deep", detail));
    }
    if !actor.allowed_tools.iter().any(|t| t == tool) {
        let detail = format!("app {:?} may not be given tokens for it", actor.name);
        return Err(deny("ACTOR", "tool_not_allowed_for_app", detail));
    }
    // 3. The tool exists in the MAS and the audience serves it.
    let Some(server) = server else {
        return Err(deny("TOOL_REGISTRY", "unknown_tool", "no app of this MAS serves it".into()));
    };
    if let Some(aud) = ctx.audience.filter(|aud| aud.id != server.id) {
        let detail = format!("it is served by {:?}, not {:?}", server.name, aud.name);
        return Err(deny("TOOL_REGISTRY", "tool_not_served_by_audience", detail));
    }
    // Attenuation, whatever checks the MAS runs (and never in shadow): only a
    // tool the subject carries, and a subject bound to one server stays with it.
    // (`exp` and the actor chain attenuate by construction: `exchanged_claims`.)
    if !ctx.subject.tools.iter().any(|t| t == tool) {
        let detail = format!("the subject token allows {:?}", ctx.subject.tools);
        return Err(deny(CheckName::DeterministicToolSelected.as_str(), "tool_not_in_token", detail));
    }
    if ctx.subject.aud != ctx.subject.iss && ctx.subject.aud != server.client_id {
        let detail = format!("the subject token is for {}; its exchanges stay with that audience", ctx.subject.aud);
        return Err(deny("TOOL_REGISTRY", "audience_not_in_token", detail));
    }
    // 4. The MAS's checks, enforced or in shadow mode.
    let input = CheckInput {
        tool,
        subject: ctx.subject,
        llm_calls: ctx.llm_calls,
        intent: ctx.intent,
        judgements: ctx.judgements,
    };
    let mut denial = None;
    for (check, enforced) in ctx.checks {
        if ctx.defer_judge && check.name() == CheckName::AiPoweredToolMatch {
            continue;
        }
        let v = check.evaluate(&input);
        record(v.check.as_str(), (v.passed, v.reason, v.detail.clone(), v.score), *enforced);
        if !v.passed && *enforced && denial.is_none() {
            denial = Some(Denial {
                tool: tool.to_string(),
                check: v.check.as_str().to_string(),
                reason: v.reason.unwrap_or("denied").to_string(),
                detail: v.detail,
            });
        }
    }
    match denial {
        Some(d) => Err(d),
        None => Ok(server.id),
    }
}

/// Who the exchanged token is for, and when.
pub struct Grant<'a> {
    pub issuer: &'a str,
    /// The audience's client id.
    pub audience: &'a str,
    /// The actor's client id.
    pub actor: &'a str,
    /// The granted tools, a subset of the subject's.
    pub tools: Vec<String>,
    pub now: i64,
    /// The MAS's lifetime of exchanged tokens.
    pub ttl: i64,
    pub jti: String,
}

/// The claims of an exchanged token. Attenuation, never widening: it lives no
/// longer than its subject, keeps the subject's user and session, carries the
/// actor chain with the new actor outermost, and extends the lineage by the
/// subject, so revoking any ancestor reaches it.
pub fn exchanged_claims(subject: &Claims, grant: Grant<'_>) -> Claims {
    let mut lineage = subject.lineage.clone();
    lineage.push(subject.jti.clone());
    Claims {
        iss: grant.issuer.to_string(),
        sub: subject.sub.clone(),
        aud: grant.audience.to_string(),
        client_id: grant.actor.to_string(),
        iat: grant.now,
        nbf: grant.now,
        exp: (grant.now + grant.ttl).min(subject.exp),
        jti: grant.jti,
        scope: EXCHANGED_SCOPE.into(),
        uiid: subject.uiid.clone(),
        tools: grant.tools,
        act: Some(Act { sub: grant.actor.to_string(), act: subject.act.clone().map(Box::new) }),
        parent: Some(subject.jti.clone()),
        lineage,
    }
}

#[cfg(test)]
mod tests;
