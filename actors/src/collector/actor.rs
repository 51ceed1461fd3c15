//! The `Collector` actor: one per node (or alone in `casa collect`). It runs
//! a worker that loads the eBPF programs, drains their ring buffer, joins and
//! judges what they saw and writes `wire_*` trace events; when the worker
//! fails it is restarted with a back-off. Nothing here can stop a node from
//! serving: an unavailable kernel feature is a status, not an error.
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use casa_ebpf::flow::{Event, Reassembler, Request};
use casa_ebpf::{http, procfs, Counters, Direction, Hook, HookState, KernelBtf, Sender, Sensor, SensorConfig};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde::Serialize;
use zeroize::{Zeroize, Zeroizing};

use super::directory::{Directory, Snapshot};
use super::judge::{Judge, Observation, Secret};
use crate::error::Cause;
use crate::revocation::Revocation;
use crate::store::Store;
use crate::trace::TraceSink;

/// Where the collector learns what casa issued: the store (`casa serve`),
/// or a node's API (`casa collect --report-to`).
#[async_trait::async_trait]
pub trait Authority: Send + Sync + 'static {
    async fn snapshot(&self) -> Result<Snapshot, String>;
    /// One realm's revocation rules, read fresh.
    async fn revocations(&self, mas_id: uuid::Uuid) -> Result<Vec<Revocation>, String>;
    /// [`Store::local_changes`] of the store snapshots come from, when this
    /// process makes every change to it; `None` when others may.
    fn local_changes(&self) -> Option<u64> {
        None
    }
}

/// The store every node of a cluster shares: a node judges every realm's
/// tokens without owning their MAS.
pub struct StoreAuthority {
    pub store: Arc<dyn Store>,
    pub public_url: String,
    pub casa_listen: Vec<SocketAddr>,
}

#[async_trait::async_trait]
impl Authority for StoreAuthority {
    async fn snapshot(&self) -> Result<Snapshot, String> {
        Snapshot::read(&*self.store, &self.public_url, &self.casa_listen).await.map_err(|e| e.to_string())
    }
    async fn revocations(&self, mas_id: uuid::Uuid) -> Result<Vec<Revocation>, String> {
        self.store.revocations(mas_id).await.map_err(|e| e.to_string())
    }
    fn local_changes(&self) -> Option<u64> {
        self.store.local_changes()
    }
}

#[derive(Clone, Debug)]
pub struct CollectorConfig {
    /// Interfaces for the TCX classifiers (ingress and egress).
    pub interfaces: Vec<String>,
    /// Bytes of each request scanned for the Authorization header.
    pub scan_limit: u32,
    pub ring_bytes: u32,
    /// wire_token_seen is aggregated over this window.
    pub window: Duration,
    /// How often keys, apps and addresses are re-read from the store.
    pub refresh: Duration,
    /// This node's name, in every event.
    pub node: String,
    /// libssl SSL_write uprobes: files (every process mapping them) and PIDs.
    pub tls_binaries: Vec<std::path::PathBuf>,
    pub tls_pids: Vec<u32>,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            interfaces: vec!["lo".into()],
            scan_limit: casa_ebpf::sensor::DEFAULT_SCAN_LIMIT,
            ring_bytes: casa_ebpf::sensor::DEFAULT_RING_BYTES,
            window: Duration::from_secs(10),
            refresh: Duration::from_secs(2),
            node: "casa".into(),
            tls_binaries: Vec::new(),
            tls_pids: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Lost {
    /// Records the kernel could not reserve in the ring buffer.
    pub kernel: u64,
    /// Records that did not decode.
    pub decode: u64,
}

/// What `GET /collector` shows.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CollectorStatus {
    /// `starting`, `running`, `unavailable` or `restarting`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub node: String,
    pub interfaces: Vec<String>,
    pub hooks: Vec<Hook>,
    /// Whether the kernel's BTF was readable (the programs load without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_btf: Option<KernelBtf>,
    pub kernel: Counters,
    /// Records read from the ring buffer.
    pub observations: u64,
    /// Requests judged (after joining split ones and dropping the second
    /// sighting of a packet seen on both sides of `lo`).
    pub requests: u64,
    pub truncated_requests: u64,
    pub findings: BTreeMap<String, u64>,
    pub lost: Lost,
    pub load_attach_ms: Option<f64>,
    pub realms: usize,
    pub apps: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_error: Option<String>,
    pub verifications: u64,
    pub verdict_cache_hits: u64,
    pub restarts: u64,
}

