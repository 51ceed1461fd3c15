//! Runs a blocking embedder off the async runtime, batching the texts of
//! concurrent requests: while one batch runs, the next one gathers.

use std::sync::Arc;

use async_trait::async_trait;
use casa_core::intent::{AiError, Embedder};
use tokio::sync::{mpsc, oneshot};

/// An embedder that computes on the calling thread (a model on the CPU).
pub trait BlockingEmbedder: Send + Sync + 'static {
    fn model(&self) -> &str;
    fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, AiError>;
}

/// Texts per forward pass, at most.
pub const MAX_BATCH: usize = 32;
/// Requests waiting beyond this are refused rather than queued forever.
const QUEUE: usize = 1024;

struct Job {
    texts: Vec<String>,
    reply: oneshot::Sender<Result<Vec<Vec<f32>>, AiError>>,
}

/// The async face of a [`BlockingEmbedder`].
pub struct Batching {
    model: String,
    jobs: mpsc::Sender<Job>,
}

impl Batching {
    /// Starts the worker on the current tokio runtime.
    pub fn start(inner: Arc<dyn BlockingEmbedder>) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        let model = inner.model().to_string();
        tokio::spawn(worker(inner, rx));
        Self { model, jobs }
    }
}

async fn worker(inner: Arc<dyn BlockingEmbedder>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let mut texts = batch[0].texts.len();
        while texts < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => {
                    texts += job.texts.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        let all: Vec<String> = batch.iter().flat_map(|j| j.texts.iter().cloned()).collect();
        let model = inner.clone();
        let result = tokio::task::spawn_blocking(move || {
            // Large requests still go through in bounded passes.
            let mut out = Vec::with_capacity(all.len());
            for chunk in all.chunks(MAX_BATCH) {
                out.extend(model.embed_blocking(chunk)?);
            }
            Ok(out)
        })
        .await
        .unwrap_or_else(|e| Err(AiError::Unavailable(format!("embedding task failed: {e}"))));
        match result {
            Ok(mut vectors) => {
                for job in batch {
                    let rest = vectors.split_off(job.texts.len());
                    let _ = job.reply.send(Ok(std::mem::replace(&mut vectors, rest)));
                }
            }
            Err(e) => {
                for job in batch {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

#[async_trait]
impl Embedder for Batching {
    fn model(&self) -> &str {
        &self.model
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, AiError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .try_send(Job { texts, reply })
            .map_err(|_| AiError::Unavailable("the embedder is overloaded".into()))?;
        answer.await.map_err(|_| AiError::Unavailable("the embedder stopped".into()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Embeds a text as [len, passes-so-far]; counts forward passes.
    struct Counting(AtomicUsize);

    impl BlockingEmbedder for Counting {
        fn model(&self) -> &str {
            "counting"
        }
        fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, AiError> {
            std::thread::sleep(std::time::Duration::from_millis(20));
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(texts.iter().map(|t| vec![t.len() as f32]).collect())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_passes_and_get_their_own_answers() {
        let inner = Arc::new(Counting(AtomicUsize::new(0)));
        let e = Arc::new(Batching::start(inner.clone()));
        let mut handles = Vec::new();
        for i in 0..20usize {
            let e = e.clone();
            handles
                .push(tokio::spawn(async move { (i, e.embed(vec!["x".repeat(i), "y".repeat(i + 1)]).await.unwrap()) }));
        }
        for h in handles {
            let (i, v) = h.await.unwrap();
            assert_eq!(v, vec![vec![i as f32], vec![(i + 1) as f32]]);
        }
        assert!(inner.0.load(Ordering::SeqCst) < 20, "no batching happened");
    }
}
