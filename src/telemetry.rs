//! Logs and metrics.

use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Logs go to stderr; stdout is kept for what the operator must see once
/// (the generated admin token).
pub fn init_logging(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter).map_err(|e| anyhow::anyhow!("log level {filter:?}: {e}"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("installing the logger: {e}"))
}

pub const HTTP_REQUESTS: &str = "casa_http_requests_total";
pub const HTTP_DURATION: &str = "casa_http_request_duration_seconds";

/// Installs the Prometheus recorder and keeps its histograms trimmed.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    let buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &buckets)?
        .install_recorder()?;
    metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests by route, method and status");
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by route, method and status"
    );
    metrics::describe_gauge!("casa_mas_actors", "MAS actors running on this node");
    metrics::describe_counter!("casa_mas_actor_restarts_total", "MAS actors restarted after a failure");
    metrics::describe_counter!("casa_trace_events_written_total", "Trace events written to the store");
    metrics::describe_counter!(
        "casa_trace_events_dropped_total",
        "Trace events dropped because the writer's buffer was full"
    );
    metrics::describe_counter!("casa_trace_events_lost_total", "Trace events the store refused after retries");
    metrics::describe_counter!(
        "casa_trace_events_purged_total",
        "Trace events deleted by the retention purge (embedded store; a CQL store expires them by TTL)"
    );
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}
