//! Intent: what the user asked for, as a task text and an embedding, and the
//! embedders and LLM judge that the semantic checks use. Implementations
//! live in `casa-semantic`; this module only defines what they provide.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use crate::embedding::{normalize, Embedding};
use crate::model::ToolDef;
// A tool's digest is part of its record (history and drift compare it).
pub use crate::model::tool_digest;
use crate::session::UserInputContent;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AiError {
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("timed out")]
    Timeout,
    #[error("unusable answer: {0}")]
    BadAnswer(String),
}

/// Turns texts into unit-length embeddings.
#[async_trait]
pub trait Embedder: Send + Sync + 'static {
    /// The model's identity, e.g. `local/all-MiniLM-L6-v2`.
    fn model(&self) -> &str;
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, AiError>;
    /// The calibrated model fitted on this embedder's cosines, if there is one.
    fn calibration(&self) -> Option<std::sync::Arc<crate::relevance::Calibration>> {
        None
    }
}

/// An LLM judge's verdict on one tool for one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgement {
    pub appropriate: bool,
    pub reasoning: String,
}

/// The `AI_POWERED_TOOL_MATCH` verifier.
#[async_trait]
pub trait Judge: Send + Sync + 'static {
    fn model(&self) -> &str;
    async fn judge(&self, task: &str, tool_name: &str, tool_description: &str) -> Result<Judgement, AiError>;
}

/// Extracts the task from a conversation (optional; see `TaskExtractor`).
#[async_trait]
pub trait TaskExtractor: Send + Sync + 'static {
    async fn extract(&self, conversation: &UserInputContent) -> Result<String, AiError>;
}

/// How much earlier user turns count next to the latest one: each turn back halves.
pub const TURN_DECAY: f32 = 0.5;

/// The user turns of an input with their weights, latest weighted most.
/// System, assistant and tool turns are not the user's intent.
pub fn weighted_user_turns(content: &UserInputContent) -> Vec<(String, f32)> {
    match content {
        UserInputContent::Text(t) => vec![(t.clone(), 1.0)],
        UserInputContent::Turns(turns) => {
            let users: Vec<&str> = turns
                .iter()
                .filter(|t| t.role == "user" && !t.content.trim().is_empty())
                .map(|t| t.content.as_str())
                .collect();
            let n = users.len();
            users.into_iter().enumerate().map(|(i, t)| (t.to_string(), TURN_DECAY.powi((n - 1 - i) as i32))).collect()
        }
    }
}

/// The default task text: the user's words, oldest first.
pub fn task_text(content: &UserInputContent) -> String {
    weighted_user_turns(content).into_iter().map(|(t, _)| t).collect::<Vec<_>>().join("\n")
}

/// The intent of an input: the weighted mean of its user turns' embeddings
/// or, when a task was extracted, the embedding of that task.
pub async fn embed_intent(
    embedder: &dyn Embedder,
    content: &UserInputContent,
    extracted_task: Option<String>,
) -> Result<(String, Embedding), AiError> {
    let (task, parts) = match extracted_task {
        Some(task) => (task.clone(), vec![(task, 1.0)]),
        None => (task_text(content), weighted_user_turns(content)),
    };
    let vectors = embedder.embed(parts.iter().map(|(t, _)| t.clone()).collect()).await?;
    let dims = vectors.first().map_or(0, Vec::len);
    let mut mean = vec![0f32; dims];
    for ((_, w), v) in parts.iter().zip(&vectors) {
        mean.iter_mut().zip(v).for_each(|(m, x)| *m += w * x);
    }
    Ok((task, Embedding { model: embedder.model().to_string(), vector: normalize(mean) }))
}

/// What a tool's embedding is made from: its name in words, and its description.
/// (`ChaDri.change_drink` reads as "Cha Dri change drink".)
pub fn tool_text(tool: &ToolDef) -> String {
    format!("{}: {}", humanize(&tool.name), tool.description)
}

/// A tool name in words: `ChaDri.change_drink` → "Cha Dri change drink".
pub fn humanize(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut prev_lower = false;
    for c in name.chars() {
        if "_-.:/".contains(c) {
            out.push(' ');
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        out.push(c);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Turn;

    #[test]
    fn names_read_as_words() {
        assert_eq!(humanize("ChaDri.change_drink"), "Cha Dri change drink");
        assert_eq!(humanize("filesystem:read"), "filesystem read");
        assert_eq!(humanize("getHTTPStatus/v2"), "get HTTPStatus v2");
    }

    #[test]
    fn later_user_turns_weigh_more_and_other_roles_not_at_all() {
        let turn = |role: &str, content: &str| Turn { role: role.into(), content: content.into() };
        let c = UserInputContent::Turns(vec![
            turn("system", "you are an agent"),
            turn("user", "book a flight"),
            turn("assistant", "where to?"),
            turn("user", "to Oslo"),
        ]);
        assert_eq!(weighted_user_turns(&c), vec![("book a flight".into(), 0.5), ("to Oslo".into(), 1.0)]);
        assert_eq!(task_text(&c), "book a flight\nto Oslo");
    }
}
