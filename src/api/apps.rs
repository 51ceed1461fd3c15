//! `/apps`: the clients, agents and MCP servers of a MAS, with their
//! credentials, tool allowlists and served tools.

use casa_actors::model::{self, AppRecord, AppWithSecret, ToolEntry};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::auth::AdminAuth;
use super::body::{present, JsonBody};
use super::error::ApiError;
use super::{ApiTags, AppState, Deleted};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AppType {
    /// Receives the user's input and asks for initial tokens.
    Client,
    /// Exchanges tokens to call tools.
    Agent,
    /// Serves tools.
    McpServer,
}

impl From<AppType> for model::AppType {
    fn from(t: AppType) -> Self {
        match t {
            AppType::Client => Self::Client,
            AppType::Agent => Self::Agent,
            AppType::McpServer => Self::McpServer,
        }
    }
}

impl From<model::AppType> for AppType {
    fn from(t: model::AppType) -> Self {
        match t {
            model::AppType::Client => Self::Client,
            model::AppType::Agent => Self::Agent,
            model::AppType::McpServer => Self::McpServer,
        }
    }
}

/// A tool an MCP server serves.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields, skip_serializing_if_is_none)]
#[serde(deny_unknown_fields)]
pub struct ToolSpec {
    /// 1 to 128 characters of letters, digits and `_ - . : /`, unique in the MAS.
    #[oai(validator(pattern = r"^[A-Za-z0-9_.:/-]{1,128}$"))]
    pub name: String,
    /// 1 to 4096 characters, not blank.
    #[oai(validator(min_length = 1, max_length = 4096, pattern = r"\S"))]
    pub description: String,
    /// JSON Schema of the tool's input (an object).
    #[serde(default, deserialize_with = "present")]
    pub input_schema: Option<serde_json::Value>,
}

impl From<ToolSpec> for model::ToolDef {
    fn from(t: ToolSpec) -> Self {
        Self { name: t.name, description: t.description, input_schema: t.input_schema, ..Default::default() }
    }
}

impl From<model::ToolDef> for ToolSpec {
    fn from(t: model::ToolDef) -> Self {
        Self { name: t.name, description: t.description, input_schema: t.input_schema }
    }
}

/// A tool of a MAS and the app that serves it.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Tool {
    pub name: String,
    pub description: String,
    pub input_schema: Option<serde_json::Value>,
    pub app_id: Uuid,
    pub app_name: String,
    /// SHA-256 of the current definition (name, description, input schema).
    pub digest: String,
    /// The digest the tool was first registered with.
    pub registered_digest: Option<String>,
    /// The definition changed since the tool was registered: review it.
    pub changed_since_registration: bool,
    /// Whether the semantic check can score this tool on this node.
    pub embedded: bool,
    /// The definitions it had before, oldest first (the registered one first):
    /// the other side of a drift diff.
    pub history: Vec<ToolVersion>,
}

/// A past definition of a tool.
#[derive(Debug, Clone, Object)]
pub struct ToolVersion {
    pub digest: String,
    pub description: String,
    pub input_schema: Option<serde_json::Value>,
    /// When the next definition replaced it.
    pub replaced_at: OffsetDateTime,
}

impl From<model::ToolVersion> for ToolVersion {
    fn from(v: model::ToolVersion) -> Self {
        Self { digest: v.digest, description: v.description, input_schema: v.input_schema, replaced_at: v.replaced_at }
    }
}

impl From<ToolEntry> for Tool {
    fn from(e: ToolEntry) -> Self {
        let changed = e.tool.registered_digest.as_ref().is_some_and(|r| *r != e.digest);
        Self {
            name: e.tool.name,
            description: e.tool.description,
            input_schema: e.tool.input_schema,
            app_id: e.app_id,
            app_name: e.app_name,
            digest: e.digest,
            registered_digest: e.tool.registered_digest,
            changed_since_registration: changed,
            embedded: e.tool.embedding.is_some(),
            history: e.tool.history.into_iter().map(ToolVersion::from).collect(),
        }
    }
}

#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    pub mas_id: Uuid,
    /// 1 to 128 characters (trimmed), no control characters, unique in the MAS.
    #[oai(validator(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    ))]
    pub name: String,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub app_type: AppType,
    /// Where the app is reached: an absolute http or https URL, without credentials or fragment.
    #[oai(validator(
        max_length = 2048,
        pattern = r"^(https?://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~/-]*)?)?$"
    ))]
    #[serde(default, deserialize_with = "present")]
    pub base_url: Option<String>,
    /// Tool names this app may be given tokens for.
    #[serde(default, deserialize_with = "present")]
    pub allowed_tools: Option<Vec<String>>,
    /// For `mcp_server` only: the tools it serves.
    #[oai(validator(max_items = 1024))]
    #[serde(default, deserialize_with = "present")]
    pub tools: Option<Vec<ToolSpec>>,
}

