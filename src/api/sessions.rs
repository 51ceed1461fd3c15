//! `/user-inputs`: the sessions tokens are issued for, with the task casa
//! derived from each and a digest of its intent embedding.

use casa_actors::session::UserInputContent;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use time::OffsetDateTime;
use uuid::Uuid;

use super::auth::AdminAuth;
use super::error::ApiError;
use super::{ApiTags, AppState};

#[derive(Debug, Clone, Object)]
pub struct IntentSummary {
    /// The embedding model.
    pub model: String,
    /// SHA-256 of the model and the vector.
    pub digest: String,
    pub dimensions: u32,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UserInputView {
    pub id: Uuid,
    pub mas_id: Uuid,
    /// The app that submitted it.
    pub app_id: Uuid,
    /// The prompt (a string) or the conversation (an array of `{role, content}`).
    pub user_input: serde_json::Value,
    /// The task derived from it: by the LLM, or from the user turns (latest weighted most).
    pub task: Option<String>,
    /// Absent when the node that stored it had no embedder.
    pub intent: Option<IntentSummary>,
    pub created_at: OffsetDateTime,
}

#[derive(Default)]
pub struct SessionsApi;

#[OpenApi(tag = "ApiTags::Trace")]
impl SessionsApi {
    /// A stored user input (session), with its derived task and intent digest.
    #[oai(path = "/user-inputs/:id", method = "get", operation_id = "getUserInput")]
    async fn get(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> Result<Json<UserInputView>, ApiError> {
        let input = state.node.get_user_input(id.0).await?;
        let user_input = match input.content {
            UserInputContent::Text(t) => serde_json::Value::String(t),
            UserInputContent::Turns(turns) => serde_json::to_value(turns).expect("turns encode"),
        };
        Ok(Json(UserInputView {
            id: input.id,
            mas_id: input.mas_id,
            app_id: input.app_id,
            user_input,
            task: input.task,
            intent: input.intent.map(|e| IntentSummary {
                digest: e.digest(),
                dimensions: e.vector.len() as u32,
                model: e.model,
            }),
            created_at: input.created_at,
        }))
    }
}
