//! The realm's grants: issuing a token for a user input, and exchanging one
//! (the rules are `exchange`'s; this runs them inside the `MasActor` and
//! records the outcome). Introspection, revocation and LLM-call evidence are
//! their own files.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use time::OffsetDateTime;
use uuid::Uuid;

use super::quotas::SessionQuotas;
use super::tokens::{now, Unsigned, VerifiedTokens};
use super::{exchange, CoreResult, MasState};
use crate::checks::{self, IntentMatch};
use crate::error::CoreError;
use crate::intent::{AiError, Judgement};
use crate::model::{AppRecord, CheckName};
use crate::oauth::*;
use crate::session::{UserInput, UserInputContent};
use crate::store::Store;
use crate::token::{self, Claims};
use crate::trace::{EventKind, TraceEvent, TraceSink};
use crate::validate;

pub const MAX_TOOLS_PER_REQUEST: usize = 256;

/// What the actor makes of an issuance request.
// Lives for one message, on the stack: boxing the common variant would cost
// an allocation per issuance for nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Issuance {
    Decided(IssueDecision),
    /// Ask again with the user input's task and intent (`embed`: with its embedding).
    NeedsIntent {
        embed: bool,
    },
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
    /// Hands the token to `answer` once its new user input is durably stored
    /// (or the error: no token is handed out without it) and the issuance
    /// recorded. Without a new input, at once; with one, from the store's
    /// write, so the MAS goes on meanwhile and no task waits in between.
    pub(crate) fn complete(self, answer: impl FnOnce(CoreResult<IssuedToken>) + Send + 'static) {
        let IssueDecision { token, input, event, started, store, trace } = self;
        let finish = move || {
            emit(&*trace, event, started);
            token
        };
        match input {
            None => answer(Ok(finish())),
            Some(input) => store.put_user_input_then(
                input,
                Box::new(move |written| answer(written.map(|()| finish()).map_err(Into::into))),
            ),
        }
    }
}

/// What the actor made of an exchange: an outcome, or an allowed exchange
/// whose token is still to be signed.
#[allow(clippy::large_enum_variant)] // moved once per exchange; `Allowed` is the common case, unboxed
pub(crate) enum Exchanged {
    Decided(ExchangeOutcome),
    Allowed(Signing),
}

/// An exchange the actor allowed. [`Signing::complete`] signs its token and
/// records the decision: the signature is most of an exchange's cost, and
/// signed off the actor, one MAS's exchanges are signed in parallel.
pub(crate) struct Signing {
    unsigned: Unsigned,
    /// The answer, but for its `access_token`.
    token: IssuedToken,
    event: TraceEvent,
    started: Instant,
    trace: Arc<dyn TraceSink>,
}

impl Signing {
    pub(crate) fn complete(self) -> IssuedToken {
        let (access_token, digest) = self.unsigned.sign();
        let mut event = self.event;
        // The minted token's digest: a wire sighting maps to its exchange without decoding.
        event.token_digest = Some(hex::encode(digest));
        emit(&*self.trace, event, self.started);
        IssuedToken { access_token, ..self.token }
    }
}

fn emit(trace: &dyn TraceSink, mut event: TraceEvent, started: Instant) {
    event.latency_us = started.elapsed().as_micros() as u64;
    trace.record(event);
}

impl MasState {
    pub(super) fn emit(&self, event: TraceEvent, started: Instant) {
        emit(&*self.trace, event, started);
    }

    pub(super) fn event(&self, kind: EventKind) -> TraceEvent {
        TraceEvent::new(self.mas.id, kind)
    }