/// Any subset; `allowed_tools` and `tools` replace the whole list.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct UpdateApp {
    #[oai(validator(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    ))]
    #[serde(default, deserialize_with = "present")]
    pub name: Option<String>,
    #[oai(validator(
        max_length = 2048,
        pattern = r"^(https?://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~/-]*)?)?$"
    ))]
    #[serde(default, deserialize_with = "present")]
    pub base_url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub allowed_tools: Option<Vec<String>>,
    /// For `mcp_server` only.
    #[oai(validator(max_items = 1024))]
    #[serde(default, deserialize_with = "present")]
    pub tools: Option<Vec<ToolSpec>>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct App {
    pub id: Uuid,
    pub mas_id: Uuid,
    pub name: String,
    #[oai(rename = "type")]
    pub app_type: AppType,
    pub base_url: Option<String>,
    pub allowed_tools: Vec<String>,
    pub tools: Vec<ToolSpec>,
    /// The OAuth client id.
    pub client_id: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<AppRecord> for App {
    fn from(a: AppRecord) -> Self {
        Self {
            id: a.id,
            mas_id: a.mas_id,
            name: a.name,
            app_type: a.app_type.into(),
            base_url: a.base_url,
            allowed_tools: a.allowed_tools,
            tools: a.tools.into_iter().map(Into::into).collect(),
            client_id: a.client_id,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// An app with its client secret: shown this once, never again.
#[derive(Debug, Clone, Object)]
pub struct AppCredentials {
    #[oai(flatten)]
    pub app: App,
    pub client_secret: String,
}

impl From<AppWithSecret> for AppCredentials {
    fn from(a: AppWithSecret) -> Self {
        Self { app: a.app.into(), client_secret: a.client_secret }
    }
}

#[derive(Debug, Object)]
pub struct AppPage {
    pub items: Vec<App>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

#[derive(ApiResponse)]
pub enum CreatedApp {
    #[oai(status = 201)]
    Created(Json<AppCredentials>),
}

#[derive(Default)]
pub struct AppsApi;

#[OpenApi(tag = "ApiTags::Apps")]
impl AppsApi {
    /// Register an app; the answer carries its client secret, shown this once.
    #[oai(path = "/apps", method = "post", operation_id = "createApp")]
    async fn create(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        body: JsonBody<CreateApp>,
    ) -> Result<CreatedApp, ApiError> {
        let b = body.0;
        let input = model::NewApp {
            mas_id: b.mas_id,
            name: b.name,
            app_type: b.app_type.into(),
            base_url: b.base_url,
            allowed_tools: b.allowed_tools.unwrap_or_default(),
            tools: b.tools.unwrap_or_default().into_iter().map(Into::into).collect(),
        };
        let created = state.node.create_app(input).await?;
        Ok(CreatedApp::Created(Json(created.into())))
    }

    /// List apps, oldest first, optionally of one MAS.
    #[oai(path = "/apps", method = "get", operation_id = "listApps")]
    async fn list(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        mas_id: Query<Option<Uuid>>,
        /// 1-based page number (default 1).
        page: Query<Option<u32>>,
        /// Items per page, 1 to 100 (default 20).
        page_size: Query<Option<u32>>,
    ) -> Result<Json<AppPage>, ApiError> {
        let req = casa_actors::validate::page(page.0, page_size.0)?;
        let found = state.node.list_apps(mas_id.0, req).await?;
        Ok(Json(AppPage {
            items: found.items.into_iter().map(Into::into).collect(),
            total: found.total,
            page: found.page,
            page_size: found.page_size,
        }))
    }

    #[oai(path = "/apps/:id", method = "get", operation_id = "getApp")]
    async fn get(&self, _auth: AdminAuth, state: Data<&AppState>, id: Path<Uuid>) -> Result<Json<App>, ApiError> {
        Ok(Json(state.node.get_app(id.0).await?.into()))
    }

    #[oai(path = "/apps/:id", method = "patch", operation_id = "updateApp")]
    async fn update(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        body: JsonBody<UpdateApp>,
    ) -> Result<Json<App>, ApiError> {
        let b = body.0;
        let patch = model::AppPatch {
            name: b.name,
            base_url: b.base_url,
            allowed_tools: b.allowed_tools,
            tools: b.tools.map(|t| t.into_iter().map(Into::into).collect()),
        };
        Ok(Json(state.node.update_app(id.0, patch).await?.into()))
    }

    #[oai(path = "/apps/:id", method = "delete", operation_id = "deleteApp")]
    async fn delete(&self, _auth: AdminAuth, state: Data<&AppState>, id: Path<Uuid>) -> Result<Deleted, ApiError> {
        state.node.delete_app(id.0).await?;
        Ok(Deleted::NoContent)
    }

    /// Replace the app's client secret; the old one stops working at once.
    #[oai(path = "/apps/:id/secret/rotate", method = "post", operation_id = "rotateAppSecret")]
    async fn rotate_secret(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> Result<Json<AppCredentials>, ApiError> {
        Ok(Json(state.node.rotate_secret(id.0).await?.into()))
    }
}
