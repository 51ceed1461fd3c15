//! The store conformance suite against the embedded (redb) store.

use std::sync::Arc;

use casa_actors::store::{EmbeddedStore, Store};

casa_actors::store_conformance_tests!(async {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    (dir, store)
});
