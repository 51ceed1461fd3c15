//! The token attacks that `token::verify` alone decides, in-process: forged,
//! tampered and misdated tokens, each refused with its reason. (The HTTP
//! attack suite, `tests/attacks.rs`, keeps one case per reason class to prove
//! that a refusal is `invalid_grant` at exchange and inactive on introspection.)

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use casa_core::realm::{Keyring, RealmKey};
use casa_core::token::{self, Act, Claims, TokenError, MAX_TOKEN_BYTES};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};
use time::OffsetDateTime;

const ISSUER: &str = "http://casa.test/realms/a";
const NOW: i64 = 1_800_000_000;

/// Realm A (whose keys the attacker may have stolen), realm B, and a
/// legitimate token of A.
struct Target {
    a: Keyring,
    b: Keyring,
    subject: String,
}

fn target() -> Target {
    let a = Keyring::new(vec![RealmKey::generate(OffsetDateTime::now_utc())]).unwrap();
    let b = Keyring::new(vec![RealmKey::generate(OffsetDateTime::now_utc())]).unwrap();
    let claims = Claims {
        iss: ISSUER.into(),
        sub: "client".into(),
        aud: ISSUER.into(),
        client_id: "client".into(),
        iat: NOW,
        nbf: NOW,
        exp: NOW + 300,
        jti: token::new_jti(),
        scope: "fs:read web:search".into(),
        uiid: "0190c0de-0000-7000-8000-000000000000".into(),
        tools: vec!["fs:read".into(), "web:search".into()],
        act: Some(Act { sub: "agent".into(), act: None }),
        parent: None,
        lineage: Vec::new(),
    };
    let subject = token::sign(&claims, a.active());
    assert!(token::verify(&subject, &a, ISSUER, NOW).is_ok());
    Target { a, b, subject }
}

fn encode(v: &Value) -> String {
    B64.encode(serde_json::to_vec(v).unwrap())
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(&B64.decode(part).unwrap()).unwrap()
}

fn sign_with(header: &Value, claims: &Value, key: &SigningKey) -> String {
    let input = format!("{}.{}", encode(header), encode(claims));
    format!("{input}.{}", B64.encode(key.sign(input.as_bytes()).to_bytes()))
}

fn attacker_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

impl Target {
    fn header(&self) -> Value {
        decode(self.subject.split('.').next().unwrap())
    }

    fn claims(&self) -> Value {
        decode(self.subject.split('.').nth(1).unwrap())
    }

    /// Signs with realm A's real key.
    fn forge(&self, header: &Value, claims: &Value) -> String {
        sign_with(header, claims, &self.a.active().signing_key())
    }

    fn refused(&self, token: &str) -> TokenError {
        token::verify(token, &self.a, ISSUER, NOW).expect_err("the forged token verified")
    }
}

#[test]
fn alg_none() {
    let t = target();
    let mut h = t.header();
    h["alg"] = json!("none");
    assert_eq!(t.refused(&format!("{}.{}.", encode(&h), encode(&t.claims()))), TokenError::BadHeader);
}

#[test]
fn hs256_signed_with_the_public_key() {
    use hmac::{Hmac, Mac};
    let t = target();
    let mut h = t.header();
    h["alg"] = json!("HS256");
    let input = format!("{}.{}", encode(&h), encode(&t.claims()));
    let jwks = t.a.jwks(OffsetDateTime::now_utc(), time::Duration::hours(1)).to_string();
    for secret in [t.a.active().public_key.to_vec(), jwks.into_bytes()] {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
        mac.update(input.as_bytes());
        let token = format!("{input}.{}", B64.encode(mac.finalize().into_bytes()));
        assert_eq!(t.refused(&token), TokenError::BadHeader);
    }
}

#[test]
fn rs256_header() {
    let t = target();
    let mut h = t.header();
    h["alg"] = json!("RS256");
    let token = format!("{}.{}.{}", encode(&h), encode(&t.claims()), B64.encode([1u8; 256]));
    assert_eq!(t.refused(&token), TokenError::BadHeader);
    // Even a valid Ed25519 signature does not make a token whose header says RS256 acceptable.
    assert_eq!(t.refused(&t.forge(&h, &t.claims())), TokenError::BadHeader);
}

#[test]
fn kid_of_another_realm() {
    let t = target();
    let mut h = t.header();
    h["kid"] = json!(t.b.active().kid);
    // Signed by B's real key, claiming to be A's.
    assert_eq!(t.refused(&sign_with(&h, &t.claims(), &t.b.active().signing_key())), TokenError::UnknownKey);
}

