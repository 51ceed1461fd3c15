//! The model works only for a MAS that asked for it: a MAS that neither
//! enforces nor shadows SEMANTIC_INTENT_MATCH costs no embedding at issuance
//! or registration; one that turns the check on later gets the missing
//! embeddings on first need (never a silent allow); and a tool offered by
//! many MAS is embedded once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use casa_actors::intent::{AiError, Embedder};
use casa_actors::model::*;
use casa_actors::node::{Ai, Node, NodeConfig};
use casa_actors::oauth::*;
use casa_actors::store::{EmbeddedStore, Store};
use casa_actors::trace::MemorySink;
use casa_actors::CoreError;
use uuid::Uuid;

/// Hashed bag of words, counting every text it embeds; it can be made to fail.
#[derive(Default)]
struct CountingEmbedder {
    texts: AtomicUsize,
    failing: AtomicBool,
}

#[async_trait]
impl Embedder for CountingEmbedder {
    fn model(&self) -> &str {
        "test/hashed-words-384"
    }
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, AiError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(AiError::Unavailable("the model is down".into()));
        }
        self.texts.fetch_add(texts.len(), Ordering::SeqCst);
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; 384];
                for w in t.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 3) {
                    let h = w
                        .to_lowercase()
                        .bytes()
                        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
                    v[(h % 384) as usize] += 1.0;
                }
                v[0] += 1e-3;
                casa_actors::intent::normalize(v)
            })
            .collect())
    }
}

impl CountingEmbedder {
    fn count(&self) -> usize {
        self.texts.load(Ordering::SeqCst)
    }
}

fn creds(a: &AppWithSecret) -> ClientCredentials {
    ClientCredentials { client_id: a.app.client_id.clone(), client_secret: a.client_secret.clone() }
}

const TOOLS: [(&str, &str); 3] = [
    ("files:read", "Read the contents of a file from the local disk"),
    ("email:send", "Send an email message to a recipient"),
    ("weather:now", "Current weather conditions for a city"),
];

struct World {
    node: Node,
    store: Arc<EmbeddedStore>,
    embedder: Arc<CountingEmbedder>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let embedder = Arc::new(CountingEmbedder::default());
    let ai = Ai { embedder: Some(embedder.clone()), ..Ai::default() };
    let node =
        Node::start_with(store.clone(), Arc::new(MemorySink::default()), ai, NodeConfig::default()).await.unwrap();
    World { node, store, embedder, _dir: dir }
}

/// A MAS with `checks`, a tool server offering TOOLS and an agent allowed all of them.
async fn fleet(node: &Node, name: &str, checks: Vec<CheckName>, shadow: Vec<CheckName>) -> (Uuid, AppWithSecret) {
    let semantic = Some(SemanticInput { threshold: Some(0.2), ..Default::default() });
    let new = NewMas {
        name: name.into(),
        enabled_checks: Some(checks),
        shadow_checks: Some(shadow),
        semantic,
        ..Default::default()
    };
    let mas = node.create_mas(new).await.unwrap().mas.id;
    let tools =
        TOOLS.iter().map(|(n, d)| ToolDef { name: n.to_string(), description: d.to_string(), ..Default::default() });
    node.create_app(NewApp::new(mas, "server", AppType::McpServer, vec![], tools.collect())).await.unwrap();
    let names = TOOLS.iter().map(|(n, _)| n.to_string()).collect();
    let agent = node.create_app(NewApp::new(mas, "agent", AppType::Agent, names, vec![])).await.unwrap();
    (mas, agent)
}

async fn issue(node: &Node, agent: &AppWithSecret, prompt: &str) -> IssuedToken {
    let req = IssueRequest {
        client: creds(agent),
        user_input: Some(prompt.into()),
        user_input_id: None,
        tools: None,
        intent: None,
    };
    node.issue_token(req).await.unwrap()
}

async fn exchange(node: &Node, agent: &AppWithSecret, subject: &str, tool: &str) -> Result<IssuedToken, CoreError> {
    node.exchange(creds(agent), subject.to_string(), None, vec![tool.to_string()], None).await
}

