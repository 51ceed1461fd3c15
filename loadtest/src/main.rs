//! `casa-loadtest`: sets up a world of MAS, agents and tools through casa's
//! API (or the equivalent realm and clients on Keycloak), drives sessions of
//! issue / exchange / introspect requests against it, and reports latencies
//! and throughput per operation.

mod catalog;
mod driver;
mod http;
mod keycloak;
mod plot;
mod report;
mod scenario;
mod world;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use driver::{Mode, RunConfig};
use report::{Report, Sweep, SweepStep};
use scenario::Mix;
use world::{Shape, Target, World};

/// Load test for casa: token issue, exchange and introspection at fleet scale.
///
/// Builds its world through the server's API (N MAS × M agents × T tools),
/// then runs sessions on C keep-alive connections: per session, by default,
/// 1 issue (client credentials for a user prompt), 5 exchanges (an agent gets
/// a tool token) and 5 introspections (the tool server checks the token).
///
/// Without --rate the load is closed-loop (each connection sends as soon as it
/// has its answer). With --rate it is open-loop at a constant arrival rate, and
/// latency is measured from each request's intended send time (no coordinated
/// omission). Latencies come from HDR histograms (1 µs to 60 s, 3 digits).
///
/// Examples:
///
///   casa-loadtest --url http://127.0.0.1:8080 --admin-token $TOKEN --duration 10s --json
///
///   casa-loadtest --url http://127.0.0.1:8080 --rate 8000 --connections 64 --plot lat.svg
///
///   casa-loadtest --url http://127.0.0.1:8080 --sweep --sweep-from 2000 --sweep-step 2000 --p99-bound-ms 5
///
///   casa-loadtest --target keycloak --url http://127.0.0.1:18180 --duration 10s --json
///
///   casa-loadtest --compare casa.json keycloak.json --plot side-by-side.svg
#[derive(Parser, Debug)]
#[command(name = "casa-loadtest", version, verbatim_doc_comment, max_term_width = 110)]
struct Args {
    /// Base URL of the server; repeat for the nodes of a cluster (connections are spread over them,
    /// the world is created through the first).
    #[arg(long = "url", value_name = "URL", required_unless_present = "compare")]
    urls: Vec<String>,

    /// What the URLs point at.
    #[arg(long, value_enum, default_value = "casa")]
    target: Target,

    /// casa's admin token (needed to build the world). Prefer the environment variable: it stays out of `ps`.
    #[arg(long, env = "CASA_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,

    /// Keycloak's bootstrap admin user (--target keycloak).
    #[arg(long, env = "KC_BOOTSTRAP_ADMIN_USERNAME", default_value = "admin")]
    keycloak_admin_user: String,

    /// Keycloak's bootstrap admin password (--target keycloak).
    #[arg(long, env = "KC_BOOTSTRAP_ADMIN_PASSWORD", default_value = "admin", hide_env_values = true)]
    keycloak_admin_password: String,

    // --- the world ---
    /// Number of MAS (casa) or realms (Keycloak) to create; sessions rotate over them.
    #[arg(long, default_value_t = 1, help_heading = "World")]
    mas: usize,

    /// Agents per MAS (each may be given every tool).
    #[arg(long, default_value_t = 2, help_heading = "World")]
    agents: usize,

    /// Tools per MAS, from a catalogue of realistic tools (filesystem, web, calendar, email, ...).
    #[arg(long, default_value_t = 8, help_heading = "World")]
    tools: usize,

    /// The MAS's enabled checks, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "DETERMINISTIC_TOOL_SELECTED", help_heading = "World")]
    checks: Vec<String>,

    /// Also enable SEMANTIC_INTENT_MATCH; sessions then ask only for tools that fit their prompt
    /// (the node needs an embedder).
    #[arg(long, help_heading = "World")]
    semantic: bool,

    /// Parallel requests while building the world.
    #[arg(long, default_value_t = 16, help_heading = "World")]
    setup_concurrency: usize,

    // --- the session mix ---
    /// Issue requests per session (client credentials with the user prompt). 0: each connection issues
    /// one session token per MAS and reuses it (measures the exchange and introspection paths alone).
    #[arg(long, default_value_t = 1, help_heading = "Session mix")]
    issues: u32,

