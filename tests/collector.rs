//! `casa serve --collector on` end to end: real tokens from the API, a small
//! plaintext tool server registered as an `mcp_server` app, requests on `lo`
//! and across a veth pair into a network namespace, and the `wire_*` events
//! they must (and must not) produce. Needs root; scripts/test-collector runs it.
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Casa, Client, Options};
use serde_json::{json, Value};

fn skip(test: &str) -> bool {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("{test}: skipped: the collector needs root to load its BPF programs");
        return true;
    }
    if !casa_ebpf::sensor::object_built() && std::env::var_os("CASA_COLLECTOR_TESTS").is_none() {
        eprintln!(
            "{test}: skipped: the BPF object was not built (no clang at build time); scripts/test-collector runs it"
        );
        return true;
    }
    false
}

/// A naive tool server: answers every request 200 (it checks no token, so an
/// invalid one is "accepted").
fn tool_server(addr: &str) -> SocketAddr {
    let l = TcpListener::bind(addr).unwrap();
    let a = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { return };
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 65536];
                loop {
                    let n = match c.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                            .unwrap_or(0usize);
                        if buf.len() < end + 4 + len {
                            break;
                        }
                        buf.drain(..end + 4 + len);
                        let body = r#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
                        let _ = write!(c, "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                    }
                }
            });
        }
    });
    a
}

struct World {
    casa: Casa,
    mas_id: String,
    client: Client,
    agent: Client,
    tools: SocketAddr,
    other: SocketAddr,
    tools_id: String,
}

/// casa with the collector on `interfaces`; the tool server at `tools` (a
/// fresh one on lo when None).
fn start(interfaces: &str, tools: Option<SocketAddr>, settings: Value) -> World {
    start_with(interfaces, tools, settings, &[])
}

/// [`start`] with more `casa serve` arguments.
fn start_with(interfaces: &str, tools: Option<SocketAddr>, settings: Value, extra: &[&str]) -> World {
    let mut args = vec!["--collector", "on", "--collector-interfaces", interfaces, "--collector-window-seconds", "1"];
    args.extend_from_slice(extra);
    let opts = Options { extra_args: args.into_iter().map(String::from).collect(), ..Default::default() };
    let w = world(opts, tools, settings);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = w.casa.get("/collector").json();
        if s["state"] == "running" && s["apps"].as_u64() >= Some(2) {
            break;
        }
        assert!(Instant::now() < deadline, "the collector did not start: {s}");
        std::thread::sleep(Duration::from_millis(100));
    }
    w
}

/// A `casa serve` node started with `opts`, a MAS with a client, an agent and
/// two tool servers (`tools`, or a fresh one on lo; another on lo).
fn world(opts: Options, tools: Option<SocketAddr>, settings: Value) -> World {
    let tools = tools.unwrap_or_else(|| tool_server("127.0.0.1:0"));
    let other = tool_server("127.0.0.1:0");
    let tmp = tempfile::tempdir().unwrap();
    let mut casa = Casa::start_in(tmp.path(), opts);
    std::mem::forget(tmp); // the node's logs stay for a failed test
    let (mas_id, tools_app, client, agent) = realm(&casa, "wire", settings, tools);
    casa.create_app(mcp_server_at(&mas_id, "search", other, &["web:search"]));
    casa.admin = common::ADMIN.into();
    World { casa, mas_id, client, agent, tools, other, tools_id: tools_app["client_id"].as_str().unwrap().into() }
}

/// The registration of an `mcp_server` app serving `tools` at `at`.
fn mcp_server_at(mas_id: &str, name: &str, at: SocketAddr, tools: &[&str]) -> Value {
    let mut b = common::mcp_server(mas_id, name, tools);
    b["base_url"] = json!(format!("http://{at}/mcp"));
    b
}

