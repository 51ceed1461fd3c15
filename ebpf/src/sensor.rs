//! Loads the kernel programs, attaches each hook on its own, and hands out
//! the ring buffer. Every hook ends up attached, degraded or unavailable with
//! a reason; nothing here panics or stops the caller.
use std::fs::File;
use std::path::PathBuf;

use aya::maps::{MapData, PerCpuArray, RingBuf};
use aya::programs::tc::{TcAttachOptions, TcAttachType};
use aya::programs::{CgroupAttachMode, LinkOrder, SchedClassifier, SockOps};
use aya::{Ebpf, EbpfLoader};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use std::os::fd::{AsFd, AsRawFd};
use tokio::io::unix::AsyncFd;

use crate::record::{decode, DecodeError, Record};
use crate::tls;

/// The object built by build.rs (empty when clang was missing at build time).
static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/collector.bpf.o"));

/// Whether build.rs compiled the kernel programs (clang was present).
pub fn object_built() -> bool {
    !OBJECT.is_empty()
}

pub const DEFAULT_SCAN_LIMIT: u32 = 16 * 1024;
pub const MAX_SCAN_LIMIT: u32 = 16 * 1024;
/// 8 MiB: user space maps the ring twice (it wraps), so it counts twice in RSS.
pub const DEFAULT_RING_BYTES: u32 = 8 << 20;

#[derive(Clone, Debug)]
pub struct SensorConfig {
    /// Interfaces for the TCX ingress and egress classifiers (egress alone on lo).
    pub interfaces: Vec<String>,
    /// Bytes of each request scanned for the Authorization header.
    pub scan_limit: u32,
    /// Ring buffer size (a power of two, multiple of the page size).
    pub ring_bytes: u32,
    /// cgroup v2 directory for sock_ops; found in /proc/mounts when None.
    pub cgroup: Option<PathBuf>,
    /// Kernel BTF; `/sys/kernel/btf/vmlinux` when None.
    pub btf: Option<PathBuf>,
    /// libssl SSL_write uprobes: ELF files defining SSL_write (every process
    /// mapping them), and processes whose mapped libssl is hooked for them alone.
    pub tls_binaries: Vec<PathBuf>,
    pub tls_pids: Vec<u32>,
}

