//! The local model: intent embedding of one prompt and of a batch of 32,
//! registering an app of 1,000 tools in a MAS that runs the semantic check, and
//! in-process exchange throughput with the semantic check on and off
//! (MAS of 50 tools, 32 exchanges in flight).
//!
//! `cargo bench -p casa-semantic --bench embed` (needs scripts/fetch-model)

use std::path::PathBuf;
use std::sync::Arc;

use casa_actors::intent::{Embedder, Judge};
use casa_actors::model::*;
use casa_actors::node::{Ai, Node, NodeConfig};
use casa_actors::oauth::*;
use casa_actors::store::EmbeddedStore;
use casa_actors::trace::LogSink;
use casa_semantic::batch::{Batching, BlockingEmbedder};
use casa_semantic::local::{LocalModel, Precision};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn model_dir() -> PathBuf {
    std::env::var("CASA_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/all-MiniLM-L6-v2"))
}

const PROMPT: &str = "Summarise the quarterly sales report in /shared/reports and email it to the finance team";

fn embedding(c: &mut Criterion) {
    for (precision, label) in [(Precision::F32, "f32"), (Precision::Int8, "int8")] {
        let model = LocalModel::load_as(&model_dir(), precision).expect("run scripts/fetch-model");
        let mut g = c.benchmark_group(format!("local MiniLM embedding, {label}"));
        g.sample_size(20);
        g.bench_function("one prompt", |b| b.iter(|| model.embed_blocking(&[PROMPT.to_string()]).unwrap()));
        let batch: Vec<String> = (0..32).map(|i| format!("{PROMPT} (variant {i})")).collect();
        g.throughput(Throughput::Elements(32));
        g.bench_function("batch of 32 prompts", |b| b.iter(|| model.embed_blocking(&batch).unwrap()));
        g.finish();
    }
}

struct Fleet {
    node: Node,
    mas: uuid::Uuid,
    agent: ClientCredentials,
    subjects: Vec<String>,
    _dir: tempfile::TempDir,
}

async fn fleet(embedder: Arc<dyn Embedder>, checks: Vec<CheckName>) -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let ai = Ai { embedder: Some(embedder), judge: None::<Arc<dyn Judge>>, ..Ai::default() };
    let node = Node::start_with(
        Arc::new(EmbeddedStore::open(dir.path()).unwrap()),
        Arc::new(LogSink),
        ai,
        NodeConfig::default(),
    )
    .await
    .unwrap();
    let mas = node
        .create_mas(NewMas {
            name: "bench".into(),
            enabled_checks: Some(checks),
            semantic: Some(SemanticInput { threshold: Some(-1.0), top_k: None, min_probability: None }),
            ..Default::default()
        })
        .await
        .unwrap()
        .mas
        .id;
    let names: Vec<String> = (0..50).map(|i| format!("tool-{i}:run")).collect();
    let tools = names
        .iter()
        .enumerate()
        .map(|(i, n)| ToolDef {
            name: n.clone(),
            description: format!("Performs operation number {i} on business data"),
            ..Default::default()
        })
        .collect();
    let app = |name: &str, app_type, allowed, tools| NewApp::new(mas, name, app_type, allowed, tools);
    node.create_app(app("server", AppType::McpServer, vec![], tools)).await.unwrap();
    let a = node.create_app(app("agent", AppType::Agent, names.clone(), vec![])).await.unwrap();
    let agent = ClientCredentials { client_id: a.app.client_id, client_secret: a.client_secret };
    let mut subjects = Vec::new();
    for i in 0..32 {
        let req = IssueRequest {
            client: agent.clone(),
            user_input: Some(format!("{PROMPT} #{i}")),
            user_input_id: None,
            tools: None,
            intent: None,
        };
        subjects.push(node.issue_token(req).await.unwrap().access_token);
    }
    Fleet { node, mas, agent, subjects, _dir: dir }
}

fn exchange_throughput(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let embedder: Arc<dyn Embedder> =
        rt.block_on(async { Arc::new(Batching::start(Arc::new(LocalModel::load(&model_dir()).unwrap()))) });
    let mut g = c.benchmark_group("exchange throughput, 32 in flight, 50 tools");
    g.throughput(Throughput::Elements(32));
    for (name, checks) in [
        ("semantic check off", vec![CheckName::DeterministicToolSelected]),
        ("semantic check on", vec![CheckName::DeterministicToolSelected, CheckName::SemanticIntentMatch]),
    ] {
        let f = rt.block_on(fleet(embedder.clone(), checks));
        g.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let all = f
                    .subjects
                    .iter()
                    .map(|s| f.node.exchange(f.agent.clone(), s.clone(), None, vec!["tool-7:run".into()], None));
                for r in futures::future::join_all(all).await {
                    r.unwrap();
                }
            })
        });
        rt.block_on(f.node.shutdown());
    }
    g.finish();
}

/// Words for tool descriptions of the dev set's lengths (median 17 words).
const WORDS: &str = "returns the current weather forecast for a given city lists files in directory sends an email to \
    recipient with subject and body creates calendar event at time retrieves stock price of company by \
    ticker symbol books flight between two airports on date translates text into language searches web \
    query results computes route distance updates order customer request deletes record database table \
    reads sensor values device";

/// `n` distinct tools; `round` makes every round's texts new to the node's cache.
fn tool_defs(round: u64, n: usize) -> Vec<ToolDef> {
    let vocabulary: Vec<&str> = WORDS.split_whitespace().collect();
    let mut state = round.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|i| {
            let len = 8 + (next() % 12 + next() % 12 + next() % 10) as usize;
            let words: Vec<&str> = (0..len).map(|_| vocabulary[next() as usize % vocabulary.len()]).collect();
            ToolDef { name: format!("r{round}_tool_{i}"), description: words.join(" "), ..Default::default() }
        })
        .collect()
}

fn registration(c: &mut Criterion) {
    for (precision, label) in [(Precision::Int8, "int8"), (Precision::F32, "f32")] {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let model = LocalModel::load_as(&model_dir(), precision).unwrap();
        let embedder: Arc<dyn Embedder> = rt.block_on(async { Arc::new(Batching::start(Arc::new(model))) });
        let checks = vec![CheckName::DeterministicToolSelected, CheckName::SemanticIntentMatch];
        let f = rt.block_on(fleet(embedder, checks));
        let mut g = c.benchmark_group(format!("registration, {label}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(1000));
        let mut round = 0;
        g.bench_function("an app of 1,000 tools, semantic check on", |b| {
            b.to_async(&rt).iter(|| {
                round += 1;
                let tools = tool_defs(round, 1000);
                let node = &f.node;
                async move {
                    let app = NewApp::new(f.mas, &format!("server {round}"), AppType::McpServer, vec![], tools);
                    node.create_app(app).await.unwrap()
                }
            })
        });
        g.finish();
        rt.block_on(f.node.shutdown());
    }
}

criterion_group!(benches, embedding, registration, exchange_throughput);
criterion_main!(benches);
