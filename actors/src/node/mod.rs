//! A casa node: the supervision tree, and the façade the HTTP layer calls.
//!
//! ```text
//! NodeSupervisor
//! ├── MasRegistry
//! │   └── MasActor × N
//! └── ClusterManager (in a cluster: see `cluster`)
//! ```
//!
//! This file holds the node's state, its start and its routing of calls to
//! MAS actors; `supervisor` the root of the tree, `management` the MAS and
//! app operations, `oauth` the token operations.

mod management;
mod oauth;
mod supervisor;

pub use supervisor::SupervisorMsg;
use supervisor::{NodeSupervisor, SupervisorArgs};

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use ractor::{Actor, ActorProcessingErr, ActorRef, ActorStatus, SupervisionEvent};
use ractor_cluster::RactorMessage;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::cluster::{Cluster, ClusterConfig, ClusterManager, ManagerArgs};
use crate::error::{Cause, CoreError};
use crate::intent::{self, AiError, Embedder, Judge, Judgement, TaskExtractor};
use crate::mas::in_flight::InFlight;
use crate::mas::{AppId, AppUpdate, MasMsg, MasView};
use crate::membership::{Route, View};
use crate::model::*;
use crate::oauth::*;
use crate::readiness::ReadinessMonitor;
use crate::registry::{MasRegistry, RegistryArgs, RegistryHandle, RegistryMsg};
use crate::session::UserInputContent;
use crate::store::Store;
use crate::token;
use crate::trace::TraceSink;
use crate::wire::{ask, CallFailure, Reply, Wire};

type Result<T> = std::result::Result<T, CoreError>;

#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Base URL clients reach the node at, without a trailing slash; realm
    /// issuers are `<public_url>/realms/<mas id>`.
    pub public_url: String,
    /// Stop a MAS actor after this long without requests.
    pub idle_timeout: Duration,
    /// Deadline of every actor call.
    pub call_timeout: Duration,
    /// Set when this node is one of a cluster.
    pub cluster: Option<ClusterConfig>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            idle_timeout: Duration::from_secs(600),
            call_timeout: Duration::from_secs(5),
            cluster: None,
        }
    }
}

/// The node's AI services, each optional: the checks that need a missing
/// one cannot be enabled, and fail closed where they already were.
#[derive(Clone)]
pub struct Ai {
    pub embedder: Option<Arc<dyn Embedder>>,
    pub judge: Option<Arc<dyn Judge>>,
    /// Derives a conversation's task with an LLM (else: from the user turns).
    pub extractor: Option<Arc<dyn TaskExtractor>>,
    /// How long a judge's verdict on (intent, tool) is reused.
    pub judge_cache_ttl: Duration,
}

impl Default for Ai {
    fn default() -> Self {
        Self { embedder: None, judge: None, extractor: None, judge_cache_ttl: Duration::from_secs(3600) }
    }
}

impl Ai {
    pub fn capabilities(&self) -> Capabilities {
        Capabilities { embedder: self.embedder.is_some(), llm_verifier: self.judge.is_some() }
    }
}

/// Tool embeddings by (model, tool definition digest), shared by every MAS of the node.
type ToolVectorCache = Arc<quick_cache::sync::Cache<(String, String), Arc<[f32]>>>;
const TOOL_VECTOR_CACHE_ENTRIES: usize = 20_000;

/// What the node knows of a client id. An app never changes MAS, so a known
/// entry never goes stale in a harmful way (a deleted app fails authentication
/// in its MAS); an unknown one is believed briefly, so a flood of made-up ids
/// costs one store read each per `UNKNOWN_CLIENT_TTL`, and an app created on
/// another node (a store read that lagged it) is found soon after.
#[derive(Clone, Copy)]
enum ClientMas {
    Known(Uuid),
    Unknown(Instant),
}
type ClientIndex = Arc<quick_cache::sync::Cache<Uuid, ClientMas>>;
const CLIENT_INDEX_ENTRIES: usize = 100_000;
const UNKNOWN_CLIENT_TTL: Duration = Duration::from_secs(10);

/// Verdicts of the judge by (intent digest, tool digest), with when each was given.
type VerdictCache = Arc<quick_cache::sync::Cache<(String, String), (Judgement, Instant)>>;
const VERDICT_CACHE_ENTRIES: usize = 10_000;

/// Where a routed call goes.
enum Owner {
    Local,
    Remote(String),
}

