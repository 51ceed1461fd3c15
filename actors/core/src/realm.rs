//! A MAS's realm: its Ed25519 signing keys, their ids and their publication.
//!
//! Each key is pinned to EdDSA; its `kid` is the RFC 7638 thumbprint of its
//! public JWK, so a kid can never name two different keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroize;

use crate::secret::random_bytes;

/// A key's expanded signing key, derived on first use and kept: deriving it
/// (SHA-512 and a scalar multiplication) cost as much as the signature itself.
#[derive(Clone, Default)]
struct Expanded(std::sync::OnceLock<SigningKey>);

impl PartialEq for Expanded {
    /// A cache: never part of a key's identity.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct RealmKey {
    pub kid: String,
    #[serde(with = "hex::serde")]
    secret_key: [u8; 32],
    #[serde(with = "hex::serde")]
    pub public_key: [u8; 32],
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Set when a newer key took over; the key still verifies until the
    /// tokens it signed have expired.
    #[serde(with = "time::serde::rfc3339::option")]
    pub retired_at: Option<OffsetDateTime>,
    #[serde(skip)]
    expanded: Expanded,
}

impl std::fmt::Debug for RealmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealmKey")
            .field("kid", &self.kid)
            .field("secret_key", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

impl Drop for RealmKey {
    fn drop(&mut self) {
        self.secret_key.zeroize();
    }
}

impl RealmKey {
    pub fn generate(now: OffsetDateTime) -> Self {
        Self::from_seed(random_bytes(), now)
    }

    fn from_seed(mut seed: [u8; 32], now: OffsetDateTime) -> Self {
        let signing = SigningKey::from_bytes(&seed);
        seed.zeroize();
        let public_key = signing.verifying_key().to_bytes();
        Self {
            kid: thumbprint(&public_key),
            secret_key: signing.to_bytes(),
            public_key,
            created_at: now,
            retired_at: None,
            expanded: Expanded::default(),
        }
    }

    pub fn signing_key(&self) -> SigningKey {
        self.expanded.0.get_or_init(|| SigningKey::from_bytes(&self.secret_key)).clone()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        // The public key was derived from the secret key when generated.
        self.signing_key().verifying_key()
    }

    /// The public JWK (RFC 8037), pinned to EdDSA.
    pub fn public_jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.public_key),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }
}

/// RFC 7638 JWK thumbprint of an Ed25519 public key.
pub fn thumbprint(public_key: &[u8; 32]) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, URL_SAFE_NO_PAD.encode(public_key));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The keys of one realm, oldest first; the last one signs.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyring {
    keys: Vec<RealmKey>,
}

impl Keyring {
    /// `None` for an empty key list: a realm without a key cannot exist.
    pub fn new(mut keys: Vec<RealmKey>) -> Option<Self> {
        keys.sort_by_key(|k| k.created_at);
        (!keys.is_empty()).then_some(Self { keys })
    }

    pub fn active(&self) -> &RealmKey {
        self.keys.last().expect("a keyring is never empty")
    }

    pub fn get(&self, kid: &str) -> Option<&RealmKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn keys(&self) -> &[RealmKey] {
        &self.keys
    }

    /// Generates a successor key and retires the active one. Returns both,
    /// as they must be stored: (retired, new).
    pub fn rotate(&self, now: OffsetDateTime) -> (RealmKey, RealmKey) {
        let mut retired = self.active().clone();
        retired.retired_at = Some(now);
        (retired, RealmKey::generate(now))
    }

    /// Keys still worth publishing: the active one, and retired ones that
    /// may still have live tokens (retired less than `max_token_lifetime` ago).
    pub fn published(&self, now: OffsetDateTime, max_token_lifetime: time::Duration) -> Vec<&RealmKey> {
        self.keys.iter().filter(|k| k.retired_at.is_none_or(|r| r + max_token_lifetime > now)).collect()
    }

    pub fn jwks(&self, now: OffsetDateTime, max_token_lifetime: time::Duration) -> serde_json::Value {
        let keys: Vec<_> = self.published(now, max_token_lifetime).into_iter().map(RealmKey::public_jwk).collect();
        serde_json::json!({ "keys": keys })
    }
}

/// Where a realm lives: its issuer URL and JWKS URL under the node's public URL.
pub fn issuer(public_url: &str, mas_id: Uuid) -> String {
    format!("{}/realms/{mas_id}", public_url.trim_end_matches('/'))
}

pub fn jwks_uri(public_url: &str, mas_id: Uuid) -> String {
    format!("{}/.well-known/jwks.json", issuer(public_url, mas_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, Verifier};

    #[test]
    fn a_key_signs_and_its_public_half_verifies() {
        let key = RealmKey::generate(OffsetDateTime::now_utc());
        let sig = key.signing_key().sign(b"hello");
        let public = VerifyingKey::from_bytes(&key.public_key).unwrap();
        assert!(public.verify_strict(b"hello", &sig).is_ok());
        assert!(public.verify(b"hellO", &sig).is_err());
        assert_eq!(key.kid, thumbprint(&key.public_key));
    }

    #[test]
    fn the_rfc8037_thumbprint_example_matches() {
        // RFC 8037 appendix A.3.
        let x = URL_SAFE_NO_PAD.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        assert_eq!(thumbprint(&x.try_into().unwrap()), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn the_rfc8037_ed25519_jws_example_signs_and_verifies() {
        // RFC 8037 appendix A.1 (the key), A.3 (its thumbprint, our kid) and
        // A.4 (a JWS over "Example of Ed25519 signing"): Ed25519 is
        // deterministic, so our key must produce the RFC's signature.
        let d = URL_SAFE_NO_PAD.decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A").unwrap();
        let key = RealmKey::from_seed(d.try_into().unwrap(), OffsetDateTime::now_utc());
        assert_eq!(URL_SAFE_NO_PAD.encode(key.public_key), "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(key.kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        assert_eq!(URL_SAFE_NO_PAD.decode(input.split('.').nth(1).unwrap()).unwrap(), b"Example of Ed25519 signing");
        let sig = key.signing_key().sign(input.as_bytes());
        assert_eq!(
            URL_SAFE_NO_PAD.encode(sig.to_bytes()),
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        );
        assert!(key.verifying_key().verify_strict(input.as_bytes(), &sig).is_ok());
        assert!(key.verifying_key().verify_strict(b"eyJhbGciOiJFZERTQSJ9.", &sig).is_err());
    }

    #[test]
    fn rotation_keeps_the_old_key_published_until_its_tokens_expire() {
        let t0 = OffsetDateTime::now_utc();
        let ring = Keyring::new(vec![RealmKey::generate(t0)]).unwrap();
        let (retired, fresh) = ring.rotate(t0 + time::Duration::seconds(10));
        let ring = Keyring::new(vec![retired.clone(), fresh.clone()]).unwrap();
        assert_eq!(ring.active().kid, fresh.kid);
        let ttl = time::Duration::seconds(300);
        assert_eq!(ring.published(t0 + time::Duration::seconds(20), ttl).len(), 2);
        assert_eq!(ring.published(t0 + time::Duration::seconds(400), ttl).len(), 1);
        assert!(!format!("{retired:?}").contains(&hex::encode(retired.secret_key)));
    }
}
