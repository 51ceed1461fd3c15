//! Revocation rules. A rule matches claims, so one rule reaches every token
//! it covers — including tokens exchanged from a revoked one, which carry
//! the revoked `jti` in their signed `lineage`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::token::Claims;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum RevocationTarget {
    /// A token and everything exchanged from it.
    Token(String),
    /// Every token of a session.
    Session(String),
    /// Every token issued before the rule to, or exchanged by, an app.
    App(String),
}

impl RevocationTarget {
    /// The rule's key in the store.
    pub fn key(&self) -> String {
        match self {
            Self::Token(j) => format!("token:{j}"),
            Self::Session(s) => format!("session:{s}"),
            Self::App(a) => format!("app:{a}"),
        }
    }
}

/// The kind of rule that revokes a token: the token itself, an ancestor it
/// was exchanged from, its session, or an app in its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokedBy {
    Token,
    Lineage,
    Session,
    App,
}

impl RevokedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Lineage => "lineage",
            Self::Session => "session",
            Self::App => "app",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub target: RevocationTarget,
    /// Unix seconds.
    pub revoked_at: i64,
    /// After this no token the rule could match is still valid: the rule can go.
    pub expires_at: i64,
}

/// The live rules of a realm, indexed so a check costs a few hash lookups
/// (one per ancestor of the token), however many rules there are.
#[derive(Debug, Default, Clone)]
pub struct RevocationSet {
    tokens: HashMap<String, i64>,
    sessions: HashMap<String, i64>,
    /// App → when it was revoked: tokens issued up to then are out.
    apps: HashMap<String, i64>,
}

impl RevocationSet {
    pub fn new(rules: impl IntoIterator<Item = Revocation>, now: i64) -> Self {
        let mut set = Self::default();
        for rule in rules.into_iter().filter(|r| r.expires_at > now) {
            set.insert(&rule);
        }
        set
    }

    pub fn insert(&mut self, rule: &Revocation) {
        match &rule.target {
            RevocationTarget::Token(j) => self.tokens.insert(j.clone(), rule.revoked_at),
            RevocationTarget::Session(s) => self.sessions.insert(s.clone(), rule.revoked_at),
            RevocationTarget::App(a) => self.apps.insert(a.clone(), rule.revoked_at),
        };
    }

    /// Whether every token of the session is revoked (and none may be issued).
    pub fn session_revoked(&self, uiid: &str) -> bool {
        self.sessions.contains_key(uiid)
    }

    pub fn is_revoked(&self, c: &Claims) -> bool {
        self.revoked_by(c).is_some()
    }

    /// Which kind of rule revokes the token, if any.
    pub fn revoked_by(&self, c: &Claims) -> Option<RevokedBy> {
        let app_revoked = |app: &str| self.apps.get(app).is_some_and(|at| c.iat <= *at);
        if self.tokens.contains_key(&c.jti) {
            Some(RevokedBy::Token)
        } else if c.lineage.iter().any(|j| self.tokens.contains_key(j)) {
            Some(RevokedBy::Lineage)
        } else if self.sessions.contains_key(&c.uiid) {
            Some(RevokedBy::Session)
        } else if app_revoked(&c.client_id)
            || app_revoked(&c.sub)
            || c.act.as_ref().is_some_and(|a| a.subjects().into_iter().any(app_revoked))
        {
            Some(RevokedBy::App)
        } else {
            None
        }
    }

    pub fn len(&self) -> usize {
        self.tokens.len() + self.sessions.len() + self.apps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
