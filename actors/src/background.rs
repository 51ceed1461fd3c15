//! A thread of its own, below request priority, for work no request waits
//! on (the trail's hash chain and commits). On a busy node such work took
//! turns with requests on the async workers and the cores.
//!
//! While that work keeps up, its threads run as `SCHED_IDLE`: any request
//! thread that wakes preempts them at once. At nice 10 a woken request still
//! waited for the scheduler to end the background thread's turn, and that
//! was most of the exchange tail at 5,000/s (p99 ~3.7 ms at nice 10, ~1.8 ms
//! idle, `docs/benchmarks.md`). Idle time alone does not keep up at
//! saturation or on a machine busy with other work, so once the work falls
//! behind (its owner says so, or a job waited [`PATIENCE`]) the threads run
//! at nice 10, a share of a busy CPU, until its owner says it has caught up. Leaving
//! `SCHED_IDLE` needs privilege (root, `CAP_SYS_NICE`, or `RLIMIT_NICE` of at
//! least 10, e.g. systemd's `LimitNICE=10`); without it the threads stay at
//! nice 10 throughout, never stuck in idle time.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::oneshot;

/// How much lower than request threads (nice 0) the work runs once it is behind.
pub const NICE: i32 = 10;

/// The longest a job waits in idle time before the threads leave it.
pub const PATIENCE: Duration = Duration::from_millis(100);

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

/// Every background thread of the process, by thread id.
static THREADS: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());
static BEHIND: AtomicBool = AtomicBool::new(false);

/// Says whether background work is behind: its threads then leave idle time
/// for nice 10, and return to idle time once it is not. Process-wide (one
/// trail per node); cheap when nothing changes.
pub fn behind(yes: bool) {
    if BEHIND.load(Ordering::Relaxed) == yes || !idle_is_reversible() {
        return;
    }
    let threads = THREADS.lock().unwrap_or_else(|p| p.into_inner());
    if BEHIND.swap(yes, Ordering::Relaxed) != yes {
        if yes {
            metrics::counter!(crate::telemetry::BACKGROUND_BEHIND.name).increment(1);
        }
        for &tid in threads.iter() {
            set_idle(tid, !yes);
        }
    }
}

/// Whether background work is behind now.
pub fn is_behind() -> bool {
    BEHIND.load(Ordering::Relaxed)
}

/// Puts thread `tid` (already at [`NICE`]) in idle time or back at nice 10;
/// the policy change keeps its nice value.
fn set_idle(tid: libc::pid_t, idle: bool) -> bool {
    let policy = if idle { libc::SCHED_IDLE } else { libc::SCHED_OTHER };
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler reads `param`; an unknown tid is an error, not UB.
    unsafe { libc::sched_setscheduler(tid, policy, &param) == 0 }
}

/// Whether a thread of this process that enters idle time may leave it
/// again, tried once on a throwaway thread (a thread that could not would
/// be stuck below everything else on the machine).
pub fn idle_is_reversible() -> bool {
    static REVERSIBLE: OnceLock<bool> = OnceLock::new();
    *REVERSIBLE.get_or_init(|| {
        std::thread::spawn(|| {
            let me = gettid();
            lower(me);
            set_idle(me, true) && set_idle(me, false)
        })
        .join()
        .unwrap_or(false)
    })
}

fn gettid() -> libc::pid_t {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

fn lower(tid: libc::pid_t) {
    // SAFETY: setpriority on a thread id of this process; a failure leaves it at nice 0.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICE) };
}

/// This thread, registered so [`behind`] reaches it, until dropped.
struct Registered(libc::pid_t);

impl Registered {
    fn this_thread() -> Self {
        let tid = gettid();
        lower(tid);
        let reversible = idle_is_reversible();
        let mut threads = THREADS.lock().unwrap_or_else(|p| p.into_inner());
        if reversible && !BEHIND.load(Ordering::Relaxed) {
            set_idle(tid, true);
        }
        threads.push(tid);
        Self(tid)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // Before the thread ends, so its id (which may be reused) is not changed later.
        THREADS.lock().unwrap_or_else(|p| p.into_inner()).retain(|&t| t != self.0);
    }
}

impl Background {
    /// Starts the thread `name`, in idle time or at [`NICE`] (see the module).
    pub fn start(name: &'static str) -> Self {
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _registered = Registered::this_thread();
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
        let (done, mut finished) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(catch_unwind(AssertUnwindSafe(f)));
        });
        self.jobs.send(job).map_err(|_| Failed(name))?;
        let result = match tokio::time::timeout(PATIENCE, &mut finished).await {
            Ok(result) => result,
            Err(_) => {
                behind(true);
                finished.await
            }
        };
        result.map_err(|_| Failed(name))?.map_err(|_| Failed(name))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Fields of /proc's stat for this process's thread named `name`,
    /// counted from the state (field 3 of stat(5)).
    fn stat_of(name: &str) -> Option<Vec<String>> {
        std::fs::read_dir("/proc/self/task").ok()?.flatten().find_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            if comm.trim() != name {
                return None;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            Some(stat.rsplit_once(')')?.1.split_whitespace().map(str::to_string).collect())
        })
    }

    /// The nice value of this process's thread named `name` (stat field 19).
    pub(crate) fn nice_of(name: &str) -> Option<i32> {
        stat_of(name)?.get(16)?.parse().ok()
    }

    /// The scheduling policy of the thread named `name` (stat field 41).
    pub(crate) fn policy_of(name: &str) -> Option<i32> {
        stat_of(name)?.get(38)?.parse().ok()
    }

    /// Below request priority: nice 10, and in idle time or out of it only
    /// where it may return (which of the two is the process-wide switch's).
    pub(crate) fn assert_below_requests(name: &str) {
        assert_eq!(nice_of(name), Some(NICE), "{name}");
        let policy = policy_of(name);
        if idle_is_reversible() {
            assert!(matches!(policy, Some(libc::SCHED_IDLE | libc::SCHED_OTHER)), "{name}: {policy:?}");
        } else {
            assert_eq!(policy, Some(libc::SCHED_OTHER), "{name}");
        }
    }

    #[tokio::test]
    async fn jobs_run_in_order_below_request_priority_and_survive_a_panic() {
        let bg = Background::start("casa-bg-test");
        assert_eq!(bg.run(|| 1 + 1).await.unwrap(), 2);
        assert_below_requests("casa-bg-test");
        assert!(bg.run(|| panic!("boom")).await.is_err());
        assert_eq!(bg.run(|| "still running").await.unwrap(), "still running");
    }
}
