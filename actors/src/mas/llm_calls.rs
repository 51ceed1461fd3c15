//! LLM-call evidence: which tools an LLM call of a session selected, as
//! reported by an app the MAS designated for it (`llm_evidence_apps`).
//! Evidence is never replaced (a `call_id` is recorded once), bounded per
//! session, and read from the store once per session, not on every exchange.

use std::sync::Arc;
use std::time::Instant;

use time::OffsetDateTime;
use uuid::Uuid;

use super::grants::{dedupe, MAX_TOOLS_PER_REQUEST};
use super::{CoreResult, MasState};
use crate::cache::{Bounded, Footprint};
use crate::error::CoreError;
use crate::oauth::{LlmCallRecorded, LlmCallReport, OAuthError};
use crate::session::LlmCall;
use crate::trace::EventKind;
use crate::validate;

/// LLM calls recorded per session at most.
pub const MAX_LLM_CALLS_PER_SESSION: usize = 256;
/// What the cache of sessions' evidence may hold, roughly, in bytes.
const EVIDENCE_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Sessions' recorded LLM calls, as loaded from the store (once) and extended
/// by each new report; bounded in bytes.
pub struct LlmEvidence(Bounded<Uuid, Arc<Vec<LlmCall>>>);

impl Footprint for LlmCall {
    fn footprint(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        64 + self.call_id.len()
            + self.reported_by.len()
            + text(&self.model)
            + text(&self.prompt_digest)
            + self.selected_tools.iter().map(|t| t.len() + 24).sum::<usize>()
    }
}

impl Default for LlmEvidence {
    fn default() -> Self {
        Self(Bounded::new(EVIDENCE_CACHE_BYTES, 512))
    }
}

impl LlmEvidence {
    fn get(&self, session: &Uuid) -> Option<Arc<Vec<LlmCall>>> {
        self.0.get(session).cloned()
    }

    fn put(&mut self, session: Uuid, calls: Arc<Vec<LlmCall>>) {
        self.0.insert(session, calls);
    }
}

/// The report's text fields: 1 to 256 characters, no control characters.
fn check_text(field: &str, v: &str) -> CoreResult<()> {
    if v.is_empty() || v.chars().count() > 256 || v.chars().any(char::is_control) {
        return Err(CoreError::invalid(field, "must be 1 to 256 characters, without control characters"));
    }
    Ok(())
}

impl MasState {
    /// The session's recorded LLM calls (from the store on the first use only).
    pub(super) async fn llm_evidence(&mut self, session: Uuid) -> CoreResult<Arc<Vec<LlmCall>>> {
        if let Some(calls) = self.llm_evidence.get(&session) {
            return Ok(calls);
        }
        let calls = Arc::new(self.store.llm_calls(self.mas.id, session).await?);
        self.llm_evidence.put(session, calls.clone());
        Ok(calls)
    }

    pub(crate) async fn record_llm_call(&mut self, req: LlmCallReport) -> CoreResult<LlmCallRecorded> {
        let started = Instant::now();
        // Who reports comes first: nothing is read for an app that may not.
        let app = self.authenticate(&req.client)?;
        if !self.mas.settings.llm_evidence_apps.contains(&app.id) {
            return Err(OAuthError::UnauthorizedClient(
                "this app is not one of the MAS's llm_evidence_apps: its LLM calls are not evidence".into(),
            )
            .into());
        }
        let reporter = app.client_id.clone();
        check_text("call_id", &req.call_id)?;
        for (field, v) in [("model", &req.model), ("prompt_digest", &req.prompt_digest)] {
            if let Some(v) = v {
                check_text(field, v)?;
            }
        }
        if req.selected_tools.len() > MAX_TOOLS_PER_REQUEST {
            return Err(CoreError::invalid("selected_tools", format!("at most {MAX_TOOLS_PER_REQUEST} tools")));
        }
        if let Some(i) = req.selected_tools.iter().position(|t| !validate::is_tool_name(t)) {
            return Err(CoreError::invalid(&format!("selected_tools[{i}]"), "not a tool name"));
        }
        let unknown = || OAuthError::InvalidRequest("unknown user_input_id".into());
        let session = Uuid::parse_str(&req.user_input_id).map_err(|_| unknown())?;
        if self.revocations.session_revoked(&session.to_string()) {
            return Err(OAuthError::InvalidGrant("the session has been revoked".into()).into());
        }
        self.session(&session.to_string()).await?.ok_or_else(unknown)?;
        let recorded = self.llm_evidence(session).await?;
        if recorded.iter().any(|c| c.call_id == req.call_id) {
            return Err(CoreError::Conflict(format!(
                "LLM call {:?} is already recorded for this session; evidence is never replaced",
                req.call_id
            )));
        }
        if recorded.len() >= MAX_LLM_CALLS_PER_SESSION {
            return Err(CoreError::Conflict(format!(
                "the session already has {MAX_LLM_CALLS_PER_SESSION} LLM calls recorded"
            )));
        }
        let selected_tools = dedupe(req.selected_tools);
        let call = LlmCall {
            call_id: req.call_id.clone(),
            selected_tools: selected_tools.clone(),
            model: req.model,
            prompt_digest: req.prompt_digest,
            reported_by: reporter.clone(),
            recorded_at: OffsetDateTime::now_utc(),
        };
        self.store.put_llm_call(self.mas.id, session, &call).await?;
        let mut calls = (*recorded).clone();
        calls.push(call);
        self.llm_evidence.put(session, Arc::new(calls));
        let mut event =
            self.event(EventKind::LlmCall { call_id: req.call_id.clone(), selected_tools: selected_tools.clone() });
        event.user_input_id = Some(session.to_string());
        event.app_ids = vec![reporter];
        self.emit(event, started);
        Ok(LlmCallRecorded { call_id: req.call_id, user_input_id: session.to_string(), selected_tools })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str, tools: usize) -> LlmCall {
        LlmCall {
            call_id: id.into(),
            selected_tools: (0..tools).map(|i| format!("tool:{i:0>100}")).collect(),
            model: None,
            prompt_digest: None,
            reported_by: "app".into(),
            recorded_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_evidence_cache_stays_within_its_bytes() {
        let mut cache = LlmEvidence::default();
        let big: Arc<Vec<LlmCall>> =
            Arc::new((0..MAX_LLM_CALLS_PER_SESSION).map(|i| call(&i.to_string(), 8)).collect());
        for _ in 0..200 {
            cache.put(Uuid::now_v7(), big.clone());
            assert!(cache.0.bytes() <= EVIDENCE_CACHE_BYTES as u64, "{}", cache.0.bytes());
        }
        // Replacing a session's list accounts for the old one.
        let mut cache = LlmEvidence::default();
        let id = Uuid::now_v7();
        cache.put(id, Arc::new(vec![call("a", 1)]));
        let before = cache.0.bytes();
        cache.put(id, Arc::new(vec![call("a", 1), call("b", 1)]));
        assert_eq!(cache.0.bytes(), before + call("b", 1).footprint() as u64);
    }
}
