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

/// Declares each metric as a constant and lists them all in [`ALL`], so a
/// metric cannot be declared and left out of the list (and undescribed).
macro_rules! catalog {
    ($($id:ident = $make:ident($name:literal, $help:literal);)*) => {
        $(pub const $id: Metric = $make($name, $help);)*

        /// Every metric, for `describe` and for the tests that keep this list true.
        pub const ALL: &[Metric] = &[$($id),*];
    };
}

catalog! {
    HTTP_REQUESTS = counter("casa_http_requests_total", "HTTP requests by route, method and status");
    HTTP_DURATION = seconds("casa_http_request_duration_seconds", "HTTP request latency by route, method and status");
    TRACE_EVENTS = counter("casa_trace_events_total", "Trace events recorded, by event type");
    TRACE_EVENTS_WRITTEN = counter("casa_trace_events_written_total", "Trace events written to the store");
    TRACE_EVENTS_DROPPED = counter("casa_trace_events_dropped_total", "Trace events dropped because the writer's buffer was full");
    TRACE_EVENTS_LOST = counter("casa_trace_events_lost_total", "Trace events the store refused after retries");
    TRACE_REJECTIONS_NOT_RECORDED = counter("casa_trace_rejections_not_recorded_total", "Rejected requests a MAS did not write to its trail because they came faster than its budget (a flood)");
    SESSION_QUOTA_REFUSALS = counter("casa_session_quota_refusals_total", "New sessions refused with 429 because their app was over its MAS's sessions_per_app_per_second");
    TRACE_EVENTS_PURGED = counter("casa_trace_events_purged_total", "Trace events deleted by the retention purge (embedded store; a CQL store expires them by TTL)");
    BACKGROUND_BEHIND = counter("casa_background_behind_total", "Times background work (the trail's hash chain and commits) fell behind and left idle time to run at nice 10");
    TASK_RESTARTS = counter("casa_task_restarts_total", "Supervised background tasks restarted after a panic, by task");
    MAS_ACTORS = gauge("casa_mas_actors", "MAS actors running on this node");
    MAS_ACTOR_RESTARTS = counter("casa_mas_actor_restarts_total", "MAS actors restarted after a failure");
    MAS_CALLS_SHED = counter("casa_mas_calls_shed_total", "Calls refused with 503 because their MAS had too many calls in flight on this node");
    MAS_CALLS_DROPPED = counter("casa_mas_calls_dropped_total", "Calls a MAS actor dropped because their caller had already given up");
    FIRST_NEED_INTENT = seconds("casa_first_need_intent_seconds", "Time to embed a session's intent the first time an exchange needs it");
    USER_INPUT_COMMITS = counter("casa_user_input_commits_total", "Group commits of user inputs to the store");
    USER_INPUTS_COMMITTED = counter("casa_user_inputs_committed_total", "User inputs written by group commits");
    CLUSTER_MEMBERS = gauge("casa_cluster_members", "Nodes in this node's view of the cluster");
    CLUSTER_SERVING = gauge("casa_cluster_serving", "1 when this node serves its share of the MAS, 0 when it stepped back");
    CLUSTER_VIEW_CHANGES = counter("casa_cluster_view_changes_total", "Changes of this node's view of the cluster");
    CLUSTER_HANDOFFS = counter("casa_cluster_handoffs_total", "MAS actors this node stopped because another node now owns them");
    CLUSTER_HANDOFF_TIMEOUTS = counter("casa_cluster_handoff_timeouts_total", "Calls answered 503 because their MAS had no owner within the hand-off budget");
    CLUSTER_REMOTE_CALL = seconds("casa_cluster_remote_call_seconds", "Latency of calls forwarded to the node owning the MAS");
    CLUSTER_REMOTE_CALL_FAILURES = counter("casa_cluster_remote_call_failures_total", "Forwarded calls that failed, by reason");
    CLUSTER_HANDSHAKES_REFUSED = counter("casa_cluster_handshakes_refused_total", "Cluster connections closed before their TLS handshake finished, by reason");
    CLUSTER_SESSIONS_REFUSED = counter("casa_cluster_sessions_refused_total", "Cluster sessions closed because the peer's name did not match its certificate, by reason");
    COLLECTOR_HOOK_UP = gauge("casa_collector_hook_up", "1 when the collector's kernel hook is attached");
    COLLECTOR_OBSERVATIONS = counter("casa_collector_observations_total", "Bearer tokens the collector saw on the wire");
    COLLECTOR_LOST = counter("casa_collector_lost_total", "Observations the collector lost, by where (kernel ring buffer, decoding, reporting)");
    COLLECTOR_FINDINGS = counter("casa_collector_findings_total", "Wire events the collector recorded, by kind");
    COLLECTOR_JUDGE_DELAY = seconds("casa_collector_judge_delay_seconds", "From a request on the wire (its kernel timestamp) to its verdict");
}

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
