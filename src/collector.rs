//! The eBPF wire collector's flags, and starting it: inside `casa serve`
//! (`--collector on`) under the node's supervisor, or alone (`casa collect`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use casa_actors::collector::actor::{CollectorArgs as ActorArgs, CollectorConfig, StoreAuthority};
use casa_actors::node::Node;
use casa_actors::trace::TraceSink;
use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Toggle {
    On,
    Off,
}

/// The wire collector: bearer tokens seen on this node's interfaces, judged
/// against what casa issued. Needs root (or CAP_BPF, CAP_NET_ADMIN and
/// CAP_PERFMON) and a kernel with TCX (6.6+); without them casa serves on
/// and `GET /collector` says why.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Wire collector (eBPF)")]
pub struct CollectorArgs {
    /// Watch bearer tokens on the wire with eBPF and judge them
    #[arg(long, env = "CASA_COLLECTOR", value_enum, default_value_t = Toggle::Off)]
    pub collector: Toggle,
    /// Interfaces to watch (TCX ingress and egress; egress alone on lo, which sees every packet), comma-separated
    #[arg(long, env = "CASA_COLLECTOR_INTERFACES", value_name = "IF,...", value_delimiter = ',', default_value = "lo")]
    pub collector_interfaces: Vec<String>,
    /// Bytes of each HTTP request scanned for `Authorization: Bearer` (64 to 16384)
    #[arg(long, env = "CASA_COLLECTOR_SCAN_BYTES", value_name = "BYTES", default_value_t = 16384,
          value_parser = clap::value_parser!(u32).range(64..=16384))]
    pub collector_scan_bytes: u32,
    /// Ring buffer size in MiB (a power of two). casa maps it twice (records
    /// wrap around its end), so the node's RSS grows by twice this
    #[arg(long, env = "CASA_COLLECTOR_RING_MIB", value_name = "MIB", default_value_t = 8,
          value_parser = parse_ring_mib)]
    pub collector_ring_mib: u32,
    /// Seconds over which sightings of a token (per sender and destination) become one wire_token_seen
    #[arg(long, env = "CASA_COLLECTOR_WINDOW_SECONDS", value_name = "SECONDS", default_value_t = 10,
          value_parser = parse_window)]
    pub collector_window_seconds: u64,
    /// Opt-in TLS: libssl files to put SSL_write uprobes on, for every process
    /// mapping them (e.g. /usr/lib/x86_64-linux-gnu/libssl.so.3), comma-separated.
    /// rustls and Go's crypto/tls are not coverable
    #[arg(long, env = "CASA_COLLECTOR_TLS_BINARIES", value_name = "PATH,...", value_delimiter = ',')]
    pub collector_tls_binaries: Vec<std::path::PathBuf>,
    /// Opt-in TLS: processes whose mapped libssl.so.3 is hooked for them alone, comma-separated
    #[arg(long, env = "CASA_COLLECTOR_TLS_PIDS", value_name = "PID,...", value_delimiter = ',')]
    pub collector_tls_pids: Vec<u32>,
}

/// Seconds in casa's one duration grammar (`30`, `2m`), from 1 s to 1 h.
fn parse_window(s: &str) -> Result<u64, String> {
    let n = s.parse::<crate::config::Seconds>()?.0;
    if !(1..=3600).contains(&n) {
        return Err("from 1s to 1h".into());
    }
    Ok(n)
}

fn parse_ring_mib(s: &str) -> Result<u32, String> {
    let n: u32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !(1..=1024).contains(&n) || !n.is_power_of_two() {
        return Err("a power of two from 1 to 1024".into());
    }
    Ok(n)
}

impl CollectorArgs {
    pub fn config(&self, node: &str) -> CollectorConfig {
        CollectorConfig {
            interfaces: self
                .collector_interfaces
                .iter()
                .map(|i| i.trim().to_string())
                .filter(|i| !i.is_empty())
                .collect(),
            scan_limit: self.collector_scan_bytes,
            ring_bytes: self.collector_ring_mib << 20,
            window: Duration::from_secs(self.collector_window_seconds),
            node: node.into(),
            tls_binaries: self.collector_tls_binaries.iter().filter(|p| !p.as_os_str().is_empty()).cloned().collect(),
            tls_pids: self.collector_tls_pids.clone(),
            ..Default::default()
        }
    }
}

/// The addresses a listener bound to `bound` answers on (all local ones for 0.0.0.0/::).
fn listen_addrs(bound: SocketAddr) -> Vec<SocketAddr> {
    if !bound.ip().is_unspecified() {
        return vec![bound];
    }
    let mut v = vec![
        SocketAddr::new("127.0.0.1".parse().unwrap(), bound.port()),
        SocketAddr::new("::1".parse().unwrap(), bound.port()),
    ];
    v.push(bound);
    v
}

/// Starts the collector under the node's supervisor when `--collector on`.
/// Never fails `casa serve`: a collector that cannot start is logged.
pub async fn start_in_node(
    args: &CollectorArgs,
    node: &Node,
    node_name: &str,
    trace: Arc<dyn TraceSink>,
    public_url: &str,
    bound: SocketAddr,
) {
    if args.collector == Toggle::Off {
        return;
    }
    let authority = Arc::new(StoreAuthority {
        store: node.store().clone(),
        public_url: public_url.into(),
        casa_listen: listen_addrs(bound),
    });
    let config = args.config(node_name);
    if let Err(e) = node.start_collector(ActorArgs { config, authority, trace }).await {
        tracing::error!(error = %e, "the wire collector did not start; casa serves without it");
    }
}

