//! Readiness answers from memory: a probe (unauthenticated) makes no store
//! call, and a store that stops answering turns the node not ready soon after.

use std::sync::Arc;
use std::time::Duration;

use casa_actors::model::*;
use casa_actors::node::{Node, NodeConfig};
use casa_actors::store::EmbeddedStore;
use casa_actors::testsuite::faults::{Fault, FaultyStore};

#[tokio::test]
async fn probes_cost_no_store_work_and_a_dead_store_is_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FaultyStore::new(Arc::new(EmbeddedStore::open(dir.path()).unwrap())));
    // No AI services: the node must look for MAS it cannot serve.
    let node = Node::start(store.clone(), Arc::new(casa_actors::trace::LogSink), NodeConfig::default()).await.unwrap();
    for i in 0..3 {
        node.create_mas(NewMas { name: format!("m{i}"), ..Default::default() }).await.unwrap();
    }
    store.record("ping");
    store.record("list_mas");
    for _ in 0..1000 {
        assert_eq!(node.readiness(), Ok(()));
    }
    assert!(store.calls("list_mas").is_empty(), "a probe listed the MAS");
    assert!(store.calls("ping").len() <= 1, "probes pinged the store: {}", store.calls("ping").len());

    store.break_op("ping", Fault::Fail);
    let mut answer = node.readiness();
    for _ in 0..50 {
        if answer.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer = node.readiness();
    }
    assert_eq!(answer, Err("the store does not answer".to_string()));
    store.heal("ping");
    node.shutdown().await;
}