pub type SharedStatus = Arc<RwLock<CollectorStatus>>;

static CURRENT: RwLock<Option<SharedStatus>> = RwLock::new(None);

/// The status of this process's collector, if one was started.
pub fn current_status() -> Option<CollectorStatus> {
    let s = CURRENT.read().ok()?.as_ref()?.read().ok()?.clone();
    Some(s)
}

pub struct CollectorArgs {
    pub config: CollectorConfig,
    pub authority: Arc<dyn Authority>,
    pub trace: Arc<dyn TraceSink>,
}

#[derive(ractor_cluster::RactorMessage)]
pub enum CollectorMsg {
    /// The worker returned (why), or failed.
    WorkerEnded(String),
    Restart,
    Status(RpcReplyPort<CollectorStatus>),
}

pub struct Collector;

/// Prefix of the actor's name: the node supervisor tells it apart by it.
pub const ACTOR_NAME: &str = "casa-collector";

/// Spawns the collector, linked to `supervisor` when given (`casa serve`),
/// alone otherwise (`casa collect`).
pub async fn spawn(
    args: CollectorArgs,
    supervisor: Option<ractor::ActorCell>,
) -> Result<ActorRef<CollectorMsg>, crate::CoreError> {
    let name = format!("{ACTOR_NAME}-{}", uuid::Uuid::now_v7());
    let started = match supervisor {
        Some(s) => Actor::spawn_linked(Some(name), Collector, args, s).await,
        None => Actor::spawn(Some(name), Collector, args).await,
    };
    started.map(|(a, _)| a).map_err(|e| crate::CoreError::internal(Cause::because("starting the wire collector", &e)))
}

pub struct CollectorState {
    args: CollectorArgs,
    status: SharedStatus,
    worker: Option<Worker>,
    backoff: Duration,
}

/// The running worker task, and how to ask it to stop.
struct Worker {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::AbortHandle,
}

impl Worker {
    /// Asks the worker to write what it aggregated and detach; aborts it if
    /// it has not within a second.
    async fn stop(self) {
        let _ = self.stop.send(());
        let deadline = Instant::now() + Duration::from_secs(1);
        while !self.task.is_finished() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.task.abort();
    }
}