/// A running node. Cheap to clone; every method is safe to call concurrently.
#[derive(Clone)]
pub struct Node {
    store: Arc<dyn Store>,
    config: NodeConfig,
    registry: RegistryHandle,
    supervisor: ActorRef<SupervisorMsg>,
    supervisor_task: Arc<tokio::sync::Mutex<Option<JoinHandle<()>>>>,
    /// client id → its MAS, or that the store had no such app (for a while).
    client_mas: ClientIndex,
    ai: Ai,
    verdicts: VerdictCache,
    tool_vectors: ToolVectorCache,
    cluster: Option<Cluster>,
    readiness: Arc<ReadinessMonitor>,
    /// Calls in flight per MAS: past the limit, refused at once.
    in_flight: InFlight,
}

impl Node {
    /// A node without AI services.
    pub async fn start(store: Arc<dyn Store>, trace: Arc<dyn TraceSink>, config: NodeConfig) -> Result<Node> {
        Self::start_with(store, trace, Ai::default(), config).await
    }

    pub async fn start_with(
        store: Arc<dyn Store>,
        trace: Arc<dyn TraceSink>,
        ai: Ai,
        config: NodeConfig,
    ) -> Result<Node> {
        let registry = RegistryHandle::default();
        let active = Arc::new(AtomicUsize::new(0));
        let views = config
            .cluster
            .as_ref()
            .map(|c| tokio::sync::watch::channel(Arc::new(View::starting(&c.node_name, c.timing))));
        let args = SupervisorArgs {
            store: store.clone(),
            trace,
            ai: ai.clone(),
            config: config.clone(),
            registry: registry.clone(),
            view: views.as_ref().map(|(tx, _)| tx.subscribe()),
            active: active.clone(),
        };
        let (supervisor, task) = Actor::spawn(None, NodeSupervisor, args)
            .await
            .map_err(|e| CoreError::internal(Cause::because("starting the supervision tree", &e)))?;
        let cluster = match (&config.cluster, views) {
            (Some(c), Some((publish, view))) => {
                let tls =
                    crate::cluster::tls::ClusterTls::load(&c.tls, &c.tls_server_name).map_err(CoreError::internal)?;
                let identities = crate::cluster::identity::Identities::new(&c.tls_server_name);
                let args = ManagerArgs {
                    config: Arc::new(c.clone()),
                    tls: Arc::new(tls),
                    publish,
                    registry: registry.clone(),
                    active_mas: active,
                    call_timeout: config.call_timeout,
                    identities: identities.clone(),
                };
                let (manager, _) = Actor::spawn_linked(None, ClusterManager, args, supervisor.get_cell())
                    .await
                    .map_err(|e| CoreError::internal(Cause::because("starting the cluster manager", &e)))?;
                Some(Cluster::new(view, manager, c, identities))
            }
            _ => None,
        };
        let readiness = Arc::new(ReadinessMonitor::start(store.clone(), ai.capabilities()).await);
        Ok(Node {
            store,
            config,
            registry,
            supervisor,
            supervisor_task: Arc::new(tokio::sync::Mutex::new(Some(task))),
            client_mas: Arc::new(quick_cache::sync::Cache::new(CLIENT_INDEX_ENTRIES)),
            ai,
            verdicts: Arc::new(quick_cache::sync::Cache::new(VERDICT_CACHE_ENTRIES)),
            tool_vectors: Arc::new(quick_cache::sync::Cache::new(TOOL_VECTOR_CACHE_ENTRIES)),
            cluster,
            readiness,
            in_flight: InFlight::default(),
        })
    }

    /// Sets how many calls this node keeps in flight to one MAS (default
    /// [`crate::mas::in_flight::DEFAULT_CALLS_PER_MAS`]); more are refused at once.
    pub fn with_calls_in_flight_per_mas(mut self, limit: usize) -> Self {
        self.in_flight = InFlight::new(limit);
        self
    }

