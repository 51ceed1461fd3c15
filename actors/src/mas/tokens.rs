//! The realm's view of presented tokens: who a client is, whether a token
//! is valid here now (its signature checked once, then time, revocation and
//! its apps every use), and the bounded caches that make that cheap.

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{CoreResult, MasState};
use crate::model::AppRecord;
use crate::oauth::{ClientCredentials, OAuthError, SessionIntent};
use crate::secret;
use crate::token::{self, Claims, TokenError};

/// Verified tokens kept, so a token the realm issued (or already checked) is
/// not signature-verified again. Time and revocation are checked every use.
const VERIFIED_CACHE_ENTRIES: usize = 100_000;
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

/// Sessions' intents by user input id, bounded in count and bytes (a task
/// can be 64 KiB): the semantic and AI checks read them on every exchange.
#[derive(Default)]
pub struct Sessions {
    by_id: HashMap<Uuid, Arc<SessionIntent>>,
    bytes: usize,
}

const SESSION_CACHE_ENTRIES: usize = 100_000;
const SESSION_CACHE_BYTES: usize = 64 * 1024 * 1024;

fn intent_bytes(intent: &SessionIntent) -> usize {
    64 + intent.task.len() + intent.embedding.as_ref().map_or(0, |e| e.model.len() + 4 * e.vector.len())
}

impl Sessions {
    pub(super) fn insert(&mut self, id: Uuid, intent: Arc<SessionIntent>) {
        let size = intent_bytes(&intent);
        if self.by_id.len() >= SESSION_CACHE_ENTRIES || self.bytes + size > SESSION_CACHE_BYTES {
            self.by_id.clear();
            self.bytes = 0;
        }
        if let Some(old) = self.by_id.insert(id, intent) {
            self.bytes -= intent_bytes(&old);
        }
        self.bytes += size;
    }
}

/// Verified claims by token digest, bounded in count and bytes.
#[derive(Default)]
pub struct VerifiedTokens {
    by_digest: HashMap<[u8; 32], Arc<Claims>>,
    bytes: usize,
}

const VERIFIED_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Roughly what a cached claim set holds.
fn claims_bytes(c: &Claims) -> usize {
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

impl VerifiedTokens {
    fn key(token: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes()).into()
    }

    pub(super) fn get(&self, token: &str) -> Option<Arc<Claims>> {
        self.by_digest.get(&Self::key(token)).cloned()
    }

    pub(super) fn insert(&mut self, token: &str, claims: Arc<Claims>, now: i64) {
        let size = claims_bytes(&claims);
        let full = |s: &Self| s.by_digest.len() >= VERIFIED_CACHE_ENTRIES || s.bytes + size > VERIFIED_CACHE_BYTES;
        if full(self) {
            self.by_digest.retain(|_, c| c.exp > now);
            self.bytes = self.by_digest.values().map(|c| claims_bytes(c)).sum();
            if full(self) {
                self.by_digest.clear();
                self.bytes = 0;
            }
        }
        if let Some(old) = self.by_digest.insert(Self::key(token), claims) {
            self.bytes -= claims_bytes(&old);
        }
        self.bytes += size;
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
        let claims = match self.verified.get(token) {
            Some(c) => {
                token::check_claims(&c, &self.issuer, now).map_err(Invalid::Token)?;
                c
            }
            None => {
                let max = self.max_token_lifetime();
                let c =
                    Arc::new(token::verify_live(token, &self.keyring, &self.issuer, now, max).map_err(Invalid::Token)?);
                self.verified.insert(token, c.clone(), now);
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
    pub(super) fn mint(&mut self, claims: Claims, now: i64) -> Result<String, OAuthError> {
        let token = token::sign(&claims, self.keyring.active());
        if token.len() > token::MAX_TOKEN_BYTES {
            return Err(OAuthError::InvalidScope(format!(
                "the token would be larger than {} bytes: ask for fewer tools",
                token::MAX_TOKEN_BYTES
            )));
        }
        self.verified.insert(&token, Arc::new(claims), now);
        Ok(token)
    }

    /// The session's task and intent (cached).
    pub(super) async fn session(&mut self, uiid: &str) -> CoreResult<Option<Arc<SessionIntent>>> {
        let Ok(id) = Uuid::parse_str(uiid) else { return Ok(None) };
        if let Some(s) = self.sessions.by_id.get(&id) {
            return Ok(Some(s.clone()));
        }
        let Some(input) = self.store.get_user_input(self.mas.id, id).await? else { return Ok(None) };
        let task = input.task.unwrap_or_else(|| crate::intent::task_text(&input.content));
        let intent = Arc::new(SessionIntent { task, embedding: input.intent });
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
            sessions.insert(Uuid::now_v7(), Arc::new(SessionIntent { task: task.clone(), embedding: None }));
            assert!(sessions.bytes <= SESSION_CACHE_BYTES, "{}", sessions.bytes);
        }
        let exact: usize = sessions.by_id.values().map(|i| intent_bytes(i)).sum();
        assert_eq!(sessions.bytes, exact);
        assert!(sessions.by_id.len() < 2_000);
    }

    #[test]
    fn the_verified_cache_is_bounded_in_bytes_not_only_entries() {
        let mut cache = VerifiedTokens::default();
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
            cache.insert(&i.to_string(), Arc::new(claims(i)), 0);
            assert!(cache.bytes <= VERIFIED_CACHE_BYTES, "{}", cache.bytes);
        }
        let exact: usize = cache.by_digest.values().map(|c| claims_bytes(c)).sum();
        assert_eq!(cache.bytes, exact);
    }
}