/// The worker runs on a thread and runtime of its own: at saturation judging
/// a batch takes a millisecond or more, which on the node's async workers
/// delayed the requests queued behind it.
fn spawn_worker(me: ActorRef<CollectorMsg>, s: &CollectorState) -> Worker {
    let (cfg, authority, trace, status) =
        (s.args.config.clone(), s.args.authority.clone(), s.args.trace.clone(), s.status.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let (ended, why) = tokio::sync::oneshot::channel();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let task = match runtime {
        Ok(rt) => {
            let inner = rt.spawn(run(cfg, authority, trace, status, stopped));
            let task = inner.abort_handle();
            let thread = std::thread::Builder::new().name("casa-collector".into()).spawn(move || {
                let why = rt.block_on(inner).unwrap_or_else(|e| format!("the worker failed: {e}"));
                let _ = ended.send(why);
            });
            if let Err(e) = thread {
                // Its end is reported below (the sender went with the closure).
                tracing::error!(error = %e, "starting the collector thread");
            }
            task
        }
        Err(e) => {
            // Nothing runs: the supervisor hears why and backs off.
            let _ = ended.send(format!("starting the collector's runtime: {e}"));
            tokio::spawn(async {}).abort_handle()
        }
    };
    tokio::spawn(async move {
        let why = why.await.unwrap_or_else(|_| "the collector thread ended".into());
        let _ = me.cast(CollectorMsg::WorkerEnded(why));
    });
    Worker { stop, task }
}

impl Actor for Collector {
    type Msg = CollectorMsg;
    type State = CollectorState;
    type Arguments = CollectorArgs;

    async fn pre_start(
        &self,
        me: ActorRef<CollectorMsg>,
        args: CollectorArgs,
    ) -> Result<CollectorState, ActorProcessingErr> {
        let status: SharedStatus = Arc::new(RwLock::new(CollectorStatus {
            state: "starting".into(),
            node: args.config.node.clone(),
            interfaces: args.config.interfaces.clone(),
            ..Default::default()
        }));
        if let Ok(mut c) = CURRENT.write() {
            *c = Some(status.clone());
        }
        let mut state = CollectorState { args, status, worker: None, backoff: Duration::from_millis(500) };
        state.worker = Some(spawn_worker(me, &state));
        Ok(state)
    }

    async fn handle(
        &self,
        me: ActorRef<CollectorMsg>,
        msg: CollectorMsg,
        s: &mut CollectorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            CollectorMsg::WorkerEnded(why) => {
                let unavailable = s.status.read().map(|st| st.state == "unavailable").unwrap_or(false);
                if unavailable {
                    // Loading failed for a reason a restart does not fix (no BPF, not root).
                    tracing::warn!(reason = %why, "the wire collector is unavailable; casa keeps serving");
                    return Ok(());
                }
                tracing::error!(reason = %why, backoff_ms = s.backoff.as_millis() as u64, "the wire collector stopped; restarting it");
                if let Ok(mut st) = s.status.write() {
                    st.state = "restarting".into();
                    st.reason = Some(why);
                    st.restarts += 1;
                }
                // The timer runs on its own; its handle is not needed.
                drop(me.send_after(s.backoff, || CollectorMsg::Restart));
                s.backoff = (s.backoff * 2).min(Duration::from_secs(30));
            }
            CollectorMsg::Restart => s.worker = Some(spawn_worker(me, s)),
            CollectorMsg::Status(reply) => {
                let _ = reply.send(s.status.read().map(|st| st.clone()).unwrap_or_default());
            }
        }
        Ok(())
    }

    async fn post_stop(&self, _: ActorRef<CollectorMsg>, s: &mut CollectorState) -> Result<(), ActorProcessingErr> {
        // The worker writes its pending sightings; dropping its sensor detaches every link.
        if let Some(w) = s.worker.take() {
            w.stop().await;
        }
        if let Ok(mut c) = CURRENT.write() {
            *c = None;
        }
        Ok(())
    }
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn publish_hooks(hooks: &[Hook]) {
    for h in hooks {
        let up = matches!(h.state, HookState::Attached | HookState::Degraded { .. });
        metrics::gauge!(crate::telemetry::COLLECTOR_HOOK_UP.name, "hook" => h.name.clone()).set(if up {
            1.0
        } else {
            0.0
        });
    }
}

/// A sender's (key, label), as observations carry them.
type SenderLabels = (Arc<str>, Arc<str>);

/// Who sends on each flow: the kernel's attribution, else /proc, else the
/// address. A flow's requests share the labels made for its sender rather
/// than formatting them once per request.
#[derive(Default)]
struct Senders {
    /// /proc lookups for flows the kernel did not attribute.
    owners: foldhash::HashMap<(SocketAddr, SocketAddr), Option<Sender>>,
    /// Per flow, the sender its labels were made for, and those labels.
    labels: foldhash::HashMap<(SocketAddr, SocketAddr), (Option<Sender>, SenderLabels)>,
}

/// Flows whose senders are remembered; past it they are looked up again.
const SENDER_FLOWS_MAX: usize = 65_536;

impl Senders {
    fn of(&mut self, r: &Request, cg: Option<&std::path::Path>) -> SenderLabels {
        let flow = (r.src, r.dst);
        let owner = match &r.sender {
            Some(s) => Some(s),
            None if r.direction != Direction::Egress || r.cookie == 0 => None,
            None => {
                if self.owners.len() > SENDER_FLOWS_MAX {
                    self.owners.clear();
                }
                self.owners.entry(flow).or_insert_with(|| procfs::socket_owner(r.src, r.dst, cg)).as_ref()
            }
        };
        if let Some((made_for, labels)) = self.labels.get(&flow) {
            if made_for.as_ref() == owner {
                return labels.clone();
            }
        }
        let labels: SenderLabels = match owner {
            Some(s) => (
                format!("cgroup {} {}", s.cgroup_id, s.comm).into(),
                format!("pid {} ({}) cgroup {}", s.pid, s.comm, s.cgroup_id).into(),
            ),
            None => (format!("ip {}", r.src.ip()).into(), r.src.ip().to_string().into()),
        };
        if self.labels.len() > SENDER_FLOWS_MAX {
            self.labels.clear();
        }
        self.labels.insert(flow, (owner.cloned(), labels.clone()));
        labels
    }
}

/// Bytes off the wire as text: valid UTF-8 (every well-formed header) is
/// taken as it is, without a copy or the slower lossy scan.
fn text_of(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| {
        let mut bytes = e.into_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        bytes.zeroize(); // it may be a token
        text
    })
}

