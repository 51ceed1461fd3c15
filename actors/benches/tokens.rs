//! Token service costs, in process: mint, verify, a full exchange decision,
//! introspection, and issuing a session token (which stores the user input);
//! the exchange decision with each check (deterministic; + semantic intent
//! match; + LLM judge answered from its verdict cache); introspection of a
//! token the realm has cached and of one it has never seen; and the raw
//! Ed25519 sign and verify of this machine (the crypto bound).
//!
//! `cargo bench -p casa-actors --bench tokens`; results in docs/benchmarks.md.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use casa_actors::intent::{AiError, Embedder, Judge, Judgement};
use casa_actors::model::*;
use casa_actors::node::{Ai, Node, NodeConfig};
use casa_actors::oauth::*;
use casa_actors::realm::{Keyring, RealmKey};
use casa_actors::store::EmbeddedStore;
use casa_actors::token::{self, Claims};
use casa_actors::trace::LogSink;
use casa_actors::trace_writer::{TraceWriter, WriterConfig};
use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signer, SigningKey};
use time::OffsetDateTime;

fn claims(now: i64) -> Claims {
    Claims {
        iss: "https://casa.example/realms/01a22222-0000-7000-8000-000000000000".into(),
        sub: "01a22222-0000-7000-8000-000000000001".into(),
        aud: "01a22222-0000-7000-8000-000000000002".into(),
        client_id: "01a22222-0000-7000-8000-000000000001".into(),
        iat: now,
        nbf: now,
        exp: now + 300,
        jti: token::new_jti(),
        scope: "call-tools".into(),
        uiid: "01a22222-0000-7000-8000-000000000003".into(),
        tools: vec!["filesystem:read".into(), "web:search".into()],
        act: None,
        parent: None,
        lineage: vec![],
    }
}

fn jws(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let ring = Keyring::new(vec![RealmKey::generate(OffsetDateTime::now_utc())]).unwrap();
    let claims = claims(now);
    c.bench_function("mint (sign a token)", |b| b.iter(|| token::sign(&claims, ring.active())));
    let signed = token::sign(&claims, ring.active());
    c.bench_function("verify (strict Ed25519 + claims)", |b| {
        b.iter(|| token::verify(&signed, &ring, &claims.iss, now).unwrap())
    });
}

struct Fleet {
    node: Node,
    client: ClientCredentials,
    agent: ClientCredentials,
    server: ClientCredentials,
    _dir: tempfile::TempDir,
}

/// `traced`: events go to the store through the TraceWriter (as in `casa serve`);
/// otherwise to the log sink, which only counts them.
async fn fleet(traced: bool) -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn casa_actors::store::Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let sink: Arc<dyn casa_actors::trace::TraceSink> =
        if traced { TraceWriter::start(store.clone(), WriterConfig::default()) } else { Arc::new(LogSink) };
    let node = Node::start(store, sink, NodeConfig::default()).await.unwrap();
    let mas = node.create_mas(NewMas { name: "bench".into(), ..Default::default() }).await.unwrap().mas.id;
    let app = |name: &str, app_type, allowed, tools| NewApp::new(mas, name, app_type, allowed, tools);
    let tools = ["filesystem:read", "web:search"].map(String::from).to_vec();
    let defs =
        tools.iter().map(|t| ToolDef { name: t.clone(), description: format!("The {t} tool"), ..Default::default() });
    let creds = |a: AppWithSecret| ClientCredentials { client_id: a.app.client_id, client_secret: a.client_secret };
    let server = creds(node.create_app(app("server", AppType::McpServer, vec![], defs.collect())).await.unwrap());
    let client = creds(node.create_app(app("client", AppType::Client, tools.clone(), vec![])).await.unwrap());
    let agent = creds(node.create_app(app("agent", AppType::Agent, tools, vec![])).await.unwrap());
    Fleet { node, client, agent, server, _dir: dir }
}

