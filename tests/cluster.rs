//! Three casa nodes on one CQL keyspace (the real Cassandra of
//! `scripts/cassandra`), clustered over mutual TLS: routing, failover after
//! `kill -9`, a network partition made with namespaces, and revocation
//! across nodes.
//!
//! Longer than ~600 lines on purpose: every scenario shares one costly
//! fixture (three nodes, certificates, a keyspace), and cargo builds and
//! starts each test file as its own binary.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const PUBLIC_URL: &str = "http://casa.test";
const CLUSTER_KEK: &str = "5f1c0e9a7b3d2648aa01fe93c4d7b2e6180f5a3c9d2e4b7f6a1c8e0d3b5f7a29";

fn cql_nodes() -> String {
    std::env::var("CASA_CQL_NODES").unwrap_or_else(|_| "127.0.0.1:9042".into())
}

/// A cluster CA and a certificate per node, made by `casa cluster certs`.
fn certs(dir: &Path, nodes: &[&str]) -> PathBuf {
    let out = dir.join("certs");
    let status = Command::new(casa_bin()).args(["cluster", "certs", "--out"]).arg(&out).args(nodes).status().unwrap();
    assert!(status.success());
    out
}

struct NodeSpec {
    name: &'static str,
    cluster_addr: String,
    seeds: Vec<String>,
}

fn node_options(spec: &NodeSpec, store: &str, certs: &Path) -> Options {
    let file = |ext: &str| certs.join(format!("{}.{ext}", spec.name)).display().to_string();
    Options {
        extra_args: vec![
            "--store".into(),
            store.into(),
            "--public-url".into(),
            PUBLIC_URL.into(),
            "--node-name".into(),
            spec.name.into(),
            "--cluster-listen".into(),
            spec.cluster_addr.clone(),
            "--cluster-seeds".into(),
            spec.seeds.join(","),
            "--cluster-tls-cert".into(),
            file("pem"),
            "--cluster-tls-key".into(),
            file("key"),
            "--cluster-tls-ca".into(),
            certs.join("ca.pem").display().to_string(),
            "--cluster-min-members".into(),
            "2".into(),
        ],
        // One KEK for the cluster: every node opens the realm keys the others sealed.
        extra_env: vec![("CASA_KEY_ENCRYPTION_KEY".into(), CLUSTER_KEK.into())],
        ..Options::default()
    }
}

/// A and B seed each other; C knows only A, by a DNS name: it learns B, and B
/// learns it, from the members' heartbeats.
fn loopback_specs() -> Vec<NodeSpec> {
    let port = |_| free_port();
    let (a, b, c): (u16, u16, u16) = (port(0), port(1), port(2));
    vec![
        NodeSpec { name: "node-a", cluster_addr: format!("127.0.0.1:{a}"), seeds: vec![format!("127.0.0.1:{b}")] },
        NodeSpec { name: "node-b", cluster_addr: format!("127.0.0.1:{b}"), seeds: vec![format!("127.0.0.1:{a}")] },
        NodeSpec { name: "node-c", cluster_addr: format!("127.0.0.1:{c}"), seeds: vec![format!("localhost:{a}")] },
    ]
}

/// `casa audit verify`: the MAS's hash chain is intact, though several nodes wrote it.
fn assert_chain_intact(store: &str, mas_id: &str) {
    let out = Command::new(casa_bin()).args(["audit", "verify", "--mas", mas_id, "--store", store]).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// A test's keyspace, dropped when the test ends: a node holding many
/// keyspaces runs out of heap (each table costs Cassandra memory).
struct Keyspace(String);

impl Keyspace {
    fn new() -> Keyspace {
        Keyspace(format!("casa_cl_{}", uuid::Uuid::new_v4().simple()))
    }

    fn url(&self) -> String {
        format!("scylla://{}/{}", cql_nodes(), self.0)
    }
}

impl Drop for Keyspace {
    fn drop(&mut self) {
        let ks = self.0.clone();
        // Its own thread and runtime: a drop may run inside a panicking test.
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let nodes: Vec<String> = cql_nodes().split(',').map(str::to_string).collect();
                let session = scylla::client::session_builder::SessionBuilder::new()
                    .known_nodes(nodes)
                    .build()
                    .await
                    .map_err(|e| e.to_string())?;
                session.query_unpaged(format!("DROP KEYSPACE IF EXISTS {ks}"), ()).await.map_err(|e| e.to_string())?;
                Ok(())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop keyspace {}: {e}", self.0);
        }
    }
}