/// A MAS `name` (with `settings`), its tool server `files` at `files_at`
/// (fs:read, fs:write), a client `chat` and an agent `planner` allowed both:
/// (MAS id, the tool server's app, client, agent).
fn realm(casa: &Casa, name: &str, settings: Value, files_at: SocketAddr) -> (String, Value, Client, Client) {
    let mut body = json!({"name": name, "enabled_checks": ["DETERMINISTIC_TOOL_SELECTED"]});
    for (k, v) in settings.as_object().unwrap() {
        body[k] = v.clone();
    }
    let mas_id = casa.create_mas(body)["id"].as_str().unwrap().to_string();
    let tools_app = casa.create_app(mcp_server_at(&mas_id, "files", files_at, &["fs:read", "fs:write"]));
    let client = Client::of(&casa.create_app(
        json!({"mas_id": mas_id, "name": "chat", "type": "client", "allowed_tools": ["fs:read", "fs:write"]}),
    ));
    let agent = Client::of(&casa.create_app(common::agent(&mas_id, "planner", &["fs:read", "fs:write"])));
    (mas_id, tools_app, client, agent)
}

impl World {
    fn initial(&self) -> String {
        self.casa.access_token(&self.client, "read the quarterly report", Some("fs:read"))
    }
    fn exchanged(&self) -> String {
        let t = self.initial();
        self.casa.exchanged_token(&self.agent, &t, "fs:read")
    }
    /// The wire_* events of this MAS of `kind`, waiting up to 10 s for `want`.
    fn events(&self, kind: &str, want: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let page = self.casa.get(&format!("/trace?event_type={kind}&limit=500")).json();
            let items: Vec<Value> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                // Other nodes' traffic on lo is judged too (charged to no MAS).
                .filter(|e| e["mas_id"] == self.mas_id.as_str())
                .cloned()
                .collect();
            if items.len() >= want || Instant::now() > deadline {
                return items;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    fn anomalies(&self) -> Vec<Value> {
        let page = self.casa.get("/trace?limit=500").json();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                let t = e["type"].as_str().unwrap();
                e["mas_id"] == self.mas_id.as_str() && t.starts_with("wire_") && t != "wire_token_seen"
            })
            .cloned()
            .collect()
    }
}

/// One HTTP/1.1 request per part list on a fresh connection, answers awaited.
fn send(to: SocketAddr, requests: &[String]) {
    let mut s = TcpStream::connect(to).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for r in requests {
        s.write_all(r.as_bytes()).unwrap();
        let mut got = Vec::new();
        let mut chunk = [0u8; 4096];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") || !got.ends_with(b"}") {
            let n = s.read(&mut chunk).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&chunk[..n]);
        }
    }
}

fn call(token: Option<&str>, tool: &str, header_case: &str) -> String {
    let body =
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{{}}}}}}"#);
    let auth = token.map(|t| format!("{header_case}: Bearer {t}\r\n")).unwrap_or_default();
    format!(
        "POST /mcp HTTP/1.1\r\nHost: tools\r\ncontent-type: application/json\r\n{auth}content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn wire(e: &Value, field: &str) -> Value {
    e[field].clone()
}

#[test]
fn wire_token_seen_is_aggregated_and_joined_to_its_exchange() {
    if skip("wire_token_seen") {
        return;
    }
    let w = start("lo", None, json!({}));
    let t = w.exchanged();
    let reqs: Vec<String> =
        ["Authorization", "authorization", "AUTHORIZATION"].iter().map(|h| call(Some(&t), "fs:read", h)).collect();
    send(w.tools, &reqs);
    let seen = w.events("wire_token_seen", 1);
    assert_eq!(seen.len(), 1, "{seen:?}");
    let e = &seen[0];
    assert_eq!(wire(e, "count"), 3);
    assert_eq!(wire(e, "destination_app"), w.tools_id.as_str());
    assert_eq!(wire(e, "tools"), json!(["fs:read"]));
    assert_eq!(wire(e, "path"), "/mcp");
    assert!(wire(e, "sender").as_str().unwrap().starts_with("pid "), "attributed: {e}");
    let allowed = w.casa.get(&format!("/trace?event_type=exchange_allowed&mas_id={}", w.mas_id)).json();
    assert_eq!(allowed["items"][0]["token_digest"], e["token_digest"], "the sighting maps to its exchange by digest");
    assert_eq!(allowed["items"][0]["jti"], e["jti"]);
    assert!(w.anomalies().is_empty(), "a valid token to its audience: no anomaly: {:?}", w.anomalies());
    // On lo only egress is hooked: each request is scanned once, as it leaves.
    let k = &w.casa.get("/collector").json()["kernel"];
    assert!(k["scanned"].as_u64() >= Some(3), "{k}");
    assert!(k["packets"].as_u64() >= k["payloads"].as_u64() && k["payloads"].as_u64() >= k["scanned"].as_u64(), "{k}");
}