    /// Decides an issuance. A new user input is returned unwritten with the
    /// token: [`IssueDecision::complete`] writes it (durably) before the token
    /// is handed out, off the actor, so one fsync does not stall the MAS.
    pub(crate) async fn issue(&mut self, req: IssueRequest) -> CoreResult<Issuance> {
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
                if let (None, Some(embed)) = (&req.intent, self.intent_wanted()) {
                    // Over quota: refused before the model embeds its intent.
                    self.session_quota(app.id, SessionQuotas::check)?;
                    return Ok(Issuance::NeedsIntent { embed });
                }
                self.session_quota(app.id, SessionQuotas::spend)?;
                let intent = req.intent.unwrap_or_else(|| SessionIntent::new(crate::intent::task_text(&content), None));
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
                // Another client's session is as unknown as a made-up one.
                let unknown = || OAuthError::InvalidRequest("unknown user_input_id".into());
                let id = Uuid::parse_str(&id).map_err(|_| unknown())?;
                let input = self.store.get_user_input(self.mas.id, id).await?.ok_or_else(unknown)?;
                if input.app_id != app.id {
                    return Err(unknown().into());
                }
                if self.revocations.session_revoked(&input.id.to_string()) {
                    return Err(OAuthError::InvalidGrant("the session has been revoked".into()).into());
                }
                input.id
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
        let access_token = self.mint(claims)?;
        let mut event = self.event(EventKind::TokenIssued { tools: tools.clone() });
        event.user_input_id = Some(user_input_id.to_string());
        event.app_ids = vec![app.client_id.clone()];
        event.jti = Some(jti.clone());
        event.token_digest = Some(token::digest(&access_token));
        let token =
            IssuedToken { access_token, expires_in: ttl, scope, tools, user_input_id: user_input_id.to_string(), jti };
        Ok(Issuance::Decided(IssueDecision {
            token,
            input: unwritten,
            event,
            started,
            store: self.store.clone(),
            trace: self.trace.clone(),
        }))
    }

    /// Asks the app's quota of new sessions (`check` or `spend`); a refusal is counted.
    fn session_quota(
        &mut self,
        app: Uuid,
        ask: fn(&mut SessionQuotas, Uuid, Instant) -> Result<(), OAuthError>,
    ) -> Result<(), OAuthError> {
        ask(&mut self.session_quotas, app, Instant::now()).inspect_err(|_| {
            crate::telemetry::Emit::emit(crate::events::SessionQuotaExceeded { mas_id: self.mas.id, app_id: app })
        })
    }

    /// Whether this MAS's checks read a new session's task or intent, and
    /// whether it must be embedded: `None` when they read neither.
    fn intent_wanted(&self) -> Option<bool> {
        let s = &self.mas.settings;
        let embed = s.runs(CheckName::SemanticIntentMatch) && self.embedder.is_some();
        (embed || s.runs(CheckName::AiPoweredToolMatch)).then_some(embed)
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
        exchange::tool_server(&self.apps, tool)
    }

    pub(crate) async fn exchange(&mut self, req: ExchangeRequest) -> CoreResult<Exchanged> {
        let started = Instant::now();
        let result = self.decide_exchange(req, started).await;
        // A denial is a decision and always recorded (by the decision); a rejection within the budget.
        if let Err(CoreError::OAuth(e)) = &result {
            if matches!(e, OAuthError::AccessDenied { .. }) {
            } else if self.rejections.take(Instant::now()) {
                let mut event =
                    self.event(EventKind::ExchangeRejected { error: e.code().into(), description: e.description() });
                event.latency_us = started.elapsed().as_micros() as u64;
                self.trace.record(event);
            } else {
                crate::telemetry::Emit::emit(crate::events::RejectionNotRecorded { mas_id: self.mas.id });
            }
        }
        result
    }

