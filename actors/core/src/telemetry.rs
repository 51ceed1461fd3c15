//! Every metric casa exports, in one list, each with its kind, unit and
//! description; and the [`Emit`] shape of telemetry events, whose log line and
//! metric come from one place (vector's internal events). Code names a metric
//! through these constants only: `tests/architecture.rs` refuses a metric
//! name written as a literal anywhere else.

/// What kind of series a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One exported metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    /// Seconds for durations; `None` for plain counts.
    pub seconds: bool,
    pub help: &'static str,
}

const fn counter(name: &'static str, help: &'static str) -> Metric {
    Metric { name, kind: Kind::Counter, seconds: false, help }
}

const fn gauge(name: &'static str, help: &'static str) -> Metric {
    Metric { name, kind: Kind::Gauge, seconds: false, help }
}

const fn seconds(name: &'static str, help: &'static str) -> Metric {
    Metric { name, kind: Kind::Histogram, seconds: true, help }
}

/// A telemetry event: the one call that writes its log line (if any) and
/// updates its metrics.
pub trait Emit {
    fn emit(self);
}

pub const HTTP_REQUESTS: Metric = counter("casa_http_requests_total", "HTTP requests by route, method and status");
pub const HTTP_DURATION: Metric =
    seconds("casa_http_request_duration_seconds", "HTTP request latency by route, method and status");
pub const TRACE_EVENTS: Metric = counter("casa_trace_events_total", "Trace events recorded, by event type");
pub const TRACE_EVENTS_WRITTEN: Metric =
    counter("casa_trace_events_written_total", "Trace events written to the store");
pub const TRACE_EVENTS_DROPPED: Metric =
    counter("casa_trace_events_dropped_total", "Trace events dropped because the writer's buffer was full");
pub const TRACE_EVENTS_LOST: Metric =
    counter("casa_trace_events_lost_total", "Trace events the store refused after retries");
pub const TRACE_EVENTS_PURGED: Metric = counter(
    "casa_trace_events_purged_total",
    "Trace events deleted by the retention purge (embedded store; a CQL store expires them by TTL)",
);
pub const TASK_RESTARTS: Metric =
    counter("casa_task_restarts_total", "Supervised background tasks restarted after a panic, by task");
pub const MAS_ACTORS: Metric = gauge("casa_mas_actors", "MAS actors running on this node");
pub const MAS_ACTOR_RESTARTS: Metric = counter("casa_mas_actor_restarts_total", "MAS actors restarted after a failure");
pub const MAS_CALLS_SHED: Metric = counter(
    "casa_mas_calls_shed_total",
    "Calls refused with 503 because their MAS had too many calls in flight on this node",
);
pub const MAS_CALLS_DROPPED: Metric =
    counter("casa_mas_calls_dropped_total", "Calls a MAS actor dropped because their caller had already given up");
pub const FIRST_NEED_INTENT: Metric =
    seconds("casa_first_need_intent_seconds", "Time to embed a session's intent the first time an exchange needs it");
pub const USER_INPUT_COMMITS: Metric =
    counter("casa_user_input_commits_total", "Group commits of user inputs to the store");
pub const USER_INPUTS_COMMITTED: Metric =
    counter("casa_user_inputs_committed_total", "User inputs written by group commits");
pub const CLUSTER_MEMBERS: Metric = gauge("casa_cluster_members", "Nodes in this node's view of the cluster");
pub const CLUSTER_SERVING: Metric =
    gauge("casa_cluster_serving", "1 when this node serves its share of the MAS, 0 when it stepped back");
pub const CLUSTER_VIEW_CHANGES: Metric =
    counter("casa_cluster_view_changes_total", "Changes of this node's view of the cluster");
pub const CLUSTER_HANDOFFS: Metric =
    counter("casa_cluster_handoffs_total", "MAS actors this node stopped because another node now owns them");