impl Default for SensorConfig {
    fn default() -> Self {
        Self {
            interfaces: vec!["lo".into()],
            scan_limit: DEFAULT_SCAN_LIMIT,
            ring_bytes: DEFAULT_RING_BYTES,
            cgroup: None,
            btf: None,
            tls_binaries: Vec::new(),
            tls_pids: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HookState {
    Attached,
    Degraded { reason: String, lost: u64 },
    Unavailable { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Hook {
    /// e.g. `tcx_egress:lo`, `tcx_ingress:eth0`, `sock_ops`, `tls_uprobe`.
    pub name: String,
    #[serde(flatten)]
    pub state: HookState,
}

/// Sums of the per-CPU kernel counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub scanned: u64,
    pub matched: u64,
    pub reserve_failures: u64,
    pub truncated: u64,
    pub continued: u64,
    pub responses: u64,
    /// Packets the classifiers ran on, and those with a TCP payload.
    pub packets: u64,
    pub payloads: u64,
    /// SSL_write calls the TLS uprobes ran on.
    pub tls_writes: u64,
}

/// Whether the kernel's BTF could be read, and what that means here.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KernelBtf {
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub struct Sensor {
    ebpf: Ebpf,
    hooks: Vec<Hook>,
    ring: Option<RingBuf<MapData>>,
    btf: KernelBtf,
}

pub(crate) fn unavailable(name: &str, reason: impl Into<String>) -> Hook {
    Hook { name: name.into(), state: HookState::Unavailable { reason: reason.into() } }
}

/// The TCX directions hooked on `iface`. On a loopback device every packet
/// that arrives is one that has just left it: egress alone sees each once,
/// and half the program runs (and a link) are saved.
fn tcx_directions(iface: &str) -> &'static [(TcAttachType, &'static str)] {
    const BOTH: &[(TcAttachType, &str)] = &[(TcAttachType::Ingress, "ingress"), (TcAttachType::Egress, "egress")];
    const EGRESS: &[(TcAttachType, &str)] = &[(TcAttachType::Egress, "egress")];
    if is_loopback(iface) {
        EGRESS
    } else {
        BOTH
    }
}

/// Whether `iface` is this namespace's loopback device (the kernel gives it
/// ifindex 1 in every namespace).
fn is_loopback(iface: &str) -> bool {
    let Ok(name) = std::ffi::CString::new(iface) else { return false };
    // SAFETY: if_nametoindex reads the NUL-terminated name it is given.
    unsafe { libc::if_nametoindex(name.as_ptr()) == 1 }
}

fn all_unavailable(cfg: &SensorConfig, reason: &str) -> Vec<Hook> {
    let mut v: Vec<Hook> = cfg
        .interfaces
        .iter()
        .flat_map(|i| tcx_directions(i).iter().map(move |(_, dir)| format!("tcx_{dir}:{i}")))
        .map(|n| unavailable(&n, reason))
        .collect();
    v.push(unavailable("sock_ops", reason));
    v.extend(tls::hook_names(&cfg.tls_binaries, &cfg.tls_pids).iter().map(|n| unavailable(n, reason)));
    v
}

/// Whether the kernel's BTF is there. The programs use no CO-RE relocation
/// (they are built from uapi headers), so casa does not parse it (that was
/// 12-23 ms of every start; aya 0.14's `EbpfLoader::new()` still parses it
/// once, with no way around it) and its absence is reported, not fatal: only
/// the header's magic number is read.
fn kernel_btf(path: Option<&std::path::Path>) -> KernelBtf {
    use std::io::Read;
    const BTF_MAGIC: [u8; 2] = 0xeb9f_u16.to_ne_bytes();
    let path = path.unwrap_or(std::path::Path::new("/sys/kernel/btf/vmlinux"));
    let mut magic = [0u8; 2];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic));
    let problem = match read {
        Ok(()) if magic == BTF_MAGIC => return KernelBtf { available: true, reason: None },
        Ok(()) => "not BTF (wrong magic number)".to_string(),
        Err(e) => e.to_string(),
    };
    let reason =
        format!("no kernel BTF ({}: {problem}); not needed: the programs use no CO-RE relocations", path.display());
    KernelBtf { available: false, reason: Some(reason) }
}

/// Why loading failed, in words an operator can act on.
pub(crate) fn explain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        // aya's errors often repeat their source in their own message.
        let part = c.to_string();
        if !s.contains(&part) {
            s.push_str(": ");
            s.push_str(&part);
        }
        src = c.source();
    }
    if s.contains("Operation not permitted") || s.contains("EPERM") {
        s.push_str(" (needs root or CAP_BPF+CAP_NET_ADMIN+CAP_PERFMON)");
    } else if s.contains("Function not implemented") || s.contains("ENOSYS") {
        s.push_str(" (this kernel, or the sandbox casa runs in, offers no bpf() system call)");
    }
    s
}

pub fn cgroup2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        let (_, dir, fstype) = (f.next()?, f.next()?, f.next()?);
        (fstype == "cgroup2").then(|| PathBuf::from(dir))
    })
}

