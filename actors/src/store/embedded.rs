//! The embedded store: two redb files under the data dir, `casa.redb` (MAS,
//! apps, keys, sessions, revocations, settings) and `traces.redb` (the trail;
//! see [`super::trace_file`]). Every commit is fsynced (redb's
//! `Durability::Immediate`) before the call returns, and redb's copy-on-write
//! pages survive `kill -9` at any point.
//!
//! Just over ~600 lines with its tests: one `Store` implementation, one redb
//! transaction per trait method; split, a reader would chase one trait
//! across files.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use time::OffsetDateTime;
use uuid::Uuid;

use super::group_commit::{GroupCommit, Row};
use super::sealing::KeySeal;
use super::trace_file;
use super::{decode, encode, LinkedBatch, Store, StoreError, SCHEMA_VERSION};
use crate::background::Background;
use crate::model::{AppRecord, MasRecord, Page, PageRequest};
use crate::realm::RealmKey;
use crate::revocation::Revocation;
use crate::session::{LlmCall, UserInput};
use crate::trace::TraceEvent;

const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
const MAS: TableDefinition<u128, &[u8]> = TableDefinition::new("mas");
const KEYS: TableDefinition<(u128, &str), &[u8]> = TableDefinition::new("realm_keys");
const APPS: TableDefinition<u128, &[u8]> = TableDefinition::new("apps");
const APPS_BY_MAS: TableDefinition<(u128, u128), ()> = TableDefinition::new("apps_by_mas");
const USER_INPUTS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("user_inputs");
const USER_INPUT_MAS: TableDefinition<u128, u128> = TableDefinition::new("user_input_mas");
const TRACES: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("traces");
const TRACE_ORDER: TableDefinition<u128, u128> = TableDefinition::new("trace_order");
const TRACE_SESSIONS: TableDefinition<(&str, u128), u128> = TableDefinition::new("trace_sessions");
const TRACE_HEADS: TableDefinition<u128, &str> = TableDefinition::new("trace_heads");
const TRACE_TOKENS: TableDefinition<(&str, u128), u128> = TableDefinition::new("trace_tokens");
const LLM_CALLS: TableDefinition<(u128, u128, &str), &[u8]> = TableDefinition::new("llm_calls");
const REVOCATIONS: TableDefinition<(u128, &str), &[u8]> = TableDefinition::new("revocations");

pub const FILE_NAME: &str = "casa.redb";

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    /// The trail, in its own file: its write lock is not the one issuances wait on.
    traces: Arc<Database>,
    /// Realm private keys are sealed with it before they reach the database.
    keys: KeySeal,
    /// Concurrent user inputs share one durable commit.
    user_inputs: Arc<GroupCommit>,
    /// Commits trace batches on a thread of its own, below request priority
    /// (its own file's lock: the priority delays no issuance).
    appender: Arc<Background>,
    /// See [`Store::local_changes`]: the file is locked to this process.
    changes: Arc<AtomicU64>,
}

/// The page cache of a store opened without a size (both files together).
pub const DEFAULT_CACHE_BYTES: usize = 128 << 20;

/// The schema of the data dir before the trace tables moved to their own file.
const SCHEMA_ONE_FILE: u32 = 1;

/// The smallest UUIDv7 of `cutoff`: a v7 id starts with its Unix milliseconds,
/// so every id below it is older.
fn v7_floor(cutoff: OffsetDateTime) -> u128 {
    ((cutoff.unix_timestamp_nanos() / 1_000_000).clamp(0, (1 << 48) - 1) as u128) << 80
}

/// The first `limit` entries (id → MAS) of a table keyed by UUIDv7 below `below`.
fn oldest_below(
    table: &impl ReadableTable<u128, u128>,
    below: u128,
    limit: usize,
) -> Result<Vec<(u128, u128)>, StoreError> {
    table
        .range(0..below)
        .map_err(backend)?
        .take(limit)
        .map(|e| e.map(|(id, m)| (id.value(), m.value())).map_err(backend))
        .collect()
}

fn backend(err: impl Into<redb::Error>) -> StoreError {
    StoreError::Backend(err.into().to_string())
}

fn open_file(path: &Path, cache_bytes: usize) -> Result<Database, StoreError> {
    Database::builder().set_cache_size(cache_bytes).create(path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked { path: path.display().to_string() },
        other => backend(other),
    })
}

/// The schema version recorded in `casa.redb`; `None` for a new file.
fn schema_version(db: &Database) -> Result<Option<u32>, StoreError> {
    let txn = db.begin_read().map_err(backend)?;
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(backend(e)),
    };
    let found = meta.get("schema_version").map_err(backend)?;
    found.map(|v| v.value().parse().map_err(|e| StoreError::Corrupt(format!("schema_version: {e}")))).transpose()
}