pub const CLUSTER_HANDOFF_TIMEOUTS: Metric = counter(
    "casa_cluster_handoff_timeouts_total",
    "Calls answered 503 because their MAS had no owner within the hand-off budget",
);
pub const CLUSTER_REMOTE_CALL: Metric =
    seconds("casa_cluster_remote_call_seconds", "Latency of calls forwarded to the node owning the MAS");
pub const CLUSTER_REMOTE_CALL_FAILURES: Metric =
    counter("casa_cluster_remote_call_failures_total", "Forwarded calls that failed, by reason");
pub const CLUSTER_HANDSHAKES_REFUSED: Metric = counter(
    "casa_cluster_handshakes_refused_total",
    "Cluster connections closed before their TLS handshake finished, by reason",
);
pub const CLUSTER_SESSIONS_REFUSED: Metric = counter(
    "casa_cluster_sessions_refused_total",
    "Cluster sessions closed because the peer's name did not match its certificate, by reason",
);
pub const COLLECTOR_HOOK_UP: Metric = gauge("casa_collector_hook_up", "1 when the collector's kernel hook is attached");
pub const COLLECTOR_OBSERVATIONS: Metric =
    counter("casa_collector_observations_total", "Bearer tokens the collector saw on the wire");
pub const COLLECTOR_LOST: Metric = counter(
    "casa_collector_lost_total",
    "Observations the collector lost, by where (kernel ring buffer, decoding, reporting)",
);
pub const COLLECTOR_FINDINGS: Metric =
    counter("casa_collector_findings_total", "Wire events the collector recorded, by kind");

/// Every metric, for `describe` and for the tests that keep this list true.
pub const ALL: &[Metric] = &[
    HTTP_REQUESTS,
    HTTP_DURATION,
    TRACE_EVENTS,
    TRACE_EVENTS_WRITTEN,
    TRACE_EVENTS_DROPPED,
    TRACE_EVENTS_LOST,
    TRACE_EVENTS_PURGED,
    TASK_RESTARTS,
    MAS_ACTORS,
    MAS_ACTOR_RESTARTS,
    MAS_CALLS_SHED,
    MAS_CALLS_DROPPED,
    FIRST_NEED_INTENT,
    USER_INPUT_COMMITS,
    USER_INPUTS_COMMITTED,
    CLUSTER_MEMBERS,
    CLUSTER_SERVING,
    CLUSTER_VIEW_CHANGES,
    CLUSTER_HANDOFFS,
    CLUSTER_HANDOFF_TIMEOUTS,
    CLUSTER_REMOTE_CALL,
    CLUSTER_REMOTE_CALL_FAILURES,
    CLUSTER_HANDSHAKES_REFUSED,
    CLUSTER_SESSIONS_REFUSED,
    COLLECTOR_HOOK_UP,
    COLLECTOR_OBSERVATIONS,
    COLLECTOR_LOST,
    COLLECTOR_FINDINGS,
];

/// Describes every metric to the installed recorder.
pub fn describe_all() {
    for m in ALL {
        match (m.kind, m.seconds) {
            (Kind::Counter, _) => metrics::describe_counter!(m.name, m.help),
            (Kind::Gauge, _) => metrics::describe_gauge!(m.name, m.help),
            (Kind::Histogram, true) => metrics::describe_histogram!(m.name, metrics::Unit::Seconds, m.help),
            (Kind::Histogram, false) => metrics::describe_histogram!(m.name, m.help),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_prometheus_names_with_the_conventional_suffixes() {
        let mut seen = std::collections::HashSet::new();
        for m in ALL {
            assert!(seen.insert(m.name), "{} listed twice", m.name);
            assert!(m.name.starts_with("casa_") && m.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert_eq!(m.kind == Kind::Counter, m.name.ends_with("_total"), "{}", m.name);
            assert_eq!(m.seconds, m.name.ends_with("_seconds"), "{}", m.name);
            assert!(!m.help.is_empty());
        }
    }
}
