//! Which node each cluster session speaks for. A certificate from the
//! cluster CA admits a process, but only under a name the certificate
//! carries (a DNS SAN other than the shared server name): a session whose
//! ractor name is not one of them is stopped when it authenticates, and
//! whatever arrives over a session (heartbeats, endpoint actors) counts only
//! for the name bound to it here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ractor::ActorId;
use ractor_cluster::node::NodeServerSessionInformation;
use ractor_cluster::{NodeEventSubscription, NodeId};
use rustls::pki_types::{CertificateDer, ServerName};

use crate::events::ClusterSessionRefused;
use crate::telemetry::Emit;

/// A TLS stream whose session has not authenticated within this is forgotten.
const PENDING_FOR: Duration = Duration::from_secs(60);

/// Shared by the acceptor, the dialer, the manager and request routing. Cheap to clone.
#[derive(Clone)]
pub struct Identities {
    server_name: Arc<str>,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    /// Established TLS streams not yet authenticated, by (incoming, peer address).
    pending: HashMap<(bool, String), (CertificateDer<'static>, Instant)>,
    /// Authenticated sessions and the node name each one's certificate vouches for.
    bound: HashMap<NodeId, String>,
}

impl Identities {
    /// `server_name`: the name every node certificate carries, so it names no node.
    pub fn new(server_name: &str) -> Identities {
        Identities { server_name: server_name.into(), inner: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A TLS stream to hand to the node server; `cert` is the peer's end-entity certificate.
    pub fn established(&self, incoming: bool, peer_addr: String, cert: CertificateDer<'static>) {
        let mut inner = self.lock();
        let now = Instant::now();
        inner.pending.retain(|_, (_, at)| now.duration_since(*at) < PENDING_FOR);
        inner.pending.insert((incoming, peer_addr), (cert, now));
    }

    /// Whether `cert` carries `name` as a node name.
    pub fn vouches(&self, cert: &CertificateDer<'_>, name: &str) -> bool {
        if name.eq_ignore_ascii_case(&self.server_name) {
            return false;
        }
        let (Ok(cert), Ok(name)) = (webpki::EndEntityCert::try_from(cert), ServerName::try_from(name)) else {
            return false;
        };
        cert.verify_is_valid_for_subject_name(&name).is_ok()
    }

    /// Binds an authenticated session to the node its certificate names;
    /// false (the session must go) if the certificate does not carry the
    /// name the peer gave, or the stream is unknown.
    fn bind(&self, session: &NodeServerSessionInformation) -> Result<String, String> {
        let claimed = session.peer_name.as_ref().map(|n| n.name.as_str()).unwrap_or_default();
        // ractor names a node `name@host`; casa's node names have no `@`.
        let node = claimed.split_once('@').map_or(claimed, |(node, _)| node).to_string();
        let mut inner = self.lock();
        let Some((cert, _)) = inner.pending.remove(&(session.is_server, session.peer_addr.clone())) else {
            return Err(format!("no TLS stream from {} is known", session.peer_addr));
        };
        if !self.vouches(&cert, &node) {
            return Err(format!("its certificate does not carry the name {node:?}"));
        }
        inner.bound.insert(session.node_id, node.clone());
        Ok(node)
    }

    /// The node `actor` runs on, if it is a remote actor of a bound session.
    pub fn node_of(&self, actor: ActorId) -> Option<String> {
        match actor {
            ActorId::Remote { node_id, .. } => self.lock().bound.get(&node_id).cloned(),
            ActorId::Local(_) => None,
        }
    }

    /// Whether `actor` is a remote actor on the node called `name`.
    pub fn speaks_for(&self, actor: ActorId, name: &str) -> bool {
        self.node_of(actor).is_some_and(|node| node == name)
    }

    /// The node server's events: binds sessions as they authenticate.
    pub fn subscription(&self) -> Box<dyn NodeEventSubscription> {
        Box::new(Gate(self.clone()))
    }
}

struct Gate(Identities);

impl NodeEventSubscription for Gate {
    fn node_session_opened(&self, _: NodeServerSessionInformation) {}

    fn node_session_authenticated(&self, session: NodeServerSessionInformation) {
        match self.0.bind(&session) {
            Ok(node) => tracing::debug!(%node, peer = %session.peer_addr, "cluster session bound to its certificate"),
            Err(why) => {
                let peer = session.peer_addr.to_string();
                ClusterSessionRefused::NameNotInCertificate { peer: &peer, why: &why.to_string() }.emit();
                session.actor.stop(Some("the certificate does not name this node".into()));
            }
        }
    }

    fn node_session_disconnected(&self, session: NodeServerSessionInformation) {
        self.0.lock().bound.remove(&session.node_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(names: &[&str]) -> CertificateDer<'static> {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn a_certificate_vouches_for_its_node_names_only() {
        let ids = Identities::new("casa-cluster");
        let node_a = cert(&["casa-cluster", "node-a"]);
        assert!(ids.vouches(&node_a, "node-a"));
        assert!(ids.vouches(&node_a, "NODE-A"), "DNS names compare without case");
        for other in ["node-b", "casa-cluster", "node-a.evil", "", "node a"] {
            assert!(!ids.vouches(&node_a, other), "{other:?}");
        }
        assert!(!ids.vouches(&CertificateDer::from(vec![0x30, 0x00]), "node-a"), "garbage vouches for nothing");
    }

    #[test]
    fn only_remote_actors_of_bound_sessions_speak_for_a_node() {
        let ids = Identities::new("casa-cluster");
        ids.lock().bound.insert(3, "node-a".into());
        assert!(ids.speaks_for(ActorId::Remote { node_id: 3, pid: 9 }, "node-a"));
        assert!(!ids.speaks_for(ActorId::Remote { node_id: 3, pid: 9 }, "node-b"));
        assert!(!ids.speaks_for(ActorId::Remote { node_id: 4, pid: 9 }, "node-a"));
        assert!(!ids.speaks_for(ActorId::Local(9), "node-a"));
    }
}
