//! Builds the node's AI services (embedder, LLM judge, task extractor) from
//! the settings.

use std::sync::Arc;

use casa_actors::node::Ai;
use casa_semantic::openai::{Endpoint, OpenAiChat, OpenAiEmbedder};

use crate::config::{EmbedderKind, Settings};

pub const LLM_API_KEY: &str = "CASA_LLM_API_KEY";
pub const EMBEDDINGS_API_KEY: &str = "CASA_EMBEDDINGS_API_KEY";

/// The embedder the settings ask for. A missing local model is not fatal:
/// the node runs without semantic checks and says so.
pub fn embedder(settings: &Settings) -> anyhow::Result<Option<Arc<dyn casa_actors::intent::Embedder>>> {
    Ok(uncalibrated(settings)?.map(crate::calibration::Calibrated::attach))
}

fn uncalibrated(settings: &Settings) -> anyhow::Result<Option<Arc<dyn casa_actors::intent::Embedder>>> {
    match settings.embedder {
        EmbedderKind::None => Ok(None),
        EmbedderKind::Openai => {
            let endpoint = Endpoint {
                base_url: settings.embeddings_base_url.clone().unwrap_or_default(),
                model: settings.embeddings_model.clone().unwrap_or_default(),
                api_key: std::env::var(EMBEDDINGS_API_KEY).ok(),
                timeout: settings.llm_timeout_ms.duration(),
            };
            Ok(Some(Arc::new(OpenAiEmbedder::new(endpoint)?)))
        }
        EmbedderKind::Local => local(settings),
    }
}

#[cfg(feature = "local-model")]
fn local(settings: &Settings) -> anyhow::Result<Option<Arc<dyn casa_actors::intent::Embedder>>> {
    use casa_semantic::batch::Batching;
    use casa_semantic::local::{LocalModel, Precision};
    if !settings.model_dir.join("model.safetensors").exists() {
        // A directory the operator chose is a mistake to report; only the
        // default may be absent (set-up fetches it).
        if settings.model_dir != Settings::default().model_dir {
            anyhow::bail!(
                "model_dir {}: no model.safetensors there (run scripts/fetch-model, or name the model's \
                 directory; --embedder none runs without semantic checks)",
                settings.model_dir.display()
            );
        }
        tracing::warn!(
            model_dir = %settings.model_dir.display(),
            "no local model (run scripts/fetch-model): semantic checks are unavailable on this node"
        );
        return Ok(None);
    }
    let precision = match settings.model_precision {
        crate::config::ModelPrecision::Int8 => Precision::Int8,
        crate::config::ModelPrecision::F32 => Precision::F32,
    };
    let model = LocalModel::load_as(&settings.model_dir, precision)?;
    tracing::info!(model = casa_semantic::batch::BlockingEmbedder::model(&model), "local embedder loaded");
    Ok(Some(Arc::new(Batching::start(Arc::new(model)))))
}

#[cfg(not(feature = "local-model"))]
fn local(_: &Settings) -> anyhow::Result<Option<Arc<dyn casa_actors::intent::Embedder>>> {
    tracing::warn!("this build has no local model (cargo feature local-model): semantic checks are unavailable");
    Ok(None)
}

pub fn services(settings: &Settings) -> anyhow::Result<Ai> {
    let chat = match (&settings.llm_base_url, &settings.llm_model) {
        (Some(base_url), Some(model)) => Some(Arc::new(OpenAiChat::new(Endpoint {
            base_url: base_url.clone(),
            model: model.clone(),
            api_key: std::env::var(LLM_API_KEY).ok(),
            timeout: settings.llm_timeout_ms.duration(),
        })?)),
        _ => None,
    };
    Ok(Ai {
        embedder: embedder(settings)?,
        judge: chat.clone().map(|c| c as Arc<dyn casa_actors::intent::Judge>),
        extractor: chat.filter(|_| settings.llm_extract_task).map(|c| c as Arc<dyn casa_actors::intent::TaskExtractor>),
        judge_cache_ttl: settings.verdict_cache_seconds.duration(),
    })
}