    async fn decide_exchange(&mut self, mut req: ExchangeRequest, started: Instant) -> CoreResult<Exchanged> {
        let now = now();
        // The record's id, never the caller's spelling of it (`{ID}`, `urn:uuid:`...):
        // revocation and trail filters match the canonical form.
        // Apps are named by id until the context is built: the awaits below
        // borrow the actor, and cloning a record (every tool definition of a
        // tool server) per exchange cost more than the lookup.
        let (actor_app, actor_id) = match &req.actor {
            ExchangeActor::Local(creds) => {
                let app = self.authenticate(creds)?;
                (Some(app.id), app.client_id.clone())
            }
            ExchangeActor::Foreign { client_id, .. } => (None, client_id.clone()),
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
        let subject_key = VerifiedTokens::key(&req.subject_token);
        let subject = self
            .validate_keyed(&req.subject_token, subject_key, now)
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
                    .id,
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
        if let Some(supplied) = req.embeddings.take() {
            self.accept_embeddings(supplied, &subject.uiid).await?;
        }
        let session = if uses(CheckName::SemanticIntentMatch) || uses(CheckName::AiPoweredToolMatch) {
            self.session(&subject.uiid).await?
        } else {
            None
        };
        if uses(CheckName::SemanticIntentMatch) {
            if let Some(ask) = self.missing_embeddings(&subject.uiid, session.as_deref()) {
                return Ok(Exchanged::Decided(ExchangeOutcome::NeedsEmbeddings(ask)));
            }
        }
        let intent = match session.as_deref().and_then(|s| Some((s.embedding.as_ref()?, s.words()))) {
            _ if !uses(CheckName::SemanticIntentMatch) => IntentMatch::Unavailable("not evaluated"),
            None if self.embedder.is_none() => IntentMatch::Unavailable("this node has no embedder"),
            None => IntentMatch::Unavailable("the session has no intent embedding"),
            Some((e, words)) => self.tool_index.rank(e, words),
        };
        let judging = uses(CheckName::AiPoweredToolMatch);
        let judgements: HashMap<String, Result<Judgement, AiError>> =
            req.judgements.clone().unwrap_or_default().into_iter().map(|j| (j.tool, j.verdict)).collect();
        let llm_calls = match Uuid::parse_str(&subject.uiid) {
            Ok(uiid) if active.iter().any(|(c, _)| c.needs_llm_calls()) => self.llm_evidence(uiid).await?,
            _ => Default::default(),
        };

        // 2-4, per tool, stopping at the first failure.
        // The judge is asked only once everything else has passed, and outside this actor.
        let defer_judge = judging && req.judgements.is_none();
        // Found a moment ago in this actor's own map: a miss would be a bug, and fails closed.
        let gone = || OAuthError::InvalidTarget("an app of this exchange is no longer registered".into());
        let app = |id: Option<Uuid>| id.map(|id| self.apps.get(&id).ok_or_else(gone)).transpose();
        let ctx = exchange::Context {
            actor: app(actor_app)?,
            subject: &subject,
            audience: app(audience)?,
            apps: &self.apps,
            max_delegation_depth: self.mas.settings.max_delegation_depth as usize,
            checks: &active,
            llm_calls: &llm_calls,
            intent: &intent,
            judgements: &judgements,
            defer_judge,
        };
        let exchange::Decision { servers, denials, results } = exchange::decide(&tools, &ctx);
        let mut event_base = self.event(EventKind::Introspection { active: false });
        event_base.user_input_id = Some(subject.uiid.clone());
        event_base.parent = Some(subject.jti.clone());
        event_base.token_digest = Some(hex::encode(subject_key));

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
            let ask = JudgeRequest { task, intent_digest, tools: judge_tools };
            return Ok(Exchanged::Decided(ExchangeOutcome::NeedsJudgement(ask)));
        }
        let audience = match audience {
            Some(a) => self.apps.get(&a).ok_or_else(gone)?.client_id.clone(),
            None => {
                let [server] = servers.into_iter().collect::<Vec<_>>()[..] else {
                    return Err(OAuthError::InvalidTarget(
                        "the tools are served by different apps: name one with `audience` or `resource`".into(),
                    )
                    .into());
                };
                self.apps[&server].client_id.clone()
            }
        };

        let grant = exchange::Grant {
            issuer: &self.issuer,
            audience: &audience,
            actor: &actor_id,
            tools: tools.clone(),
            now,
            ttl: self.mas.settings.exchanged_token_ttl_seconds as i64,
            jti: token::new_jti(),
        };
        let claims = exchange::exchanged_claims(&subject, grant);
        let exp = claims.exp;
        let jti = claims.jti.clone();
        let unsigned = self.unsigned(claims)?;
        let mut event = event_base;
        event.kind = EventKind::ExchangeAllowed { tools: tools.clone(), audience: audience.clone(), checks: results };
        event.app_ids = vec![subject.sub.clone(), actor_id, audience];
        event.jti = Some(jti.clone());
        let token = IssuedToken {
            access_token: String::new(),
            expires_in: exp - now,
            scope: EXCHANGED_SCOPE.into(),
            tools,
            user_input_id: subject.uiid.clone(),
            jti,
        };
        Ok(Exchanged::Allowed(Signing { unsigned, token, event, started, trace: self.trace.clone() }))
    }
}

/// Drops repeats, keeping the first occurrence's order.
pub(super) fn dedupe(items: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items.into_iter().filter(|t| seen.insert(t.clone())).collect()
}
