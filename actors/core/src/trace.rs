//! Trace events: one per decision. Decisions hand them to a [`TraceSink`]
//! without waiting; the trace pipeline stores and serves them. An event
//! never holds a raw token, only its `jti` and SHA-256 digest.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::oauth::Denial;
use crate::revocation::RevocationTarget;
pub use crate::wire_event::WireDetail;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub tool: String,
    pub check: String,
    pub passed: bool,
    pub reason: Option<String>,
    pub score: Option<f64>,
    pub detail: Option<String>,
    /// False for a check in shadow mode: recorded, never denying.
    pub enforced: bool,
    /// The digest of the tool's definition the decision was made on.
    pub tool_digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    TokenIssued {
        tools: Vec<String>,
    },
    ExchangeAllowed {
        tools: Vec<String>,
        audience: String,
        checks: Vec<CheckResult>,
    },
    ExchangeDenied {
        requested: Vec<String>,
        denials: Vec<Denial>,
        checks: Vec<CheckResult>,
    },
    /// An exchange refused before any tool was looked at (bad client, bad subject token).
    ExchangeRejected {
        error: String,
        description: String,
    },
    Introspection {
        active: bool,
    },
    Revocation {
        targets: Vec<RevocationTarget>,
        /// The tokens exchanged from a revoked token, as far as the trail
        /// knew them when it was revoked (all of them are revoked regardless).
        #[serde(default)]
        reached: Vec<String>,
    },
    LlmCall {
        call_id: String,
        selected_tools: Vec<String>,
    },
    /// The realm's signing key changed.
    KeyRotated {
        kid: String,
        retired_kid: String,
    },
    /// A management change (audit): what was done to what, never a secret.
    AdminChange {
        action: String,
        target: String,
        changes: Option<serde_json::Value>,
    },
    // What the eBPF collector saw on the wire, judged (see `collector`).
    WireTokenSeen(WireDetail),
    WireTokenUnverifiable(WireDetail),
    WireTokenExpired(WireDetail),
    WireTokenRevoked(WireDetail),
    WireAudienceMismatch(WireDetail),
    WireTokenPassthrough(WireDetail),
    WireToolNotInToken(WireDetail),
    WireUnauthenticatedToolCall(WireDetail),
    WireTokenReplayedElsewhere(WireDetail),
    WireTokenExfiltration(WireDetail),
    WireTokenInQuery(WireDetail),
    WireInvalidTokenAccepted(WireDetail),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceEvent {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub mas_id: Uuid,
    pub user_input_id: Option<String>,
    /// The apps involved: the client and, for exchanges, the actor and audience.
    pub app_ids: Vec<String>,
    pub jti: Option<String>,
    pub parent: Option<String>,
    pub token_digest: Option<String>,
    pub latency_us: u64,
    #[serde(flatten)]
    pub kind: EventKind,
    /// The hash of the MAS's previous event (the chain `casa audit verify` checks).
    #[serde(default)]
    pub prev_hash: Option<String>,
    /// SHA-256 over `prev_hash` and this event without its hashes.
    #[serde(default)]
    pub hash: Option<String>,
    /// In a cluster, the chain segment of the process that wrote it (node name
    /// and start): each writer extends only its own segment of a MAS's trace,
    /// so writers never race on a chain head when a MAS moves between nodes.
    /// None on a lone node: one chain per MAS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
}

/// The key of a chain's head: the MAS's id for its lone-node chain, else
/// derived from the MAS and the segment.
pub fn chain_key(mas_id: Uuid, chain: Option<&str>) -> Uuid {
    let Some(chain) = chain else { return mas_id };
    let digest = Sha256::new().chain_update(mas_id.as_bytes()).chain_update(chain.as_bytes()).finalize();
    uuid::Builder::from_random_bytes(digest[..16].try_into().expect("16 bytes")).into_uuid()
}

impl TraceEvent {
    /// This event's link in its MAS's hash chain.
    pub fn chain_hash(&self, prev: Option<&str>) -> String {
        if self.prev_hash.is_none() && self.hash.is_none() {
            // A new event, not linked yet: no copy needed.
            return Self::hash_over(prev, &serde_json::to_vec(self).expect("events encode"));
        }
        let mut bare = self.clone();
        bare.prev_hash = None;
        bare.hash = None;
        Self::hash_over(prev, &serde_json::to_vec(&bare).expect("events encode"))
    }

