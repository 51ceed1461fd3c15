//! The realm's OAuth decisions: issuing, exchanging, introspecting and
//! revoking tokens, and recording LLM-call evidence. Runs inside the
//! `MasActor`, which makes revocations and lineage authoritative.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{CoreResult, MasState};
use crate::checks::{self, CheckInput, IntentMatch};
use crate::error::CoreError;
use crate::intent::{AiError, Judgement};
use crate::model::AppRecord;
use crate::model::CheckName;
use crate::oauth::*;
use crate::revocation::{Revocation, RevocationTarget};
use crate::secret;
use crate::session::{LlmCall, UserInput, UserInputContent};
use crate::store::Store;
use crate::token::{self, Act, Claims, TokenError};
use crate::trace::{CheckResult, EventKind, TraceEvent, TraceSink};
use crate::validate;

/// Verified tokens kept, so a token the realm issued (or already checked) is
/// not signature-verified again. Time and revocation are checked every use.
const VERIFIED_CACHE_ENTRIES: usize = 100_000;
pub const MAX_TOOLS_PER_REQUEST: usize = 256;

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Why a presented token is not valid here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Token(TokenError),
    Revoked,
    /// Its client (or subject) app was deleted.
    AppGone,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Token(e) => e.fmt(f),
            Self::Revoked => f.write_str("the token has been revoked"),
            Self::AppGone => f.write_str("the token's app no longer exists"),
        }
    }
}

/// Sessions' intents by user input id, bounded: the semantic and AI checks
/// read them on every exchange.
#[derive(Default)]
pub struct Sessions {
    by_id: HashMap<Uuid, Arc<SessionIntent>>,
}

const SESSION_CACHE_ENTRIES: usize = 100_000;

impl Sessions {
    fn insert(&mut self, id: Uuid, intent: Arc<SessionIntent>) {
        if self.by_id.len() >= SESSION_CACHE_ENTRIES {
            self.by_id.clear();
        }
        self.by_id.insert(id, intent);
    }
}

/// Verified claims by token digest, bounded.
#[derive(Default)]
pub struct VerifiedTokens {
    by_digest: HashMap<[u8; 32], Arc<Claims>>,
}

impl VerifiedTokens {
    fn key(token: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes()).into()
    }

    fn get(&self, token: &str) -> Option<Arc<Claims>> {
        self.by_digest.get(&Self::key(token)).cloned()
    }

    fn insert(&mut self, token: &str, claims: Arc<Claims>, now: i64) {
        if self.by_digest.len() >= VERIFIED_CACHE_ENTRIES {
            self.by_digest.retain(|_, c| c.exp > now);
            if self.by_digest.len() >= VERIFIED_CACHE_ENTRIES {
                self.by_digest.clear();
            }
        }
        self.by_digest.insert(Self::key(token), claims);
    }
}

/// What the per-tool decision looks at.
struct ToolContext<'a> {
    actor: Option<&'a AppRecord>,
    subject: &'a Claims,
    audience: Option<&'a AppRecord>,
    /// Each check with whether it is enforced (false: shadow mode).
    checks: &'a [(Box<dyn checks::Check>, bool)],
    llm_calls: &'a [LlmCall],
    intent: &'a IntentMatch,
    judgements: &'a HashMap<String, Result<Judgement, AiError>>,
    /// Phase one of a judged exchange: skip the judge, it is asked next.
    defer_judge: bool,
}

/// An issuance the actor decided; [`IssueDecision::complete`] finishes it.
pub(crate) struct IssueDecision {
    token: IssuedToken,
    /// A new user input, stored before the token is handed out.
    input: Option<UserInput>,
    event: TraceEvent,
    started: Instant,
    store: Arc<dyn Store>,
    trace: Arc<dyn TraceSink>,
}

impl IssueDecision {
    /// Whether completing it writes to the store (and is better done off the actor).
    pub(crate) fn writes(&self) -> bool {
        self.input.is_some()
    }