#[test]
fn wire_token_unverifiable() {
    if skip("wire_token_unverifiable") {
        return;
    }
    let w = start("lo", None, json!({}));
    // A changed signature byte (not the last character: its spare bits would make it malformed).
    let mut forged = w.exchanged().into_bytes();
    let at = forged.len() - 10;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    send(
        w.tools,
        &[
            call(Some(&forged), "fs:read", "Authorization"),
            call(Some("opaque-api-key-123"), "fs:read", "Authorization"),
        ],
    );
    let found = w.events("wire_token_unverifiable", 2);
    let mut reasons: Vec<&str> = found.iter().map(|e| e["reason"].as_str().unwrap()).collect();
    reasons.sort();
    assert_eq!(reasons, ["bad_signature", "opaque"]);
}

#[test]
fn wire_token_expired() {
    if skip("wire_token_expired") {
        return;
    }
    let w = start("lo", None, json!({"exchanged_token_ttl_seconds": 1}));
    let t = w.exchanged();
    std::thread::sleep(Duration::from_millis(2100));
    send(w.tools, &[call(Some(&t), "fs:read", "Authorization")]);
    assert_eq!(w.events("wire_token_expired", 1).len(), 1);
}

#[test]
fn wire_token_revoked_for_every_use_after_the_revocation() {
    if skip("wire_token_revoked") {
        return;
    }
    let w = start("lo", None, json!({}));
    let t = w.exchanged();
    send(w.tools, &[call(Some(&t), "fs:read", "Authorization")]);
    // judged before the revocation: a valid use
    assert_eq!(w.events("wire_token_seen", 1).len(), 1);
    assert_eq!(w.casa.form("/oauth/revoke", Some(&w.agent), &[("token", &t)]).status, 200);
    // Right after the acknowledgement: every use is flagged, none missed.
    let uses: Vec<String> = (0..20).map(|_| call(Some(&t), "fs:read", "Authorization")).collect();
    send(w.tools, &uses);
    let revoked = w.events("wire_token_revoked", 20);
    assert_eq!(revoked.len(), 20, "100 % of the uses after the revocation");
    assert!(revoked.iter().all(|e| e["reason"] == "token"));
}

#[test]
fn wire_audience_mismatch() {
    if skip("wire_audience_mismatch") {
        return;
    }
    let w = start("lo", None, json!({}));
    send(w.other, &[call(Some(&w.exchanged()), "fs:read", "Authorization")]);
    let e = w.events("wire_audience_mismatch", 1);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["audience"], w.tools_id.as_str());
}

#[test]
fn wire_token_passthrough() {
    if skip("wire_token_passthrough") {
        return;
    }
    let w = start("lo", None, json!({}));
    send(w.tools, &[call(Some(&w.initial()), "fs:read", "Authorization")]);
    assert_eq!(w.events("wire_token_passthrough", 1).len(), 1);
}

#[test]
fn wire_tool_not_in_token() {
    if skip("wire_tool_not_in_token") {
        return;
    }
    let w = start("lo", None, json!({}));
    send(w.tools, &[call(Some(&w.exchanged()), "fs:write", "Authorization")]);
    let e = w.events("wire_tool_not_in_token", 1);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["tool"], "fs:write");
}

#[test]
fn a_realm_registered_while_the_collector_runs_is_judged_from_its_first_request() {
    if skip("a_realm_registered_while_the_collector_runs_is_judged_from_its_first_request") {
        return;
    }
    let w = start("lo", None, json!({}));
    // A second MAS, its tool server and apps, registered after the collector read its directory:
    // the first request goes out well within the 2 s periodic refresh.
    let at = tool_server("127.0.0.1:0");
    let (mas_id, _, client, agent) = realm(&w.casa, "late", json!({}), at);
    let t = w.casa.access_token(&client, "read the quarterly report", Some("fs:read"));
    let x = w.casa.exchanged_token(&agent, &t, "fs:read");
    send(at, &[call(Some(&x), "fs:write", "Authorization")]);
    let late = World { mas_id, ..w };
    let e = late.events("wire_tool_not_in_token", 1);
    assert_eq!(e.len(), 1, "the first request of a new realm was not judged");
    assert_eq!(e[0]["tool"], "fs:write");
}

