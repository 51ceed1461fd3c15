//! AI_POWERED_TOOL_MATCH inside real exchanges: the node asks an
//! OpenAI-compatible judge (a local test server) outside the MAS actor,
//! caches its verdicts, and denies on rejection, error or timeout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use casa_actors::intent::Judge;
use casa_actors::model::*;
use casa_actors::node::{Ai, Node, NodeConfig};
use casa_actors::oauth::*;
use casa_actors::store::EmbeddedStore;
use casa_actors::trace::{EventKind, MemorySink};
use casa_actors::CoreError;
use casa_semantic::openai::{Endpoint, OpenAiChat};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Json};
use poem::{handler, EndpointExt, IntoResponse, Response, Route};
use serde_json::{json, Value};

/// Judges by the tool name in the prompt: `ok:*` approved, `no:*` rejected,
/// `slow:*` too late, anything else a 500.
#[handler]
async fn completions(Json(req): Json<Value>, calls: Data<&Arc<AtomicUsize>>) -> Response {
    calls.fetch_add(1, Ordering::SeqCst);
    let prompt = req["messages"][1]["content"].as_str().unwrap_or_default().to_string();
    let answer = |appropriate: bool| {
        let content = json!({"appropriate": appropriate, "reasoning": format!("judged {}", prompt.len())}).to_string();
        Json(json!({"choices": [{"message": {"content": content}}]})).into_response()
    };
    if prompt.contains("Tool: ok:") {
        answer(true)
    } else if prompt.contains("Tool: no:") {
        answer(false)
    } else if prompt.contains("Tool: slow:") {
        tokio::time::sleep(Duration::from_secs(3)).await;
        answer(true)
    } else {
        poem::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

fn creds(a: &AppWithSecret) -> ClientCredentials {
    ClientCredentials { client_id: a.app.client_id.clone(), client_secret: a.client_secret.clone() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_judge_decides_outside_the_actor_and_its_verdicts_are_cached() {
    let calls = Arc::new(AtomicUsize::new(0));
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    let app = Route::new().at("/v1/chat/completions", completions).data(calls.clone());
    tokio::spawn(async move { poem::Server::new_with_acceptor(acceptor).run(app).await });
    let judge: Arc<dyn Judge> = Arc::new(
        OpenAiChat::new(Endpoint {
            base_url: format!("http://{addr}/v1"),
            model: "judge".into(),
            api_key: None,
            timeout: Duration::from_millis(500),
        })
        .unwrap(),
    );

    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(MemorySink::default());
    let ai = Ai { judge: Some(judge), ..Ai::default() };
    let node =
        Node::start_with(Arc::new(EmbeddedStore::open(dir.path()).unwrap()), sink.clone(), ai, NodeConfig::default())
            .await
            .unwrap();
    let mas = node
        .create_mas(NewMas {
            name: "judged".into(),
            enabled_checks: Some(vec![CheckName::DeterministicToolSelected, CheckName::AiPoweredToolMatch]),
            ..Default::default()
        })
        .await
        .unwrap()
        .mas
        .id;
    let names = ["ok:read", "no:send", "slow:search", "err:thing"].map(String::from).to_vec();
    let tools = names
        .iter()
        .map(|n| ToolDef { name: n.clone(), description: format!("The {n} tool"), ..Default::default() })
        .collect();
    let app = |name: &str, app_type, allowed, tools| NewApp::new(mas, name, app_type, allowed, tools);
    node.create_app(app("server", AppType::McpServer, vec![], tools)).await.unwrap();
    let agent = node.create_app(app("agent", AppType::Agent, names.clone(), vec![])).await.unwrap();
    let subject = node
        .issue_token(IssueRequest {
            client: creds(&agent),
            user_input: Some("read my notes".into()),
            user_input_id: None,
            tools: None,
            intent: None,
        })
        .await
        .unwrap()
        .access_token;
    let exchange = |tool: &str| node.exchange(creds(&agent), subject.clone(), None, vec![tool.to_string()], None);
    let reason = |r: Result<IssuedToken, CoreError>| match r {
        Err(CoreError::OAuth(OAuthError::AccessDenied { denials, .. })) => denials[0].reason.clone(),
        other => panic!("expected a denial, got {other:?}"),
    };

    assert!(exchange("ok:read").await.is_ok());
    assert_eq!(reason(exchange("no:send").await), "llm_judged_inappropriate");
    assert_eq!(reason(exchange("slow:search").await), "llm_verifier_unavailable");
    assert_eq!(reason(exchange("err:thing").await), "llm_verifier_unavailable");
    let asked = calls.load(Ordering::SeqCst);
    assert_eq!(asked, 4);

    // Verdicts are cached per (intent, tool); failures are not.
    assert!(exchange("ok:read").await.is_ok());
    assert_eq!(reason(exchange("no:send").await), "llm_judged_inappropriate");
    assert_eq!(calls.load(Ordering::SeqCst), asked);
    assert_eq!(reason(exchange("err:thing").await), "llm_verifier_unavailable");
    assert_eq!(calls.load(Ordering::SeqCst), asked + 1);

    // A tool the deterministic checks refuse never reaches the judge.
    let narrow = node
        .issue_token(IssueRequest {
            client: creds(&agent),
            user_input: Some("x".into()),
            user_input_id: None,
            tools: Some(vec!["ok:read".into()]),
            intent: None,
        })
        .await
        .unwrap()
        .access_token;
    let before = calls.load(Ordering::SeqCst);
    let r = node.exchange(creds(&agent), narrow, None, vec!["no:send".into()], None).await;
    assert_eq!(reason(r), "tool_not_in_token");
    assert_eq!(calls.load(Ordering::SeqCst), before);

    // The judge's reasoning is kept in the trace.
    let judged = sink
        .events()
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::ExchangeDenied { checks, .. } => checks.into_iter().find(|c| {
                c.check == "AI_POWERED_TOOL_MATCH" && c.reason.as_deref() == Some("llm_judged_inappropriate")
            }),
            _ => None,
        })
        .expect("a judged denial in the trace");
    assert!(judged.detail.unwrap().starts_with("judged "));
    node.shutdown().await;
}