#[test]
fn header_fields_that_name_other_keys_are_refused() {
    let t = target();
    let attacker = attacker_key();
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode(attacker.verifying_key().to_bytes())});
    for (field, value) in [
        ("jku", json!("https://attacker.example/jwks.json")),
        ("jwk", jwk),
        ("x5u", json!("https://attacker.example/cert.pem")),
        ("x5c", json!(["MIIB"])),
        ("crit", json!(["exp"])),
    ] {
        let mut h = t.header();
        h[field] = value;
        assert_eq!(t.refused(&sign_with(&h, &t.claims(), &attacker)), TokenError::BadHeader, "{field}");
        // Refused even when the rest of the token is genuinely signed by the realm.
        assert_eq!(t.refused(&t.forge(&h, &t.claims())), TokenError::BadHeader, "{field}");
    }
}

#[test]
fn attacker_key_with_the_realm_kid() {
    let t = target();
    assert_eq!(t.refused(&sign_with(&t.header(), &t.claims(), &attacker_key())), TokenError::BadSignature);
}

#[test]
fn tampered_payload() {
    let t = target();
    let mut c = t.claims();
    c["tools"] = json!(["fs:read", "fs:write"]);
    let mut parts: Vec<String> = t.subject.split('.').map(str::to_string).collect();
    parts[1] = encode(&c);
    assert_eq!(t.refused(&parts.join(".")), TokenError::BadSignature);
}

#[test]
fn truncated_signature() {
    let t = target();
    // Four base64 characters fewer: short of a signature, or not even base64.
    let short = t.refused(&t.subject[..t.subject.len() - 4]);
    assert!(matches!(short, TokenError::BadSignature | TokenError::Malformed), "{short:?}");
    let (input, _) = t.subject.rsplit_once('.').unwrap();
    assert_eq!(t.refused(&format!("{input}.{}", B64.encode([0u8; 63]))), TokenError::BadSignature);
}

#[test]
fn empty_signature() {
    let t = target();
    let (input, _) = t.subject.rsplit_once('.').unwrap();
    assert_eq!(t.refused(&format!("{input}.")), TokenError::BadSignature);
    assert_eq!(t.refused(input), TokenError::Malformed);
}

#[test]
fn non_canonical_signature() {
    // S + L (the group order) verifies under lax rules but is not canonical.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let t = target();
    let (input, sig) = t.subject.rsplit_once('.').unwrap();
    let mut sig = B64.decode(sig).unwrap();
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = sig[32 + i] as u16 + L[i] as u16 + carry;
        sig[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(t.refused(&format!("{input}.{}", B64.encode(&sig))), TokenError::BadSignature);
}

#[test]
fn expired_token() {
    let t = target();
    let mut c = t.claims();
    c["iat"] = json!(NOW - 600);
    c["nbf"] = json!(NOW - 600);
    c["exp"] = json!(NOW - 300);
    assert_eq!(t.refused(&t.forge(&t.header(), &c)), TokenError::Expired);
    // Expiry is exclusive: at `exp` the token is already dead.
    c["exp"] = json!(NOW);
    assert_eq!(t.refused(&t.forge(&t.header(), &c)), TokenError::Expired);
}

#[test]
fn not_yet_valid_token() {
    let t = target();
    let mut c = t.claims();
    c["nbf"] = json!(NOW + 3600);
    c["exp"] = json!(NOW + 7200);
    assert_eq!(t.refused(&t.forge(&t.header(), &c)), TokenError::NotYetValid);
    // Issued in the future beyond the leeway, too.
    let mut c = t.claims();
    c["iat"] = json!(NOW + token::LEEWAY_SECONDS + 1);
    assert_eq!(t.refused(&t.forge(&t.header(), &c)), TokenError::NotYetValid);
}

#[test]
fn wrong_issuer_signed_by_the_realm_key() {
    let t = target();
    let mut c = t.claims();
    c["iss"] = json!("https://evil.example/realms/x");
    assert_eq!(t.refused(&t.forge(&t.header(), &c)), TokenError::WrongIssuer);
    // Realm B does not hold A's key, whatever the token claims.
    let token = t.forge(&t.header(), &t.claims());
    assert_eq!(token::verify(&token, &t.b, ISSUER, NOW), Err(TokenError::UnknownKey));
}

#[test]
fn typ_other_than_at_jwt() {
    let t = target();
    let mut h = t.header();
    h["typ"] = json!("JWT");
    assert_eq!(t.refused(&t.forge(&h, &t.claims())), TokenError::BadHeader);
}

#[test]
fn unknown_claims_are_refused() {
    let t = target();
    let mut c = t.claims();
    c["admin"] = json!(true);
    assert_eq!(t.refused(&t.forge(&t.header(), &c)), TokenError::Malformed);
}

#[test]
fn oversized_and_malformed_tokens_are_refused_before_decoding() {
    let t = target();
    assert_eq!(t.refused(&"a".repeat(MAX_TOKEN_BYTES + 1)), TokenError::TooLarge);
    for bad in ["", ".", "..", "a.b", "a.b.c.d", "!.!.!", &format!("{}.", t.subject)] {
        assert!(
            matches!(t.refused(bad), TokenError::Malformed | TokenError::BadHeader),
            "{bad:?}: {:?}",
            t.refused(bad)
        );
    }
}
