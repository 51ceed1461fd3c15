//! Recording (one recorder per driver connection, merged at the end: no
//! locks on the hot path) and the report: per operation throughput and
//! HDR-histogram percentiles, errors by status and reason, as JSON or Markdown.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::scenario::{Op, Outcome, OPS};

/// Latencies in microseconds, 1 µs to 60 s, 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

pub struct Recorder {
    hist: [Histogram<u64>; 3],
    errors: HashMap<(Op, u16, String), u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder { hist: [histogram(), histogram(), histogram()], errors: HashMap::new() }
    }
}

impl Recorder {
    pub fn record(&mut self, op: Op, latency: Duration, outcome: Outcome) {
        match outcome {
            Outcome::Ok => {
                let us = (latency.as_micros() as u64).clamp(1, 60_000_000);
                self.hist[op as usize].saturating_record(us);
            }
            Outcome::Status(status, reason) => *self.errors.entry((op, status, reason)).or_default() += 1,
            Outcome::Failed(f) => *self.errors.entry((op, 0, f.reason().to_string())).or_default() += 1,
        }
    }

    pub fn merge(&mut self, other: Recorder) {
        for (a, b) in self.hist.iter_mut().zip(other.hist.iter()) {
            a.add(b).expect("same bounds");
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }

    /// The statistics of a measured window of `seconds`.
    pub fn stats(&self, seconds: f64) -> (BTreeMap<String, OpStats>, Vec<ErrorCount>) {
        let mut ops = BTreeMap::new();
        for op in OPS {
            let h = &self.hist[op as usize];
            let errors: u64 = self.errors.iter().filter(|((o, _, _), _)| *o == op).map(|(_, n)| n).sum();
            if h.is_empty() && errors == 0 {
                continue;
            }
            let q = |q: f64| if h.is_empty() { 0.0 } else { h.value_at_quantile(q) as f64 / 1000.0 };
            ops.insert(
                op.name().to_string(),
                OpStats {
                    ok: h.len(),
                    errors,
                    throughput_per_s: h.len() as f64 / seconds,
                    mean_ms: if h.is_empty() { 0.0 } else { h.mean() / 1000.0 },
                    p50_ms: q(0.50),
                    p90_ms: q(0.90),
                    p99_ms: q(0.99),
                    p999_ms: q(0.999),
                    max_ms: if h.is_empty() { 0.0 } else { h.max() as f64 / 1000.0 },
                    percentiles: curve(h),
                },
            );
        }
        let mut errors: Vec<ErrorCount> = self
            .errors
            .iter()
            .map(|((op, status, reason), n)| ErrorCount {
                operation: op.name().into(),
                status: *status,
                reason: reason.clone(),
                count: *n,
            })
            .collect();
        errors.sort_by(|a, b| b.count.cmp(&a.count).then(a.operation.cmp(&b.operation)));
        (ops, errors)
    }
}

/// The latency at 50 %, 75 %, 90 %, 99 %, ... up to 99.999 %: the curve of the plot.
fn curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    [0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 0.99999, 1.0]
        .iter()
        .map(|&q| (q * 100.0, h.value_at_quantile(q) as f64 / 1000.0))
        .collect()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpStats {
    /// Successful requests in the measured window (latencies are of these).
    pub ok: u64,
    pub errors: u64,
    pub throughput_per_s: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// (percentile, ms) points of the latency curve.
    pub percentiles: Vec<(f64, f64)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorCount {
    pub operation: String,
    /// 0 when there was no HTTP answer.
    pub status: u16,
    pub reason: String,
    pub count: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub target: String,
    pub urls: Vec<String>,
    /// `open` (constant arrival rate, latency from the intended send time) or `closed`.
    pub mode: String,
    /// Offered requests per second (all operations), open loop only.
    pub rate_per_s: Option<f64>,
    pub connections: usize,
    pub threads: usize,
    pub measured_seconds: f64,
    pub warmup_seconds: f64,
    pub world: serde_json::Value,
    pub mix: serde_json::Value,
    pub setup_seconds: f64,
    /// All requests completed per second, successful or not.
    pub total_throughput_per_s: f64,
    pub operations: BTreeMap<String, OpStats>,
    pub errors: Vec<ErrorCount>,
}

impl Report {
    pub fn error_count(&self) -> u64 {
        self.errors.iter().map(|e| e.count).sum()
    }

    /// A Markdown table of the operations, then the errors.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "**{}** {} loop{}, {} connections, {:.0} s measured ({} MAS/realms), {:.0} req/s in total\n\n",
            self.target,
            self.mode,
            self.rate_per_s.map(|r| format!(" at {r:.0} req/s offered")).unwrap_or_default(),
            self.connections,
            self.measured_seconds,
            self.world["mas"],
            self.total_throughput_per_s,
        );
        s.push_str("| operation | ok | errors | throughput/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n");
        s.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (name, o) in &self.operations {
            s.push_str(&format!(
                "| {name} | {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
                o.ok, o.errors, o.throughput_per_s, o.p50_ms, o.p90_ms, o.p99_ms, o.p999_ms, o.max_ms
            ));
        }
        if !self.errors.is_empty() {
            s.push_str("\n| operation | status | reason | count |\n| --- | ---: | --- | ---: |\n");
            for e in &self.errors {
                s.push_str(&format!("| {} | {} | {} | {} |\n", e.operation, e.status, e.reason, e.count));
            }
        }
        s
    }
}

