//! The store conformance suite against the embedded (redb) store.

use std::sync::Arc;

use casa_actors::store::{EmbeddedStore, Store};

async fn open() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    (dir, store)
}

// The embedded store keeps events until the purge (which the cases run) deletes them.
casa_actors::store_conformance_tests!(open(), |_retention| open());