/// A credential's text as a [`Secret`], leaving no unzeroed copy behind.
fn secret(bytes: Vec<u8>) -> Secret {
    let mut text = Zeroizing::new(text_of(bytes));
    if text.len() == text.capacity() {
        // Boxing reallocates only a buffer with spare room: this one moves.
        return Zeroizing::new(std::mem::take(&mut *text).into_boxed_str());
    }
    Zeroizing::new(text.as_str().into()) // a copy; `text` is zeroed as it drops
}

/// The request becomes the observation: its Host and token move into it
/// rather than being copied (the token's bytes are zeroed when it is dropped),
/// and its method and path are borrowed from the request line.
fn observation(line: &[u8], r: Request, sender: SenderLabels) -> Observation<'_> {
    let line = http::request_line(line);
    let target = line.map(|(_, t)| t);
    Observation {
        src: (!r.tls).then_some(r.src),
        dst: (!r.tls).then_some(r.dst),
        sender_key: sender.0,
        sender: sender.1,
        method: line.map(|(m, _)| m),
        path: target.map(http::path),
        host: (!r.host.is_empty()).then(|| text_of(r.host)),
        token: r.token.map(secret),
        query_token: target.and_then(http::query_token).map(|q| secret(q.into_bytes())),
        tool_call: if line.is_some_and(|(m, _)| m == "POST") { http::tool_call(&r.body) } else { None },
        truncated: r.truncated,
    }
}

