//! A casa node: the supervision tree, and the façade the HTTP layer calls.
//!
//! ```text
//! NodeSupervisor
//! ├── MasRegistry
//! │   └── MasActor × N
//! └── ClusterManager (in a cluster: see `cluster`)
//! ```

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, RwLock};
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

/// Verdicts of the judge by (intent digest, tool digest), with when each was given.
type VerdictCache = Arc<quick_cache::sync::Cache<(String, String), (Judgement, Instant)>>;
const VERDICT_CACHE_ENTRIES: usize = 10_000;

#[derive(RactorMessage)]
pub enum SupervisorMsg {}

struct NodeSupervisor;

struct SupervisorArgs {
    store: Arc<dyn Store>,
    trace: Arc<dyn TraceSink>,
    ai: Ai,
    config: NodeConfig,
    registry: RegistryHandle,
    view: Option<tokio::sync::watch::Receiver<Arc<View>>>,
    active: Arc<AtomicUsize>,
}

impl NodeSupervisor {
    async fn start_registry(
        me: &ActorRef<SupervisorMsg>,
        args: &SupervisorArgs,
    ) -> std::result::Result<(), ActorProcessingErr> {
        let registry_args = RegistryArgs {
            store: args.store.clone(),
            trace: args.trace.clone(),
            public_url: args.config.public_url.clone(),
            capabilities: args.ai.capabilities(),
            embedder: args.ai.embedder.clone(),
            idle_timeout: args.config.idle_timeout,
            view: args.view.clone(),
            active: args.active.clone(),
        };
        let (registry, _) = Actor::spawn_linked(None, MasRegistry, registry_args, me.get_cell()).await?;
        args.registry.serve(registry);
        Ok(())
    }
}

