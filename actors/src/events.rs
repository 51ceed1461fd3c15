//! The runtime's telemetry events that both log and count: each one's log
//! line and metric come from its one `emit` (vector's internal events), so
//! the two never drift apart. The metrics themselves are listed in
//! [`crate::telemetry`].

use std::net::SocketAddr;

use uuid::Uuid;

use crate::telemetry::{self, Emit};

/// A supervised background task panicked and is restarted.
pub struct TaskRestarted {
    pub task: &'static str,
}

impl Emit for TaskRestarted {
    fn emit(self) {
        tracing::error!(task = self.task, "a supervised task panicked; restarting it");
        metrics::counter!(telemetry::TASK_RESTARTS.name, "task" => self.task).increment(1);
    }
}

/// A MAS actor failed and is restarted from the store.
pub struct MasActorRestarted<'a> {
    pub mas_id: Uuid,
    pub error: &'a dyn std::fmt::Display,
}

impl Emit for MasActorRestarted<'_> {
    fn emit(self) {
        tracing::error!(mas_id = %self.mas_id, error = %self.error, "MAS actor failed; restarting from the store");
        metrics::counter!(telemetry::MAS_ACTOR_RESTARTS.name).increment(1);
    }
}

/// A trace event did not fit in the writer's buffer. `dropped` is the
/// node's running total; the log speaks at each power of two, so a flood
/// writes a few lines, not one per event.
pub struct TraceEventDropped {
    pub dropped: u64,
}

impl Emit for TraceEventDropped {
    fn emit(self) {
        metrics::counter!(telemetry::TRACE_EVENTS_DROPPED.name).increment(1);
        if self.dropped.is_power_of_two() {
            tracing::warn!(dropped = self.dropped, "the trace buffer is full: events are being dropped");
        }
    }
}

/// A MAS's trail budget for rejected requests is spent: this one is counted,
/// not recorded. Logged at debug only: a flood must not move into the log.
pub struct RejectionNotRecorded {
    pub mas_id: Uuid,
}

impl Emit for RejectionNotRecorded {
    fn emit(self) {
        tracing::debug!(mas_id = %self.mas_id, "rejected request not recorded in the trail: over the MAS's budget");
        metrics::counter!(telemetry::TRACE_REJECTIONS_NOT_RECORDED.name).increment(1);
    }
}

/// An app of a MAS was refused a new session: over its quota. Logged at
/// debug only, like the rejections: a flood must not move into the log.
pub struct SessionQuotaExceeded {
    pub mas_id: Uuid,
    pub app_id: Uuid,
}

impl Emit for SessionQuotaExceeded {
    fn emit(self) {
        tracing::debug!(mas_id = %self.mas_id, app_id = %self.app_id, "new session refused: over the app's quota");
        metrics::counter!(telemetry::SESSION_QUOTA_REFUSALS.name).increment(1);
    }
}

/// The store refused a batch of trace events after every retry.
pub struct TraceEventsLost {
    pub events: usize,
}

impl Emit for TraceEventsLost {
    fn emit(self) {
        tracing::error!(events = self.events, "trace events lost: the store refused them after retries");
        metrics::counter!(telemetry::TRACE_EVENTS_LOST.name).increment(self.events as u64);
    }
}

/// Why a connection to the cluster port was closed before it became a peer.
#[derive(Clone, Copy)]
pub enum HandshakeRefusal {
    TooMany,
    Tls,
    Timeout,
}

pub struct ClusterHandshakeRefused<'a> {
    pub peer: SocketAddr,
    pub reason: HandshakeRefusal,
    pub error: Option<&'a dyn std::fmt::Display>,
}

impl Emit for ClusterHandshakeRefused<'_> {
    fn emit(self) {
        let peer = self.peer;
        let reason = match self.reason {
            HandshakeRefusal::TooMany => {
                // Expected under a connection flood: not worth a line each.
                tracing::debug!(%peer, "too many cluster handshakes in progress; closing");
                "too_many"
            }
            HandshakeRefusal::Tls => {
                let error = self.error.map(ToString::to_string).unwrap_or_default();
                tracing::warn!(%peer, %error, "cluster TLS handshake failed");
                "tls"
            }
            HandshakeRefusal::Timeout => {
                tracing::warn!(%peer, "cluster peer did not finish its TLS handshake in time");
                "timeout"
            }
        };
        metrics::counter!(telemetry::CLUSTER_HANDSHAKES_REFUSED.name, "reason" => reason).increment(1);
    }
}

/// A cluster peer spoke for a node its certificate does not name.
pub enum ClusterSessionRefused<'a> {
    /// At session start: the node name is not in the certificate.
    NameNotInCertificate { peer: &'a str, why: &'a str },
    /// Later: a heartbeat names another node than the session's.
    HeartbeatName { claimed: &'a str, bound: Option<String> },
}

impl Emit for ClusterSessionRefused<'_> {
    fn emit(self) {
        let reason = match self {
            Self::NameNotInCertificate { peer, why } => {
                tracing::warn!(%peer, reason = %why, "refusing a cluster session");
                "name_not_in_certificate"
            }
            Self::HeartbeatName { claimed, bound } => {
                tracing::warn!(%claimed, ?bound, "a peer's heartbeat names another node; ignored");
                "heartbeat_name"
            }
        };
        metrics::counter!(telemetry::CLUSTER_SESSIONS_REFUSED.name, "reason" => reason).increment(1);
    }
}
