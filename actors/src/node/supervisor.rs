//! The root of the node's supervision tree: it starts the registry (and the
//! cluster manager) and restarts the registry when it dies.

use super::*;

#[derive(RactorMessage)]
pub enum SupervisorMsg {}

pub(super) struct NodeSupervisor;

pub(super) struct SupervisorArgs {
    pub(super) store: Arc<dyn Store>,
    pub(super) trace: Arc<dyn TraceSink>,
    pub(super) ai: Ai,
    pub(super) config: NodeConfig,
    pub(super) registry: RegistryHandle,
    pub(super) view: Option<tokio::sync::watch::Receiver<Arc<View>>>,
    pub(super) active: Arc<AtomicUsize>,
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
            running: args.registry.running.clone(),
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
