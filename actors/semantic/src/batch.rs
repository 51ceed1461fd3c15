//! Runs a blocking embedder off the async runtime, batching the texts of
//! concurrent requests into bounded passes. A pass serves the oldest request a
//! share and then the smallest first: an intent at `/oauth/token` does not wait
//! behind a 1,000-tool registration, and the registration keeps moving.

use std::collections::VecDeque;
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
/// The oldest request's share of every pass.
const OLDEST_SHARE: usize = MAX_BATCH / 4;
/// Requests waiting beyond this are refused rather than queued forever.
const QUEUE: usize = 1024;

type Reply = oneshot::Sender<Result<Vec<Vec<f32>>, AiError>>;

struct Job {
    texts: Vec<String>,
    reply: Reply,
}

/// A request being embedded. Its texts are taken by length, so that a pass of
/// a large request pads each text to one of about its own length.
struct Pending {
    texts: Vec<String>,
    by_length: Vec<usize>,
    taken: usize,
    vectors: Vec<Vec<f32>>,
    reply: Reply,
}

impl Pending {
    fn new(Job { texts, reply }: Job) -> Self {
        let mut by_length: Vec<usize> = (0..texts.len()).collect();
        by_length.sort_by_key(|&i| texts[i].len());
        let vectors = vec![Vec::new(); texts.len()];
        Self { texts, by_length, taken: 0, vectors, reply }
    }

    fn left(&self) -> usize {
        self.texts.len() - self.taken
    }
}

/// How many texts of each pending request (by position) the next pass takes.
fn plan(pending: &VecDeque<Pending>) -> Vec<usize> {
    let mut take = vec![0; pending.len()];
    let mut room = MAX_BATCH;
    take[0] = pending[0].left().min(OLDEST_SHARE);
    room -= take[0];
    let mut by_size: Vec<usize> = (1..pending.len()).collect();
    by_size.sort_by_key(|&j| pending[j].left());
    for j in by_size {
        take[j] = pending[j].left().min(room);
        room -= take[j];
    }
    take[0] += (pending[0].left() - take[0]).min(room);
    take
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
    let mut pending: VecDeque<Pending> = VecDeque::new();
    loop {
        if pending.is_empty() {
            let Some(job) = rx.recv().await else { return };
            pending.push_back(Pending::new(job));
        }
        while pending.len() < QUEUE {
            let Ok(job) = rx.try_recv() else { break };
            pending.push_back(Pending::new(job));
        }
        // A caller that gave up costs no more model time.
        pending.retain(|p| !p.reply.is_closed());
        if pending.is_empty() {
            continue;
        }
        let take = plan(&pending);
        let mut texts = Vec::with_capacity(MAX_BATCH);
        for (p, &n) in pending.iter().zip(&take) {
            texts.extend(p.by_length[p.taken..p.taken + n].iter().map(|&i| p.texts[i].clone()));
        }
        let model = inner.clone();
        let result = tokio::task::spawn_blocking(move || {
            let vectors = model.embed_blocking(&texts)?;
            if vectors.len() != texts.len() {
                return Err(AiError::Unavailable(format!("{} vectors for {} texts", vectors.len(), texts.len())));
            }
            Ok(vectors)
        })
        .await
        .unwrap_or_else(|e| Err(AiError::Unavailable(format!("embedding task failed: {e}"))));
        let mut served = VecDeque::with_capacity(pending.len());
        match result {
            Ok(vectors) => {
                let mut vectors = vectors.into_iter();
                for (mut p, n) in pending.drain(..).zip(take) {
                    for k in p.taken..p.taken + n {
                        p.vectors[p.by_length[k]] = vectors.next().expect("one vector per text");
                    }
                    p.taken += n;
                    if p.left() > 0 {
                        served.push_back(p);
                    } else {
                        let _ = p.reply.send(Ok(p.vectors));
                    }
                }
            }
            // The requests in the failed pass get its error; the others go on.
            Err(e) => {
                for (p, n) in pending.drain(..).zip(take) {
                    if n > 0 {
                        let _ = p.reply.send(Err(e.clone()));
                    } else {
                        served.push_back(p);
                    }
                }
            }
        }
        pending = served;
    }
}

#[async_trait]
impl Embedder for Batching {
    fn model(&self) -> &str {
        &self.model
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, AiError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_request_comes_back_in_its_order_and_does_not_hold_up_a_small_one() {
        let inner = Arc::new(Counting(AtomicUsize::new(0)));
        let e = Arc::new(Batching::start(inner.clone()));
        // Longest first: the pass order (by length) is the reverse of the caller's.
        let texts: Vec<String> = (0..200).rev().map(|i| "x".repeat(i + 1)).collect();
        let large = tokio::spawn({
            let e = e.clone();
            let texts = texts.clone();
            async move { e.embed(texts).await.unwrap() }
        });
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let small = e.embed(vec!["hello".into()]).await.unwrap();
        assert_eq!(small, vec![vec![5.0]]);
        assert!(!large.is_finished(), "the small request waited for the whole large one");
        let passes_for_small = inner.0.load(Ordering::SeqCst);
        assert!(passes_for_small <= 2, "the small request waited {passes_for_small} passes");
        let vectors = large.await.unwrap();
        assert_eq!(vectors, texts.iter().map(|t| vec![t.len() as f32]).collect::<Vec<_>>());
        assert_eq!(e.embed(Vec::new()).await.unwrap(), Vec::<Vec<f32>>::new());
    }
}
