//! The supervision tree: MAS actors start on demand, stop when idle, and a
//! panicking MAS actor is restarted from stored state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use casa_actors::model::*;
use casa_actors::node::{Node, NodeConfig};
use casa_actors::oauth::{ClientCredentials, IssueRequest};
use casa_actors::realm::RealmKey;
use casa_actors::revocation::Revocation;
use casa_actors::session::{LlmCall, UserInput};
use casa_actors::store::{EmbeddedStore, Store, StoreError};
use casa_actors::trace::TraceEvent;
use casa_actors::CoreError;
use uuid::Uuid;

/// A real embedded store whose `put_app` panics once when armed, the way a
/// buggy driver would, inside the MAS actor's handler.
struct FaultyStore {
    inner: EmbeddedStore,
    panic_next_put_app: AtomicBool,
    /// `put_user_input` fails (a full disk, a lost CQL node) while set.
    fail_user_inputs: AtomicBool,
}

#[async_trait]
impl Store for FaultyStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn create_mas(&self, m: &MasRecord, k: &RealmKey) -> Result<(), StoreError> {
        self.inner.create_mas(m, k).await
    }
    async fn update_mas(&self, m: &MasRecord) -> Result<(), StoreError> {
        self.inner.update_mas(m).await
    }
    async fn get_mas(&self, id: Uuid) -> Result<Option<MasRecord>, StoreError> {
        self.inner.get_mas(id).await
    }
    async fn list_mas(&self, q: Option<&str>, p: PageRequest) -> Result<Page<MasRecord>, StoreError> {
        self.inner.list_mas(q, p).await
    }
    async fn delete_mas(&self, id: Uuid) -> Result<bool, StoreError> {
        self.inner.delete_mas(id).await
    }
    async fn put_keys(&self, id: Uuid, k: &[RealmKey]) -> Result<(), StoreError> {
        self.inner.put_keys(id, k).await
    }
    async fn realm_keys(&self, id: Uuid) -> Result<Vec<RealmKey>, StoreError> {
        self.inner.realm_keys(id).await
    }
    async fn put_app(&self, a: &AppRecord) -> Result<(), StoreError> {
        if self.panic_next_put_app.swap(false, Ordering::SeqCst) {
            panic!("injected store panic");
        }
        self.inner.put_app(a).await
    }
    async fn get_app(&self, id: Uuid) -> Result<Option<AppRecord>, StoreError> {
        self.inner.get_app(id).await
    }
    async fn list_apps(&self, m: Option<Uuid>, p: PageRequest) -> Result<Page<AppRecord>, StoreError> {
        self.inner.list_apps(m, p).await
    }
    async fn apps_of_mas(&self, id: Uuid) -> Result<Vec<AppRecord>, StoreError> {
        self.inner.apps_of_mas(id).await
    }
    async fn delete_app(&self, id: Uuid) -> Result<bool, StoreError> {
        self.inner.delete_app(id).await
    }
    async fn put_user_input(&self, i: &UserInput) -> Result<(), StoreError> {
        if self.fail_user_inputs.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("injected write failure".into()));
        }
        self.inner.put_user_input(i).await
    }
    async fn get_user_input(&self, m: Uuid, id: Uuid) -> Result<Option<UserInput>, StoreError> {
        self.inner.get_user_input(m, id).await
    }
    async fn user_input_mas(&self, id: Uuid) -> Result<Option<Uuid>, StoreError> {
        self.inner.user_input_mas(id).await
    }
    async fn put_llm_call(&self, m: Uuid, u: Uuid, c: &LlmCall) -> Result<(), StoreError> {
        self.inner.put_llm_call(m, u, c).await
    }
    async fn llm_calls(&self, m: Uuid, u: Uuid) -> Result<Vec<LlmCall>, StoreError> {
        self.inner.llm_calls(m, u).await
    }
    async fn put_revocation(&self, m: Uuid, r: &Revocation) -> Result<(), StoreError> {
        self.inner.put_revocation(m, r).await
    }
    async fn revocations(&self, m: Uuid) -> Result<Vec<Revocation>, StoreError> {
        self.inner.revocations(m).await
    }
    async fn append_traces(&self, e: &[TraceEvent]) -> Result<(), StoreError> {
        self.inner.append_traces(e).await
    }
    async fn trace_head(&self, m: Uuid) -> Result<Option<String>, StoreError> {
        self.inner.trace_head(m).await
    }
    async fn traces(&self, m: Option<Uuid>, b: Option<Uuid>, l: usize) -> Result<Vec<TraceEvent>, StoreError> {
        self.inner.traces(m, b, l).await
    }
    async fn purge_traces(&self, cutoff: time::OffsetDateTime, limit: usize) -> Result<usize, StoreError> {
        self.inner.purge_traces(cutoff, limit).await
    }
    async fn session_traces(&self, u: &str) -> Result<Vec<TraceEvent>, StoreError> {
        self.inner.session_traces(u).await
    }
    async fn token_traces(&self, j: &str) -> Result<Vec<TraceEvent>, StoreError> {
        self.inner.token_traces(j).await
    }
    async fn get_meta(&self, k: &str) -> Result<Option<String>, StoreError> {
        self.inner.get_meta(k).await
    }
    async fn put_meta(&self, k: &str, v: &str) -> Result<(), StoreError> {
        self.inner.put_meta(k, v).await
    }
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
    let store = Arc::new(FaultyStore {
        inner: EmbeddedStore::open(dir.path()).unwrap(),
        panic_next_put_app: AtomicBool::new(false),
        fail_user_inputs: AtomicBool::new(false),
    });
    let node = Node::start(store.clone(), Arc::new(casa_actors::trace::LogSink), NodeConfig::default()).await.unwrap();
    let mas = node.create_mas(NewMas { name: "resilient".into(), ..Default::default() }).await.unwrap();
    let id = mas.mas.id;
    let first = node.create_app(agent(id, "planner")).await.unwrap();

    store.panic_next_put_app.store(true, Ordering::SeqCst);
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
    let store = Arc::new(FaultyStore {
        inner: EmbeddedStore::open(dir.path()).unwrap(),
        panic_next_put_app: AtomicBool::new(false),
        fail_user_inputs: AtomicBool::new(true),
    });
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
    store.fail_user_inputs.store(false, Ordering::SeqCst);
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