fn cluster_view(node: &Casa) -> Value {
    let r = node.get("/cluster");
    assert_eq!(r.status, 200, "{r:?}");
    r.json()
}

/// Waits until every node serves with `expected` placement members.
fn wait_converged(nodes: &[&Casa], expected: usize, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let views: Vec<Value> = nodes.iter().map(|n| cluster_view(n)).collect();
        if views.iter().all(|v| v["serving"] == true && v["placement"].as_array().unwrap().len() == expected) {
            return;
        }
        assert!(Instant::now() < deadline, "the cluster did not converge: {views:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn owner_of(node: &Casa, mas_id: &str) -> String {
    cluster_view_of(node, mas_id)["owner"].as_str().unwrap_or_default().to_string()
}

fn cluster_view_of(node: &Casa, mas_id: &str) -> Value {
    node.get(&format!("/cluster?mas_id={mas_id}")).json()
}

fn start_three(tmp: &Path) -> (Vec<Casa>, Vec<NodeSpec>, String, PathBuf, Keyspace) {
    let specs = loopback_specs();
    let certs = certs(tmp, &["node-a", "node-b", "node-c"]);
    let keyspace = Keyspace::new();
    let store = keyspace.url();
    let nodes: Vec<Casa> = specs
        .iter()
        .map(|spec| {
            let dir = tmp.join(spec.name);
            std::fs::create_dir_all(&dir).unwrap();
            Casa::start_in(&dir, node_options(spec, &store, &certs))
        })
        .collect();
    wait_converged(&nodes.iter().collect::<Vec<_>>(), 3, Duration::from_secs(30));
    (nodes, specs, store, certs, keyspace)
}

#[test]
fn three_nodes_answer_as_one_and_a_revocation_through_one_holds_on_another() {
    let tmp = tempfile::tempdir().unwrap();
    let (nodes, _, store, _, _keyspace) = start_three(tmp.path());
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);

    let fleet = Fleet::create(a, json!({}));
    let r = b.token(&fleet.client, "read my notes and search the web", Some("fs:read web:search"));
    assert_eq!(r.status, 200, "{r:?}");
    let subject = r.json()["access_token"].as_str().unwrap().to_string();
    let delegated = c.exchanged_token(&fleet.agent, &subject, "fs:read");
    assert_eq!(denials(&c.exchange(&fleet.agent, &subject, "fs:write"))[0].1, "tool_not_in_token");
    let seen = a.introspect(&delegated);
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["tools"], json!(["fs:read"]), "{seen}");
    for node in [a, b, c] {
        assert_eq!(node.get(&format!("/mas/{}", fleet.mas_id)).json()["id"], json!(fleet.mas_id));
    }

    // Revoked through A; C's very next introspection and exchange honour it.
    let r = a.form("/oauth/revoke", Some(&fleet.client), &[("token", &subject)]);
    assert_eq!(r.status, 200, "{r:?}");
    let started = Instant::now();
    assert_eq!(c.introspect(&subject)["active"], false);
    assert_eq!(c.introspect(&delegated)["active"], false, "the revocation reaches the lineage");
    assert_eq!(c.exchange(&fleet.agent, &subject, "fs:read").status, 400);
    eprintln!("revocation via A visible via C after {:?}", started.elapsed());

    // The operator's view: three members, and the MAS owned by exactly one.
    let out = Command::new(casa_bin())
        .args(["cluster", "status", "--url", &b.url(""), "--admin-token", ADMIN])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    for name in ["node-a", "node-b", "node-c"] {
        assert!(table.contains(name), "{table}");
    }
    let view = cluster_view(b);
    let owned: u64 = view["members"].as_array().unwrap().iter().map(|m| m["owned_mas"].as_u64().unwrap()).sum();
    assert_eq!(owned, 1, "{view}");
    let metrics = b.send(b.request("GET", "/metrics")).text;
    assert!(metrics.contains("casa_cluster_members"), "{metrics}");

    // One owner wrote the MAS's events, though three nodes took the requests.
    for mut node in nodes {
        assert_eq!(node.terminate().code(), Some(0));
    }
    assert_chain_intact(&store, &fleet.mas_id);
}

