//! A thread of its own, below request priority, for work no request waits
//! on (the trail's hash chain and commits). On a busy node such work took
//! turns with requests on the async workers and the cores: at nice 10 the
//! scheduler runs it in the time requests leave.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use tokio::sync::oneshot;

/// How much lower than request threads (nice 0) the work runs.
pub const NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// The queue of one background thread, which stops when this is dropped.
pub struct Background {
    jobs: mpsc::Sender<Job>,
    name: &'static str,
}

/// The job panicked or the thread is gone.
#[derive(Debug, thiserror::Error)]
#[error("the {0} thread failed its job")]
pub struct Failed(&'static str);

impl Background {
    /// Starts the thread `name` at [`NICE`].
    pub fn start(name: &'static str) -> Self {
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                // SAFETY: setpriority on this thread's own id; a failure leaves it at nice 0.
                unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, NICE) };
                while let Ok(job) = rx.recv() {
                    job();
                }
            })
            .unwrap_or_else(|e| panic!("spawning the {name} thread: {e}"));
        Self { jobs, name }
    }

    /// Runs `f` on the thread; returns its result once it has run. A panic
    /// in `f` is returned as [`Failed`] and leaves the thread running.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, Failed> {
        let name = self.name;
        let (done, finished) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(catch_unwind(AssertUnwindSafe(f)));
        });
        self.jobs.send(job).map_err(|_| Failed(name))?;
        finished.await.map_err(|_| Failed(name))?.map_err(|_| Failed(name))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The nice value of this process's thread named `name`, from /proc.
    pub(crate) fn nice_of(name: &str) -> Option<i32> {
        std::fs::read_dir("/proc/self/task").ok()?.flatten().find_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            if comm.trim() != name {
                return None;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            // Fields after the parenthesised command: state is field 3, nice field 19.
            stat.rsplit_once(')')?.1.split_whitespace().nth(16)?.parse().ok()
        })
    }

    #[tokio::test]
    async fn jobs_run_in_order_below_request_priority_and_survive_a_panic() {
        let bg = Background::start("casa-bg-test");
        assert_eq!(bg.run(|| 1 + 1).await.unwrap(), 2);
        assert_eq!(nice_of("casa-bg-test"), Some(NICE));
        assert!(bg.run(|| panic!("boom")).await.is_err());
        assert_eq!(bg.run(|| "still running").await.unwrap(), "still running");
    }
}
