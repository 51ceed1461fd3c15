//! casa's domain: what a MAS is made of (records, realms and their keys),
//! what a token says and how it is checked, the OAuth request and answer
//! types, sessions and intents, and the trace events a decision leaves.
//!
//! Everything here is pure: no async runtime, no actors, no store, no HTTP
//! (its `Cargo.toml` admits none). The runtime (`casa-actors`) owns the state
//! and calls these functions; `casa-semantic` implements the intent traits.

pub mod checks;
pub mod duration;
pub mod embedding;
pub mod error;
pub mod intent;
pub mod lexical;
pub mod model;
pub mod oauth;
pub mod realm;
pub mod relevance;
pub mod revocation;
pub mod secret;
pub mod session;
pub mod telemetry;
pub mod token;
pub mod trace;
pub mod validate;
pub mod wire_event;

pub use error::{Cause, CoreError, Fault, Retry};
