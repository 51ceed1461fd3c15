//! `/mas`: create, list, read, change and delete Multi-Agent Systems, and
//! rotate their realm keys.

use casa_actors::mas::MasView;
use casa_actors::model::{self, CheckName};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::apps::Tool;
use super::auth::AdminAuth;
use super::body::{present, present_object, JsonBody};
use super::error::ApiError;
use super::{ApiTags, AppState, Deleted};
use casa_actors::realm;
use casa_actors::revocation::RevocationTarget;
use poem::web::Data;

/// A check an exchange can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Check {
    /// The tool is in the subject token's `tools`.
    DeterministicToolSelected,
    /// An LLM call of this session selected the tool.
    DeterministicLlmSelectedTools,
    /// The tool's embedding is close enough to the user's intent.
    SemanticIntentMatch,
    /// An LLM judge finds the tool appropriate for the task.
    AiPoweredToolMatch,
}

impl From<Check> for CheckName {
    fn from(c: Check) -> Self {
        match c {
            Check::DeterministicToolSelected => Self::DeterministicToolSelected,
            Check::DeterministicLlmSelectedTools => Self::DeterministicLlmSelectedTools,
            Check::SemanticIntentMatch => Self::SemanticIntentMatch,
            Check::AiPoweredToolMatch => Self::AiPoweredToolMatch,
        }
    }
}

impl From<CheckName> for Check {
    fn from(c: CheckName) -> Self {
        match c {
            CheckName::DeterministicToolSelected => Self::DeterministicToolSelected,
            CheckName::DeterministicLlmSelectedTools => Self::DeterministicLlmSelectedTools,
            CheckName::SemanticIntentMatch => Self::SemanticIntentMatch,
            CheckName::AiPoweredToolMatch => Self::AiPoweredToolMatch,
        }
    }
}

/// Semantic check settings. Missing members take their defaults.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct SemanticParams {
    /// Minimum cosine similarity, -1.0 to 1.0 (default 0.18, chosen in docs/intent-eval.md).
    #[oai(validator(minimum(value = "-1"), maximum(value = "1")))]
    #[serde(default, deserialize_with = "present")]
    pub threshold: Option<f64>,
    /// The tool must also rank within the top k of the MAS's tools (1 to 1000; default: no rank limit).
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    #[serde(default, deserialize_with = "present")]
    pub top_k: Option<u32>,
    /// Cut-off on the calibrated probability, 0.0 to 1.0, used instead of `threshold` when the
    /// node's embedder has a calibration (default: the calibration's, chosen in docs/intent-eval.md).
    #[oai(validator(minimum(value = "0"), maximum(value = "1")))]
    #[serde(default, deserialize_with = "present")]
    pub min_probability: Option<f64>,
}

impl From<SemanticParams> for model::SemanticInput {
    fn from(p: SemanticParams) -> Self {
        Self { threshold: p.threshold, top_k: p.top_k, min_probability: p.min_probability }
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CreateMas {
    /// 1 to 128 characters (trimmed), no control characters.
    #[oai(validator(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    ))]
    pub name: String,
    /// At most 4096 characters; blank means none.
    #[oai(validator(max_length = 4096))]
    #[serde(default, deserialize_with = "present")]
    pub description: Option<String>,
    /// Default: `[DETERMINISTIC_TOOL_SELECTED]`.
    #[serde(default, deserialize_with = "present")]
    pub enabled_checks: Option<Vec<Check>>,
    /// Checks evaluated and recorded in the trace, never enforced (default: none).
    #[serde(default, deserialize_with = "present")]
    pub shadow_checks: Option<Vec<Check>>,
    /// Ids of the apps whose reports to `/trace/llm` are evidence for
    /// `DETERMINISTIC_LLM_SELECTED_TOOLS` (at most 64; default: none).
    #[oai(validator(max_items = 64))]
    #[serde(default, deserialize_with = "present")]
    pub llm_evidence_apps: Option<Vec<Uuid>>,
    #[serde(default, deserialize_with = "present_object")]
    pub semantic: Option<SemanticParams>,
    /// Lifetime of initial tokens, 1 to 86400 (default 300).
    #[oai(validator(minimum(value = "1"), maximum(value = "86400")))]
    #[serde(default, deserialize_with = "present")]
    pub token_ttl_seconds: Option<u32>,
    /// Lifetime of exchanged tokens, 1 to 86400 (default 60); never beyond the subject token's.
    #[oai(validator(minimum(value = "1"), maximum(value = "86400")))]
    #[serde(default, deserialize_with = "present")]
    pub exchanged_token_ttl_seconds: Option<u32>,
    /// Longest delegation chain, 1 to 32 (default 4).
    #[oai(validator(minimum(value = "1"), maximum(value = "32")))]
    #[serde(default, deserialize_with = "present")]
    pub max_delegation_depth: Option<u32>,
    /// New sessions (user inputs) one app may start per second, 1 to 1000000 (default 20000);
    /// more are refused with 429 and `Retry-After`.
    #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
    #[serde(default, deserialize_with = "present")]
    pub sessions_per_app_per_second: Option<u32>,
}

/// Any subset of the settings; the rest stay as they are. `semantic`
/// replaces the whole semantic block.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct UpdateMas {
    #[oai(validator(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    ))]
    #[serde(default, deserialize_with = "present")]
    pub name: Option<String>,
    #[oai(validator(max_length = 4096))]
    #[serde(default, deserialize_with = "present")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub enabled_checks: Option<Vec<Check>>,
    #[serde(default, deserialize_with = "present")]
    pub shadow_checks: Option<Vec<Check>>,
    #[oai(validator(max_items = 64))]
    #[serde(default, deserialize_with = "present")]
    pub llm_evidence_apps: Option<Vec<Uuid>>,
    #[serde(default, deserialize_with = "present_object")]
    pub semantic: Option<SemanticParams>,
    #[oai(validator(minimum(value = "1"), maximum(value = "86400")))]
    #[serde(default, deserialize_with = "present")]
    pub token_ttl_seconds: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "86400")))]
    #[serde(default, deserialize_with = "present")]
    pub exchanged_token_ttl_seconds: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "32")))]
    #[serde(default, deserialize_with = "present")]
    pub max_delegation_depth: Option<u32>,
    /// New sessions (user inputs) one app may start per second, 1 to 1000000 (default 20000);
    /// more are refused with 429 and `Retry-After`.
    #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
    #[serde(default, deserialize_with = "present")]
    pub sessions_per_app_per_second: Option<u32>,
}