    /// Starts the wire collector under this node's supervisor.
    pub async fn start_collector(
        &self,
        args: crate::collector::actor::CollectorArgs,
    ) -> Result<ActorRef<crate::collector::actor::CollectorMsg>> {
        crate::collector::actor::spawn(args, Some(self.supervisor.get_cell())).await
    }

    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_ref()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn registry_call<T: Send + 'static>(
        &self,
        build: impl FnOnce(ractor::RpcReplyPort<Result<T>>) -> RegistryMsg,
    ) -> Result<T> {
        self.registry.call(build, self.config.call_timeout).await
    }

    /// Sends a call to the MAS's actor on this node: a running one as the
    /// registry published it, else the registry's (it starts a cold one). If
    /// the actor stopped between lookup and delivery (idle eviction,
    /// deletion), the message was never delivered, so one retry on the
    /// registry's answer is safe.
    async fn call_local<T: Send + 'static>(
        &self,
        mas_id: Uuid,
        build: &impl Fn(ractor::RpcReplyPort<Reply<T>>) -> MasMsg,
    ) -> Result<T> {
        let mut published = self.registry.running.get(mas_id);
        // A stale published actor costs no registry attempt.
        for _ in 0..2 + usize::from(published.is_some()) {
            let actor = match published.take() {
                Some(actor) => actor,
                None => self.registry_call(|port| RegistryMsg::Lookup(mas_id, port)).await?,
            };
            match ask(&actor, build, self.config.call_timeout).await {
                Ok(value) => return Ok(value),
                Err(CallFailure::Failed(err)) => return Err(err),
                Err(CallFailure::NotRunning) => continue,
            }
        }
        Err(CoreError::unavailable(format!("the actor of MAS {mas_id} keeps stopping")))
    }

    /// Sends a call to the MAS's actor, on whichever node owns it.
    async fn call_mas<T>(&self, mas_id: Uuid, build: impl Fn(ractor::RpcReplyPort<Reply<T>>) -> MasMsg) -> Result<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    {
        let _permit = self.in_flight.acquire(mas_id)?;
        let Some(cluster) = &self.cluster else { return self.call_local(mas_id, &build).await };
        let build = &build;
        self.routed(cluster, mas_id, |route| async move {
            match route {
                Owner::Local => self.call_local(mas_id, build).await,
                Owner::Remote(owner) => cluster.call_remote(&owner, mas_id, build).await,
            }
        })
        .await
    }

    /// Runs `attempt` on the route of `mas_id`, again while the answer is
    /// `NotOwner` (nothing was done) and the hand-off budget lasts; then 503.
    async fn routed<T, F>(&self, cluster: &Cluster, mas_id: Uuid, attempt: impl Fn(Owner) -> F) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>>,
    {
        let deadline = Instant::now() + cluster.handoff_budget();
        loop {
            let view = cluster.view();
            let outcome = match view.route(mas_id, Instant::now()) {
                Route::Local => attempt(Owner::Local).await,
                Route::Remote(owner) => attempt(Owner::Remote(owner.to_string())).await,
                Route::Wait(why) => Err(CoreError::not_owner(why)),
            };
            match outcome {
                Err(CoreError::NotOwner(why)) => {
                    if Instant::now() >= deadline {
                        metrics::counter!(crate::telemetry::CLUSTER_HANDOFF_TIMEOUTS.name).increment(1);
                        return Err(CoreError::unavailable(format!("MAS {mas_id} is not served right now: {why}")));
                    }
                    cluster.changed(Duration::from_millis(50)).await;
                }
                other => return other,
            }
        }
    }

    /// Is the supervision tree up, the store answering, and every MAS servable
    /// here? In-memory facts only; the reason names no tenant.
    pub fn readiness(&self) -> std::result::Result<(), String> {
        if self.supervisor.get_status() != ActorStatus::Running {
            return Err("the node supervisor is not running".into());
        }
        match self.registry.actor() {
            Ok(r) if r.get_status() == ActorStatus::Running => {}
            _ => return Err("the MAS registry is not running".into()),
        }
        if let Some(why) = self.readiness.facts().not_ready {
            return Err(why.into());
        }
        if let Some(cluster) = &self.cluster {
            if let Some(why) = &cluster.view().not_serving {
                return Err(format!("cluster: {why}"));
            }
        }
        Ok(())
    }

    pub async fn mas_actor_count(&self) -> usize {
        self.registry_call(RegistryMsg::Count).await.unwrap_or(0)
    }
    pub fn capabilities(&self) -> Capabilities {
        self.ai.capabilities()
    }

    pub fn embedder(&self) -> Option<&Arc<dyn Embedder>> {
        self.ai.embedder.as_ref()
    }

    /// Stops the supervision tree and waits for it.
    pub async fn shutdown(&self) {
        self.supervisor.stop(Some("shutdown".into()));
        if let Some(task) = self.supervisor_task.lock().await.take() {
            let _ = task.await;
        }
    }
}
