//! The TraceWriter: takes events from decisions without ever blocking them,
//! links each into its MAS's hash chain, and writes them to the store in
//! batches (by size and by time). A full buffer drops events and counts them;
//! stopping flushes everything already accepted. The write loop is
//! supervised: if it panics it is restarted on the same queue and in-flight
//! batch, so a crash loses no accepted event.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::background::{self, Background};
use crate::backoff::Backoff;
use crate::error::{CoreError, Retry};
use crate::events::{TraceEventDropped, TraceEventsLost};
use crate::retention::Retention;
use crate::store::{LinkedBatch, Store};
use crate::supervise::supervised;
use crate::telemetry::Emit;
use crate::trace::{chain_key, TraceEvent, TraceSink};

#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Events waiting to be written, at most; beyond that they are dropped.
    pub buffer: usize,
    /// Events per write, at most.
    pub batch: usize,
    /// The longest an accepted event waits before it is written.
    pub interval: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self { buffer: 65_536, batch: 2048, interval: Duration::from_millis(50) }
    }
}

impl WriterConfig {
    /// More than two batches waiting: idle time is not keeping up.
    fn behind_at(&self) -> usize {
        (2 * self.batch).min(self.buffer / 2).max(1)
    }
}

pub struct TraceWriter {
    queue: RwLock<Option<mpsc::Sender<TraceEvent>>>,
    /// Queued events from which the background threads are behind (see [`background`]).
    behind_at: usize,
    live: broadcast::Sender<TraceEvent>,
    dropped: AtomicU64,
    /// The supervisor of the write loop (see [`crate::supervise`]).
    worker: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

/// What outlives a crash of the write loop, so a restarted loop loses no
/// accepted event: the queue, and the batch that was being written.
struct Backlog {
    rx: tokio::sync::Mutex<mpsc::Receiver<TraceEvent>>,
    in_flight: std::sync::Mutex<Option<InFlight>>,
    /// Chains begun so far: a cluster node begins a new segment whenever it
    /// lost track of its heads (a failed batch, a restart).
    chains: AtomicU32,
}

enum InFlight {
    /// Taken from the queue, not linked yet.
    Unchained(Vec<TraceEvent>),
    /// Linked; written (or partly written) as it is, so the chain holds.
    Chained(Arc<LinkedBatch>),
}

impl Backlog {
    fn park(&self, batch: InFlight) {
        *self.in_flight.lock().expect("trace backlog poisoned") = Some(batch);
    }

    fn unpark(&self) -> Option<InFlight> {
        self.in_flight.lock().expect("trace backlog poisoned").take()
    }

    fn next_chain(&self, segment: Option<&str>) -> Option<String> {
        let n = self.chains.fetch_add(1, Ordering::Relaxed);
        segment.map(|s| if n == 0 { s.to_string() } else { format!("{s}#{n}") })
    }
}

impl TraceWriter {
    /// Starts the writer of a lone node on the current tokio runtime: one
    /// chain per MAS, continued from the store.
    pub fn start(store: Arc<dyn Store>, config: WriterConfig) -> Arc<Self> {
        Self::start_as(store, config, None)
    }

    /// Starts the writer of one node of a cluster: its events form chain
    /// segments named `segment` (unique to this process), one per MAS.
    pub fn start_as(store: Arc<dyn Store>, config: WriterConfig, segment: Option<String>) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(config.buffer);
        let (live, _) = broadcast::channel(1024);
        let backlog = Arc::new(Backlog {
            rx: tokio::sync::Mutex::new(rx),
            in_flight: std::sync::Mutex::new(None),
            chains: AtomicU32::new(0),
        });
        let sender = live.clone();
        let worker = supervised("trace_writer", move || {
            write_loop(store.clone(), backlog.clone(), sender.clone(), config, segment.clone())
        });
        Arc::new(Self {
            queue: RwLock::new(Some(tx)),
            behind_at: config.behind_at(),
            live,
            dropped: AtomicU64::new(0),
            worker: tokio::sync::Mutex::new(Some(worker)),
        })
    }

