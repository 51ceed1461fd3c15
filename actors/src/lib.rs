//! casa's runtime core: the supervision tree, one [`mas::MasActor`] per MAS,
//! and the domain those actors own (realms, apps, tools, stores).
//!
//! Nothing here knows HTTP: the `casa` crate translates requests into calls on
//! [`node::Node`].

pub mod checks;
pub mod cluster;
pub mod error;
pub mod intent;
pub mod mas;
pub mod model;
pub mod node;
pub mod oauth;
pub mod realm;
pub mod registry;
pub mod relevance;
pub mod retention;
pub mod revocation;
pub mod secret;
pub mod session;
pub mod store;
pub mod token;
pub mod trace;
pub mod trace_writer;
pub mod validate;
pub mod wire;

pub use error::CoreError;
