//! Node bootstrap: open the store, start the supervision tree, serve HTTP,
//! and shut down cleanly on SIGTERM.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use casa_actors::node::{Node, NodeConfig};
use casa_actors::retention::spawn_purge;
use casa_actors::store::{EmbeddedStore, ScyllaStore, Store};
use casa_actors::trace_writer::{TraceWriter, WriterConfig};

use crate::api::{self, AppState};
use crate::config::{Settings, StoreLocation};

/// Opens the embedded store, creating the data dir (0700) if needed.
pub fn open_store(data_dir: &Path, cache_bytes: usize) -> anyhow::Result<EmbeddedStore> {
    use std::os::unix::fs::DirBuilderExt;
    if !data_dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .with_context(|| format!("creating the data dir {}", data_dir.display()))?;
    }
    Ok(EmbeddedStore::open_with_cache(data_dir, cache_bytes)?)
}

/// The store the settings name: embedded in the data dir, or a CQL cluster.
pub async fn store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match settings.store_location()? {
        StoreLocation::Embedded => {
            let store = open_store(&settings.data_dir, settings.embedded_cache_mib << 20)?;
            Arc::new(store.with_key_seal(crate::kek::seal(settings, true)?))
        }
        StoreLocation::Scylla { nodes, keyspace } => {
            let store = ScyllaStore::connect(&nodes, &keyspace, &settings.cql_replication, true).await?;
            let store = store.with_key_seal(crate::kek::seal(settings, false)?);
            Arc::new(store.with_trace_ttl(settings.trace_retention.duration()))
        }
    })
}

pub async fn serve(settings: Settings, collector: crate::collector::CollectorArgs) -> anyhow::Result<()> {
    crate::telemetry::init_logging(settings.log_format, &settings.log_level)?;
    // Installed before anything can be asked of this process: a SIGTERM that
    // comes during start-up, or before the server first polls it, still stops
    // casa cleanly instead of killing it.
    let shutdown = crate::shutdown::on_signal()?;
    let metrics = crate::telemetry::install_metrics()?;
    let cluster = settings.cluster.config()?;
    let store = store(&settings).await?;
    let admin = crate::admin::ensure(&*store, &settings.data_dir).await?;
    let viewer = crate::admin::role_credential(&*store, &admin, &crate::admin::VIEWER).await?;
    let collector_credential = crate::admin::role_credential(&*store, &admin, &crate::admin::COLLECTOR).await?;
    // The listener is bound first: the public URL may default to its address.
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let bound = listener.local_addr().unwrap_or(settings.listen);
    let public_url = settings.public_url_for(bound);
    let node_config = NodeConfig {
        public_url: public_url.clone(),
        idle_timeout: settings.mas_idle_seconds.duration(),
        call_timeout: settings.actor_call_timeout_ms.duration(),
        cluster,
    };
    let ai = crate::ai::services(&settings)?;
    // On a CQL store (shared, and a batch is not one transaction) each process
    // writes its own chain segment of every MAS it serves; redb keeps one chain.
    let segment = match settings.store_location()? {
        crate::config::StoreLocation::Embedded => None,
        crate::config::StoreLocation::Scylla { .. } => {
            let node = node_config.cluster.as_ref().map_or("casa", |c| c.node_name.as_str());
            Some(format!("{node}@{}", uuid::Uuid::now_v7()))
        }
    };
    let traces = TraceWriter::start_as(store.clone(), WriterConfig::default(), segment);
    // Expired events go at start and hourly (a CQL store expires them by TTL instead).
    let purge = settings.trace_retention.duration().map(|r| spawn_purge(store.clone(), r, Duration::from_secs(3600)));
    let node_name = node_config.cluster.as_ref().map_or_else(|| "casa".to_string(), |c| c.node_name.clone());
    let node = Node::start_with(store, traces.clone(), ai, node_config)
        .await?
        .with_calls_in_flight_per_mas(settings.calls_in_flight_per_mas);
    crate::collector::start_in_node(&collector, &node, &node_name, traces.clone(), &public_url, bound).await;
    let state = AppState {
        node: node.clone(),
        admin,
        viewer,
        collector: collector_credential,
        public_url: public_url.clone(),
        metrics,
        max_body_bytes: settings.max_body_bytes,
        traces: traces.clone(),
    };
    if !crate::ui::is_built() {
        tracing::warn!("{}", crate::ui::HOW_TO_BUILD);
    }
    tracing::info!(
        listen = %bound,
        public_url = %public_url,
        data_dir = %settings.data_dir.display(),
        trace_retention = %settings.trace_retention,
        "casa is serving"
    );

    let limits = crate::http_server::Limits {
        header_timeout: settings.http_header_timeout_seconds.duration(),
        max_connections: settings.http_max_connections,
    };
    let grace = settings.shutdown_grace_seconds.duration();
    crate::http_server::serve(listener, api::app(state), limits, shutdown, grace).await.context("HTTP server")?;

    if let Some(cluster) = node.cluster() {
        // Peers take this node's MAS over now, not after missed heartbeats.
        cluster.leave().await;
        // Calls already queued at its MAS actors are answered before they stop.
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while node.mas_actor_count().await > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Their replies still cross the wire, and a peer's call sent before it
        // saw the leave gets its "not the owner here" (then retries elsewhere).
        tokio::time::sleep(2 * settings.cluster.heartbeat_ms.duration()).await;
    }
    tracing::info!("stopping the supervision tree");
    node.shutdown().await;
    // Decisions have stopped: write every trace event they produced.
    traces.flush_and_stop().await;
    if let Some(purge) = purge {
        purge.abort();
    }
    // Every write was committed before its request was answered; dropping the
    // node releases the store.
    drop(node);
    tracing::info!("casa stopped");
    Ok(())
}
