//! The `MasRegistry`: finds the `MasActor` of a MAS, starting it from the
//! store on demand, stopping it when idle, and restarting it when it fails.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use ractor_cluster::RactorMessage;
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::{Cause, CoreError};
use crate::events::MasActorRestarted;
use crate::intent::Embedder;
use crate::mas::{MasActor, MasArgs, MasMsg, MasSnapshot, MasView};
use crate::membership::View;
use crate::model::{Capabilities, MasRecord, NewMas};
use crate::realm::{Keyring, RealmKey};
use crate::store::Store;
use crate::telemetry::Emit;
use crate::trace::{EventKind, TraceEvent, TraceSink};
use crate::validate;

mod handle;
mod running;
pub use handle::RegistryHandle;
use running::Published;
pub use running::RunningActors;

/// A failing MAS is restarted at most this often within [`RESTART_WINDOW`];
/// past that it stays down until the next request starts it again.
const MAX_RESTARTS: usize = 5;
const RESTART_WINDOW: Duration = Duration::from_secs(60);
/// How long a MAS id the store does not know is believed unknown. Realm ids
/// come from unauthenticated requests (`/realms/{id}/...`, a token's `iss`):
/// a made-up id costs one store read per id and while, not one per request.
/// A MAS created here is known at once; ids are UUIDv7 chosen at creation, so
/// no one looks a MAS up before it exists.
const UNKNOWN_MAS_TTL: Duration = Duration::from_secs(10);
const UNKNOWN_MAS_ENTRIES: usize = 10_000;

#[derive(RactorMessage)]
pub enum RegistryMsg {
    /// The actor of a MAS, started if needed; `NotFound` if the MAS does not exist.
    /// In a cluster, `NotOwner` if this node may not serve it now.
    Lookup(Uuid, RpcReplyPort<Result<ActorRef<MasMsg>, CoreError>>),
    /// A new MAS under the given id (chosen by whoever routed the request here).
    Create(Uuid, NewMas, RpcReplyPort<Result<MasView, CoreError>>),
    /// How many MAS actors run on this node.
    Count(RpcReplyPort<Result<usize, CoreError>>),
    /// The MAS was deleted: retire its actor.
    Retire(Uuid),
    EvictIdle,
    /// The cluster view changed: stop the actors of MAS this node lost.
    Rebalance,
    /// A MAS read from the store for the lookups waiting on it.
    Loaded(Uuid, Result<Option<MasSnapshot>, CoreError>),
}

type LookupReply = RpcReplyPort<Result<ActorRef<MasMsg>, CoreError>>;

pub struct RegistryArgs {
    pub store: Arc<dyn Store>,
    pub trace: Arc<dyn TraceSink>,
    pub public_url: String,
    pub capabilities: Capabilities,
    pub embedder: Option<Arc<dyn Embedder>>,
    /// A MAS actor that has not been looked up for this long is stopped.
    pub idle_timeout: Duration,
    /// In a cluster, who owns what; `None` on a lone node (it owns everything).
    pub view: Option<watch::Receiver<Arc<View>>>,
    /// MAS actors running, shared with the cluster heartbeat.
    pub active: Arc<AtomicUsize>,
    /// The running actors, published for requests to reach directly.
    pub running: Arc<RunningActors>,
}

pub struct MasRegistry;

struct Running {
    /// The actor, as requests find it (and note their use of it).
    published: Arc<Published>,
    restarts: VecDeque<Instant>,
}

pub struct RegistryState {
    args: RegistryArgs,
    running: HashMap<Uuid, Running>,
    by_actor: HashMap<ActorId, Uuid>,
    /// MAS being read from the store, with the lookups waiting for them: the
    /// read happens off this mailbox, so one cold MAS does not hold up the rest.
    loading: HashMap<Uuid, Vec<LookupReply>>,
    /// MAS ids the store did not know, and since when (bounded).
    unknown: quick_cache::unsync::Cache<Uuid, Instant>,
}

impl Actor for MasRegistry {
    type Msg = RegistryMsg;
    type State = RegistryState;
    type Arguments = RegistryArgs;

