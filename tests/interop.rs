//! Interoperability: PyJWT verifies casa's tokens from the JWKS alone, and
//! authlib runs client credentials and RFC 8693 exchange against casa.
//! The Python environment comes from `scripts/test` (tests/interop/requirements.txt).

mod common;

use common::*;

fn python() -> String {
    std::env::var("CASA_INTEROP_PYTHON")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python3").into())
}

#[test]
fn pyjwt_and_authlib_interoperate_with_casa() {
    let python = python();
    assert!(
        std::path::Path::new(&python).exists(),
        "{python} is missing: run scripts/test, which creates the interop environment"
    );
    let casa = Casa::start();
    let out = std::process::Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/interop.py"))
        .arg(casa.url(""))
        .arg(&casa.admin)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("interop: ok"),
        "interop failed:\n{stdout}\n{stderr}\n{}",
        casa.logs()
    );
}
