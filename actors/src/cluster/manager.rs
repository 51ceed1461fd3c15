//! The `ClusterManager`: runs this node's `ractor_cluster` server (mutual
//! TLS; casa accepts the port, see [`super::accept`]), keeps a session to
//! every seed and every member it learns of (reconnecting with backoff:
//! ractor_cluster does not), asks every peer for its heartbeat
//! (ractor_cluster reports neither a wrong cookie nor a silent partition),
//! and publishes the membership view on every change.
//!
//! Heartbeats are pulled, not pushed: an answer arrives over the session it
//! was asked on, so it counts only for the node that session's certificate
//! names ([`super::identity`]); a pushed one could claim any name.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use ractor_cluster::{NodeServer, NodeServerMessage, RactorMessage};
use tokio::sync::watch;

use super::accept;
use super::endpoint::{self, EndpointArgs, EndpointMsg, NodeEndpoint};
use super::identity::Identities;
use super::tls::ClusterTls;
use super::{ClusterConfig, ClusterStatus};
use crate::membership::{Heartbeat, Membership, View};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Addresses learnt from peers, at most (a hostile peer cannot grow this without bound).
const MAX_GOSSIP: usize = 1024;

#[derive(RactorMessage)]
pub enum ManagerMsg {
    Tick,
    Heard(Heartbeat),
    Attempted {
        target: String,
        connected: bool,
    },
    Status(RpcReplyPort<ClusterStatus>),
    /// Leave gracefully: stop serving, tell every peer, then answer.
    Leave(RpcReplyPort<()>),
}

pub struct ManagerArgs {
    pub config: Arc<ClusterConfig>,
    pub tls: Arc<ClusterTls>,
    pub publish: watch::Sender<Arc<View>>,
    pub registry: crate::registry::RegistryHandle,
    pub active_mas: Arc<AtomicUsize>,
    pub call_timeout: Duration,
    pub identities: Identities,
}

struct Backoff {
    next: Instant,
    delay: Duration,
    in_flight: bool,
}

pub struct ManagerState {
    args: ManagerArgs,
    membership: Membership,
    server: ActorRef<NodeServerMessage>,
    targets: HashMap<String, Backoff>,
    gossip: HashSet<String>,
    /// This node's heartbeat, as its endpoint answers it.
    own: watch::Sender<Arc<Heartbeat>>,
    accepting: tokio::task::JoinHandle<()>,
}

pub struct ClusterManager;

impl Actor for ClusterManager {
    type Msg = ManagerMsg;
    type State = ManagerState;
    type Arguments = ManagerArgs;

    async fn pre_start(&self, me: ActorRef<ManagerMsg>, args: ManagerArgs) -> Result<ManagerState, ActorProcessingErr> {
        let c = &args.config;
        // ractor_cluster always runs a listener of its own: it gets an
        // ephemeral loopback port nobody is told of; peers come through
        // casa's acceptor on the cluster port.
        let listener = tokio::net::TcpListener::bind(c.listen).await?;
        let server = NodeServer::new(
            0,
            c.cookie.clone(),
            c.node_name.clone(),
            c.advertise.split(':').next().unwrap_or("localhost").to_string(),
            Some(ractor_cluster::IncomingEncryptionMode::Tls(args.tls.acceptor.clone())),
            Some(ractor_cluster::node::NodeConnectionMode::Isolated),
        )
        .with_listen_addr(std::net::Ipv4Addr::LOCALHOST.into())
        // Routed calls are small; a peer may not make this node buffer large frames.
        .with_max_inbound_frame_size(4 * 1024 * 1024);
        let (server, _) = Actor::spawn_linked(None, server, (), me.get_cell()).await?;
        server
            .cast(NodeServerMessage::SubscribeToEvents {
                id: "casa.identities".into(),
                subscription: args.identities.subscription(),
            })
            .map_err(|_| "the cluster node server stopped at once")?;
        let membership = Membership::new(&c.node_name, &c.advertise, c.timing, c.min_members, Instant::now());
        let (own, own_rx) = watch::channel(Arc::new(membership.heartbeat(0, Instant::now())));
        let endpoint_args = EndpointArgs {
            manager: me.clone(),
            registry: args.registry.clone(),
            view: args.publish.subscribe(),
            call_timeout: args.call_timeout,
            own: own_rx,
            identities: args.identities.clone(),
            pull_timeout: c.timing.heartbeat * 2,
        };
        Actor::spawn_linked(None, NodeEndpoint, endpoint_args, me.get_cell()).await?;
        let accepting =
            tokio::spawn(accept::serve(listener, args.tls.clone(), server.clone(), args.identities.clone(), c.accept));
        me.send_interval(c.timing.heartbeat, || ManagerMsg::Tick);
        tracing::info!(node = %c.node_name, listen = %c.listen, seeds = ?c.seeds, "cluster node started");
        Ok(ManagerState { args, membership, server, targets: HashMap::new(), gossip: HashSet::new(), own, accepting })
    }

