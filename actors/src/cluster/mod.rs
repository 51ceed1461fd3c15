//! casa as a cluster: nodes on a shared ScyllaDB store, each MAS owned by
//! one node at a time, every node accepting every request and routing it to
//! the owner.
//!
//! ```text
//! NodeSupervisor
//! ├── MasRegistry ── MasActor × (the MAS this node owns)
//! └── ClusterManager ── NodeServer (ractor_cluster, mutual TLS)
//!                    └── NodeEndpoint (heartbeats, routed MAS calls)
//! ```
//!
//! See [`membership`] for when a node serves and who owns what.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::message::SerializedMessage;
use ractor::{ActorRef, Message, RpcReplyPort};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::sync::watch;
use uuid::Uuid;

pub mod accept;
pub mod endpoint;
pub mod identity;
pub mod manager;
pub mod tls;

pub use crate::membership::{self, placement, MemberStatus, Route, Timing, View};
pub use manager::{ClusterManager, ManagerArgs, ManagerMsg};

use crate::error::CoreError;
use crate::mas::{MasMsg, MasView};
use crate::model::NewMas;
use crate::wire::Reply;
use endpoint::{CreateMas, EndpointMsg, RoutedCall};

#[derive(Clone)]
pub struct ClusterConfig {
    pub node_name: String,
    /// Where this node accepts peers.
    pub listen: SocketAddr,
    /// Where peers reach this node (`host:port`).
    pub advertise: String,
    /// `host:port` each; a name may resolve to many nodes.
    pub seeds: Vec<String>,
    pub tls: tls::TlsFiles,
    /// The name every node certificate carries.
    pub tls_server_name: String,
    pub cookie: String,
    pub timing: Timing,
    /// A node serves only while it reaches at least this many members (itself included).
    pub min_members: usize,
    /// Deadline of a call routed to another node.
    pub remote_timeout: Duration,
    /// How long a request waits for a hand-off before it answers 503.
    pub handoff_budget: Duration,
    /// How long a peer may take over its TLS handshake, and how many one source may have open.
    pub accept: accept::AcceptLimits,
}

impl std::fmt::Debug for ClusterConfig {
    // The cookie stays out of every log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("node_name", &self.node_name)
            .field("listen", &self.listen)
            .field("advertise", &self.advertise)
            .field("seeds", &self.seeds)
            .field("tls", &self.tls)
            .field("min_members", &self.min_members)
            .finish_non_exhaustive()
    }
}

/// `casa cluster status`: this node's view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    pub node: String,
    pub epoch: u64,
    pub serving: bool,
    pub reason: Option<String>,
    /// The members MAS are placed on.
    pub placement: Vec<String>,
    pub members: Vec<MemberStatus>,
}

/// A node's handle on its cluster. Cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    view: watch::Receiver<Arc<View>>,
    manager: ActorRef<ManagerMsg>,
    remote_timeout: Duration,
    handoff_budget: Duration,
    identities: identity::Identities,
}

impl Cluster {
    pub fn new(
        view: watch::Receiver<Arc<View>>,
        manager: ActorRef<ManagerMsg>,
        config: &ClusterConfig,
        identities: identity::Identities,
    ) -> Cluster {
        Cluster {
            view,
            manager,
            remote_timeout: config.remote_timeout,
            handoff_budget: config.handoff_budget,
            identities,
        }
    }

    /// The current view; one that serves nothing if the manager is gone
    /// (without it nothing is known of the membership: fail closed).
    pub fn view(&self) -> Arc<View> {
        let view = self.view.borrow().clone();
        if self.manager.get_status() == ractor::ActorStatus::Running {
            return view;
        }
        Arc::new(View { not_serving: Some("the cluster manager stopped".into()), ..(*view).clone() })
    }

    pub fn handoff_budget(&self) -> Duration {
        self.handoff_budget
    }

    /// Waits for the next view, at most `max`.
    pub async fn changed(&self, max: Duration) {
        let mut rx = self.view.clone();
        let _ = tokio::time::timeout(max, rx.changed()).await;
    }