    /// Stores the user input (durably, or the token is not handed out), then
    /// records the issuance.
    pub(crate) async fn complete(self) -> CoreResult<IssuedToken> {
        if let Some(input) = &self.input {
            self.store.put_user_input(input).await?;
        }
        emit(&*self.trace, self.event, self.started);
        Ok(self.token)
    }
}

fn emit(trace: &dyn TraceSink, mut event: TraceEvent, started: Instant) {
    event.latency_us = started.elapsed().as_micros() as u64;
    trace.record(event);
}

impl MasState {
    fn authenticate(&self, creds: &ClientCredentials) -> Result<&AppRecord, OAuthError> {
        let app = Uuid::parse_str(&creds.client_id).ok().and_then(|id| self.apps.get(&id));
        match app {
            Some(app) if secret::verify(&creds.client_secret, &app.secret_digest) => Ok(app),
            _ => Err(OAuthError::InvalidClient),
        }
    }

    fn app_exists(&self, client_id: &str) -> bool {
        Uuid::parse_str(client_id).is_ok_and(|id| self.apps.contains_key(&id))
    }

    /// A token of this realm that is valid now: signature (once), issuer,
    /// time, revocation, and its apps still exist.
    pub(crate) fn validate(&mut self, token: &str, now: i64) -> Result<Arc<Claims>, Invalid> {
        let claims = match self.verified.get(token) {
            Some(c) => {
                token::check_claims(&c, &self.issuer, now).map_err(Invalid::Token)?;
                c
            }
            None => {
                let c = Arc::new(token::verify(token, &self.keyring, &self.issuer, now).map_err(Invalid::Token)?);
                self.verified.insert(token, c.clone(), now);
                c
            }
        };
        if self.revocations.is_revoked(&claims) {
            return Err(Invalid::Revoked);
        }
        if !self.app_exists(&claims.client_id) || !self.app_exists(&claims.sub) {
            return Err(Invalid::AppGone);
        }
        Ok(claims)
    }

    fn mint(&mut self, claims: Claims, now: i64) -> String {
        let token = token::sign(&claims, self.keyring.active());
        self.verified.insert(&token, Arc::new(claims), now);
        token
    }

    fn emit(&self, event: TraceEvent, started: Instant) {
        emit(&*self.trace, event, started);
    }

    fn event(&self, kind: EventKind) -> TraceEvent {
        TraceEvent::new(self.mas.id, kind)
    }

