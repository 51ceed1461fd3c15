//! The cluster port, accepted by casa rather than by ractor_cluster (whose
//! listener awaits each TLS handshake inline, so one silent connection stops
//! it accepting anyone). Each socket gets its own task and a handshake
//! deadline; a source may hold only so many handshakes at once. An
//! established stream goes to the node server, as its own dialer would send it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ractor::ActorRef;
use ractor_cluster::{NetworkStream, NodeServerMessage};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::identity::Identities;
use super::tls::ClusterTls;
use crate::events::{ClusterHandshakeRefused, HandshakeRefusal};
use crate::telemetry::Emit;

/// Handshakes in progress from all sources together, at most.
const MAX_HANDSHAKES: usize = 512;

#[derive(Debug, Clone, Copy)]
pub struct AcceptLimits {
    /// A peer that has not finished its TLS handshake by then is dropped.
    pub handshake_timeout: Duration,
    /// Handshakes one source address may have in progress at once.
    pub per_source: usize,
}

/// Handshakes in progress, per source address.
#[derive(Clone, Default)]
struct InProgress(Arc<Mutex<HashMap<IpAddr, usize>>>);

struct Slot {
    of: InProgress,
    ip: IpAddr,
}

impl InProgress {
    fn take(&self, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = counts.entry(ip).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot { of: self.clone(), ip })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.of.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Accepts peers on `listener` until the task is aborted.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<ClusterTls>,
    server: ActorRef<NodeServerMessage>,
    identities: Identities,
    limits: AcceptLimits,
) {
    let in_progress = InProgress::default();
    let all = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, mostly: wait rather than spin.
                tracing::warn!(error = %e, "cannot accept a cluster connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (Some(slot), Ok(permit)) =
            (in_progress.take(peer.ip(), limits.per_source), all.clone().try_acquire_owned())
        else {
            ClusterHandshakeRefused { peer, reason: HandshakeRefusal::TooMany, error: None }.emit();
            continue;
        };
        let (tls, server, identities) = (tls.clone(), server.clone(), identities.clone());
        tokio::spawn(async move {
            let _held = (slot, permit);
            match tokio::time::timeout(limits.handshake_timeout, handshake(stream, peer, &tls)).await {
                Ok(Ok((stream, cert))) => {
                    identities.established(true, peer.to_string(), cert);
                    let opened = NodeServerMessage::ConnectionOpened { stream: Box::new(stream), is_server: true };
                    if server.cast(opened).is_err() {
                        tracing::warn!("the cluster node server is gone; dropping a peer");
                    }
                }
                Ok(Err(e)) => {
                    ClusterHandshakeRefused { peer, reason: HandshakeRefusal::Tls, error: Some(&e) }.emit();
                }
                Err(_) => {
                    ClusterHandshakeRefused { peer, reason: HandshakeRefusal::Timeout, error: None }.emit();
                }
            }
        });
    }
}

async fn handshake(
    stream: TcpStream,
    peer: SocketAddr,
    tls: &ClusterTls,
) -> std::io::Result<(NetworkStream, rustls::pki_types::CertificateDer<'static>)> {
    stream.set_nodelay(true)?;
    let local = stream.local_addr()?;
    let stream = tls.acceptor.accept(stream).await?;
    let cert = peer_certificate(stream.get_ref().1.peer_certificates())?;
    Ok((NetworkStream::TlsServer { peer_addr: peer, local_addr: local, stream }, cert))
}

/// The end-entity certificate the peer presented (mutual TLS makes one required).
pub(super) fn peer_certificate(
    chain: Option<&[rustls::pki_types::CertificateDer<'static>]>,
) -> std::io::Result<rustls::pki_types::CertificateDer<'static>> {
    chain
        .and_then(|c| c.first())
        .cloned()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::PermissionDenied, "the peer presented no certificate"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_holds_at_most_its_share_of_handshakes_and_gets_it_back() {
        let in_progress = InProgress::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let held: Vec<Slot> = (0..2).map(|_| in_progress.take(a, 2).unwrap()).collect();
        assert!(in_progress.take(a, 2).is_none(), "a third handshake from one source");
        assert!(in_progress.take(b, 2).is_some(), "another source is not held up");
        drop(held);
        assert!(in_progress.take(a, 2).is_some(), "finished handshakes free their slots");
        assert!(in_progress.0.lock().unwrap().get(&b).is_none(), "an idle source leaves nothing behind");
    }
}
