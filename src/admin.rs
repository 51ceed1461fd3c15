//! The admin token: the bearer credential of the management and trace APIs.
//!
//! Either given by the operator (`CASA_ADMIN_TOKEN`), or generated on first
//! start, printed once and written to `<data-dir>/admin-token` (0600). The
//! store only ever holds its SHA-256 digest.
//!
//! Two narrower credentials exist only when the operator makes them (an
//! environment variable, or `casa <role>-token rotate`): the viewer token
//! (read-only, for the Explorer UI and dashboards: `/trace`, `/stats`, `/mas`,
//! `/apps`, `/cluster`) and the collector token (what `casa collect` needs:
//! the directory of public keys and app addresses, revocation rules, and
//! posting `wire_*` findings), so a DaemonSet on every node never holds the
//! admin token.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use casa_actors::secret;
use casa_actors::store::Store;

use crate::config::Settings;

pub const ENV_VAR: &str = "CASA_ADMIN_TOKEN";
pub const FILE_NAME: &str = "admin-token";
const DIGEST_KEY: &str = "admin_token_sha256";

/// A token credential: where it comes from and what it is called.
pub struct Role {
    /// What it is called, for people ("viewer token (read-only)").
    pub what: &'static str,
    pub env_var: &'static str,
    /// Its file under the data dir, written by `rotate`.
    pub file_name: &'static str,
    digest_key: &'static str,
    prefix: &'static str,
}

/// The admin token; `ensure` also generates it on first start.
const ADMIN: Role = Role {
    what: "admin token",
    env_var: ENV_VAR,
    file_name: FILE_NAME,
    digest_key: DIGEST_KEY,
    prefix: secret::ADMIN_TOKEN_PREFIX,
};

/// The narrower credentials.
pub const VIEWER: Role = Role {
    what: "viewer token (read-only)",
    env_var: "CASA_VIEWER_TOKEN",
    file_name: "viewer-token",
    digest_key: "viewer_token_sha256",
    prefix: "casa_vt_",
};

pub const COLLECTOR: Role = Role {
    what: "collector token (casa collect only)",
    env_var: "CASA_COLLECTOR_TOKEN",
    file_name: "collector-token",
    digest_key: "collector_token_sha256",
    prefix: "casa_ct_",
};
/// Operator-chosen tokens shorter than this are refused: the admin token
/// guards every tenant.
pub const MIN_TOKEN_CHARS: usize = 32;
/// ... and so are tokens whose characters carry less than this (estimated from
/// their frequencies): `openssl rand -hex 16` passes, `password` × 4 does not.
pub const MIN_TOKEN_BITS: f64 = 96.0;

/// Refuses an operator-chosen token that is short or visibly not random.
fn check_operator_token(var: &str, token: &str) -> anyhow::Result<()> {
    if token.chars().count() < MIN_TOKEN_CHARS {
        bail!("{var} must be at least {MIN_TOKEN_CHARS} characters");
    }
    if estimated_bits(token) < MIN_TOKEN_BITS {
        bail!("{var} looks guessable (repeated characters); use e.g. `openssl rand -base64 32`");
    }
    Ok(())
}

/// Shannon entropy of the token's character frequencies times its length: an
/// upper bound of its strength, which catches repetition, not patterns.
fn estimated_bits(token: &str) -> f64 {
    let mut counts = std::collections::HashMap::<char, usize>::new();
    for c in token.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let n = token.chars().count() as f64;
    counts.values().map(|&k| -(k as f64) * (k as f64 / n).log2()).sum()
}

/// What a presented admin token is checked against.
#[derive(Clone)]
pub struct AdminCredential {
    digest: String,
}

impl AdminCredential {
    /// Constant-time check of a presented token.
    pub fn verify(&self, presented: &str) -> bool {
        secret::verify(presented, &self.digest)
    }
}

impl std::fmt::Debug for AdminCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminCredential(<redacted>)")
    }
}

