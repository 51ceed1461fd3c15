//! The trace pipeline at scale, on each store: the embedded redb store, and a
//! CQL server at `CASA_CQL_NODES` (default 127.0.0.1:9042, e.g. `scripts/cassandra start`).
//!
//! - `ingest`: in-process exchanges as fast as they go for `CASA_BENCH_SECONDS`
//!   (default 10) from `CASA_BENCH_CLIENTS` tasks (default 32), the TraceWriter writing
//!   their events to the store: exchanges/s, events persisted/s, events dropped,
//!   the writer's batch write latency.
//! - `query`: loads `CASA_BENCH_EVENTS` events (default 1,000,000; sessions of 20
//!   events interleaved 500 at a time, over 200 MAS and two days), then times the
//!   store queries behind `GET /trace/session/{id}` and a `GET /trace?mas_id=` page
//!   (newest, and from a cursor at a random time): median and p99.
//!
//! `cargo bench -p casa-actors --bench trace_ingest -- [ingest|query]... [embedded|cql]...`
//! (default: everything); results in docs/benchmarks.md. A CQL run uses a keyspace
//! of its own and drops it at the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use casa_actors::model::*;
use casa_actors::node::{Node, NodeConfig};
use casa_actors::oauth::*;
use casa_actors::store::{EmbeddedStore, ScyllaStore, Store};
use casa_actors::testsuite::faults::FaultyStore;
use casa_actors::trace::{CheckResult, EventKind, TraceEvent};
use casa_actors::trace_writer::{TraceWriter, WriterConfig};
use time::OffsetDateTime;
use uuid::Uuid;

const REPLICATION: &str = "{'class': 'SimpleStrategy', 'replication_factor': 1}";

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn cql_nodes() -> Vec<String> {
    std::env::var("CASA_CQL_NODES").unwrap_or_else(|_| "127.0.0.1:9042".into()).split(',').map(str::to_string).collect()
}