    async fn post_stop(&self, _me: ActorRef<ManagerMsg>, state: &mut ManagerState) -> Result<(), ActorProcessingErr> {
        state.accepting.abort();
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<ManagerMsg>,
        msg: ManagerMsg,
        state: &mut ManagerState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ManagerMsg::Tick => {
                state.refresh_view();
                state.publish_heartbeat();
                state.pull_heartbeats(&me);
                state.connect(&me).await;
            }
            ManagerMsg::Heard(hb) => {
                for addr in &hb.peers {
                    if state.gossip.len() < MAX_GOSSIP {
                        state.gossip.insert(addr.clone());
                    }
                }
                state.membership.heard(&hb, Instant::now());
            }
            ManagerMsg::Attempted { target, connected } => {
                if let Some(b) = state.targets.get_mut(&target) {
                    b.in_flight = false;
                    b.delay =
                        if connected { state.args.config.timing.heartbeat } else { (b.delay * 2).min(MAX_BACKOFF) };
                    b.next = Instant::now() + b.delay;
                }
            }
            ManagerMsg::Status(reply) => {
                let _ = reply.send(state.status());
            }
            ManagerMsg::Leave(reply) => {
                state.membership.leave();
                state.refresh_view();
                state.publish_heartbeat();
                // Each peer asks this node (over its own session) and hears it leave.
                let me = state.args.config.node_name.clone();
                let acks = peers(&state.args.identities).into_iter().map(|peer| {
                    let me = me.clone();
                    async move {
                        let _ = peer.call(|port| EndpointMsg::Leave(me, port), Some(Duration::from_secs(1))).await;
                    }
                });
                futures::future::join_all(acks).await;
                tracing::info!("left the cluster");
                let _ = reply.send(());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        me: ActorRef<ManagerMsg>,
        event: SupervisionEvent,
        _state: &mut ManagerState,
    ) -> Result<(), ActorProcessingErr> {
        let why = match &event {
            SupervisionEvent::ActorFailed(_, err) => Some(err.to_string()),
            SupervisionEvent::ActorTerminated(_, _, reason) => Some(reason.clone().unwrap_or_default()),
            _ => None,
        };
        if let Some(why) = why {
            // Without its server or endpoint the node cannot know the
            // membership: stop, so every MAS answers 503 (fail closed).
            tracing::error!(error = %why, "a cluster actor stopped; this node stops serving");
            me.stop(Some("cluster actor failed".into()));
        }
        Ok(())
    }
}

/// The endpoints of every other node this one has a bound session with.
fn peers(identities: &Identities) -> Vec<ActorRef<EndpointMsg>> {
    ractor::pg::get_members(&endpoint::ALL.to_string())
        .into_iter()
        .filter(|cell| identities.node_of(cell.get_id()).is_some())
        .map(ActorRef::from)
        .collect()
}

impl ManagerState {
    fn refresh_view(&mut self) {
        let Some(view) = self.membership.tick(Instant::now()) else { return };
        let members: Vec<&str> = view.members.iter().map(|(n, _)| n.as_str()).collect();
        match &view.not_serving {
            None => tracing::info!(epoch = view.epoch, ?members, "cluster view changed"),
            Some(why) => tracing::warn!(epoch = view.epoch, reason = %why, "this node does not serve"),
        }
        metrics::counter!(crate::telemetry::CLUSTER_VIEW_CHANGES.name).increment(1);
        metrics::gauge!(crate::telemetry::CLUSTER_SERVING.name).set(if view.not_serving.is_none() { 1.0 } else { 0.0 });
        metrics::gauge!(crate::telemetry::CLUSTER_MEMBERS.name).set(view.members.len() as f64);
        self.args.publish.send_replace(view);
    }

    fn publish_heartbeat(&self) {
        let hb = self.membership.heartbeat(self.args.active_mas.load(Ordering::Relaxed), Instant::now());
        self.own.send_replace(Arc::new(hb));
    }

    /// Asks every peer for its heartbeat, each on its own task.
    fn pull_heartbeats(&self, me: &ActorRef<ManagerMsg>) {
        // A late answer still counts: two periods, so a busy peer is not missed.
        let within = self.args.config.timing.heartbeat * 2;
        for peer in peers(&self.args.identities) {
            let (me, identities) = (me.clone(), self.args.identities.clone());
            tokio::spawn(async move {
                if let Some(hb) = endpoint::pull(&peer, &identities, within).await {
                    let _ = me.cast(ManagerMsg::Heard(hb));
                }
            });
        }
    }

