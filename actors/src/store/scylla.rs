//! The ScyllaDB store (any CQL server: tests run it against Apache Cassandra
//! 5), for nodes of a cluster to share state. Records are JSON blobs, as in
//! the embedded store; tables are shaped for their queries (no `ALLOW
//! FILTERING`); statements are prepared once; the schema is created at start.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::response::query_result::QueryResult;
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use time::OffsetDateTime;
use tokio::sync::RwLock;
use uuid::Uuid;

use super::sealing::KeySeal;
use super::{decode, encode, Store, StoreError, SCHEMA_VERSION};
use crate::model::{AppRecord, MasRecord, Page, PageRequest};
use crate::realm::RealmKey;
use crate::revocation::Revocation;
use crate::session::{LlmCall, UserInput};
use crate::trace::TraceEvent;

/// Trace rows written concurrently by one `append_traces`.
const WRITES_IN_FLIGHT: usize = 64;
/// Events read concurrently for one query through an index.
const READS_IN_FLIGHT: usize = 32;

/// Index partitions that list every MAS and app use one bucket.
const BUCKET: i32 = 0;

/// The day (since the Unix epoch) of an event, from its UUIDv7 id: the time
/// bucket of its partition.
fn day_of(id: Uuid) -> i32 {
    id.get_timestamp().map_or(0, |t| (t.to_unix().0 / 86_400) as i32)
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text)",
    "CREATE TABLE IF NOT EXISTS mas (id uuid PRIMARY KEY, body blob)",
    "CREATE TABLE IF NOT EXISTS mas_index (bucket int, id uuid, PRIMARY KEY (bucket, id))",
    "CREATE TABLE IF NOT EXISTS realm_keys (mas_id uuid, kid text, body blob, PRIMARY KEY (mas_id, kid))",
    "CREATE TABLE IF NOT EXISTS apps (id uuid PRIMARY KEY, mas_id uuid, body blob)",
    "CREATE TABLE IF NOT EXISTS apps_by_mas (mas_id uuid, id uuid, PRIMARY KEY (mas_id, id))",
    "CREATE TABLE IF NOT EXISTS apps_index (bucket int, id uuid, PRIMARY KEY (bucket, id))",
    "CREATE TABLE IF NOT EXISTS user_inputs (mas_id uuid, id uuid, body blob, PRIMARY KEY (mas_id, id))",
    "CREATE TABLE IF NOT EXISTS user_input_mas (id uuid PRIMARY KEY, mas_id uuid)",
    "CREATE TABLE IF NOT EXISTS llm_calls (mas_id uuid, uiid uuid, call_id text, body blob, PRIMARY KEY ((mas_id, uiid), call_id))",
    "CREATE TABLE IF NOT EXISTS revocations (mas_id uuid, key text, body blob, PRIMARY KEY (mas_id, key))",
    // Traces are partitioned by MAS and day; the days a MAS has events are listed.
    // Trace rows are written with a TTL (the trace retention); the day listings
    // outlive the events they list, the chain heads never expire.
    "CREATE TABLE IF NOT EXISTS traces (mas_id uuid, day int, id uuid, body blob, PRIMARY KEY ((mas_id, day), id)) WITH CLUSTERING ORDER BY (id DESC)",
    "CREATE TABLE IF NOT EXISTS trace_days (mas_id uuid, day int, PRIMARY KEY (mas_id, day)) WITH CLUSTERING ORDER BY (day DESC)",
    "CREATE TABLE IF NOT EXISTS trace_order (day int, id uuid, mas_id uuid, PRIMARY KEY (day, id)) WITH CLUSTERING ORDER BY (id DESC)",
    "CREATE TABLE IF NOT EXISTS trace_all_days (bucket int, day int, PRIMARY KEY (bucket, day)) WITH CLUSTERING ORDER BY (day DESC)",
    "CREATE TABLE IF NOT EXISTS trace_sessions (uiid text, id uuid, mas_id uuid, PRIMARY KEY (uiid, id))",
    "CREATE TABLE IF NOT EXISTS trace_heads (mas_id uuid PRIMARY KEY, hash text)",
    "CREATE TABLE IF NOT EXISTS trace_tokens (jti text, id uuid, mas_id uuid, PRIMARY KEY (jti, id))",
];

