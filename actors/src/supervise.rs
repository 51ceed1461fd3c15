//! Tasks that must keep running beside the actor tree (the trace writer, the
//! retention purge): a supervisor task restarts one that panics, after a
//! backoff, and stops when it returns or when its own handle is aborted.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::backoff::Backoff;
use crate::events::TaskRestarted;
use crate::telemetry::Emit;

/// A task that ran this long before failing starts its backoff afresh.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// Runs `run()` on its own task, again whenever it panics. Restarts are
/// counted in `casa_task_restarts_total{task}`.
pub fn supervised<F, Fut>(name: &'static str, mut run: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(5));
        loop {
            let started = Instant::now();
            let task = tokio::spawn(run());
            // Aborting the supervisor aborts the task it watches.
            let _guard = AbortOnDrop(task.abort_handle());
            match task.await {
                Ok(()) => return,
                Err(e) if e.is_panic() => {
                    TaskRestarted { task: name }.emit();
                    if started.elapsed() > STABLE_AFTER {
                        backoff.reset();
                    }
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                Err(_) => return,
            }
        }
    })
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn a_panicking_task_is_restarted_until_it_returns() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let handle = supervised("test", move || {
            let r = r.clone();
            async move {
                if r.fetch_add(1, Ordering::SeqCst) < 2 {
                    panic!("injected");
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(5), handle).await.unwrap().unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn aborting_the_supervisor_stops_its_task() {
        let alive = Arc::new(AtomicUsize::new(0));
        let a = alive.clone();
        let handle = supervised("test", move || {
            let a = a.clone();
            async move {
                loop {
                    a.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        });
        while alive.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        handle.abort();
        let _ = handle.await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let seen = alive.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(alive.load(Ordering::SeqCst), seen, "the task outlived its supervisor");
    }
}