/// Writes a secret file atomically with mode 0600, so it is never readable
/// by others, not even for an instant, and never half-written.
pub(crate) fn write_token_file(data_dir: &Path, name: &str, token: &str) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    let path: PathBuf = data_dir.join(name);
    let tmp = data_dir.join(format!(".{name}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(token.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn announce(what: &str, token: &str, path: &Path) {
    // Deliberately on stdout, not in the logs: shown once, to the operator.
    println!("casa {what} (shown once; also in {}):\n\n    {token}\n", path.display());
}

/// At `serve`, stdout is often a log collector's (systemd, Kubernetes): the
/// token is shown only to a terminal, else only where it is.
fn announce_at_start(what: &str, token: &str, path: &Path) {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        announce(what, token, path);
    } else {
        println!("casa generated the {what}: it is in {} (mode 0600)", path.display());
    }
}

/// The credential this node checks admin requests against, creating the
/// token on first start.
pub async fn ensure(store: &dyn Store, data_dir: &Path) -> anyhow::Result<AdminCredential> {
    if let Ok(token) = std::env::var(ENV_VAR) {
        let token = token.trim();
        check_operator_token(ENV_VAR, token)?;
        tracing::info!("admin token taken from {ENV_VAR}");
        return Ok(AdminCredential { digest: secret::digest(token) });
    }
    if let Some(digest) = store.get_meta(DIGEST_KEY).await? {
        return Ok(AdminCredential { digest });
    }
    let token = secret::generate(secret::ADMIN_TOKEN_PREFIX);
    let path = write_token_file(data_dir, FILE_NAME, &token)?;
    let digest = secret::digest(&token);
    store.put_meta(DIGEST_KEY, &digest).await?;
    announce_at_start("admin token", &token, &path);
    tracing::info!(path = %path.display(), "generated the admin token");
    Ok(AdminCredential { digest })
}

/// `casa admin-token rotate`: needs the data dir to itself.
pub async fn rotate_offline(settings: &Settings) -> anyhow::Result<()> {
    rotate_role_offline(settings, &ADMIN).await
}

/// The role's credential, if the operator made one: from its environment
/// variable, else the digest `rotate` stored. It must differ from the admin
/// token (or its holder could do anything).
pub async fn role_credential(
    store: &dyn Store,
    admin: &AdminCredential,
    role: &Role,
) -> anyhow::Result<Option<AdminCredential>> {
    let digest = match std::env::var(role.env_var) {
        Ok(token) => {
            let token = token.trim();
            check_operator_token(role.env_var, token)?;
            if admin.verify(token) {
                bail!("{} must differ from the admin token", role.env_var);
            }
            tracing::info!("{} taken from {}", role.what, role.env_var);
            secret::digest(token)
        }
        Err(_) => match store.get_meta(role.digest_key).await? {
            Some(digest) => digest,
            None => return Ok(None),
        },
    };
    Ok(Some(AdminCredential { digest }))
}

/// `casa <role>-token rotate` (admin, viewer, collector): creates or
/// replaces the role's token; needs the data dir to itself.
pub async fn rotate_role_offline(settings: &Settings, role: &Role) -> anyhow::Result<()> {
    let store = crate::server::store(settings).await?;
    let token = secret::generate(role.prefix);
    let path = write_token_file(&settings.data_dir, role.file_name, &token)?;
    store.put_meta(role.digest_key, &secret::digest(&token)).await?;
    announce(role.what, &token, &path);
    if !matches!(settings.store_location()?, crate::config::StoreLocation::Embedded) {
        eprintln!("note: running nodes keep the old {} until they restart", role.what);
    }
    if std::env::var_os(role.env_var).is_some() {
        eprintln!("note: {} is set; while it is, casa uses it instead of this token", role.env_var);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_tokens_must_look_random() {
        for weak in ["short", &"a".repeat(64), &"password".repeat(4), &"ab".repeat(40)] {
            assert!(check_operator_token(ENV_VAR, weak).is_err(), "{weak} was accepted");
        }
        // `openssl rand -hex 16`, `-base64 32`, and what `casa` generates.
        for strong in [
            "9f86d081884c7d659a2feaa0c55ad015",
            "q3XbZ0n8mJ4ur5w1T9yVh2cLkE7dRsGoPaFiNwBx3Yc=",
            &secret::generate("casa_at_"),
        ] {
            check_operator_token(ENV_VAR, strong).unwrap_or_else(|e| panic!("{strong}: {e}"));
        }
    }
}
