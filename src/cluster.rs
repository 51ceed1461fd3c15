//! A node's cluster settings checked and turned into the runtime's config, and
//! the `casa cluster` commands.

use std::path::Path;

use casa_actors::cluster::{tls::TlsFiles, ClusterConfig, Timing};

pub use crate::config::cluster::{ClusterFlags, ClusterSettings, Secret};

impl ClusterSettings {
    pub fn enabled(&self) -> bool {
        self.listen.is_some()
    }

    /// `embedded`: whether the node's store is the embedded one. The error
    /// is the reason (`config` reports it; this module does not import it back).
    pub fn validate(&self, embedded: bool, public_url: Option<&str>) -> Result<(), String> {
        let invalid = |m: String| Err(m);
        if !self.enabled() {
            if !self.seeds.is_empty() {
                return invalid("cluster seeds need cluster_listen (--cluster-listen) too".into());
            }
            return Ok(());
        }
        for seed in &self.seeds {
            let port = seed.rsplit_once(':').and_then(|(host, port)| (!host.is_empty()).then_some(port));
            if port.and_then(|p| p.parse::<u16>().ok()).is_none() {
                return invalid(format!("cluster seed {seed:?} must be host:port"));
            }
        }
        if let Some(name) = &self.node_name {
            if name.is_empty()
                || name.len() > 128
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return invalid(format!("node name {name:?}: 1 to 128 of letters, digits, - _ ."));
            }
        }
        if embedded {
            return invalid(
                "a cluster needs the shared store: nodes share state through ScyllaDB, so add \
                 --store scylla://host:port/keyspace (the embedded store belongs to one node)"
                    .into(),
            );
        }
        if public_url.is_none() {
            return invalid(
                "a cluster needs --public-url: every node must issue tokens under the same issuer \
                 (the URL clients reach the cluster at)"
                    .into(),
            );
        }
        if self.tls_cert.is_none() || self.tls_key.is_none() || self.tls_ca.is_none() {
            return invalid(
                "node-to-node traffic is mutual TLS: set cluster tls_cert, tls_key and tls_ca \
                 (`casa cluster certs` makes a CA and node certificates)"
                    .into(),
            );
        }
        if !(20..=10_000).contains(&self.heartbeat_ms.0) {
            return invalid("cluster heartbeat_ms must be between 20 and 10000".into());
        }
        if self.forget_after_seconds.0 < 10 {
            return invalid("cluster forget_after_seconds must be at least 10".into());
        }
        if self.min_members == 0 || self.handoff_budget_ms.0 == 0 || self.remote_timeout_ms.0 == 0 {
            return invalid("cluster min_members, handoff_budget_ms and remote_timeout_ms must be positive".into());
        }
        if !(100..=60_000).contains(&self.handshake_timeout_ms.0) || self.max_handshakes_per_source == 0 {
            return invalid(
                "cluster handshake_timeout_ms must be between 100 and 60000, max_handshakes_per_source positive".into(),
            );
        }
        if let Some(name) = &self.node_name {
            if name.eq_ignore_ascii_case(&self.tls_server_name) {
                return invalid(format!(
                    "node name {name:?} is the cluster's TLS server name, which every certificate carries: \
                     a node's name must be one only its own certificate carries"
                ));
            }
        }
        Ok(())
    }

    /// The node's cluster configuration (certificates are read when the node starts).
    pub fn config(&self) -> anyhow::Result<Option<ClusterConfig>> {
        let Some(listen) = self.listen else { return Ok(None) };
        let node_name = match &self.node_name {
            Some(n) => n.clone(),
            None => hostname()?,
        };
        let tls = TlsFiles {
            cert: self.tls_cert.clone().expect("validated"),
            key: self.tls_key.clone().expect("validated"),
            ca: self.tls_ca.clone().expect("validated"),
        };
        // Unreadable or mismatched certificates fail the start, before anything else.
        casa_actors::cluster::tls::ClusterTls::load(&tls, &self.tls_server_name)
            .map_err(|e| anyhow::anyhow!("cluster TLS: {e}"))?;
        let cookie = match &self.cookie {
            Some(c) => c.0.clone(),
            None => ca_cookie(&tls.ca)?,
        };
        Ok(Some(ClusterConfig {
            node_name,
            listen,
            advertise: self.advertise.clone().unwrap_or_else(|| listen.to_string()),
            seeds: self.seeds.clone(),
            tls,
            tls_server_name: self.tls_server_name.clone(),
            cookie,
            timing: Timing {
                forget_after: self.forget_after_seconds.duration(),
                ..Timing::from_heartbeat(self.heartbeat_ms.duration())
            },
            min_members: self.min_members,
            remote_timeout: self.remote_timeout_ms.duration(),
            handoff_budget: self.handoff_budget_ms.duration(),
            accept: casa_actors::cluster::accept::AcceptLimits {
                handshake_timeout: self.handshake_timeout_ms.duration(),
                per_source: self.max_handshakes_per_source,
            },
        }))
    }
}

