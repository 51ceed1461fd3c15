//! Token service costs, in process: mint, verify, a full exchange decision,
//! introspection, and issuing a session token (which stores the user input).
//!
//! `cargo bench -p casa-actors --bench tokens`; results in docs/benchmarks.md.

use std::sync::Arc;

use casa_actors::model::*;
use casa_actors::node::{Node, NodeConfig};
use casa_actors::oauth::*;
use casa_actors::realm::{Keyring, RealmKey};
use casa_actors::store::EmbeddedStore;
use casa_actors::token::{self, Claims};
use casa_actors::trace::LogSink;
use casa_actors::trace_writer::{TraceWriter, WriterConfig};
use criterion::{criterion_group, criterion_main, Criterion};
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

criterion_group!(benches, jws, decisions);
criterion_main!(benches);