async fn load_directory(authority: &dyn Authority, status: &SharedStatus) -> Option<Directory> {
    let loaded = match authority.snapshot().await {
        // App URLs may name hosts: resolving them blocks.
        Ok(snap) => tokio::task::spawn_blocking(move || Directory::from_snapshot(&snap, now_unix()))
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match loaded {
        Ok(d) => {
            if let Ok(mut st) = status.write() {
                st.realms = d.realms.len();
                st.apps = d.apps_by_authority.len();
                st.directory_error = None;
            }
            Some(d)
        }
        Err(e) => {
            // Judging on without keys would call every token unverifiable.
            tracing::warn!(error = %e, "the collector could not read the realms");
            if let Ok(mut st) = status.write() {
                st.directory_error = Some(e);
            }
            None
        }
    }
}

/// Writes the window's aggregated `wire_token_seen` events.
fn write_sightings(judge: &mut Judge, trace: &dyn TraceSink, status: &SharedStatus) {
    let seen = judge.flush();
    if let Ok(mut st) = status.write() {
        *st.findings.entry("wire_token_seen".into()).or_default() += seen.len() as u64;
    }
    for e in seen {
        trace.record(e);
    }
}

/// The worker: returns why it stopped.
async fn run(
    cfg: CollectorConfig,
    authority: Arc<dyn Authority>,
    trace: Arc<dyn TraceSink>,
    status: SharedStatus,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> String {
    let started = Instant::now();
    let scfg = SensorConfig {
        interfaces: cfg.interfaces.clone(),
        scan_limit: cfg.scan_limit,
        ring_bytes: cfg.ring_bytes,
        tls_binaries: cfg.tls_binaries.clone(),
        tls_pids: cfg.tls_pids.clone(),
        ..Default::default()
    };
    // Loading runs the verifier (~100 ms): off the async workers.
    let loaded = match tokio::task::spawn_blocking(move || Sensor::start(&scfg)).await {
        Ok(loaded) => loaded,
        Err(e) => return format!("loading the BPF programs failed: {e}"),
    };
    let mut sensor = match loaded {
        Ok(s) => s,
        Err(hooks) => {
            publish_hooks(&hooks);
            let reason = hooks.first().map(|h| match &h.state {
                HookState::Unavailable { reason } => reason.clone(),
                _ => String::new(),
            });
            if let Ok(mut st) = status.write() {
                st.state = "unavailable".into();
                st.reason = reason.clone();
                st.hooks = hooks;
            }
            return reason.unwrap_or_default();
        }
    };
    let load_attach = started.elapsed();
    let Some(mut records) = sensor.take_records() else { return "the ring buffer could not be polled".into() };
    let hooks = sensor.hooks();
    publish_hooks(&hooks);
    // Only an ingress hook can see a packet a second time (see the batch loop).
    let ingress_hooked = hooks.iter().any(|h| h.name.starts_with("tcx_ingress:"));
    if let Ok(mut st) = status.write() {
        st.state = "running".into();
        st.reason = None;
        st.hooks = hooks;
        st.kernel_btf = Some(sensor.kernel_btf().clone());
        st.load_attach_ms = Some(load_attach.as_secs_f64() * 1e3);
    }
    tracing::info!(interfaces = ?cfg.interfaces, load_attach_ms = load_attach.as_millis() as u64, "the wire collector is attached");
    let cgroup2 = casa_ebpf::sensor::cgroup2_root();
    let mut dir_changes = authority.local_changes();
    let mut dir = load_directory(&*authority, &status).await.unwrap_or_default();
    let mut judge = Judge::new(cfg.node.clone());
    let mut flows = Reassembler::default();
    let mut egress_seen: foldhash::HashMap<(SocketAddr, SocketAddr), Instant> = Default::default();
    let mut senders = Senders::default();
    let mut window = tokio::time::interval(cfg.window);
    let mut refresh = tokio::time::interval(cfg.refresh);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let (mut observations, mut decode_errors) = (0u64, 0u64);
    // Kept across batches: at 10,000/s a batch is ~15 records every 1.5 ms.
    let (mut batch, mut events, mut fresh, mut seen_at) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    loop {
        tokio::select! {
            r = records.drain(|r| batch.push(r)) => {
                if let Err(e) = r {
                    return format!("reading the ring buffer: {e}");
                }
            }
            _ = window.tick() => write_sightings(&mut judge, &*trace, &status),
            _ = &mut stop => {
                write_sightings(&mut judge, &*trace, &status);
                return "stopped".into();
            }
            _ = refresh.tick() => {
                let changes = authority.local_changes();
                if let Some(d) = load_directory(&*authority, &status).await {
                    (dir, dir_changes) = (d, changes);
                    judge.directory_changed();
                }
            }
            _ = tick.tick() => {
                flows.expire(monotonic_ns(), 2_000_000_000, &mut events);
                egress_seen.retain(|_, t| t.elapsed() < Duration::from_secs(30));
                let c = sensor.counters();
                let hooks = sensor.hooks();
                publish_hooks(&hooks);
                metrics::counter!(crate::telemetry::COLLECTOR_OBSERVATIONS.name).absolute(observations);
                metrics::counter!(crate::telemetry::COLLECTOR_LOST.name, "where" => "kernel").absolute(c.reserve_failures);
                metrics::counter!(crate::telemetry::COLLECTOR_LOST.name, "where" => "decode").absolute(decode_errors);
                if let Ok(mut st) = status.write() {
                    st.kernel = c;
                    st.hooks = hooks;
                    st.observations = observations;
                    st.lost = Lost { kernel: c.reserve_failures, decode: decode_errors };
                    st.verifications = judge.verifications;
                    st.verdict_cache_hits = judge.cache_hits;
                }
            }
        }
        for r in batch.drain(..) {
            match r {
                Ok(rec) => {
                    observations += 1;
                    flows.push(rec, &mut events);
                }
                Err(_) => decode_errors += 1,
            }
        }
        if events.is_empty() {
            continue;
        }
        // A packet that leaves one hooked interface and arrives on another
        // (both ends of a veth pair hooked here) is judged once. (lo has
        // egress alone hooked: its packets are seen once.)
        let now_i = Instant::now();
        for e in events.drain(..) {
            let (dir_, src, dst) = match &e {
                Event::Request(r) => (r.direction, r.src, r.dst),
                Event::Response { direction, src, dst, .. } => (*direction, *src, *dst),
            };
            match dir_ {
                Direction::Egress if ingress_hooked => {
                    egress_seen.insert((src, dst), now_i);
                }
                Direction::Egress => {}
                Direction::Ingress if egress_seen.contains_key(&(src, dst)) => continue,
                Direction::Ingress => {}
            }
            fresh.push(e);
        }
        let now = now_unix();
        let changes = authority.local_changes();
        if changes.is_some() {
            // This process makes every change: MAS, apps, keys and revocations
            // acknowledged before these requests were drained are in the
            // directory once it is re-read after any change, and only then.
            if changes != dir_changes {
                // A failed read is not retried per batch: the refresh tick
                // retries it, and the status names the error meanwhile.
                if let Some(d) = load_directory(&*authority, &status).await {
                    dir = d;
                    judge.directory_changed();
                }
                dir_changes = changes;
            }
        } else {
            // Revocations acknowledged (on any node) before these requests
            // were drained are in the store now: re-read the rules of every
            // realm they involve.
            refresh_revocations(&fresh, &mut dir, &*authority, now).await;
        }
        let (mut requests, mut truncated, mut found) = (0u64, 0u64, BTreeMap::<String, u64>::new());
        for e in fresh.drain(..) {
            let out = match e {
                Event::Request(mut r) => {
                    requests += 1;
                    seen_at.push(r.ts_ns);
                    truncated += r.truncated as u64;
                    let sender = senders.of(&r, cgroup2.as_deref());
                    let line = std::mem::take(&mut r.line);
                    judge.observe(&observation(&line, r, sender), &dir, now)
                }
                Event::Response { src, dst, status, .. } => judge.response(src, dst, status).into_iter().collect(),
            };
            for ev in out {
                *found.entry(ev.type_name().to_string()).or_default() += 1;
                metrics::counter!(crate::telemetry::COLLECTOR_FINDINGS.name, "kind" => ev.type_name()).increment(1);
                trace.record(ev);
            }
        }
        // One clock read per batch: each delay is an upper bound by the batch's own judging time.
        let judged = monotonic_ns();
        let delay = metrics::histogram!(crate::telemetry::COLLECTOR_JUDGE_DELAY.name);
        for ts in seen_at.drain(..) {
            delay.record(judged.saturating_sub(ts) as f64 / 1e9);
        }
        if let Ok(mut st) = status.write() {
            st.requests += requests;
            st.truncated_requests += truncated;
            for (k, v) in found {
                *st.findings.entry(k).or_default() += v;
            }
        }
    }
}

/// Re-reads the revocation rules of every realm whose tokens are in `events`.
async fn refresh_revocations(events: &[Event], dir: &mut Directory, authority: &dyn Authority, now: i64) {
    let issuers: HashSet<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Request(r) => r.token.as_deref(),
            _ => None,
        })
        .filter_map(|t| std::str::from_utf8(t).ok().and_then(crate::token::claimed_issuer))
        .collect();
    for iss in issuers {
        let Some(mas_id) = dir.realms.get(&iss).map(|r| r.mas_id) else { continue };
        match authority.revocations(mas_id).await {
            Ok(rules) => dir.set_revocations(&iss, rules, now),
            Err(e) => tracing::warn!(error = %e, "the collector could not re-read revocations"),
        }
    }
}

