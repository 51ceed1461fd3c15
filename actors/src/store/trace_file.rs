//! The embedded store's second file. Trace events live in `traces.redb`, beside
//! `casa.redb`: redb has one write lock per file, and the trace writer's large
//! batches held it while issuances waited to commit their user inputs. Data
//! dirs written before the split (schema 1) have their trace tables moved over
//! when they are opened.

use std::sync::mpsc;
use std::sync::{Arc, Weak};

use redb::{Database, Key, TableDefinition, TableHandle, Value};
use tokio::sync::oneshot;

use super::StoreError;

pub const FILE_NAME: &str = "traces.redb";

/// Rows moved per pair of commits: bounds the memory of a move of a large trail.
const MOVE_CHUNK: usize = 8192;

fn backend(err: impl Into<redb::Error>) -> StoreError {
    StoreError::Backend(err.into().to_string())
}

/// Whether `main` still holds a table of this name (a store from before the split).
fn has_table(main: &Database, name: &str) -> Result<bool, StoreError> {
    let txn = main.begin_write().map_err(backend)?;
    let found = txn.list_tables().map_err(backend)?.any(|t| t.name() == name);
    txn.abort().map_err(backend)?;
    Ok(found)
}

/// Moves every row of `table` from `main` to `traces`, then deletes the table
/// from `main`; returns how many rows moved (none when `main` has no such table). Each chunk is committed to
/// `traces` before it is removed from `main`, so a crash in between leaves a
/// row in both files and the next open moves it again (an idempotent insert):
/// nothing is lost.
pub fn move_table<K: Key + 'static, V: Value + 'static>(
    main: &Database,
    traces: &Database,
    table: TableDefinition<K, V>,
) -> Result<u64, StoreError> {
    if !has_table(main, table.name())? {
        return Ok(0);
    }
    let mut moved = 0;
    loop {
        let (from_txn, to_txn) = (main.begin_write().map_err(backend)?, traces.begin_write().map_err(backend)?);
        let mut taken = 0;
        {
            let mut from = from_txn.open_table(table).map_err(backend)?;
            let mut to = to_txn.open_table(table).map_err(backend)?;
            while taken < MOVE_CHUNK {
                let Some((k, v)) = from.pop_first().map_err(backend)? else { break };
                to.insert(k.value(), v.value()).map_err(backend)?;
                taken += 1;
            }
        }
        to_txn.commit().map_err(backend)?;
        moved += taken as u64;
        if taken < MOVE_CHUNK {
            from_txn.delete_table(table).map_err(backend)?;
            from_txn.commit().map_err(backend)?;
            return Ok(moved);
        }
        from_txn.commit().map_err(backend)?;
    }
}

type Job = Box<dyn FnOnce(&Database) -> Result<(), StoreError> + Send>;

/// The one thread that commits trace batches, at a lower CPU priority than
/// request threads: the trail is background work, and on a busy node its
/// commits took cores from requests (the exchange tail). It holds the only
/// write lock of `traces.redb` besides the retention purge, so its priority
/// delays no issuance.
pub struct Appender {
    jobs: mpsc::Sender<(Job, oneshot::Sender<Result<(), StoreError>>)>,
}

/// How much lower than request threads (nice 0) the appender runs.
const NICE: i32 = 10;

impl Appender {
    pub fn start(db: Weak<Database>) -> Arc<Self> {
        let (jobs, rx) = mpsc::channel::<(Job, oneshot::Sender<Result<(), StoreError>>)>();
        std::thread::Builder::new()
            .name("casa-traces".into())
            .spawn(move || {
                // SAFETY: setpriority on this thread's own id; a failure leaves it at nice 0.
                unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, NICE) };
                while let Ok((job, done)) = rx.recv() {
                    let result = match db.upgrade() {
                        Some(db) => job(&db),
                        None => Err(StoreError::Backend("the store is closed".into())),
                    };
                    let _ = done.send(result);
                }
            })
            .expect("spawning the trace appender");
        Arc::new(Self { jobs })
    }

    /// Runs `job` on the appender thread; returns once it has.
    pub async fn run(
        &self,
        job: impl FnOnce(&Database) -> Result<(), StoreError> + Send + 'static,
    ) -> Result<(), StoreError> {
        let stopped = || StoreError::Backend("the trace appender stopped".into());
        let (done, finished) = oneshot::channel();
        self.jobs.send((Box::new(job), done)).map_err(|_| stopped())?;
        finished.await.map_err(|_| stopped())?
    }
}

#[cfg(test)]
mod tests {
    /// The nice value of this process's thread named `name`, from /proc.
    fn nice_of(name: &str) -> Option<i32> {
        std::fs::read_dir("/proc/self/task").ok()?.flatten().find_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            if comm.trim() != name {
                return None;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            // Fields after the parenthesised command: state is field 3, nice field 19.
            stat.rsplit_once(')')?.1.split_whitespace().nth(16)?.parse().ok()
        })
    }

    #[tokio::test]
    async fn trace_batches_are_committed_below_request_priority() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::EmbeddedStore::open(dir.path()).unwrap();
        use super::super::Store;
        // Once a batch went through, the thread has set its priority.
        store.append_traces(&[]).await.unwrap();
        assert_eq!(nice_of("casa-traces"), Some(super::NICE));
    }
}