#[test]
fn a_node_with_another_ca_cannot_join() {
    let tmp = tempfile::tempdir().unwrap();
    let (nodes, specs, store, _, _keyspace) = start_three(tmp.path());
    let stranger_certs = certs(&tmp.path().join("stranger"), &["node-x"]);
    let spec = NodeSpec {
        name: "node-x",
        cluster_addr: format!("127.0.0.1:{}", free_port()),
        seeds: specs.iter().map(|s| s.cluster_addr.clone()).collect(),
    };
    let dir = tmp.path().join("node-x");
    std::fs::create_dir_all(&dir).unwrap();
    let stranger = Casa::start_in(&dir, node_options(&spec, &store, &stranger_certs));
    std::thread::sleep(Duration::from_secs(3));
    let view = cluster_view(&nodes[0]);
    assert!(!view.to_string().contains("node-x"), "{view}");
    let ready = stranger.send(stranger.request("GET", "/readyz"));
    assert_eq!(ready.status, 503, "{ready:?}");
    let mine = cluster_view(&stranger);
    assert_eq!(mine["serving"], false, "{mine}");
    assert_eq!(mine["members"].as_array().unwrap().len(), 1, "{mine}");
}

/// Starts one node on `store` per spec, in `tmp`.
fn start_node(tmp: &Path, spec: &NodeSpec, store: &str, certs: &Path, cert_of: &str) -> Casa {
    let dir = tmp.join(spec.name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut options = node_options(spec, store, certs);
    let file = |ext: &str| certs.join(format!("{cert_of}.{ext}")).display().to_string();
    for (flag, value) in [("--cluster-tls-cert", file("pem")), ("--cluster-tls-key", file("key"))] {
        let at = options.extra_args.iter().position(|a| a == flag).unwrap();
        options.extra_args[at + 1] = value;
    }
    Casa::start_in(&dir, options)
}

/// Whether the peer closed `stream` within `within` (it read nothing first).
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    use std::io::{ErrorKind, Read};
    stream.set_read_timeout(Some(within)).unwrap();
    match stream.read(&mut [0u8; 1]) {
        Ok(n) => n == 0,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

/// Attack: connections to a node's cluster port that never start their TLS
/// handshake (`nc node 7400`, held open). ractor_cluster's own listener
/// awaited each handshake inline, so one of them stopped the node accepting
/// any peer; casa's acceptor gives each its own task and deadline, and caps
/// what one source may hold.
#[test]
fn silent_connections_to_the_cluster_port_do_not_stop_a_peer_joining() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = certs(tmp.path(), &["node-a", "node-b"]);
    let keyspace = Keyspace::new();
    let store = keyspace.url();
    let (pa, pb) = (free_port(), free_port());
    // A knows nobody: B can join only through A's cluster port.
    let a_spec =
        NodeSpec { name: "node-a", cluster_addr: format!("127.0.0.1:{pa}"), seeds: vec![format!("127.0.0.1:{pa}")] };
    let b_spec =
        NodeSpec { name: "node-b", cluster_addr: format!("127.0.0.1:{pb}"), seeds: vec![format!("127.0.0.1:{pa}")] };
    let a = start_node(tmp.path(), &a_spec, &store, &certs, "node-a");
    let mut silent: Vec<TcpStream> = (0..20).map(|_| TcpStream::connect(&a_spec.cluster_addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(300));
    // Past the per-source cap (16), a connection is closed at once.
    assert!(closed_within(silent.last_mut().unwrap(), Duration::from_secs(1)), "a 20th handshake was kept waiting");

    let b = start_node(tmp.path(), &b_spec, &store, &certs, "node-b");
    wait_converged(&[&a, &b], 2, Duration::from_secs(20));
    // Every silent connection is closed once the handshake deadline (2 s) passes.
    for stream in &mut silent {
        assert!(closed_within(stream, Duration::from_secs(3)), "a silent connection outlived the handshake deadline");
    }
}

/// Attack: a process holding a certificate from the cluster CA (for node-x)
/// names itself after a node that does not exist, or after another member.
/// It is not let in under either name: the members' views never show the
/// made-up node, and it hears nobody.
#[test]
fn a_node_cannot_join_under_a_name_its_certificate_does_not_carry() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = certs(tmp.path(), &["node-a", "node-b", "node-x"]);
    let keyspace = Keyspace::new();
    let store = keyspace.url();
    let (pa, pb) = (free_port(), free_port());
    let a_spec =
        NodeSpec { name: "node-a", cluster_addr: format!("127.0.0.1:{pa}"), seeds: vec![format!("127.0.0.1:{pb}")] };
    let b_spec =
        NodeSpec { name: "node-b", cluster_addr: format!("127.0.0.1:{pb}"), seeds: vec![format!("127.0.0.1:{pa}")] };
    let a = start_node(tmp.path(), &a_spec, &store, &certs, "node-a");
    let b = start_node(tmp.path(), &b_spec, &store, &certs, "node-b");
    wait_converged(&[&a, &b], 2, Duration::from_secs(20));

    let seeds = vec![a_spec.cluster_addr.clone(), b_spec.cluster_addr.clone()];
    let ghost_spec =
        NodeSpec { name: "node-ghost", cluster_addr: format!("127.0.0.1:{}", free_port()), seeds: seeds.clone() };
    let ghost = start_node(tmp.path(), &ghost_spec, &store, &certs, "node-x");
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        for member in [&a, &b] {
            let view = cluster_view(member);
            assert!(!view.to_string().contains("node-ghost"), "a made-up member was let in: {view}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let mine = cluster_view(&ghost);
    assert_eq!(mine["members"].as_array().unwrap().len(), 1, "the impostor heard the members: {mine}");

    // Under a member's name: node-b keeps its place, the impostor hears nobody.
    let twin_spec = NodeSpec { name: "node-b", cluster_addr: format!("127.0.0.1:{}", free_port()), seeds };
    let twin_dir = tmp.path().join("twin");
    std::fs::create_dir_all(&twin_dir).unwrap();
    let twin = start_node(&twin_dir, &twin_spec, &store, &certs, "node-x");
    std::thread::sleep(Duration::from_secs(3));
    let mine = cluster_view(&twin);
    assert_eq!(mine["members"].as_array().unwrap().len(), 1, "the impostor heard the members: {mine}");
    wait_converged(&[&a, &b], 2, Duration::from_secs(5));
    let seen = cluster_view(&a);
    let addr = seen["members"].as_array().unwrap().iter().find(|m| m["name"] == "node-b").map(|m| m["addr"].clone());
    assert_eq!(addr, Some(json!(b_spec.cluster_addr)), "node-b is known at the impostor's address: {seen}");
}

#[test]
fn clustering_on_the_embedded_store_is_refused_with_a_reason() {
    let out = Command::new(casa_bin())
        .args(["serve", "--cluster-listen", "127.0.0.1:7400", "--cluster-seeds", "127.0.0.1:7401"])
        .env_remove("CASA_STORE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scylla://"), "{err}");
}

#[test]
fn hostile_cluster_settings_are_refused_naming_the_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = certs(tmp.path(), &["n"]);
    let pem = |f: &str| certs.join(f).display().to_string();
    let base = |extra: &[&str]| {
        let mut args: Vec<String> =
            ["serve", "--store", "scylla://127.0.0.1:1/ks", "--cluster-listen", "127.0.0.1:7400"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = Command::new(casa_bin()).args(&args).env_remove("CASA_PUBLIC_URL").output().unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let tls =
        ["--cluster-tls-cert", &pem("n.pem"), "--cluster-tls-key", &pem("n.key"), "--cluster-tls-ca", &pem("ca.pem")];
    assert!(base(&tls).contains("--public-url"));
    let with = |more: &[&str]| base(&[&tls[..], &["--public-url", "http://casa.test"], more].concat());
    assert!(with(&["--cluster-seeds", "no-port"]).contains("host:port"));
    assert!(with(&["--cluster-seeds", ":7400"]).contains("host:port"));
    assert!(with(&["--node-name", "a b"]).contains("node name"));
    assert!(with(&["--node-name", &"x".repeat(200)]).contains("node name"));
    // Every certificate carries the server name: a node may not take it as its own.
    assert!(with(&["--node-name", "casa-cluster"]).contains("TLS server name"));
    assert!(base(&["--public-url", "http://casa.test"]).contains("mutual TLS"));
    let wrong_ca =
        ["--cluster-tls-cert", &pem("n.pem"), "--cluster-tls-key", &pem("n.key"), "--cluster-tls-ca", &pem("n.key")];
    let err = base(&[&wrong_ca[..], &["--public-url", "http://casa.test"]].concat());
    assert!(err.contains("certificate"), "{err}");
}

/// What a client saw, for the failover tests' invariants.
#[derive(Default, Debug)]
struct Seen {
    ok: Vec<Instant>,
    unavailable: usize,
    /// Why, for the first few 503s.
    why: Vec<String>,
    wrong: Vec<String>,
}

/// A client looping through `node` until `stop`: an allowed exchange, a
/// denied one, and the introspection of a revoked token; any answer other
/// than the right one or 503 is a wrong decision.
fn steady_load(
    node: &Casa,
    fleet: &Fleet,
    subject: &str,
    revoked: &str,
    stop: &std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Seen> {
    let (url, stop) = (node.url(""), stop.clone());
    let agent = Client { id: fleet.agent.id.clone(), secret: fleet.agent.secret.clone() };
    let (subject, revoked) = (subject.to_string(), revoked.to_string());
    std::thread::spawn(move || {
        let http = http_client();
        let mut seen = Seen::default();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let exchange = |tools: &str| {
                http.post(format!("{url}/oauth/token/exchange"))
                    .basic_auth(&agent.id, Some(&agent.secret))
                    .form(&[
                        ("subject_token", subject.as_str()),
                        ("subject_token_type", ACCESS_TOKEN_TYPE),
                        ("tools", tools),
                    ])
                    .send()
            };
            match exchange("fs:read") {
                Ok(r) if r.status() == 200 => seen.ok.push(Instant::now()),
                Ok(r) if r.status() == 503 => {
                    seen.unavailable += 1;
                    seen.why.push(r.text().unwrap_or_default());
                }
                Ok(r) => seen.wrong.push(format!("allowed tool: {} {}", r.status(), r.text().unwrap())),
                Err(e) => seen.wrong.push(format!("transport: {e}")),
            }
            match exchange("fs:write") {
                Ok(r) if r.status() == 403 || r.status() == 503 => {}
                Ok(r) => seen.wrong.push(format!("denied tool: {}", r.status())),
                Err(e) => seen.wrong.push(format!("transport: {e}")),
            }
            let r = http
                .post(format!("{url}/oauth/introspect"))
                .bearer_auth(ADMIN)
                .form(&[("token", revoked.as_str())])
                .send();
            match r {
                Ok(r) if r.status() == 503 => {}
                Ok(r) => {
                    let body: Value = r.json().unwrap_or_default();
                    if body["active"] != false {
                        seen.wrong.push(format!("revoked token: {body}"));
                    }
                }
                Err(e) => seen.wrong.push(format!("transport: {e}")),
            }
        }
        seen
    })
}

/// The longest stretch without a successful exchange from `from` on.
fn longest_gap(seen: &Seen, from: Instant) -> Duration {
    let mut times: Vec<Instant> = seen.ok.iter().copied().filter(|t| *t > from).collect();
    times.insert(0, from);
    times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default()
}

/// A fleet whose MAS `owner` owns, created through `via`.
fn fleet_owned_by(via: &Casa, owner: &str) -> Fleet {
    loop {
        let f = Fleet::create(via, json!({}));
        if owner_of(via, &f.mas_id) == owner {
            return f;
        }
    }
}

/// Under load through A and B: a fleet on node-c, a session token, and a revoked one.
struct Busy {
    fleet: Fleet,
    subject: String,
    revoked: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    load: Vec<std::thread::JoinHandle<Seen>>,
}

fn busy_on_node_c(nodes: &[Casa]) -> Busy {
    let fleet = fleet_owned_by(&nodes[0], "node-c");
    let subject = nodes[0].access_token(&fleet.client, "read my notes", Some("fs:read"));
    let revoked = nodes[1].access_token(&fleet.client, "read my notes", Some("fs:read"));
    assert_eq!(nodes[1].form("/oauth/revoke", Some(&fleet.client), &[("token", &revoked)]).status, 200);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = [0, 1].into_iter().map(|i| steady_load(&nodes[i], &fleet, &subject, &revoked, &stop)).collect();
    std::thread::sleep(Duration::from_secs(1));
    Busy { fleet, subject, revoked, stop, load }
}

impl Busy {
    fn finish(self) -> (Fleet, String, String, Vec<Seen>) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let seen = self.load.into_iter().map(|t| t.join().unwrap()).collect();
        (self.fleet, self.subject, self.revoked, seen)
    }
}

#[test]
fn sigterm_hands_the_owners_mas_over_before_it_exits() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut nodes, _, store, _, _keyspace) = start_three(tmp.path());
    let busy = busy_on_node_c(&nodes);
    let left_at = Instant::now();
    assert_eq!(nodes[2].terminate().code(), Some(0));
    let exited = left_at.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let (fleet, _, _, seen) = busy.finish();
    for s in seen {
        assert!(s.wrong.is_empty(), "wrong decisions: {:?}", s.wrong);
        assert_eq!(s.unavailable, 0, "a graceful leave costs no request: {:?}", s.why);
        let gap = longest_gap(&s, left_at);
        eprintln!("node-c exited {exited:?} after SIGTERM; longest gap between successes {gap:?}");
        assert!(gap < Duration::from_secs(1), "exchanges waited {gap:?}: the peers did not take over at once");
    }
    let owner = owner_of(&nodes[0], &fleet.mas_id);
    assert!(owner == "node-a" || owner == "node-b", "{owner}");
    for mut node in nodes.drain(..2) {
        assert_eq!(node.terminate().code(), Some(0));
    }
    assert_chain_intact(&store, &fleet.mas_id);
}