/// CLOCK_MONOTONIC in ns: the clock of the kernel's record timestamps.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(sender: Option<Sender>) -> Request {
        Request {
            ts_ns: 0,
            ifindex: 1,
            direction: Direction::Ingress,
            src: "127.0.0.1:40000".parse().unwrap(),
            dst: "127.0.0.1:9001".parse().unwrap(),
            cookie: 0,
            sender,
            line: b"GET / HTTP/1.1".to_vec(),
            host: Vec::new(),
            body: Vec::new(),
            token: None,
            other_scheme: false,
            truncated: false,
            joined: false,
            tls: false,
        }
    }

    fn agent(pid: u32) -> Option<Sender> {
        Some(Sender { pid, comm: "agent".into(), cgroup_id: 7 })
    }

    #[test]
    fn a_flow_keeps_its_sender_labels_until_its_sender_changes() {
        let mut senders = Senders::default();
        let first = senders.of(&request(agent(1)), None);
        assert_eq!((&*first.0, &*first.1), ("cgroup 7 agent", "pid 1 (agent) cgroup 7"));
        let again = senders.of(&request(agent(1)), None);
        assert!(Arc::ptr_eq(&first.1, &again.1), "one flow, one sender: the labels are shared");
        // The port was reused by another process: new labels, never the old ones.
        let reused = senders.of(&request(agent(2)), None);
        assert_eq!(&*reused.1, "pid 2 (agent) cgroup 7");
        let unknown = senders.of(&request(None), None);
        assert_eq!((&*unknown.0, &*unknown.1), ("ip 127.0.0.1", "127.0.0.1"));
    }

    #[test]
    fn wire_text_is_kept_when_valid_and_replaced_when_not() {
        assert_eq!(text_of(b"Bearer eyJ.a.b".to_vec()), "Bearer eyJ.a.b");
        assert_eq!(text_of(b"a\xffb".to_vec()), "a\u{fffd}b");
        assert_eq!(text_of(Vec::new()), "");
    }

    #[test]
    fn a_credential_moves_into_its_secret_unless_boxing_would_reallocate() {
        let exact = b"eyJ.a.b".to_vec();
        let at = exact.as_ptr();
        let moved = secret(exact);
        assert_eq!((&**moved, moved.as_ptr()), ("eyJ.a.b", at), "an exactly sized buffer is not copied");
        let mut roomy = Vec::with_capacity(64);
        roomy.extend_from_slice(b"eyJ.c.d");
        let at = roomy.as_ptr();
        let copied = secret(roomy);
        assert_eq!(&**copied, "eyJ.c.d");
        assert_ne!(copied.as_ptr(), at, "copied; the roomy buffer is zeroed as it drops");
        assert_eq!(&**secret(b"a\xffb".to_vec()), "a\u{fffd}b");
    }
}
