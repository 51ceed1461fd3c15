//! The realm's view of presented tokens: who a client is, whether a token
//! is valid here now (its signature checked once, then time, revocation and
//! its apps every use), and the bounded caches that make that cheap.

use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{CoreResult, MasState};
use crate::cache::{Bounded, Footprint, SharedBounded};
use crate::model::AppRecord;
use crate::oauth::{ClientCredentials, OAuthError, SessionIntent};
use crate::secret;
use crate::token::{self, Claims, TokenError};

pub(super) fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Why a presented token is not valid here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Token(TokenError),
    Revoked,
    /// Its client (or subject) app was deleted.
    AppGone,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Token(e) => e.fmt(f),
            Self::Revoked => f.write_str("the token has been revoked"),
            Self::AppGone => f.write_str("the token's app no longer exists"),
        }
    }
}

/// Sessions' intents by user input id, bounded in bytes (a task can be
/// 64 KiB): the semantic and AI checks read them on every exchange.
pub struct Sessions(Bounded<Uuid, Arc<SessionIntent>>);

const SESSION_CACHE_BYTES: usize = 64 * 1024 * 1024;

impl Footprint for SessionIntent {
    fn footprint(&self) -> usize {
        64 + self.task.len() + self.embedding.as_ref().map_or(0, |e| e.model.len() + 4 * e.vector.len())
    }
}

impl Default for Sessions {
    fn default() -> Self {
        Self(Bounded::new(SESSION_CACHE_BYTES, 1024))
    }
}

impl Sessions {
    pub(super) fn insert(&mut self, id: Uuid, intent: Arc<SessionIntent>) {
        self.0.insert(id, intent);
    }

    fn get(&self, id: &Uuid) -> Option<Arc<SessionIntent>> {
        self.0.get(id).cloned()
    }
}

/// Verified claims by token digest, bounded in bytes; shared with the tasks
/// that sign this realm's tokens off its actor.
pub struct VerifiedTokens(SharedBounded<[u8; 32], Arc<Claims>>);

const VERIFIED_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Roughly what a cached claim set holds.
impl Footprint for Claims {
    fn footprint(&self) -> usize {
        let c = self;
        let act = c.act.as_ref().map_or(0, |a| a.subjects().iter().map(|s| s.len() + 16).sum());
        128 + c.iss.len()
            + c.sub.len()
            + c.aud.len()
            + c.client_id.len()
            + c.jti.len()
            + c.scope.len()
            + c.uiid.len()
            + c.tools.iter().map(|t| t.len() + 24).sum::<usize>()
            + c.lineage.iter().map(|j| j.len() + 24).sum::<usize>()
            + act
    }
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self(SharedBounded::new(VERIFIED_CACHE_BYTES, 512))
    }
}

impl VerifiedTokens {
    /// The cache's key: [`token::digest_bytes`], what traces hold in hex.
    pub(super) fn key(token: &str) -> [u8; 32] {
        token::digest_bytes(token)
    }

    fn get(&self, key: &[u8; 32]) -> Option<Arc<Claims>> {
        self.0.get(key)
    }

    fn insert(&self, key: [u8; 32], claims: Arc<Claims>) {
        self.0.insert(key, claims);
    }
}

/// A token of this realm, decided and encoded, still to be signed:
/// [`Unsigned::sign`] may run anywhere (off the MAS actor, in parallel with
/// its next requests) and remembers the token as verified.
pub(crate) struct Unsigned {
    signing_input: String,
    key: ed25519_dalek::SigningKey,
    claims: Arc<Claims>,
    verified: Arc<VerifiedTokens>,
}

impl Unsigned {
    /// The token and its digest key ([`VerifiedTokens::key`]).
    pub(crate) fn sign(self) -> (String, [u8; 32]) {
        let token = token::finish(self.signing_input, &self.key);
        let key = VerifiedTokens::key(&token);
        self.verified.insert(key, self.claims);
        (token, key)
    }
}

impl MasState {
    pub(super) fn authenticate(&self, creds: &ClientCredentials) -> Result<&AppRecord, OAuthError> {
        let app = Uuid::parse_str(&creds.client_id).ok().and_then(|id| self.apps.get(&id));
        match app {
            Some(app) if secret::verify(&creds.client_secret, &app.secret_digest) => Ok(app),
            _ => Err(OAuthError::InvalidClient),
        }
    }

    pub(super) fn app_exists(&self, client_id: &str) -> bool {
        Uuid::parse_str(client_id).is_ok_and(|id| self.apps.contains_key(&id))
    }

