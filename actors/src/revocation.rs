//! Revocation rules. A rule matches claims, so one rule reaches every token
//! it covers — including tokens exchanged from a revoked one, which carry
//! the revoked `jti` in their signed `lineage`.

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub target: RevocationTarget,
    /// Unix seconds.
    pub revoked_at: i64,
    /// After this no token the rule could match is still valid: the rule can go.
    pub expires_at: i64,
}

impl Revocation {
    pub fn matches(&self, c: &Claims) -> bool {
        match &self.target {
            RevocationTarget::Token(jti) => &c.jti == jti || c.lineage.iter().any(|a| a == jti),
            RevocationTarget::Session(uiid) => &c.uiid == uiid,
            RevocationTarget::App(app) => {
                c.iat <= self.revoked_at
                    && (&c.client_id == app || &c.sub == app || c.act.as_ref().is_some_and(|a| a.subjects().contains(&app.as_str())))
            }
        }
    }
}
