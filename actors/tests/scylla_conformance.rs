//! The store conformance suite against a real CQL server: Apache Cassandra 5
//! on 127.0.0.1:9042, started by `scripts/cassandra start` (CI does this).
//! ScyllaDB speaks the same protocol to the same driver.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use casa_actors::store::{KeySeal, LocalKek, ScyllaStore, Store};

const REPLICATION: &str = "{'class': 'SimpleStrategy', 'replication_factor': 1}";

fn nodes() -> Vec<String> {
    std::env::var("CASA_CQL_NODES").unwrap_or_else(|_| "127.0.0.1:9042".into()).split(',').map(str::to_string).collect()
}

/// One fresh keyspace per test run, created once (schema changes are slow).
fn keyspace() -> &'static str {
    static KEYSPACE: OnceLock<String> = OnceLock::new();
    KEYSPACE.get_or_init(|| {
        let ks = format!("casa_test_{}", uuid::Uuid::new_v4().simple());
        let name = ks.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(ScyllaStore::connect(&nodes(), &name, REPLICATION, true))
                .unwrap_or_else(|e| panic!("no CQL server on {:?} ({e}): run scripts/cassandra start", nodes()));
        })
        .join()
        .unwrap();
        ks
    })
}

async fn connect(trace_ttl: Option<Duration>) -> ((), Arc<dyn Store>) {
    let store = ScyllaStore::connect(&nodes(), keyspace(), REPLICATION, false).await.unwrap();
    ((), Arc::new(store.with_trace_ttl(trace_ttl)) as Arc<dyn Store>)
}

casa_actors::store_conformance_tests!(connect(None), |retention| connect(Some(retention)));

#[tokio::test]
async fn realm_keys_are_sealed_at_rest() {
    let clear = ScyllaStore::connect(&nodes(), keyspace(), REPLICATION, false).await.unwrap();
    let sealed = clear.clone().with_key_seal(KeySeal::new(Some(Arc::new(LocalKek::generate().0))));
    casa_actors::testsuite::realm_keys_are_sealed_at_rest(&sealed, &clear).await;
}
