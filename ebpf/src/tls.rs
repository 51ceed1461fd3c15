//! Opt-in TLS: entry uprobes on libssl's `SSL_write` and `SSL_write_ex`, which
//! see a request's plaintext in the writing process before it is encrypted.
//! Only OpenSSL's libssl is coverable: rustls, Go's crypto/tls and other
//! stacks linked into a binary have no stable symbol to probe.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use aya::programs::uprobe::UProbeScope;
use aya::programs::UProbe;
use aya::Ebpf;

use crate::sensor::{explain, unavailable, Hook, HookState};

/// (program in the object, libssl symbol it is attached to).
const PROGRAMS: [(&str, &str); 2] = [("casa_ssl_write", "SSL_write"), ("casa_ssl_write_ex", "SSL_write_ex")];

/// A PID's libssl, found by basename in its `/proc/<pid>/maps`.
const LIBSSL: &str = "libssl.so.3";

const OFF: &str = "off: no libssl binary or PID configured (--collector-tls-binaries, --collector-tls-pids); \
                   TLS from rustls or Go's crypto/tls is never coverable";

/// Where one pair of uprobes goes: a file (every process mapping it) or one process's libssl.
struct Target {
    name: String,
    path: PathBuf,
    scope: UProbeScope,
}

fn targets(binaries: &[PathBuf], pids: &[u32]) -> Vec<Result<Target, Hook>> {
    let files = binaries.iter().map(|b| {
        Ok(Target { name: format!("tls_uprobe:{}", b.display()), path: b.clone(), scope: UProbeScope::AllProcesses })
    });
    let procs = pids.iter().map(|&pid| {
        let name = format!("tls_uprobe:pid:{pid}");
        match NonZeroU32::new(pid) {
            Some(p) => Ok(Target { name, path: LIBSSL.into(), scope: UProbeScope::OneProcess(p) }),
            None => Err(unavailable(&name, "PID 0 is not a process")),
        }
    });
    files.chain(procs).collect()
}

/// The hook names a configuration reports, whether or not they attach.
pub fn hook_names(binaries: &[PathBuf], pids: &[u32]) -> Vec<String> {
    if binaries.is_empty() && pids.is_empty() {
        return vec!["tls_uprobe".into()];
    }
    targets(binaries, pids).into_iter().map(|t| t.map_or_else(|h| h.name, |t| t.name)).collect()
}

/// Loads the uprobe programs and attaches them to each target; one hook per target.
pub fn attach(ebpf: &mut Ebpf, binaries: &[PathBuf], pids: &[u32]) -> Vec<Hook> {
    if binaries.is_empty() && pids.is_empty() {
        return vec![unavailable("tls_uprobe", OFF)];
    }
    let targets = targets(binaries, pids);
    // Per target, the symbols that failed to attach and why.
    let mut failures: Vec<Vec<String>> = vec![Vec::new(); targets.len()];
    for (program, symbol) in PROGRAMS {
        let probe = match load(ebpf, program) {
            Ok(p) => p,
            Err(reason) => {
                failures.iter_mut().for_each(|f| f.push(format!("{symbol}: {reason}")));
                continue;
            }
        };
        for (t, f) in targets.iter().zip(failures.iter_mut()) {
            let Ok(t) = t else { continue };
            if let Err(e) = probe.attach(symbol, &t.path, t.scope) {
                f.push(format!("{symbol}: {}", explain(&e)));
            }
        }
    }
    targets
        .into_iter()
        .zip(failures)
        .map(|(t, failed)| match t {
            Err(hook) => hook,
            Ok(t) => Hook { state: state(&t.path, failed), name: t.name },
        })
        .collect()
}

fn load<'a>(ebpf: &'a mut Ebpf, program: &str) -> Result<&'a mut UProbe, String> {
    let p: &mut UProbe = ebpf
        .program_mut(program)
        .ok_or("program missing from the object")?
        .try_into()
        .map_err(|e: aya::programs::ProgramError| explain(&e))?;
    p.load().map_err(|e| format!("verifier: {}", explain(&e)))?;
    Ok(p)
}

/// Both symbols attached: attached; one: degraded (writes through the other
/// are missed); none: unavailable.
fn state(path: &Path, failed: Vec<String>) -> HookState {
    match failed.len() {
        0 => HookState::Attached,
        n if n < PROGRAMS.len() => HookState::Degraded { reason: failed.join("; "), lost: 0 },
        _ => HookState::Unavailable { reason: format!("{}: {}", path.display(), failed.join("; ")) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_which_file_or_process_each_hook_covers() {
        assert_eq!(hook_names(&[], &[]), ["tls_uprobe"]);
        let names = hook_names(&["/usr/lib/x86_64-linux-gnu/libssl.so.3".into()], &[42, 0]);
        assert_eq!(
            names,
            ["tls_uprobe:/usr/lib/x86_64-linux-gnu/libssl.so.3", "tls_uprobe:pid:42", "tls_uprobe:pid:0"]
        );
    }

    #[test]
    fn one_missing_symbol_degrades_and_two_make_it_unavailable() {
        let p = Path::new("/lib/libssl.so.3");
        assert_eq!(state(p, vec![]), HookState::Attached);
        assert!(matches!(state(p, vec!["SSL_write_ex: no symbol".into()]), HookState::Degraded { .. }));
        assert!(matches!(state(p, vec!["a".into(), "b".into()]), HookState::Unavailable { .. }));
    }
}