#[test]
fn the_judge_runs_on_a_thread_of_its_own() {
    if skip("the_judge_runs_on_a_thread_of_its_own") {
        return;
    }
    // Judging a batch takes a millisecond or more at saturation: not on the node's async workers.
    let w = start("lo", None, json!({}));
    let pid = w.casa.child.as_ref().unwrap().id();
    let threads: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|c| c.trim().to_string())
        .collect();
    assert!(threads.iter().any(|t| t == "casa-collector"), "{threads:?}");
}

#[test]
fn wire_unauthenticated_tool_call() {
    if skip("wire_unauthenticated_tool_call") {
        return;
    }
    let w = start("lo", None, json!({}));
    send(w.tools, &[call(None, "fs:read", "")]);
    let e = w.events("wire_unauthenticated_tool_call", 1);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["tool"], "fs:read");
}

#[test]
fn wire_token_replayed_elsewhere() {
    if skip("wire_token_replayed_elsewhere") {
        return;
    }
    let w = start("lo", None, json!({}));
    let t = w.exchanged();
    send(w.tools, &[call(Some(&t), "fs:read", "Authorization")]);
    // The same token from another process.
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-H",
            &format!("Authorization: Bearer {t}"),
            &format!("http://{}/mcp", w.tools),
        ])
        .status()
        .unwrap();
    assert!(out.success());
    let e = w.events("wire_token_replayed_elsewhere", 1);
    assert_eq!(e.len(), 1);
    assert!(e[0]["sender"].as_str().unwrap().contains("curl"), "{e:?}");
}

#[test]
fn wire_token_exfiltration() {
    if skip("wire_token_exfiltration") {
        return;
    }
    let w = start("lo", None, json!({}));
    let stranger = tool_server("127.0.0.1:0");
    send(stranger, &[call(Some(&w.exchanged()), "fs:read", "Authorization")]);
    let e = w.events("wire_token_exfiltration", 1);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["destination"], stranger.to_string());
}

#[test]
fn wire_token_in_query() {
    if skip("wire_token_in_query") {
        return;
    }
    let w = start("lo", None, json!({}));
    let t = w.exchanged();
    send(w.tools, &[format!("GET /mcp?access_token={t} HTTP/1.1\r\nHost: tools\r\n\r\n")]);
    let e = w.events("wire_token_in_query", 1);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["path"], "/mcp", "the query (and its token) is never recorded");
}

#[test]
fn wire_invalid_token_accepted() {
    if skip("wire_invalid_token_accepted") {
        return;
    }
    let w = start("lo", None, json!({}));
    send(w.tools, &[call(Some("not-a-casa-token"), "fs:read", "Authorization")]);
    let e = w.events("wire_invalid_token_accepted", 1);
    assert_eq!(e.len(), 1);
    assert_eq!((e[0]["status"].as_u64(), e[0]["reason"].as_str()), (Some(200), Some("wire_token_unverifiable")));
}

struct Netns(&'static str);
impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &format!("{}h", self.0)]).status();
        let _ = Command::new("ip").args(["netns", "del", self.0]).status();
    }
}

fn ip(args: &[&str]) {
    assert!(Command::new("ip").args(args).status().unwrap().success(), "ip {args:?}");
}

