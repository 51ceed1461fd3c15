//! How actor messages cross nodes: every payload has an explicit byte
//! encoding (JSON), so `ractor_cluster` can route MAS calls to remote nodes.

use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{ActorRef, Message, MessagingErr, RpcReplyPort};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::error::{Cause, CoreError};

/// Implements [`ractor::BytesConvertable`] as JSON for message payload types.
/// Decoding panics on malformed bytes, as the trait expects; ractor turns
/// that into a failed message, not a crashed node.
#[macro_export]
macro_rules! json_wire {
    ($($ty:ty),* $(,)?) => {
        $(impl ::ractor::BytesConvertable for $ty {
            fn into_bytes(self) -> Vec<u8> {
                ::serde_json::to_vec(&self).expect("message payloads always encode")
            }
            fn from_bytes(bytes: Vec<u8>) -> Self {
                ::serde_json::from_slice(&bytes).expect("malformed cluster message payload")
            }
        })*
    };
}

/// A payload of the domain (`casa-core`, which knows no actors) as it
/// crosses the wire: JSON, like every payload here.
#[derive(Debug, Clone, PartialEq)]
pub struct Wire<T>(pub T);

impl<T: Serialize + DeserializeOwned> ractor::BytesConvertable for Wire<T> {
    fn into_bytes(self) -> Vec<u8> {
        serde_json::to_vec(&self.0).expect("message payloads always encode")
    }
    fn from_bytes(bytes: Vec<u8>) -> Self {
        Wire(serde_json::from_slice(&bytes).expect("malformed cluster message payload"))
    }
}

/// The answer to a call, as it crosses the wire.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reply<T>(pub Result<T, CoreError>);

impl<T: Serialize + DeserializeOwned> ractor::BytesConvertable for Reply<T> {
    fn into_bytes(self) -> Vec<u8> {
        serde_json::to_vec(&self).expect("replies always encode")
    }
    fn from_bytes(bytes: Vec<u8>) -> Self {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| Reply(Err(CoreError::internal(Cause::because("malformed reply", &e)))))
    }
}

impl<T> From<Result<T, CoreError>> for Reply<T> {
    fn from(r: Result<T, CoreError>) -> Self {
        Reply(r)
    }
}

/// Why a call did not get an answer.
#[derive(Debug)]
pub enum CallFailure {
    /// The actor was not running; the message was never delivered, so the
    /// call is safe to retry on a fresh actor.
    NotRunning,
    Failed(CoreError),
}

/// Calls `actor` with a deadline. Every call carries one: a silent actor
/// (or, later, a silent node) must not hang a request.
pub async fn ask<M: Message, T: Send + 'static>(
    actor: &ActorRef<M>,
    build: impl FnOnce(RpcReplyPort<Reply<T>>) -> M,
    timeout: Duration,
) -> Result<T, CallFailure> {
    match actor.call(build, Some(timeout)).await {
        Ok(CallResult::Success(Reply(result))) => result.map_err(CallFailure::Failed),
        Ok(CallResult::Timeout) => {
            Err(CallFailure::Failed(CoreError::unavailable(format!("no answer within {} ms", timeout.as_millis()))))
        }
        Ok(CallResult::SenderError) => {
            Err(CallFailure::Failed(CoreError::internal("the actor failed while handling the request")))
        }
        Err(MessagingErr::SendErr(_)) | Err(MessagingErr::ChannelClosed) => Err(CallFailure::NotRunning),
        Err(other) => Err(CallFailure::Failed(CoreError::internal(Cause::of(&other)))),
    }
}
