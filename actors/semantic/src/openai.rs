//! Clients of OpenAI-compatible HTTP APIs (OpenAI, Ollama, vLLM, TEI, ...):
//! `/embeddings` for the embedder, `/chat/completions` for the LLM judge and
//! the task extractor. Every call has a timeout; embeddings retry transient
//! failures, the judge does not (a late verdict is a denial).

use std::time::Duration;

use async_trait::async_trait;
use casa_core::intent::{normalize, AiError, Embedder, Judge, Judgement, TaskExtractor};
use casa_core::session::UserInputContent;
use serde::Deserialize;
use serde_json::json;

/// Where an OpenAI-compatible API lives.
#[derive(Clone)]
pub struct Endpoint {
    /// Up to and including the version, e.g. `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("base_url", &self.base_url).field("model", &self.model).finish_non_exhaustive()
    }
}

struct Client {
    http: reqwest::Client,
    endpoint: Endpoint,
}

impl Client {
    fn new(endpoint: Endpoint) -> Result<Self, AiError> {
        // TLS through rustls with aws-lc-rs (already in the tree for the cluster);
        // installing it twice is harmless.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(endpoint.timeout)
            .build()
            .map_err(|e| AiError::Unavailable(format!("HTTP client: {e}")))?;
        Ok(Self { http, endpoint })
    }

    async fn post(&self, path: &str, body: serde_json::Value) -> Result<serde_json::Value, AiError> {
        let url = format!("{}/{path}", self.endpoint.base_url.trim_end_matches('/'));
        let mut req = self.http.post(&url).json(&body);
        if let Some(key) = &self.endpoint.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                AiError::Timeout
            } else {
                AiError::Unavailable(e.to_string())
            }
        })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(AiError::Unavailable(format!("{url} answered {status}")));
        }
        resp.json().await.map_err(|e| if e.is_timeout() { AiError::Timeout } else { AiError::BadAnswer(e.to_string()) })
    }
}

/// `POST {base}/embeddings`.
pub struct OpenAiEmbedder {
    client: Client,
    id: String,
    retries: u32,
}

impl OpenAiEmbedder {
    pub fn new(endpoint: Endpoint) -> Result<Self, AiError> {
        let id = format!("openai/{}@{}", endpoint.model, endpoint.base_url);
        Ok(Self { client: Client::new(endpoint)?, id, retries: 2 })
    }

    async fn once(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, AiError> {
        #[derive(Deserialize)]
        struct Item {
            index: usize,
            embedding: Vec<f32>,
        }
        #[derive(Deserialize)]
        struct Answer {
            data: Vec<Item>,
        }
        let body = json!({"model": self.client.endpoint.model, "input": texts});
        let answer: Answer = serde_json::from_value(self.client.post("embeddings", body).await?)
            .map_err(|e| AiError::BadAnswer(format!("embeddings: {e}")))?;
        let mut out = vec![Vec::new(); texts.len()];
        for item in answer.data {
            let slot =
                out.get_mut(item.index).ok_or_else(|| AiError::BadAnswer("embedding index out of range".into()))?;
            *slot = normalize(item.embedding);
        }
        if out.iter().any(Vec::is_empty) {
            return Err(AiError::BadAnswer("an input got no embedding".into()));
        }
        Ok(out)
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model(&self) -> &str {
        &self.id
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, AiError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut attempt = 0;
        loop {
            match self.once(&texts).await {
                Err(e @ (AiError::Unavailable(_) | AiError::Timeout)) if attempt < self.retries => {
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, "embeddings request failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * 4u64.pow(attempt - 1))).await;
                }
                other => return other,
            }
        }
    }
}

/// `POST {base}/chat/completions`, asking for a JSON answer.
pub struct OpenAiChat {
    client: Client,
    id: String,
}

const JUDGE_PROMPT: &str = "You authorize tool use for AI agents. Given the user's task and one tool, \
decide whether the tool is appropriate for accomplishing that task. Answer with a JSON object \
{\"appropriate\": true|false, \"reasoning\": \"one or two sentences\"} and nothing else.";

const EXTRACT_PROMPT: &str = "Read the conversation and state, in one sentence in the user's words, the task \
the user wants done now. Answer with a JSON object {\"task\": \"...\"} and nothing else.";

impl OpenAiChat {
    pub fn new(endpoint: Endpoint) -> Result<Self, AiError> {
        let id = format!("openai/{}@{}", endpoint.model, endpoint.base_url);
        Ok(Self { client: Client::new(endpoint)?, id })
    }

    /// The JSON object in the first choice's message.
    async fn ask(&self, system: &str, user: String) -> Result<serde_json::Value, AiError> {
        let body = json!({
            "model": self.client.endpoint.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        });
        let answer = self.client.post("chat/completions", body).await?;
        let content = answer["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| AiError::BadAnswer("no message content".into()))?;
        // Some models wrap JSON in a code fence.
        let trimmed =
            content.trim().trim_start_matches("```json").trim_start_matches("```").trim_end_matches("```").trim();
        serde_json::from_str(trimmed).map_err(|e| AiError::BadAnswer(format!("not JSON: {e}")))
    }
}

#[async_trait]
impl Judge for OpenAiChat {
    fn model(&self) -> &str {
        &self.id
    }

    async fn judge(&self, task: &str, tool_name: &str, tool_description: &str) -> Result<Judgement, AiError> {
        let user = format!("Task: {task}\n\nTool: {tool_name}\nTool description: {tool_description}");
        let value = self.ask(JUDGE_PROMPT, user).await?;
        let appropriate = value["appropriate"]
            .as_bool()
            .ok_or_else(|| AiError::BadAnswer("`appropriate` is not a boolean".into()))?;
        let reasoning = value["reasoning"].as_str().unwrap_or_default().chars().take(2000).collect();
        Ok(Judgement { appropriate, reasoning })
    }
}

#[async_trait]
impl TaskExtractor for OpenAiChat {
    async fn extract(&self, conversation: &UserInputContent) -> Result<String, AiError> {
        let user = serde_json::to_string(conversation).unwrap_or_default();
        let value = self.ask(EXTRACT_PROMPT, user).await?;
        match value["task"].as_str().map(str::trim) {
            Some(task) if !task.is_empty() => Ok(task.chars().take(4000).collect()),
            _ => Err(AiError::BadAnswer("no `task` in the answer".into())),
        }
    }
}
