//! The records a MAS owns, and the inputs that create or change them.
//!
//! Inputs (`New*`, `*Patch`) are what a caller asks for; records are what is
//! stored. [`crate::validate`] turns the one into the other.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub const DEFAULT_TOKEN_TTL_SECONDS: u32 = 300;
pub const DEFAULT_EXCHANGED_TOKEN_TTL_SECONDS: u32 = 60;
pub const DEFAULT_MAX_DELEGATION_DEPTH: u32 = 4;
pub const DEFAULT_SEMANTIC_THRESHOLD: f64 = 0.18;
/// New sessions one app may start per second in one MAS: above what one app
/// of the load test issues on a 2-core node (about 12,000/s), so it bounds a
/// runaway or hostile app without throttling a busy honest one.
pub const DEFAULT_SESSIONS_PER_APP_PER_SECOND: u32 = 20_000;

/// The checks an exchange can run. The names are part of the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CheckName {
    DeterministicToolSelected,
    DeterministicLlmSelectedTools,
    SemanticIntentMatch,
    AiPoweredToolMatch,
}

impl CheckName {
    pub const ALL: [CheckName; 4] = [
        Self::DeterministicToolSelected,
        Self::DeterministicLlmSelectedTools,
        Self::SemanticIntentMatch,
        Self::AiPoweredToolMatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeterministicToolSelected => "DETERMINISTIC_TOOL_SELECTED",
            Self::DeterministicLlmSelectedTools => "DETERMINISTIC_LLM_SELECTED_TOOLS",
            Self::SemanticIntentMatch => "SEMANTIC_INTENT_MATCH",
            Self::AiPoweredToolMatch => "AI_POWERED_TOOL_MATCH",
        }
    }
}

/// What this node can run. Checks that need a missing capability are refused
/// when a MAS enables them, so a MAS never silently skips a check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub embedder: bool,
    pub llm_verifier: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SemanticSettings {
    /// Minimum cosine similarity between intent and tool.
    pub threshold: f64,
    /// When set, the tool must also rank within the top k of the MAS's tools.
    pub top_k: Option<u32>,
    /// Cut-off on the calibrated probability, when the node's embedder has a
    /// calibration (default: the calibration's own). `threshold` then does not apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_probability: Option<f64>,
}

