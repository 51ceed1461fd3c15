//! The check pipeline of an exchange. A check is a type with a name: given
//! one requested tool and what the realm knows of the session, it returns a
//! verdict with a reason code and, where it has one, a score.

use crate::model::CheckName;
use crate::session::LlmCall;
use crate::token::Claims;

/// What a check may look at.
pub struct CheckInput<'a> {
    pub tool: &'a str,
    pub subject: &'a Claims,
    /// The session's recorded LLM calls (loaded only when a check needs them).
    pub llm_calls: &'a [LlmCall],
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub check: CheckName,
    pub passed: bool,
    /// Stable reason code when it did not pass.
    pub reason: Option<&'static str>,
    pub detail: Option<String>,
    pub score: Option<f64>,
}

impl Verdict {
    fn pass(check: CheckName) -> Self {
        Self { check, passed: true, reason: None, detail: None, score: None }
    }

    fn fail(check: CheckName, reason: &'static str, detail: String) -> Self {
        Self { check, passed: false, reason: Some(reason), detail: Some(detail), score: None }
    }
}

pub trait Check: Send + Sync {
    fn name(&self) -> CheckName;
    /// Whether the check reads the session's LLM calls.
    fn needs_llm_calls(&self) -> bool {
        false
    }
    fn evaluate(&self, input: &CheckInput<'_>) -> Verdict;
}

/// `DETERMINISTIC_TOOL_SELECTED`: the tool is in the subject token's `tools`.
pub struct ToolSelected;

impl Check for ToolSelected {
    fn name(&self) -> CheckName {
        CheckName::DeterministicToolSelected
    }

    fn evaluate(&self, input: &CheckInput<'_>) -> Verdict {
        if input.subject.tools.iter().any(|t| t == input.tool) {
            Verdict::pass(self.name())
        } else {
            Verdict::fail(
                self.name(),
                "tool_not_in_token",
                format!("the subject token allows {:?}", input.subject.tools),
            )
        }
    }
}

/// `DETERMINISTIC_LLM_SELECTED_TOOLS`: an LLM call of this session selected the tool.
pub struct LlmSelected;

impl Check for LlmSelected {
    fn name(&self) -> CheckName {
        CheckName::DeterministicLlmSelectedTools
    }

    fn needs_llm_calls(&self) -> bool {
        true
    }

    fn evaluate(&self, input: &CheckInput<'_>) -> Verdict {
        if input.llm_calls.is_empty() {
            return Verdict::fail(self.name(), "no_llm_calls_made", "no LLM call of this session was recorded".into());
        }
        if input.llm_calls.iter().any(|c| c.selected_tools.iter().any(|t| t == input.tool)) {
            Verdict::pass(self.name())
        } else {
            Verdict::fail(
                self.name(),
                "tool_not_selected_by_llm",
                format!("none of the session's {} LLM calls selected it", input.llm_calls.len()),
            )
        }
    }
}

/// The implementation of a check, if this build has one. Checks without one
/// are refused when a MAS enables them (see `Capabilities`).
pub fn implementation(name: CheckName) -> Option<&'static dyn Check> {
    match name {
        CheckName::DeterministicToolSelected => Some(&ToolSelected),
        CheckName::DeterministicLlmSelectedTools => Some(&LlmSelected),
        CheckName::SemanticIntentMatch | CheckName::AiPoweredToolMatch => None,
    }
}