    pub async fn status(&self) -> Result<ClusterStatus, CoreError> {
        match self.manager.call(ManagerMsg::Status, Some(Duration::from_secs(2))).await {
            Ok(ractor::rpc::CallResult::Success(s)) => Ok(s),
            _ => Err(CoreError::unavailable("the cluster manager did not answer")),
        }
    }

    /// Stops serving and tells the peers, so they take this node's MAS over now.
    pub async fn leave(&self) {
        let _ = self.manager.call(ManagerMsg::Leave, Some(Duration::from_secs(3))).await;
    }

    fn endpoint(&self, owner: &str) -> Option<ActorRef<EndpointMsg>> {
        endpoint::endpoint_of(owner, &self.identities)
    }

    /// Sends a MAS call to the owner's node. `NotOwner` means the call was
    /// not handled there (safe to retry); any other error may come after it was.
    pub async fn call_remote<T>(
        &self,
        owner: &str,
        mas_id: Uuid,
        build: impl FnOnce(RpcReplyPort<Reply<T>>) -> MasMsg,
    ) -> Result<T, CoreError>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        let Some(endpoint) = self.endpoint(owner) else {
            return Err(CoreError::not_owner(format!("no session to {owner}, the owner of MAS {mas_id}")));
        };
        let started = Instant::now();
        let (tx, rx) = ractor::concurrency::oneshot();
        let msg = build(RpcReplyPort::from((tx, self.remote_timeout)));
        let Ok(SerializedMessage::Call { variant, args, reply, .. }) = msg.serialize() else {
            return Err(CoreError::internal("a MAS call could not be serialized"));
        };
        if endpoint.cast(EndpointMsg::Mas(RoutedCall { mas_id, variant, args }, reply)).is_err() {
            return Err(CoreError::not_owner(format!("the session to {owner} closed")));
        }
        let result = match tokio::time::timeout(self.remote_timeout, rx).await {
            Ok(Ok(Reply(result))) => result,
            Ok(Err(_)) => Err(CoreError::unavailable(format!("node {owner} dropped the call for MAS {mas_id}"))),
            Err(_) => Err(CoreError::unavailable(format!(
                "node {owner} did not answer for MAS {mas_id} within {} ms",
                self.remote_timeout.as_millis()
            ))),
        };
        observe_remote(started, &result);
        result
    }

    pub async fn create_remote(&self, owner: &str, id: Uuid, input: NewMas) -> Result<MasView, CoreError> {
        let Some(endpoint) = self.endpoint(owner) else {
            return Err(CoreError::not_owner(format!("no session to {owner}, the owner of MAS {id}")));
        };
        let started = Instant::now();
        let create = CreateMas { id, input };
        let result = match endpoint.call(|port| EndpointMsg::CreateMas(create, port), Some(self.remote_timeout)).await {
            Ok(ractor::rpc::CallResult::Success(Reply(result))) => result,
            Ok(ractor::rpc::CallResult::Timeout) => {
                Err(CoreError::unavailable(format!("node {owner} did not answer within the deadline")))
            }
            Ok(ractor::rpc::CallResult::SenderError) => {
                Err(CoreError::unavailable(format!("node {owner} dropped the call")))
            }
            Err(_) => Err(CoreError::not_owner(format!("the session to {owner} closed"))),
        };
        observe_remote(started, &result);
        result
    }
}

fn observe_remote<T>(started: Instant, result: &Result<T, CoreError>) {
    metrics::histogram!(crate::telemetry::CLUSTER_REMOTE_CALL.name).record(started.elapsed().as_secs_f64());
    let failure = match result {
        Err(CoreError::NotOwner(_)) => "not_owner",
        Err(CoreError::Unavailable(_)) => "unavailable",
        _ => return,
    };
    metrics::counter!(crate::telemetry::CLUSTER_REMOTE_CALL_FAILURES.name, "reason" => failure).increment(1);
}
