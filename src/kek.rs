//! The key-encryption key (KEK) the store seals realm private keys with
//! (`casa_actors::store::sealing`): never in the store itself.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use casa_actors::store::{KeySeal, LocalKek};

use crate::config::Settings;

/// The KEK itself (64 hex digits), for deployments that inject secrets as variables.
pub const ENV: &str = "CASA_KEY_ENCRYPTION_KEY";
/// Where a node on the embedded store keeps the KEK it made, in its data dir
/// (beside the database file, not in it: a copy of the database alone signs nothing).
pub const GENERATED: &str = "key-encryption-key";

/// The KEK the settings name: `CASA_KEY_ENCRYPTION_KEY`, or the
/// `key_encryption_key_file`; else, on the embedded store, one made in the
/// data dir on first start. A CQL store given none keeps realm keys in clear
/// (every node of a cluster needs the same KEK, so casa cannot make one) and
/// says so at start.
pub fn seal(settings: &Settings, embedded: bool) -> anyhow::Result<KeySeal> {
    let from_env = std::env::var(ENV).ok().filter(|v| !v.is_empty());
    let kek = match (from_env, &settings.key_encryption_key_file) {
        (Some(_), Some(_)) => anyhow::bail!("set {ENV} or key_encryption_key_file, not both"),
        (Some(text), None) => LocalKek::parse(&text).map_err(|e| anyhow::anyhow!("{ENV}: {e}"))?,
        (None, Some(file)) => read(file)?,
        (None, None) if embedded => generated(&settings.data_dir)?,
        (None, None) => {
            tracing::warn!(
                "no key-encryption key ({ENV} or key_encryption_key_file): realm private keys are stored in clear"
            );
            return Ok(KeySeal::default());
        }
    };
    Ok(KeySeal::new(Some(Arc::new(kek))))
}

fn read(file: &Path) -> anyhow::Result<LocalKek> {
    use std::os::unix::fs::PermissionsExt;
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(file).with_context(|| format!("reading the key-encryption key {}", file.display()))?,
    );
    let meta = std::fs::metadata(file)?;
    if readable_by_others(meta.permissions().mode(), std::os::unix::fs::MetadataExt::gid(&meta), &own_groups()) {
        let mode = format!("{:o}", meta.permissions().mode() & 0o777);
        tracing::warn!(file = %file.display(), %mode, "the key-encryption key file is readable by others");
    }
    LocalKek::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

/// Whether anyone but this process's user and groups may read or write the
/// file: group access is fine when the group is one of ours (a Kubernetes
/// Secret volume is 0440 with the pod's `fsGroup`).
fn readable_by_others(mode: u32, file_gid: u32, own_groups: &[u32]) -> bool {
    mode & 0o007 != 0 || (mode & 0o070 != 0 && !own_groups.contains(&file_gid))
}

/// This process's effective group and its supplementary groups.
fn own_groups() -> Vec<u32> {
    // SAFETY: getegid cannot fail; getgroups writes at most `len` ids into the buffer.
    let mut groups = vec![unsafe { libc::getegid() }];
    let len = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    if len > 0 {
        let mut more = vec![0 as libc::gid_t; len as usize];
        let n = unsafe { libc::getgroups(len, more.as_mut_ptr()) };
        more.truncate(n.max(0) as usize);
        groups.extend(more);
    }
    groups
}

/// The data dir's KEK, made (0600) if there is none yet.
fn generated(data_dir: &Path) -> anyhow::Result<LocalKek> {
    let path = data_dir.join(GENERATED);
    if path.exists() {
        return read(&path);
    }
    let (kek, text) = LocalKek::generate();
    crate::admin::write_token_file(data_dir, GENERATED, &text)
        .with_context(|| format!("writing the key-encryption key {}", path.display()))?;
    tracing::info!(file = %path.display(), "made a key-encryption key for realm keys; back it up apart from the store");
    Ok(kek)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_access_is_fine_for_our_own_group_only() {
        assert!(!readable_by_others(0o100600, 5, &[7]));
        assert!(!readable_by_others(0o100440, 7, &[3, 7]), "a Secret volume with our fsGroup");
        assert!(readable_by_others(0o100440, 5, &[3, 7]), "another group may read it");
        assert!(readable_by_others(0o100604, 7, &[7]), "anyone may read it");
    }

    #[test]
    fn the_embedded_store_gets_a_private_kek_once_and_keeps_it() {
        let tmp = tempfile::tempdir().unwrap();
        let settings = Settings { data_dir: tmp.path().to_path_buf(), ..Default::default() };
        assert!(seal(&settings, true).unwrap().seals());
        let first = std::fs::read_to_string(tmp.path().join(GENERATED)).unwrap();
        assert!(seal(&settings, true).unwrap().seals());
        assert_eq!(std::fs::read_to_string(tmp.path().join(GENERATED)).unwrap(), first, "the KEK was replaced");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path().join(GENERATED)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A CQL store is never given a KEK nobody else has.
        assert!(!seal(&settings, false).unwrap().seals());
        let bad = tmp.path().join("bad");
        std::fs::write(&bad, "not a key").unwrap();
        assert!(seal(&Settings { key_encryption_key_file: Some(bad), ..settings }, false).is_err());
    }
}