    /// Exchange requests per session (an agent exchanges the session token for a one-tool token).
    #[arg(long, default_value_t = 5, help_heading = "Session mix")]
    exchanges: u32,

    /// Introspection requests per session (the tool server introspects the newest exchanged token).
    #[arg(long, default_value_t = 5, help_heading = "Session mix")]
    introspections: u32,

    // --- the load ---
    /// Open loop: requests per second offered, all operations together. Without it: closed loop.
    #[arg(long, help_heading = "Load")]
    rate: Option<f64>,

    /// Keep-alive connections (each runs sessions one request at a time).
    #[arg(long, short = 'c', default_value_t = 32, help_heading = "Load")]
    connections: usize,

    /// How long to measure (e.g. 10s, 500ms, 2m).
    #[arg(long, default_value = "10s", value_parser = parse_duration, help_heading = "Load")]
    duration: Duration,

    /// Load before the measurement, not recorded.
    #[arg(long, default_value = "1s", value_parser = parse_duration, help_heading = "Load")]
    warmup: Duration,

    /// Deadline of each request.
    #[arg(long, default_value = "10s", value_parser = parse_duration, help_heading = "Load")]
    timeout: Duration,

    /// Runtime threads of the generator; 1 runs everything on one thread (it shares the machine with the server).
    #[arg(long, default_value_t = 1, help_heading = "Load")]
    threads: usize,

    // --- sweep ---
    /// Find the highest open-loop rate whose p99 stays under --p99-bound-ms (one --duration run per step).
    #[arg(long, help_heading = "Sweep")]
    sweep: bool,

    /// First rate of the sweep (requests/s, all operations).
    #[arg(long, default_value_t = 2000.0, help_heading = "Sweep")]
    sweep_from: f64,

    /// Rate increment between steps.
    #[arg(long, default_value_t = 2000.0, help_heading = "Sweep")]
    sweep_step: f64,

    /// Highest rate tried.
    #[arg(long, default_value_t = 100_000.0, help_heading = "Sweep")]
    sweep_to: f64,

    /// Bisection steps between the last passing and the first failing rate.
    #[arg(long, default_value_t = 2, help_heading = "Sweep")]
    sweep_refine: u32,

    /// The p99 bound, in milliseconds.
    #[arg(long, default_value_t = 5.0, help_heading = "Sweep")]
    p99_bound_ms: f64,

    /// The operation whose p99 is bounded.
    #[arg(long, default_value = "exchange", value_parser = ["issue", "exchange", "introspect"], help_heading = "Sweep")]
    sweep_op: String,

    /// SVG of the sweep: p50 and p99 over the offered rate.
    #[arg(long, value_name = "FILE.svg", help_heading = "Sweep")]
    sweep_plot: Option<PathBuf>,

    // --- output ---
    /// Print one JSON report on stdout (and nothing else there).
    #[arg(long, help_heading = "Output")]
    json: bool,

    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    out: Option<PathBuf>,

    /// SVG of the latency percentiles of each operation.
    #[arg(long, value_name = "FILE.svg", help_heading = "Output")]
    plot: Option<PathBuf>,

    /// No progress bar.
    #[arg(long, help_heading = "Output")]
    quiet: bool,

    /// Print a side-by-side Markdown table of two JSON reports (e.g. casa and Keycloak) and exit.
    #[arg(long, num_args = 2, value_names = ["A.json", "B.json"], help_heading = "Output")]
    compare: Option<Vec<PathBuf>>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{s:?}: expected a duration like 10s, 500ms, 2m"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{s:?}: not a duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn main() {
    let args = Args::parse();
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()
    };
    let result = runtime.context("starting the runtime").and_then(|rt| rt.block_on(run(args)));
    if let Err(e) = result {
        eprintln!("casa-loadtest: error: {e:#}");
        std::process::exit(2);
    }
}

fn progress_bar(quiet: bool, len: u64, template: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "));
    bar
}

