//! The calibrations casa ships for `SEMANTIC_INTENT_MATCH` (fitted by
//! `casa eval intent fit`, chosen in docs/intent-eval.md). Each is tied to
//! the exact embedder it was fitted on, weights fingerprint included: a node
//! whose embedder has none keeps the cosine threshold.

use std::sync::Arc;

use async_trait::async_trait;
use casa_actors::intent::{AiError, Embedder};
use casa_actors::relevance::Calibration;

/// (file, contents) of every shipped calibration.
const BUILT_IN: &[(&str, &str)] = &[
    ("calibration/intent-all-MiniLM-L6-v2.json", include_str!("../calibration/intent-all-MiniLM-L6-v2.json")),
    ("calibration/intent-all-MiniLM-L6-v2-int8.json", include_str!("../calibration/intent-all-MiniLM-L6-v2-int8.json")),
];

/// The shipped calibration fitted on `model`, if any.
pub fn built_in(model: &str) -> Option<Arc<Calibration>> {
    BUILT_IN.iter().find_map(|(file, text)| {
        let c = Calibration::from_json(text).unwrap_or_else(|e| panic!("{file} is shipped broken: {e}"));
        (c.embedding_model == model).then(|| Arc::new(c))
    })
}

/// An embedder with the calibration of its model.
pub struct Calibrated {
    inner: Arc<dyn Embedder>,
    calibration: Option<Arc<Calibration>>,
}

impl Calibrated {
    pub fn attach(inner: Arc<dyn Embedder>) -> Arc<dyn Embedder> {
        let calibration = built_in(inner.model());
        match &calibration {
            Some(c) => tracing::info!(calibration = %c.name, cut_off = c.cut_off, "semantic check calibrated"),
            None => tracing::info!(
                model = inner.model(),
                "no calibration for this embedder: the semantic check uses the cosine threshold"
            ),
        }
        Arc::new(Self { inner, calibration })
    }
}

#[async_trait]
impl Embedder for Calibrated {
    fn model(&self) -> &str {
        self.inner.model()
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, AiError> {
        self.inner.embed(texts).await
    }

    fn calibration(&self) -> Option<Arc<Calibration>> {
        self.calibration.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_calibration_parses_and_names_its_model() {
        for (file, text) in BUILT_IN {
            let c = Calibration::from_json(text).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(c.embedding_model.starts_with("local/"), "{file}: {}", c.embedding_model);
            assert!(built_in(&c.embedding_model).is_some());
            assert!(c.fitted["command"].as_str().is_some_and(|s| s.contains("eval intent fit")), "{file}");
        }
        assert!(built_in("local/some-other-model@000000000000").is_none());
    }
}