fn hostname() -> anyhow::Result<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .map_err(|e| anyhow::anyhow!("no --node-name, and the host name is unreadable: {e}"))?;
    anyhow::ensure!(!name.is_empty(), "no --node-name, and the host name is empty");
    Ok(name)
}

/// Nodes with the same CA share a cookie without another secret to distribute.
fn ca_cookie(ca: &Path) -> anyhow::Result<String> {
    use sha2::Digest;
    let pem = std::fs::read(ca).map_err(|e| anyhow::anyhow!("reading {}: {e}", ca.display()))?;
    Ok(hex::encode(&sha2::Sha256::digest(&pem)[..16]))
}

/// Where `casa cluster certs` puts the CA's key: not beside the files nodes
/// are given (a Secret made `--from-file` of the directory leaves it out),
/// since whoever holds it can make a member.
pub const CA_KEY_DIR: &str = "ca-private";

/// `casa cluster certs`: a CA and one certificate per node, for mutual TLS.
pub fn write_certs(dir: &Path, nodes: &[String], server_name: &str) -> anyhow::Result<()> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    use std::os::unix::fs::DirBuilderExt;
    anyhow::ensure!(!nodes.is_empty(), "name at least one node");
    for node in nodes {
        anyhow::ensure!(
            node != server_name,
            "a node may not be named {server_name:?}: every certificate carries that name"
        );
    }
    std::fs::create_dir_all(dir)?;
    let private = dir.join(CA_KEY_DIR);
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&private)?;
    std::fs::set_permissions(&private, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name.push(DnType::CommonName, "casa cluster CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key)?;
    write_secret(&dir.join("ca.pem"), ca.pem().as_bytes(), 0o644)?;
    write_secret(&private.join("ca.key"), ca_key.serialize_pem().as_bytes(), 0o600)?;
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    for node in nodes {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec![server_name.to_string(), node.clone()])?;
        params.distinguished_name.push(DnType::CommonName, node.as_str());
        params.extended_key_usages =
            vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth, rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &issuer)?;
        write_secret(&dir.join(format!("{node}.pem")), cert.pem().as_bytes(), 0o644)?;
        write_secret(&dir.join(format!("{node}.key")), key.serialize_pem().as_bytes(), 0o600)?;
    }
    Ok(())
}

fn write_secret(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    // `mode` applies only to a new file: one written before keeps its own.
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
    file.write_all(bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certs_make_keys_private_even_over_old_files_and_keep_the_ca_key_apart() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // A key left world-readable by an earlier run, or by hand.
        std::fs::write(tmp.path().join("node-a.key"), "old").unwrap();
        std::fs::set_permissions(tmp.path().join("node-a.key"), PermissionsExt::from_mode(0o644)).unwrap();
        let server_name = ClusterSettings::default().tls_server_name;
        write_certs(tmp.path(), &["node-a".into()], &server_name).unwrap();
        assert_eq!(mode(&tmp.path().join("node-a.key")), 0o600);
        assert!(!tmp.path().join("ca.key").exists(), "the CA key lies beside the node files");
        let ca_key = tmp.path().join(CA_KEY_DIR).join("ca.key");
        assert_eq!((mode(&ca_key), mode(&tmp.path().join(CA_KEY_DIR))), (0o600, 0o700));
        assert!(write_certs(tmp.path(), std::slice::from_ref(&server_name), &server_name).is_err());
    }

    #[test]
    fn the_cookie_never_shows_in_debug_output() {
        let settings = ClusterSettings { cookie: Some(Secret("s3cret-cookie".into())), ..Default::default() };
        for shown in [format!("{settings:?}"), format!("{:?}", Secret("s3cret-cookie".into()))] {
            assert!(!shown.contains("s3cret"), "{shown}");
        }
    }
}
