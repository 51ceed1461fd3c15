//! Mutual TLS between nodes. Each node presents a certificate signed by the
//! cluster CA and accepts only peers that do the same: holding a CA-signed
//! certificate is what makes a process a member (the ractor cookie alone is
//! not a trust boundary), under the node name the certificate carries
//! ([`super::identity`]). Certificates also name the cluster (`server_name`),
//! so peers can be dialled by any address, including a headless service's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::{TlsAcceptor, TlsConnector};

#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// This node's certificate chain (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// The cluster CA (PEM): the only issuer peers are accepted from.
    pub ca: PathBuf,
}

pub struct ClusterTls {
    pub acceptor: TlsAcceptor,
    pub connector: TlsConnector,
    pub server_name: ServerName<'static>,
    /// SHA-256 of the CA certificate: nodes of one CA derive the same cookie.
    pub ca_digest: String,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(path)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: not a PEM certificate: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", path.display()));
    }
    Ok(certs)
}

impl ClusterTls {
    pub fn load(files: &TlsFiles, server_name: &str) -> Result<ClusterTls, String> {
        use sha2::Digest;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let chain = certs(&files.cert)?;
        let key_pem = read(&files.key)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| format!("{}: not a PEM private key: {e}", files.key.display()))?;
        let ca = certs(&files.ca)?;
        let ca_digest = hex::encode(sha2::Sha256::digest(ca[0].as_ref()));
        let mut roots = rustls::RootCertStore::empty();
        for cert in ca {
            roots.add(cert).map_err(|e| format!("{}: {e}", files.ca.display()))?;
        }
        let roots = Arc::new(roots);

        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| format!("client verifier: {e}"))?;
        let server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| e.to_string())?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(|e| format!("{}: {e}", files.cert.display()))?;
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("{}: {e}", files.cert.display()))?;
        let server_name = ServerName::try_from(server_name.to_string())
            .map_err(|e| format!("cluster TLS server name {server_name:?}: {e}"))?;
        Ok(ClusterTls {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            connector: TlsConnector::from(Arc::new(client)),
            server_name,
            ca_digest,
        })
    }
}
