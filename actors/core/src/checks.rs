//! The check pipeline of an exchange. A check is a type with a name: given
//! one requested tool and what the realm knows of the session, it returns a
//! verdict with a reason code and, where it has one, a score.

use std::collections::HashMap;
use std::sync::Arc;

use ndarray::{Array1, Array2};

use crate::intent::{AiError, Embedding, Judgement};
use crate::lexical::{ToolWords, Words};
use crate::model::{CheckName, SemanticSettings};
use crate::relevance::{Calibration, Features};
use crate::session::LlmCall;
use crate::token::Claims;

/// What a check may look at.
pub struct CheckInput<'a> {
    pub tool: &'a str,
    pub subject: &'a Claims,
    /// The session's recorded LLM calls (loaded only when a check needs them).
    pub llm_calls: &'a [LlmCall],
    /// How the MAS's tools rank for the session's intent.
    pub intent: &'a IntentMatch,
    /// The LLM judge's verdicts by tool, once asked.
    pub judgements: &'a HashMap<String, Result<Judgement, AiError>>,
}

/// The MAS's tool embeddings as one matrix (a row per tool), so scoring an
/// intent against every tool is a single matrix-vector product, and each
/// tool's words, for the calibrated model's overlaps.
#[derive(Debug, Clone)]
pub struct ToolIndex {
    model: String,
    names: Vec<String>,
    matrix: Array2<f32>,
    words: Vec<ToolWords>,
    /// The calibrated model for `model`'s cosines, when the embedder has one.
    calibration: Option<Arc<Calibration>>,
}

