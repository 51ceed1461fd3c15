//! casa-loadtest against a real `casa serve`: the minimal run reports real
//! traffic (cross-checked with the node's own request counters), and bad
//! input fails fast with a one-line message and exit code 2.
//!
//! The casa binary: `CASA_BIN` if set; else `casa` next to this test's
//! profile directory (built by `cargo test --workspace`); else it is built
//! with `cargo build -p casa` in the same profile.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const ADMIN: &str = "loadtest-admin-token-0123456789abcdef0123456789";

fn loadtest_bin() -> &'static str {
    env!("CARGO_BIN_EXE_casa-loadtest")
}

/// `target/<profile>`: the test executable lives in `target/<profile>/deps`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf()
}

fn casa_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CASA_BIN") {
        return PathBuf::from(p);
    }
    let dir = profile_dir();
    let bin = dir.join("casa");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace).args(["build", "-p", "casa", "--bin", "casa"]);
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo build -p casa");
        assert!(status.success(), "cargo build -p casa failed");
    }
    assert!(bin.exists(), "no casa binary at {}", bin.display());
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Casa {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Casa {
    fn start() -> Casa {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(casa_bin())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--embedder", "none", "--log-level", "warn"])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env("CASA_ADMIN_TOKEN", ADMIN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning casa serve");
        let mut casa = Casa { child, port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(port, "/healthz").is_none_or(|(status, _)| status != 200) {
            if let Some(status) = casa.child.try_wait().unwrap() {
                let mut err = String::new();
                casa.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
                panic!("casa exited with {status}: {err}");
            }
            assert!(Instant::now() < deadline, "casa did not become healthy");
            std::thread::sleep(Duration::from_millis(50));
        }
        casa
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Casa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.0 GET (no client library needed for two requests).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split_whitespace().nth(1)?.parse().ok()?;
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

fn loadtest(args: &[&str], env_token: Option<&str>) -> Output {
    let mut cmd = Command::new(loadtest_bin());
    cmd.args(args).env_remove("CASA_ADMIN_TOKEN");
    if let Some(t) = env_token {
        cmd.env("CASA_ADMIN_TOKEN", t);
    }
    cmd.output().expect("running casa-loadtest")
}

/// The value of `casa_http_requests_total` for a route and status.
fn served(metrics: &str, route: &str, status: u16) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("casa_http_requests_total{"))
        .filter(|l| l.contains(&format!("route=\"{route}\"")) && l.contains(&format!("status=\"{status}\"")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn minimal_run_reports_real_traffic_and_hostile_input_fails_fast() {
    let casa = Casa::start();
    let url = casa.url();

    // The minimal command (shorter), with the token on the command line.
    let started = Instant::now();
    let out = loadtest(
        &["--url", &url, "--admin-token", ADMIN, "--duration", "2s", "--warmup", "300ms", "-c", "4", "--json"],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not one JSON document ({e}): {stdout}"));
    assert_eq!(report["errors"], Value::Array(vec![]), "{stdout}");
    let ops = &report["operations"];
    for op in ["issue", "exchange", "introspect"] {
        let o = &ops[op];
        let t = o["throughput_per_s"].as_f64().unwrap_or_else(|| panic!("no {op} throughput: {stdout}"));
        assert!(t > 0.0, "{op}: {stdout}");
        let (p50, p99) = (o["p50_ms"].as_f64().unwrap(), o["p99_ms"].as_f64().unwrap());
        assert!(p50 > 0.0 && p99 >= p50, "{op}: p50 {p50} p99 {p99}");
        assert_eq!(o["errors"], 0, "{op}");
    }
    // The default mix is 1 issue : 5 exchanges : 5 introspections per session;
    // each connection may be cut off mid-session at the end of the window.
    let count = |op: &str| ops[op]["ok"].as_u64().unwrap();
    let (issues, exchanges, intros) = (count("issue"), count("exchange"), count("introspect"));
    assert!(exchanges.abs_diff(5 * issues) <= 4 * 5 + 5, "issues {issues} exchanges {exchanges}");
    assert!(intros.abs_diff(exchanges) <= 4, "exchanges {exchanges} introspections {intros}");

    // The node saw at least that many successful requests (its counters also
    // include the warm-up and the world's setup).
    let (status, metrics) = get(casa.port, "/metrics").expect("metrics");
    assert_eq!(status, 200);
    assert!(served(&metrics, "exchangeToken", 200) >= exchanges as f64, "exchanges {exchanges}:\n{metrics}");
    assert!(served(&metrics, "introspect", 200) >= intros as f64);
    assert!(served(&metrics, "token", 200) >= issues as f64);
    assert!(served(&metrics, "createMas", 201) >= 1.0);

    // A wrong admin token (from the environment): a clean, fast, one-line failure.
    let started = Instant::now();
    let out = loadtest(&["--url", &url, "--duration", "2s", "--json"], Some("not-the-admin-token-0123456789abcdef"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("admin token was refused (401)"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout after a failure");
    assert!(started.elapsed() < Duration::from_secs(5));

    // No admin token at all.
    let out = loadtest(&["--url", &url, "--json"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin token"));

    // Nothing listening there.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let out = loadtest(&["--url", &dead, "--admin-token", ADMIN, "--json"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");

    // Not an http URL; a bad duration (clap's usage error).
    let out = loadtest(&["--url", "https://example.invalid", "--admin-token", ADMIN], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only http://"));
    let out = loadtest(&["--url", &url, "--duration", "ten"], Some(ADMIN));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected a duration"));
}

#[test]
fn open_loop_meets_its_rate_and_the_sweep_finds_a_rate() {
    let casa = Casa::start();
    let url = casa.url();
    // 400 requests/s offered over 1.5 s: the node keeps up easily, so the
    // completed rate must match the offered one.
    let out = loadtest(
        &["--url", &url, "--rate", "400", "-c", "8", "--duration", "1500ms", "--warmup", "200ms", "--json"],
        Some(ADMIN),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["mode"], "open");
    let total = r["total_throughput_per_s"].as_f64().unwrap();
    assert!((total - 400.0).abs() < 40.0, "offered 400/s, completed {total}/s");

    // A two-step sweep with a bound nothing can meet (1 µs): no rate passes.
    let out = loadtest(
        &[
            "--url",
            &url,
            "--sweep",
            "--sweep-from",
            "200",
            "--sweep-step",
            "200",
            "--sweep-to",
            "400",
            "--sweep-refine",
            "0",
            "--p99-bound-ms",
            "0.001",
            "-c",
            "4",
            "--duration",
            "500ms",
            "--warmup",
            "0s",
            "--json",
        ],
        Some(ADMIN),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["max_rate_per_s"], Value::Null, "{s}");
    assert_eq!(s["steps"].as_array().unwrap().len(), 1, "stops at the first failing step");
}
