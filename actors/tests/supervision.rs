//! The supervision tree: MAS actors start on demand, stop when idle, and a
//! panicking MAS actor is restarted from stored state; a panicking trace
//! writer is restarted without losing what it had accepted.

use std::sync::Arc;
use std::time::Duration;

use casa_actors::model::*;
use casa_actors::node::{Node, NodeConfig};
use casa_actors::oauth::{ClientCredentials, IssueRequest};
use casa_actors::retention::Retention;
use casa_actors::store::{EmbeddedStore, Store};
use casa_actors::testsuite::faults::{Fault, FaultyStore};
use casa_actors::trace::{EventKind, TraceEvent, TraceSink};
use casa_actors::trace_writer::{verify_chain, TraceWriter, WriterConfig};
use casa_actors::CoreError;
use uuid::Uuid;

fn faulty(dir: &std::path::Path) -> Arc<FaultyStore> {
    Arc::new(FaultyStore::new(Arc::new(EmbeddedStore::open(dir).unwrap())))
}

fn agent(mas_id: Uuid, name: &str) -> NewApp {
    NewApp {
        mas_id,
        name: name.into(),
        app_type: AppType::Agent,
        base_url: None,
        allowed_tools: vec!["fs:read".into()],
        tools: vec![],
    }
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test]
async fn a_panicking_mas_actor_is_restarted_from_stored_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = faulty(dir.path());
    let node = Node::start(store.clone(), Arc::new(casa_actors::trace::LogSink), NodeConfig::default()).await.unwrap();
    let mas = node.create_mas(NewMas { name: "resilient".into(), ..Default::default() }).await.unwrap();
    let id = mas.mas.id;
    let first = node.create_app(agent(id, "planner")).await.unwrap();

    store.arm("put_app", Fault::Panic, 1);
    let err = node.create_app(agent(id, "doomed")).await.unwrap_err();
    assert!(matches!(err, CoreError::Internal(_)), "{err:?}");

    // The restarted actor has the stored state: the first app, not the doomed one,
    // and the same realm key.
    eventually("the actor to come back", async || node.mas_actor_count().await == 1).await;
    let again = node.get_mas(id).await.unwrap();
    assert_eq!(again.active_kid, mas.active_kid);
    let second = node.create_app(agent(id, "executor")).await.unwrap();
    let dup = node.create_app(agent(id, "planner")).await.unwrap_err();
    assert!(matches!(dup, CoreError::Conflict(_)), "the restarted actor forgot an app: {dup:?}");
    let names: Vec<_> = store.apps_of_mas(id).await.unwrap().into_iter().map(|a| a.name).collect();
    assert_eq!(names, vec!["planner", "executor"]);
    assert_ne!(first.app.id, second.app.id);
    node.shutdown().await;
}

#[tokio::test]
async fn no_token_is_handed_out_for_a_user_input_the_store_did_not_take() {
    let dir = tempfile::tempdir().unwrap();
    let store = faulty(dir.path());
    store.break_op("put_user_input", Fault::Fail);
    let trace = Arc::new(casa_actors::trace::MemorySink::default());
    let node = Node::start(store.clone(), trace.clone(), NodeConfig::default()).await.unwrap();
    let id = node.create_mas(NewMas { name: "durable".into(), ..Default::default() }).await.unwrap().mas.id;
    let client = node.create_app(agent(id, "planner")).await.unwrap();
    let issue = || IssueRequest {
        client: ClientCredentials {
            client_id: client.app.client_id.clone(),
            client_secret: client.client_secret.clone(),
        },
        user_input: Some("read my notes".into()),
        user_input_id: None,
        tools: None,
        intent: None,
    };
    let err = node.issue_token(issue()).await.unwrap_err();
    assert!(matches!(err, CoreError::Unavailable(_)), "{err:?}");
    assert!(!trace.events().iter().any(|e| e.type_name() == "token_issued"), "an issuance was recorded");
    // The MAS kept serving meanwhile, and issues once the store takes writes again.
    store.heal("put_user_input");
    let token = node.issue_token(issue()).await.unwrap();
    assert!(store.get_user_input(id, token.user_input_id.parse().unwrap()).await.unwrap().is_some());
    node.shutdown().await;
}

#[tokio::test]
async fn idle_mas_actors_stop_and_start_again_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let config = NodeConfig { idle_timeout: Duration::from_millis(200), ..NodeConfig::default() };
    let node = Node::start(store, Arc::new(casa_actors::trace::LogSink), config).await.unwrap();
    let a = node.create_mas(NewMas { name: "a".into(), ..Default::default() }).await.unwrap();
    let b = node.create_mas(NewMas { name: "b".into(), ..Default::default() }).await.unwrap();
    assert_eq!(node.mas_actor_count().await, 2);
    eventually("idle actors to stop", async || node.mas_actor_count().await == 0).await;
    assert_eq!(node.get_mas(a.mas.id).await.unwrap(), a);
    assert_eq!(node.mas_actor_count().await, 1);
    node.delete_mas(b.mas.id).await.unwrap();
    assert!(matches!(node.get_mas(b.mas.id).await, Err(CoreError::NotFound { .. })));
    node.shutdown().await;
}