#[test]
fn across_a_veth_pair_into_a_namespace() {
    if skip("across_a_veth_pair_into_a_namespace") {
        return;
    }
    let ns = Netns("casaw1");
    let _ = Command::new("ip").args(["netns", "del", ns.0]).stderr(std::process::Stdio::null()).status();
    ip(&["netns", "add", ns.0]);
    ip(&["link", "add", "casaw1h", "type", "veth", "peer", "name", "casaw1p"]);
    ip(&["link", "set", "casaw1p", "netns", ns.0]);
    ip(&["addr", "add", "10.78.1.1/24", "dev", "casaw1h"]);
    ip(&["link", "set", "casaw1h", "up"]);
    ip(&["-n", ns.0, "addr", "add", "10.78.1.2/24", "dev", "casaw1p"]);
    ip(&["-n", ns.0, "link", "set", "casaw1p", "up"]);
    // The tool server lives in the namespace.
    let tools_addr = std::thread::spawn(|| {
        let f = std::fs::File::open("/var/run/netns/casaw1").unwrap();
        use std::os::fd::AsRawFd;
        assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
        tool_server("10.78.1.2:9100")
    })
    .join()
    .unwrap();
    let w = start("lo,casaw1h", Some(tools_addr), json!({}));
    let t = w.exchanged();
    send(tools_addr, &[call(Some(&t), "fs:read", "Authorization"), call(Some(&t), "fs:write", "authorization")]);
    assert_eq!(w.events("wire_token_seen", 1)[0]["count"], 2);
    assert_eq!(w.events("wire_tool_not_in_token", 1).len(), 1);
    let status = w.casa.get("/collector").json();
    let hooks: Vec<(&str, &str)> = status["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["name"].as_str().unwrap(), h["state"].as_str().unwrap()))
        .collect();
    for h in ["tcx_egress:lo", "tcx_ingress:casaw1h", "tcx_egress:casaw1h", "sock_ops"] {
        assert!(hooks.contains(&(h, "attached")), "{h}: {hooks:?}");
    }
    assert!(!hooks.iter().any(|(n, _)| *n == "tcx_ingress:lo"), "lo's egress sees every packet: {hooks:?}");
    drop(ns);
}

/// `openssl s_server -www` (it answers GET) on a free loopback port, with a
/// fresh self-signed certificate in `dir`.
fn tls_tool_server(dir: &std::path::Path) -> (std::process::Child, SocketAddr) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .args([&key, std::path::Path::new("-out"), &cert])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "openssl req");
    let at: SocketAddr = format!("127.0.0.1:{}", common::free_port()).parse().unwrap();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &at.port().to_string(), "-cert"])
        .args([&cert, std::path::Path::new("-key"), &key])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(at).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, at)
}

#[test]
fn a_token_sent_over_libssl_tls_is_judged_with_its_exact_sender() {
    if skip("a_token_sent_over_libssl_tls_is_judged_with_its_exact_sender") {
        return;
    }
    let arch = std::env::consts::ARCH;
    let libssl = format!("/usr/lib/{arch}-linux-gnu/libssl.so.3");
    assert!(std::path::Path::new(&libssl).exists(), "{libssl} (Debian's libssl3, which curl needs)");
    let tmp = tempfile::tempdir().unwrap();
    let (mut server, at) = tls_tool_server(tmp.path());
    let w = start_with("lo", Some(at), json!({}), &["--collector-tls-binaries", &libssl]);
    let hooks = w.casa.get("/collector").json()["hooks"].clone();
    let hook = hooks.as_array().unwrap().iter().find(|h| h["name"] == format!("tls_uprobe:{libssl}").as_str());
    assert_eq!(hook.map(|h| h["state"].clone()), Some(json!("attached")), "{hooks}");
    let token = w.exchanged();
    let curl = Command::new("curl")
        .args(["-sk", "-o", "/dev/null", "-H", &format!("Authorization: Bearer {token}")])
        .arg(format!("https://{at}/mcp"))
        .spawn()
        .unwrap();
    let pid = curl.id();
    assert!(curl.wait_with_output().unwrap().status.success(), "curl over TLS");
    let seen = w.events("wire_token_seen", 1);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let e = &seen[0];
    // The plaintext was read inside curl: no 4-tuple, the Host names the destination.
    assert_eq!(wire(e, "destination"), format!("tls:{at}").as_str());
    assert_eq!(wire(e, "destination_app"), w.tools_id.as_str(), "the tool server, known by its base_url");
    assert_eq!(wire(e, "tools"), json!(["fs:read"]));
    let sender = wire(e, "sender").as_str().unwrap().to_string();
    assert!(sender.starts_with(&format!("pid {pid} ")) && sender.contains("curl"), "the exact writer: {sender}");
    assert!(w.anomalies().is_empty(), "a valid token to its audience over TLS: {:?}", w.anomalies());
}

/// A collector token (what `casa collect` reports with) of a test node.
const COLLECTOR_TOKEN: &str = "casa_ct_test-0123456789abcdefghijklmnopqrstuv";

