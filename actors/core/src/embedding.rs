//! Embeddings: unit-length vectors of one model. A leaf: records, sessions
//! and intents all carry them, so this module imports none of them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A unit-length embedding and the model that produced it: vectors of
/// different models are never compared.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    pub model: String,
    /// Little-endian f32s, base64: compact in the store and on the wire.
    #[serde(with = "f32_base64")]
    pub vector: Vec<f32>,
}

impl std::fmt::Debug for Embedding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Embedding({}, {} dims, {})", self.model, self.vector.len(), &self.digest()[..12])
    }
}

impl Embedding {
    /// SHA-256 of the model name and the vector's bytes, hex.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.model.as_bytes());
        h.update([0]);
        for x in &self.vector {
            h.update(x.to_le_bytes());
        }
        hex::encode(h.finalize())
    }

    /// Cosine similarity of two unit vectors of the same model.
    pub fn cosine(&self, other: &Embedding) -> Option<f32> {
        (self.model == other.model && self.vector.len() == other.vector.len())
            .then(|| self.vector.iter().zip(&other.vector).map(|(a, b)| a * b).sum())
    }
}

mod f32_base64 {
    use super::*;

    pub fn serialize<S: serde::Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = STANDARD.decode(text).map_err(serde::de::Error::custom)?;
        if bytes.len() % 4 != 0 {
            return Err(serde::de::Error::custom("an embedding is a whole number of f32s"));
        }
        Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
}

/// Scales a vector to unit length (a zero vector stays zero).
pub fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_round_trip_and_compare_only_within_a_model() {
        let a = Embedding { model: "m".into(), vector: normalize(vec![3.0, 4.0]) };
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Embedding>(&json).unwrap(), a);
        assert!((a.cosine(&a).unwrap() - 1.0).abs() < 1e-6);
        let other = Embedding { model: "n".into(), vector: a.vector.clone() };
        assert_eq!(a.cosine(&other), None);
        assert_ne!(a.digest(), other.digest());
    }
}
