//! The one error type of the core. Each variant is a kind with a stable API
//! code; as data, every error also says whose fault it is ([`Fault`]) and
//! whether the same request may succeed later ([`Retry`]), and the server-side
//! kinds keep their [`Cause`] chain for the log (pingora-error's kind / source
//! / retry / cause). The HTTP layer maps errors to responses in one place.

use std::fmt;

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
    /// The store, a peer or this node's capacity could not answer in time;
    /// the caller may retry.
    #[error("temporarily unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// This node may not serve the MAS now (another owns it, or a hand-off
    /// is under way); nothing was done, so the call may be retried.
    #[error("not the owner: {0}")]
    NotOwner(#[source] Cause),
    /// A bug or corrupt data: retrying the same request will not help.
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
    /// An OAuth endpoint's answer (RFC 6749 and friends).
    #[error("{0}")]
    OAuth(OAuthError),
}

/// Whose fault an error is, which is who has to act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request: the caller must change it.
    Caller,
    /// casa itself (a bug, corrupt data): the operator must look.
    Casa,
    /// The store, a peer node or the node's capacity: it passes by itself.
    Dependency,
}

/// Whether the same request, sent again, may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Never,
    /// After a short wait (the HTTP answer says how long).
    Later,
}

impl CoreError {
    pub fn not_found(what: &str, id: impl ToString) -> Self {
        Self::NotFound { what: what.to_string(), id: id.to_string() }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.to_string(), message: message.into() }
    }

    pub fn unavailable(cause: impl Into<Cause>) -> Self {
        Self::Unavailable(cause.into())
    }

    pub fn not_owner(cause: impl Into<Cause>) -> Self {
        Self::NotOwner(cause.into())
    }

    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::Internal(cause.into())
    }

    pub fn fault(&self) -> Fault {
        match self {
            Self::NotFound { .. } | Self::Conflict(_) | Self::Invalid { .. } | Self::OAuth(_) => Fault::Caller,
            Self::Unavailable(_) | Self::NotOwner(_) => Fault::Dependency,
            Self::Internal(_) => Fault::Casa,
        }
    }

    pub fn retry(&self) -> Retry {
        match self.fault() {
            Fault::Dependency => Retry::Later,
            Fault::Caller | Fault::Casa => Retry::Never,
        }
    }

    /// The error and every cause behind it, for the log: `a: b: c`.
    pub fn report(&self) -> Report<'_> {
        Report(self)
    }
}

impl From<OAuthError> for CoreError {
    fn from(err: OAuthError) -> Self {
        Self::OAuth(err)
    }
}

impl From<InvalidUserInput> for CoreError {
    fn from(err: InvalidUserInput) -> Self {
        Self::invalid("user_input", err.0)
    }
}

/// What went wrong behind a server-side error, as a chain of messages: it
/// crosses the cluster wire, where the original error types do not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    message: String,
    source: Option<Box<Cause>>,
}

impl Cause {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), source: None }
    }

    /// `message`, caused by `err` and everything behind it.
    pub fn because(message: impl Into<String>, err: &(dyn std::error::Error + 'static)) -> Self {
        Self { message: message.into(), source: Some(Box::new(Self::of(err))) }
    }

    /// `err` and its chain of sources.
    pub fn of(err: &(dyn std::error::Error + 'static)) -> Self {
        Self { message: err.to_string(), source: err.source().map(|s| Box::new(Self::of(s))) }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as _)
    }
}

impl From<String> for Cause {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for Cause {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

/// An error with its causes on one line. A cause whose text its parent
/// already ends with (`thiserror`'s `{0}` style) is not repeated.
pub struct Report<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut next = self.0.source();
        while let Some(err) = next {
            let text = err.to_string();
            if !shown.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            shown = text;
            next = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("connection refused")]
    struct Refused;

    #[derive(Debug, thiserror::Error)]
    #[error("query failed")]
    struct Query(#[source] Refused);

    #[test]
    fn each_kind_says_whose_fault_it_is_and_whether_to_retry() {
        let cases = [
            (CoreError::not_found("mas", "x"), Fault::Caller, Retry::Never),
            (CoreError::Conflict("taken".into()), Fault::Caller, Retry::Never),
            (CoreError::invalid("name", "empty"), Fault::Caller, Retry::Never),
            (CoreError::OAuth(OAuthError::InvalidClient), Fault::Caller, Retry::Never),
            (CoreError::unavailable("store"), Fault::Dependency, Retry::Later),
            (CoreError::not_owner("hand-off"), Fault::Dependency, Retry::Later),
            (CoreError::internal("corrupt row"), Fault::Casa, Retry::Never),
        ];
        for (err, fault, retry) in cases {
            assert_eq!((err.fault(), err.retry()), (fault, retry), "{err:?}");
        }
    }

    #[test]
    fn the_cause_chain_survives_the_wire_and_reaches_the_report() {
        let err = CoreError::unavailable(Cause::because("reading MAS 7", &Query(Refused)));
        let wire: CoreError = serde_json::from_slice(&serde_json::to_vec(&err).unwrap()).unwrap();
        assert_eq!(wire, err);
        assert_eq!(
            wire.report().to_string(),
            "temporarily unavailable: reading MAS 7: query failed: connection refused"
        );
        // The response text is the top message only; the chain is for the log.
        assert_eq!(wire.to_string(), "temporarily unavailable: reading MAS 7");
    }

    #[test]
    fn a_cause_the_parent_already_shows_is_not_repeated() {
        #[derive(Debug, thiserror::Error)]
        #[error("store: {0}")]
        struct Wraps(#[source] Refused);
        assert_eq!(Report(&Wraps(Refused)).to_string(), "store: connection refused");
    }
}
