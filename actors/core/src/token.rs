//! Realm access tokens: compact JWS, `alg: EdDSA`, `typ: at+jwt` (RFC 9068).
//!
//! Verification is strict and trusts nothing the token says about how to
//! verify it: the algorithm is pinned to the realm's Ed25519 keys, the header
//! may carry exactly `alg`, `typ` and `kid` (so `jku`, `jwk`, `x5u`, ... are
//! refused, not ignored), the key is looked up by `kid` in the realm's own
//! keyring, and the signature is checked with `verify_strict`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::realm::{Keyring, RealmKey};

pub const ALG: &str = "EdDSA";
pub const TYP: &str = "at+jwt";
/// Larger tokens are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Tolerated clock skew for `nbf` and `iat` (between nodes of a cluster).
pub const LEEWAY_SECONDS: i64 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

/// The actor chain of a delegated token (RFC 8693 `act`), newest outermost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Act {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Act>>,
}

impl Act {
    /// How many actors the chain holds.
    pub fn depth(&self) -> usize {
        1 + self.act.as_ref().map_or(0, |a| a.depth())
    }

    /// The actors' client ids, newest first.
    pub fn subjects(&self) -> Vec<&str> {
        let mut out = vec![self.sub.as_str()];
        let mut next = self.act.as_deref();
        while let Some(a) = next {
            out.push(&a.sub);
            next = a.act.as_deref();
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub scope: String,
    /// The user input (session) this token serves.
    pub uiid: String,
    pub tools: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Act>,
    /// The `jti` this token was exchanged from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Every `jti` up the exchange lineage, root first (the last is `parent`).
    /// Signed into the token so that revoking any ancestor reaches it,
    /// without a lineage table on the exchange path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<String>,
}

impl Claims {
    /// Delegation depth: how many actors have exchanged along the way.
    pub fn depth(&self) -> usize {
        self.act.as_ref().map_or(0, Act::depth)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum TokenError {
    #[error("the token is larger than {MAX_TOKEN_BYTES} bytes")]
    TooLarge,
    #[error("the token is not a well-formed JWS")]
    Malformed,
    #[error("the token's header is not {{alg: EdDSA, typ: at+jwt, kid}}")]
    BadHeader,
    #[error("the token's key is not a key of this realm")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token was not issued by this realm")]
    WrongIssuer,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token claims to live longer than this realm issues tokens for")]
    TooLong,
}

/// A new token id, base64url of 128 bits: the Unix time in milliseconds (48
/// bits, big-endian), then 80 random bits. Ids made close in time share a
/// prefix, so the trail's index by token id takes each batch's ids into a few
/// pages instead of one random page each (what the index's fsync costs).
pub fn new_jti() -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    let mut id = [0u8; 16];
    id[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    id[6..].copy_from_slice(&crate::secret::random_bytes()[..10]);
    URL_SAFE_NO_PAD.encode(id)
}

/// SHA-256 of a token, hex: what traces and caches hold instead of the token.
pub fn digest(token: &str) -> String {
    hex::encode(digest_bytes(token))
}

/// [`digest`] before hex: what caches key a token by.
pub fn digest_bytes(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn sign(claims: &Claims, key: &RealmKey) -> String {
    finish(signing_input(claims, key), &key.signing_key())
}

/// How many bytes [`finish`] appends: a dot and 64 signature bytes in base64url.
pub const SIGNATURE_SUFFIX_BYTES: usize = 1 + 86;

/// A token's `header.payload`, for [`finish`] to sign (possibly elsewhere:
/// the signature is most of a token's cost, the rest is decided here).
pub fn signing_input(claims: &Claims, key: &RealmKey) -> String {
    let header = Header { alg: ALG.into(), typ: TYP.into(), kid: key.kid.clone() };
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("header encodes"));
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims encode"));
    let mut input = String::with_capacity(header.len() + 1 + payload.len() + SIGNATURE_SUFFIX_BYTES);
    input.push_str(&header);
    input.push('.');
    input.push_str(&payload);
    input
}

/// The token: `signing_input` signed with `key`.
pub fn finish(mut signing_input: String, key: &SigningKey) -> String {
    let signature = key.sign(signing_input.as_bytes());
    signing_input.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut signing_input);
    signing_input
}

/// The three parts, decoded, without any verification.
struct Parts<'a> {
    header: Header,
    payload: Vec<u8>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(TokenError::Malformed);
    };
    let header_bytes = URL_SAFE_NO_PAD.decode(h).map_err(|_| TokenError::Malformed)?;
    let header: Header = serde_json::from_slice(&header_bytes).map_err(|_| TokenError::BadHeader)?;
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| TokenError::Malformed)?;
    let signature = URL_SAFE_NO_PAD.decode(s).map_err(|_| TokenError::Malformed)?;
    Ok(Parts { header, payload, signing_input: &token[..h.len() + 1 + p.len()], signature })
}

