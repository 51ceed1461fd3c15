//! The OAuth side of a realm: requests, answers and errors of the token,
//! exchange, introspection and revocation endpoints, free of HTTP.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::revocation::RevocationTarget;
use crate::token::Act;

pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const TOKEN_TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The scope of every exchanged token.
pub const EXCHANGED_SCOPE: &str = "call-tools";

/// Client authentication (`client_secret_basic` or `client_secret_post`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// One tool refused by an exchange, and why. `reason` codes are stable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denial {
    pub tool: String,
    /// The check or decision step that refused it.
    pub check: String,
    pub reason: String,
    pub detail: Option<String>,
}

/// RFC 6749 / 7009 / 8693 / 8707 errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    #[error("invalid_target: {0}")]
    InvalidTarget(String),
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    /// A bearer token presented to a resource of casa is not valid (RFC 6750).
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    #[error("access_denied: {description}")]
    AccessDenied { description: String, denials: Vec<Denial> },
    /// The app started new sessions faster than its MAS allows (a 429 with
    /// `Retry-After`; RFC 6749 has no code for it, so the code is casa's own).
    #[error("quota_exceeded: {description}")]
    QuotaExceeded { description: String, retry_after_seconds: u32 },
}

impl OAuthError {
    /// The RFC error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InvalidTarget(_) => "invalid_target",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::InvalidToken(_) => "invalid_token",
            Self::AccessDenied { .. } => "access_denied",
            Self::QuotaExceeded { .. } => "quota_exceeded",
        }
    }

    pub fn description(&self) -> String {
        match self {
            Self::InvalidClient => "client authentication failed".into(),
            Self::AccessDenied { description, .. } | Self::QuotaExceeded { description, .. } => description.clone(),
            Self::InvalidRequest(d)
            | Self::InvalidGrant(d)
            | Self::InvalidScope(d)
            | Self::InvalidTarget(d)
            | Self::UnsupportedGrantType(d)
            | Self::UnauthorizedClient(d)
            | Self::InvalidToken(d) => d.clone(),
        }
    }
}

/// `POST /oauth/token`, client credentials.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssueRequest {
    pub client: ClientCredentials,
    /// A new prompt (text or JSON turns) ...
    pub user_input: Option<String>,
    /// ... or an existing session of this MAS.
    pub user_input_id: Option<String>,
    /// Subset of the app's allowed tools; `None` = all of them.
    pub tools: Option<Vec<String>>,
    /// The task and intent of a new `user_input`, derived before the call.
    pub intent: Option<SessionIntent>,
}

/// What a session asked for, as stored with its user input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionIntent {
    pub task: String,
    pub embedding: Option<crate::embedding::Embedding>,
    /// The task's words, derived once on first need (every exchange of the
    /// session reads them; the task can be 64 KiB).
    #[serde(skip)]
    words: std::sync::OnceLock<crate::lexical::Words>,
}

impl SessionIntent {
    pub fn new(task: String, embedding: Option<crate::embedding::Embedding>) -> Self {
        Self { task, embedding, words: Default::default() }
    }

    pub fn words(&self) -> &crate::lexical::Words {
        self.words.get_or_init(|| crate::lexical::Words::of(&self.task))
    }
}

/// Who is exchanging: an app of this MAS (with credentials to check), or an
/// app already authenticated by another MAS.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ExchangeActor {
    Local(ClientCredentials),
    Foreign { client_id: String, mas_id: Uuid },
}

/// `POST /oauth/token/exchange`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExchangeRequest {
    pub actor: ExchangeActor,
    pub subject_token: String,
    pub actor_token: Option<String>,
    pub tools: Vec<String>,
    /// RFC 8707 `resource` / `audience`: the tool server's app id or base URL.
    pub audience: Option<String>,
    /// The LLM judge's verdicts, once the realm asked for them.
    pub judgements: Option<Vec<ToolJudgement>>,
    /// The embeddings the realm asked for ([`ExchangeOutcome::NeedsEmbeddings`]).
    pub embeddings: Option<SuppliedEmbeddings>,
}