fn decisions(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let f = rt.block_on(fleet(false));
    let issue = || IssueRequest {
        client: f.client.clone(),
        user_input: Some("summarise the quarterly report".into()),
        user_input_id: None,
        tools: None,
        intent: None,
    };
    let subject = rt.block_on(f.node.issue_token(issue())).unwrap();
    let delegated = rt
        .block_on(f.node.exchange(
            f.agent.clone(),
            subject.access_token.clone(),
            None,
            vec!["filesystem:read".into()],
            None,
        ))
        .unwrap();

    c.bench_function("exchange decision (in process, via the MAS actor)", |b| {
        b.to_async(&rt).iter(|| async {
            f.node
                .exchange(f.agent.clone(), subject.access_token.clone(), None, vec!["filesystem:read".into()], None)
                .await
                .unwrap()
        })
    });
    c.bench_function("introspection by the tool server", |b| {
        b.to_async(&rt).iter(|| async {
            let i = f.node.introspect(Some(f.server.clone()), delegated.access_token.clone(), None).await.unwrap();
            assert!(i.active);
        })
    });
    let traced = rt.block_on(fleet(true));
    let traced_subject =
        rt.block_on(traced.node.issue_token(IssueRequest { client: traced.client.clone(), ..issue() })).unwrap();
    c.bench_function("exchange decision, traced to the store", |b| {
        b.to_async(&rt).iter(|| async {
            traced
                .node
                .exchange(
                    traced.agent.clone(),
                    traced_subject.access_token.clone(),
                    None,
                    vec!["filesystem:read".into()],
                    None,
                )
                .await
                .unwrap()
        })
    });
    let mut slow = c.benchmark_group("durable writes");
    slow.sample_size(20);
    slow.bench_function("issue session token (stores the user input, fsync)", |b| {
        b.to_async(&rt).iter(|| async { f.node.issue_token(issue()).await.unwrap() })
    });
    slow.finish();
    rt.block_on(f.node.shutdown());
}

/// The crypto bound: Ed25519 on this machine with the keys already expanded,
/// over a message the size of a casa token's signing input.
fn raw_ed25519(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let public = key.verifying_key();
    let message = vec![b'x'; 420];
    c.bench_function("raw Ed25519 sign (ed25519-dalek, expanded key)", |b| b.iter(|| key.sign(&message)));
    let sig = key.sign(&message);
    c.bench_function("raw Ed25519 verify_strict", |b| b.iter(|| public.verify_strict(&message, &sig).unwrap()));
    c.bench_function("raw Ed25519 sign + verify_strict", |b| {
        b.iter(|| {
            let sig = key.sign(&message);
            public.verify_strict(&message, &sig).unwrap()
        })
    });
}

/// An in-process embedder: hashed bag of words into 384 dimensions (the
/// shape of MiniLM's vectors), so the check does its real arithmetic.
struct HashEmbedder;

#[async_trait]
impl Embedder for HashEmbedder {
    fn model(&self) -> &str {
        "bench/hashed-words-384"
    }
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, AiError> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; 384];
                for w in t.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
                    let h = w
                        .to_lowercase()
                        .bytes()
                        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
                    v[(h % 384) as usize] += 1.0;
                    v[((h >> 20) % 384) as usize] -= 0.5;
                }
                v[0] += 1e-3;
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter().map(|x| x / n).collect()
            })
            .collect())
    }
}

/// A judge that approves every tool and counts how often it was asked.
#[derive(Default)]
struct CountingJudge(AtomicUsize);

#[async_trait]
impl Judge for CountingJudge {
    fn model(&self) -> &str {
        "bench/always-yes"
    }
    async fn judge(&self, _task: &str, _tool: &str, _description: &str) -> Result<Judgement, AiError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(Judgement { appropriate: true, reasoning: "the tool fits the task".into() })
    }
}

const PROMPT: &str = "Summarise the quarterly report in /shared/reports and search the web for analyst comments";

/// A node with the AI doubles, one MAS with `checks` and 50 tools, an agent
/// and a tool server; the session token of one prompt.
async fn checked_fleet(
    checks: Vec<CheckName>,
    judge: Arc<CountingJudge>,
    store: Option<Arc<dyn casa_actors::store::Store>>,
) -> (Fleet, String, Arc<dyn casa_actors::store::Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn casa_actors::store::Store> =
        store.unwrap_or_else(|| Arc::new(EmbeddedStore::open(dir.path()).unwrap()));
    let ai = Ai { embedder: Some(Arc::new(HashEmbedder)), judge: Some(judge), ..Ai::default() };
    let node = Node::start_with(store.clone(), Arc::new(LogSink), ai, NodeConfig::default()).await.unwrap();
    let mas = node
        .create_mas(NewMas {
            name: "bench".into(),
            enabled_checks: Some(checks),
            // Every tool passes: the cost is measured, not the model's judgement.
            semantic: Some(SemanticInput { threshold: Some(-1.0), top_k: None, min_probability: None }),
            ..Default::default()
        })
        .await
        .unwrap()
        .mas
        .id;
    let names: Vec<String> = (0..50).map(|i| format!("tool-{i}:run")).collect();
    let defs: Vec<ToolDef> = names
        .iter()
        .enumerate()
        .map(|(i, n)| ToolDef {
            name: n.clone(),
            description: format!("Performs operation number {i} on the quarterly business reports"),
            ..Default::default()
        })
        .collect();
    let app = |name: &str, app_type, allowed, tools| NewApp::new(mas, name, app_type, allowed, tools);
    let creds = |a: AppWithSecret| ClientCredentials { client_id: a.app.client_id, client_secret: a.client_secret };
    let server = creds(node.create_app(app("server", AppType::McpServer, vec![], defs)).await.unwrap());
    let client = creds(node.create_app(app("client", AppType::Client, names.clone(), vec![])).await.unwrap());
    let agent = creds(node.create_app(app("agent", AppType::Agent, names, vec![])).await.unwrap());
    let req = IssueRequest {
        client: client.clone(),
        user_input: Some(PROMPT.into()),
        user_input_id: None,
        tools: None,
        intent: None,
    };
    let subject = node.issue_token(req).await.unwrap().access_token;
    (Fleet { node, client, agent, server, _dir: dir }, subject, store)
}

