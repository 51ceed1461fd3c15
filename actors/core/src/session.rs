//! Sessions: the user input a token serves, and the evidence of which tools
//! the session's LLM calls selected.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub const MAX_USER_INPUT_CHARS: usize = 64 * 1024;
pub const MAX_TURNS: usize = 1000;
pub const MAX_CALL_ID_CHARS: usize = 256;
pub const ROLES: [&str; 4] = ["system", "user", "assistant", "tool"];

/// Why a `user_input` is neither a prompt nor a conversation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("user_input: {0}")]
pub struct InvalidUserInput(pub String);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub role: String,
    pub content: String,
}

/// What the user asked: a prompt, or a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserInputContent {
    Text(String),
    Turns(Vec<Turn>),
}

impl UserInputContent {
    /// Parses the `user_input` form value: a JSON array of `{role, content}`
    /// turns is a conversation; anything else is a plain-text prompt.
    pub fn parse(raw: &str) -> Result<Self, InvalidUserInput> {
        let invalid = |m: &str| InvalidUserInput(m.to_string());
        if raw.trim().is_empty() {
            return Err(invalid("must not be empty"));
        }
        if raw.chars().count() > MAX_USER_INPUT_CHARS {
            return Err(invalid(&format!("must be at most {MAX_USER_INPUT_CHARS} characters")));
        }
        if !raw.trim_start().starts_with('[') {
            return Ok(Self::Text(raw.to_string()));
        }
        let turns: Vec<Turn> = serde_json::from_str(raw)
            .map_err(|e| invalid(&format!("a conversation is a JSON array of {{role, content}}: {e}")))?;
        if turns.is_empty() || turns.len() > MAX_TURNS {
            return Err(invalid(&format!("a conversation has 1 to {MAX_TURNS} turns")));
        }
        if let Some(t) = turns.iter().find(|t| !ROLES.contains(&t.role.as_str())) {
            return Err(invalid(&format!("unknown role {:?} (expected one of {ROLES:?})", t.role)));
        }
        if !turns.iter().any(|t| t.role == "user" && !t.content.trim().is_empty()) {
            return Err(invalid("a conversation needs at least one non-empty user turn"));
        }
        Ok(Self::Turns(turns))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInput {
    pub id: Uuid,
    pub mas_id: Uuid,
    /// The app that submitted it.
    pub app_id: Uuid,
    pub content: UserInputContent,
    /// The task derived from the input (by an LLM, or from the user turns).
    #[serde(default)]
    pub task: Option<String>,
    /// The task's embedding, when this node had an embedder.
    #[serde(default)]
    pub intent: Option<crate::embedding::Embedding>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One LLM call of a session, and the tools it selected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmCall {
    pub call_id: String,
    pub selected_tools: Vec<String>,
    pub model: Option<String>,
    pub prompt_digest: Option<String>,
    /// The app whose session token reported it.
    pub reported_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_and_conversations_parse() {
        assert_eq!(UserInputContent::parse("read my file").unwrap(), UserInputContent::Text("read my file".into()));
        let conv = r#"[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]"#;
        assert!(matches!(UserInputContent::parse(conv).unwrap(), UserInputContent::Turns(t) if t.len() == 2));
        for bad in
            ["", "   ", "[", "[]", r#"[{"role":"robot","content":"x"}]"#, r#"[{"role":"assistant","content":"x"}]"#]
        {
            assert!(UserInputContent::parse(bad).is_err(), "{bad:?}");
        }
        assert!(UserInputContent::parse(&"x".repeat(MAX_USER_INPUT_CHARS + 1)).is_err());
    }
}
