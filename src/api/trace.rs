//! `/trace/llm`: evidence of the tools a session's LLM calls selected.

use casa_actors::oauth::{LlmCallReport, OAuthError};
use poem::web::Data;
use poem_openapi::auth::Bearer;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, SecurityScheme};
use serde::Deserialize;

use super::body::JsonBody;
use super::error::ApiError;
use super::{ApiTags, AppState};

/// A token of the session (the `Bearer` token an agent holds).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "any_session_token")]
pub struct SessionToken(String);

/// The realm checks the token itself; here it is only taken from the header.
async fn any_session_token(_: &poem::Request, bearer: Bearer) -> Option<String> {
    Some(bearer.token)
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct LlmCallBody {
    /// The LLM call's id; reporting the same id again replaces the record.
    pub call_id: String,
    /// The tools the call selected.
    pub selected_tools: Vec<String>,
    pub model: Option<String>,
    /// A digest of the prompt (never the prompt itself).
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

pub struct TraceApi;

#[OpenApi(tag = "ApiTags::Trace")]
impl TraceApi {
    /// Record which tools an LLM call of the session selected; this feeds the
    /// `DETERMINISTIC_LLM_SELECTED_TOOLS` check.
    #[oai(path = "/trace/llm", method = "post", operation_id = "recordLlmCall")]
    async fn record_llm_call(
        &self,
        token: SessionToken,
        state: Data<&AppState>,
        body: JsonBody<LlmCallBody>,
    ) -> Result<LlmCallRecorded, ApiError> {
        if token.0.is_empty() {
            return Err(OAuthError::InvalidToken("a session token is required".into()).into());
        }
        let b = body.0;
        let report = LlmCallReport {
            token: token.0,
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