/// What the semantic check lacks before it can rank: the session's intent
/// (a MAS that turned the check on after the session began) and tools
/// registered without an embedding of this node's model. The node computes
/// them outside the MAS actor and asks again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    /// The session whose intent is missing.
    pub user_input_id: Option<Uuid>,
    pub tools: Vec<ToolToEmbed>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolToEmbed {
    pub name: String,
    /// `tool_digest` of the definition the text was made from.
    pub digest: String,
    pub text: String,
}

/// The answer to an [`EmbeddingRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuppliedEmbeddings {
    /// The session's task and intent, for `user_input_id`.
    pub intent: Option<(Uuid, SessionIntent)>,
    /// Each tool's embedding, by name and the digest of its definition.
    pub tools: Vec<(ToolToEmbed, crate::embedding::Embedding)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolJudgement {
    pub tool: String,
    pub verdict: Result<crate::intent::Judgement, crate::intent::AiError>,
}

/// What the judge is asked: the session's task and the tools still in play.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeRequest {
    pub task: String,
    /// Verdicts are cached per (intent digest, tool digest).
    pub intent_digest: String,
    pub tools: Vec<JudgeTool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeTool {
    pub name: String,
    pub description: String,
    pub digest: String,
}

/// An exchange either decides, or first needs the LLM judge's verdicts
/// (asked outside the MAS actor, so a slow LLM never blocks its mailbox).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ExchangeOutcome {
    Issued(IssuedToken),
    NeedsJudgement(JudgeRequest),
    NeedsEmbeddings(EmbeddingRequest),
}

/// An issuance either decides, or first needs the new user input's task and
/// intent: only a MAS whose checks read them asks, so no other MAS costs model time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum IssueOutcome {
    Issued(IssuedToken),
    /// `embed`: the MAS runs `SEMANTIC_INTENT_MATCH` (enforced or shadowed).
    NeedsIntent {
        embed: bool,
    },
}

/// A token handed out by `/oauth/token` or an exchange.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: i64,
    pub scope: String,
    pub tools: Vec<String>,
    pub user_input_id: String,
    pub jti: String,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken").field("jti", &self.jti).field("tools", &self.tools).finish_non_exhaustive()
    }
}

/// Who asks `/oauth/introspect`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Introspector {
    Admin,
    App(ClientCredentials),
    /// An app of another MAS: it learns nothing.
    Foreign,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntrospectRequest {
    pub caller: Introspector,
    pub token: String,
    /// Active only if every one of these is in the token's `tools`.
    pub tools: Option<Vec<String>>,
}

/// RFC 7662 answer; everything but `active` is absent for an inactive token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Introspection {
    pub active: bool,
    pub sub: Option<String>,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub tools: Option<Vec<String>>,
    pub act: Option<Act>,
    pub aud: Option<String>,
    pub iss: Option<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub jti: Option<String>,
    pub uiid: Option<String>,
    pub mas_id: Option<String>,
    pub parent: Option<String>,
}

/// `POST /oauth/revoke` (RFC 7009).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevokeRequest {
    pub client: ClientCredentials,
    pub token: String,
}

/// `POST /mas/{id}/revoke`: everything matching any of these.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AdminRevokeRequest {
    pub jti: Option<String>,
    pub user_input_id: Option<String>,
    pub app_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminRevoked {
    pub revoked: Vec<RevocationTarget>,
}

/// `POST /trace/llm`: evidence of an LLM call of a session, from an app the
/// MAS designated for it (`llm_evidence_apps`), authenticated.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LlmCallReport {
    pub client: ClientCredentials,
    pub user_input_id: String,
    pub call_id: String,
    pub selected_tools: Vec<String>,
    pub model: Option<String>,
    pub prompt_digest: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LlmCallRecorded {
    pub call_id: String,
    pub user_input_id: String,
    pub selected_tools: Vec<String>,
}