/// `casa collect`: the collector alone, for a node whose traffic no `casa
/// serve` sees (a Kubernetes DaemonSet). It judges locally with the public
/// keys, revocation rules and app addresses it reads from a node's admin API,
/// and reports its findings (never a token) back to that node, which writes
/// them to the trace. Both ways are authenticated with the node's collector
/// token, which allows nothing else.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// A casa node's base URL (use https:// across hosts), e.g. http://casa.casa.svc:8080
    #[arg(long, env = "CASA_REPORT_TO", value_name = "URL")]
    pub report_to: String,
    /// The node's collector token (`casa collector-token rotate`, or CASA_COLLECTOR_TOKEN on the
    /// node); it reads keys and revocations and posts findings, nothing else. Give it by the
    /// variable: a flag shows in `ps`
    #[arg(long, env = "CASA_COLLECTOR_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: String,
    /// This collector's name in every event [default: the host name]
    #[arg(long, env = "CASA_NODE_NAME", value_name = "NAME")]
    pub node_name: Option<String>,
    /// Log filter, e.g. `info` or `casa=debug`
    #[arg(long, env = "CASA_LOG_LEVEL", value_name = "FILTER", default_value = "info")]
    pub log_level: String,
    /// Log format
    #[arg(long, env = "CASA_LOG_FORMAT", value_enum, default_value_t = crate::config::LogFormat::Text)]
    pub log_format: crate::config::LogFormat,
    #[command(flatten)]
    pub collector: CollectorArgs,
}

struct Remote {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Remote {
    async fn get(&self, path: &str) -> Result<serde_json::Value, String> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("{}{path}: {e}", self.base))?;
        let status = r.status();
        if !status.is_success() {
            return Err(format!("{}{path}: HTTP {status}", self.base));
        }
        r.json().await.map_err(|e| format!("{}{path}: {e}", self.base))
    }
}

#[async_trait::async_trait]
impl casa_actors::collector::actor::Authority for Remote {
    async fn snapshot(&self) -> Result<casa_actors::collector::directory::Snapshot, String> {
        let v = self.get("/collector/directory").await?;
        serde_json::from_value(v["snapshot"].clone()).map_err(|e| format!("the directory: {e}"))
    }
    async fn revocations(&self, mas_id: uuid::Uuid) -> Result<Vec<casa_actors::revocation::Revocation>, String> {
        let v = self.get(&format!("/collector/revocations/{mas_id}")).await?;
        serde_json::from_value(v["rules"].clone()).map_err(|e| format!("revocations: {e}"))
    }
}

/// Buffers findings and posts them in batches; never blocks the judge.
struct ReportSink {
    tx: tokio::sync::mpsc::Sender<casa_actors::trace::TraceEvent>,
}

impl TraceSink for ReportSink {
    fn record(&self, event: casa_actors::trace::TraceEvent) {
        if self.tx.try_send(event).is_err() {
            metrics::counter!(casa_actors::telemetry::COLLECTOR_LOST.name, "where" => "report").increment(1);
        }
    }
}

async fn report_loop(remote: Arc<Remote>, mut rx: tokio::sync::mpsc::Receiver<casa_actors::trace::TraceEvent>) {
    let mut batch = Vec::new();
    loop {
        let Some(first) = rx.recv().await else { break };
        batch.push(first);
        while batch.len() < crate::api::collector::MAX_REPORTED_EVENTS {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        let mut backoff = Duration::from_millis(200);
        loop {
            let sent = remote
                .http
                .post(format!("{}/collector/events", remote.base))
                .bearer_auth(&remote.token)
                .json(&serde_json::json!({ "events": batch }))
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => break,
                // Refused as invalid: retrying cannot help.
                Ok(r) if r.status().is_client_error() && r.status() != reqwest::StatusCode::TOO_MANY_REQUESTS => {
                    tracing::error!(status = %r.status(), n = batch.len(), "the node refused the collector's report");
                    metrics::counter!(casa_actors::telemetry::COLLECTOR_LOST.name, "where" => "report")
                        .increment(batch.len() as u64);
                    break;
                }
                Ok(r) => tracing::warn!(status = %r.status(), "reporting to the node failed; retrying"),
                Err(e) => tracing::warn!(error = %e, "reporting to the node failed; retrying"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
        batch.clear();
    }
}

pub async fn collect(args: CollectArgs) -> anyhow::Result<()> {
    crate::telemetry::init_logging(args.log_format, &args.log_level)?;
    let stop = crate::shutdown::on_signal()?;
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let base = args.report_to.trim_end_matches('/').to_string();
    url::Url::parse(&base).map_err(|e| anyhow::anyhow!("--report-to {base:?}: {e}"))?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let remote = Arc::new(Remote { http, base: base.clone(), token: args.token.clone() });
    // Fail at once on a wrong URL or token rather than judge with nothing.
    casa_actors::collector::actor::Authority::snapshot(&*remote)
        .await
        .map_err(|e| anyhow::anyhow!("reading the directory from {base}: {e}"))?;
    let (tx, rx) = tokio::sync::mpsc::channel(100_000);
    let reporter = tokio::spawn(report_loop(remote.clone(), rx));
    let node = args.node_name.clone().unwrap_or_else(hostname);
    let config = args.collector.config(&node);
    let actor = casa_actors::collector::actor::spawn(
        ActorArgs { config, authority: remote, trace: Arc::new(ReportSink { tx }) },
        None,
    )
    .await?;
    tracing::info!(report_to = %base, node = %node, "casa collect is running");
    stop.await;
    tracing::info!("stopping the collector");
    actor.stop_and_wait(None, Some(Duration::from_secs(5))).await.ok();
    // The sink went with the actor: the reporter sends what is left, then ends.
    let _ = tokio::time::timeout(Duration::from_secs(10), reporter).await;
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "collector".into())
}