/// Moves a schema-1 data dir's trail out of `casa.redb` into `traces.redb`.
fn move_trace_tables(db: &Database, traces: &Database) -> Result<(), StoreError> {
    let moved = trace_file::move_table(db, traces, TRACES)?
        + trace_file::move_table(db, traces, TRACE_ORDER)?
        + trace_file::move_table(db, traces, TRACE_SESSIONS)?
        + trace_file::move_table(db, traces, TRACE_HEADS)?
        + trace_file::move_table(db, traces, TRACE_TOKENS)?;
    tracing::info!(rows = moved, "moved the trace tables to {}", trace_file::FILE_NAME);
    Ok(())
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `data_dir`, checking the schema version,
    /// with a page cache of [`DEFAULT_CACHE_BYTES`].
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(data_dir, DEFAULT_CACHE_BYTES)
    }

    /// [`EmbeddedStore::open`] with a page cache of `cache_bytes`: redb keeps
    /// pages it read or wrote up to this size, so it is most of the node's memory
    /// once the file is larger (redb's own default is 1 GiB).
    pub fn open_with_cache(data_dir: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        let db = open_file(&data_dir.join(FILE_NAME), cache_bytes / 2)?;
        let found = schema_version(&db)?;
        if let Some(v) = found.filter(|v| *v > SCHEMA_VERSION) {
            let path = data_dir.join(FILE_NAME).display().to_string();
            return Err(StoreError::SchemaTooNew { path, found: v, supported: SCHEMA_VERSION });
        }
        let traces = open_file(&data_dir.join(trace_file::FILE_NAME), cache_bytes / 2)?;
        if found == Some(SCHEMA_ONE_FILE) {
            move_trace_tables(&db, &traces)?;
        }
        write_in(&db, |txn| {
            txn.open_table(MAS).map_err(backend)?;
            txn.open_table(KEYS).map_err(backend)?;
            txn.open_table(APPS).map_err(backend)?;
            txn.open_table(APPS_BY_MAS).map_err(backend)?;
            txn.open_table(USER_INPUTS).map_err(backend)?;
            txn.open_table(USER_INPUT_MAS).map_err(backend)?;
            txn.open_table(LLM_CALLS).map_err(backend)?;
            txn.open_table(REVOCATIONS).map_err(backend)?;
            // Written last: a crash before this commit moves (or creates) again at the next open.
            let mut meta = txn.open_table(META).map_err(backend)?;
            meta.insert("schema_version", SCHEMA_VERSION.to_string().as_str()).map_err(backend)?;
            Ok(())
        })?;
        write_in(&traces, |txn| {
            txn.open_table(TRACES).map_err(backend)?;
            txn.open_table(TRACE_ORDER).map_err(backend)?;
            txn.open_table(TRACE_SESSIONS).map_err(backend)?;
            txn.open_table(TRACE_HEADS).map_err(backend)?;
            txn.open_table(TRACE_TOKENS).map_err(backend)?;
            Ok(())
        })?;
        let (db, traces) = (Arc::new(db), Arc::new(traces));
        let user_inputs = Arc::new(GroupCommit::start(Arc::downgrade(&db), (USER_INPUTS, USER_INPUT_MAS)));
        let appender = Arc::new(Background::start("casa-traces"));
        Ok(Self { db, traces, keys: KeySeal::default(), user_inputs, appender, changes: Arc::default() })
    }

    /// Realm keys written from now on are sealed with `keys` (and sealed ones need it to be read).
    pub fn with_key_seal(mut self, keys: KeySeal) -> Self {
        self.keys = keys;
        self
    }

    /// Runs blocking redb work on `casa.redb` off the async runtime.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        run_on(self.db.clone(), f).await
    }

    /// One committed write transaction on `casa.redb`.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        run_on(self.db.clone(), |db| write_in(db, f)).await
    }

    /// [`Self::write`] of MAS, apps, keys or revocations: counted once
    /// committed (and when it failed, which only costs a reader a re-read).
    async fn write_registry<T: Send + 'static>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let out = self.write(f).await;
        self.changes.fetch_add(1, Ordering::Release);
        out
    }

    /// [`Self::run`] on `traces.redb`.
    async fn run_traces<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        run_on(self.traces.clone(), f).await
    }

    /// [`Self::write`] on `traces.redb`.
    async fn write_traces<T: Send + 'static>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        run_on(self.traces.clone(), |db| write_in(db, f)).await
    }
}

async fn run_on<T: Send + 'static>(
    db: Arc<Database>,
    f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(move || f(&db))
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
}

fn write_in<T>(
    db: &Database,
    f: impl FnOnce(&redb::WriteTransaction) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let txn = db.begin_write().map_err(backend)?;
    let out = f(&txn)?;
    txn.commit().map_err(backend)?;
    Ok(out)
}