#[tokio::test]
async fn a_mas_in_use_is_not_stopped_as_idle() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let config = NodeConfig { idle_timeout: Duration::from_millis(200), ..NodeConfig::default() };
    let node = Node::start(store, Arc::new(casa_actors::trace::LogSink), config).await.unwrap();
    let a = node.create_mas(NewMas { name: "busy".into(), ..Default::default() }).await.unwrap();
    // Requests reach a running actor without the registry: their use must
    // still count, or the actor is stopped every 200 ms under them.
    for _ in 0..25 {
        assert_eq!(node.get_mas(a.mas.id).await.unwrap(), a);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(node.mas_actor_count().await, 1, "a MAS in use was stopped as idle");
    }
    node.shutdown().await;
}

#[tokio::test]
async fn tenants_are_isolated_and_names_unique_per_mas() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        Arc::new(EmbeddedStore::open(dir.path()).unwrap()),
        Arc::new(casa_actors::trace::LogSink),
        NodeConfig::default(),
    )
    .await
    .unwrap();
    let one = node.create_mas(NewMas { name: "one".into(), ..Default::default() }).await.unwrap().mas.id;
    let two = node.create_mas(NewMas { name: "two".into(), ..Default::default() }).await.unwrap().mas.id;
    let server = |mas_id| NewApp {
        mas_id,
        name: "fs".into(),
        app_type: AppType::McpServer,
        base_url: Some("http://127.0.0.1:9/".into()),
        allowed_tools: vec![],
        tools: vec![ToolDef {
            name: "fs:read".into(),
            description: "Read a file".into(),
            input_schema: None,
            ..Default::default()
        }],
    };
    node.create_app(server(one)).await.unwrap();
    // The same app and tool names are fine in another MAS...
    node.create_app(server(two)).await.unwrap();
    // ...but not twice in one.
    assert!(matches!(node.create_app(server(one)).await, Err(CoreError::Conflict(_))));
    let mut other = server(one);
    other.name = "fs2".into();
    assert!(matches!(node.create_app(other).await, Err(CoreError::Conflict(_))));
    assert_eq!(node.list_tools(one).await.unwrap().len(), 1);
    node.delete_mas(one).await.unwrap();
    assert_eq!(node.list_tools(two).await.unwrap().len(), 1);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_racing_a_delete_see_success_or_not_found_and_leave_no_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let node = Node::start(store.clone(), Arc::new(casa_actors::trace::LogSink), NodeConfig::default()).await.unwrap();
    let id = node.create_mas(NewMas { name: "doomed".into(), ..Default::default() }).await.unwrap().mas.id;
    let mut writers = Vec::new();
    for i in 0..40 {
        let node = node.clone();
        writers.push(tokio::spawn(async move { node.create_app(agent(id, &format!("a{i}"))).await }));
    }
    node.delete_mas(id).await.unwrap();
    for w in writers {
        match w.await.unwrap() {
            Ok(_) | Err(CoreError::NotFound { .. }) => {}
            Err(other) => panic!("a request racing the delete failed with {other:?}"),
        }
    }
    assert!(store.apps_of_mas(id).await.unwrap().is_empty(), "apps outlived their MAS");
    assert!(matches!(node.get_mas(id).await, Err(CoreError::NotFound { .. })));
    node.shutdown().await;
}

#[tokio::test]
async fn a_killed_trace_writer_comes_back_without_losing_accepted_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = faulty(dir.path());
    // The first batch kills the writer twice: reading its chain's head, then
    // writing it (before and after it was linked).
    store.arm("trace_head", Fault::Panic, 1);
    store.arm("append_traces", Fault::Panic, 1);
    let config = WriterConfig { interval: Duration::from_millis(5), ..WriterConfig::default() };
    let writer = TraceWriter::start(store.clone(), config);
    let mas = Uuid::now_v7();
    let event =
        |i: usize| TraceEvent::new(mas, EventKind::LlmCall { call_id: format!("c{i}"), selected_tools: vec![] });
    for i in 0..10 {
        writer.record(event(i));
    }
    let stored = async || store.traces(Some(mas), None, 100).await.unwrap().len();
    eventually("the restarted writer to store the first batch", async || stored().await == 10).await;
    // It keeps writing after its restarts, onto the same chain.
    for i in 10..20 {
        writer.record(event(i));
    }
    writer.flush_and_stop().await;
    assert_eq!(stored().await, 20);
    assert_eq!(writer.dropped(), 0);
    let report = verify_chain(&*store, mas, Retention::Forever).await.unwrap().unwrap();
    assert_eq!((report.events, report.unconfirmed), (20, 0), "{report:?}");
}
