//! Builds `bpf/collector.bpf.c` with clang (`-O2 -g -target bpf`) into OUT_DIR.
//!
//! Without clang the crate still builds: the object is empty and the
//! collector reports every hook unavailable ("built without clang"), so a
//! build machine without the BPF toolchain never breaks `casa`.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("collector.bpf.o");
    println!("cargo:rerun-if-changed=bpf/collector.bpf.c");
    println!("cargo:rerun-if-changed=bpf/collector.h");
    println!("cargo:rerun-if-env-changed=CASA_BPF_CLANG");
    let clang = std::env::var("CASA_BPF_CLANG").unwrap_or_else(|_| "clang".into());
    // Debian keeps asm/ under the multiarch directory.
    let multiarch = format!("-I/usr/include/{}-linux-gnu", std::env::consts::ARCH);
    // The uprobes read their arguments from pt_regs, whose layout is the target's.
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x86",
        "aarch64" => "arm64",
        other => other,
    };
    let target_arch = format!("-D__TARGET_ARCH_{arch}");
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-Wall", &multiarch, &target_arch, "-c", "bpf/collector.bpf.c", "-o"])
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => {
            println!("cargo:warning=clang failed ({s}) on bpf/collector.bpf.c: the collector will be unavailable");
            std::fs::write(&out, b"").unwrap();
        }
        Err(e) => {
            println!(
                "cargo:warning=no {clang} ({e}): the collector will be unavailable (apt-get install clang libbpf-dev)"
            );
            std::fs::write(&out, b"").unwrap();
        }
    }
}