/// A user input as the group commit writes it: keyed by (MAS, input id).
fn user_input_row(input: &UserInput) -> Result<Row, StoreError> {
    Ok(Row { key: (input.mas_id.as_u128(), input.id.as_u128()), bytes: encode(input)? })
}

fn put_app_in(txn: &redb::WriteTransaction, app: &AppRecord) -> Result<(), StoreError> {
    let bytes = encode(app)?;
    txn.open_table(APPS).map_err(backend)?.insert(app.id.as_u128(), bytes.as_slice()).map_err(backend)?;
    txn.open_table(APPS_BY_MAS)
        .map_err(backend)?
        .insert((app.mas_id.as_u128(), app.id.as_u128()), ())
        .map_err(backend)?;
    Ok(())
}

fn put_keys_in(
    txn: &redb::WriteTransaction,
    seal: &KeySeal,
    mas_id: Uuid,
    keys: &[RealmKey],
) -> Result<(), StoreError> {
    let mut table = txn.open_table(KEYS).map_err(backend)?;
    for key in keys {
        let bytes = seal.seal(mas_id, key)?;
        table.insert((mas_id.as_u128(), key.kid.as_str()), bytes.as_slice()).map_err(backend)?;
    }
    Ok(())
}

/// Removes every entry of `range`.
fn remove_range<'r, K: redb::Key + 'static, V: redb::Value + 'static>(
    table: &mut redb::Table<K, V>,
    range: impl std::ops::RangeBounds<K::SelfType<'r>> + 'r,
) -> Result<(), StoreError> {
    table.retain_in(range, |_, _| false).map_err(backend)
}

/// Stores events (as encoded) with their index entries and moves their chains' heads.
fn insert_events(txn: &redb::WriteTransaction, batch: &LinkedBatch) -> Result<(), StoreError> {
    let events = &batch.events;
    let mut traces = txn.open_table(TRACES).map_err(backend)?;
    let mut order = txn.open_table(TRACE_ORDER).map_err(backend)?;
    let mut sessions = txn.open_table(TRACE_SESSIONS).map_err(backend)?;
    let mut heads = txn.open_table(TRACE_HEADS).map_err(backend)?;
    let mut tokens = txn.open_table(TRACE_TOKENS).map_err(backend)?;
    // A chain's head moves once per batch, to its last event here.
    let mut moved: HashMap<u128, &str> = HashMap::new();
    for (e, bytes) in events.iter().zip(&batch.encoded) {
        let (m, id) = (e.mas_id.as_u128(), e.id.as_u128());
        traces.insert((m, id), bytes.as_slice()).map_err(backend)?;
        order.insert(id, m).map_err(backend)?;
        if let Some(uiid) = &e.user_input_id {
            sessions.insert((uiid.as_str(), id), m).map_err(backend)?;
        }
        for jti in e.jti.iter().chain(&e.parent) {
            tokens.insert((jti.as_str(), id), m).map_err(backend)?;
        }
        if let Some(hash) = &e.hash {
            moved.insert(e.chain_key().as_u128(), hash);
        }
    }
    for (key, hash) in moved {
        heads.insert(key, hash).map_err(backend)?;
    }
    Ok(())
}

