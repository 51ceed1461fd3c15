//! The LLM judge's client against a local OpenAI-compatible server that
//! answers per scenario: approve, reject, slow, malformed JSON, HTTP 500.

use std::time::Duration;

use casa_actors::intent::{AiError, Judge};
use casa_semantic::openai::{Endpoint, OpenAiChat};
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Json;
use poem::{handler, IntoResponse, Response, Route};
use serde_json::{json, Value};

fn chat_answer(content: &str) -> Response {
    Json(json!({"choices": [{"message": {"role": "assistant", "content": content}}]})).into_response()
}

/// The scenario is the model name, so one server serves them all.
#[handler]
async fn completions(Json(req): Json<Value>) -> Response {
    assert_eq!(req["response_format"]["type"], "json_object");
    let task = req["messages"][1]["content"].as_str().unwrap_or_default();
    match req["model"].as_str().unwrap_or_default() {
        "approve" => {
            chat_answer(&json!({"appropriate": true, "reasoning": format!("fits: {}", task.len())}).to_string())
        }
        "reject" => chat_answer(r#"{"appropriate": false, "reasoning": "sending email is not reading a file"}"#),
        "fenced" => chat_answer("```json\n{\"appropriate\": true, \"reasoning\": \"ok\"}\n```"),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            chat_answer(r#"{"appropriate": true, "reasoning": "too late"}"#)
        }
        "malformed" => chat_answer("I think it is probably fine {appropriate: yes"),
        "wrong-type" => chat_answer(r#"{"appropriate": "yes", "reasoning": "x"}"#),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn server() -> String {
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    tokio::spawn(async move {
        poem::Server::new_with_acceptor(acceptor).run(Route::new().at("/v1/chat/completions", completions)).await
    });
    format!("http://{addr}/v1")
}

fn judge(base: &str, scenario: &str) -> OpenAiChat {
    OpenAiChat::new(Endpoint {
        base_url: base.into(),
        model: scenario.into(),
        api_key: Some("k".into()),
        timeout: Duration::from_millis(500),
    })
    .unwrap()
}

#[tokio::test]
async fn each_scenario_ends_as_documented() {
    let base = server().await;
    let ask = |s: &'static str| {
        let j = judge(&base, s);
        async move { j.judge("read notes.txt", "fs:read", "Read a file").await }
    };
    let approved = ask("approve").await.unwrap();
    assert!(approved.appropriate && approved.reasoning.starts_with("fits"));
    let rejected = ask("reject").await.unwrap();
    assert!(!rejected.appropriate && rejected.reasoning.contains("email"));
    assert!(ask("fenced").await.unwrap().appropriate);
    assert_eq!(ask("slow").await, Err(AiError::Timeout));
    assert!(matches!(ask("malformed").await, Err(AiError::BadAnswer(_))));
    assert!(matches!(ask("wrong-type").await, Err(AiError::BadAnswer(_))));
    assert!(matches!(ask("http-500").await, Err(AiError::Unavailable(_))));
    let nobody = judge("http://127.0.0.1:9/v1", "approve");
    assert!(matches!(nobody.judge("t", "n", "d").await, Err(AiError::Unavailable(_))));
}