impl Sensor {
    /// Loads and attaches. Err only when nothing could be loaded at all; the
    /// hooks then say why.
    pub fn start(cfg: &SensorConfig) -> Result<Sensor, Vec<Hook>> {
        if OBJECT.is_empty() {
            return Err(all_unavailable(cfg, "BPF object not built (clang was missing when casa was compiled)"));
        }
        if cfg.scan_limit == 0 || cfg.scan_limit > MAX_SCAN_LIMIT {
            return Err(all_unavailable(cfg, &format!("scan limit must be 1..={MAX_SCAN_LIMIT} bytes")));
        }
        let kbtf = kernel_btf(cfg.btf.as_deref());
        let mut ebpf = match EbpfLoader::new()
            .btf(None)
            .override_global("scan_limit", &cfg.scan_limit, true)
            .map_max_entries("records", cfg.ring_bytes)
            .load(OBJECT)
        {
            Ok(e) => e,
            Err(e) => return Err(all_unavailable(cfg, &format!("load: {}", explain(&e)))),
        };
        let mut hooks = Vec::new();
        let hook = |dir: &str, iface: &str, state| Hook { name: format!("tcx_{dir}:{iface}"), state };
        // One program for both directions (it tells them apart itself), so
        // it is verified once.
        let mut tcx = match ebpf.program_mut("casa_tcx").map(TryInto::<&mut SchedClassifier>::try_into) {
            Some(Ok(p)) => p.load().map(|()| p).map_err(|e| format!("verifier: {}", explain(&e))),
            Some(Err(e)) => Err(explain(&e)),
            None => Err("program missing from the object".to_string()),
        };
        for iface in &cfg.interfaces {
            for &(ty, dir) in tcx_directions(iface) {
                let state = match &mut tcx {
                    // TCX links only: no clsact qdisc is ever created, so
                    // detaching leaves nothing behind.
                    Ok(p) => match p.attach_with_options(iface, ty, TcAttachOptions::TcxOrder(LinkOrder::default())) {
                        Ok(_) => HookState::Attached,
                        Err(e) => HookState::Unavailable { reason: format!("attach: {}", explain(&e)) },
                    },
                    Err(reason) => HookState::Unavailable { reason: reason.clone() },
                };
                hooks.push(hook(dir, iface, state));
            }
        }
        hooks.push(Self::attach_sock_ops(&mut ebpf, cfg));
        hooks.extend(tls::attach(&mut ebpf, &cfg.tls_binaries, &cfg.tls_pids));
        let ring = match ebpf.take_map("records").map(RingBuf::try_from) {
            Some(Ok(r)) => Some(r),
            _ => None,
        };
        if ring.is_none() {
            return Err(all_unavailable(cfg, "the records ring buffer is missing"));
        }
        Ok(Sensor { ebpf, hooks, ring, btf: kbtf })
    }

    fn attach_sock_ops(ebpf: &mut Ebpf, cfg: &SensorConfig) -> Hook {
        let r = (|| -> Result<(), String> {
            let dir = cfg.cgroup.clone().or_else(cgroup2_root).ok_or("no cgroup v2 mount (senders come from /proc)")?;
            let p: &mut SockOps = ebpf
                .program_mut("casa_sockops")
                .ok_or("program missing from the object")?
                .try_into()
                .map_err(|e: aya::programs::ProgramError| explain(&e))?;
            p.load().map_err(|e| format!("verifier: {}", explain(&e)))?;
            let f = File::open(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            // Single: aya attaches with a bpf_link, which coexists with other programs anyway.
            p.attach(f, CgroupAttachMode::Single).map_err(|e| format!("attach: {}", explain(&e)))?;
            Ok(())
        })();
        match r {
            Ok(()) => Hook { name: "sock_ops".into(), state: HookState::Attached },
            Err(reason) => unavailable("sock_ops", format!("{reason}; senders come from /proc")),
        }
    }

    pub fn kernel_btf(&self) -> &KernelBtf {
        &self.btf
    }

    /// Hook states, with tcx hooks degraded once the kernel lost a record.
    pub fn hooks(&self) -> Vec<Hook> {
        let lost = self.counters().reserve_failures;
        self.hooks
            .iter()
            .cloned()
            .map(|mut h| {
                let records = h.name.starts_with("tcx_") || h.name.starts_with("tls_uprobe:");
                if lost > 0 && records && h.state == HookState::Attached {
                    h.state =
                        HookState::Degraded { reason: "ring buffer full: records lost in the kernel".into(), lost };
                }
                h
            })
            .collect()
    }

    pub fn counters(&self) -> Counters {
        let Some(map) = self.ebpf.map("counters") else { return Counters::default() };
        let Ok(arr) = PerCpuArray::<_, u64>::try_from(map) else { return Counters::default() };
        let get = |i: u32| arr.get(&i, 0).map(|v| v.iter().sum()).unwrap_or(0);
        Counters {
            scanned: get(0),
            matched: get(1),
            reserve_failures: get(2),
            truncated: get(3),
            continued: get(4),
            responses: get(5),
            packets: get(6),
            payloads: get(7),
            tls_writes: get(8),
        }
    }

    /// The ring buffer, once: the caller drains it. Call inside a tokio runtime.
    pub fn take_records(&mut self) -> Option<Records> {
        let ring = self.ring.take()?;
        let timer = PollTimer::new().ok()?;
        // SAFETY: the ring buffer owns its map fd until it is dropped with the AsyncFd.
        let fd = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }.ok()?;
        Some(Records { fd, timer, poll: POLL_BUSY, armed: None })
    }
}

