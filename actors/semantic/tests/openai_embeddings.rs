//! The OpenAI-compatible embedder against a local test server: answers in
//! any order, transient failures retried, a hung server times out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use casa_actors::intent::{AiError, Embedder};
use casa_semantic::openai::{Endpoint, OpenAiEmbedder};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Json};
use poem::{handler, EndpointExt, IntoResponse, Response, Route};
use serde_json::{json, Value};

/// Model `flaky` fails its first call; `hang` never answers in time; others
/// embed each input as [len, 1] and answer in reverse order.
#[handler]
async fn embeddings(Json(req): Json<Value>, calls: Data<&Arc<AtomicUsize>>) -> Response {
    let n = calls.fetch_add(1, Ordering::SeqCst);
    match req["model"].as_str().unwrap_or_default() {
        "flaky" if n == 0 => return poem::http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
        "hang" => tokio::time::sleep(Duration::from_secs(5)).await,
        _ => {}
    }
    let inputs = req["input"].as_array().cloned().unwrap_or_default();
    let mut data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"index": i, "embedding": [t.as_str().unwrap_or_default().len() as f32, 1.0]}))
        .collect();
    data.reverse();
    Json(json!({"data": data})).into_response()
}

async fn server(calls: Arc<AtomicUsize>) -> String {
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    let app = Route::new().at("/v1/embeddings", embeddings).data(calls);
    tokio::spawn(async move { poem::Server::new_with_acceptor(acceptor).run(app).await });
    format!("http://{addr}/v1")
}

fn embedder(base: &str, model: &str) -> OpenAiEmbedder {
    OpenAiEmbedder::new(Endpoint {
        base_url: base.into(),
        model: model.into(),
        api_key: None,
        timeout: Duration::from_millis(300),
    })
    .unwrap()
}

#[tokio::test]
async fn vectors_come_back_in_input_order_and_unit_length() {
    let base = server(Arc::default()).await;
    let v = embedder(&base, "plain").embed(vec!["abc".into(), "a".into()]).await.unwrap();
    let expect = |x: f32| [x / (x * x + 1.0).sqrt(), 1.0 / (x * x + 1.0).sqrt()];
    for (got, want) in v.iter().zip([expect(3.0), expect(1.0)]) {
        assert!((got[0] - want[0]).abs() < 1e-6 && (got[1] - want[1]).abs() < 1e-6, "{got:?} vs {want:?}");
    }
}

#[tokio::test]
async fn a_transient_failure_is_retried() {
    let calls = Arc::new(AtomicUsize::new(0));
    let base = server(calls.clone()).await;
    assert_eq!(embedder(&base, "flaky").embed(vec!["x".into()]).await.unwrap().len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_hung_server_times_out_after_the_retries() {
    let calls = Arc::new(AtomicUsize::new(0));
    let base = server(calls.clone()).await;
    assert_eq!(embedder(&base, "hang").embed(vec!["x".into()]).await, Err(AiError::Timeout));
    assert_eq!(calls.load(Ordering::SeqCst), 3, "one call and two retries");
}