async fn run(args: Args) -> anyhow::Result<()> {
    if let Some(files) = &args.compare {
        let read = |p: &PathBuf| -> anyhow::Result<Report> {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not a casa-loadtest JSON report", p.display()))
        };
        let (a, b) = (read(&files[0])?, read(&files[1])?);
        print!("{}", report::compare(&a, &b));
        if let Some(p) = &args.plot {
            plot::percentiles(p, &[&a, &b])?;
        }
        return Ok(());
    }
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    if args.mas == 0 || args.agents == 0 || args.tools == 0 {
        bail!("--mas, --agents and --tools must be at least 1");
    }
    if args.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        bail!("--rate must be positive");
    }
    if args.duration.is_zero() {
        bail!("--duration must be positive");
    }
    let mut endpoints = Vec::new();
    for u in &args.urls {
        endpoints.push(http::Endpoint::parse(u).await?);
    }
    let mut checks = args.checks.clone();
    if args.semantic && !checks.iter().any(|c| c == "SEMANTIC_INTENT_MATCH") {
        checks.push("SEMANTIC_INTENT_MATCH".into());
    }
    let shape = Shape {
        mas: args.mas,
        agents: args.agents,
        tools: args.tools,
        semantic: checks.iter().any(|c| c == "SEMANTIC_INTENT_MATCH"),
        checks,
        setup_concurrency: args.setup_concurrency,
    };
    let setup_bar = progress_bar(args.quiet, args.mas as u64, "setup  [{bar:40}] {pos}/{len} realms {elapsed}");
    let world: World = match args.target {
        Target::Casa => {
            let token =
                args.admin_token.as_deref().filter(|t| !t.is_empty()).context(
                    "casa needs its admin token to build the world: --admin-token TOKEN or CASA_ADMIN_TOKEN",
                )?;
            let admin = http::bearer(token)?;
            for ep in &endpoints {
                world::check_casa(ep, &admin, args.timeout).await?;
            }
            world::setup_casa(&endpoints[0], admin, &shape, args.timeout, &setup_bar).await?
        }
        Target::Keycloak => {
            let (user, pw) = (&args.keycloak_admin_user, &args.keycloak_admin_password);
            keycloak::setup(&endpoints[0], user, pw, &shape, args.timeout, &setup_bar).await?
        }
    };
    setup_bar.finish_and_clear();
    if !args.quiet {
        eprintln!(
            "casa-loadtest: {} {} with {} agents and {} tools each, set up in {:.1} s",
            world.realms.len(),
            if args.target == Target::Casa { "MAS" } else { "realms" },
            args.agents,
            args.tools,
            world.setup_seconds
        );
    }
    let world = Arc::new(world);
    let mix = Mix { issues: args.issues, exchanges: args.exchanges, introspections: args.introspections };

    let output = if args.sweep {
        let sweep = run_sweep(&args, &world, &endpoints, mix, &shape).await?;
        if let Some(p) = &args.sweep_plot {
            plot::sweep(p, &sweep)?;
        }
        let best = sweep.steps.iter().filter(|s| s.passed).max_by(|a, b| a.rate_per_s.total_cmp(&b.rate_per_s));
        if let (Some(p), Some(best)) = (&args.plot, best) {
            plot::percentiles(p, &[&best.report])?;
        }
        Output::Sweep(sweep)
    } else {
        let mode = match args.rate {
            Some(rate) => Mode::Open { rate },
            None => Mode::Closed,
        };
        let report = run_once(&args, &world, &endpoints, mix, &shape, mode).await;
        if let Some(p) = &args.plot {
            plot::percentiles(p, &[&report])?;
        }
        Output::Report(Box::new(report))
    };
    let json = match &output {
        Output::Report(r) => serde_json::to_string_pretty(r)?,
        Output::Sweep(s) => serde_json::to_string_pretty(s)?,
    };
    if let Some(p) = &args.out {
        std::fs::write(p, &json).with_context(|| format!("writing {}", p.display()))?;
    }
    if args.json {
        println!("{json}");
    } else {
        match &output {
            Output::Report(r) => print!("{}", r.markdown()),
            Output::Sweep(s) => print!("{}", s.markdown()),
        }
    }
    Ok(())
}

enum Output {
    Report(Box<Report>),
    Sweep(Sweep),
}