#[test]
fn the_collector_token_reads_keys_and_posts_findings_and_nothing_else() {
    // No kernel programs here: the credential alone, so no skip.
    let opts =
        Options { extra_env: vec![("CASA_COLLECTOR_TOKEN".into(), COLLECTOR_TOKEN.into())], ..Default::default() };
    let w = world(opts, None, json!({}));
    let with = |method: &str, path: &str, body: Option<Value>| {
        let req = w.casa.request(method, path).bearer_auth(COLLECTOR_TOKEN);
        w.casa.send(match body {
            Some(b) => req.json(&b),
            None => req,
        })
    };
    assert_eq!(with("GET", "/collector/directory", None).status, 200);
    assert_eq!(with("GET", &format!("/collector/revocations/{}", w.mas_id), None).status, 200);
    // What it may not: the trail, tenants, prompts, writes, the status, /metrics-free admin routes.
    for (method, path) in [
        ("GET", "/trace".to_string()),
        ("GET", "/mas".into()),
        ("GET", format!("/mas/{}", w.mas_id)),
        ("GET", "/apps".into()),
        ("GET", "/collector".into()),
        ("DELETE", format!("/mas/{}", w.mas_id)),
        ("POST", "/apps".into()),
    ] {
        let r = with(method, &path, Some(json!({})));
        assert_eq!(r.status, 403, "{method} {path}: {r:?}");
        assert_eq!(r.json()["error"], "insufficient_scope", "{method} {path}");
        assert!(r.header("www-authenticate").unwrap().contains("insufficient_scope"));
    }
    // Its one write takes wire findings only, never a decision.
    let forged = json!({"events": [{"type": "exchange_allowed", "mas_id": w.mas_id}]});
    assert_eq!(with("POST", "/collector/events", Some(forged)).status, 422);
    // A near miss of the token is no credential at all.
    let r = w.casa.send(w.casa.request("GET", "/collector/directory").bearer_auth(&COLLECTOR_TOKEN[1..]));
    assert_eq!(r.status, 401, "{r:?}");
}