    /// Dials every known address without a session, each on its own task.
    async fn connect(&mut self, me: &ActorRef<ManagerMsg>) {
        let sessions = match self.server.call(NodeServerMessage::GetSessions, Some(Duration::from_millis(500))).await {
            Ok(ractor::rpc::CallResult::Success(s)) => s,
            _ => return,
        };
        let connected_names: HashSet<String> =
            sessions.values().filter_map(|s| s.peer_name.as_ref().map(|n| n.name.clone())).collect();
        let connected_addrs: HashSet<String> = sessions.values().map(|s| s.peer_addr.clone()).collect();
        let advertised_connected: HashSet<String> =
            connected_names.iter().filter_map(|n| self.membership.peer_addr(n)).map(str::to_string).collect();
        let config = &self.args.config;
        let wanted: HashSet<String> = config
            .seeds
            .iter()
            .cloned()
            .chain(self.membership.peer_addrs())
            .chain(self.gossip.iter().cloned())
            .filter(|t| *t != config.advertise && !advertised_connected.contains(t) && !connected_addrs.contains(t))
            .collect();
        let now = Instant::now();
        for target in wanted {
            let backoff = self.targets.entry(target.clone()).or_insert(Backoff {
                next: now,
                delay: config.timing.heartbeat,
                in_flight: false,
            });
            if backoff.in_flight || backoff.next > now {
                continue;
            }
            backoff.in_flight = true;
            let skip: HashSet<String> = connected_addrs.iter().chain(&advertised_connected).cloned().collect();
            let (server, me, tls, own) = (self.server.clone(), me.clone(), self.args.tls.clone(), own_addrs(config));
            let identities = self.args.identities.clone();
            tokio::spawn(async move {
                let connected = dial(&server, &tls, &identities, &target, &skip, &own).await;
                let _ = me.cast(ManagerMsg::Attempted { target, connected });
            });
        }
    }

    fn status(&self) -> ClusterStatus {
        let view = self.membership.view();
        ClusterStatus {
            node: view.me.clone(),
            epoch: view.epoch,
            serving: view.not_serving.is_none(),
            reason: view.not_serving.clone(),
            placement: view.members.iter().map(|(n, _)| n.clone()).collect(),
            members: self.membership.status(Instant::now(), self.args.active_mas.load(Ordering::Relaxed)),
        }
    }
}

fn own_addrs(config: &ClusterConfig) -> HashSet<SocketAddr> {
    let mut own: HashSet<SocketAddr> = HashSet::from([config.listen]);
    if let Ok(addr) = config.advertise.parse() {
        own.insert(addr);
    }
    own
}

/// Resolves `target` (a name may stand for many nodes) and opens a TLS
/// session to each address not yet connected; true if all are.
async fn dial(
    server: &ActorRef<NodeServerMessage>,
    tls: &ClusterTls,
    identities: &Identities,
    target: &str,
    skip: &HashSet<String>,
    own: &HashSet<SocketAddr>,
) -> bool {
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host(target).await {
        Ok(addrs) => addrs.collect(),
        Err(e) => {
            tracing::debug!(%target, error = %e, "cluster peer does not resolve");
            return false;
        }
    };
    let mut all = true;
    for addr in addrs {
        if own.contains(&addr) || skip.contains(&addr.to_string()) {
            continue;
        }
        match tokio::time::timeout(CONNECT_TIMEOUT, open(server, tls, identities, addr)).await {
            Ok(Ok(())) => tracing::debug!(%addr, "cluster session opened"),
            Ok(Err(e)) => {
                tracing::warn!(%addr, error = %e, "cannot connect to cluster peer");
                all = false;
            }
            Err(_) => {
                tracing::warn!(%addr, "cluster peer did not answer within {CONNECT_TIMEOUT:?}");
                all = false;
            }
        }
    }
    all
}

/// What `ractor_cluster::client_connect_enc` does, keeping the server's
/// certificate so the session can be bound to the node it names.
async fn open(
    server: &ActorRef<NodeServerMessage>,
    tls: &ClusterTls,
    identities: &Identities,
    addr: SocketAddr,
) -> std::io::Result<()> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let local = stream.local_addr()?;
    let stream = tls.connector.connect(tls.server_name.clone(), stream).await?;
    let cert = accept::peer_certificate(stream.get_ref().1.peer_certificates())?;
    identities.established(false, addr.to_string(), cert);
    let stream = ractor_cluster::NetworkStream::TlsClient { peer_addr: addr, local_addr: local, stream };
    server
        .cast(NodeServerMessage::ConnectionOpened { stream: Box::new(stream), is_server: false })
        .map_err(|_| std::io::Error::other("the cluster node server is gone"))
}
