//! The load: C connections, each a task running sessions over its own
//! keep-alive connection.
//!
//! Open loop (`--rate R`): connection `c` owns the send slots
//! `start + (k·C + c)/R`, so the C connections together offer R requests per
//! second whatever the server does. A request's latency is measured from its
//! slot (its intended send time) whenever the connection was still busy with
//! the previous answer at that moment: the wait a slow answer causes to the
//! requests behind it is counted, not hidden (coordinated omission). When the
//! connection was idle, the latency is measured from the actual send, so the
//! timer's millisecond granularity is not charged to the server. Slots still
//! unsent 5 s after the end are counted as `not_sent` errors.
//!
//! Closed loop (no `--rate`): each connection sends its next request as soon
//! as the previous answer is in; latency from the send.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::http::{Conn, Endpoint};
use crate::report::Recorder;
use crate::scenario::{Mix, Outcome, Sessions};
use crate::world::World;

#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Open { rate: f64 },
    Closed,
}

#[derive(Clone, Debug)]
pub struct RunConfig {
    pub mode: Mode,
    pub connections: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub timeout: Duration,
    pub mix: Mix,
}

/// How long after the end an open-loop connection may still catch up.
const CATCH_UP: Duration = Duration::from_secs(5);

/// Runs the load and returns the merged recorder and the measured seconds.
pub async fn run(
    world: Arc<World>,
    endpoints: &[Arc<Endpoint>],
    cfg: &RunConfig,
    progress: &indicatif::ProgressBar,
) -> (Recorder, f64) {
    let completed = Arc::new(AtomicU64::new(0));
    // Connections are opened before the clock starts.
    let start = Instant::now() + Duration::from_millis(100);
    let warm_end = start + cfg.warmup;
    let end = warm_end + cfg.duration;
    let mut tasks = Vec::with_capacity(cfg.connections);
    for c in 0..cfg.connections {
        let mut conn = Conn::new(endpoints[c % endpoints.len()].clone(), cfg.timeout);
        let (world, cfg, completed) = (world.clone(), cfg.clone(), completed.clone());
        tasks.push(tokio::spawn(async move {
            conn.warm().await;
            let mut rec = Recorder::default();
            let mut sessions = Sessions::new(cfg.mix, c, cfg.connections, world.realms.len());
            tokio::time::sleep_until(start).await;
            match cfg.mode {
                Mode::Closed => loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let (op, outcome) = sessions.next(&mut conn, &world).await;
                    if sent >= warm_end {
                        rec.record(op, sent.elapsed(), outcome);
                    }
                    completed.fetch_add(1, Ordering::Relaxed);
                },
                Mode::Open { rate } => {
                    let slot =
                        |k: u64| start + Duration::from_secs_f64((k * cfg.connections as u64 + c as u64) as f64 / rate);
                    let mut k = 0u64;
                    let mut free_at = start;
                    loop {
                        let intended = slot(k);
                        if intended >= end {
                            break;
                        }
                        if Instant::now() >= end + CATCH_UP {
                            // The server fell too far behind: the rest was never sent.
                            while slot(k) < end {
                                if slot(k) >= warm_end {
                                    let op = sessions.skip();
                                    rec.record(op, Duration::ZERO, Outcome::Status(0, "not_sent".into()));
                                }
                                k += 1;
                            }
                            break;
                        }
                        let busy = free_at > intended;
                        if !busy {
                            tokio::time::sleep_until(intended).await;
                        }
                        let sent = Instant::now();
                        let (op, outcome) = sessions.next(&mut conn, &world).await;
                        free_at = Instant::now();
                        if intended >= warm_end {
                            let from = if busy { intended } else { sent };
                            rec.record(op, free_at - from, outcome);
                        }
                        completed.fetch_add(1, Ordering::Relaxed);
                        k += 1;
                    }
                }
            }
            rec
        }));
    }
    let ticker = {
        let (progress, completed) = (progress.clone(), completed.clone());
        let total = cfg.warmup + cfg.duration;
        tokio::spawn(async move {
            let mut last = (Instant::now(), 0u64);
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let now = Instant::now();
                let done = completed.load(Ordering::Relaxed);
                let rate = (done - last.1) as f64 / (now - last.0).as_secs_f64();
                last = (now, done);
                let elapsed = now.saturating_duration_since(start).min(total);
                progress.set_position(elapsed.as_millis() as u64);
                progress.set_message(format!("{done} requests, {rate:.0}/s"));
            }
        })
    };
    let mut all = Recorder::default();
    for t in tasks {
        if let Ok(rec) = t.await {
            all.merge(rec);
        }
    }
    ticker.abort();
    (all, cfg.duration.as_secs_f64())
}