    /// Links this event after `prev` (replacing any earlier link) and returns
    /// its stored encoding: the JSON its hash covers, with both hashes filled
    /// in. One serialization serves the hash and the store; equal to
    /// `serde_json::to_vec` of the linked event.
    pub fn link(&mut self, prev: Option<String>) -> Vec<u8> {
        (self.prev_hash, self.hash) = (None, None);
        let bare = serde_json::to_vec(self).expect("events encode");
        let hash = Self::hash_over(prev.as_deref(), &bare);
        // The unset hashes serialize as this run, the last top-level fields
        // but `chain`. Inside a string value every quote is escaped, so no
        // value can contain it: its last occurrence is the slot.
        const SLOT: &[u8] = br#","prev_hash":null,"hash":null"#;
        let at = bare.windows(SLOT.len()).rposition(|w| w == SLOT).expect("an unlinked event has empty hash slots");
        let mut encoded = Vec::with_capacity(bare.len() + 2 * 64 + 4);
        encoded.extend_from_slice(&bare[..at]);
        encoded.extend_from_slice(br#","prev_hash":"#);
        serde_json::to_writer(&mut encoded, &prev).expect("a hash encodes");
        encoded.extend_from_slice(br#","hash":""#);
        encoded.extend_from_slice(hash.as_bytes()); // hex: nothing to escape
        encoded.push(b'"');
        encoded.extend_from_slice(&bare[at + SLOT.len()..]);
        (self.prev_hash, self.hash) = (prev, Some(hash));
        encoded
    }

    fn hash_over(prev: Option<&str>, bare: &[u8]) -> String {
        let mut h = Sha256::new();
        h.update(prev.unwrap_or("").as_bytes());
        h.update([0]);
        h.update(bare);
        hex::encode(h.finalize())
    }

    /// Whether the decision was an allow or a deny, for filtering.
    pub fn decision(&self) -> Option<&'static str> {
        match &self.kind {
            EventKind::TokenIssued { .. } | EventKind::ExchangeAllowed { .. } => Some("allowed"),
            EventKind::ExchangeDenied { .. } | EventKind::ExchangeRejected { .. } => Some("denied"),
            _ => None,
        }
    }

    /// Every event type, as `type_name` spells it (the `event_type` filters accept these).
    pub const TYPE_NAMES: &'static [&'static str] = &[
        "token_issued",
        "exchange_allowed",
        "exchange_denied",
        "exchange_rejected",
        "introspection",
        "revocation",
        "llm_call",
        "key_rotated",
        "admin_change",
        "wire_token_seen",
        "wire_token_unverifiable",
        "wire_token_expired",
        "wire_token_revoked",
        "wire_audience_mismatch",
        "wire_token_passthrough",
        "wire_tool_not_in_token",
        "wire_unauthenticated_tool_call",
        "wire_token_replayed_elsewhere",
        "wire_token_exfiltration",
        "wire_token_in_query",
        "wire_invalid_token_accepted",
    ];

    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            EventKind::TokenIssued { .. } => "token_issued",
            EventKind::ExchangeAllowed { .. } => "exchange_allowed",
            EventKind::ExchangeDenied { .. } => "exchange_denied",
            EventKind::ExchangeRejected { .. } => "exchange_rejected",
            EventKind::Introspection { .. } => "introspection",
            EventKind::Revocation { .. } => "revocation",
            EventKind::LlmCall { .. } => "llm_call",
            EventKind::KeyRotated { .. } => "key_rotated",
            EventKind::AdminChange { .. } => "admin_change",
            EventKind::WireTokenSeen(_) => "wire_token_seen",
            EventKind::WireTokenUnverifiable(_) => "wire_token_unverifiable",
            EventKind::WireTokenExpired(_) => "wire_token_expired",
            EventKind::WireTokenRevoked(_) => "wire_token_revoked",
            EventKind::WireAudienceMismatch(_) => "wire_audience_mismatch",
            EventKind::WireTokenPassthrough(_) => "wire_token_passthrough",
            EventKind::WireToolNotInToken(_) => "wire_tool_not_in_token",
            EventKind::WireUnauthenticatedToolCall(_) => "wire_unauthenticated_tool_call",
            EventKind::WireTokenReplayedElsewhere(_) => "wire_token_replayed_elsewhere",
            EventKind::WireTokenExfiltration(_) => "wire_token_exfiltration",
            EventKind::WireTokenInQuery(_) => "wire_token_in_query",
            EventKind::WireInvalidTokenAccepted(_) => "wire_invalid_token_accepted",
        }
    }

    pub fn new(mas_id: Uuid, kind: EventKind) -> Self {
        Self {
            id: Uuid::now_v7(),
            at: OffsetDateTime::now_utc(),
            mas_id,
            user_input_id: None,
            app_ids: Vec::new(),
            jti: None,
            parent: None,
            token_digest: None,
            latency_us: 0,
            kind,
            prev_hash: None,
            hash: None,
            chain: None,
        }
    }

    /// The key of the chain head this event moves.
    pub fn chain_key(&self) -> Uuid {
        chain_key(self.mas_id, self.chain.as_deref())
    }
}

/// Where events go. `record` must not block: a decision never waits on tracing.
pub trait TraceSink: Send + Sync + 'static {
    fn record(&self, event: TraceEvent);
}

