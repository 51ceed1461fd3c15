//! The one error type of the core: every variant maps to a stable API code.

use serde::{Deserialize, Serialize};

use crate::oauth::OAuthError;
use crate::session::InvalidUserInput;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum CoreError {
    #[error("{what} {id} not found")]
    NotFound { what: String, id: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The store or an actor could not answer in time; the caller may retry.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// This node may not serve the MAS now (another owns it, or a hand-off
    /// is under way); nothing was done, so the call may be retried.
    #[error("not the owner: {0}")]
    NotOwner(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// An OAuth endpoint's answer (RFC 6749 and friends).
    #[error("{0}")]
    OAuth(OAuthError),
}

impl From<OAuthError> for CoreError {
    fn from(err: OAuthError) -> Self {
        Self::OAuth(err)
    }
}

impl CoreError {
    pub fn not_found(what: &str, id: impl ToString) -> Self {
        Self::NotFound { what: what.to_string(), id: id.to_string() }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.to_string(), message: message.into() }
    }
}

impl From<InvalidUserInput> for CoreError {
    fn from(err: InvalidUserInput) -> Self {
        Self::invalid("user_input", err.0)
    }
}