fn decisions_by_check(c: &mut Criterion) {
    use CheckName::*;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut g = c.benchmark_group("exchange decision by checks (50 tools)");
    for (name, checks) in [
        ("deterministic", vec![DeterministicToolSelected]),
        ("deterministic + semantic intent", vec![DeterministicToolSelected, SemanticIntentMatch]),
        (
            "deterministic + semantic + LLM judge (verdict cached)",
            vec![DeterministicToolSelected, SemanticIntentMatch, AiPoweredToolMatch],
        ),
    ] {
        let judge = Arc::new(CountingJudge::default());
        let (f, subject, _) = rt.block_on(checked_fleet(checks.clone(), judge.clone(), None));
        let exchange = || f.node.exchange(f.agent.clone(), subject.clone(), None, vec!["tool-7:run".into()], None);
        rt.block_on(exchange()).unwrap(); // the judge's verdict is now cached
        g.bench_function(name, |b| b.to_async(&rt).iter(|| async { exchange().await.unwrap() }));
        let asked = judge.0.load(Ordering::Relaxed);
        let expected = usize::from(checks.contains(&AiPoweredToolMatch));
        assert_eq!(asked, expected, "{name}: the judge was asked {asked} times (the cache must answer)");
        rt.block_on(f.node.shutdown());
    }
    g.finish();
}

async fn introspect_active(node: &Node, server: ClientCredentials, token: String) {
    let i = node.introspect(Some(server), token, None).await.unwrap();
    assert!(i.active);
}

/// Introspection when the realm has the token's claims cached (it minted or
/// verified it before) and when it has never seen the token: minted by
/// another node on the same store, so this node verifies the signature.
fn introspection_cache(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let judge = Arc::new(CountingJudge::default());
    let (minter, subject, store) =
        rt.block_on(checked_fleet(vec![CheckName::DeterministicToolSelected], judge.clone(), None));
    // A second node on the same store: same realm, same apps, its own caches.
    let other: &'static Node = Box::leak(Box::new(rt.block_on(async {
        let ai = Ai { embedder: Some(Arc::new(HashEmbedder)), judge: Some(judge), ..Ai::default() };
        Node::start_with(store.clone(), Arc::new(LogSink), ai, NodeConfig::default()).await.unwrap()
    })));
    let mint = |n: usize| {
        rt.block_on(async {
            let all = (0..n).map(|_| {
                minter.node.exchange(minter.agent.clone(), subject.clone(), None, vec!["tool-3:run".into()], None)
            });
            futures::future::join_all(all).await.into_iter().map(|r| r.unwrap().access_token).collect::<Vec<_>>()
        })
    };
    let seen = mint(1).remove(0);
    let introspect = |node: &'static Node, token: String| introspect_active(node, minter.server.clone(), token);
    rt.block_on(introspect(other, seen.clone())); // now cached on `other`
    let mut g = c.benchmark_group("introspection cache");
    g.bench_function("cache hit (claims cached by the realm)", |b| {
        b.to_async(&rt).iter(|| introspect(other, seen.clone()))
    });
    // Each iteration needs a token `other` has never seen: minted beforehand, outside the timing.
    g.bench_function("cache miss (token minted by another node: full verification)", |b| {
        b.iter_custom(|iters| {
            let tokens = mint(iters as usize);
            let start = Instant::now();
            rt.block_on(async {
                for t in tokens {
                    introspect(other, t).await;
                }
            });
            start.elapsed()
        })
    });
    g.finish();
    rt.block_on(other.shutdown());
    rt.block_on(minter.node.shutdown());
}

criterion_group!(benches, jws, raw_ed25519, decisions, decisions_by_check, introspection_cache);
criterion_main!(benches);