impl ToolIndex {
    /// Indexes the tools (name, words, embedding) whose embedding is of
    /// `model`; others are left out.
    pub fn new<'a>(model: &str, tools: impl IntoIterator<Item = (&'a str, ToolWords, &'a Embedding)>) -> Self {
        let mut names = Vec::new();
        let mut words = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        let mut dims = 0;
        for (name, w, e) in tools {
            if e.model != model || (dims != 0 && e.vector.len() != dims) {
                continue;
            }
            dims = e.vector.len();
            names.push(name.to_string());
            words.push(w);
            rows.extend_from_slice(&e.vector);
        }
        let matrix = Array2::from_shape_vec((names.len(), dims), rows).expect("rows of equal length");
        Self { model: model.to_string(), names, matrix, words, calibration: None }
    }

    /// Scores tools with `calibration` too, if it was fitted on this index's model.
    pub fn with_calibration(mut self, calibration: Option<Arc<Calibration>>) -> Self {
        self.calibration = calibration.filter(|c| c.embedding_model == self.model);
        self
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every indexed tool's cosine with the intent and its rank (1 = best);
    /// with a calibration, its probability from the cosines and the words
    /// it shares with `task` (the session's task's words).
    pub fn rank(&self, intent: &Embedding, task: &Words) -> IntentMatch {
        if intent.model != self.model {
            return IntentMatch::Unavailable("the session's intent was embedded by another model");
        }
        // No tool to rank (none embedded by this model) is a denial, not an empty product.
        if self.is_empty() {
            return IntentMatch::Unavailable("no tool of this MAS has an embedding of this node's model");
        }
        if self.matrix.ncols() != intent.vector.len() {
            return IntentMatch::Unavailable("the intent and the tools differ in dimensions");
        }
        let scores = self.matrix.dot(&Array1::from_vec(intent.vector.clone()));
        let mut order: Vec<usize> = (0..self.names.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let ranked =
            order.iter().enumerate().map(|(rank, &i)| (self.names[i].clone(), (scores[i], rank + 1))).collect();
        let calibrated = self.calibration.as_ref().map(|model| {
            let overlaps: Vec<[f64; 3]> = self.words.iter().map(|w| w.overlap(task)).collect();
            let features = Features::of_all(scores.as_slice().unwrap_or(&[]), &overlaps);
            // The model itself runs only for the tool asked for (`SemanticIntent`).
            let tools = self.names.iter().cloned().zip(features).collect();
            Calibrated { model: model.clone(), tools }
        });
        IntentMatch::Ranked { ranked, of: self.names.len(), calibrated }
    }
}

/// The session's intent against the MAS's tools.
#[derive(Debug, Clone)]
pub enum IntentMatch {
    /// tool → (cosine, rank), out of `of` tools, and the calibrated
    /// probabilities when the embedder has a calibration.
    Ranked { ranked: HashMap<String, (f32, usize)>, of: usize, calibrated: Option<Calibrated> },
    /// Why no score can be given: the check then fails closed.
    Unavailable(&'static str),
}

/// The calibrated model and every tool's features: tool → features.
#[derive(Debug, Clone)]
pub struct Calibrated {
    pub model: Arc<Calibration>,
    pub tools: HashMap<String, Features>,
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

/// `SEMANTIC_INTENT_MATCH`. With a calibration for the node's embedder: the
/// calibrated probability that the task needs the tool reaches the MAS's
/// `min_probability` (default: the calibration's cross-validated cut-off).
/// Without one: the tool's cosine with the session's intent reaches the
/// threshold. Either way, with `top_k`, the tool also ranks within the top k.
pub struct SemanticIntent(pub SemanticSettings);

impl Check for SemanticIntent {
    fn name(&self) -> CheckName {
        CheckName::SemanticIntentMatch
    }

    fn evaluate(&self, input: &CheckInput<'_>) -> Verdict {
        let (ranked, of, calibrated) = match input.intent {
            IntentMatch::Ranked { ranked, of, calibrated } => (ranked, of, calibrated),
            IntentMatch::Unavailable(why) => {
                return Verdict::fail(self.name(), "intent_unavailable", (*why).to_string())
            }
        };
        let Some(&(score, rank)) = ranked.get(input.tool) else {
            return Verdict::fail(
                self.name(),
                "tool_embedding_unavailable",
                "the tool has no embedding of this node's model".into(),
            );
        };
        let SemanticSettings { threshold, top_k, min_probability } = &self.0;
        let rank_text = format!("rank {rank} of {of}{}", top_k.map_or(String::new(), |k| format!(" (top_k {k})")));
        let in_top_k = top_k.is_none_or(|k| rank <= k as usize);
        let (passed, detail, score) = match calibrated.as_ref().and_then(|c| Some((c, c.tools.get(input.tool)?))) {
            Some((c, f)) => {
                let p = c.model.probability(f);
                let cut = min_probability.unwrap_or(c.model.cut_off);
                let detail = format!(
                    "probability {p:.3} (cut-off {cut:.3}, {}) from {}; {rank_text}",
                    c.model.name,
                    c.model.explain(f)
                );
                (p >= cut && in_top_k, detail, p)
            }
            None => {
                let detail = format!("score {score:.3} (threshold {threshold:.3}), {rank_text}");
                (score as f64 >= *threshold && in_top_k, detail, score as f64)
            }
        };
        Verdict {
            check: self.name(),
            passed,
            reason: (!passed).then_some("tool_intent_mismatch"),
            detail: Some(detail),
            score: Some(score),
        }
    }
}

/// `AI_POWERED_TOOL_MATCH`: an LLM judge found the tool appropriate for the
/// task. No verdict, an error or a timeout denies.
pub struct AiToolMatch;

impl Check for AiToolMatch {
    fn name(&self) -> CheckName {
        CheckName::AiPoweredToolMatch
    }

    fn evaluate(&self, input: &CheckInput<'_>) -> Verdict {
        match input.judgements.get(input.tool) {
            Some(Ok(j)) if j.appropriate => Verdict {
                check: self.name(),
                passed: true,
                reason: None,
                detail: Some(j.reasoning.clone()),
                score: None,
            },
            Some(Ok(j)) => Verdict::fail(self.name(), "llm_judged_inappropriate", j.reasoning.clone()),
            Some(Err(e)) => Verdict::fail(self.name(), "llm_verifier_unavailable", e.to_string()),
            None => Verdict::fail(self.name(), "llm_verifier_unavailable", "no verdict".into()),
        }
    }
}

/// The implementation of a check with the MAS's settings.
pub fn implementation(name: CheckName, semantic: &SemanticSettings) -> Box<dyn Check> {
    match name {
        CheckName::DeterministicToolSelected => Box::new(ToolSelected),
        CheckName::DeterministicLlmSelectedTools => Box::new(LlmSelected),
        CheckName::SemanticIntentMatch => Box::new(SemanticIntent(semantic.clone())),
        CheckName::AiPoweredToolMatch => Box::new(AiToolMatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w() -> ToolWords {
        ToolWords::default()
    }

    fn e(v: &[f32]) -> Embedding {
        Embedding { model: "m".into(), vector: crate::intent::normalize(v.to_vec()) }
    }

    #[test]
    fn tools_rank_by_cosine_and_other_models_are_refused() {
        let (a, b, c) = (e(&[1.0, 0.0]), e(&[0.6, 0.8]), e(&[0.0, 1.0]));
        let index = ToolIndex::new("m", [("a", w(), &a), ("b", w(), &b), ("c", w(), &c)]);
        let IntentMatch::Ranked { ranked, of, .. } = index.rank(&e(&[1.0, 0.1]), &Words::default()) else { panic!() };
        assert_eq!(of, 3);
        assert_eq!(ranked["a"].1, 1);
        assert_eq!(ranked["b"].1, 2);
        assert_eq!(ranked["c"].1, 3);
        assert!((ranked["a"].0 - 0.995).abs() < 0.01);
        let other = Embedding { model: "n".into(), vector: vec![1.0, 0.0] };
        assert!(matches!(index.rank(&other, &Words::default()), IntentMatch::Unavailable(_)));
    }

    #[test]
    fn an_index_without_tools_is_a_clean_denial() {
        let empty = ToolIndex::new("m", []);
        let intent = e(&[1.0, 0.0]);
        let verdict = |index: &ToolIndex| {
            let (intent, judgements) = (index.rank(&intent, &Words::default()), HashMap::new());
            let subject: Claims = serde_json::from_value(serde_json::json!({"iss": "i", "sub": "s", "aud": "i",
                "client_id": "s", "iat": 1, "nbf": 1, "exp": 2, "jti": "j", "scope": "a", "uiid": "u", "tools": ["a"]}))
            .unwrap();
            let input =
                CheckInput { tool: "a", subject: &subject, llm_calls: &[], intent: &intent, judgements: &judgements };
            SemanticIntent(SemanticSettings::default()).evaluate(&input)
        };
        let v = verdict(&empty);
        assert_eq!((v.passed, v.reason), (false, Some("intent_unavailable")), "{v:?}");
        // Tools of another model only: the same.
        let other = Embedding { model: "n".into(), vector: vec![1.0, 0.0] };
        let v = verdict(&ToolIndex::new("m", [("a", w(), &other)]));
        assert_eq!((v.passed, v.reason), (false, Some("intent_unavailable")), "{v:?}");
    }
}
