//! Test harness: a real `casa serve` process on a free loopback port, and a
//! small HTTP client for it.
#![allow(dead_code)]

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A fixed admin token for tests that do not exercise token generation.
pub const ADMIN: &str = "test-admin-token-0123456789abcdef0123456789";

pub fn casa_bin() -> &'static str {
    env!("CARGO_BIN_EXE_casa")
}

/// The casa binary where another user can run it: the target dir may be
/// under root's home (0700). A hard link in `dir` when it can be, else a copy.
fn reachable_casa_bin(dir: &Path) -> PathBuf {
    let bin = dir.join("casa");
    if !bin.exists() && std::fs::hard_link(casa_bin(), &bin).is_err() {
        std::fs::copy(casa_bin(), &bin).unwrap();
    }
    bin
}

/// An HTTP client for the tests. reqwest's TLS (compiled in for casa's LLM
/// clients) needs a crypto provider even for plain-HTTP use.
pub fn http_client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// A loopback port that is free now and stays free until a child binds it.
///
/// Ports come from below Linux's ephemeral range (32768-60999): an ephemeral
/// port (`bind(:0)`) can be taken by any outgoing connection between this
/// probe and the child's bind, which once failed a cluster test with
/// "Address already in use". A process-wide counter keeps parallel tests
/// apart; the pid spreads test binaries over the range.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(2_654_435_761) % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..SPAN {
        let port = (LOW + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {LOW}..{}", LOW + SPAN)
}

pub struct Casa {
    pub child: Option<Child>,
    /// The address the HTTP API listens on (loopback, or one in a network namespace).
    pub host: String,
    pub port: u16,
    pub dir: PathBuf,
    pub admin: String,
    client: reqwest::blocking::Client,
    _tmp: Option<tempfile::TempDir>,
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string())
    }
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.text)
    }
}

/// How to start a node.
pub struct Options {
    /// `Some` sets CASA_ADMIN_TOKEN; `None` lets casa generate one.
    pub admin_env: Option<String>,
    pub extra_args: Vec<String>,
    pub extra_env: Vec<(String, String)>,
    /// Listen here instead of on 127.0.0.1.
    pub host: Option<String>,
    /// Run inside this network namespace (`ip netns exec`).
    pub netns: Option<String>,
    /// Listen on this port instead of a free one.
    pub port: Option<u16>,
    /// Run as this user and group (no supplementary groups) instead of the test's.
    pub run_as: Option<(u32, u32)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            admin_env: Some(ADMIN.into()),
            extra_args: vec![],
            extra_env: vec![],
            host: None,
            netns: None,
            port: None,
            run_as: None,
        }
    }
}

impl Casa {
    /// A node on a fresh data dir with the fixed admin token.
    pub fn start() -> Casa {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut casa = Casa::start_in(&dir, Options::default());
        casa._tmp = Some(tmp);
        casa
    }

    pub fn start_in(dir: &Path, opts: Options) -> Casa {
        let mut casa = Casa::spawn(dir, &opts);
        // A free port can be taken by a concurrent test before casa binds it.
        for _ in 0..3 {
            if opts.port.is_some() || !casa.exited_because_the_port_was_taken() {
                break;
            }
            casa = Casa::spawn(dir, &opts);
        }
        casa.wait_healthy();
        if opts.admin_env.is_none() {
            casa.admin = std::fs::read_to_string(dir.join("data/admin-token")).unwrap().trim().to_string();
        }
        casa
    }