fn checks(list: Option<Vec<Check>>) -> Option<Vec<CheckName>> {
    list.map(|l| l.into_iter().map(Into::into).collect())
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Semantic {
    pub threshold: f64,
    pub top_k: Option<u32>,
    #[oai(skip_serializing_if_is_none)]
    pub min_probability: Option<f64>,
}

/// The MAS's own realm: its issuer and signing keys.
#[derive(Debug, Clone, Object)]
pub struct Realm {
    /// The `iss` of every token of this MAS.
    pub issuer: String,
    pub jwks_uri: String,
    /// The key id (`kid`) that signs new tokens.
    pub active_kid: String,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Mas {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub enabled_checks: Vec<Check>,
    pub shadow_checks: Vec<Check>,
    /// The apps whose `/trace/llm` reports count as evidence.
    pub llm_evidence_apps: Vec<Uuid>,
    pub semantic: Semantic,
    pub token_ttl_seconds: u32,
    pub exchanged_token_ttl_seconds: u32,
    pub max_delegation_depth: u32,
    /// New sessions one app may start per second (429 beyond).
    pub sessions_per_app_per_second: u32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub realm: Realm,
}

impl Mas {
    fn from_view(view: MasView, public_url: &str) -> Self {
        let MasView { mas, active_kid } = view;
        let s = mas.settings;
        Self {
            id: mas.id,
            name: s.name,
            description: s.description,
            enabled_checks: s.enabled_checks.into_iter().map(Into::into).collect(),
            shadow_checks: s.shadow_checks.into_iter().map(Into::into).collect(),
            llm_evidence_apps: s.llm_evidence_apps,
            semantic: Semantic {
                threshold: s.semantic.threshold,
                top_k: s.semantic.top_k,
                min_probability: s.semantic.min_probability,
            },
            token_ttl_seconds: s.token_ttl_seconds,
            exchanged_token_ttl_seconds: s.exchanged_token_ttl_seconds,
            max_delegation_depth: s.max_delegation_depth,
            sessions_per_app_per_second: s.sessions_per_app_per_second,
            created_at: mas.created_at,
            updated_at: mas.updated_at,
            realm: Realm {
                issuer: realm::issuer(public_url, mas.id),
                jwks_uri: realm::jwks_uri(public_url, mas.id),
                active_kid,
            },
        }
    }
}

#[derive(Debug, Object)]
pub struct MasPage {
    pub items: Vec<Mas>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

#[derive(Debug, Object)]
pub struct RotatedKey {
    /// The new signing key; the previous one keeps verifying until its tokens expire.
    pub active_kid: String,
}

/// What to revoke: any combination, at least one.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct RevokeTokens {
    #[serde(default, deserialize_with = "present")]
    pub jti: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub user_input_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub app_id: Option<String>,
}

#[derive(Debug, Clone, Object)]
pub struct RevokedTarget {
    /// `token`, `session` or `app`.
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Clone, Object)]
pub struct RevokedTokens {
    pub revoked: Vec<RevokedTarget>,
}

#[derive(ApiResponse)]
pub enum CreatedMas {
    #[oai(status = 201)]
    Created(Json<Mas>),
}

#[derive(Default)]
pub struct MasApi;

#[OpenApi(tag = "ApiTags::Mas")]
impl MasApi {
    /// Create a MAS, with its realm and a fresh Ed25519 signing key.
    #[oai(path = "/mas", method = "post", operation_id = "createMas")]
    async fn create(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        body: JsonBody<CreateMas>,
    ) -> Result<CreatedMas, ApiError> {
        let b = body.0;
        let input = model::NewMas {
            name: b.name,
            description: b.description,
            enabled_checks: checks(b.enabled_checks),
            shadow_checks: checks(b.shadow_checks),
            llm_evidence_apps: b.llm_evidence_apps,
            semantic: b.semantic.map(Into::into),
            token_ttl_seconds: b.token_ttl_seconds,
            exchanged_token_ttl_seconds: b.exchanged_token_ttl_seconds,
            max_delegation_depth: b.max_delegation_depth,
            sessions_per_app_per_second: b.sessions_per_app_per_second,
        };
        let view = state.node.create_mas(input).await?;
        Ok(CreatedMas::Created(Json(Mas::from_view(view, &state.public_url))))
    }

    /// List MAS, oldest first.
    #[oai(path = "/mas", method = "get", operation_id = "listMas")]
    async fn list(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        /// 1-based page number (default 1).
        page: Query<Option<u32>>,
        /// Items per page, 1 to 100 (default 20).
        page_size: Query<Option<u32>>,
        /// Only MAS whose name contains this (case-insensitive).
        q: Query<Option<String>>,
    ) -> Result<Json<MasPage>, ApiError> {
        let req = casa_actors::validate::page(page.0, page_size.0)?;
        let q = q.0.filter(|s| !s.is_empty());
        if q.as_ref().is_some_and(|s| s.chars().count() > 128) {
            return Err(ApiError::bad_request(Some("q".into()), "q: at most 128 characters"));
        }
        let found = state.node.list_mas(q.as_deref(), req).await?;
        Ok(Json(MasPage {
            items: found.items.into_iter().map(|v| Mas::from_view(v, &state.public_url)).collect(),
            total: found.total,
            page: found.page,
            page_size: found.page_size,
        }))
    }

    #[oai(path = "/mas/:id", method = "get", operation_id = "getMas")]
    async fn get(&self, _auth: AdminAuth, state: Data<&AppState>, id: Path<Uuid>) -> Result<Json<Mas>, ApiError> {
        Ok(Json(Mas::from_view(state.node.get_mas(id.0).await?, &state.public_url)))
    }

    /// Change any setting; this is where checks are switched on and off.
    #[oai(path = "/mas/:id", method = "patch", operation_id = "updateMas")]
    async fn update(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        body: JsonBody<UpdateMas>,
    ) -> Result<Json<Mas>, ApiError> {
        let b = body.0;
        let patch = model::MasPatch {
            name: b.name,
            description: b.description,
            enabled_checks: checks(b.enabled_checks),
            shadow_checks: checks(b.shadow_checks),
            llm_evidence_apps: b.llm_evidence_apps,
            semantic: b.semantic.map(Into::into),
            token_ttl_seconds: b.token_ttl_seconds,
            exchanged_token_ttl_seconds: b.exchanged_token_ttl_seconds,
            max_delegation_depth: b.max_delegation_depth,
            sessions_per_app_per_second: b.sessions_per_app_per_second,
        };
        Ok(Json(Mas::from_view(state.node.update_mas(id.0, patch).await?, &state.public_url)))
    }

    /// Delete a MAS with its apps, tools and keys; its tokens stop being valid.
    #[oai(path = "/mas/:id", method = "delete", operation_id = "deleteMas")]
    async fn delete(&self, _auth: AdminAuth, state: Data<&AppState>, id: Path<Uuid>) -> Result<Deleted, ApiError> {
        state.node.delete_mas(id.0).await?;
        Ok(Deleted::NoContent)
    }

    /// Rotate the realm's signing key.
    #[oai(path = "/mas/:id/keys/rotate", method = "post", operation_id = "rotateMasKey")]
    async fn rotate_key(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> Result<Json<RotatedKey>, ApiError> {
        Ok(Json(RotatedKey { active_kid: state.node.rotate_key(id.0).await? }))
    }

    /// Revoke every token matching any of `jti` (with everything exchanged from it),
    /// `user_input_id` (a whole session) or `app_id` (tokens issued to or exchanged by it).
    #[oai(path = "/mas/:id/revoke", method = "post", operation_id = "revokeMasTokens")]
    async fn revoke(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        body: JsonBody<RevokeTokens>,
    ) -> Result<Json<RevokedTokens>, ApiError> {
        let b = body.0;
        let req =
            casa_actors::oauth::AdminRevokeRequest { jti: b.jti, user_input_id: b.user_input_id, app_id: b.app_id };
        let done = state.node.admin_revoke(id.0, req).await?;
        let revoked = done
            .revoked
            .into_iter()
            .map(|t| match t {
                RevocationTarget::Token(id) => RevokedTarget { kind: "token".into(), id },
                RevocationTarget::Session(id) => RevokedTarget { kind: "session".into(), id },
                RevocationTarget::App(id) => RevokedTarget { kind: "app".into(), id },
            })
            .collect();
        Ok(Json(RevokedTokens { revoked }))
    }

    /// The MAS's tools, each with the app that serves it.
    #[oai(path = "/mas/:id/tools", method = "get", operation_id = "listMasTools")]
    async fn tools(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> Result<Json<Vec<Tool>>, ApiError> {
        let tools = state.node.list_tools(id.0).await?;
        Ok(Json(tools.into_iter().map(Tool::from).collect()))
    }
}