async fn run_once(
    args: &Args,
    world: &Arc<World>,
    endpoints: &[Arc<http::Endpoint>],
    mix: Mix,
    shape: &Shape,
    mode: Mode,
) -> Report {
    let cfg = RunConfig {
        mode,
        connections: args.connections,
        duration: args.duration,
        warmup: args.warmup,
        timeout: args.timeout,
        mix,
    };
    let label = match mode {
        Mode::Open { rate } => format!("{rate:.0}/s"),
        Mode::Closed => "closed".into(),
    };
    let bar = progress_bar(
        args.quiet,
        (args.warmup + args.duration).as_millis() as u64,
        &format!("{label:>8} [{{bar:40}}] {{elapsed}} {{msg}}"),
    );
    let (rec, seconds) = driver::run(world.clone(), endpoints, &cfg, &bar).await;
    bar.finish_and_clear();
    let (operations, errors) = rec.stats(seconds);
    let total: u64 = operations.values().map(|o| o.ok + o.errors).sum();
    Report {
        target: format!("{:?}", args.target).to_lowercase(),
        urls: endpoints.iter().map(|e| e.url.clone()).collect(),
        mode: match mode {
            Mode::Open { .. } => "open".into(),
            Mode::Closed => "closed".into(),
        },
        rate_per_s: match mode {
            Mode::Open { rate } => Some(rate),
            Mode::Closed => None,
        },
        connections: args.connections,
        threads: args.threads,
        measured_seconds: seconds,
        warmup_seconds: args.warmup.as_secs_f64(),
        world: serde_json::to_value(shape).unwrap_or_default(),
        mix: serde_json::to_value(mix).unwrap_or_default(),
        setup_seconds: world.setup_seconds,
        total_throughput_per_s: total as f64 / seconds,
        operations,
        errors,
    }
}

/// Steps up the rate until the bound breaks, then bisects between the last
/// passing and the first failing rate.
async fn run_sweep(
    args: &Args,
    world: &Arc<World>,
    endpoints: &[Arc<http::Endpoint>],
    mix: Mix,
    shape: &Shape,
) -> anyhow::Result<Sweep> {
    if args.sweep_from.is_nan() || args.sweep_step.is_nan() || args.sweep_from <= 0.0 || args.sweep_step <= 0.0 {
        bail!("--sweep-from and --sweep-step must be positive");
    }
    let mut steps: Vec<SweepStep> = Vec::new();
    let mut step = |report: Report, rate: f64| {
        let op = report.operations.get(&args.sweep_op);
        let total = report.operations.values().map(|o| o.ok + o.errors).sum::<u64>().max(1);
        let passed = op.is_some_and(|o| o.p99_ms <= args.p99_bound_ms && o.ok > 0)
            && (report.error_count() as f64) < 0.01 * total as f64
            && report.total_throughput_per_s >= 0.9 * rate;
        if !args.quiet {
            eprintln!(
                "sweep: {rate:.0}/s offered, {:.0}/s done, {} p99 {:.3} ms, {} errors: {}",
                report.total_throughput_per_s,
                args.sweep_op,
                op.map(|o| o.p99_ms).unwrap_or(f64::NAN),
                report.error_count(),
                if passed { "pass" } else { "FAIL" }
            );
        }
        steps.push(SweepStep { rate_per_s: rate, passed, report });
        passed
    };
    let mut rate = args.sweep_from;
    let mut last_pass: Option<f64> = None;
    let mut first_fail: Option<f64> = None;
    while rate <= args.sweep_to {
        let report = run_once(args, world, endpoints, mix, shape, Mode::Open { rate }).await;
        if step(report, rate) {
            last_pass = Some(rate);
            rate += args.sweep_step;
        } else {
            first_fail = Some(rate);
            break;
        }
    }
    if let Some(mut hi) = first_fail {
        let mut lo = last_pass.unwrap_or(0.0);
        for _ in 0..args.sweep_refine {
            let mid = ((lo + hi) / 2.0).round();
            if mid <= lo || mid >= hi {
                break;
            }
            let report = run_once(args, world, endpoints, mix, shape, Mode::Open { rate: mid }).await;
            if step(report, mid) {
                lo = mid;
                last_pass = Some(last_pass.map_or(mid, |p| p.max(mid)));
            } else {
                hi = mid;
            }
        }
    }
    steps.sort_by(|a, b| a.rate_per_s.total_cmp(&b.rate_per_s));
    Ok(Sweep { operation: args.sweep_op.clone(), p99_bound_ms: args.p99_bound_ms, max_rate_per_s: last_pass, steps })
}
