//! A busy MAS sheds load: past its calls in flight a call is refused at once,
//! and a call whose caller gave up (its deadline passed) is dropped unhandled.

use std::sync::Arc;
use std::time::{Duration, Instant};

use casa_actors::model::*;
use casa_actors::node::{Node, NodeConfig};
use casa_actors::store::EmbeddedStore;
use casa_actors::testsuite::faults::{Fault, FaultyStore};
use casa_actors::CoreError;
use uuid::Uuid;

fn agent(mas_id: Uuid, name: &str) -> NewApp {
    NewApp::new(mas_id, name, AppType::Agent, vec!["fs:read".into()], vec![])
}

#[tokio::test]
async fn a_busy_mas_refuses_at_once_and_drops_calls_nobody_waits_for() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FaultyStore::new(Arc::new(EmbeddedStore::open(dir.path()).unwrap())));
    let config = NodeConfig { call_timeout: Duration::from_secs(2), ..NodeConfig::default() };
    let node = Node::start(store.clone(), Arc::new(casa_actors::trace::LogSink), config)
        .await
        .unwrap()
        .with_calls_in_flight_per_mas(2);
    let id = node.create_mas(NewMas { name: "busy".into(), ..Default::default() }).await.unwrap().mas.id;

    // The first call holds the actor on a slow write; the second waits behind it.
    store.arm("put_app", Fault::Delay(Duration::from_secs(3)), 1);
    let (n1, n2) = (node.clone(), node.clone());
    let slow = tokio::spawn(async move { n1.create_app(agent(id, "slow")).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let queued = tokio::spawn(async move { n2.create_app(agent(id, "queued")).await });
    tokio::time::sleep(Duration::from_millis(50)).await;

    // A third is refused without waiting for the call deadline.
    let asked = Instant::now();
    let refused = node.get_mas(id).await.unwrap_err();
    assert!(matches!(refused, CoreError::Unavailable(_)), "{refused:?}");
    assert!(asked.elapsed() < Duration::from_secs(1), "waited {:?} to be refused", asked.elapsed());

    // Both callers give up at their deadline...
    for call in [slow, queued] {
        let err = call.await.unwrap().unwrap_err();
        assert!(matches!(err, CoreError::Unavailable(_)), "{err:?}");
    }
    // ...and the queued call is never carried out once the actor is free again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let apps = node.list_apps(Some(id), PageRequest { page: 1, page_size: 10 }).await.unwrap();
    let names: Vec<&str> = apps.items.iter().map(|a| a.name.as_str()).collect();
    assert!(!names.contains(&"queued"), "a call nobody waited for was carried out: {names:?}");
    assert!(node.get_mas(id).await.is_ok(), "the MAS serves again");
}