    async fn pre_start(
        &self,
        me: ActorRef<RegistryMsg>,
        args: RegistryArgs,
    ) -> Result<RegistryState, ActorProcessingErr> {
        let tick = (args.idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(30));
        me.send_interval(tick, || RegistryMsg::EvictIdle);
        // The actors a registry before this one published stopped with it.
        args.running.clear();
        if let Some(mut view) = args.view.clone() {
            let me = me.clone();
            tokio::spawn(async move {
                while view.changed().await.is_ok() {
                    if me.cast(RegistryMsg::Rebalance).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(RegistryState {
            args,
            running: HashMap::new(),
            by_actor: HashMap::new(),
            loading: HashMap::new(),
            unknown: quick_cache::unsync::Cache::new(UNKNOWN_MAS_ENTRIES),
        })
    }

    async fn handle(
        &self,
        me: ActorRef<RegistryMsg>,
        msg: RegistryMsg,
        state: &mut RegistryState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            RegistryMsg::Lookup(id, reply) => state.lookup(&me, id, reply),
            RegistryMsg::Loaded(id, loaded) => state.loaded(&me, id, loaded).await,
            RegistryMsg::Create(id, input, reply) => {
                let _ = reply.send(state.create(&me, id, input).await);
            }
            RegistryMsg::Count(reply) => {
                let _ = reply.send(Ok(state.running.len()));
            }
            RegistryMsg::Retire(id) => state.retire(id, "deleted"),
            RegistryMsg::EvictIdle => state.evict_idle(),
            RegistryMsg::Rebalance => state.rebalance(),
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        me: ActorRef<RegistryMsg>,
        event: SupervisionEvent,
        state: &mut RegistryState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                if let Some(id) = state.forget(cell.get_id()) {
                    tracing::debug!(mas_id = %id, reason = reason.as_deref().unwrap_or(""), "MAS actor stopped");
                }
            }
            SupervisionEvent::ActorFailed(cell, err) => {
                let Some(id) = state.by_actor.get(&cell.get_id()).copied() else {
                    return Ok(());
                };
                MasActorRestarted { mas_id: id, error: &err }.emit();
                state.restart(&me, id).await;
            }
            _ => {}
        }
        Ok(())
    }
}

impl RegistryState {
    async fn spawn(
        &mut self,
        me: &ActorRef<RegistryMsg>,
        snapshot: MasSnapshot,
    ) -> Result<ActorRef<MasMsg>, CoreError> {
        let id = snapshot.mas.id;
        let args = MasArgs {
            snapshot,
            store: self.args.store.clone(),
            trace: self.args.trace.clone(),
            capabilities: self.args.capabilities,
            public_url: self.args.public_url.clone(),
            embedder: self.args.embedder.clone(),
            view: self.args.view.clone(),
        };
        let (actor, _) = Actor::spawn_linked(None, MasActor, args, me.get_cell())
            .await
            .map_err(|e| CoreError::internal(Cause::because("starting the MAS actor", &e)))?;
        self.by_actor.insert(actor.get_id(), id);
        let published = self.args.running.publish(id, actor.clone());
        self.running.insert(id, Running { published, restarts: VecDeque::new() });
        self.count_changed();
        Ok(actor)
    }

    fn forget(&mut self, actor: ActorId) -> Option<Uuid> {
        let id = self.by_actor.remove(&actor)?;
        // Only drop the entry if it still belongs to this actor (not to a restarted one).
        if self.running.get(&id).is_some_and(|r| r.published.actor.get_id() == actor) {
            self.running.remove(&id);
        }
        self.args.running.withdraw(id, actor);
        self.count_changed();
        Some(id)
    }

    fn lookup(&mut self, me: &ActorRef<RegistryMsg>, id: Uuid, reply: LookupReply) {
        if let Err(e) = self.check_owner(id) {
            let _ = reply.send(Err(e));
            return;
        }
        if let Some(running) = self.running.get(&id) {
            self.args.running.touch(&running.published);
            let _ = reply.send(Ok(running.published.actor.clone()));
            return;
        }
        if let Some(waiting) = self.loading.get_mut(&id) {
            waiting.push(reply);
            return;
        }
        if self.unknown.get(&id).is_some_and(|since| since.elapsed() < UNKNOWN_MAS_TTL) {
            let _ = reply.send(Err(CoreError::not_found("MAS", id)));
            return;
        }
        self.loading.insert(id, vec![reply]);
        let (store, me) = (self.args.store.clone(), me.clone());
        tokio::spawn(async move {
            let loaded = MasSnapshot::load(&*store, id).await.map_err(CoreError::from);
            let _ = me.cast(RegistryMsg::Loaded(id, loaded));
        });
    }

    async fn loaded(&mut self, me: &ActorRef<RegistryMsg>, id: Uuid, loaded: Result<Option<MasSnapshot>, CoreError>) {
        let waiting = self.loading.remove(&id).unwrap_or_default();
        let answer = match (self.check_owner(id), loaded) {
            (Err(e), _) | (_, Err(e)) => Err(e),
            (Ok(()), Ok(None)) => {
                self.unknown.insert(id, Instant::now());
                Err(CoreError::not_found("MAS", id))
            }
            // Started meanwhile (created here): the running actor wins.
            (Ok(()), Ok(Some(_))) if self.running.contains_key(&id) => Ok(self.running[&id].published.actor.clone()),
            (Ok(()), Ok(Some(snapshot))) => self.spawn(me, snapshot).await,
        };
        for reply in waiting {
            let _ = reply.send(answer.clone());
        }
    }

    async fn create(&mut self, me: &ActorRef<RegistryMsg>, id: Uuid, input: NewMas) -> Result<MasView, CoreError> {
        // The owner creates a MAS, so that its trace chain has one writer from the start.
        self.check_owner(id)?;
        self.unknown.remove(&id);
        let settings = validate::new_mas(input, self.args.capabilities)?;
        let now = OffsetDateTime::now_utc();
        let mas = MasRecord { id, settings, created_at: now, updated_at: now };
        let key = RealmKey::generate(now);
        self.args.store.create_mas(&mas, &key).await?;
        let view = MasView { mas: mas.clone(), active_kid: key.kid.clone() };
        let kind = EventKind::AdminChange {
            action: "mas.create".into(),
            target: mas.id.to_string(),
            changes: serde_json::to_value(&mas.settings).ok(),
        };
        self.args.trace.record(TraceEvent::new(mas.id, kind));
        let keyring = Keyring::new(vec![key]).expect("one key");
        self.spawn(me, MasSnapshot { mas, keyring, apps: Vec::new(), revocations: Vec::new() }).await?;
        tracing::info!(mas_id = %view.mas.id, "MAS created");
        Ok(view)
    }

    async fn restart(&mut self, me: &ActorRef<RegistryMsg>, id: Uuid) {
        let Some(old) = self.running.remove(&id) else {
            return;
        };
        let old_actor = old.published.actor.get_id();
        self.by_actor.remove(&old_actor);
        self.args.running.withdraw(id, old_actor);
        let now = Instant::now();
        let mut restarts = old.restarts;
        restarts.retain(|t| now.duration_since(*t) < RESTART_WINDOW);
        if restarts.len() >= MAX_RESTARTS {
            tracing::error!(mas_id = %id, "MAS actor keeps failing; leaving it stopped until its next request");
            self.count_changed();
            return;
        }
        restarts.push_back(now);
        let snapshot = match MasSnapshot::load(&*self.args.store, id).await {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(mas_id = %id, error = %e, "could not reload the MAS; it restarts on its next request");
                return;
            }
        };
        if self.spawn(me, snapshot).await.is_ok() {
            if let Some(r) = self.running.get_mut(&id) {
                r.restarts = restarts;
            }
        }
    }

    /// Takes the actor out of service: the next lookup starts a fresh one
    /// from the store, while this one finishes what is already queued.
    fn retire(&mut self, id: Uuid, why: &str) {
        if let Some(running) = self.running.remove(&id) {
            tracing::debug!(mas_id = %id, why, "retiring MAS actor");
            let actor = &running.published.actor;
            self.args.running.withdraw(id, actor.get_id());
            if actor.drain().is_err() {
                actor.stop(Some(why.into()));
            }
        }
        self.count_changed();
    }

    fn count_changed(&self) {
        metrics::gauge!(crate::telemetry::MAS_ACTORS.name).set(self.running.len() as f64);
        self.args.active.store(self.running.len(), Ordering::Relaxed);
    }

    /// `NotOwner` unless this node may serve `id` now (always, alone).
    fn check_owner(&self, id: Uuid) -> Result<(), CoreError> {
        let Some(view) = &self.args.view else { return Ok(()) };
        view.borrow().not_owner(id, Instant::now()).map_or(Ok(()), |why| Err(CoreError::not_owner(why)))
    }

    /// Stops the actors of MAS this node no longer owns: their new owner
    /// starts them from the store.
    fn rebalance(&mut self) {
        let lost: Vec<Uuid> = self.running.keys().copied().filter(|id| self.check_owner(*id).is_err()).collect();
        if !lost.is_empty() {
            tracing::info!(count = lost.len(), "handing MAS over to their new owners");
            metrics::counter!(crate::telemetry::CLUSTER_HANDOFFS.name).increment(lost.len() as u64);
        }
        for id in lost {
            self.retire(id, "moved to another node");
        }
    }

    fn evict_idle(&mut self) {
        let timeout = self.args.idle_timeout;
        // A request that found the actor just before it was withdrawn finds
        // it draining: its call is refused undelivered, and it asks again here.
        let running = &self.args.running;
        let idle: Vec<Uuid> =
            self.running.iter().filter(|(_, r)| running.idle_for(&r.published) >= timeout).map(|(id, _)| *id).collect();
        for id in idle {
            self.retire(id, "idle");
        }
    }
}
