//! The semantic side of casa: embedders (a local sentence-transformer run
//! with candle, or any OpenAI-compatible embeddings API) and the LLM judge,
//! implementing the traits of `casa_core::intent`.

pub mod batch;
#[cfg(feature = "local-model")]
mod int8;
#[cfg(feature = "local-model")]
pub mod local;
pub mod openai;
