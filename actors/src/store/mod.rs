//! Persistence. One [`Store`] trait, one implementation per backend, and one
//! conformance suite (`crate::testsuite`) that every implementation must pass unchanged.
//!
//! Writes are durable when the call returns: callers acknowledge a request
//! only after the store has it.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::{AppRecord, MasRecord, Page, PageRequest};
use crate::realm::RealmKey;
use crate::revocation::Revocation;
use crate::session::{LlmCall, UserInput};
use crate::trace::TraceEvent;

pub mod embedded;
mod group_commit;
pub mod scylla;
pub mod sealing;
mod trace_file;

pub use self::scylla::ScyllaStore;
pub use embedded::EmbeddedStore;
pub use sealing::{KeySeal, KeyWrap, LocalKek};

/// The schema this binary writes. A store written by a newer binary is refused.
/// 2: the embedded store keeps its trail in `traces.redb` (schema-1 data dirs
/// are moved on open); the CQL schema is unchanged.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store at {path} was written by a newer casa (schema {found}); this binary supports schema {supported} at most")]
    SchemaTooNew { path: String, found: u32, supported: u32 },
    #[error("{path} is in use by another casa process")]
    Locked { path: String },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("store unavailable: {0}")]
    Unavailable(#[source] crate::error::Cause),
    #[error("store error: {0}")]
    Backend(String),
}

impl From<StoreError> for crate::CoreError {
    fn from(err: StoreError) -> Self {
        // A store that does not answer passes; corrupt or refused data does not.
        let cause = crate::error::Cause::of(&err);
        match err {
            StoreError::Unavailable(_) => Self::Unavailable(cause),
            _ => Self::Internal(cause),
        }
    }
}