#[derive(Clone)]
pub struct ScyllaStore {
    session: Arc<Session>,
    prepared: Arc<RwLock<HashMap<&'static str, PreparedStatement>>>,
    /// How long trace rows live; `None`: forever.
    trace_ttl: Option<Duration>,
    /// Realm private keys are sealed with it before they reach the database.
    keys: KeySeal,
}

/// The TTL of an event's rows, in seconds: what is left of `retention` since the
/// event happened (its id's time), so that both stores expire an event at the
/// same moment. At least 1 (0 would mean "never" to CQL).
fn ttl_of(retention: Option<Duration>, id: Uuid) -> i32 {
    let Some(retention) = retention else { return 0 };
    let at = id.get_timestamp().map_or(0, |t| {
        let (s, n) = t.to_unix();
        s * 1000 + u64::from(n) / 1_000_000
    });
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let left = retention.saturating_sub(now.saturating_sub(Duration::from_millis(at)));
    left.as_millis().div_ceil(1000).clamp(1, i32::MAX as u128) as i32
}

fn unavailable(e: impl std::error::Error + 'static) -> StoreError {
    StoreError::Unavailable(crate::error::Cause::of(&e))
}

/// A row that does not decode is corrupt data, not an outage: retrying reads it again.
fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl ScyllaStore {
    /// Connects to `nodes` and uses `keyspace`, creating it (with
    /// `replication`, a CQL map) and the tables when `create` is set.
    pub async fn connect(
        nodes: &[String],
        keyspace: &str,
        replication: &str,
        create: bool,
    ) -> Result<Self, StoreError> {
        if keyspace.is_empty() || !keyspace.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Backend(format!("keyspace {keyspace:?}: letters, digits and _ only")));
        }
        let session = SessionBuilder::new().known_nodes(nodes).build().await.map_err(unavailable)?;
        if create {
            let cql = format!("CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {replication}");
            session.query_unpaged(cql, ()).await.map_err(unavailable)?;
        }
        session.use_keyspace(keyspace, false).await.map_err(unavailable)?;
        if create {
            for table in SCHEMA {
                session.query_unpaged(*table, ()).await.map_err(unavailable)?;
            }
            session.await_schema_agreement().await.map_err(unavailable)?;
        }
        let store =
            Self { session: Arc::new(session), prepared: Arc::default(), trace_ttl: None, keys: KeySeal::default() };
        store.check_schema_version().await?;
        Ok(store)
    }

    /// Realm keys written from now on are sealed with `keys` (and sealed ones need it to be read).
    pub fn with_key_seal(mut self, keys: KeySeal) -> Self {
        self.keys = keys;
        self
    }

    /// Trace rows written from now on expire after `retention` (`None`: never).
    pub fn with_trace_ttl(mut self, retention: Option<Duration>) -> Self {
        self.trace_ttl = retention;
        self
    }

    async fn check_schema_version(&self) -> Result<(), StoreError> {
        match self.get_meta("schema_version").await? {
            Some(v) => {
                let found: u32 = v.parse().map_err(|e| StoreError::Corrupt(format!("schema_version: {e}")))?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::SchemaTooNew {
                        path: "the keyspace".into(),
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
                Ok(())
            }
            None => self.put_meta("schema_version", &SCHEMA_VERSION.to_string()).await,
        }
    }

    async fn statement(&self, cql: &'static str) -> Result<PreparedStatement, StoreError> {
        if let Some(p) = self.prepared.read().await.get(cql) {
            return Ok(p.clone());
        }
        let p = self.session.prepare(cql).await.map_err(unavailable)?;
        self.prepared.write().await.insert(cql, p.clone());
        Ok(p)
    }

    async fn run(&self, cql: &'static str, values: impl SerializeRow) -> Result<QueryResult, StoreError> {
        let statement = self.statement(cql).await?;
        self.session.execute_unpaged(&statement, values).await.map_err(unavailable)
    }

    /// The rows of a query, typed.
    async fn rows<R>(&self, cql: &'static str, values: impl SerializeRow) -> Result<Vec<R>, StoreError>
    where
        R: for<'f> scylla::deserialize::row::DeserializeRow<'f, 'f>,
    {
        let result = self.run(cql, values).await?.into_rows_result().map_err(corrupt)?;
        let rows = result.rows::<R>().map_err(corrupt)?.collect::<Result<Vec<R>, _>>().map_err(corrupt)?;
        Ok(rows)
    }

    async fn blobs<T: serde::de::DeserializeOwned>(
        &self,
        cql: &'static str,
        values: impl SerializeRow,
    ) -> Result<Vec<T>, StoreError> {
        self.rows::<(Vec<u8>,)>(cql, values).await?.into_iter().map(|(b,)| decode(&b)).collect()
    }

    /// One event, by MAS and id (its day comes from the id).
    async fn trace(&self, mas_id: Uuid, id: Uuid) -> Result<Option<TraceEvent>, StoreError> {
        let cql = "SELECT body FROM traces WHERE mas_id = ? AND day = ? AND id = ?";
        Ok(self.blobs(cql, (mas_id, day_of(id), id)).await?.pop())
    }

    /// The events an index lists, in its order; read concurrently (one
    /// partition each), since a session's events are spread over its MAS's days.
    async fn traces_of(&self, index: Vec<(Uuid, Uuid)>) -> Result<Vec<TraceEvent>, StoreError> {
        use futures::{StreamExt, TryStreamExt};
        let reads = futures::stream::iter(index).map(|(id, m)| self.trace(m, id)).buffered(READS_IN_FLIGHT);
        Ok(reads.try_collect::<Vec<_>>().await?.into_iter().flatten().collect())
    }

    async fn mas_ids(&self) -> Result<Vec<Uuid>, StoreError> {
        Ok(self
            .rows::<(Uuid,)>("SELECT id FROM mas_index WHERE bucket = ?", (BUCKET,))
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect())
    }
}

#[async_trait]
impl Store for ScyllaStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.session.query_unpaged("SELECT release_version FROM system.local", ()).await.map_err(unavailable)?;
        Ok(())
    }

    async fn create_mas(&self, mas: &MasRecord, key: &RealmKey) -> Result<(), StoreError> {
        // The key first: a MAS row without its key would be a realm that cannot sign.
        self.put_keys(mas.id, std::slice::from_ref(key)).await?;
        self.update_mas(mas).await?;
        self.run("INSERT INTO mas_index (bucket, id) VALUES (?, ?)", (BUCKET, mas.id)).await?;
        Ok(())
    }

    async fn update_mas(&self, mas: &MasRecord) -> Result<(), StoreError> {
        self.run("INSERT INTO mas (id, body) VALUES (?, ?)", (mas.id, encode(mas)?)).await?;
        Ok(())
    }

    async fn get_mas(&self, id: Uuid) -> Result<Option<MasRecord>, StoreError> {
        Ok(self.blobs("SELECT body FROM mas WHERE id = ?", (id,)).await?.pop())
    }

    async fn list_mas(&self, name_contains: Option<&str>, page: PageRequest) -> Result<Page<MasRecord>, StoreError> {
        let needle = name_contains.map(str::to_lowercase);
        let ids = self.mas_ids().await?;
        let Some(needle) = needle else {
            // Only the page's records are read: paging through 10,000 MAS read all of them for every page.
            let Page { items: page_ids, total, page, page_size } = Page::slice(ids, page);
            let mut items = Vec::with_capacity(page_ids.len());
            for id in page_ids {
                items.extend(self.get_mas(id).await?);
            }
            return Ok(Page { items, total, page, page_size });
        };
        let mut all = Vec::new();
        for id in ids {
            if let Some(mas) = self.get_mas(id).await? {
                if mas.settings.name.to_lowercase().contains(&needle) {
                    all.push(mas);
                }
            }
        }
        Ok(Page::slice(all, page))
    }

    async fn delete_mas(&self, id: Uuid) -> Result<bool, StoreError> {
        let existed = self.get_mas(id).await?.is_some();
        for (app,) in self.rows::<(Uuid,)>("SELECT id FROM apps_by_mas WHERE mas_id = ?", (id,)).await? {
            self.run("DELETE FROM apps WHERE id = ?", (app,)).await?;
            self.run("DELETE FROM apps_index WHERE bucket = ? AND id = ?", (BUCKET, app)).await?;
        }
        self.run("DELETE FROM apps_by_mas WHERE mas_id = ?", (id,)).await?;
        for (input,) in self.rows::<(Uuid,)>("SELECT id FROM user_inputs WHERE mas_id = ?", (id,)).await? {
            self.run("DELETE FROM user_input_mas WHERE id = ?", (input,)).await?;
            self.run("DELETE FROM llm_calls WHERE mas_id = ? AND uiid = ?", (id, input)).await?;
        }
        self.run("DELETE FROM user_inputs WHERE mas_id = ?", (id,)).await?;
        self.run("DELETE FROM realm_keys WHERE mas_id = ?", (id,)).await?;
        self.run("DELETE FROM revocations WHERE mas_id = ?", (id,)).await?;
        self.run("DELETE FROM mas WHERE id = ?", (id,)).await?;
        self.run("DELETE FROM mas_index WHERE bucket = ? AND id = ?", (BUCKET, id)).await?;
        Ok(existed)
    }

    async fn put_keys(&self, mas_id: Uuid, keys: &[RealmKey]) -> Result<(), StoreError> {
        for key in keys {
            self.run(
                "INSERT INTO realm_keys (mas_id, kid, body) VALUES (?, ?, ?)",
                (mas_id, key.kid.clone(), self.keys.seal(mas_id, key)?),
            )
            .await?;
        }
        Ok(())
    }

    async fn realm_keys(&self, mas_id: Uuid) -> Result<Vec<RealmKey>, StoreError> {
        let rows = self.rows::<(Vec<u8>,)>("SELECT body FROM realm_keys WHERE mas_id = ?", (mas_id,)).await?;
        rows.iter().map(|(body,)| self.keys.open(mas_id, body)).collect()
    }

    async fn put_app(&self, app: &AppRecord) -> Result<(), StoreError> {
        self.run("INSERT INTO apps (id, mas_id, body) VALUES (?, ?, ?)", (app.id, app.mas_id, encode(app)?)).await?;
        self.run("INSERT INTO apps_by_mas (mas_id, id) VALUES (?, ?)", (app.mas_id, app.id)).await?;
        self.run("INSERT INTO apps_index (bucket, id) VALUES (?, ?)", (BUCKET, app.id)).await?;
        Ok(())
    }

    async fn get_app(&self, id: Uuid) -> Result<Option<AppRecord>, StoreError> {
        Ok(self.blobs("SELECT body FROM apps WHERE id = ?", (id,)).await?.pop())
    }

    async fn list_apps(&self, mas_id: Option<Uuid>, page: PageRequest) -> Result<Page<AppRecord>, StoreError> {
        let ids: Vec<(Uuid,)> = match mas_id {
            Some(m) => self.rows("SELECT id FROM apps_by_mas WHERE mas_id = ?", (m,)).await?,
            None => self.rows("SELECT id FROM apps_index WHERE bucket = ?", (BUCKET,)).await?,
        };
        let total = ids.len() as u64;
        let mut items = Vec::new();
        for (id,) in ids.into_iter().skip(page.offset()).take(page.page_size as usize) {
            items.extend(self.get_app(id).await?);
        }
        Ok(Page { items, total, page: page.page, page_size: page.page_size })
    }

    async fn apps_of_mas(&self, mas_id: Uuid) -> Result<Vec<AppRecord>, StoreError> {
        let mut out = Vec::new();
        for (id,) in self.rows::<(Uuid,)>("SELECT id FROM apps_by_mas WHERE mas_id = ?", (mas_id,)).await? {
            out.extend(self.get_app(id).await?);
        }
        Ok(out)
    }

    async fn delete_app(&self, id: Uuid) -> Result<bool, StoreError> {
        let Some(app) = self.get_app(id).await? else { return Ok(false) };
        self.run("DELETE FROM apps WHERE id = ?", (id,)).await?;
        self.run("DELETE FROM apps_by_mas WHERE mas_id = ? AND id = ?", (app.mas_id, id)).await?;
        self.run("DELETE FROM apps_index WHERE bucket = ? AND id = ?", (BUCKET, id)).await?;
        Ok(true)
    }

    async fn put_user_input(&self, input: &UserInput) -> Result<(), StoreError> {
        // A session is kept as long as its trail (the trail names it).
        let ttl = ttl_of(self.trace_ttl, input.id);
        self.run(
            "INSERT INTO user_inputs (mas_id, id, body) VALUES (?, ?, ?) USING TTL ?",
            (input.mas_id, input.id, encode(input)?, ttl),
        )
        .await?;
        self.run("INSERT INTO user_input_mas (id, mas_id) VALUES (?, ?) USING TTL ?", (input.id, input.mas_id, ttl))
            .await?;
        Ok(())
    }

    async fn get_user_input(&self, mas_id: Uuid, id: Uuid) -> Result<Option<UserInput>, StoreError> {
        Ok(self.blobs("SELECT body FROM user_inputs WHERE mas_id = ? AND id = ?", (mas_id, id)).await?.pop())
    }

    async fn user_input_mas(&self, id: Uuid) -> Result<Option<Uuid>, StoreError> {
        Ok(self.rows::<(Uuid,)>("SELECT mas_id FROM user_input_mas WHERE id = ?", (id,)).await?.pop().map(|(m,)| m))
    }

    async fn put_llm_call(&self, mas_id: Uuid, user_input_id: Uuid, call: &LlmCall) -> Result<(), StoreError> {
        let cql = "INSERT INTO llm_calls (mas_id, uiid, call_id, body) VALUES (?, ?, ?, ?) USING TTL ?";
        let ttl = ttl_of(self.trace_ttl, user_input_id);
        self.run(cql, (mas_id, user_input_id, call.call_id.clone(), encode(call)?, ttl)).await?;
        Ok(())
    }

    async fn llm_calls(&self, mas_id: Uuid, user_input_id: Uuid) -> Result<Vec<LlmCall>, StoreError> {
        self.blobs("SELECT body FROM llm_calls WHERE mas_id = ? AND uiid = ?", (mas_id, user_input_id)).await
    }

    async fn put_revocation(&self, mas_id: Uuid, rule: &Revocation) -> Result<(), StoreError> {
        // A rule goes once no token it could match is valid, a minute later
        // (readers drop expired rules themselves; clocks differ).
        let left = rule.expires_at - OffsetDateTime::now_utc().unix_timestamp();
        let ttl = (left.max(0) + 60).min(i32::MAX as i64) as i32;
        self.run(
            "INSERT INTO revocations (mas_id, key, body) VALUES (?, ?, ?) USING TTL ?",
            (mas_id, rule.target.key(), encode(rule)?, ttl),
        )
        .await?;
        Ok(())
    }

    async fn revocations(&self, mas_id: Uuid) -> Result<Vec<Revocation>, StoreError> {
        self.blobs("SELECT body FROM revocations WHERE mas_id = ?", (mas_id,)).await
    }

    async fn append_traces(&self, events: &[TraceEvent]) -> Result<(), StoreError> {
        use futures::{StreamExt, TryStreamExt};
        type Write<'a> = futures::future::BoxFuture<'a, Result<QueryResult, StoreError>>;
        let mut heads: HashMap<Uuid, String> = HashMap::new();
        let mut days: std::collections::BTreeSet<(Uuid, i32)> = Default::default();
        let mut writes: Vec<Write<'_>> = Vec::with_capacity(events.len() * 5);
        for e in events {
            let day = day_of(e.id);
            let ttl = ttl_of(self.trace_ttl, e.id);
            if days.insert((e.mas_id, day)) {
                // A day's listing row must outlive the events it lists (a later
                // event rewrites it with a later expiry); a day longer is a margin.
                let day_ttl = if ttl == 0 { 0 } else { ttl.saturating_add(86_400) };
                let cql = "INSERT INTO trace_days (mas_id, day) VALUES (?, ?) USING TTL ?";
                writes.push(Box::pin(self.run(cql, (e.mas_id, day, day_ttl))));
                let cql = "INSERT INTO trace_all_days (bucket, day) VALUES (?, ?) USING TTL ?";
                writes.push(Box::pin(self.run(cql, (BUCKET, day, day_ttl))));
            }
            let cql = "INSERT INTO traces (mas_id, day, id, body) VALUES (?, ?, ?, ?) USING TTL ?";
            writes.push(Box::pin(self.run(cql, (e.mas_id, day, e.id, encode(e)?, ttl))));
            let cql = "INSERT INTO trace_order (day, id, mas_id) VALUES (?, ?, ?) USING TTL ?";
            writes.push(Box::pin(self.run(cql, (day, e.id, e.mas_id, ttl))));
            if let Some(uiid) = &e.user_input_id {
                let cql = "INSERT INTO trace_sessions (uiid, id, mas_id) VALUES (?, ?, ?) USING TTL ?";
                writes.push(Box::pin(self.run(cql, (uiid.clone(), e.id, e.mas_id, ttl))));
            }
            for jti in e.jti.iter().chain(&e.parent) {
                let cql = "INSERT INTO trace_tokens (jti, id, mas_id) VALUES (?, ?, ?) USING TTL ?";
                writes.push(Box::pin(self.run(cql, (jti.clone(), e.id, e.mas_id, ttl))));
            }
            if let Some(hash) = &e.hash {
                heads.insert(e.chain_key(), hash.clone());
            }
        }
        // One round trip at a time would bound a writer to ~1,000 events/s; a
        // bounded number in flight keeps the server busy without flooding it.
        futures::stream::iter(writes).buffer_unordered(WRITES_IN_FLIGHT).try_for_each(|_| async { Ok(()) }).await?;
        // The heads move after their events are stored. They never expire: the
        // chain goes on from them after its older events are gone.
        futures::stream::iter(heads)
            .map(|head| self.run("INSERT INTO trace_heads (mas_id, hash) VALUES (?, ?)", head))
            .buffer_unordered(WRITES_IN_FLIGHT)
            .try_for_each(|_| async { Ok(()) })
            .await
    }

    async fn trace_head(&self, mas_id: Uuid) -> Result<Option<String>, StoreError> {
        Ok(self
            .rows::<(String,)>("SELECT hash FROM trace_heads WHERE mas_id = ?", (mas_id,))
            .await?
            .pop()
            .map(|(h,)| h))
    }

    async fn traces(
        &self,
        mas_id: Option<Uuid>,
        before: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<TraceEvent>, StoreError> {
        let last_day = before.map_or(i32::MAX, day_of);
        let before = before.unwrap_or(Uuid::max());
        let mut out = Vec::new();
        // Newest day first, until the page is full.
        let days: Vec<(i32,)> = match mas_id {
            Some(m) => self.rows("SELECT day FROM trace_days WHERE mas_id = ? AND day <= ?", (m, last_day)).await?,
            None => {
                self.rows("SELECT day FROM trace_all_days WHERE bucket = ? AND day <= ?", (BUCKET, last_day)).await?
            }
        };
        for (day,) in days {
            let want = (limit - out.len()).min(i32::MAX as usize) as i32;
            if want == 0 {
                break;
            }
            match mas_id {
                Some(m) => {
                    let cql = "SELECT body FROM traces WHERE mas_id = ? AND day = ? AND id < ? LIMIT ?";
                    out.extend(self.blobs::<TraceEvent>(cql, (m, day, before, want)).await?);
                }
                None => {
                    let cql = "SELECT id, mas_id FROM trace_order WHERE day = ? AND id < ? LIMIT ?";
                    out.extend(self.traces_of(self.rows::<(Uuid, Uuid)>(cql, (day, before, want)).await?).await?);
                }
            }
        }
        Ok(out)
    }

    async fn purge_traces(&self, _cutoff: OffsetDateTime, _limit: usize) -> Result<usize, StoreError> {
        // Trace rows carry their TTL: the server expires them.
        Ok(0)
    }

    async fn purge_sessions(&self, _cutoff: OffsetDateTime, _limit: usize) -> Result<usize, StoreError> {
        // Sessions carry their TTL too.
        Ok(0)
    }

    async fn purge_revocations(&self, _now: i64) -> Result<usize, StoreError> {
        // So do rules.
        Ok(0)
    }

    async fn session_traces(&self, user_input_id: &str) -> Result<Vec<TraceEvent>, StoreError> {
        let cql = "SELECT id, mas_id FROM trace_sessions WHERE uiid = ?";
        self.traces_of(self.rows::<(Uuid, Uuid)>(cql, (user_input_id.to_string(),)).await?).await
    }

    async fn token_traces(&self, jti: &str) -> Result<Vec<TraceEvent>, StoreError> {
        let cql = "SELECT id, mas_id FROM trace_tokens WHERE jti = ?";
        self.traces_of(self.rows::<(Uuid, Uuid)>(cql, (jti.to_string(),)).await?).await
    }

    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .rows::<(String,)>("SELECT value FROM meta WHERE key = ?", (key.to_string(),))
            .await?
            .pop()
            .map(|(v,)| v))
    }

    async fn put_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.run("INSERT INTO meta (key, value) VALUES (?, ?)", (key.to_string(), value.to_string())).await?;
        Ok(())
    }
}
