//! Realm private keys at rest: each one envelope-encrypted (AES-256-GCM)
//! under a key-encryption key (KEK) that the store never holds, so a copy of
//! the store (a backup, a CQL dump, a stolen redb file) signs nothing.
//!
//! [`KeyWrap`] is the KMS-shaped seam: [`LocalKek`] keeps the KEK in this
//! process (from a file or an environment variable); a KMS would wrap and
//! unwrap remotely behind the same two calls.

use std::sync::Arc;

use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use sha2::Digest;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{decode, encode, StoreError};
use crate::realm::RealmKey;

/// Wraps and unwraps key material with a key-encryption key.
pub trait KeyWrap: Send + Sync {
    /// Names the KEK; stored beside each sealed key, so a key sealed under
    /// another KEK is refused by name rather than as garbage.
    fn id(&self) -> &str;
    /// `aad` is bound to the ciphertext: it must be given again to unwrap.
    fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, StoreError>;
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError>;
}

/// A 256-bit KEK held by this process.
pub struct LocalKek {
    id: String,
    key: RandomizedNonceKey,
}

impl LocalKek {
    pub const LEN: usize = 32;

    pub fn new(bytes: &[u8; Self::LEN]) -> LocalKek {
        // The id is a digest of the key: it tells KEKs apart and reveals nothing of them.
        let id = hex::encode(&sha2::Sha256::digest([b"casa kek id:".as_slice(), bytes].concat())[..8]);
        let key = RandomizedNonceKey::new(&AES_256_GCM, bytes).expect("a 32-byte AES-256 key");
        LocalKek { id, key }
    }

    /// 64 hex digits (what `openssl rand -hex 32` prints), surrounding whitespace allowed.
    pub fn parse(text: &str) -> Result<LocalKek, String> {
        let bytes = Zeroizing::new(
            hex::decode(text.trim()).map_err(|_| "a key-encryption key is 64 hex digits (32 bytes)".to_string())?,
        );
        let bytes: &[u8; Self::LEN] =
            bytes.as_slice().try_into().map_err(|_| "a key-encryption key is 64 hex digits (32 bytes)".to_string())?;
        if bytes.iter().all(|b| *b == bytes[0]) {
            return Err("the key-encryption key is not random".into());
        }
        Ok(LocalKek::new(bytes))
    }

    /// A fresh random KEK, and its text form for [`LocalKek::parse`].
    pub fn generate() -> (LocalKek, Zeroizing<String>) {
        let bytes = Zeroizing::new(crate::secret::random_bytes());
        (LocalKek::new(&bytes), Zeroizing::new(hex::encode(*bytes)))
    }
}

impl KeyWrap for LocalKek {
    fn id(&self) -> &str {
        &self.id
    }

    fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut sealed = plaintext.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(aad), &mut sealed)
            .map_err(|_| StoreError::Backend("sealing a realm key failed".into()))?;
        Ok([nonce.as_ref().as_slice(), &sealed].concat())
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let refused = || StoreError::Corrupt("a sealed realm key does not open under this key-encryption key".into());
        if wrapped.len() < NONCE_LEN {
            return Err(refused());
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let len = self.key.open_in_place(nonce, Aad::from(aad), buf.as_mut_slice()).map_err(|_| refused())?.len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// Marks a sealed key; a stored key without it is one written in clear
/// before sealing existed.
const MAGIC: &[u8] = b"casa-sealed-key/1\n";

/// How a store keeps realm keys: sealed under a KEK, or (none given) in clear.
#[derive(Clone, Default)]
pub struct KeySeal(Option<Arc<dyn KeyWrap>>);

impl KeySeal {
    pub fn new(kek: Option<Arc<dyn KeyWrap>>) -> KeySeal {
        KeySeal(kek)
    }

    pub fn seals(&self) -> bool {
        self.0.is_some()
    }

    /// The sealed key is bound to its MAS: moved to another MAS's rows, it does not open.
    fn aad(mas_id: Uuid) -> Vec<u8> {
        [b"casa realm key of ".as_slice(), mas_id.as_bytes()].concat()
    }

    pub(crate) fn seal(&self, mas_id: Uuid, key: &RealmKey) -> Result<Vec<u8>, StoreError> {
        let clear = Zeroizing::new(encode(key)?);
        let Some(kek) = &self.0 else { return Ok(clear.to_vec()) };
        let id = kek.id().as_bytes();
        let id_len = u8::try_from(id.len()).map_err(|_| StoreError::Backend("a KEK id is at most 255 bytes".into()))?;
        let wrapped = kek.wrap(&clear, &Self::aad(mas_id))?;
        Ok([MAGIC, &[id_len], id, &wrapped].concat())
    }

    pub(crate) fn open(&self, mas_id: Uuid, bytes: &[u8]) -> Result<RealmKey, StoreError> {
        let Some(rest) = bytes.strip_prefix(MAGIC) else {
            // Written in clear (before sealing, or with no KEK): still readable,
            // so an upgrade keeps its realms; rotating the key seals its successor.
            if self.seals() {
                tracing::warn!(%mas_id, "a realm key is stored in clear; rotate it to seal its successor");
            }
            return decode(bytes);
        };
        let Some(kek) = &self.0 else {
            return Err(StoreError::Corrupt(
                "realm keys are sealed, and no key-encryption key is configured (key_encryption_key_file)".into(),
            ));
        };
        let (&id_len, rest) = rest.split_first().ok_or_else(|| StoreError::Corrupt("a truncated sealed key".into()))?;
        let (id, wrapped) = rest
            .split_at_checked(id_len as usize)
            .ok_or_else(|| StoreError::Corrupt("a truncated sealed key".into()))?;
        if id != kek.id().as_bytes() {
            return Err(StoreError::Corrupt(format!(
                "a realm key of MAS {mas_id} is sealed under key-encryption key {}, not this node's ({})",
                String::from_utf8_lossy(id),
                kek.id()
            )));
        }
        let clear = kek.unwrap(wrapped, &Self::aad(mas_id))?;
        decode(&clear)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek() -> Arc<dyn KeyWrap> {
        Arc::new(LocalKek::generate().0)
    }

    #[test]
    fn a_sealed_key_opens_only_under_its_kek_and_for_its_mas() {
        let key = RealmKey::generate(time::OffsetDateTime::now_utc());
        let secret = hex::encode(key.signing_key().to_bytes());
        let (mas, other_mas) = (Uuid::new_v4(), Uuid::new_v4());
        let seal = KeySeal::new(Some(kek()));
        let sealed = seal.seal(mas, &key).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains(&secret), "the private key is in the sealed bytes");
        assert_eq!(seal.open(mas, &sealed).unwrap(), key);
        assert!(seal.open(other_mas, &sealed).is_err(), "a key moved to another MAS opened");
        assert!(KeySeal::new(Some(kek())).open(mas, &sealed).is_err(), "another KEK opened it");
        assert!(KeySeal::default().open(mas, &sealed).is_err(), "opened with no KEK");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(seal.open(mas, &tampered).is_err(), "a tampered key opened");
        // Keys stored in clear before sealing existed are still read.
        assert_eq!(seal.open(mas, &KeySeal::default().seal(mas, &key).unwrap()).unwrap(), key);
    }

    #[test]
    fn a_kek_is_64_hex_digits_of_something_random() {
        let (kek, text) = LocalKek::generate();
        assert_eq!(LocalKek::parse(&format!(" {}\n", *text)).unwrap().id(), kek.id());
        for bad in ["", "abc", &"00".repeat(32), &"zz".repeat(32), &"ab".repeat(33)] {
            assert!(LocalKek::parse(bad).is_err(), "{bad:?}");
        }
    }
}