    /// Decides an issuance. A new user input is returned unwritten with the
    /// token: [`IssueDecision::complete`] writes it (durably) before the token
    /// is handed out, off the actor, so one fsync does not stall the MAS.
    pub(crate) async fn issue(&mut self, req: IssueRequest) -> CoreResult<IssueDecision> {
        let started = Instant::now();
        let now = now();
        let app = self.authenticate(&req.client)?.clone();
        let tools = match req.tools {
            None => app.allowed_tools.clone(),
            Some(requested) => {
                if let Some(t) = requested.iter().find(|t| !app.allowed_tools.contains(t)) {
                    return Err(OAuthError::InvalidScope(format!("{t:?} is not among the app's allowed tools")).into());
                }
                dedupe(requested)
            }
        };
        let mut unwritten = None;
        let user_input_id = match (req.user_input, req.user_input_id) {
            (Some(_), Some(_)) => {
                return Err(OAuthError::InvalidRequest("give user_input or user_input_id, not both".into()).into())
            }
            (None, None) => {
                return Err(OAuthError::InvalidRequest("user_input or user_input_id is required".into()).into())
            }
            (Some(raw), None) => {
                let content = UserInputContent::parse(&raw).map_err(|e| OAuthError::InvalidRequest(e.to_string()))?;
                let intent = req
                    .intent
                    .unwrap_or_else(|| SessionIntent { task: crate::intent::task_text(&content), embedding: None });
                let input = UserInput {
                    id: Uuid::now_v7(),
                    mas_id: self.mas.id,
                    app_id: app.id,
                    content,
                    task: Some(intent.task.clone()),
                    intent: intent.embedding.clone(),
                    created_at: OffsetDateTime::now_utc(),
                };
                // Cached now: no exchange can name it before its token exists.
                self.sessions.insert(input.id, Arc::new(intent));
                let id = input.id;
                unwritten = Some(input);
                id
            }
            (None, Some(id)) => {
                let unknown = || OAuthError::InvalidRequest("unknown user_input_id".into());
                let id = Uuid::parse_str(&id).map_err(|_| unknown())?;
                self.store.get_user_input(self.mas.id, id).await?.ok_or_else(unknown)?.id
            }
        };
        let ttl = self.mas.settings.token_ttl_seconds as i64;
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: app.client_id.clone(),
            aud: self.issuer.clone(),
            client_id: app.client_id.clone(),
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti: token::new_jti(),
            scope: tools.join(" "),
            uiid: user_input_id.to_string(),
            tools: tools.clone(),
            act: None,
            parent: None,
            lineage: Vec::new(),
        };
        let (jti, scope) = (claims.jti.clone(), claims.scope.clone());
        let access_token = self.mint(claims, now);
        let mut event = self.event(EventKind::TokenIssued { tools: tools.clone() });
        event.user_input_id = Some(user_input_id.to_string());
        event.app_ids = vec![app.client_id.clone()];
        event.jti = Some(jti.clone());
        event.token_digest = Some(token::digest(&access_token));
        let token =
            IssuedToken { access_token, expires_in: ttl, scope, tools, user_input_id: user_input_id.to_string(), jti };
        Ok(IssueDecision {
            token,
            input: unwritten,
            event,
            started,
            store: self.store.clone(),
            trace: self.trace.clone(),
        })
    }

    /// The app a `resource`/`audience` value names: its id (= client id) or its base URL.
    fn resolve_audience(&self, value: &str) -> Option<&AppRecord> {
        if let Ok(id) = Uuid::parse_str(value) {
            return self.apps.get(&id);
        }
        let wanted = value.trim_end_matches('/');
        self.apps.values().find(|a| a.base_url.as_deref().is_some_and(|u| u.trim_end_matches('/') == wanted))
    }

    fn tool_server(&self, tool: &str) -> Option<&AppRecord> {
        self.apps.values().find(|a| a.tools.iter().any(|t| t.name == tool))
    }

    pub(crate) async fn exchange(&mut self, req: ExchangeRequest) -> CoreResult<ExchangeOutcome> {
        let started = Instant::now();
        let result = self.decide_exchange(req, started).await;
        if let Err(CoreError::OAuth(e)) = &result {
            if !matches!(e, OAuthError::AccessDenied { .. }) {
                let mut event =
                    self.event(EventKind::ExchangeRejected { error: e.code().into(), description: e.description() });
                event.latency_us = started.elapsed().as_micros() as u64;
                self.trace.record(event);
            }
        }
        result
    }

    /// The session's task and intent (cached).
    async fn session(&mut self, uiid: &str) -> CoreResult<Option<Arc<SessionIntent>>> {
        let Ok(id) = Uuid::parse_str(uiid) else { return Ok(None) };
        if let Some(s) = self.sessions.by_id.get(&id) {
            return Ok(Some(s.clone()));
        }
        let Some(input) = self.store.get_user_input(self.mas.id, id).await? else { return Ok(None) };
        let task = input.task.unwrap_or_else(|| crate::intent::task_text(&input.content));
        let intent = Arc::new(SessionIntent { task, embedding: input.intent });
        self.sessions.insert(id, intent.clone());
        Ok(Some(intent))
    }

    async fn decide_exchange(&mut self, req: ExchangeRequest, started: Instant) -> CoreResult<ExchangeOutcome> {
        let now = now();
        let actor_app = match &req.actor {
            ExchangeActor::Local(creds) => Some(self.authenticate(creds)?.clone()),
            ExchangeActor::Foreign { .. } => None,
        };
        let actor_id = match &req.actor {
            ExchangeActor::Local(creds) => creds.client_id.clone(),
            ExchangeActor::Foreign { client_id, .. } => client_id.clone(),
        };
        if req.tools.is_empty() {
            return Err(
                OAuthError::InvalidRequest("name at least one tool (tools, or scope tool:<name>)".into()).into()
            );
        }
        if req.tools.len() > MAX_TOOLS_PER_REQUEST {
            return Err(
                OAuthError::InvalidRequest(format!("at most {MAX_TOOLS_PER_REQUEST} tools per exchange")).into()
            );
        }
        if let Some(bad) = req.tools.iter().find(|t| !validate::is_tool_name(t)) {
            return Err(OAuthError::InvalidRequest(format!("{bad:?} is not a tool name")).into());
        }
        let tools = dedupe(req.tools);

        // 1. The subject token (and the actor token) are valid in this realm.
        let subject = self
            .validate(&req.subject_token, now)
            .map_err(|e| OAuthError::InvalidGrant(format!("subject_token: {e}")))?;
        if let Some(actor_token) = &req.actor_token {
            let claims =
                self.validate(actor_token, now).map_err(|e| OAuthError::InvalidGrant(format!("actor_token: {e}")))?;
            if claims.sub != actor_id && claims.client_id != actor_id {
                return Err(
                    OAuthError::InvalidGrant("actor_token does not belong to the authenticated client".into()).into()
                );
            }
        }
        let audience = match &req.audience {
            Some(a) => Some(
                self.resolve_audience(a)
                    .ok_or_else(|| OAuthError::InvalidTarget(format!("no app of this MAS is {a:?}")))?
                    .clone(),
            ),
            None => None,
        };

        // Every enabled or shadowed check runs; shadowed ones never deny.
        let settings = &self.mas.settings;
        let active: Vec<(Box<dyn checks::Check>, bool)> = settings
            .enabled_checks
            .iter()
            .chain(settings.shadow_checks.iter().filter(|c| !settings.enabled_checks.contains(c)))
            .map(|c| (checks::implementation(*c, &settings.semantic), !settings.shadow_checks.contains(c)))
            .collect();
        let uses = |name: CheckName| active.iter().any(|(c, _)| c.name() == name);
        let session = if uses(CheckName::SemanticIntentMatch) || uses(CheckName::AiPoweredToolMatch) {
            self.session(&subject.uiid).await?
        } else {
            None
        };
        let intent = match session.as_ref().and_then(|s| s.embedding.as_ref()) {
            _ if !uses(CheckName::SemanticIntentMatch) => IntentMatch::Unavailable("not evaluated"),
            None if self.embedder.is_none() => IntentMatch::Unavailable("this node has no embedder"),
            None => IntentMatch::Unavailable("the session has no intent embedding"),
            Some(e) => self.tool_index.rank(e),
        };
        let judging = uses(CheckName::AiPoweredToolMatch);
        let judgements: HashMap<String, Result<Judgement, AiError>> =
            req.judgements.clone().unwrap_or_default().into_iter().map(|j| (j.tool, j.verdict)).collect();
        let llm_calls = if active.iter().any(|(c, _)| c.needs_llm_calls()) {
            match Uuid::parse_str(&subject.uiid) {
                Ok(uiid) => self.store.llm_calls(self.mas.id, uiid).await?,
                Err(_) => Vec::new(),
            }
        } else {
            Vec::new()
        };

        // 2-4, per tool, stopping at the first failure.
        let mut denials = Vec::new();
        let mut results = Vec::new();
        let mut servers = BTreeSet::new();
        // The judge is asked only once everything else has passed, and outside this actor.
        let defer_judge = judging && req.judgements.is_none();
        for tool in &tools {
            let ctx = ToolContext {
                actor: actor_app.as_ref(),
                subject: &subject,
                audience: audience.as_ref(),
                checks: &active,
                llm_calls: &llm_calls,
                intent: &intent,
                judgements: &judgements,
                defer_judge,
            };
            match self.decide_tool(tool, &ctx, &mut results) {
                Ok(server) => {
                    servers.insert(server);
                }
                Err(denial) => denials.push(denial),
            }
        }
        let mut event_base = self.event(EventKind::Introspection { active: false });
        event_base.user_input_id = Some(subject.uiid.clone());
        event_base.parent = Some(subject.jti.clone());
        event_base.token_digest = Some(token::digest(&req.subject_token));

        if !denials.is_empty() {
            let description = format!("{} of {} requested tools denied", denials.len(), tools.len());
            let mut event = event_base;
            event.kind =
                EventKind::ExchangeDenied { requested: tools.clone(), denials: denials.clone(), checks: results };
            // Subject, actor, then the servers of the requested tools: the edges a dashboard draws.
            let mut app_ids = vec![subject.sub.clone(), actor_id];
            for server in tools.iter().filter_map(|t| self.tool_server(t)) {
                if !app_ids[2..].contains(&server.client_id) {
                    app_ids.push(server.client_id.clone());
                }
            }
            event.app_ids = app_ids;
            self.emit(event, started);
            return Err(OAuthError::AccessDenied { description, denials }.into());
        }
        if defer_judge {
            let task = session.as_ref().map(|s| s.task.clone()).unwrap_or_default();
            let intent_digest = session
                .as_ref()
                .and_then(|s| s.embedding.as_ref())
                .map(|e| e.digest())
                .unwrap_or_else(|| token::digest(&task));
            let judge_tools = tools
                .iter()
                .filter_map(|t| self.tool_server(t).and_then(|app| app.tools.iter().find(|d| &d.name == t)))
                .map(|d| JudgeTool {
                    name: d.name.clone(),
                    description: d.description.clone(),
                    digest: crate::intent::tool_digest(d),
                })
                .collect();
            return Ok(ExchangeOutcome::NeedsJudgement(JudgeRequest { task, intent_digest, tools: judge_tools }));
        }
        let audience = match audience {
            Some(a) => a,
            None => {
                let [server] = servers.into_iter().collect::<Vec<_>>()[..] else {
                    return Err(OAuthError::InvalidTarget(
                        "the tools are served by different apps: name one with `audience` or `resource`".into(),
                    )
                    .into());
                };
                self.apps[&server].clone()
            }
        };

        let ttl = self.mas.settings.exchanged_token_ttl_seconds as i64;
        let exp = (now + ttl).min(subject.exp);
        let mut lineage = subject.lineage.clone();
        lineage.push(subject.jti.clone());
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: subject.sub.clone(),
            aud: audience.client_id.clone(),
            client_id: actor_id.clone(),
            iat: now,
            nbf: now,
            exp,
            jti: token::new_jti(),
            scope: EXCHANGED_SCOPE.into(),
            uiid: subject.uiid.clone(),
            tools: tools.clone(),
            act: Some(Act { sub: actor_id.clone(), act: subject.act.clone().map(Box::new) }),
            parent: Some(subject.jti.clone()),
            lineage,
        };
        let jti = claims.jti.clone();
        let access_token = self.mint(claims, now);
        let mut event = event_base;
        event.kind =
            EventKind::ExchangeAllowed { tools: tools.clone(), audience: audience.client_id.clone(), checks: results };
        event.app_ids = vec![subject.sub.clone(), actor_id, audience.client_id.clone()];
        event.jti = Some(jti.clone());
        // The minted token's digest: a wire sighting maps to its exchange without decoding.
        event.token_digest = Some(token::digest(&access_token));
        self.emit(event, started);
        Ok(ExchangeOutcome::Issued(IssuedToken {
            access_token,
            expires_in: exp - now,
            scope: EXCHANGED_SCOPE.into(),
            tools,
            user_input_id: subject.uiid.clone(),
            jti,
        }))
    }

    /// Decision steps 2 to 4 for one tool; the serving app's id when it passes.
    fn decide_tool(&self, tool: &str, ctx: &ToolContext<'_>, results: &mut Vec<CheckResult>) -> Result<Uuid, Denial> {
        let server = self.tool_server(tool);
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
            Denial {
                tool: tool.to_string(),
                check: check.to_string(),
                reason: reason.to_string(),
                detail: Some(detail),
            }
        };
        // 2. The actor belongs to this MAS and may act.
        let Some(actor) = ctx.actor else {
            return Err(deny("ACTOR", "cross_mas_actor", "the actor is an app of another MAS".into()));
        };
        let depth = ctx.subject.depth() + 1;
        let max = self.mas.settings.max_delegation_depth as usize;
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

    pub(crate) fn introspect(&mut self, req: IntrospectRequest) -> CoreResult<Introspection> {
        let started = Instant::now();
        let caller = match &req.caller {
            Introspector::Admin => None,
            Introspector::App(creds) => Some(self.authenticate(creds)?.client_id.clone()),
            Introspector::Foreign => return Ok(Introspection::default()),
        };
        let inactive = Introspection::default();
        let Ok(claims) = self.validate(&req.token, now()) else {
            return Ok(self.traced_introspection(inactive, &req.token, started));
        };
        let visible = caller.as_ref().is_none_or(|c| *c == claims.aud || *c == claims.sub);
        let has_tools = req.tools.as_ref().is_none_or(|want| want.iter().all(|t| claims.tools.contains(t)));
        if !visible || !has_tools {
            return Ok(self.traced_introspection(inactive, &req.token, started));
        }
        let c = (*claims).clone();
        let answer = Introspection {
            active: true,
            sub: Some(c.sub),
            client_id: Some(c.client_id),
            scope: Some(c.scope),
            tools: Some(c.tools),
            act: c.act,
            aud: Some(c.aud),
            iss: Some(c.iss),
            exp: Some(c.exp),
            iat: Some(c.iat),
            nbf: Some(c.nbf),
            jti: Some(c.jti),
            uiid: Some(c.uiid),
            mas_id: Some(self.mas.id.to_string()),
            parent: c.parent,
        };
        Ok(self.traced_introspection(answer, &req.token, started))
    }

    fn traced_introspection(&self, answer: Introspection, token: &str, started: Instant) -> Introspection {
        let mut event = self.event(EventKind::Introspection { active: answer.active });
        event.jti = answer.jti.clone();
        event.user_input_id = answer.uiid.clone();
        event.token_digest = Some(token::digest(token));
        self.emit(event, started);
        answer
    }

    /// Stores and applies revocation rules; `token` is the revoked token's claims, when one was named.
    async fn add_revocations(
        &mut self,
        targets: Vec<RevocationTarget>,
        expires_at: i64,
        token: Option<&Claims>,
        started: Instant,
    ) -> CoreResult<()> {
        let now = now();
        for target in &targets {
            let rule = Revocation { target: target.clone(), revoked_at: now, expires_at };
            self.store.put_revocation(self.mas.id, &rule).await?;
            self.revocations.insert(&rule);
        }
        let reached = match token {
            Some(c) => self.descendants(&c.jti).await,
            None => Vec::new(),
        };
        let mut event = self.event(EventKind::Revocation { targets, reached });
        if let Some(c) = token {
            event.user_input_id = Some(c.uiid.clone());
            event.jti = Some(c.jti.clone());
            event.app_ids = vec![c.client_id.clone()];
        }
        self.emit(event, started);
        Ok(())
    }

    /// The jtis exchanged from `jti`, down the lineage, from the trail (bounded).
    async fn descendants(&self, jti: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut frontier = vec![jti.to_string()];
        while let Some(parent) = frontier.pop() {
            let Ok(events) = self.store.token_traces(&parent).await else { break };
            for e in events {
                if let (EventKind::ExchangeAllowed { .. }, Some(child)) = (&e.kind, &e.jti) {
                    if e.parent.as_deref() == Some(parent.as_str()) && !found.contains(child) && found.len() < 1000 {
                        found.push(child.clone());
                        frontier.push(child.clone());
                    }
                }
            }
        }
        found
    }

    /// RFC 7009: the holder (or the session's client) revokes a token and,
    /// through lineage, everything exchanged from it. Unknown or invalid
    /// tokens are not an error.
    pub(crate) async fn revoke(&mut self, req: RevokeRequest) -> CoreResult<()> {
        let started = Instant::now();
        let app = self.authenticate(&req.client)?.client_id.clone();
        let Ok(claims) = self.validate(&req.token, now()) else { return Ok(()) };
        if claims.client_id != app && claims.sub != app {
            return Err(OAuthError::UnauthorizedClient("the token was not issued to this client".into()).into());
        }
        self.add_revocations(vec![RevocationTarget::Token(claims.jti.clone())], claims.exp, Some(&claims), started)
            .await
    }

    pub(crate) async fn admin_revoke(&mut self, req: AdminRevokeRequest) -> CoreResult<AdminRevoked> {
        let started = Instant::now();
        let mut targets = Vec::new();
        if let Some(jti) = req.jti {
            if jti.is_empty() || jti.len() > 128 {
                return Err(CoreError::invalid("jti", "must be 1 to 128 characters"));
            }
            targets.push(RevocationTarget::Token(jti));
        }
        if let Some(uiid) = req.user_input_id {
            let id = Uuid::parse_str(&uiid).map_err(|_| CoreError::invalid("user_input_id", "must be a UUID"))?;
            targets.push(RevocationTarget::Session(id.to_string()));
        }
        if let Some(app) = req.app_id {
            let id = Uuid::parse_str(&app).map_err(|_| CoreError::invalid("app_id", "must be a UUID"))?;
            targets.push(RevocationTarget::App(id.to_string()));
        }
        if targets.is_empty() {
            return Err(CoreError::invalid("jti", "name at least one of jti, user_input_id, app_id"));
        }
        // Whatever these match expires within the longest lifetime a token can have.
        let expires_at = now() + validate::MAX_TTL_SECONDS as i64;
        self.add_revocations(targets.clone(), expires_at, None, started).await?;
        Ok(AdminRevoked { revoked: targets })
    }

    pub(crate) async fn record_llm_call(&mut self, req: LlmCallReport) -> CoreResult<LlmCallRecorded> {
        let started = Instant::now();
        let claims = self.validate(&req.token, now()).map_err(|e| OAuthError::InvalidToken(e.to_string()))?;
        let text = |field: &str, v: &str| {
            if v.is_empty() || v.chars().count() > 256 || v.chars().any(char::is_control) {
                Err(CoreError::invalid(field, "must be 1 to 256 characters, without control characters"))
            } else {
                Ok(())
            }
        };
        text("call_id", &req.call_id)?;
        for v in [("model", &req.model), ("prompt_digest", &req.prompt_digest)] {
            if let (f, Some(v)) = v {
                text(f, v)?;
            }
        }
        if req.selected_tools.len() > MAX_TOOLS_PER_REQUEST {
            return Err(CoreError::invalid("selected_tools", format!("at most {MAX_TOOLS_PER_REQUEST} tools")));
        }
        if let Some(i) = req.selected_tools.iter().position(|t| !validate::is_tool_name(t)) {
            return Err(CoreError::invalid(&format!("selected_tools[{i}]"), "not a tool name"));
        }
        let uiid =
            Uuid::parse_str(&claims.uiid).map_err(|_| OAuthError::InvalidToken("the token names no session".into()))?;
        let selected_tools = dedupe(req.selected_tools);
        let call = LlmCall {
            call_id: req.call_id.clone(),
            selected_tools: selected_tools.clone(),
            model: req.model,
            prompt_digest: req.prompt_digest,
            reported_by: claims.client_id.clone(),
            recorded_at: OffsetDateTime::now_utc(),
        };
        self.store.put_llm_call(self.mas.id, uiid, &call).await?;
        let mut event =
            self.event(EventKind::LlmCall { call_id: req.call_id.clone(), selected_tools: selected_tools.clone() });
        event.user_input_id = Some(claims.uiid.clone());
        event.app_ids = vec![claims.client_id.clone()];
        event.jti = Some(claims.jti.clone());
        event.token_digest = Some(token::digest(&req.token));
        self.emit(event, started);
        Ok(LlmCallRecorded { call_id: req.call_id, user_input_id: claims.uiid.clone(), selected_tools })
    }

    /// Authenticates an app of this MAS for a request another realm decides.
    pub(crate) fn authenticate_client(&self, creds: &ClientCredentials) -> CoreResult<String> {
        Ok(self.authenticate(creds)?.client_id.clone())
    }
}

/// Drops repeats, keeping the first occurrence's order.
fn dedupe(items: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items.into_iter().filter(|t| seen.insert(t.clone())).collect()
}
