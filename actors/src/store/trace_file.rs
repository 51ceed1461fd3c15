//! The embedded store's second file. Trace events live in `traces.redb`, beside
//! `casa.redb`: redb has one write lock per file, and the trace writer's large
//! batches held it while issuances waited to commit their user inputs. Data
//! dirs written before the split (schema 1) have their trace tables moved over
//! when they are opened.

use redb::{Database, Key, TableDefinition, TableHandle, Value};

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
