//! LLM-call evidence: which tools an LLM call of a session selected, as
//! reported by an app holding the session's token.

use std::time::Instant;

use time::OffsetDateTime;
use uuid::Uuid;

use super::grants::{dedupe, MAX_TOOLS_PER_REQUEST};
use super::tokens::now;
use super::{CoreResult, MasState};
use crate::error::CoreError;
use crate::oauth::{LlmCallRecorded, LlmCallReport, OAuthError};
use crate::session::LlmCall;
use crate::token;
use crate::trace::EventKind;
use crate::validate;

impl MasState {
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
}
