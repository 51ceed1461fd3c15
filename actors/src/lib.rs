//! casa's runtime: the supervision tree, one [`mas::MasActor`] per MAS, the
//! cluster, the stores and the trace writer. The domain they act on lives in
//! `casa-core` and is re-exported here under its old paths.
//!
//! Nothing here knows HTTP: the `casa` crate translates requests into calls on
//! [`node::Node`].

pub mod background;
pub mod backoff;
pub mod cache;
pub mod cluster;
pub mod collector;
pub mod events;
pub mod mas;
pub mod membership;
pub mod node;
pub mod readiness;
pub mod registry;
pub mod retention;
pub mod store;
pub mod supervise;
#[cfg(feature = "testsuite")]
pub mod testsuite;
pub mod trace_writer;
pub mod wire;

pub use casa_core::{
    checks, error, intent, lexical, model, oauth, realm, relevance, revocation, secret, session, telemetry, token,
    trace, validate, CoreError,
};