/// The issuer a token claims, unverified: only to route it to its realm,
/// which then verifies everything.
pub fn claimed_issuer(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    let parts = split(token).ok()?;
    serde_json::from_slice::<Iss>(&parts.payload).ok().map(|i| i.iss)
}

/// Verifies a token against a realm at time `now` (unix seconds).
pub fn verify(token: &str, keyring: &Keyring, issuer: &str, now: i64) -> Result<Claims, TokenError> {
    verify_with(token, |kid| keyring.get(kid).map(RealmKey::verifying_key), issuer, now)
}

/// [`verify`] as the realm that issued the token does it: only a key that
/// may still have live tokens verifies (one retired `max_lifetime` ago or
/// more verifies nothing, though it stays in the keyring), and a token may
/// not claim to live longer than the realm issues tokens for (a stolen key
/// cannot mint tokens that outlive its retirement).
pub fn verify_live(
    token: &str,
    keyring: &Keyring,
    issuer: &str,
    now: i64,
    max_lifetime: time::Duration,
) -> Result<Claims, TokenError> {
    let at = time::OffsetDateTime::from_unix_timestamp(now).map_err(|_| TokenError::Malformed)?;
    let live = keyring.published(at, max_lifetime);
    let key = |kid: &str| live.iter().find(|k| k.kid == kid).map(|k| k.verifying_key());
    let claims = verify_with(token, key, issuer, now)?;
    if claims.exp.saturating_sub(claims.iat) > max_lifetime.whole_seconds() {
        return Err(TokenError::TooLong);
    }
    Ok(claims)
}

/// [`verify`] with only the realm's public keys (kid → key): for verifiers
/// that must not hold signing keys, such as the wire collector.
pub fn verify_with(
    token: &str,
    key: impl Fn(&str) -> Option<ed25519_dalek::VerifyingKey>,
    issuer: &str,
    now: i64,
) -> Result<Claims, TokenError> {
    let parts = split(token)?;
    if parts.header.alg != ALG || parts.header.typ != TYP {
        return Err(TokenError::BadHeader);
    }
    let key = key(&parts.header.kid).ok_or(TokenError::UnknownKey)?;
    let signature = Signature::from_slice(&parts.signature).map_err(|_| TokenError::BadSignature)?;
    key.verify_strict(parts.signing_input.as_bytes(), &signature).map_err(|_| TokenError::BadSignature)?;
    let claims: Claims = serde_json::from_slice(&parts.payload).map_err(|_| TokenError::Malformed)?;
    check_claims(&claims, issuer, now)?;
    Ok(claims)
}