#[test]
fn kill_9_of_a_busy_owner_fails_over_within_3_s_without_a_wrong_decision() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut nodes, specs, store, certs, _keyspace) = start_three(tmp.path());
    // Steady load through A and B on a MAS of node-c, while C dies.
    let busy = busy_on_node_c(&nodes);
    let killed_at = Instant::now();
    nodes[2].kill9();
    std::thread::sleep(Duration::from_secs(5));
    let (fleet, subject, revoked, seen) = busy.finish();
    for s in &seen {
        assert!(s.wrong.is_empty(), "wrong decisions: {:?}", s.wrong);
        // The longest stretch without a successful exchange around the kill.
        let mut times: Vec<Instant> =
            s.ok.iter().copied().filter(|t| *t > killed_at - Duration::from_millis(200)).collect();
        times.insert(0, killed_at);
        let gap = times.windows(2).map(|w| w[1] - w[0]).max().expect("exchanges resumed");
        eprintln!("longest gap between successes: {gap:?}; {} answered 503", s.unavailable);
        assert!(gap <= Duration::from_secs(3), "exchanges stopped for {gap:?}");
        assert!(s.ok.last().is_some_and(|t| *t > killed_at + Duration::from_secs(4)), "exchanges did not resume");
    }
    let new_owner = owner_of(&nodes[0], &fleet.mas_id);
    assert!(new_owner == "node-a" || new_owner == "node-b", "{new_owner}");
    assert_eq!(nodes[0].introspect(&subject)["active"], true);
    assert_eq!(nodes[0].introspect(&revoked)["active"], false);

    // C comes back under its name and rejoins.
    let dir = tmp.path().join("node-c");
    nodes[2] = Casa::start_in(&dir, node_options(&specs[2], &store, &certs));
    wait_converged(&nodes.iter().collect::<Vec<_>>(), 3, Duration::from_secs(20));
    assert_eq!(owner_of(&nodes[2], &fleet.mas_id), "node-c");
    assert_eq!(nodes[2].exchange(&fleet.agent, &subject, "fs:read").status, 200);
    assert_eq!(nodes[2].introspect(&revoked)["active"], false);
    // Three writers (C, its successor, C again) left an intact trace.
    for node in &mut nodes {
        assert_eq!(node.terminate().code(), Some(0));
    }
    assert_chain_intact(&store, &fleet.mas_id);
}