/// What runs once a write is durable (or failed): see [`Store::put_user_input_then`].
pub type WriteDone = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip, for readiness probes.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Stores a new MAS together with its first realm key, atomically.
    async fn create_mas(&self, mas: &MasRecord, key: &RealmKey) -> Result<(), StoreError>;
    async fn update_mas(&self, mas: &MasRecord) -> Result<(), StoreError>;
    async fn get_mas(&self, id: Uuid) -> Result<Option<MasRecord>, StoreError>;
    /// Oldest first; `name_contains` matches case-insensitively.
    async fn list_mas(&self, name_contains: Option<&str>, page: PageRequest) -> Result<Page<MasRecord>, StoreError>;
    /// Removes the MAS with everything it owns (apps, keys, sessions,
    /// revocations); `false` when there was none.
    async fn delete_mas(&self, id: Uuid) -> Result<bool, StoreError>;

    /// Inserts or replaces the given keys of a realm.
    async fn put_keys(&self, mas_id: Uuid, keys: &[RealmKey]) -> Result<(), StoreError>;
    async fn realm_keys(&self, mas_id: Uuid) -> Result<Vec<RealmKey>, StoreError>;

    /// Inserts or replaces an app.
    async fn put_app(&self, app: &AppRecord) -> Result<(), StoreError>;
    async fn get_app(&self, id: Uuid) -> Result<Option<AppRecord>, StoreError>;
    /// Oldest first, optionally only one MAS's.
    async fn list_apps(&self, mas_id: Option<Uuid>, page: PageRequest) -> Result<Page<AppRecord>, StoreError>;
    /// All apps of one MAS, oldest first.
    async fn apps_of_mas(&self, mas_id: Uuid) -> Result<Vec<AppRecord>, StoreError>;
    async fn delete_app(&self, id: Uuid) -> Result<bool, StoreError>;

    /// Stores a session's user input.
    async fn put_user_input(&self, input: &UserInput) -> Result<(), StoreError>;
    /// Stores a user input, then hands the outcome to `then`, on whichever
    /// thread finished the write: an issuance waiting on its input's fsync
    /// is answered from there, without a task of its own to wake first.
    fn put_user_input_then(self: Arc<Self>, input: UserInput, then: WriteDone) {
        tokio::spawn(async move { then(self.put_user_input(&input).await) });
    }
    /// A user input of one MAS; another MAS's id is absent.
    async fn get_user_input(&self, mas_id: Uuid, id: Uuid) -> Result<Option<UserInput>, StoreError>;
    /// The MAS a user input belongs to (for admin lookups by id alone).
    async fn user_input_mas(&self, id: Uuid) -> Result<Option<Uuid>, StoreError>;
    /// Records an LLM call of a session; the same `call_id` again replaces it.
    async fn put_llm_call(&self, mas_id: Uuid, user_input_id: Uuid, call: &LlmCall) -> Result<(), StoreError>;
    async fn llm_calls(&self, mas_id: Uuid, user_input_id: Uuid) -> Result<Vec<LlmCall>, StoreError>;

    /// Inserts or replaces a revocation rule of a MAS (keyed by its target).
    async fn put_revocation(&self, mas_id: Uuid, rule: &Revocation) -> Result<(), StoreError>;
    async fn revocations(&self, mas_id: Uuid) -> Result<Vec<Revocation>, StoreError>;

    /// Appends chained events and moves each MAS's chain head, atomically.
    /// Events outlive their MAS: they are the audit trail.
    async fn append_traces(&self, events: &[TraceEvent]) -> Result<(), StoreError>;
    /// [`Self::append_traces`] of a batch the caller shares (the trace writer
    /// keeps it until it is written): a store that writes on a thread of its
    /// own takes it without copying every event, and one that stores events
    /// as their JSON takes the encodings made when they were linked.
    async fn append_trace_batch(&self, batch: Arc<LinkedBatch>) -> Result<(), StoreError> {
        self.append_traces(&batch.events).await
    }
    /// The hash of the newest event of a chain, by its key: a MAS's id for its
    /// lone-node chain, else [`crate::trace::chain_key`] of the MAS and segment.
    async fn trace_head(&self, chain_key: Uuid) -> Result<Option<String>, StoreError>;
    /// Events newest first, older than the event `before` (a cursor), at most
    /// `limit`, all MAS's or one.
    async fn traces(
        &self,
        mas_id: Option<Uuid>,
        before: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<TraceEvent>, StoreError>;
    /// Deletes events that happened (by their UUIDv7 id) before `cutoff`,
    /// with their index entries, oldest first and at most `limit` in one write;
    /// returns how many. Chain heads stay: the chain goes on from them. A store
    /// that expires events by itself (CQL, by TTL) deletes nothing here.
    async fn purge_traces(&self, cutoff: OffsetDateTime, limit: usize) -> Result<usize, StoreError>;
    /// Deletes the sessions (user inputs, by their UUIDv7 id, with their LLM
    /// calls) begun before `cutoff`, at most `limit` in one write; returns how
    /// many. A store that expires rows by itself (CQL, by TTL) deletes nothing.
    async fn purge_sessions(&self, cutoff: OffsetDateTime, limit: usize) -> Result<usize, StoreError>;
    /// Deletes the revocation rules that expired before `now` (Unix seconds);
    /// returns how many. A CQL store expires them by TTL and deletes nothing.
    async fn purge_revocations(&self, now: i64) -> Result<usize, StoreError>;
    /// A session's events, oldest first.
    async fn session_traces(&self, user_input_id: &str) -> Result<Vec<TraceEvent>, StoreError>;
    /// The events of a token, oldest first: those naming it as `jti` (its
    /// issuance, introspections, revocation) or as `parent` (exchanges from it).
    async fn token_traces(&self, jti: &str) -> Result<Vec<TraceEvent>, StoreError>;

    /// How many writes of MAS, apps, realm keys or revocations this process
    /// has committed, when those are every such write (a store no other
    /// process writes): a reader of those tables that kept the count it saw
    /// knows without reading again whether anything changed since. `None` for
    /// a store other nodes write too.
    fn local_changes(&self) -> Option<u64> {
        None
    }

    /// Node-level settings, such as the admin token digest.
    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn put_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;
}

/// Linked trace events and each one's stored encoding (its JSON,
/// [`TraceEvent::link`]): made once, for the chain hash and the store.
pub struct LinkedBatch {
    pub events: Vec<TraceEvent>,
    /// `encoded[i]` is `events[i]` as JSON.
    pub encoded: Vec<Vec<u8>>,
}

impl LinkedBatch {
    /// A batch of events linked earlier, encoded now.
    pub fn encode(events: Vec<TraceEvent>) -> Result<Self, StoreError> {
        let encoded = events.iter().map(encode).collect::<Result<_, _>>()?;
        Ok(Self { events, encoded })
    }
}

pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Backend(format!("encoding: {e}")))
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}