/// The time and issuer checks, for tokens whose signature is already known good.
pub fn check_claims(claims: &Claims, issuer: &str, now: i64) -> Result<(), TokenError> {
    if claims.iss != issuer {
        return Err(TokenError::WrongIssuer);
    }
    if now >= claims.exp {
        return Err(TokenError::Expired);
    }
    if claims.nbf > now + LEEWAY_SECONDS || claims.iat > now + LEEWAY_SECONDS {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn claims(now: i64) -> Claims {
        Claims {
            iss: "https://casa.test/realms/r".into(),
            sub: "client".into(),
            aud: "https://casa.test/realms/r".into(),
            client_id: "client".into(),
            iat: now,
            nbf: now,
            exp: now + 60,
            jti: new_jti(),
            scope: "tools".into(),
            uiid: "u".into(),
            tools: vec!["fs:read".into()],
            act: Some(Act { sub: "b".into(), act: Some(Box::new(Act { sub: "a".into(), act: None })) }),
            parent: Some("p".into()),
            lineage: vec!["root".into(), "p".into()],
        }
    }

    fn ring() -> Keyring {
        Keyring::new(vec![RealmKey::generate(OffsetDateTime::now_utc())]).unwrap()
    }

    #[test]
    fn a_token_id_carries_its_time_then_80_random_bits() {
        let ms = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
        let before = ms();
        let ids: Vec<String> = (0..1000).map(|_| new_jti()).collect();
        let after = ms();
        let mut tails = std::collections::HashSet::new();
        for id in &ids {
            let raw = URL_SAFE_NO_PAD.decode(id).unwrap();
            assert_eq!((id.len(), raw.len()), (22, 16));
            let at = u64::from_be_bytes([0, 0, raw[0], raw[1], raw[2], raw[3], raw[4], raw[5]]);
            assert!((before..=after).contains(&at), "{at} not in {before}..={after}");
            assert!(tails.insert(raw[6..].to_vec()), "a repeated random part");
        }
    }

    #[test]
    fn a_signed_token_verifies_and_round_trips() {
        let ring = ring();
        let now = 1_800_000_000;
        let c = claims(now);
        let token = sign(&c, ring.active());
        assert_eq!(verify(&token, &ring, &c.iss, now).unwrap(), c);
        assert_eq!(claimed_issuer(&token).as_deref(), Some(c.iss.as_str()));
        assert_eq!(c.depth(), 2);
        assert_eq!(c.act.as_ref().unwrap().subjects(), ["b", "a"]);
    }

    #[test]
    fn a_token_signed_in_two_steps_is_its_signing_input_and_the_announced_suffix() {
        let ring = ring();
        let c = claims(1_800_000_000);
        let input = signing_input(&c, ring.active());
        let token = finish(input.clone(), &ring.active().signing_key());
        assert_eq!(token.len(), input.len() + SIGNATURE_SUFFIX_BYTES);
        assert!(token.starts_with(&format!("{input}.")));
        assert_eq!(verify(&token, &ring, &c.iss, 1_800_000_000).unwrap(), c);
    }

    #[test]
    fn time_issuer_and_key_are_enforced() {
        let ring = ring();
        let now = 1_800_000_000;
        let c = claims(now);
        let token = sign(&c, ring.active());
        assert_eq!(verify(&token, &ring, &c.iss, now + 60), Err(TokenError::Expired));
        assert_eq!(verify(&token, &ring, &c.iss, now - 10), Err(TokenError::NotYetValid));
        assert_eq!(verify(&token, &ring, "https://other", now), Err(TokenError::WrongIssuer));
        assert_eq!(verify(&token, &super::tests::ring(), &c.iss, now), Err(TokenError::UnknownKey));
        assert_eq!(verify(&"a".repeat(MAX_TOKEN_BYTES + 1), &ring, &c.iss, now), Err(TokenError::TooLarge));
        assert_eq!(verify("a.b", &ring, &c.iss, now), Err(TokenError::Malformed));
        assert_eq!(verify(&format!("{token}."), &ring, &c.iss, now), Err(TokenError::Malformed));
    }

    #[test]
    fn a_digest_is_the_hex_sha256_of_the_token() {
        // FIPS 180-2's "abc" vector: traces and caches key on exactly this.
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