    /// A token of this realm that is valid now: signature (once), issuer,
    /// time, revocation, and its apps still exist.
    pub(crate) fn validate(&mut self, token: &str, now: i64) -> Result<Arc<Claims>, Invalid> {
        self.validate_keyed(token, VerifiedTokens::key(token), now)
    }

    /// [`Self::validate`] of a token whose digest key the caller has computed.
    pub(super) fn validate_keyed(&mut self, token: &str, key: [u8; 32], now: i64) -> Result<Arc<Claims>, Invalid> {
        let claims = match self.verified.get(&key) {
            Some(c) => {
                token::check_claims(&c, &self.issuer, now).map_err(Invalid::Token)?;
                c
            }
            None => {
                let max = self.max_token_lifetime();
                let c =
                    Arc::new(token::verify_live(token, &self.keyring, &self.issuer, now, max).map_err(Invalid::Token)?);
                self.verified.insert(key, c.clone());
                c
            }
        };
        if self.revocations.is_revoked(&claims) {
            return Err(Invalid::Revoked);
        }
        if !self.app_exists(&claims.client_id) || !self.app_exists(&claims.sub) {
            return Err(Invalid::AppGone);
        }
        Ok(claims)
    }

    /// Signs a token, unless it would be too large for any verifier to accept.
    pub(super) fn mint(&self, claims: Claims) -> Result<String, OAuthError> {
        Ok(self.unsigned(claims)?.sign().0)
    }

    /// A token to sign, unless it would be too large for any verifier to accept.
    pub(super) fn unsigned(&self, claims: Claims) -> Result<Unsigned, OAuthError> {
        let active = self.keyring.active();
        let signing_input = token::signing_input(&claims, active);
        if signing_input.len() + token::SIGNATURE_SUFFIX_BYTES > token::MAX_TOKEN_BYTES {
            return Err(OAuthError::InvalidScope(format!(
                "the token would be larger than {} bytes: ask for fewer tools",
                token::MAX_TOKEN_BYTES
            )));
        }
        let (key, verified) = (active.signing_key(), self.verified.clone());
        Ok(Unsigned { signing_input, key, claims: Arc::new(claims), verified })
    }

    /// The session's task and intent (cached).
    pub(super) async fn session(&mut self, uiid: &str) -> CoreResult<Option<Arc<SessionIntent>>> {
        let Ok(id) = Uuid::parse_str(uiid) else { return Ok(None) };
        if let Some(s) = self.sessions.get(&id) {
            return Ok(Some(s));
        }
        let Some(input) = self.store.get_user_input(self.mas.id, id).await? else { return Ok(None) };
        let task = input.task.unwrap_or_else(|| crate::intent::task_text(&input.content));
        let intent = Arc::new(SessionIntent::new(task, input.intent));
        self.sessions.insert(id, intent.clone());
        Ok(Some(intent))
    }

    /// Authenticates an app of this MAS for a request another realm decides.
    pub(crate) fn authenticate_client(&self, creds: &ClientCredentials) -> CoreResult<String> {
        Ok(self.authenticate(creds)?.client_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cache_is_bounded_in_bytes_not_only_entries() {
        let mut sessions = Sessions::default();
        let task = "t".repeat(64 * 1024);
        for _ in 0..2_000 {
            sessions.insert(Uuid::now_v7(), Arc::new(SessionIntent::new(task.clone(), None)));
            assert!(sessions.0.bytes() <= SESSION_CACHE_BYTES as u64, "{}", sessions.0.bytes());
        }
        assert!(sessions.0.len() < 2_000);
    }

    #[test]
    fn the_verified_cache_is_bounded_in_bytes_not_only_entries() {
        let cache = VerifiedTokens::default();
        let claims = |i: usize| Claims {
            iss: "i".into(),
            sub: "s".into(),
            aud: "a".into(),
            client_id: "c".into(),
            iat: 0,
            nbf: 0,
            exp: i64::MAX,
            jti: i.to_string(),
            scope: String::new(),
            uiid: "u".into(),
            tools: (0..60).map(|t| format!("{t:0>100}")).collect(),
            act: None,
            parent: None,
            lineage: Vec::new(),
        };
        for i in 0..12_000 {
            cache.insert(VerifiedTokens::key(&i.to_string()), Arc::new(claims(i)));
            assert!(cache.0.bytes() <= VERIFIED_CACHE_BYTES as u64, "{}", cache.0.bytes());
        }
        assert!(cache.0.len() < 12_000);
    }
}