    /// Starts the process without waiting for it to become healthy.
    pub fn spawn(dir: &Path, opts: &Options) -> Casa {
        let port = opts.port.unwrap_or_else(free_port);
        let host = opts.host.clone().unwrap_or_else(|| "127.0.0.1".into());
        let data = dir.join("data");
        let n = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
        let stdout = File::create(dir.join(format!("stdout-{n}.log"))).unwrap();
        let stderr = File::create(dir.join(format!("stderr-{n}.log"))).unwrap();
        let mut cmd = match &opts.netns {
            None if opts.run_as.is_some() => Command::new(reachable_casa_bin(dir)),
            None => Command::new(casa_bin()),
            Some(ns) => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", ns, casa_bin()]);
                cmd
            }
        };
        cmd.arg("serve")
            .arg("--listen")
            .arg(format!("{host}:{port}"))
            .arg("--data-dir")
            .arg(&data)
            .args(&opts.extra_args)
            .env_remove("CASA_ADMIN_TOKEN")
            .env("CASA_LOG_LEVEL", "info")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        if let Some(t) = &opts.admin_env {
            cmd.env("CASA_ADMIN_TOKEN", t);
        }
        if let Some((uid, gid)) = opts.run_as {
            use std::os::unix::process::CommandExt;
            // std drops the supplementary groups when it sets the uid.
            cmd.uid(uid).gid(gid).env("HOME", dir);
        }
        for (k, v) in &opts.extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawning casa");
        Casa {
            child: Some(child),
            host,
            port,
            dir: dir.to_path_buf(),
            admin: opts.admin_env.clone().unwrap_or_default(),
            client: http_client(),
            _tmp: None,
        }
    }

    pub fn logs(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(&self.dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.ends_with(".log") {
                out.push_str(&format!("--- {name}\n{}\n", std::fs::read_to_string(entry.path()).unwrap_or_default()));
            }
        }
        out
    }

    /// Waits until the node answers or exits; true if it exited because its
    /// HTTP port was in use.
    fn exited_because_the_port_was_taken(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.as_mut().unwrap().try_wait().unwrap().is_some() {
                let logs = self.logs();
                return logs.contains(&format!("listening on {}:{}", self.host, self.port)) && logs.contains("in use");
            }
            if self.client.get(self.url("/healthz")).send().is_ok_and(|r| r.status().is_success()) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("casa exited with {status} before becoming healthy:\n{}", self.logs());
            }
            if let Ok(r) = self.client.get(self.url("/healthz")).send() {
                if r.status().is_success() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("casa did not become healthy:\n{}", self.logs());
    }

    /// Waits until the trace writer has stored (or counted as lost) every event
    /// recorded so far, by its counters, instead of sleeping through its batch window.
    pub fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let metrics = self.get("/metrics").text;
            let sum = |name: &str| -> f64 {
                metrics
                    .lines()
                    .filter(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with([' ', '{'])))
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                    .sum()
            };
            let recorded = sum("casa_trace_events_total");
            let done: f64 =
                ["written", "dropped", "lost"].iter().map(|s| sum(&format!("casa_trace_events_{s}_total"))).sum();
            if recorded == done {
                return;
            }
            assert!(Instant::now() < deadline, "the trace writer did not catch up: {recorded} recorded, {done} done");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.host, self.port)
    }

    pub fn send(&self, req: reqwest::blocking::RequestBuilder) -> Resp {
        let r = req.send().expect("request failed");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        Resp { status, headers, text: r.text().unwrap() }
    }

    pub fn request(&self, method: &str, path: &str) -> reqwest::blocking::RequestBuilder {
        self.client.request(method.parse().unwrap(), self.url(path))
    }

    /// A request with the admin token.
    pub fn admin(&self, method: &str, path: &str) -> reqwest::blocking::RequestBuilder {
        self.request(method, path).bearer_auth(&self.admin)
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send(self.admin("GET", path))
    }

    pub fn post(&self, path: &str, body: Value) -> Resp {
        self.send(self.admin("POST", path).json(&body))
    }

    pub fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(self.admin("PATCH", path).json(&body))
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.send(self.admin("DELETE", path))
    }

    /// Creates a MAS and returns its JSON.
    pub fn create_mas(&self, body: Value) -> Value {
        let r = self.post("/mas", body);
        assert_eq!(r.status, 201, "{r:?}");
        r.json()
    }

    pub fn create_app(&self, body: Value) -> Value {
        let r = self.post("/apps", body);
        assert_eq!(r.status, 201, "{r:?}");
        r.json()
    }

    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.as_ref().expect("running").id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.terminate_wait()
    }

    /// Waits for the process to exit (after a signal sent elsewhere).
    pub fn terminate_wait(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                if !status.success() {
                    // The caller's assertion names the status; the logs say why.
                    eprintln!("casa exited with {status} after SIGTERM:\n{}", self.logs());
                }
                return status;
            }
            assert!(Instant::now() < deadline, "casa did not exit after SIGTERM:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Casa {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An MCP server app body with the given tools.
pub fn mcp_server(mas_id: &str, name: &str, tools: &[&str]) -> Value {
    let tools: Vec<Value> = tools
        .iter()
        .map(|t| serde_json::json!({"name": t, "description": format!("The {t} tool"), "input_schema": {"type": "object"}}))
        .collect();
    serde_json::json!({"mas_id": mas_id, "name": name, "type": "mcp_server", "base_url": "http://127.0.0.1:9/mcp", "tools": tools})
}

pub fn agent(mas_id: &str, name: &str, allowed: &[&str]) -> Value {
    serde_json::json!({"mas_id": mas_id, "name": name, "type": "agent", "allowed_tools": allowed})
}

/// The paths and methods of the OpenAPI document.
pub fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// An app's OAuth credentials.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub secret: String,
}

impl Client {
    pub fn of(app: &Value) -> Client {
        Client { id: app["client_id"].as_str().unwrap().into(), secret: app["client_secret"].as_str().unwrap().into() }
    }
}