/// A network namespace joined to this one by a veth pair, and an address on
/// this side's loopback for the nodes that stay here (it does not go down
/// with the link). Removed on drop.
struct Netns {
    name: String,
    veth: String,
}

const NS_ADDR: &str = "10.77.0.2";
const HOST_ADDR: &str = "10.78.0.1";

fn ip(args: &str) {
    let status = Command::new("ip").args(args.split_whitespace()).status().unwrap();
    assert!(status.success(), "ip {args}");
}

impl Netns {
    fn create() -> Netns {
        let id = std::process::id() % 100_000;
        let ns = Netns { name: format!("casa-{id}"), veth: format!("cv{id}") };
        ip(&format!("netns add {}", ns.name));
        ip(&format!("netns exec {} ip link set lo up", ns.name));
        ip(&format!("link add {} type veth peer name {}p", ns.veth, ns.veth));
        ip(&format!("link set {}p netns {}", ns.veth, ns.name));
        ip(&format!("addr add 10.77.0.1/24 dev {}", ns.veth));
        ip(&format!("link set {} up", ns.veth));
        ip(&format!("netns exec {} ip addr add {NS_ADDR}/24 dev {}p", ns.name, ns.veth));
        ip(&format!("netns exec {} ip link set {}p up", ns.name, ns.veth));
        ip(&format!("netns exec {} ip route add 10.78.0.0/24 via 10.77.0.1", ns.name));
        ip(&format!("addr add {HOST_ADDR}/32 dev lo"));
        ns
    }