/// One step of a rate sweep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepStep {
    pub rate_per_s: f64,
    pub passed: bool,
    pub report: Report,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sweep {
    pub operation: String,
    pub p99_bound_ms: f64,
    /// The highest offered rate whose steps kept p99 under the bound, errors
    /// under 1 % and throughput within 10 % of the offered rate.
    pub max_rate_per_s: Option<f64>,
    pub steps: Vec<SweepStep>,
}

impl Sweep {
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "Rate sweep: highest rate with {} p99 ≤ {} ms: {}\n\n",
            self.operation,
            self.p99_bound_ms,
            self.max_rate_per_s.map(|r| format!("**{r:.0} req/s**")).unwrap_or_else(|| "none".into())
        );
        s.push_str(&format!(
            "| offered req/s | achieved req/s | {op}/s | {op} p50 ms | {op} p99 ms | errors | passed |\n",
            op = self.operation
        ));
        s.push_str("| ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
        for step in &self.steps {
            let o = step.report.operations.get(&self.operation);
            s.push_str(&format!(
                "| {:.0} | {:.0} | {:.0} | {:.3} | {:.3} | {} | {} |\n",
                step.rate_per_s,
                step.report.total_throughput_per_s,
                o.map(|o| o.throughput_per_s).unwrap_or(0.0),
                o.map(|o| o.p50_ms).unwrap_or(0.0),
                o.map(|o| o.p99_ms).unwrap_or(0.0),
                step.report.error_count(),
                if step.passed { "yes" } else { "no" }
            ));
        }
        s
    }
}

/// Side by side: two reports of the same mix, `a` against `b`.
pub fn compare(a: &Report, b: &Report) -> String {
    let mut s = format!(
        "| operation | {a} /s | {b} /s | throughput {a}/{b} | {a} p50 ms | {b} p50 ms | {a} p99 ms | {b} p99 ms | p99 {a}/{b} |\n",
        a = a.target,
        b = b.target
    );
    s.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (name, x) in &a.operations {
        let Some(y) = b.operations.get(name) else { continue };
        let ratio = |p: f64, q: f64| if q > 0.0 { format!("{:.2}", p / q) } else { "-".into() };
        s.push_str(&format!(
            "| {name} | {:.0} | {:.0} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {} |\n",
            x.throughput_per_s,
            y.throughput_per_s,
            ratio(x.throughput_per_s, y.throughput_per_s),
            x.p50_ms,
            y.p50_ms,
            x.p99_ms,
            y.p99_ms,
            ratio(x.p99_ms, y.p99_ms)
        ));
    }
    s.push_str(&format!("\nerrors: {} {}, {} {}\n", a.target, a.error_count(), b.target, b.error_count()));
    s
}
