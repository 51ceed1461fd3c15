//! High-entropy bearer secrets (client secrets, the admin token): generated
//! from the OS RNG, stored only as a SHA-256 digest, compared in constant time.
//!
//! A plain SHA-256 is enough here: the secrets carry 256 random bits, so there
//! is nothing for a slow password hash to protect against.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const CLIENT_SECRET_PREFIX: &str = "casa_cs_";
pub const ADMIN_TOKEN_PREFIX: &str = "casa_at_";

/// 32 bytes from the OS RNG. Failing to read the RNG is not recoverable.
pub fn random_bytes() -> [u8; 32] {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    buf
}

/// A new secret: `prefix` + 256 random bits, base64url. The prefix lets secret
/// scanners recognise a leaked casa credential.
pub fn generate(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes()))
}

/// Hex SHA-256 of a secret: what gets stored.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Does `presented` match the stored `digest_hex`? Constant time in the
/// content of both; a malformed digest never matches.
pub fn verify(presented: &str, digest_hex: &str) -> bool {
    let mut stored = [0u8; 32];
    if hex::decode_to_slice(digest_hex, &mut stored).is_err() {
        return false;
    }
    let actual: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    actual.ct_eq(&stored).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_prefixed_and_256_bits() {
        let a = generate(CLIENT_SECRET_PREFIX);
        let b = generate(CLIENT_SECRET_PREFIX);
        assert_ne!(a, b);
        let body = a.strip_prefix(CLIENT_SECRET_PREFIX).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
    }

    #[test]
    fn verify_accepts_only_the_secret() {
        let s = generate(ADMIN_TOKEN_PREFIX);
        let d = digest(&s);
        assert!(verify(&s, &d));
        assert!(!verify(&format!("{s}x"), &d));
        assert!(!verify("", &d));
        assert!(!verify(&s, "not-hex"));
        assert!(!verify(&s, ""));
    }
}
