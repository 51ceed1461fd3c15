//! Background threads leave idle time when their work falls behind and
//! return once it has caught up. Its own test binary: the switch is
//! process-wide, and no trace writer of another test flips it here.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use casa_actors::background::{self, Background, NICE};

/// (policy, nice) of this process's thread named `name`, from /proc (stat fields 41 and 19).
fn scheduling_of(name: &str) -> (i32, i32) {
    let task = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .find(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .unwrap_or_else(|| panic!("no thread named {name}"));
    let stat = std::fs::read_to_string(task.path().join("stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    (fields[38].parse().unwrap(), fields[16].parse().unwrap())
}

/// CPU time this thread has used.
fn thread_cpu_time() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    assert_eq!(unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) }, 0);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

const IDLE: (i32, i32) = (libc::SCHED_IDLE, NICE);
const NICE_10: (i32, i32) = (libc::SCHED_OTHER, NICE);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_work_leaves_idle_time_when_behind_and_returns_once_caught_up() {
    if !background::idle_is_reversible() {
        // Then the threads run at nice 10 throughout (the unit tests check that).
        eprintln!("skipped: this process may not leave SCHED_IDLE (not root, no CAP_SYS_NICE, RLIMIT_NICE < 10)");
        return;
    }
    let bg = Background::start("casa-bg-switch");
    bg.run(|| ()).await.unwrap();
    assert_eq!(scheduling_of("casa-bg-switch"), IDLE, "work that keeps up runs in idle time");

    // Its owner says it is behind, then caught up.
    background::behind(true);
    assert_eq!(scheduling_of("casa-bg-switch"), NICE_10, "leaving idle time keeps nice 10");
    let late = Background::start("casa-bg-late");
    late.run(|| ()).await.unwrap();
    assert_eq!(scheduling_of("casa-bg-late"), NICE_10, "a thread started while behind starts at nice 10");
    background::behind(false);
    assert_eq!(scheduling_of("casa-bg-switch"), IDLE);
    assert_eq!(scheduling_of("casa-bg-late"), IDLE);

    // A job starved of idle time by busy request-priority threads: after
    // PATIENCE the threads leave idle time, so it finishes. The job needs
    // 5 ms of its own CPU time (not of the clock: a job preempted for 5 ms
    // would be done at its next turn), and starts once every spinner spins.
    let busy = Arc::new(AtomicBool::new(true));
    let spinning = Arc::new(AtomicUsize::new(0));
    let spinners: Vec<_> = (0..4)
        .map(|_| {
            let (busy, spinning) = (busy.clone(), spinning.clone());
            std::thread::spawn(move || {
                spinning.fetch_add(1, Ordering::Relaxed);
                while busy.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    while spinning.load(Ordering::Relaxed) < spinners.len() {
        std::thread::yield_now();
    }
    let started = Instant::now();
    let spin_for = |cpu: Duration| {
        let t = thread_cpu_time();
        while thread_cpu_time() - t < cpu {
            std::hint::spin_loop();
        }
    };
    bg.run(move || spin_for(Duration::from_millis(5))).await.unwrap();
    let waited = started.elapsed();
    busy.store(false, Ordering::Relaxed);
    spinners.into_iter().for_each(|s| s.join().unwrap());
    assert!(background::is_behind(), "a job that waited {waited:?} did not leave idle time");
    assert_eq!(scheduling_of("casa-bg-switch"), NICE_10);
    background::behind(false);
}