/// A store under test, and what to clean up after it.
enum Backend {
    // Held for the run: the directory goes when it drops.
    Embedded(#[allow(dead_code)] tempfile::TempDir),
    Cql(String),
}

async fn open(kind: &str) -> (Arc<dyn Store>, Backend) {
    match kind {
        "embedded" => {
            let dir = tempfile::tempdir().unwrap();
            (Arc::new(EmbeddedStore::open(dir.path()).unwrap()), Backend::Embedded(dir))
        }
        _ => {
            let ks = format!("casa_bench_{}", Uuid::new_v4().simple());
            let store = ScyllaStore::connect(&cql_nodes(), &ks, REPLICATION, true)
                .await
                .unwrap_or_else(|e| panic!("no CQL server at {:?} ({e}): scripts/cassandra start", cql_nodes()));
            // Whatever a crashed run leaves behind expires.
            (Arc::new(store.with_trace_ttl(Some(Duration::from_secs(3 * 86_400)))), Backend::Cql(ks))
        }
    }
}

async fn close(backend: Backend) {
    if let Backend::Cql(ks) = backend {
        let session =
            scylla::client::session_builder::SessionBuilder::new().known_nodes(cql_nodes()).build().await.unwrap();
        session.query_unpaged(format!("DROP KEYSPACE IF EXISTS {ks}"), ()).await.unwrap();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

// ---------------------------------------------------------------- ingest

async fn ingest(kind: &str) {
    let seconds: u64 = env("CASA_BENCH_SECONDS", 10);
    let clients: usize = env("CASA_BENCH_CLIENTS", 32);
    let (inner, backend) = open(kind).await;
    // Times each `append_traces` (one writer batch).
    let timed = Arc::new(FaultyStore::new(inner));
    timed.record("append_traces");
    let store: Arc<dyn Store> = timed.clone();
    let writer = TraceWriter::start(store.clone(), WriterConfig::default());
    let node = Node::start(store, writer.clone(), NodeConfig::default()).await.unwrap();
    let mas = node.create_mas(NewMas { name: "bench".into(), ..Default::default() }).await.unwrap().mas.id;
    let app = |name: &str, app_type, allowed, tools| NewApp::new(mas, name, app_type, allowed, tools);
    let tools = ["filesystem:read", "web:search"].map(String::from).to_vec();
    let defs =
        tools.iter().map(|t| ToolDef { name: t.clone(), description: format!("The {t} tool"), ..Default::default() });
    let creds = |a: AppWithSecret| ClientCredentials { client_id: a.app.client_id, client_secret: a.client_secret };
    node.create_app(app("server", AppType::McpServer, vec![], defs.collect())).await.unwrap();
    let client = creds(node.create_app(app("client", AppType::Client, tools.clone(), vec![])).await.unwrap());
    let agent = creds(node.create_app(app("agent", AppType::Agent, tools, vec![])).await.unwrap());

    let exchanges = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (node, client, agent, exchanges) = (node.clone(), client.clone(), agent.clone(), exchanges.clone());
        tasks.push(tokio::spawn(async move {
            // One session per client (each issuance stores its user input, fsynced).
            let issue = IssueRequest {
                client,
                user_input: Some(format!("summarise report {i}")),
                user_input_id: None,
                tools: None,
                intent: None,
            };
            let subject = node.issue_token(issue).await.unwrap().access_token;
            while Instant::now() < deadline {
                let tools = vec!["filesystem:read".into()];
                node.exchange(agent.clone(), subject.clone(), None, tools, None).await.unwrap();
                exchanges.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let window = start.elapsed();
    let flush_start = Instant::now();
    node.shutdown().await;
    writer.flush_and_stop().await;
    let drain = flush_start.elapsed();

    let batches = timed.calls("append_traces");
    let in_window: usize = batches.iter().filter(|c| c.ended <= start + window).map(|c| c.items).sum();
    let total: usize = batches.iter().map(|c| c.items).sum();
    let mut latencies: Vec<Duration> = batches.iter().map(|c| c.took).collect();
    latencies.sort();
    let secs = window.as_secs_f64();
    let exchanges = exchanges.load(Ordering::Relaxed);
    println!("ingest [{kind}] {clients} clients, {secs:.1} s");
    println!("  exchanges: {exchanges} ({:.0}/s)", exchanges as f64 / secs);
    println!(
        "  events persisted during the run: {in_window} ({:.0}/s); after the flush: {total} (the flush took {})",
        in_window as f64 / secs,
        ms(drain)
    );
    println!("  events dropped (buffer full): {}", writer.dropped());
    println!(
        "  writer batches: {} of {:.0} events on average; write latency median {}, p99 {}, max {}",
        latencies.len(),
        total as f64 / latencies.len().max(1) as f64,
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    drop(node);
    close(backend).await;
}

// ---------------------------------------------------------------- query

const SESSION_EVENTS: usize = 20;
const CONCURRENT_SESSIONS: usize = 500;
const MAS_COUNT: usize = 200;

/// The `i`th of `n` events: sessions of 20 (one issuance, exchanges from it,
/// introspections of what they issued) interleaved 500 at a time, evenly over
/// the last two days.
fn event(i: usize, n: usize, run: Uuid, masses: &[Uuid], t0_ms: u64) -> TraceEvent {
    let block = i / (CONCURRENT_SESSIONS * SESSION_EVENTS);
    let session = block * CONCURRENT_SESSIONS + i % CONCURRENT_SESSIONS;
    let step = (i / CONCURRENT_SESSIONS) % SESSION_EVENTS;
    let mas = masses[session % masses.len()];
    let span_ms = 2 * 86_400_000u64;
    let ms = t0_ms + (i as u64 * span_ms) / n as u64;
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, (ms % 1000) as u32 * 1_000_000);
    let root = format!("{run}-{session}");
    let kind = match step {
        0 => EventKind::TokenIssued { tools: vec!["filesystem:read".into(), "web:search".into()] },
        s if s % 3 == 0 => EventKind::Introspection { active: true },
        _ => EventKind::ExchangeAllowed {
            tools: vec!["filesystem:read".into()],
            audience: Uuid::from_u128(session as u128).to_string(),
            checks: vec![CheckResult {
                tool: "filesystem:read".into(),
                check: "DETERMINISTIC_TOOL_SELECTED".into(),
                passed: true,
                reason: None,
                score: None,
                detail: None,
                enforced: true,
                tool_digest: Some("d".repeat(64)),
            }],
        },
    };
    let mut e = TraceEvent::new(mas, kind);
    e.id = Uuid::new_v7(ts);
    e.at = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap();
    e.user_input_id = Some(format!("{run}-s{session}"));
    e.app_ids = vec![Uuid::from_u128(1).to_string(), Uuid::from_u128(2).to_string()];
    e.jti = Some(if step == 0 { root.clone() } else { format!("{root}-{step}") });
    e.parent = (step != 0).then_some(root);
    e.token_digest = Some("e".repeat(64));
    e.latency_us = 80;
    e
}

async fn query(kind: &str) {
    let n: usize = env("CASA_BENCH_EVENTS", 1_000_000);
    let (store, backend) = open(kind).await;
    let run = Uuid::new_v4();
    let masses: Vec<Uuid> = (0..MAS_COUNT).map(|_| Uuid::now_v7()).collect();
    let t0_ms = (OffsetDateTime::now_utc().unix_timestamp() as u64 - 2 * 86_400) * 1000;
    // Loaded as the TraceWriter writes: batches of 512, one at a time, chained per MAS.
    let start = Instant::now();
    let mut heads: std::collections::HashMap<Uuid, Option<String>> = Default::default();
    let mut batch = Vec::with_capacity(512);
    for i in 0..n {
        let mut e = event(i, n, run, &masses, t0_ms);
        let prev = heads.entry(e.mas_id).or_default();
        e.prev_hash = prev.clone();
        e.hash = Some(e.chain_hash(prev.as_deref()));
        *prev = e.hash.clone();
        batch.push(e);
        if batch.len() == 512 || i + 1 == n {
            store.append_traces(&batch).await.unwrap();
            batch.clear();
        }
        if (i + 1) % 100_000 == 0 {
            eprintln!("  [{kind}] {} events loaded, {:.0}/s", i + 1, (i + 1) as f64 / start.elapsed().as_secs_f64());
        }
    }
    let load = start.elapsed();
    println!("query [{kind}] {n} events over {MAS_COUNT} MAS, sessions of {SESSION_EVENTS}");
    println!("  load: {:.1} s, {:.0} events/s", load.as_secs_f64(), n as f64 / load.as_secs_f64());

    let samples: usize = env("CASA_BENCH_QUERIES", 500);
    let sessions = n.div_ceil(SESSION_EVENTS);
    let mut rng = Uuid::new_v4().as_u128();
    let mut next = |m: usize| {
        // xorshift: reproducible enough, no extra dependency.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % m as u128) as usize
    };
    let report = |name: &str, mut lat: Vec<Duration>, items: usize| {
        lat.sort();
        println!(
            "  {name}: median {}, p99 {} ({} queries, {:.1} events each)",
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99)),
            lat.len(),
            items as f64 / lat.len() as f64
        );
    };
    let (mut lat, mut items) = (Vec::new(), 0);
    for _ in 0..samples {
        let uiid = format!("{run}-s{}", next(sessions.saturating_sub(CONCURRENT_SESSIONS).max(1)));
        let t = Instant::now();
        let got = store.session_traces(&uiid).await.unwrap().len();
        lat.push(t.elapsed());
        assert_eq!(got, SESSION_EVENTS, "a whole session");
        items += got;
    }
    report("session (GET /trace/session/{id})", lat, items);
    let (mut lat, mut items) = (Vec::new(), 0);
    for _ in 0..samples {
        let mas = masses[next(MAS_COUNT)];
        let t = Instant::now();
        let got = store.traces(Some(mas), None, 100).await.unwrap().len();
        lat.push(t.elapsed());
        assert_eq!(got, 100, "a full page");
        items += got;
    }
    report("MAS page, newest 100", lat, items);
    let (mut lat, mut items) = (Vec::new(), 0);
    for _ in 0..samples {
        let mas = masses[next(MAS_COUNT)];
        let ms = t0_ms + 3_600_000 + next(46 * 3600) as u64 * 1000;
        // The smallest UUIDv7 of that millisecond (a CQL server orders uuids by version first).
        let cursor = uuid::Builder::from_unix_timestamp_millis(ms, &[0; 10]).into_uuid();
        let t = Instant::now();
        let got = store.traces(Some(mas), Some(cursor), 100).await.unwrap().len();
        lat.push(t.elapsed());
        assert_eq!(got, 100, "a full page");
        items += got;
    }
    report("MAS page of 100 before a random time (cursor)", lat, items);
    if matches!(backend, Backend::Embedded(_)) {
        // The retention purge: the older day expires, 1,000 events per write transaction.
        let cutoff = OffsetDateTime::from_unix_timestamp((t0_ms / 1000 + 86_400) as i64).unwrap();
        let (mut lat, mut purged) = (Vec::new(), 0);
        let start = Instant::now();
        loop {
            let t = Instant::now();
            let n = store.purge_traces(cutoff, casa_actors::retention::PURGE_BATCH).await.unwrap();
            lat.push(t.elapsed());
            purged += n;
            if n < casa_actors::retention::PURGE_BATCH {
                break;
            }
        }
        let total = start.elapsed();
        lat.sort();
        println!(
            "  purge of the older day: {purged} events in {:.1} s ({:.0}/s); per 1,000-event transaction median {}, p99 {}",
            total.as_secs_f64(),
            purged as f64 / total.as_secs_f64(),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99))
        );
    }
    drop(store);
    close(backend).await;
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let pick = |all: &[&'static str]| -> Vec<&'static str> {
        let chosen: Vec<_> = all.iter().copied().filter(|a| args.iter().any(|x| x == a)).collect();
        if chosen.is_empty() {
            all.to_vec()
        } else {
            chosen
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    for what in pick(&["ingest", "query"]) {
        for kind in pick(&["embedded", "cql"]) {
            rt.block_on(async {
                match what {
                    "ingest" => ingest(kind).await,
                    _ => query(kind).await,
                }
            });
        }
    }
}
