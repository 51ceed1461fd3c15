//! The store conformance suite against the embedded (redb) store.

use std::sync::Arc;

use casa_actors::store::{EmbeddedStore, KeySeal, LocalKek, Store};

async fn open() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    (dir, store)
}

// The embedded store keeps events until the purge (which the cases run) deletes them.
casa_actors::store_conformance_tests!(open(), |_retention| open());

#[tokio::test]
async fn realm_keys_are_sealed_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let clear = EmbeddedStore::open(dir.path()).unwrap();
    let sealed = clear.clone().with_key_seal(KeySeal::new(Some(Arc::new(LocalKek::generate().0))));
    casa_actors::testsuite::realm_keys_are_sealed_at_rest(&sealed, &clear).await;
}