#[test]
fn casa_collect_judges_on_its_node_and_reports_with_the_collector_token() {
    if skip("casa_collect_judges_on_its_node_and_reports_with_the_collector_token") {
        return;
    }
    // A node without a collector of its own, and `casa collect` beside it.
    let opts =
        Options { extra_env: vec![("CASA_COLLECTOR_TOKEN".into(), COLLECTOR_TOKEN.into())], ..Default::default() };
    let w = world(opts, None, json!({}));
    let log = w.casa.dir.join("collect.log");
    let mut collect = Command::new(common::casa_bin())
        .args(["collect", "--report-to", &w.casa.url(""), "--node-name", "edge-1"])
        // A long window: the sighting is written when the collector stops.
        .args(["--collector-interfaces", "lo", "--collector-window-seconds", "600"])
        .env("CASA_COLLECTOR_TOKEN", COLLECTOR_TOKEN)
        .env_remove("CASA_ADMIN_TOKEN")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(w.casa.dir.join("collect.err")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let logs = || {
        std::fs::read_to_string(&log).unwrap_or_default()
            + &std::fs::read_to_string(w.casa.dir.join("collect.err")).unwrap_or_default()
    };
    while !logs().contains("the wire collector is attached") {
        assert!(collect.try_wait().unwrap().is_none(), "casa collect exited: {}", logs());
        assert!(Instant::now() < deadline, "casa collect did not start: {}", logs());
        std::thread::sleep(Duration::from_millis(100));
    }
    let t = w.exchanged();
    send(w.tools, &[call(Some(&t), "fs:read", "Authorization"), call(Some(&t), "fs:write", "Authorization")]);
    let not_in_token = w.events("wire_tool_not_in_token", 1);
    let _ = Command::new("kill").args(["-TERM", &collect.id().to_string()]).status();
    let asked = Instant::now();
    let stopped = collect.wait().unwrap();
    assert!(asked.elapsed() < Duration::from_secs(5), "casa collect took {:?} to stop", asked.elapsed());
    let seen = w.events("wire_token_seen", 1);
    assert_eq!(seen.len(), 1, "the window's sighting is reported at stop: {seen:?}\n{}", logs());
    assert_eq!(seen[0]["node"], "edge-1", "the collector's name, not the node's");
    assert_eq!(wire(&seen[0], "destination_app"), w.tools_id.as_str());
    assert_eq!(not_in_token.len(), 1, "judged there with the realm's keys: {not_in_token:?}");
    assert!(stopped.success(), "casa collect stops cleanly on SIGTERM: {stopped}\n{}", logs());
    assert!(!logs().contains(COLLECTOR_TOKEN), "the credential is never logged");
    assert!(!logs().contains(&t), "nor a token");
}

/// The collector's status once it has left `starting`.
fn settled_status(casa: &Casa) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = casa.get("/collector").json();
        if s["state"] != "starting" || Instant::now() > deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn without_root_casa_serves_its_whole_api_and_the_collector_says_why() {
    // Root only to drop to another user; the BPF object need not be built.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("without_root...: skipped: needs root to start casa as another user");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let opts = Options {
        extra_args: ["--collector", "on", "--collector-interfaces", "lo", "--embedder", "none"]
            .map(String::from)
            .to_vec(),
        run_as: Some((65534, 65534)), // nobody: no capabilities
        ..Default::default()
    };
    let casa = Casa::start_in(tmp.path(), opts);
    let fleet = common::Fleet::create(&casa, json!({}));
    let t = casa.access_token(&fleet.client, "read the report", Some("fs:read"));
    assert!(!casa.exchanged_token(&fleet.agent, &t, "fs:read").is_empty(), "tokens and exchanges are served");
    assert_eq!(casa.get(&format!("/trace?mas_id={}", fleet.mas_id)).status, 200);
    let s = settled_status(&casa);
    assert_eq!(s["state"], "unavailable", "{s}");
    let reason = s["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("needs root or CAP_BPF"), "the reason says what to grant: {reason}");
    for h in s["hooks"].as_array().unwrap() {
        assert_eq!(h["state"], "unavailable", "{h}");
    }
    let metrics = casa.get("/metrics").text;
    let up: Vec<&str> = metrics.lines().filter(|l| l.starts_with("casa_collector_hook_up")).collect();
    assert!(!up.is_empty() && up.iter().all(|l| l.ends_with(" 0")), "{up:?}");
    assert!(!casa.logs().contains("panicked"), "never a panic: {}", casa.logs());
}

#[test]
fn a_collector_that_cannot_attach_never_stops_casa() {
    if skip("a_collector_that_cannot_attach_never_stops_casa") {
        return;
    }
    let opts = Options {
        extra_args: ["--collector", "on", "--collector-interfaces", "nosuch0"].map(String::from).to_vec(),
        ..Default::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let casa = Casa::start_in(tmp.path(), opts);
    let fleet = common::Fleet::create(&casa, json!({}));
    assert!(!casa.access_token(&fleet.client, "read a file", Some("fs:read")).is_empty(), "casa serves");
    let s = settled_status(&casa);
    let hook = s["hooks"].as_array().unwrap().iter().find(|h| h["name"] == "tcx_ingress:nosuch0").unwrap().clone();
    assert_eq!(hook["state"], "unavailable");
    assert!(hook["reason"].as_str().unwrap().contains("attach"), "{hook}");
    assert_eq!(
        casa.get("/metrics").text.lines().filter(|l| l.starts_with("casa_collector_hook_up")).count(),
        4, // tcx ingress and egress on nosuch0, sock_ops, tls_uprobe
        "{}",
        casa.get("/metrics").text
    );
}

#[test]
fn no_raw_token_at_rest() {
    if skip("no_raw_token_at_rest") {
        return;
    }
    let w = start("lo", None, json!({}));
    let t = w.exchanged();
    send(w.tools, &[call(Some(&t), "fs:write", "Authorization"), call(Some(&t), "fs:read", "Authorization")]);
    w.events("wire_tool_not_in_token", 1);
    w.events("wire_token_seen", 1);
    let all = w.casa.get("/trace?limit=500").text;
    let logs = w.casa.logs();
    let sig = t.rsplit('.').next().unwrap();
    assert!(!all.contains(sig) && !logs.contains(sig), "a token's signature is in the trace or the logs");
    for f in std::fs::read_dir(w.casa.dir.join("data")).unwrap().flatten() {
        let bytes = std::fs::read(f.path()).unwrap_or_default();
        assert!(!bytes.windows(sig.len()).any(|b| b == sig.as_bytes()), "the token is in {}", f.path().display());
    }
}