/// Until the trace store exists: events become debug logs and counters.
pub struct LogSink;

impl TraceSink for LogSink {
    fn record(&self, event: TraceEvent) {
        let kind = event.type_name();
        metrics::counter!(crate::telemetry::TRACE_EVENTS.name, "type" => kind).increment(1);
        tracing::debug!(target: "casa::trace", event = %serde_json::to_string(&event).unwrap_or_default(), "trace event");
    }
}

/// Keeps events in memory: for tests and embedding.
#[derive(Default)]
pub struct MemorySink {
    events: std::sync::Mutex<Vec<TraceEvent>>,
}

impl MemorySink {
    pub fn events(&self) -> Vec<TraceEvent> {
        self.events.lock().expect("trace sink poisoned").clone()
    }
}

impl TraceSink for MemorySink {
    fn record(&self, event: TraceEvent) {
        self.events.lock().expect("trace sink poisoned").push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<EventKind> {
        vec![
            EventKind::TokenIssued { tools: vec![] },
            EventKind::ExchangeAllowed { tools: vec![], audience: String::new(), checks: vec![] },
            EventKind::ExchangeDenied { requested: vec![], denials: vec![], checks: vec![] },
            EventKind::ExchangeRejected { error: String::new(), description: String::new() },
            EventKind::Introspection { active: true },
            EventKind::Revocation { targets: vec![], reached: vec![] },
            EventKind::LlmCall { call_id: String::new(), selected_tools: vec![] },
            EventKind::KeyRotated { kid: String::new(), retired_kid: String::new() },
            EventKind::AdminChange { action: String::new(), target: String::new(), changes: None },
            EventKind::WireTokenSeen(WireDetail::default()),
            EventKind::WireTokenUnverifiable(WireDetail::default()),
            EventKind::WireTokenExpired(WireDetail::default()),
            EventKind::WireTokenRevoked(WireDetail::default()),
            EventKind::WireAudienceMismatch(WireDetail::default()),
            EventKind::WireTokenPassthrough(WireDetail::default()),
            EventKind::WireToolNotInToken(WireDetail::default()),
            EventKind::WireUnauthenticatedToolCall(WireDetail::default()),
            EventKind::WireTokenReplayedElsewhere(WireDetail::default()),
            EventKind::WireTokenExfiltration(WireDetail::default()),
            EventKind::WireTokenInQuery(WireDetail::default()),
            EventKind::WireInvalidTokenAccepted(WireDetail::default()),
        ]
    }

    #[test]
    fn linking_encodes_once_what_the_store_and_the_chain_hash_see() {
        // Hostile text where the hashes' slot is looked for: escaped, never matched.
        let slot = r#","prev_hash":null,"hash":null"#;
        let mut prev = None;
        for (i, mut kind) in every_kind().into_iter().enumerate() {
            if let EventKind::ExchangeRejected { description, .. } = &mut kind {
                *description = format!("{slot}}}");
            }
            let mut e = TraceEvent::new(Uuid::now_v7(), kind);
            e.user_input_id = Some(slot.into());
            e.chain = (i % 2 == 1).then(|| format!("node-a{slot}"));
            e.link(Some("a link made before".into()));
            let encoded = e.link(prev.clone());
            assert_eq!(e.prev_hash, prev, "{}: linked again, the new link holds", e.type_name());
            assert_eq!(String::from_utf8(encoded).unwrap(), serde_json::to_string(&e).unwrap(), "{}", e.type_name());
            assert_eq!(e.hash.as_deref(), Some(e.chain_hash(prev.as_deref()).as_str()), "{}", e.type_name());
            prev = e.hash.clone();
        }
    }

    #[test]
    fn type_names_are_the_serialized_tags() {
        let kinds = every_kind();
        assert_eq!(kinds.len(), TraceEvent::TYPE_NAMES.len(), "every type is listed once");
        for kind in kinds {
            let e = TraceEvent::new(Uuid::nil(), kind);
            assert!(TraceEvent::TYPE_NAMES.contains(&e.type_name()), "{} is listed", e.type_name());
            assert_eq!(serde_json::to_value(&e).unwrap()["type"], e.type_name());
            let back: TraceEvent = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
            assert_eq!(back, e, "{} round-trips", e.type_name());
        }
    }

    #[test]
    fn a_changed_event_no_longer_matches_its_hash() {
        let mut e = TraceEvent::new(Uuid::nil(), EventKind::Introspection { active: true });
        let h = e.chain_hash(Some("prev"));
        assert_eq!(e.chain_hash(Some("prev")), h);
        assert_ne!(e.chain_hash(Some("other")), h);
        e.kind = EventKind::Introspection { active: false };
        assert_ne!(e.chain_hash(Some("prev")), h);
    }
}