/// A MAS with a client, two agents and an MCP server serving `fs:read`,
/// `fs:write` and `web:search`.
pub struct Fleet {
    pub mas_id: String,
    pub mas: Value,
    pub client: Client,
    pub agent: Client,
    pub other_agent: Client,
    pub server_id: String,
    pub client_app_id: String,
}

impl Fleet {
    pub fn create(casa: &Casa, settings: Value) -> Fleet {
        let mut body = json_obj(settings);
        body.entry("name").or_insert(Value::String("fleet".into()));
        let mas = casa.create_mas(Value::Object(body));
        let mas_id = mas["id"].as_str().unwrap().to_string();
        let server = casa.create_app(mcp_server(&mas_id, "files", &["fs:read", "fs:write", "web:search"]));
        let client_app = casa.create_app(serde_json::json!({"mas_id": mas_id, "name": "chat", "type": "client",
            "allowed_tools": ["fs:read", "fs:write", "web:search"]}));
        let planner = casa.create_app(agent(&mas_id, "planner", &["fs:read", "fs:write", "web:search"]));
        let executor = casa.create_app(agent(&mas_id, "executor", &["fs:read", "web:search"]));
        Fleet {
            mas_id,
            mas,
            client: Client::of(&client_app),
            agent: Client::of(&planner),
            other_agent: Client::of(&executor),
            server_id: server["id"].as_str().unwrap().to_string(),
            client_app_id: client_app["id"].as_str().unwrap().to_string(),
        }
    }
}

fn json_obj(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

impl Casa {
    /// A form POST, with HTTP Basic client authentication when `client` is given.
    pub fn form(&self, path: &str, client: Option<&Client>, pairs: &[(&str, &str)]) -> Resp {
        let mut req = self.request("POST", path).form(pairs);
        if let Some(c) = client {
            req = req.basic_auth(&c.id, Some(&c.secret));
        }
        self.send(req)
    }

    /// An initial token for `client` (all its tools unless `tools` is given).
    pub fn token(&self, client: &Client, user_input: &str, tools: Option<&str>) -> Resp {
        let mut pairs = vec![("grant_type", "client_credentials"), ("user_input", user_input)];
        if let Some(t) = tools {
            pairs.push(("tools", t));
        }
        self.form("/oauth/token", Some(client), &pairs)
    }

    pub fn access_token(&self, client: &Client, user_input: &str, tools: Option<&str>) -> String {
        let r = self.token(client, user_input, tools);
        assert_eq!(r.status, 200, "{r:?}");
        r.json()["access_token"].as_str().unwrap().to_string()
    }

    pub fn exchange(&self, actor: &Client, subject: &str, tools: &str) -> Resp {
        self.exchange_with(actor, subject, &[("tools", tools)])
    }

    pub fn exchange_with(&self, actor: &Client, subject: &str, extra: &[(&str, &str)]) -> Resp {
        let mut pairs = vec![("subject_token", subject), ("subject_token_type", ACCESS_TOKEN_TYPE)];
        pairs.extend_from_slice(extra);
        self.form("/oauth/token/exchange", Some(actor), &pairs)
    }

    pub fn exchanged_token(&self, actor: &Client, subject: &str, tools: &str) -> String {
        let r = self.exchange(actor, subject, tools);
        assert_eq!(r.status, 200, "{r:?}");
        r.json()["access_token"].as_str().unwrap().to_string()
    }

    /// Introspection by the admin.
    pub fn introspect(&self, token: &str) -> Value {
        let r = self.send(self.admin("POST", "/oauth/introspect").form(&[("token", token)]));
        assert_eq!(r.status, 200, "{r:?}");
        r.json()
    }

    pub fn introspect_as(&self, client: &Client, token: &str) -> Value {
        let r = self.form("/oauth/introspect", Some(client), &[("token", token)]);
        assert_eq!(r.status, 200, "{r:?}");
        r.json()
    }
}

/// The decoded header and payload of a compact JWS.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut it = token.split('.');
    let header = serde_json::from_slice(&b64.decode(it.next().unwrap()).unwrap()).unwrap();
    let payload = serde_json::from_slice(&b64.decode(it.next().unwrap()).unwrap()).unwrap();
    (header, payload)
}

/// Asserts an OAuth error answer.
pub fn assert_oauth_error(r: &Resp, status: u16, error: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.json()["error"], error, "{r:?}");
    assert!(r.json()["error_description"].is_string(), "{r:?}");
}

/// The reasons of a 403 denial, as (tool, reason) pairs.
pub fn denials(r: &Resp) -> Vec<(String, String)> {
    assert_oauth_error(r, 403, "access_denied");
    r.json()["denials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["tool"].as_str().unwrap().to_string(), d["reason"].as_str().unwrap().to_string()))
        .collect()
}