impl Actor for NodeSupervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorArgs;
    type Arguments = SupervisorArgs;

    async fn pre_start(
        &self,
        me: ActorRef<SupervisorMsg>,
        args: SupervisorArgs,
    ) -> std::result::Result<SupervisorArgs, ActorProcessingErr> {
        Self::start_registry(&me, &args).await?;
        Ok(args)
    }

    async fn handle_supervisor_evt(
        &self,
        me: ActorRef<SupervisorMsg>,
        event: SupervisionEvent,
        state: &mut SupervisorArgs,
    ) -> std::result::Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(cell, err) = event {
            if cell.get_name().is_some_and(|n| n.starts_with(crate::collector::actor::ACTOR_NAME)) {
                // The wire collector restarts its own worker; it never takes the node down.
                tracing::error!(error = %err, "the wire collector failed; this node keeps serving without it");
                return Ok(());
            }
            if !state.registry.is(cell.get_id()) {
                // The cluster manager: `Cluster::view` now serves nothing (fail closed).
                tracing::error!(error = %err, "the cluster manager failed; this node serves no MAS");
                return Ok(());
            }
            tracing::error!(error = %err, "MAS registry failed; restarting it");
            // Its MAS actors are rebuilt on demand by the new registry.
            cell.stop_children(Some("registry restart".into()));
            Self::start_registry(&me, state).await?;
        }
        Ok(())
    }
}

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
    /// client id → its MAS. An app never changes MAS, so entries never go stale
    /// in a harmful way (a deleted app fails authentication in its MAS).
    client_mas: Arc<RwLock<HashMap<Uuid, Uuid>>>,
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
            client_mas: Arc::default(),
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

    /// Sends a call to the MAS's actor on this node. If the actor stopped
    /// between lookup and delivery (idle eviction, deletion), the message was
    /// never delivered, so one retry on a fresh lookup is safe.
    async fn call_local<T: Send + 'static>(
        &self,
        mas_id: Uuid,
        build: &impl Fn(ractor::RpcReplyPort<Reply<T>>) -> MasMsg,
    ) -> Result<T> {
        for _ in 0..2 {
            let actor = self.registry_call(|port| RegistryMsg::Lookup(mas_id, port)).await?;
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

    pub async fn create_mas(&self, input: NewMas) -> Result<MasView> {
        let id = Uuid::now_v7();
        let Some(cluster) = &self.cluster else {
            return self.registry_call(|port| RegistryMsg::Create(id, input, port)).await;
        };
        let input = &input;
        self.routed(cluster, id, |route| async move {
            match route {
                Owner::Local => self.registry_call(|port| RegistryMsg::Create(id, input.clone(), port)).await,
                Owner::Remote(owner) => cluster.create_remote(&owner, id, input.clone()).await,
            }
        })
        .await
    }

    pub async fn get_mas(&self, id: Uuid) -> Result<MasView> {
        self.call_mas(id, MasMsg::Get).await
    }

    /// Straight from the store: listing must not start an actor per MAS.
    pub async fn list_mas(&self, name_contains: Option<&str>, page: PageRequest) -> Result<Page<MasView>> {
        let records = self.store.list_mas(name_contains, page).await?;
        let mut items = Vec::with_capacity(records.items.len());
        for mas in records.items {
            let keys = self.store.realm_keys(mas.id).await?;
            let active_kid = crate::realm::Keyring::new(keys).map(|k| k.active().kid.clone()).unwrap_or_default();
            items.push(MasView { mas, active_kid });
        }
        Ok(Page { items, total: records.total, page: records.page, page_size: records.page_size })
    }

    pub async fn update_mas(&self, id: Uuid, patch: MasPatch) -> Result<MasView> {
        self.call_mas(id, |port| MasMsg::Update(Wire(patch.clone()), port)).await
    }

    pub async fn delete_mas(&self, id: Uuid) -> Result<()> {
        self.call_mas(id, MasMsg::Delete).await?;
        // Until the registry has retired it, the actor answers NotFound.
        if let Ok(registry) = self.registry.actor() {
            let _ = registry.cast(RegistryMsg::Retire(id));
        }
        Ok(())
    }

    pub async fn rotate_key(&self, id: Uuid) -> Result<String> {
        self.call_mas(id, MasMsg::RotateKey).await
    }

    pub async fn jwks(&self, id: Uuid) -> Result<serde_json::Value> {
        self.call_mas(id, MasMsg::Jwks).await
    }

    pub async fn list_tools(&self, mas_id: Uuid) -> Result<Vec<ToolEntry>> {
        self.call_mas(mas_id, MasMsg::ListTools).await
    }

    pub async fn create_app(&self, input: NewApp) -> Result<AppWithSecret> {
        // Validated here too, so that only valid tools cost model time.
        let mut input = crate::validate::new_app(input)?;
        self.embed_tools(input.mas_id, &mut input.tools).await?;
        self.call_mas(input.mas_id, |port| MasMsg::CreateApp(Wire(input.clone()), port)).await
    }

    /// Attaches each tool's embedding, for a MAS that runs the semantic check
    /// (others get theirs on first need, if they ever turn it on).
    async fn embed_tools(&self, mas_id: Uuid, tools: &mut [ToolDef]) -> Result<()> {
        if self.ai.embedder.is_none() || tools.is_empty() {
            return Ok(());
        }
        let runs = self.store.get_mas(mas_id).await?.is_some_and(|m| m.settings.runs(CheckName::SemanticIntentMatch));
        if !runs {
            return Ok(());
        }
        let texts = tools.iter().map(|t| (intent::tool_digest(t), intent::tool_text(t))).collect();
        for (tool, embedding) in tools.iter_mut().zip(self.tool_embeddings(texts).await?) {
            tool.embedding = Some(embedding);
        }
        Ok(())
    }

    /// Embeddings of tool texts by their definition's digest, from the node's
    /// cache where it has them: a tool offered by many MAS is embedded once.
    async fn tool_embeddings(&self, tools: Vec<(String, String)>) -> Result<Vec<intent::Embedding>> {
        if tools.is_empty() {
            return Ok(Vec::new());
        }
        let Some(embedder) = &self.ai.embedder else {
            return Err(CoreError::unavailable("this node has no embedder"));
        };
        let model = embedder.model().to_string();
        let key = |digest: &str| (model.clone(), digest.to_string());
        let mut vectors: Vec<Option<Arc<[f32]>>> =
            tools.iter().map(|(digest, _)| self.tool_vectors.get(&key(digest))).collect();
        let missing: Vec<usize> = (0..tools.len()).filter(|&i| vectors[i].is_none()).collect();
        if !missing.is_empty() {
            let computed = embedder
                .embed(missing.iter().map(|&i| tools[i].1.clone()).collect())
                .await
                .map_err(|e| CoreError::unavailable(Cause::because("embedding the tools", &e)))?;
            for (&i, vector) in missing.iter().zip(computed) {
                let vector: Arc<[f32]> = vector.into();
                self.tool_vectors.insert(key(&tools[i].0), vector.clone());
                vectors[i] = Some(vector);
            }
        }
        Ok(vectors
            .into_iter()
            .map(|v| intent::Embedding { model: model.clone(), vector: v.expect("every tool embedded").to_vec() })
            .collect())
    }

    pub async fn get_user_input(&self, id: Uuid) -> Result<crate::session::UserInput> {
        let not_found = || CoreError::not_found("user input", id);
        let mas = self.store.user_input_mas(id).await?.ok_or_else(not_found)?;
        self.store.get_user_input(mas, id).await?.ok_or_else(not_found)
    }

    pub async fn get_app(&self, id: Uuid) -> Result<AppRecord> {
        self.store.get_app(id).await?.ok_or_else(|| CoreError::not_found("app", id))
    }

    pub async fn list_apps(&self, mas_id: Option<Uuid>, page: PageRequest) -> Result<Page<AppRecord>> {
        if let Some(id) = mas_id {
            if self.store.get_mas(id).await?.is_none() {
                return Err(CoreError::not_found("MAS", id));
            }
        }
        Ok(self.store.list_apps(mas_id, page).await?)
    }

    pub async fn update_app(&self, id: Uuid, mut patch: AppPatch) -> Result<AppRecord> {
        let current = self.get_app(id).await?;
        let mas_id = current.mas_id;
        if patch.tools.is_some() {
            let mut tools =
                crate::validate::patch_app(&current, AppPatch { tools: patch.tools.take(), ..Default::default() })?
                    .tools;
            self.embed_tools(mas_id, &mut tools).await?;
            patch.tools = Some(tools);
        }
        self.call_mas(mas_id, |port| MasMsg::UpdateApp(AppUpdate { app_id: id, patch: patch.clone() }, port)).await
    }

    pub async fn delete_app(&self, id: Uuid) -> Result<()> {
        let mas_id = self.get_app(id).await?.mas_id;
        self.call_mas(mas_id, |port| MasMsg::DeleteApp(AppId(id), port)).await
    }

    pub async fn rotate_secret(&self, id: Uuid) -> Result<AppWithSecret> {
        let mas_id = self.get_app(id).await?.mas_id;
        self.call_mas(mas_id, |port| MasMsg::RotateSecret(AppId(id), port)).await
    }

    /// The MAS of an app, by client id; `invalid_client` for an unknown one.
    /// The app and its MAS are named on the request's span (the HTTP layer
    /// opens it; elsewhere this records nothing).
    async fn client_mas(&self, client_id: &str) -> Result<Uuid> {
        let id = Uuid::parse_str(client_id).map_err(|_| OAuthError::InvalidClient)?;
        let known = self.client_mas.read().expect("client index poisoned").get(&id).copied();
        let mas = match known {
            Some(mas) => mas,
            None => {
                let app = self.store.get_app(id).await?.ok_or(OAuthError::InvalidClient)?;
                self.client_mas.write().expect("client index poisoned").insert(id, app.mas_id);
                app.mas_id
            }
        };
        let span = tracing::Span::current();
        span.record("client_id", tracing::field::display(id)).record("mas_id", tracing::field::display(mas));
        Ok(mas)
    }

    /// The MAS whose realm a token claims to come from (to be verified there).
    fn token_mas(&self, token: &str) -> Option<Uuid> {
        let iss = token::claimed_issuer(token)?;
        let rest = iss.strip_prefix(&self.config.public_url)?.strip_prefix("/realms/")?;
        Uuid::parse_str(rest).ok()
    }

    /// A call on the MAS of `mas_id` where a vanished MAS is the OAuth error `gone`.
    async fn call_realm<T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static>(
        &self,
        mas_id: Uuid,
        gone: OAuthError,
        build: impl Fn(ractor::RpcReplyPort<Reply<T>>) -> MasMsg,
    ) -> Result<T> {
        self.call_mas(mas_id, build).await.map_err(|e| match e {
            CoreError::NotFound { .. } => gone.into(),
            other => other,
        })
    }

    pub fn capabilities(&self) -> Capabilities {
        self.ai.capabilities()
    }

    pub fn embedder(&self) -> Option<&Arc<dyn Embedder>> {
        self.ai.embedder.as_ref()
    }

    /// The task of a user input and, when `embed` and the node has an embedder, its intent.
    async fn derive_intent(&self, content: &UserInputContent, embed: bool) -> Result<SessionIntent> {
        let extracted = match (&self.ai.extractor, content) {
            (Some(x), UserInputContent::Turns(_)) => match x.extract(content).await {
                Ok(task) => Some(task),
                Err(e) => {
                    tracing::warn!(error = %e, "task extraction failed; using the user turns");
                    None
                }
            },
            _ => None,
        };
        let Some(embedder) = self.ai.embedder.as_ref().filter(|_| embed) else {
            return Ok(SessionIntent {
                task: extracted.unwrap_or_else(|| intent::task_text(content)),
                embedding: None,
            });
        };
        let (task, embedding) = intent::embed_intent(embedder.as_ref(), content, extracted)
            .await
            .map_err(|e| CoreError::unavailable(Cause::because("embedding the user input", &e)))?;
        Ok(SessionIntent { task, embedding: Some(embedding) })
    }

    pub async fn issue_token(&self, mut req: IssueRequest) -> Result<IssuedToken> {
        let mas = self.client_mas(&req.client.client_id).await?;
        // The realm asks for the intent only after authenticating the client
        // (strangers get no model time), and only if its checks read it.
        for _ in 0..2 {
            match self.call_realm(mas, OAuthError::InvalidClient, |p| MasMsg::IssueToken(Wire(req.clone()), p)).await? {
                IssueOutcome::Issued(token) => return Ok(token),
                IssueOutcome::NeedsIntent { embed } => {
                    let raw = req.user_input.as_deref().unwrap_or_default();
                    let content =
                        UserInputContent::parse(raw).map_err(|e| OAuthError::InvalidRequest(e.to_string()))?;
                    req.intent = Some(self.derive_intent(&content, embed).await?);
                }
            }
        }
        Err(CoreError::internal("the issuance asked for the intent twice"))
    }

    /// Computes what the semantic check of an exchange lacks (outside the MAS actor).
    async fn embeddings_for(&self, mas_id: Uuid, ask: EmbeddingRequest) -> Result<SuppliedEmbeddings> {
        let intent = match ask.user_input_id {
            Some(id) => Some((id, self.embed_session(mas_id, id).await?)),
            None => None,
        };
        let texts: Vec<(String, String)> = ask.tools.iter().map(|t| (t.digest.clone(), t.text.clone())).collect();
        let vectors = self.tool_embeddings(texts).await?;
        Ok(SuppliedEmbeddings { intent, tools: ask.tools.into_iter().zip(vectors).collect() })
    }

    /// A stored session's task and intent, derived now and stored with it
    /// (best effort: a session whose write failed is embedded again on its next need).
    async fn embed_session(&self, mas_id: Uuid, id: Uuid) -> Result<SessionIntent> {
        let started = Instant::now();
        let input =
            self.store.get_user_input(mas_id, id).await?.ok_or_else(|| CoreError::not_found("user input", id))?;
        let intent = self.derive_intent(&input.content, true).await?;
        let updated =
            crate::session::UserInput { task: Some(intent.task.clone()), intent: intent.embedding.clone(), ..input };
        if let Err(e) = self.store.put_user_input(&updated).await {
            tracing::warn!(mas_id = %mas_id, error = %e, "could not store a session's intent");
        }
        metrics::histogram!(crate::telemetry::FIRST_NEED_INTENT.name).record(started.elapsed().as_secs_f64());
        Ok(intent)
    }

    /// The judge's verdict on each tool, from the cache where it has one.
    async fn judge_all(&self, req: &JudgeRequest) -> Vec<ToolJudgement> {
        let ttl = self.ai.judge_cache_ttl;
        let ask = req.tools.iter().map(|tool| async move {
            let key = (req.intent_digest.clone(), tool.digest.clone());
            let cached = self.verdicts.get(&key).filter(|(_, at)| at.elapsed() < ttl);
            let verdict = match (cached, &self.ai.judge) {
                (Some((j, _)), _) => Ok(j),
                (None, None) => Err(AiError::Unavailable("no LLM verifier is configured on this node".into())),
                (None, Some(judge)) => {
                    let verdict = judge.judge(&req.task, &tool.name, &tool.description).await;
                    if let Ok(j) = &verdict {
                        self.verdicts.insert(key, (j.clone(), Instant::now()));
                    }
                    verdict
                }
            };
            ToolJudgement { tool: tool.name.clone(), verdict }
        });
        futures::future::join_all(ask).await
    }

    pub async fn exchange(
        &self,
        client: ClientCredentials,
        subject_token: String,
        actor_token: Option<String>,
        tools: Vec<String>,
        audience: Option<String>,
    ) -> Result<IssuedToken> {
        let client_mas = self.client_mas(&client.client_id).await?;
        let not_ours = || OAuthError::InvalidGrant("subject_token: not a token of this server".into());
        let token_mas = self.token_mas(&subject_token).ok_or_else(not_ours)?;
        let actor = if client_mas == token_mas {
            ExchangeActor::Local(client)
        } else {
            // Authenticated by its own MAS; the token's realm then refuses it as foreign.
            let client_id = self
                .call_realm(client_mas, OAuthError::InvalidClient, |p| MasMsg::Authenticate(Wire(client.clone()), p))
                .await?;
            ExchangeActor::Foreign { client_id, mas_id: client_mas }
        };
        let mut req =
            ExchangeRequest { actor, subject_token, actor_token, tools, audience, judgements: None, embeddings: None };
        // At most three rounds: embeddings missing (first need), the judge's verdicts, the decision.
        // One more in case a tool changed between them.
        for _ in 0..4 {
            match self.call_realm(token_mas, not_ours(), |p| MasMsg::Exchange(Wire(req.clone()), p)).await? {
                ExchangeOutcome::Issued(token) => return Ok(token),
                ExchangeOutcome::NeedsJudgement(ask) => req.judgements = Some(self.judge_all(&ask).await),
                ExchangeOutcome::NeedsEmbeddings(ask) => {
                    req.embeddings = Some(self.embeddings_for(token_mas, ask).await?);
                }
            }
        }
        Err(CoreError::unavailable("the exchange kept asking for embeddings"))
    }

    /// `caller`: `None` for the admin, else the app's credentials.
    pub async fn introspect(
        &self,
        caller: Option<ClientCredentials>,
        token: String,
        tools: Option<Vec<String>>,
    ) -> Result<Introspection> {
        let caller_mas = match &caller {
            Some(c) => Some(self.client_mas(&c.client_id).await?),
            None => None,
        };
        let Some(token_mas) = self.token_mas(&token) else {
            if let (Some(c), Some(m)) = (&caller, caller_mas) {
                self.call_realm(m, OAuthError::InvalidClient, |p| MasMsg::Authenticate(Wire(c.clone()), p)).await?;
            }
            return Ok(Introspection::default());
        };
        let caller = match (caller, caller_mas) {
            (None, _) => Introspector::Admin,
            (Some(c), Some(m)) if m == token_mas => Introspector::App(c),
            (Some(c), Some(m)) => {
                self.call_realm(m, OAuthError::InvalidClient, |p| MasMsg::Authenticate(Wire(c.clone()), p)).await?;
                Introspector::Foreign
            }
            (Some(_), None) => unreachable!("an app caller always has a MAS"),
        };
        let req = IntrospectRequest { caller, token, tools };
        match self.call_mas(token_mas, |p| MasMsg::Introspect(Wire(req.clone()), p)).await {
            Err(CoreError::NotFound { .. }) => Ok(Introspection::default()),
            other => other,
        }
    }

    pub async fn revoke(&self, client: ClientCredentials, token: String) -> Result<()> {
        let mas = self.client_mas(&client.client_id).await?;
        let req = RevokeRequest { client, token };
        self.call_realm(mas, OAuthError::InvalidClient, |p| MasMsg::Revoke(Wire(req.clone()), p)).await
    }

    pub async fn admin_revoke(&self, mas_id: Uuid, req: AdminRevokeRequest) -> Result<AdminRevoked> {
        self.call_mas(mas_id, |p| MasMsg::AdminRevoke(Wire(req.clone()), p)).await
    }

    /// Evidence of an LLM call, from an app of the session's MAS (which authenticates it first).
    pub async fn record_llm_call(&self, report: LlmCallReport) -> Result<LlmCallRecorded> {
        let mas = self.client_mas(&report.client.client_id).await?;
        self.call_realm(mas, OAuthError::InvalidClient, |p| MasMsg::RecordLlmCall(Wire(report.clone()), p)).await
    }

    /// Stops the supervision tree and waits for it.
    pub async fn shutdown(&self) {
        self.supervisor.stop(Some("shutdown".into()));
        if let Some(task) = self.supervisor_task.lock().await.take() {
            let _ = task.await;
        }
    }
}
