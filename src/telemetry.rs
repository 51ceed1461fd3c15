//! Logs and metrics.

use std::time::Duration;

use casa_actors::telemetry;
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

/// Installs the Prometheus recorder, describes every metric, and keeps the
/// histograms trimmed.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    let buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(telemetry::HTTP_DURATION.name.into()), &buckets)?
        .install_recorder()?;
    telemetry::describe_all();
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
