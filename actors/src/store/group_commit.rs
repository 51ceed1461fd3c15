//! Group commit of user inputs on the embedded store. Every issuance of a
//! new session writes its user input durably before the token is handed out;
//! one fsynced redb commit each would bound issuance by the disk. Instead one
//! writer thread takes every input waiting when it is free, writes them in one
//! transaction and one fsync, and only then answers each of their callers: no
//! caller is acknowledged before its input is on disk, and inputs arriving
//! during a commit go in the next.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Weak;

use redb::{Database, TableDefinition};
use tokio::sync::oneshot;

use super::{StoreError, WriteDone};

/// The most inputs one commit takes (bounds a transaction's size).
const MAX_BATCH: usize = 1024;

/// One user input to write: its two table rows, encoded.
pub(super) struct Row {
    /// (MAS, input id).
    pub key: (u128, u128),
    pub bytes: Vec<u8>,
}

struct Pending {
    row: Row,
    /// Told the commit's outcome, on the writer thread.
    done: WriteDone,
}

/// The queue in front of the writer thread, which stops when this is dropped.
pub(super) struct GroupCommit {
    queue: Sender<Pending>,
}

pub(super) type Tables = (TableDefinition<'static, (u128, u128), &'static [u8]>, TableDefinition<'static, u128, u128>);

impl GroupCommit {
    /// Starts the writer. It holds the database weakly, so dropping the store
    /// closes the file even while the thread still runs.
    pub(super) fn start(db: Weak<Database>, tables: Tables) -> Self {
        let (queue, pending) = mpsc::channel();
        std::thread::Builder::new()
            .name("casa-user-inputs".into())
            .spawn(move || write_batches(&db, tables, pending))
            .expect("spawning the user input writer");
        Self { queue }
    }

    /// Returns once `row` is durably stored (with every row queued beside it).
    pub(super) async fn put(&self, row: Row) -> Result<(), StoreError> {
        let (done, committed) = oneshot::channel();
        self.put_then(row, Box::new(move |result| drop(done.send(result))));
        committed.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// Calls `done` on the writer thread once `row` is durably stored (or
    /// with the error), or here at once if the writer is gone.
    pub(super) fn put_then(&self, row: Row, done: WriteDone) {
        if let Err(mpsc::SendError(p)) = self.queue.send(Pending { row, done }) {
            (p.done)(Err(stopped()));
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the user input writer stopped".into())
}

fn write_batches(db: &Weak<Database>, tables: Tables, pending: Receiver<Pending>) {
    while let Ok(first) = pending.recv() {
        let mut batch = vec![first];
        batch.extend(pending.try_iter().take(MAX_BATCH - 1));
        let result = match db.upgrade() {
            Some(db) => commit(&db, tables, &batch).map_err(|e| e.to_string()),
            None => Err("the store is closed".into()),
        };
        if result.is_ok() {
            metrics::counter!(crate::telemetry::USER_INPUT_COMMITS.name).increment(1);
            metrics::counter!(crate::telemetry::USER_INPUTS_COMMITTED.name).increment(batch.len() as u64);
        }
        for p in batch {
            (p.done)(result.clone().map_err(StoreError::Backend));
        }
    }
}

fn commit(db: &Database, (inputs, input_mas): Tables, batch: &[Pending]) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    {
        let mut inputs = txn.open_table(inputs)?;
        let mut input_mas = txn.open_table(input_mas)?;
        for Pending { row, .. } in batch {
            inputs.insert(row.key, row.bytes.as_slice())?;
            input_mas.insert(row.key.1, row.key.0)?;
        }
    }
    txn.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use redb::{ReadableDatabase, TableDefinition};

    use super::*;

    const INPUTS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("inputs");
    const INPUT_MAS: TableDefinition<u128, u128> = TableDefinition::new("input_mas");

    fn writer() -> (tempfile::TempDir, Arc<Database>, GroupCommit) {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Database::create(dir.path().join("db.redb")).unwrap());
        let writer = GroupCommit::start(Arc::downgrade(&db), (INPUTS, INPUT_MAS));
        (dir, db, writer)
    }

    /// `put_then`'s answer, waited for here.
    async fn put_then(writer: &GroupCommit, row: Row) -> Result<(), StoreError> {
        let (done, answered) = oneshot::channel();
        writer.put_then(row, Box::new(move |result| drop(done.send(result))));
        answered.await.expect("the writer answers every row")
    }

    #[tokio::test]
    async fn a_row_is_readable_once_its_writer_answers() {
        let (_dir, db, writer) = writer();
        put_then(&writer, Row { key: (1, 2), bytes: b"input".to_vec() }).await.unwrap();
        let txn = db.begin_read().unwrap();
        let inputs = txn.open_table(INPUTS).unwrap();
        assert_eq!(inputs.get((1, 2)).unwrap().unwrap().value(), b"input");
        assert_eq!(txn.open_table(INPUT_MAS).unwrap().get(2).unwrap().unwrap().value(), 1);
    }

    #[tokio::test]
    async fn a_row_the_writer_cannot_commit_is_answered_with_the_error() {
        let (_dir, db, writer) = writer();
        drop(db); // the store closed under its writer: the commit cannot happen
        let err = put_then(&writer, Row { key: (1, 2), bytes: b"input".to_vec() }).await.unwrap_err();
        assert!(err.to_string().contains("the store is closed"), "{err}");
        let err = writer.put(Row { key: (1, 3), bytes: b"input".to_vec() }).await.unwrap_err();
        assert!(err.to_string().contains("the store is closed"), "{err}");
    }
}