    /// Events as they are written (for live views). A slow subscriber misses
    /// events rather than slowing the writer.
    pub fn subscribe(&self) -> broadcast::Receiver<TraceEvent> {
        self.live.subscribe()
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Stops accepting events and waits until every accepted one is written.
    pub async fn flush_and_stop(&self) {
        self.queue.write().expect("trace queue poisoned").take();
        if let Some(worker) = self.worker.lock().await.take() {
            let _ = worker.await;
        }
    }
}

impl TraceSink for TraceWriter {
    fn record(&self, event: TraceEvent) {
        // Every event offered, so recorded = written + dropped + lost once the writer is idle.
        metrics::counter!(crate::telemetry::TRACE_EVENTS.name, "type" => event.type_name()).increment(1);
        let queue = self.queue.read().expect("trace queue poisoned");
        let Some(tx) = queue.as_ref() else { return };
        if tx.try_send(event).is_err() {
            TraceEventDropped { dropped: self.dropped.fetch_add(1, Ordering::Relaxed) + 1 }.emit();
        }
        if !background::is_behind() && tx.max_capacity() - tx.capacity() >= self.behind_at {
            background::behind(true);
        }
    }
}

/// One life of the write loop: it returns when the queue is closed and
/// drained; if it panics, its supervisor starts another on the same backlog.
async fn write_loop(
    store: Arc<dyn Store>,
    backlog: Arc<Backlog>,
    live: broadcast::Sender<TraceEvent>,
    config: WriterConfig,
    segment: Option<String>,
) {
    // Held for this life; a panic releases it with the queue intact.
    let mut rx = backlog.rx.lock().await;
    let linker = Background::start("casa-trace-link");
    // Heads by chain key. A segment is only ever extended by this writer, so
    // its cached head is authoritative; a lone node's chain starts from the store.
    let mut heads: HashMap<Uuid, Option<String>> = HashMap::new();
    let mut chain = backlog.next_chain(segment.as_deref());
    let mut leftover = backlog.unpark();
    loop {
        let batch = match leftover.take() {
            Some(InFlight::Chained(batch)) => batch,
            Some(InFlight::Unchained(events)) => link(&*store, &linker, &backlog, events, &mut heads, &chain).await,
            None => {
                let Some(first) = rx.recv().await else { return };
                let events = collect(first, &mut rx, &config).await;
                link(&*store, &linker, &backlog, events, &mut heads, &chain).await
            }
        };
        backlog.park(InFlight::Chained(batch.clone()));
        let mut written = false;
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        for attempt in 0..3u32 {
            match store.append_trace_batch(batch.clone()).await {
                Ok(()) => {
                    written = true;
                    break;
                }
                Err(e) => {
                    let err = CoreError::from(e);
                    tracing::error!(error = %err.report(), attempt, events = batch.events.len(), "writing trace events");
                    if err.retry() == Retry::Never {
                        break; // refused data is refused again
                    }
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        }
        backlog.unpark();
        if !written {
            TraceEventsLost { events: batch.events.len() }.emit();
            // Part of the batch may be stored: a lone node's chain continues
            // from what the store has, a cluster node's in a new segment.
            heads.clear();
            chain = backlog.next_chain(segment.as_deref());
            continue;
        }
        metrics::counter!(crate::telemetry::TRACE_EVENTS_WRITTEN.name).increment(batch.events.len() as u64);
        if rx.len() < config.batch {
            background::behind(false);
        }
        let events = Arc::try_unwrap(batch).map(|b| b.events).unwrap_or_else(|shared| shared.events.clone());
        for event in events {
            let _ = live.send(event);
        }
    }
}

/// A batch: `first`, and whatever else arrives within the interval.
async fn collect(first: TraceEvent, rx: &mut mpsc::Receiver<TraceEvent>, config: &WriterConfig) -> Vec<TraceEvent> {
    let mut batch = vec![first];
    let deadline = tokio::time::sleep(config.interval);
    tokio::pin!(deadline);
    while batch.len() < config.batch {
        tokio::select! {
            more = rx.recv() => match more {
                Some(e) => batch.push(e),
                None => break,
            },
            _ = &mut deadline => break,
        }
    }
    batch
}

/// Links each event of a batch to its chain's head.
async fn link(
    store: &dyn Store,
    linker: &Background,
    backlog: &Backlog,
    mut batch: Vec<TraceEvent>,
    heads: &mut HashMap<Uuid, Option<String>>,
    chain: &Option<String>,
) -> Arc<LinkedBatch> {
    if chain.is_none() {
        // Heads read from the store; the batch is parked meanwhile, so a
        // store that panics here loses none of it.
        let missing: BTreeSet<Uuid> =
            batch.iter().filter(|e| !heads.contains_key(&chain_key(e.mas_id, None))).map(|e| e.mas_id).collect();
        if !missing.is_empty() {
            backlog.park(InFlight::Unchained(batch));
            for mas in missing {
                let head = store.trace_head(mas).await.unwrap_or_else(|e| {
                    tracing::error!(error = %e, "reading a trace chain head");
                    None
                });
                heads.insert(chain_key(mas, None), head);
            }
            let Some(InFlight::Unchained(parked)) = backlog.unpark() else { unreachable!("the batch was parked") };
            batch = parked;
        }
    }
    // Encoding and hashing a batch takes a millisecond or more: on the
    // background thread, not an async worker that has requests to answer.
    let (chain, mut known) = (chain.clone(), std::mem::take(heads));
    let linked = linker
        .run(move || {
            let mut encoded = Vec::with_capacity(batch.len());
            for event in &mut batch {
                // An event's id is its place in the chain, taken here: events reach the
                // queue in another order than they were created (an issuance is recorded
                // after its fsync, off the MAS actor), and `casa audit verify`, retention
                // and the live stream's resume all walk the trail in id order.
                event.id = Uuid::now_v7();
                event.chain = chain.clone();
                let key = event.chain_key();
                let head = known.get(&key).cloned().flatten();
                encoded.push(event.link(head));
                known.insert(key, event.hash.clone());
            }
            (LinkedBatch { events: batch, encoded }, known)
        })
        .await;
    // Hashing our own events cannot fail; if it did, the supervisor restarts the loop.
    let (batch, known) = linked.unwrap_or_else(|e| panic!("{e}"));
    *heads = known;
    Arc::new(batch)
}

/// Where a verified chain starts.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainStart {
    /// At the MAS's first event (or the chain is empty).
    Genesis,
    /// Earlier events have expired: the chain is verified from the oldest kept
    /// event, taking its `prev_hash` (the last expired event's hash) as the anchor.
    Expired { first_kept: Uuid, at: OffsetDateTime, anchor: String },
    /// Every event has expired; only the chain head is left.
    AllExpired { head: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChainReport {
    /// Events checked, each confirmed by its chain's head.
    pub events: usize,
    /// Events after a segment's head: stored by a writer that was killed
    /// before it moved the head. Reported, not verified.
    pub unconfirmed: usize,
    /// Chains checked: one on a lone node; in a cluster, one segment per
    /// writer process that recorded events of the MAS.
    pub segments: usize,
    /// Where the (first expiring) chain starts.
    pub start: ChainStart,
}

/// Checks a MAS's hash chain: a report, or the id of the first event that
/// does not link to its predecessor. With a retention, the oldest events may
/// have expired; with `Forever`, a chain that does not begin at its genesis
/// is broken. Truncation of the oldest kept events cannot be told from their
/// expiry; everything after the anchor must link.
pub async fn verify_chain(
    store: &dyn Store,
    mas_id: Uuid,
    retention: Retention,
) -> Result<Result<ChainReport, (Uuid, String)>, crate::store::StoreError> {
    let mut events = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.traces(Some(mas_id), cursor, 1000).await?;
        let Some(last) = page.last() else { break };
        cursor = Some(last.id);
        events.extend(page);
    }
    events.reverse();
    // Each writer's segment is a chain of its own, with its own head.
    let mut segments: Vec<(Uuid, Vec<TraceEvent>)> = Vec::new();
    for e in events {
        let key = e.chain_key();
        match segments.iter_mut().find(|(k, _)| *k == key) {
            Some((_, evs)) => evs.push(e),
            None => segments.push((key, vec![e])),
        }
    }
    if segments.is_empty() {
        segments.push((mas_id, Vec::new()));
    }
    let mut report = ChainReport { events: 0, unconfirmed: 0, segments: segments.len(), start: ChainStart::Genesis };
    for (key, events) in segments {
        let head = store.trace_head(key).await?;
        match verify_segment(&events, head, retention, key != mas_id) {
            Ok(v) => {
                report.events += v.confirmed;
                report.unconfirmed += v.unconfirmed;
                if report.start == ChainStart::Genesis {
                    report.start = v.start;
                }
            }
            Err(broken) => return Ok(Err(broken)),
        }
    }
    Ok(Ok(report))
}

/// What one chain segment holds.
struct Verified {
    confirmed: usize,
    unconfirmed: usize,
    start: ChainStart,
}

/// One chain: every event up to the one its head names links to its
/// predecessor and matches its hash. Events after the head were stored by a
/// writer that stopped before moving the head (killed mid-batch, on a store
/// whose batches are not one transaction): they are counted as unconfirmed.
/// A head that names no stored event means the chain's newest events were removed.
fn verify_segment(
    events: &[TraceEvent],
    head: Option<String>,
    retention: Retention,
    segment: bool,
) -> Result<Verified, (Uuid, String)> {
    let newest = events.last().map_or(Uuid::nil(), |e| e.id);
    let confirmed = match &head {
        Some(h) => match events.iter().position(|e| e.hash.as_ref() == Some(h)) {
            Some(i) => i + 1,
            None if events.is_empty() => 0,
            None => {
                return Err((newest, "the chain head names no stored event: its newest events were removed".into()))
            }
        },
        // A segment whose writer died before its first head move.
        None if segment || events.is_empty() => 0,
        None => return Err((newest, "events without a chain head".into())),
    };
    let (kept, after) = events.split_at(confirmed);
    let expiring = retention != Retention::Forever;
    let start = match (kept.first(), &head) {
        (None, Some(head)) if expiring && events.is_empty() => ChainStart::AllExpired { head: head.clone() },
        (Some(first), _) if expiring && first.prev_hash.is_some() => ChainStart::Expired {
            first_kept: first.id,
            at: first.at,
            anchor: first.prev_hash.clone().unwrap_or_default(),
        },
        (Some(first), _) if first.prev_hash.is_some() => {
            return Err((first.id, "the events before it are missing, and the trace retention is forever".into()))
        }
        _ => ChainStart::Genesis,
    };
    let mut prev: Option<String> = match &start {
        ChainStart::Expired { anchor, .. } => Some(anchor.clone()),
        ChainStart::AllExpired { head } => Some(head.clone()),
        ChainStart::Genesis => None,
    };
    for e in kept {
        if e.prev_hash != prev {
            return Err((e.id, "does not link to the previous event".into()));
        }
        if e.hash.as_deref() != Some(e.chain_hash(prev.as_deref()).as_str()) {
            return Err((e.id, "its content does not match its hash".into()));
        }
        prev = e.hash.clone();
    }
    if events.is_empty() && head.is_some() && !expiring {
        return Err((newest, "the chain head names no stored event: its events were removed".into()));
    }
    Ok(Verified { confirmed: kept.len(), unconfirmed: after.len(), start })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::EmbeddedStore;
    use crate::trace::EventKind;

    /// A writer on a fresh embedded store whose batches wait for `flush_and_stop`.
    fn flushed_on_stop() -> (tempfile::TempDir, Arc<dyn Store>, Arc<TraceWriter>) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let writer =
            TraceWriter::start(store.clone(), WriterConfig { interval: Duration::from_secs(60), ..Default::default() });
        (dir, store, writer)
    }

    #[tokio::test]
    async fn events_are_chained_batched_and_flushed_on_stop() {
        let (_dir, store, writer) = flushed_on_stop();
        let mut live = writer.subscribe();
        let mas = Uuid::now_v7();
        for i in 0..10 {
            writer
                .record(TraceEvent::new(mas, EventKind::LlmCall { call_id: format!("c{i}"), selected_tools: vec![] }));
        }
        writer.flush_and_stop().await;
        assert_eq!(store.traces(Some(mas), None, 100).await.unwrap().len(), 10, "stop flushed the batch");
        assert!(live.recv().await.is_ok());
        let report = ChainReport { events: 10, unconfirmed: 0, segments: 1, start: ChainStart::Genesis };
        assert_eq!(verify_chain(&*store, mas, Retention::Forever).await.unwrap(), Ok(report.clone()));
        assert_eq!(verify_chain(&*store, mas, Retention::default()).await.unwrap(), Ok(report));
        // After stopping, events are ignored rather than lost silently in a queue.
        writer.record(TraceEvent::new(mas, EventKind::Introspection { active: true }));
        assert_eq!(store.traces(Some(mas), None, 100).await.unwrap().len(), 10);
    }

    #[tokio::test]
    async fn events_recorded_out_of_creation_order_still_form_an_intact_chain() {
        let (_dir, store, writer) = flushed_on_stop();
        let mut live = writer.subscribe();
        let mas = Uuid::now_v7();
        // Created first, recorded last: an issuance completed after its fsync.
        let late = TraceEvent::new(mas, EventKind::Introspection { active: true });
        for _ in 0..3 {
            writer.record(TraceEvent::new(mas, EventKind::Introspection { active: false }));
        }
        writer.record(late);
        writer.flush_and_stop().await;
        let report = verify_chain(&*store, mas, Retention::Forever).await.unwrap();
        assert_eq!(report.map(|r| r.events), Ok(4));
        // The live stream sees them in id order too (a reader resumes after an id).
        let mut ids = Vec::new();
        while let Ok(e) = live.try_recv() {
            ids.push(e.id);
        }
        assert_eq!(ids.len(), 4);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    }

    #[tokio::test]
    async fn a_full_buffer_drops_and_counts_instead_of_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let writer =
            TraceWriter::start(store, WriterConfig { buffer: 4, batch: 1, interval: Duration::from_millis(1) });
        let mas = Uuid::now_v7();
        for _ in 0..10_000 {
            writer.record(TraceEvent::new(mas, EventKind::Introspection { active: false }));
        }
        assert!(writer.dropped() > 0);
        writer.flush_and_stop().await;
    }

    #[tokio::test]
    async fn writers_of_two_nodes_extend_their_own_segments_of_one_mas() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let config = WriterConfig { interval: Duration::from_millis(1), ..Default::default() };
        let a = TraceWriter::start_as(store.clone(), config, Some("node-a@1".into()));
        let b = TraceWriter::start_as(store.clone(), config, Some("node-b@1".into()));
        let mas = Uuid::now_v7();
        // The MAS moves back and forth while both writers still write.
        for i in 0..40 {
            let writer = if (i / 5) % 2 == 0 { &a } else { &b };
            writer.record(TraceEvent::new(mas, EventKind::Introspection { active: true }));
            tokio::task::yield_now().await;
        }
        a.flush_and_stop().await;
        b.flush_and_stop().await;
        let report = verify_chain(&*store, mas, Retention::Forever).await.unwrap().unwrap();
        assert_eq!((report.events, report.segments), (40, 2));

        // An event moved to another segment breaks both chains.
        let events = store.traces(Some(mas), None, 100).await.unwrap();
        let newest_of_b = events.iter().find(|e| e.chain.as_deref() == Some("node-b@1")).unwrap();
        let mut forged = newest_of_b.clone();
        forged.chain = Some("node-a@1".into());
        store.append_traces(&[forged]).await.unwrap();
        assert!(verify_chain(&*store, mas, Retention::Forever).await.unwrap().is_err());
    }

