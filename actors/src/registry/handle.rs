//! How the rest of the node reaches the MAS registry: the supervisor puts the
//! registry in service here and replaces it when it restarts the registry, so
//! callers (the node façade, the cluster endpoint) never hold a dead one.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{ActorId, ActorRef, RpcReplyPort};

use super::{RegistryMsg, RunningActors};
use crate::error::{Cause, CoreError};

#[derive(Clone, Default)]
pub struct RegistryHandle {
    registry: Arc<RwLock<Option<ActorRef<RegistryMsg>>>>,
    /// What the registry in service publishes of its running actors.
    pub running: Arc<RunningActors>,
}

impl RegistryHandle {
    /// Puts a (re)started registry in service.
    pub fn serve(&self, registry: ActorRef<RegistryMsg>) {
        *self.registry.write().expect("registry slot poisoned") = Some(registry);
    }

    /// Is `actor` the registry in service?
    pub fn is(&self, actor: ActorId) -> bool {
        self.registry.read().expect("registry slot poisoned").as_ref().is_some_and(|r| r.get_id() == actor)
    }

    pub fn actor(&self) -> Result<ActorRef<RegistryMsg>, CoreError> {
        self.registry
            .read()
            .expect("registry slot poisoned")
            .clone()
            .ok_or_else(|| CoreError::unavailable("the MAS registry is not running"))
    }

    /// Asks the registry and waits at most `timeout`; a registry that is down
    /// or silent is `Unavailable` (the caller may retry).
    pub async fn call<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<Result<T, CoreError>>) -> RegistryMsg,
        timeout: Duration,
    ) -> Result<T, CoreError> {
        match self.actor()?.call(build, Some(timeout)).await {
            Ok(CallResult::Success(result)) => result,
            Ok(_) => Err(CoreError::unavailable("the MAS registry did not answer")),
            Err(e) => Err(CoreError::unavailable(Cause::because("the MAS registry is not running", &e))),
        }
    }
}
