//! The payload of the `wire_*` trace events: where a token was seen and what
//! it was, never the token (the event's `token_digest` holds its SHA-256).
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WireDetail {
    /// The node whose collector saw it.
    pub node: String,
    /// Who sent it: `cgroup <id>` with pid and comm when the kernel could
    /// tell, else the source address.
    pub sender: String,
    pub source: String,
    pub destination: String,
    /// The registered app at the destination (its client id), or `casa`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The request path, never its query (a query may hold a token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Sightings this event stands for (wire_token_seen aggregates a window).
    pub count: u64,
    /// Why: the unverifiable reason, the revocation rule kind, the finding a
    /// 2xx answered, the first sender of a replayed token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The JSON-RPC `tools/call` name, when the request carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The token's tools, audience and actor chain (newest first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<String>,
    /// The HTTP status that answered (wire_invalid_token_accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Part of the request was not seen; the verdict may rest on less.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}