    /// Events chained as a writer of segment `chain` would.
    fn chained(mas: Uuid, chain: Option<&str>, n: usize) -> Vec<TraceEvent> {
        let mut prev: Option<String> = None;
        (0..n)
            .map(|_| {
                let mut e = TraceEvent::new(mas, EventKind::Introspection { active: true });
                e.chain = chain.map(str::to_string);
                e.prev_hash = prev.clone();
                e.hash = Some(e.chain_hash(prev.as_deref()));
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[tokio::test]
    async fn events_a_killed_writer_stored_after_its_head_are_unconfirmed_not_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let mas = Uuid::now_v7();
        let e = chained(mas, Some("node-a@1"), 5);
        // Killed mid-batch: e[4] stored, e[3] not, the head still on e[2].
        store.append_traces(&e[..3]).await.unwrap();
        store.append_traces(&e[4..]).await.unwrap();
        store.append_traces(&e[2..3]).await.unwrap();
        let report = verify_chain(&store, mas, Retention::Forever).await.unwrap().unwrap();
        assert_eq!((report.events, report.unconfirmed), (3, 1));

        // A lone node's chain is one transaction per batch: a missing tail is removal.
        let lone = Uuid::now_v7();
        let e = chained(lone, None, 3);
        store.append_traces(&e).await.unwrap();
        store.append_traces(&e[..1]).await.unwrap();
        assert!(verify_chain(&store, lone, Retention::Forever).await.unwrap().is_ok(), "head behind, same chain");
        let other = chained(lone, None, 1);
        store.append_traces(&other).await.unwrap();
        let (_, why) = verify_chain(&store, lone, Retention::Forever).await.unwrap().unwrap_err();
        assert!(why.contains("link"), "{why}");
    }
}
