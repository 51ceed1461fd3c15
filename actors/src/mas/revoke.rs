//! Revocation (RFC 7009, and the admin's rules): a revoked token reaches
//! everything exchanged from it, through the lineage signed into each token
//! and the trail of exchanges.

use std::time::Instant;

use uuid::Uuid;

use super::tokens::now;
use super::{CoreResult, MasState};
use crate::error::CoreError;
use crate::oauth::{AdminRevokeRequest, AdminRevoked, OAuthError, RevokeRequest};
use crate::revocation::{Revocation, RevocationTarget};
use crate::token::Claims;
use crate::trace::EventKind;
use crate::validate;

/// The rules an admin revocation names, checked.
pub fn admin_targets(req: AdminRevokeRequest) -> CoreResult<Vec<RevocationTarget>> {
    let mut targets = Vec::new();
    if let Some(jti) = req.jti {
        if jti.is_empty() || jti.len() > 128 {
            return Err(CoreError::invalid("jti", "must be 1 to 128 characters"));
        }
        targets.push(RevocationTarget::Token(jti));
    }
    if let Some(uiid) = req.user_input_id {
        let id = Uuid::parse_str(&uiid).map_err(|_| CoreError::invalid("user_input_id", "must be a UUID"))?;
        targets.push(RevocationTarget::Session(id.to_string()));
    }
    if let Some(app) = req.app_id {
        let id = Uuid::parse_str(&app).map_err(|_| CoreError::invalid("app_id", "must be a UUID"))?;
        targets.push(RevocationTarget::App(id.to_string()));
    }
    if targets.is_empty() {
        return Err(CoreError::invalid("jti", "name at least one of jti, user_input_id, app_id"));
    }
    Ok(targets)
}

/// Until when an admin's rule must hold. A token or an app rule matches only
/// tokens issued before it, which are all expired within the longest lifetime;
/// a session can be issued new tokens as long as it exists, so its rule never lapses.
pub fn admin_rule_expiry(target: &RevocationTarget, now: i64) -> i64 {
    match target {
        RevocationTarget::Session(_) => i64::MAX,
        RevocationTarget::Token(_) | RevocationTarget::App(_) => now + validate::MAX_TTL_SECONDS as i64,
    }
}

impl MasState {
    /// Stores and applies revocation rules; `token` is the revoked token's claims, when one was named.
    async fn add_revocations(
        &mut self,
        targets: Vec<RevocationTarget>,
        expires_at: impl Fn(&RevocationTarget) -> i64,
        token: Option<&Claims>,
        started: Instant,
    ) -> CoreResult<()> {
        let now = now();
        for target in &targets {
            let rule = Revocation { target: target.clone(), revoked_at: now, expires_at: expires_at(target) };
            self.store.put_revocation(self.mas.id, &rule).await?;
            self.revocations.insert(&rule);
        }
        let reached = match token {
            Some(c) => self.descendants(&c.jti).await,
            None => Vec::new(),
        };
        let mut event = self.event(EventKind::Revocation { targets, reached });
        if let Some(c) = token {
            event.user_input_id = Some(c.uiid.clone());
            event.jti = Some(c.jti.clone());
            event.app_ids = vec![c.client_id.clone()];
        }
        self.emit(event, started);
        Ok(())
    }

    /// The jtis exchanged from `jti`, down the lineage, from the trail (bounded).
    async fn descendants(&self, jti: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut frontier = vec![jti.to_string()];
        while let Some(parent) = frontier.pop() {
            let Ok(events) = self.store.token_traces(&parent).await else { break };
            for e in events {
                if let (EventKind::ExchangeAllowed { .. }, Some(child)) = (&e.kind, &e.jti) {
                    if e.parent.as_deref() == Some(parent.as_str()) && !found.contains(child) && found.len() < 1000 {
                        found.push(child.clone());
                        frontier.push(child.clone());
                    }
                }
            }
        }
        found
    }

    /// RFC 7009: the holder (or the session's client) revokes a token and,
    /// through lineage, everything exchanged from it. Unknown or invalid
    /// tokens are not an error.
    pub(crate) async fn revoke(&mut self, req: RevokeRequest) -> CoreResult<()> {
        let started = Instant::now();
        let app = self.authenticate(&req.client)?.client_id.clone();
        let Ok(claims) = self.validate(&req.token, now()) else { return Ok(()) };
        if claims.client_id != app && claims.sub != app {
            return Err(OAuthError::UnauthorizedClient("the token was not issued to this client".into()).into());
        }
        let exp = claims.exp;
        self.add_revocations(vec![RevocationTarget::Token(claims.jti.clone())], |_| exp, Some(&claims), started).await
    }

    pub(crate) async fn admin_revoke(&mut self, req: AdminRevokeRequest) -> CoreResult<AdminRevoked> {
        let started = Instant::now();
        let targets = admin_targets(req)?;
        let now = now();
        self.add_revocations(targets.clone(), |t| admin_rule_expiry(t, now), None, started).await?;
        Ok(AdminRevoked { revoked: targets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(jti: Option<&str>, uiid: Option<&str>, app: Option<&str>) -> AdminRevokeRequest {
        AdminRevokeRequest {
            jti: jti.map(str::to_string),
            user_input_id: uiid.map(str::to_string),
            app_id: app.map(str::to_string),
        }
    }

    #[test]
    fn admin_revocations_name_valid_targets_or_are_refused() {
        let id = "0190c0de-0000-7000-8000-000000000001";
        let long = "j".repeat(129);
        // (case, request, the field blamed, or the targets)
        let refused = [
            ("nothing named", req(None, None, None), "jti"),
            ("empty jti", req(Some(""), None, None), "jti"),
            ("jti too long", req(Some(&long), None, None), "jti"),
            ("session not a UUID", req(None, Some("x"), None), "user_input_id"),
            ("app not a UUID", req(None, None, Some("x")), "app_id"),
        ];
        for (case, r, field) in refused {
            match admin_targets(r) {
                Err(CoreError::Invalid { field: f, .. }) => assert_eq!(f, field, "{case}"),
                other => panic!("{case}: {other:?}"),
            }
        }
        let all = admin_targets(req(Some("j"), Some(id), Some(id))).unwrap();
        // A session's rule outlives every restart and every day; the others their tokens.
        let later = 1_000 + 30 * validate::MAX_TTL_SECONDS as i64;
        let rules = all.iter().map(|t| Revocation {
            target: t.clone(),
            revoked_at: 1_000,
            expires_at: admin_rule_expiry(t, 1_000),
        });
        let reloaded = crate::revocation::RevocationSet::new(rules, later);
        assert!(reloaded.session_revoked(id) && reloaded.len() == 1, "{reloaded:?}");
        assert_eq!(
            all,
            [
                RevocationTarget::Token("j".into()),
                RevocationTarget::Session(id.into()),
                RevocationTarget::App(id.into())
            ]
        );
    }
}