/// The ring buffer as an async source of raw records.
pub struct Records {
    fd: AsyncFd<RingBuf<MapData>>,
    timer: AsyncFd<PollTimer>,
    poll: std::time::Duration,
    /// The period the timer runs at now.
    armed: Option<std::time::Duration>,
}

/// How often the ring buffer is read when the programs have not woken the
/// reader: they wake it only once 64 KiB wait (see `wakeup()` in the C).
/// Every 1.5 ms while records come: a record then waits ~0.75 ms for the
/// reader on average, under the 1 ms target, and each wakeup costs the
/// thread ~17 µs on a busy 2-core VM (at 1 ms, a third of its time at
/// 10,000 requests/s). An idle reader backs off to every 8 ms (an idle node
/// polled every millisecond spent 1.7 % of a core).
const POLL_BUSY: std::time::Duration = std::time::Duration::from_micros(1500);
const POLL_IDLE: std::time::Duration = std::time::Duration::from_millis(8);

/// A periodic `timerfd` for the poll ticks, set again only when the period
/// changes (one syscall a wakeup fewer than a one-shot deadline). tokio's
/// timer rounds each wait up to its next millisecond tick, which made a 1 ms
/// poll 1–2 ms.
struct PollTimer(TimerFd);

impl PollTimer {
    fn new() -> std::io::Result<AsyncFd<Self>> {
        let t = TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC)?;
        // SAFETY: the TimerFd owns its fd until it is dropped with the AsyncFd.
        unsafe { AsyncFd::register_with_interest(Self(t), tokio::io::Interest::READABLE) }.map_err(std::io::Error::from)
    }

    /// Consumes an expiry; `WouldBlock` when the deadline has not passed
    /// (readiness left over from a deadline before the last re-arm).
    fn expired(&self) -> std::io::Result<()> {
        Ok(self.0.wait()?)
    }
}

impl AsRawFd for PollTimer {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl Records {
    /// Waits for records and hands each one decoded to `f`; returns how many
    /// were read (decode errors are passed on, never dropped silently).
    pub async fn drain(&mut self, mut f: impl FnMut(Result<Record, DecodeError>)) -> std::io::Result<usize> {
        loop {
            let ring = self.fd.get_mut();
            let mut n = 0;
            while let Some(item) = ring.next() {
                f(decode(&item));
                n += 1;
            }
            if n > 0 {
                self.poll = POLL_BUSY;
                return Ok(n);
            }
            if self.armed != Some(self.poll) {
                // Re-arming resets the expiry count: the timer is not readable before its first new tick.
                let every = Expiration::Interval(TimeSpec::from_duration(self.poll));
                self.timer.get_ref().0.set(every, TimerSetTimeFlags::empty())?;
                self.armed = Some(self.poll);
            }
            tokio::select! {
                ready = self.fd.readable_mut() => ready?.clear_ready(),
                ready = self.timer.readable() => {
                    let mut guard = ready?;
                    if let Ok(expired) = guard.try_io(|t| t.get_ref().expired()) {
                        expired?;
                        guard.clear_ready();
                        self.poll = (self.poll * 2).min(POLL_IDLE); // an empty poll tick
                    }
                }
            }
        }
    }
}