impl Default for SemanticSettings {
    fn default() -> Self {
        Self { threshold: DEFAULT_SEMANTIC_THRESHOLD, top_k: None, min_probability: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MasSettings {
    pub name: String,
    pub description: Option<String>,
    pub enabled_checks: Vec<CheckName>,
    /// Checks evaluated and recorded, never enforced.
    #[serde(default)]
    pub shadow_checks: Vec<CheckName>,
    /// The apps whose reports of LLM calls (`/trace/llm`) are evidence for
    /// `DETERMINISTIC_LLM_SELECTED_TOOLS`; no one else's are taken.
    #[serde(default)]
    pub llm_evidence_apps: Vec<Uuid>,
    pub semantic: SemanticSettings,
    pub token_ttl_seconds: u32,
    pub exchanged_token_ttl_seconds: u32,
    pub max_delegation_depth: u32,
    /// New sessions (stored user inputs) one app may start per second; more
    /// are refused (429) until its quota refills.
    #[serde(default = "default_sessions_per_app_per_second")]
    pub sessions_per_app_per_second: u32,
}

fn default_sessions_per_app_per_second() -> u32 {
    DEFAULT_SESSIONS_PER_APP_PER_SECOND
}

impl MasSettings {
    /// Whether the MAS evaluates `check`, enforced or in shadow mode.
    pub fn runs(&self, check: CheckName) -> bool {
        self.enabled_checks.contains(&check) || self.shadow_checks.contains(&check)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MasRecord {
    pub id: Uuid,
    #[serde(flatten)]
    pub settings: MasSettings,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SemanticInput {
    pub threshold: Option<f64>,
    pub top_k: Option<u32>,
    #[serde(default)]
    pub min_probability: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewMas {
    pub name: String,
    pub description: Option<String>,
    pub enabled_checks: Option<Vec<CheckName>>,
    pub shadow_checks: Option<Vec<CheckName>>,
    #[serde(default)]
    pub llm_evidence_apps: Option<Vec<Uuid>>,
    pub semantic: Option<SemanticInput>,
    pub token_ttl_seconds: Option<u32>,
    pub exchanged_token_ttl_seconds: Option<u32>,
    pub max_delegation_depth: Option<u32>,
    #[serde(default)]
    pub sessions_per_app_per_second: Option<u32>,
}

/// A partial update: `None` keeps the current value. `semantic` replaces the
/// whole semantic block (missing members take their defaults).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MasPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled_checks: Option<Vec<CheckName>>,
    pub shadow_checks: Option<Vec<CheckName>>,
    #[serde(default)]
    pub llm_evidence_apps: Option<Vec<Uuid>>,
    pub semantic: Option<SemanticInput>,
    pub token_ttl_seconds: Option<u32>,
    pub exchanged_token_ttl_seconds: Option<u32>,
    pub max_delegation_depth: Option<u32>,
    #[serde(default)]
    pub sessions_per_app_per_second: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppType {
    Client,
    Agent,
    McpServer,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    pub input_schema: Option<serde_json::Value>,
    /// The embedding of `intent::tool_text(self)`, for the semantic check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<crate::embedding::Embedding>,
    /// The definition's digest when the tool was first registered: a later
    /// change of the definition shows against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_digest: Option<String>,
    /// The definitions this tool had before, oldest first (the first is the
    /// registered one once it changed): both sides of a drift diff.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<ToolVersion>,
}

/// A definition a tool had until `replaced_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolVersion {
    pub digest: String,
    pub description: String,
    pub input_schema: Option<serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub replaced_at: OffsetDateTime,
}

/// A tool keeps at most this many past definitions: the registered one and the newest others.
pub const MAX_TOOL_HISTORY: usize = 32;

impl ToolDef {
    /// Carries `before`'s history over to this (next) definition of the same
    /// tool, adding `before` itself when the definition changed.
    pub fn succeed(&mut self, before: &ToolDef, at: OffsetDateTime) {
        self.history = before.history.clone();
        let old = tool_digest(before);
        if old != tool_digest(self) {
            if self.history.len() >= MAX_TOOL_HISTORY {
                self.history.remove(1);
            }
            self.history.push(ToolVersion {
                digest: old,
                description: before.description.clone(),
                input_schema: before.input_schema.clone(),
                replaced_at: at,
            });
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppRecord {
    pub id: Uuid,
    pub mas_id: Uuid,
    pub name: String,
    pub app_type: AppType,
    pub base_url: Option<String>,
    pub allowed_tools: Vec<String>,
    pub tools: Vec<ToolDef>,
    /// The OAuth client id; globally unique, so it alone finds the MAS.
    pub client_id: String,
    /// SHA-256 of the client secret, hex. The secret itself is never stored.
    pub secret_digest: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewApp {
    pub mas_id: Uuid,
    pub name: String,
    pub app_type: AppType,
    pub base_url: Option<String>,
    pub allowed_tools: Vec<String>,
    pub tools: Vec<ToolDef>,
}

impl NewApp {
    /// An app of `mas_id` without a base URL.
    pub fn new(mas_id: Uuid, name: &str, app_type: AppType, allowed_tools: Vec<String>, tools: Vec<ToolDef>) -> Self {
        Self { mas_id, name: name.into(), app_type, base_url: None, allowed_tools, tools }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppPatch {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub allowed_tools: Option<Vec<String>>,
    pub tools: Option<Vec<ToolDef>>,
}

/// An app created or given a new secret: the only time the secret is visible.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct AppWithSecret {
    pub app: AppRecord,
    pub client_secret: String,
}

impl std::fmt::Debug for AppWithSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppWithSecret").field("app", &self.app).field("client_secret", &"<redacted>").finish()
    }
}

/// A tool of a MAS with the app that serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolEntry {
    pub tool: ToolDef,
    pub app_id: Uuid,
    pub app_name: String,
    /// The digest of the current definition.
    pub digest: String,
}

pub const MAX_PAGE_SIZE: u32 = 100;
pub const DEFAULT_PAGE_SIZE: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// 1-based.
    pub page: u32,
    pub page_size: u32,
}

impl PageRequest {
    pub fn offset(&self) -> usize {
        (self.page.saturating_sub(1) as usize) * self.page_size as usize
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

impl<T> Page<T> {
    /// Cuts one page out of an already filtered, ordered sequence.
    pub fn slice(all: impl IntoIterator<Item = T>, req: PageRequest) -> Self {
        let mut total = 0u64;
        let mut items = Vec::new();
        let start = req.offset();
        for (i, item) in all.into_iter().enumerate() {
            total += 1;
            if i >= start && items.len() < req.page_size as usize {
                items.push(item);
            }
        }
        Self { items, total, page: req.page, page_size: req.page_size }
    }
}

/// SHA-256 of a tool's definition (name, description, input schema), hex.
pub fn tool_digest(tool: &ToolDef) -> String {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::json!([tool.name, tool.description, tool.input_schema]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}
