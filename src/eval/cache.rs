//! The eval's embedding cache on disk.

use super::*;

/// The eval's embedder with an on-disk cache of its vectors, keyed by the
/// model and the text: reruns with other rules or settings skip the model.
/// Vectors of another model never match (the key includes its identity).
pub(super) struct Cached {
    inner: Arc<dyn Embedder>,
    path: Option<PathBuf>,
    known: std::sync::Mutex<HashMap<String, Vec<f32>>>,
}

#[derive(serde::Serialize, Deserialize)]
pub(super) struct CachedVector {
    key: String,
    embedding: Embedding,
}

impl Cached {
    pub(super) fn key(model: &str, text: &str) -> String {
        let mut h = <sha2::Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut h, model.as_bytes());
        sha2::Digest::update(&mut h, [0]);
        sha2::Digest::update(&mut h, text.as_bytes());
        hex::encode(sha2::Digest::finalize(h))
    }

    pub(super) fn open(inner: Arc<dyn Embedder>, dir: Option<&Path>) -> Self {
        let path = dir.map(|d| d.join(format!("{}.jsonl", &Self::key(inner.model(), "")[..16])));
        let mut known = HashMap::new();
        if let Some(text) = path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) {
            for v in text.lines().filter_map(|l| serde_json::from_str::<CachedVector>(l).ok()) {
                if v.embedding.model == inner.model() {
                    known.insert(v.key, v.embedding.vector);
                }
            }
        }
        Self { inner, path, known: std::sync::Mutex::new(known) }
    }

    pub(super) fn save(&self) -> anyhow::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let known = self.known.lock().expect("cache lock");
        let model = self.inner.model().to_string();
        let lines: Vec<String> = known
            .iter()
            .map(|(key, vector)| {
                serde_json::to_string(&CachedVector {
                    key: key.clone(),
                    embedding: Embedding { model: model.clone(), vector: vector.clone() },
                })
            })
            .collect::<Result<_, _>>()?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, lines.join("\n") + "\n")?;
        std::fs::rename(tmp, path)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Embedder for Cached {
    fn model(&self) -> &str {
        self.inner.model()
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, intent::AiError> {
        let model = self.inner.model().to_string();
        let keys: Vec<String> = texts.iter().map(|t| Self::key(&model, t)).collect();
        let missing: Vec<String> = {
            let known = self.known.lock().expect("cache lock");
            texts.iter().zip(&keys).filter(|(_, k)| !known.contains_key(*k)).map(|(t, _)| t.clone()).collect()
        };
        if !missing.is_empty() {
            let vectors = self.inner.embed(missing.clone()).await?;
            let mut known = self.known.lock().expect("cache lock");
            for (t, v) in missing.iter().zip(vectors) {
                known.insert(Self::key(&model, t), v);
            }
        }
        let known = self.known.lock().expect("cache lock");
        Ok(keys.iter().map(|k| known[k].clone()).collect())
    }
}

/// Where `casa eval` keeps its embedding cache.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("casa")
        .join("eval-embeddings")
}
