//! `/trace/llm`: evidence of the tools a session's LLM calls selected.

use casa_actors::oauth::LlmCallReport;
use casa_actors::trace::EventKind;
use futures::stream::BoxStream;
use poem::web::Data;
use poem_openapi::auth::Basic;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::{EventStream, Json};
use poem_openapi::{ApiResponse, Object, OpenApi, SecurityScheme};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::AdminAuth;
use super::body::{present, JsonBody};
use super::error::ApiError;
use super::{ApiTags, AppState};

/// The reporting app's client credentials, HTTP Basic (checked by its MAS).
#[derive(SecurityScheme)]
#[oai(ty = "basic", checker = "any_client")]
pub struct ClientBasic(casa_actors::oauth::ClientCredentials);

/// The realm authenticates the app; here the credentials are only taken from the header.
async fn any_client(_: &poem::Request, basic: Basic) -> Option<casa_actors::oauth::ClientCredentials> {
    Some(casa_actors::oauth::ClientCredentials { client_id: basic.username, client_secret: basic.password })
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LlmCallBody {
    /// The session (`user_input_id` of its tokens) the call served.
    #[oai(validator(max_length = 64))]
    pub user_input_id: String,
    /// The LLM call's id, unique in the session: a call is recorded once, never replaced.
    #[oai(validator(min_length = 1, max_length = 256, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$"))]
    pub call_id: String,
    /// The tools the call selected.
    pub selected_tools: Vec<String>,
    #[oai(validator(min_length = 1, max_length = 256, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$"))]
    #[serde(default, deserialize_with = "present")]
    pub model: Option<String>,
    /// A digest of the prompt (never the prompt itself).
    #[oai(validator(min_length = 1, max_length = 256, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$"))]
    #[serde(default, deserialize_with = "present")]
    pub prompt_digest: Option<String>,
}

#[derive(Debug, Clone, Object)]
pub struct LlmCallResponse {
    pub call_id: String,
    pub user_input_id: String,
    pub selected_tools: Vec<String>,
}

#[derive(ApiResponse)]
pub enum LlmCallRecorded {
    #[oai(status = 201)]
    Created(Json<LlmCallResponse>),
}

/// A page of trace events, newest first.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TracePage {
    /// Trace events: id, at, mas_id, user_input_id, app_ids, jti, parent,
    /// token_digest, latency_us, type and its fields (per-tool `checks` with
    /// scores and verdicts for exchanges), prev_hash and hash.
    pub items: Vec<serde_json::Value>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

const MAX_TRACE_LIMIT: u32 = 500;

/// Trace event types (`EventKind`'s serialized tags), the values of `event_type`.
pub const EVENT_TYPES: &[&str] = casa_actors::trace::TraceEvent::TYPE_NAMES;
/// `/stats` reads at most this many events (the newest).
const MAX_STATS_EVENTS: u64 = 200_000;

#[derive(Debug, Clone, Default, Object)]
pub struct Stats {
    /// Events counted.
    pub events: u64,
    pub issued: u64,
    pub allowed: u64,
    pub denied: u64,
    /// Exchanges refused before any tool was looked at (bad client, bad subject token).
    pub rejected: u64,
    pub denials_by_reason: std::collections::BTreeMap<String, u64>,
    pub denials_by_check: std::collections::BTreeMap<String, u64>,
    /// Actor → tool server, with exchanges and denials.
    pub edges: Vec<Edge>,
    /// More events matched than `/stats` reads: the counts cover the newest.
    pub truncated: bool,
}

#[derive(Debug, Clone, Object)]
pub struct Edge {
    pub caller: String,
    pub callee: String,
    pub calls: u64,
    pub denied: u64,
}
/// A filtered query scans at most this many events per page asked for.
const MAX_SCAN: usize = 20_000;

#[derive(Default)]
pub struct TraceApi;

#[OpenApi(tag = "ApiTags::Trace")]
impl TraceApi {
    /// Trace events, newest first, with filters and cursor pagination.
    #[oai(path = "/trace", method = "get", operation_id = "listTrace")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        mas_id: Query<Option<Uuid>>,
        user_input_id: Query<Option<String>>,
        /// A token's events: its issuance, introspections, revocation, and the exchanges from it.
        jti: Query<Option<String>>,
        app_id: Query<Option<String>>,
        /// `allowed` or `denied`.
        decision: Query<Option<String>>,
        /// e.g. `exchange_denied`, `token_issued`, `introspection`.
        event_type: Query<Option<String>>,
        /// The SHA-256 (hex) of a token: its events, found without sending the token itself.
        token_digest: Query<Option<String>>,
        /// Events at or after this time (RFC 3339).
        since: Query<Option<time::OffsetDateTime>>,
        /// Events before this time (RFC 3339).
        until: Query<Option<time::OffsetDateTime>>,
        /// 1 to 500 (default 100).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<Uuid>>,
    ) -> Result<Json<TracePage>, ApiError> {
        let limit = limit.0.unwrap_or(100);
        if limit == 0 || limit > MAX_TRACE_LIMIT {
            return Err(
                casa_actors::CoreError::invalid("limit", format!("must be between 1 and {MAX_TRACE_LIMIT}")).into()
            );
        }
        if let Some(d) = decision.0.as_deref().filter(|d| !matches!(*d, "allowed" | "denied")) {
            return Err(casa_actors::CoreError::invalid("decision", format!("{d:?}: allowed or denied")).into());
        }
        if let Some(t) = event_type.0.as_deref().filter(|t| !EVENT_TYPES.contains(t)) {
            return Err(casa_actors::CoreError::invalid("event_type", format!("{t:?} is not an event type")).into());
        }
        if let Some(d) =
            token_digest.0.as_deref().filter(|d| d.len() != 64 || !d.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            let shown: String = d.chars().take(16).collect();
            return Err(casa_actors::CoreError::invalid(
                "token_digest",
                format!("{shown:?}...: 64 hex digits (SHA-256)"),
            )
            .into());
        }
        let token_digest = Query(token_digest.0.map(|d| d.to_ascii_lowercase()));
        let keep = |e: &casa_actors::trace::TraceEvent| {
            mas_id.0.is_none_or(|m| e.mas_id == m)
                && app_id.0.as_ref().is_none_or(|a| e.app_ids.contains(a))
                && decision.0.as_deref().is_none_or(|d| e.decision() == Some(d))
                && event_type.0.as_deref().is_none_or(|t| e.type_name() == t)
                && token_digest.0.as_ref().is_none_or(|d| e.token_digest.as_ref() == Some(d))
                && since.0.is_none_or(|s| e.at >= s)
                && until.0.is_none_or(|u| e.at < u)
                && cursor.0.is_none_or(|c| e.id < c)
        };
        let store = state.node.store();
        let mut items = Vec::new();
        let mut more = false;
        let indexed = match (&user_input_id.0, &jti.0) {
            (Some(uiid), _) => Some(store.session_traces(uiid).await),
            (None, Some(jti)) => Some(store.token_traces(jti).await),
            (None, None) => None,
        };
        let token_filter = |e: &casa_actors::trace::TraceEvent| {
            jti.0.as_ref().is_none_or(|j| e.jti.as_ref() == Some(j) || e.parent.as_ref() == Some(j))
                && user_input_id.0.as_ref().is_none_or(|u| e.user_input_id.as_ref() == Some(u))
        };
        if let Some(found) = indexed {
            let mut session = found.map_err(casa_actors::CoreError::from)?;
            session.retain(|e| token_filter(e));
            session.reverse();
            let mut matching = session.into_iter().filter(|e| keep(e));
            items.extend(matching.by_ref().take(limit as usize));
            more = matching.next().is_some();
        } else {
            let mut before = cursor.0;
            let mut scanned = 0;
            'pages: while scanned < MAX_SCAN {
                let page = store.traces(mas_id.0, before, 1000).await.map_err(casa_actors::CoreError::from)?;
                let Some(last) = page.last() else { break };
                before = Some(last.id);
                // Newest first: past `since`, nothing older can match.
                let past_since = since.0.is_some_and(|s| last.at < s);
                scanned += page.len();
                for e in page.into_iter().filter(|e| keep(e)) {
                    if items.len() == limit as usize {
                        more = true;
                        break 'pages;
                    }
                    items.push(e);
                }
                if past_since {
                    break;
                }
            }
            more |= scanned >= MAX_SCAN;
        }
        let next_cursor = if more { items.last().map(|e| e.id.to_string()) } else { None };
        Ok(Json(TracePage { items: items.iter().map(super::live::event_json).collect(), next_cursor }))
    }

    /// Server-Sent Events: each trace event as it is written, with the same
    /// filters as `GET /trace`. Each event's SSE `id` is its event id; send it
    /// back as `Last-Event-ID` to get what was missed from the store first. A
    /// reader that falls behind gets a `lagged` event (`missed`: how many, or
    /// null when more than the replay limit) instead of a silent gap.
    #[oai(path = "/trace/stream", method = "get", operation_id = "streamTrace")]
    #[allow(clippy::too_many_arguments)]
    async fn stream(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        mas_id: Query<Option<Uuid>>,
        /// `allowed` or `denied`.
        decision: Query<Option<String>>,
        user_input_id: Query<Option<String>>,
        app_id: Query<Option<String>>,
        /// e.g. `exchange_denied`, `token_issued`, `introspection`.
        event_type: Query<Option<String>>,
        /// A token's events (as `jti` or as `parent`).
        jti: Query<Option<String>>,
        /// The id of the last event received: the events after it are sent first, from the store.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
    ) -> Result<EventStream<BoxStream<'static, serde_json::Value>>, ApiError> {
        if let Some(d) = decision.0.as_deref().filter(|d| !matches!(*d, "allowed" | "denied")) {
            return Err(casa_actors::CoreError::invalid("decision", format!("{d:?}: allowed or denied")).into());
        }
        let last_event_id = match last_event_id.0.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(Uuid::parse_str(s).map_err(|_| {
                ApiError::bad_request(Some("Last-Event-ID".into()), "Last-Event-ID must be an event id (a UUID)")
            })?),
        };
        let filter = super::live::StreamFilter {
            mas_id: mas_id.0,
            decision: decision.0,
            user_input_id: user_input_id.0,
            app_id: app_id.0,
            event_type: event_type.0,
            jti: jti.0,
        };
        // Subscribed before the store is read: nothing falls between the two.
        let live = state.traces.subscribe();
        let events = super::live::events(&**state.node.store(), live, filter, last_event_id)
            .await
            .map_err(casa_actors::CoreError::from)?;
        Ok(EventStream::new(events).to_event(super::live::to_sse).keep_alive(std::time::Duration::from_secs(15)))
    }

    /// What a dashboard needs: counts of issued, allowed and denied, denials by
    /// reason and by check, and caller → callee edges with call and deny counts.
    #[oai(path = "/stats", method = "get", operation_id = "stats")]
    async fn stats(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        mas_id: Query<Option<Uuid>>,
        /// Only events at or after this time (RFC 3339); default: the last 24 hours.
        since: Query<Option<time::OffsetDateTime>>,
    ) -> Result<Json<Stats>, ApiError> {
        let since = since.0.unwrap_or_else(|| time::OffsetDateTime::now_utc() - time::Duration::days(1));
        let mut stats = Stats::default();
        let mut edges: std::collections::BTreeMap<(String, String), (u64, u64)> = Default::default();
        let mut before = None;
        'pages: while stats.events < MAX_STATS_EVENTS {
            let page = state.node.store().traces(mas_id.0, before, 1000).await.map_err(casa_actors::CoreError::from)?;
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            for e in page {
                if e.at < since {
                    break 'pages;
                }
                stats.events += 1;
                match &e.kind {
                    EventKind::TokenIssued { .. } => stats.issued += 1,
                    EventKind::ExchangeAllowed { .. } => stats.allowed += 1,
                    EventKind::ExchangeDenied { denials, .. } => {
                        stats.denied += 1;
                        for d in denials {
                            *stats.denials_by_reason.entry(d.reason.clone()).or_default() += 1;
                            *stats.denials_by_check.entry(d.check.clone()).or_default() += 1;
                        }
                    }
                    EventKind::ExchangeRejected { .. } => stats.rejected += 1,
                    _ => {}
                }
                if matches!(e.kind, EventKind::ExchangeAllowed { .. } | EventKind::ExchangeDenied { .. }) {
                    let denied = matches!(e.kind, EventKind::ExchangeDenied { .. });
                    if let Some(caller) = e.app_ids.get(1) {
                        for callee in e.app_ids.iter().skip(2) {
                            let edge = edges.entry((caller.clone(), callee.clone())).or_default();
                            edge.0 += 1;
                            edge.1 += denied as u64;
                        }
                    }
                }
            }
        }
        stats.truncated = stats.events >= MAX_STATS_EVENTS;
        stats.edges = edges
            .into_iter()
            .map(|((caller, callee), (calls, denied))| Edge { caller, callee, calls, denied })
            .collect();
        Ok(Json(stats))
    }

    /// A whole session in order: the tokens issued, each exchange with its
    /// per-tool decisions, introspections, revocations, LLM calls.
    #[oai(path = "/trace/session/:user_input_id", method = "get", operation_id = "sessionTrace")]
    async fn session(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        user_input_id: Path<String>,
    ) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
        let events = state.node.store().session_traces(&user_input_id.0).await.map_err(casa_actors::CoreError::from)?;
        Ok(Json(events.iter().map(super::live::event_json).collect()))
    }

    /// Record which tools an LLM call of the session selected; this feeds the
    /// `DETERMINISTIC_LLM_SELECTED_TOOLS` check.
    #[oai(path = "/trace/llm", method = "post", operation_id = "recordLlmCall")]
    async fn record_llm_call(
        &self,
        client: ClientBasic,
        state: Data<&AppState>,
        body: JsonBody<LlmCallBody>,
    ) -> Result<LlmCallRecorded, ApiError> {
        let b = body.0;
        let report = LlmCallReport {
            client: client.0,
            user_input_id: b.user_input_id,
            call_id: b.call_id,
            selected_tools: b.selected_tools,
            model: b.model,
            prompt_digest: b.prompt_digest,
        };
        let r = state.node.record_llm_call(report).await?;
        Ok(LlmCallRecorded::Created(Json(LlmCallResponse {
            call_id: r.call_id,
            user_input_id: r.user_input_id,
            selected_tools: r.selected_tools,
        })))
    }
}