fn denial(r: Result<IssuedToken, CoreError>) -> String {
    match r {
        Err(CoreError::OAuth(OAuthError::AccessDenied { denials, .. })) => denials[0].reason.clone(),
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mas_without_the_semantic_check_costs_no_model_time_until_it_turns_it_on() {
    let w = world().await;
    let (mas, agent) = fleet(&w.node, "plain", vec![CheckName::DeterministicToolSelected], vec![]).await;
    let session = issue(&w.node, &agent, "Please read the file notes.txt from the disk").await;
    exchange(&w.node, &agent, &session.access_token, "files:read").await.unwrap();
    assert_eq!(w.embedder.count(), 0, "no tool and no intent embedded for a MAS that does not ask");
    let uiid = Uuid::parse_str(&session.user_input_id).unwrap();
    assert!(w.store.get_user_input(mas, uiid).await.unwrap().unwrap().intent.is_none());

    // The MAS turns the check on: the old session's intent and the tools are embedded on first need.
    let checks = vec![CheckName::DeterministicToolSelected, CheckName::SemanticIntentMatch];
    let patch = MasPatch { enabled_checks: Some(checks), ..Default::default() };
    w.node.update_mas(mas, patch).await.unwrap();
    exchange(&w.node, &agent, &session.access_token, "files:read").await.unwrap();
    assert_eq!(w.embedder.count(), TOOLS.len() + 1, "three tools and one intent");
    let stored = w.store.get_user_input(mas, uiid).await.unwrap().unwrap();
    assert_eq!(stored.intent.unwrap().model, "test/hashed-words-384", "the intent is kept with the session");
    // It ranks for real: an unrelated tool is denied, and nothing is embedded twice.
    assert_eq!(denial(exchange(&w.node, &agent, &session.access_token, "email:send").await), "tool_intent_mismatch");
    assert_eq!(w.embedder.count(), TOOLS.len() + 1);

    // A session issued now is embedded at issuance.
    issue(&w.node, &agent, "What is the weather in Paris").await;
    assert_eq!(w.embedder.count(), TOOLS.len() + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_embedding_the_model_cannot_give_is_never_a_silent_allow() {
    let w = world().await;
    let (mas, agent) = fleet(&w.node, "later", vec![CheckName::DeterministicToolSelected], vec![]).await;
    let session = issue(&w.node, &agent, "Please read the file notes.txt from the disk").await;
    let checks = vec![CheckName::SemanticIntentMatch];
    w.node.update_mas(mas, MasPatch { enabled_checks: Some(checks), ..Default::default() }).await.unwrap();
    w.embedder.failing.store(true, Ordering::SeqCst);
    let r = exchange(&w.node, &agent, &session.access_token, "files:read").await;
    assert!(matches!(r, Err(CoreError::Unavailable(_))), "{r:?}");
    // Once the model answers again, the same exchange is decided.
    w.embedder.failing.store(false, Ordering::SeqCst);
    exchange(&w.node, &agent, &session.access_token, "files:read").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadowing_the_check_embeds_and_identical_tools_are_embedded_once_across_mas() {
    let w = world().await;
    let shadow = vec![CheckName::SemanticIntentMatch];
    let (_, agent) = fleet(&w.node, "shadow-1", vec![CheckName::DeterministicToolSelected], shadow.clone()).await;
    assert_eq!(w.embedder.count(), TOOLS.len(), "a shadowing MAS's tools are embedded at registration");
    for i in 2..=5 {
        fleet(&w.node, &format!("shadow-{i}"), vec![], shadow.clone()).await;
    }
    assert_eq!(w.embedder.count(), TOOLS.len(), "the same definitions in other MAS reuse the embeddings");
    let session = issue(&w.node, &agent, "Please send an email to Bob").await;
    assert_eq!(w.embedder.count(), TOOLS.len() + 1, "a shadowing MAS's session is embedded at issuance");
    // Shadowed: recorded, never denied.
    exchange(&w.node, &agent, &session.access_token, "weather:now").await.unwrap();
    assert_eq!(w.embedder.count(), TOOLS.len() + 1);
}
