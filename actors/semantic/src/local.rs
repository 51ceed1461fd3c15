//! The local embedder: a sentence-transformer (all-MiniLM-L6-v2) on the CPU,
//! its encoder either candle's in f32 (the reference) or the int8 one (`int8.rs`).
//! Mean pooling over the attention mask, then L2 normalisation, as
//! sentence-transformers does.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use casa_core::intent::AiError;
use sha2::{Digest, Sha256};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::batch::BlockingEmbedder;
use crate::int8::Int8Encoder;

/// sentence-transformers' `max_seq_length` for this model.
const MAX_TOKENS: usize = 256;

/// How the encoder runs: candle in f32, or its linear layers in int8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    F32,
    Int8,
}

enum Encoder {
    F32(BertModel),
    Int8(Int8Encoder),
}

pub struct LocalModel {
    encoder: Encoder,
    tokenizer: Tokenizer,
    id: String,
}

fn load_error(what: &str) -> impl Fn(String) -> AiError + '_ {
    move |e| AiError::Unavailable(format!("loading {what}: {e}"))
}

impl LocalModel {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`, in f32.
    pub fn load(dir: &Path) -> Result<Self, AiError> {
        Self::load_as(dir, Precision::F32)
    }

    /// The id names the precision too: embeddings of one are never compared
    /// with the other's, and a calibration fits one of them.
    pub fn load_as(dir: &Path, precision: Precision) -> Result<Self, AiError> {
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .map_err(|e| AiError::Unavailable(format!("{}: {e}", dir.join(name).display())))
        };
        let config: Config =
            serde_json::from_slice(&read("config.json")?).map_err(|e| load_error("config.json")(e.to_string()))?;
        let mut tokenizer =
            Tokenizer::from_bytes(read("tokenizer.json")?).map_err(|e| load_error("tokenizer.json")(e.to_string()))?;
        // The packaged tokenizer pads every input to 128 tokens: pad each batch to
        // its longest input instead (the attention mask hides the padding).
        tokenizer.with_padding(Some(PaddingParams { strategy: PaddingStrategy::BatchLongest, ..Default::default() }));
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
            .map_err(|e| load_error("tokenizer.json")(e.to_string()))?;
        let weights = read("model.safetensors")?;
        let fingerprint = hex::encode(&Sha256::digest(&weights)[..6]);
        let name = dir.file_name().map_or("model".into(), |n| n.to_string_lossy().to_string());
        let (encoder, id) = match precision {
            Precision::F32 => {
                let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
                    .map_err(|e| load_error("model.safetensors")(e.to_string()))?;
                let model = BertModel::load(vb, &config).map_err(|e| load_error("the model")(e.to_string()))?;
                (Encoder::F32(model), format!("local/{name}@{fingerprint}"))
            }
            Precision::Int8 => {
                let encoder =
                    Int8Encoder::load(&weights, &config).map_err(|e| load_error("the model")(e.to_string()))?;
                let id = match encoder.activation_bits() {
                    8 => format!("local/{name}@{fingerprint}/int8"),
                    bits => format!("local/{name}@{fingerprint}/int8a{bits}"),
                };
                (Encoder::Int8(encoder), id)
            }
        };
        Ok(Self { encoder, tokenizer, id })
    }

    fn run(&self, texts: &[String]) -> candle_core::Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| candle_core::Error::Msg(format!("tokenizing: {e}")))?;
        let model = match &self.encoder {
            Encoder::F32(model) => model,
            Encoder::Int8(encoder) => {
                // Each text without its padding.
                let unpadded = |e: &tokenizers::Encoding| {
                    let len = e.get_attention_mask().iter().filter(|&&m| m == 1).count();
                    (e.get_ids()[..len].to_vec(), e.get_type_ids()[..len].to_vec())
                };
                return encoder.embed(&encodings.iter().map(unpadded).collect::<Vec<_>>());
            }
        };
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let n = encodings.len();
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings.iter().flat_map(|e| f(e).to_vec()).collect()
        };
        let device = Device::Cpu;
        let ids = Tensor::from_vec(flat(&|e| e.get_ids()), (n, len), &device)?;
        let types = Tensor::from_vec(flat(&|e| e.get_type_ids()), (n, len), &device)?;
        let mask = Tensor::from_vec(flat(&|e| e.get_attention_mask()), (n, len), &device)?;
        let hidden = model.forward(&ids, &types, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?;
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
        mean.broadcast_div(&norms)?.to_vec2::<f32>()
    }
}

impl BlockingEmbedder for LocalModel {
    fn model(&self) -> &str {
        &self.id
    }

    fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, AiError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        self.run(texts).map_err(|e| AiError::Unavailable(format!("inference: {e}")))
    }
}