    fn link(&self, up: bool) {
        ip(&format!("link set {} {}", self.veth, if up { "up" } else { "down" }));
    }

    /// Runs `f` on a thread inside the namespace: sockets it opens (and
    /// threads it starts, like a reqwest client's) live there.
    fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::spawn(move || {
            enter(&path);
            f()
        })
        .join()
        .unwrap()
    }
}

fn enter(netns_path: &str) {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(netns_path).unwrap();
    // SAFETY: setns on a valid namespace fd affects only the calling thread.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

impl Drop for Netns {
    fn drop(&mut self) {
        for args in [
            format!("link del {}", self.veth),
            format!("addr del {HOST_ADDR}/32 dev lo"),
            format!("netns del {}", self.name),
        ] {
            let _ = Command::new("ip").args(args.split_whitespace()).status();
        }
    }
}

/// Inside the namespace, 127.0.0.1:9042 reaches this side's Cassandra: the
/// listener lives there, the upstream sockets here. The store stays reachable
/// through the partition, the harder case: the isolated node still has its
/// data, and must stop serving anyway.
fn cassandra_into(ns: &Netns) {
    let path = format!("/var/run/netns/{}", ns.name);
    let listener = std::thread::spawn(move || {
        enter(&path);
        TcpListener::bind("127.0.0.1:9042").unwrap()
    })
    .join()
    .unwrap();
    let upstream = cql_nodes();
    std::thread::spawn(move || {
        for inbound in listener.incoming().flatten() {
            let Ok(outbound) = TcpStream::connect(&upstream) else { continue };
            for (mut from, mut to) in
                [(inbound.try_clone().unwrap(), outbound.try_clone().unwrap()), (outbound, inbound)]
            {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
}

#[test]
fn a_partitioned_node_stops_serving_the_others_take_over_and_the_cluster_heals() {
    assert_eq!(unsafe { libc::geteuid() }, 0, "network namespaces need root");
    let tmp = tempfile::tempdir().unwrap();
    let ns = Netns::create();
    cassandra_into(&ns);
    let certs = certs(tmp.path(), &["node-a", "node-b", "node-c"]);
    let keyspace = Keyspace::new();
    let addr = |host: &str| format!("{host}:{}", free_port());
    let (a_addr, b_addr, c_addr) = (addr(HOST_ADDR), addr(HOST_ADDR), format!("{NS_ADDR}:7400"));
    let spec = |name, own: &str, seeds: [&str; 2]| NodeSpec {
        name,
        cluster_addr: own.to_string(),
        seeds: seeds.iter().map(|s| s.to_string()).collect(),
    };
    let host_store = keyspace.url();
    let start = |spec: &NodeSpec, store: &str, dir: &str| {
        let dir = tmp.path().join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        Casa::start_in(&dir, node_options(spec, store, &certs))
    };
    let a = start(&spec("node-a", &a_addr, [&b_addr, &c_addr]), &host_store, "a");
    let b = start(&spec("node-b", &b_addr, [&a_addr, &c_addr]), &host_store, "b");
    let c_spec = spec("node-c", &c_addr, [&a_addr, &b_addr]);
    let c_opts = Options {
        netns: Some(ns.name.clone()),
        ..node_options(&c_spec, &format!("scylla://127.0.0.1:9042/{}", keyspace.0), &certs)
    };
    let c_dir = tmp.path().join("c");
    std::fs::create_dir_all(&c_dir).unwrap();
    let c = ns.run(move || Casa::start_in(&c_dir, c_opts));
    wait_converged(&[&a, &b, &c], 3, Duration::from_secs(30));

    let fleet = fleet_owned_by(&a, "node-c");
    let subject = c.access_token(&fleet.client, "read my notes", Some("fs:read"));
    assert_eq!(a.exchange(&fleet.agent, &subject, "fs:read").status, 200);

    ns.link(false);
    let cut = Instant::now();
    // C stops serving what it owned...
    let deadline = cut + Duration::from_secs(5);
    loop {
        let r = c.exchange(&fleet.agent, &subject, "fs:read");
        if r.status == 503 {
            assert!(r.header("retry-after").is_some(), "{r:?}");
            eprintln!("node-c answered 503 {:?} after the cut (its hand-off budget included)", cut.elapsed());
            break;
        }
        assert_eq!(r.status, 200, "{r:?}");
        assert!(Instant::now() < deadline, "node-c kept serving after the partition");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(cluster_view(&c)["serving"], false);
    // ...and the majority takes it over.
    wait_converged(&[&a, &b], 2, Duration::from_secs(10));
    assert_eq!(a.exchange(&fleet.agent, &subject, "fs:read").status, 200);
    // A revocation while C is cut off.
    assert_eq!(b.form("/oauth/revoke", Some(&fleet.client), &[("token", &subject)]).status, 200);

    ns.link(true);
    wait_converged(&[&a, &b, &c], 3, Duration::from_secs(30));
    assert_eq!(owner_of(&c, &fleet.mas_id), "node-c");
    // C serves again, from the store: the revocation made without it holds.
    assert_eq!(c.introspect(&subject)["active"], false);
    assert_eq!(c.exchange(&fleet.agent, &subject, "fs:read").status, 400);
    for mut node in [a, b] {
        assert_eq!(node.terminate().code(), Some(0));
    }
    let mut c = c;
    assert_eq!(c.terminate().code(), Some(0));
    assert_chain_intact(&host_store, &fleet.mas_id);
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// The figures of `docs/benchmarks.md` (not a pass/fail test; run with
/// `cargo test --release --test cluster -- --ignored --nocapture cluster_figures`).
#[test]
#[ignore]
fn cluster_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut nodes, _, _, _, _keyspace) = start_three(tmp.path());
    let fleet = fleet_owned_by(&nodes[0], "node-a");
    let subject = nodes[0].access_token(&fleet.client, "read my notes", Some("fs:read"));
    for (label, node) in [("local owner (through node-a)", &nodes[0]), ("remote owner (through node-b)", &nodes[1])] {
        let mut times: Vec<Duration> = (0..2000)
            .map(|_| {
                let t = Instant::now();
                assert_eq!(node.exchange(&fleet.agent, &subject, "fs:read").status, 200);
                t.elapsed()
            })
            .collect();
        times.sort();
        eprintln!("exchange, {label}: p50 {:?} p99 {:?}", percentile(&times, 0.5), percentile(&times, 0.99));
    }

    // Revocation visibility: revoke through A, introspect through C at once.
    let mut delays = Vec::new();
    for _ in 0..200 {
        let token = nodes[1].access_token(&fleet.client, "read my notes", Some("fs:read"));
        assert_eq!(nodes[0].form("/oauth/revoke", Some(&fleet.client), &[("token", &token)]).status, 200);
        let t = Instant::now();
        assert_eq!(nodes[2].introspect(&token)["active"], false, "not visible at the first introspection");
        delays.push(t.elapsed());
    }
    delays.sort();
    eprintln!(
        "revocation through A, first introspection through C: inactive every time; its latency p50 {:?} p99 {:?}",
        percentile(&delays, 0.5),
        percentile(&delays, 0.99)
    );

    // Re-homing 10,000 MAS after node-c dies.
    let created = Instant::now();
    let ids: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let node = &nodes[w % 2];
                s.spawn(move || {
                    (0..1250)
                        .map(|i| {
                            node.create_mas(json!({"name": format!("m{w}-{i}")}))["id"].as_str().unwrap().to_string()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    eprintln!("created {} MAS in {:?}", ids.len(), created.elapsed());
    let on_c: Vec<String> = ids.iter().filter(|id| owner_of(&nodes[0], id) == "node-c").cloned().collect();
    // Start their actors on node-c, as a busy cluster would have them.
    for id in &on_c {
        assert_eq!(nodes[0].get(&format!("/realms/{id}/.well-known/jwks.json")).status, 200);
    }
    let killed = Instant::now();
    nodes[2].kill9();
    let (a, b) = (&nodes[0], &nodes[1]);
    std::thread::scope(|s| {
        for (w, chunk) in on_c.chunks(on_c.len().div_ceil(8)).enumerate() {
            let node = if w % 2 == 0 { a } else { b };
            s.spawn(move || {
                for id in chunk {
                    // A call cut by the kill answers 503 (it may have been handled): ask again.
                    loop {
                        let r = node.get(&format!("/realms/{id}/.well-known/jwks.json"));
                        if r.status == 200 {
                            break;
                        }
                        assert_eq!(r.status, 503, "{r:?}");
                    }
                }
            });
        }
    });
    eprintln!("{} MAS of the killed node served again by the others {:?} after the kill", on_c.len(), killed.elapsed());
}