fn app_ids_of(table: &impl ReadableTable<(u128, u128), ()>, mas_id: Uuid) -> Result<Vec<u128>, StoreError> {
    let m = mas_id.as_u128();
    let mut ids = Vec::new();
    for entry in table.range((m, 0)..=(m, u128::MAX)).map_err(backend)? {
        ids.push(entry.map_err(backend)?.0.value().1);
    }
    Ok(ids)
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|db| {
            let txn = db.begin_read().map_err(backend)?;
            txn.open_table(META).map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn create_mas(&self, mas: &MasRecord, key: &RealmKey) -> Result<(), StoreError> {
        let (mas, key, seal) = (mas.clone(), key.clone(), self.keys.clone());
        self.write_registry(move |txn| {
            let bytes = encode(&mas)?;
            txn.open_table(MAS).map_err(backend)?.insert(mas.id.as_u128(), bytes.as_slice()).map_err(backend)?;
            put_keys_in(txn, &seal, mas.id, std::slice::from_ref(&key))
        })
        .await
    }

    async fn update_mas(&self, mas: &MasRecord) -> Result<(), StoreError> {
        let mas = mas.clone();
        self.write_registry(move |txn| {
            let bytes = encode(&mas)?;
            txn.open_table(MAS).map_err(backend)?.insert(mas.id.as_u128(), bytes.as_slice()).map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn get_mas(&self, id: Uuid) -> Result<Option<MasRecord>, StoreError> {
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(MAS).map_err(backend)?;
            let found = table.get(id.as_u128()).map_err(backend)?;
            found.map(|v| decode(v.value())).transpose()
        })
        .await
    }

    async fn list_mas(&self, name_contains: Option<&str>, page: PageRequest) -> Result<Page<MasRecord>, StoreError> {
        let needle = name_contains.map(str::to_lowercase);
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(MAS).map_err(backend)?;
            let Some(needle) = needle else {
                // Only the page's records are decoded: paging through 10,000 MAS
                // (the readiness scan does) decoded all of them for every page.
                let Page { items, total, page, page_size } = Page::slice(table.iter().map_err(backend)?, page);
                let items =
                    items.into_iter().map(|e| decode(e.map_err(backend)?.1.value())).collect::<Result<_, _>>()?;
                return Ok(Page { items, total, page, page_size });
            };
            let mut all = Vec::new();
            for entry in table.iter().map_err(backend)? {
                let mas: MasRecord = decode(entry.map_err(backend)?.1.value())?;
                if mas.settings.name.to_lowercase().contains(&needle) {
                    all.push(mas);
                }
            }
            Ok(Page::slice(all, page))
        })
        .await
    }

    async fn delete_mas(&self, id: Uuid) -> Result<bool, StoreError> {
        self.write_registry(move |txn| {
            let existed = txn.open_table(MAS).map_err(backend)?.remove(id.as_u128()).map_err(backend)?.is_some();
            let mut by_mas = txn.open_table(APPS_BY_MAS).map_err(backend)?;
            let mut apps = txn.open_table(APPS).map_err(backend)?;
            for app in app_ids_of(&by_mas, id)? {
                apps.remove(app).map_err(backend)?;
                by_mas.remove((id.as_u128(), app)).map_err(backend)?;
            }
            let mut keys = txn.open_table(KEYS).map_err(backend)?;
            let m = id.as_u128();
            let kids: Vec<String> = keys
                .range((m, "")..(m + 1, ""))
                .map_err(backend)?
                .map(|e| e.map(|(k, _)| k.value().1.to_string()).map_err(backend))
                .collect::<Result<_, _>>()?;
            for kid in kids {
                keys.remove((m, kid.as_str())).map_err(backend)?;
            }
            let mut inputs = txn.open_table(USER_INPUTS).map_err(backend)?;
            let ids: Vec<u128> = inputs
                .range((m, 0)..=(m, u128::MAX))
                .map_err(backend)?
                .map(|e| e.map(|(k, _)| k.value().1).map_err(backend))
                .collect::<Result<_, _>>()?;
            let mut index = txn.open_table(USER_INPUT_MAS).map_err(backend)?;
            for id in ids {
                index.remove(id).map_err(backend)?;
            }
            remove_range(&mut inputs, (m, 0)..=(m, u128::MAX))?;
            remove_range(&mut txn.open_table(LLM_CALLS).map_err(backend)?, (m, 0, "")..(m + 1, 0, ""))?;
            remove_range(&mut txn.open_table(REVOCATIONS).map_err(backend)?, (m, "")..(m + 1, ""))?;
            Ok(existed)
        })
        .await
    }

    async fn put_keys(&self, mas_id: Uuid, keys: &[RealmKey]) -> Result<(), StoreError> {
        let (keys, seal) = (keys.to_vec(), self.keys.clone());
        self.write_registry(move |txn| put_keys_in(txn, &seal, mas_id, &keys)).await
    }

    async fn realm_keys(&self, mas_id: Uuid) -> Result<Vec<RealmKey>, StoreError> {
        let seal = self.keys.clone();
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(KEYS).map_err(backend)?;
            let m = mas_id.as_u128();
            let mut keys = Vec::new();
            for entry in table.range((m, "")..(m + 1, "")).map_err(backend)? {
                keys.push(seal.open(mas_id, entry.map_err(backend)?.1.value())?);
            }
            Ok(keys)
        })
        .await
    }

    async fn put_app(&self, app: &AppRecord) -> Result<(), StoreError> {
        let app = app.clone();
        self.write_registry(move |txn| put_app_in(txn, &app)).await
    }

    async fn get_app(&self, id: Uuid) -> Result<Option<AppRecord>, StoreError> {
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(APPS).map_err(backend)?;
            let found = table.get(id.as_u128()).map_err(backend)?;
            found.map(|v| decode(v.value())).transpose()
        })
        .await
    }

    async fn list_apps(&self, mas_id: Option<Uuid>, page: PageRequest) -> Result<Page<AppRecord>, StoreError> {
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let apps = txn.open_table(APPS).map_err(backend)?;
            let Some(mas_id) = mas_id else {
                let total = apps.len().map_err(backend)?;
                let mut items = Vec::new();
                for entry in apps.iter().map_err(backend)?.skip(page.offset()).take(page.page_size as usize) {
                    items.push(decode(entry.map_err(backend)?.1.value())?);
                }
                return Ok(Page { items, total, page: page.page, page_size: page.page_size });
            };
            let ids = app_ids_of(&txn.open_table(APPS_BY_MAS).map_err(backend)?, mas_id)?;
            let total = ids.len() as u64;
            let mut items = Vec::new();
            for id in ids.into_iter().skip(page.offset()).take(page.page_size as usize) {
                if let Some(v) = apps.get(id).map_err(backend)? {
                    items.push(decode(v.value())?);
                }
            }
            Ok(Page { items, total, page: page.page, page_size: page.page_size })
        })
        .await
    }

    async fn apps_of_mas(&self, mas_id: Uuid) -> Result<Vec<AppRecord>, StoreError> {
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let apps = txn.open_table(APPS).map_err(backend)?;
            let mut out = Vec::new();
            for id in app_ids_of(&txn.open_table(APPS_BY_MAS).map_err(backend)?, mas_id)? {
                if let Some(v) = apps.get(id).map_err(backend)? {
                    out.push(decode(v.value())?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn delete_app(&self, id: Uuid) -> Result<bool, StoreError> {
        self.write_registry(move |txn| {
            let mut apps = txn.open_table(APPS).map_err(backend)?;
            let app: AppRecord = match apps.remove(id.as_u128()).map_err(backend)? {
                Some(bytes) => decode(bytes.value())?,
                None => return Ok(false),
            };
            txn.open_table(APPS_BY_MAS)
                .map_err(backend)?
                .remove((app.mas_id.as_u128(), id.as_u128()))
                .map_err(backend)?;
            Ok(true)
        })
        .await
    }

    async fn put_user_input(&self, input: &UserInput) -> Result<(), StoreError> {
        self.user_inputs.put(user_input_row(input)?).await
    }

    fn put_user_input_then(self: Arc<Self>, input: UserInput, then: super::WriteDone) {
        match user_input_row(&input) {
            Ok(row) => self.user_inputs.put_then(row, then),
            Err(e) => then(Err(e)),
        }
    }

    async fn get_user_input(&self, mas_id: Uuid, id: Uuid) -> Result<Option<UserInput>, StoreError> {
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(USER_INPUTS).map_err(backend)?;
            let found = table.get((mas_id.as_u128(), id.as_u128())).map_err(backend)?;
            found.map(|v| decode(v.value())).transpose()
        })
        .await
    }

    async fn user_input_mas(&self, id: Uuid) -> Result<Option<Uuid>, StoreError> {
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(USER_INPUT_MAS).map_err(backend)?;
            let found = table.get(id.as_u128()).map_err(backend)?;
            Ok(found.map(|v| Uuid::from_u128(v.value())))
        })
        .await
    }

    async fn put_llm_call(&self, mas_id: Uuid, user_input_id: Uuid, call: &LlmCall) -> Result<(), StoreError> {
        let call = call.clone();
        self.write(move |txn| {
            let bytes = encode(&call)?;
            txn.open_table(LLM_CALLS)
                .map_err(backend)?
                .insert((mas_id.as_u128(), user_input_id.as_u128(), call.call_id.as_str()), bytes.as_slice())
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn llm_calls(&self, mas_id: Uuid, user_input_id: Uuid) -> Result<Vec<LlmCall>, StoreError> {
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(LLM_CALLS).map_err(backend)?;
            let (m, u) = (mas_id.as_u128(), user_input_id.as_u128());
            let mut calls = Vec::new();
            for entry in table.range((m, u, "")..(m, u.wrapping_add(1), "")).map_err(backend)? {
                calls.push(decode(entry.map_err(backend)?.1.value())?);
            }
            Ok(calls)
        })
        .await
    }

    async fn put_revocation(&self, mas_id: Uuid, rule: &Revocation) -> Result<(), StoreError> {
        let rule = rule.clone();
        self.write_registry(move |txn| {
            let bytes = encode(&rule)?;
            txn.open_table(REVOCATIONS)
                .map_err(backend)?
                .insert((mas_id.as_u128(), rule.target.key().as_str()), bytes.as_slice())
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn revocations(&self, mas_id: Uuid) -> Result<Vec<Revocation>, StoreError> {
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(REVOCATIONS).map_err(backend)?;
            let m = mas_id.as_u128();
            let mut rules = Vec::new();
            for entry in table.range((m, "")..(m + 1, "")).map_err(backend)? {
                rules.push(decode(entry.map_err(backend)?.1.value())?);
            }
            Ok(rules)
        })
        .await
    }

    async fn append_traces(&self, events: &[TraceEvent]) -> Result<(), StoreError> {
        self.append_trace_batch(Arc::new(LinkedBatch::encode(events.to_vec())?)).await
    }

    async fn append_trace_batch(&self, batch: Arc<LinkedBatch>) -> Result<(), StoreError> {
        let db = self.traces.clone();
        let written = self.appender.run(move || write_in(&db, |txn| insert_events(txn, &batch))).await;
        written.map_err(|e| StoreError::Backend(e.to_string()))?
    }

    async fn trace_head(&self, mas_id: Uuid) -> Result<Option<String>, StoreError> {
        self.run_traces(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(TRACE_HEADS).map_err(backend)?;
            let found = table.get(mas_id.as_u128()).map_err(backend)?;
            Ok(found.map(|v| v.value().to_string()))
        })
        .await
    }

    async fn traces(
        &self,
        mas_id: Option<Uuid>,
        before: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<TraceEvent>, StoreError> {
        self.run_traces(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let traces = txn.open_table(TRACES).map_err(backend)?;
            let upper = before.map_or(u128::MAX, |b| b.as_u128());
            let mut out = Vec::new();
            match mas_id {
                Some(mas) => {
                    let m = mas.as_u128();
                    for entry in traces.range((m, 0)..(m, upper)).map_err(backend)?.rev().take(limit) {
                        out.push(decode(entry.map_err(backend)?.1.value())?);
                    }
                }
                None => {
                    let order = txn.open_table(TRACE_ORDER).map_err(backend)?;
                    for entry in order.range(0..upper).map_err(backend)?.rev().take(limit) {
                        let (id, m) = entry.map_err(backend)?;
                        if let Some(v) = traces.get((m.value(), id.value())).map_err(backend)? {
                            out.push(decode(v.value())?);
                        }
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn purge_traces(&self, cutoff: OffsetDateTime, limit: usize) -> Result<usize, StoreError> {
        let below = v7_floor(cutoff);
        self.write_traces(move |txn| {
            let mut order = txn.open_table(TRACE_ORDER).map_err(backend)?;
            let mut traces = txn.open_table(TRACES).map_err(backend)?;
            let mut sessions = txn.open_table(TRACE_SESSIONS).map_err(backend)?;
            let mut tokens = txn.open_table(TRACE_TOKENS).map_err(backend)?;
            let expired = oldest_below(&order, below, limit)?;
            for &(id, m) in &expired {
                order.remove(id).map_err(backend)?;
                let Some(body) = traces.remove((m, id)).map_err(backend)? else { continue };
                // An undecodable event still goes; index entries left behind point nowhere and are skipped.
                let Ok(event) = decode::<TraceEvent>(body.value()) else { continue };
                drop(body);
                if let Some(uiid) = &event.user_input_id {
                    sessions.remove((uiid.as_str(), id)).map_err(backend)?;
                }
                for jti in event.jti.iter().chain(&event.parent) {
                    tokens.remove((jti.as_str(), id)).map_err(backend)?;
                }
            }
            Ok(expired.len())
        })
        .await
    }

    async fn purge_revocations(&self, now: i64) -> Result<usize, StoreError> {
        self.write_registry(move |txn| {
            let mut rules = txn.open_table(REVOCATIONS).map_err(backend)?;
            let mut gone = Vec::new();
            for entry in rules.iter().map_err(backend)? {
                let (key, body) = entry.map_err(backend)?;
                // An undecodable rule stays: only the MAS's deletion removes it.
                if decode::<Revocation>(body.value()).is_ok_and(|r| r.expires_at < now) {
                    let (m, k) = key.value();
                    gone.push((m, k.to_string()));
                }
            }
            for (m, k) in &gone {
                rules.remove((*m, k.as_str())).map_err(backend)?;
            }
            Ok(gone.len())
        })
        .await
    }

    async fn purge_sessions(&self, cutoff: OffsetDateTime, limit: usize) -> Result<usize, StoreError> {
        let below = v7_floor(cutoff);
        self.write(move |txn| {
            let mut by_id = txn.open_table(USER_INPUT_MAS).map_err(backend)?;
            let mut inputs = txn.open_table(USER_INPUTS).map_err(backend)?;
            let mut calls = txn.open_table(LLM_CALLS).map_err(backend)?;
            let expired = oldest_below(&by_id, below, limit)?;
            for &(id, m) in &expired {
                by_id.remove(id).map_err(backend)?;
                inputs.remove((m, id)).map_err(backend)?;
                let keys: Vec<String> = calls
                    .range((m, id, "")..(m, id.saturating_add(1), ""))
                    .map_err(backend)?
                    .map(|e| e.map(|(k, _)| k.value().2.to_string()).map_err(backend))
                    .collect::<Result<_, _>>()?;
                for call in &keys {
                    calls.remove((m, id, call.as_str())).map_err(backend)?;
                }
            }
            Ok(expired.len())
        })
        .await
    }

    async fn session_traces(&self, user_input_id: &str) -> Result<Vec<TraceEvent>, StoreError> {
        let uiid = user_input_id.to_string();
        self.run_traces(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let traces = txn.open_table(TRACES).map_err(backend)?;
            let sessions = txn.open_table(TRACE_SESSIONS).map_err(backend)?;
            let mut out = Vec::new();
            for entry in sessions.range((uiid.as_str(), 0)..=(uiid.as_str(), u128::MAX)).map_err(backend)? {
                let (key, m) = entry.map_err(backend)?;
                if let Some(v) = traces.get((m.value(), key.value().1)).map_err(backend)? {
                    out.push(decode(v.value())?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn token_traces(&self, jti: &str) -> Result<Vec<TraceEvent>, StoreError> {
        let jti = jti.to_string();
        self.run_traces(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let traces = txn.open_table(TRACES).map_err(backend)?;
            let tokens = txn.open_table(TRACE_TOKENS).map_err(backend)?;
            let mut out = Vec::new();
            for entry in tokens.range((jti.as_str(), 0)..=(jti.as_str(), u128::MAX)).map_err(backend)? {
                let (key, m) = entry.map_err(backend)?;
                if let Some(v) = traces.get((m.value(), key.value().1)).map_err(backend)? {
                    out.push(decode(v.value())?);
                }
            }
            Ok(out)
        })
        .await
    }

    fn local_changes(&self) -> Option<u64> {
        Some(self.changes.load(Ordering::Acquire))
    }

    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_string();
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(META).map_err(backend)?;
            let found = table.get(key.as_str()).map_err(backend)?;
            Ok(found.map(|v| v.value().to_string()))
        })
        .await
    }

    async fn put_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let (key, value) = (key.to_string(), value.to_string());
        self.write(move |txn| {
            txn.open_table(META).map_err(backend)?.insert(key.as_str(), value.as_str()).map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::TableHandle;

    #[test]
    fn a_store_from_a_newer_casa_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Database::create(dir.path().join(FILE_NAME)).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META).unwrap().insert("schema_version", "999").unwrap();
            txn.commit().unwrap();
        }
        match EmbeddedStore::open(dir.path()) {
            Err(StoreError::SchemaTooNew { found: 999, supported, .. }) => assert_eq!(supported, SCHEMA_VERSION),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("a newer schema was accepted"),
        }
    }

    #[tokio::test]
    async fn the_purge_drops_the_revocation_rules_that_expired() {
        use crate::revocation::RevocationTarget;
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let mas = Uuid::now_v7();
        let rule = |jti: &str, expires_at| Revocation {
            target: RevocationTarget::Token(jti.into()),
            revoked_at: 1,
            expires_at,
        };
        store.put_revocation(mas, &rule("old", 100)).await.unwrap();
        store.put_revocation(mas, &rule("live", 300)).await.unwrap();
        assert_eq!(store.purge_revocations(200).await.unwrap(), 1);
        assert_eq!(store.revocations(mas).await.unwrap(), vec![rule("live", 300)]);
    }

    #[tokio::test]
    async fn the_database_file_holds_no_realm_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let kek = std::sync::Arc::new(super::super::LocalKek::generate().0);
        let store = EmbeddedStore::open(dir.path()).unwrap().with_key_seal(KeySeal::new(Some(kek)));
        let key = RealmKey::generate(OffsetDateTime::now_utc());
        let now = OffsetDateTime::now_utc();
        let new = crate::model::NewMas { name: "sealed".into(), ..Default::default() };
        let settings = crate::validate::new_mas(new, crate::model::Capabilities::default()).unwrap();
        let mas = MasRecord { id: Uuid::now_v7(), settings, created_at: now, updated_at: now };
        store.create_mas(&mas, &key).await.unwrap();
        drop(store);
        let file = std::fs::read(dir.path().join(FILE_NAME)).unwrap();
        let secret = hex::encode(key.signing_key().to_bytes());
        assert!(!file.windows(secret.len()).any(|w| w == secret.as_bytes()), "the private key is in the file");
        assert!(!file.windows(32).any(|w| w == key.signing_key().to_bytes()), "the private key is in the file");
    }

    /// Five chained events of one MAS and session, the first naming token `t-1`.
    fn trail(mas: Uuid) -> Vec<TraceEvent> {
        let mut prev: Option<String> = None;
        let first = Uuid::now_v7().as_u128();
        (0..5)
            .map(|i| {
                let mut e = TraceEvent::new(mas, crate::trace::EventKind::Introspection { active: true });
                e.id = Uuid::from_u128(first + i); // in order, whatever the clock's resolution
                e.user_input_id = Some("s-1".into());
                if i == 0 {
                    e.jti = Some("t-1".into());
                } else {
                    e.parent = Some("t-1".into());
                }
                e.prev_hash = prev.clone();
                e.hash = Some(e.chain_hash(prev.as_deref()));
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    /// A data dir as casa wrote it before the split: schema 1, the trail in `casa.redb`.
    fn schema_one_dir(events: &[TraceEvent]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join(FILE_NAME)).unwrap();
        write_in(&db, |txn| {
            txn.open_table(META).unwrap().insert("schema_version", "1").unwrap();
            insert_events(txn, &LinkedBatch::encode(events.to_vec()).unwrap())
        })
        .unwrap();
        dir
    }

    async fn assert_trail_moved(store: &EmbeddedStore, dir: &Path, mas: Uuid, events: &[TraceEvent]) {
        let mut newest_first = events.to_vec();
        newest_first.reverse();
        assert_eq!(store.traces(None, None, 100).await.unwrap(), newest_first);
        assert_eq!(store.traces(Some(mas), None, 100).await.unwrap(), newest_first);
        assert_eq!(store.session_traces("s-1").await.unwrap(), events);
        assert_eq!(store.token_traces("t-1").await.unwrap(), events);
        assert_eq!(store.trace_head(mas).await.unwrap(), events.last().unwrap().hash);
        assert_eq!(store.get_meta("schema_version").await.unwrap().as_deref(), Some("2"));
        let main = store.db.begin_write().unwrap();
        let left: Vec<String> = main.list_tables().unwrap().map(|t| t.name().to_string()).collect();
        assert!(left.iter().all(|t| !t.starts_with("trace")), "trace tables left in casa.redb: {left:?}");
        main.abort().unwrap();
        assert!(dir.join(trace_file::FILE_NAME).exists());
    }

    #[tokio::test]
    async fn a_schema_one_trail_moves_to_its_own_file_on_open() {
        let mas = Uuid::now_v7();
        let events = trail(mas);
        let dir = schema_one_dir(&events);
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_trail_moved(&store, dir.path(), mas, &events).await;
        // The chain goes on from the moved head, in the new file.
        let mut next = TraceEvent::new(mas, crate::trace::EventKind::Introspection { active: false });
        next.prev_hash = events[4].hash.clone();
        next.hash = Some(next.chain_hash(next.prev_hash.as_deref()));
        store.append_traces(std::slice::from_ref(&next)).await.unwrap();
        drop(store);
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(store.trace_head(mas).await.unwrap(), next.hash);
        assert_eq!(store.traces(Some(mas), None, 100).await.unwrap().len(), 6);
    }

    #[tokio::test]
    async fn a_move_cut_short_by_a_crash_is_finished_without_duplicates() {
        let mas = Uuid::now_v7();
        let events = trail(mas);
        let dir = schema_one_dir(&events);
        // The first rows reached traces.redb, casa.redb still has them all (a crash between the two commits).
        let traces = Database::create(dir.path().join(trace_file::FILE_NAME)).unwrap();
        write_in(&traces, |txn| insert_events(txn, &LinkedBatch::encode(events[..2].to_vec()).unwrap())).unwrap();
        drop(traces);
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_trail_moved(&store, dir.path(), mas, &events).await;
    }

    #[tokio::test]
    async fn registry_writes_are_counted_and_trail_and_session_writes_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let count = || store.local_changes().unwrap();
        assert_eq!(count(), 0);
        let now = OffsetDateTime::now_utc();
        let new = crate::model::NewMas { name: "counted".into(), ..Default::default() };
        let settings = crate::validate::new_mas(new, crate::model::Capabilities::default()).unwrap();
        let mas = MasRecord { id: Uuid::now_v7(), settings, created_at: now, updated_at: now };
        store.create_mas(&mas, &RealmKey::generate(now)).await.unwrap();
        store.put_keys(mas.id, &[RealmKey::generate(now)]).await.unwrap();
        let rule = Revocation {
            target: crate::revocation::RevocationTarget::Token("t".into()),
            revoked_at: 1,
            expires_at: i64::MAX,
        };
        store.put_revocation(mas.id, &rule).await.unwrap();
        assert_eq!(count(), 3);
        store.append_traces(&trail(mas.id)).await.unwrap();
        store.put_meta("k", "v").await.unwrap();
        assert_eq!(count(), 3, "only what a reader of the registry holds is counted");
        store.update_mas(&mas).await.unwrap();
        store.delete_mas(mas.id).await.unwrap();
        assert_eq!(count(), 5);
    }

    #[tokio::test]
    async fn trace_batches_are_committed_below_request_priority() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        store.append_traces(&trail(Uuid::now_v7())).await.unwrap();
        crate::background::tests::assert_below_requests("casa-traces");
    }

    #[test]
    fn a_second_process_on_the_same_dir_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = EmbeddedStore::open(dir.path()).unwrap();
        assert!(matches!(EmbeddedStore::open(dir.path()), Err(StoreError::Locked { .. })));
    }
}
