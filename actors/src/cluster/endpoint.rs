//! The `NodeEndpoint`: the one actor of a node that peers talk to. It
//! answers this node's heartbeat to the peers that ask, and takes the MAS
//! calls other nodes route here because this node owns the MAS.
//!
//! A routed call is the caller's own typed `MasMsg`, serialized by its
//! `RactorClusterMessage` derive and rebuilt here, so local and remote calls
//! share one message type and one reply encoding.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::message::SerializedMessage;
use ractor::{Actor, ActorProcessingErr, ActorRef, BytesConvertable, Message, RpcReplyPort};
use ractor_cluster::RactorClusterMessage;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use uuid::Uuid;

use super::identity::Identities;
use super::ManagerMsg;
use crate::error::CoreError;
use crate::events::ClusterSessionRefused;
use crate::mas::{MasMsg, MasView};
use crate::membership::{Heartbeat, View};
use crate::model::NewMas;
use crate::registry::{RegistryHandle, RegistryMsg};
use crate::telemetry::Emit;
use crate::wire::Reply;

/// The process group of the endpoint of the node called `name`.
pub fn group(name: &str) -> String {
    format!("casa.node.{name}")
}

/// The process group of every node's endpoint.
pub const ALL: &str = "casa.nodes";

/// A `MasMsg` on its way to the MAS's owner.
#[derive(Debug)]
pub struct RoutedCall {
    pub mas_id: Uuid,
    pub variant: String,
    pub args: Vec<u8>,
}

/// Binary: 16 bytes of MAS id, the variant's length (u16, big endian), the
/// variant, the arguments. Malformed bytes decode to a call nobody handles.
impl BytesConvertable for RoutedCall {
    fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(18 + self.variant.len() + self.args.len());
        out.extend_from_slice(self.mas_id.as_bytes());
        out.extend_from_slice(&(self.variant.len() as u16).to_be_bytes());
        out.extend_from_slice(self.variant.as_bytes());
        out.extend_from_slice(&self.args);
        out
    }

    fn from_bytes(bytes: Vec<u8>) -> Self {
        let malformed = || RoutedCall { mas_id: Uuid::nil(), variant: String::new(), args: Vec::new() };
        if bytes.len() < 18 {
            return malformed();
        }
        let mas_id = Uuid::from_slice(&bytes[..16]).expect("16 bytes");
        let len = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
        let Some(variant) = bytes.get(18..18 + len).and_then(|v| std::str::from_utf8(v).ok()) else {
            return malformed();
        };
        RoutedCall { mas_id, variant: variant.to_string(), args: bytes[18 + len..].to_vec() }
    }
}

/// A MAS to create on its owner, under an id chosen by the node that took the request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateMas {
    pub id: Uuid,
    pub input: NewMas,
}

crate::json_wire!(Heartbeat, CreateMas);

#[derive(RactorClusterMessage)]
pub enum EndpointMsg {
    /// This node's heartbeat, for the peer that asks.
    #[rpc]
    Heartbeat(RpcReplyPort<Heartbeat>),
    /// The named peer says it leaves: ask it, over its own session, and
    /// forget it now rather than after missed heartbeats. The name is only
    /// a hint: a node cannot make another one leave.
    #[rpc]
    Leave(String, RpcReplyPort<u8>),
    #[rpc]
    Mas(RoutedCall, RpcReplyPort<Vec<u8>>),
    #[rpc]
    CreateMas(CreateMas, RpcReplyPort<Reply<MasView>>),
}

/// What the endpoint needs of its node.
pub struct EndpointArgs {
    pub manager: ActorRef<ManagerMsg>,
    pub registry: RegistryHandle,
    pub view: watch::Receiver<Arc<View>>,
    pub call_timeout: Duration,
    /// This node's heartbeat, as the manager last made it.
    pub own: watch::Receiver<Arc<Heartbeat>>,
    pub identities: Identities,
    /// How long a peer has to answer for its heartbeat.
    pub pull_timeout: Duration,
}

/// The endpoint of the node called `name`: a remote actor of the session
/// bound to `name`'s certificate (any member may put actors in any group).
pub fn endpoint_of(name: &str, identities: &Identities) -> Option<ActorRef<EndpointMsg>> {
    ractor::pg::get_members(&group(name))
        .into_iter()
        .find(|cell| identities.speaks_for(cell.get_id(), name))
        .map(ActorRef::from)
}

/// Asks `peer` for its heartbeat. The answer comes back over the session the
/// question went out on, so it counts only if it names that session's node.
pub async fn pull(peer: &ActorRef<EndpointMsg>, identities: &Identities, within: Duration) -> Option<Heartbeat> {
    let hb = match peer.call(EndpointMsg::Heartbeat, Some(within)).await {
        Ok(ractor::rpc::CallResult::Success(hb)) => hb,
        _ => return None,
    };
    if identities.speaks_for(peer.get_id(), &hb.name) {
        return Some(hb);
    }
    ClusterSessionRefused::HeartbeatName { claimed: &hb.name, bound: identities.node_of(peer.get_id()) }.emit();
    None
}

pub struct NodeEndpoint;

impl Actor for NodeEndpoint {
    type Msg = EndpointMsg;
    type State = Arc<EndpointArgs>;
    type Arguments = EndpointArgs;

    async fn pre_start(
        &self,
        me: ActorRef<EndpointMsg>,
        args: EndpointArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let name = args.view.borrow().me.clone();
        ractor::pg::join(group(&name), vec![me.get_cell()]);
        ractor::pg::join(ALL.to_string(), vec![me.get_cell()]);
        Ok(Arc::new(args))
    }

    async fn handle(
        &self,
        _me: ActorRef<EndpointMsg>,
        msg: EndpointMsg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            EndpointMsg::Heartbeat(reply) => {
                let _ = reply.send(Heartbeat::clone(&state.own.borrow()));
            }
            EndpointMsg::Leave(name, reply) => {
                let state = state.clone();
                tokio::spawn(async move {
                    if let Some(peer) = endpoint_of(&name, &state.identities) {
                        if let Some(hb) = pull(&peer, &state.identities, state.pull_timeout).await {
                            let _ = state.manager.cast(ManagerMsg::Heard(hb));
                        }
                    }
                    let _ = reply.send(1);
                });
            }
            // Served on their own tasks: a slow MAS must not hold up heartbeats.
            EndpointMsg::Mas(call, reply) => {
                tokio::spawn(serve_routed(state.clone(), call, reply));
            }
            EndpointMsg::CreateMas(create, reply) => {
                let state = state.clone();
                tokio::spawn(async move {
                    let result = create_owned(&state, create).await;
                    let _ = reply.send(Reply(result));
                });
            }
        }
        Ok(())
    }
}

fn not_owner(state: &EndpointArgs, mas: Uuid) -> Option<CoreError> {
    state.view.borrow().not_owner(mas, Instant::now()).map(CoreError::not_owner)
}

async fn create_owned(state: &EndpointArgs, create: CreateMas) -> Result<MasView, CoreError> {
    if let Some(err) = not_owner(state, create.id) {
        return Err(err);
    }
    state.registry.call(|port| RegistryMsg::Create(create.id, create.input, port), state.call_timeout).await
}

async fn serve_routed(state: Arc<EndpointArgs>, call: RoutedCall, reply: RpcReplyPort<Vec<u8>>) {
    if let Some(err) = not_owner(&state, call.mas_id) {
        let _ = reply.send(Reply::<()>(Err(err)).into_bytes());
        return;
    }
    let serialized = SerializedMessage::Call { variant: call.variant, args: call.args, reply, metadata: None };
    // A message this binary does not know drops its port: the caller sees a failed call.
    let Ok(mut msg) = MasMsg::deserialize(serialized) else {
        tracing::warn!(mas_id = %call.mas_id, "a routed MAS call could not be decoded");
        return;
    };
    // As in `Node::call_mas`: an actor that stopped between lookup and
    // delivery never saw the message, so one fresh lookup is safe.
    for _ in 0..2 {
        let actor = match state.registry.call(|port| RegistryMsg::Lookup(call.mas_id, port), state.call_timeout).await {
            Ok(actor) => actor,
            Err(err) => return msg.refuse(err),
        };
        match actor.send_message(msg) {
            Ok(()) => return,
            Err(ractor::MessagingErr::SendErr(back)) => msg = back,
            Err(_) => return,
        }
    }
    msg.refuse(CoreError::unavailable(format!("the actor of MAS {} keeps stopping", call.mas_id)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routed_calls_round_trip_and_garbage_decodes_to_nothing() {
        let call = RoutedCall { mas_id: Uuid::new_v4(), variant: "Exchange".into(), args: vec![1, 2, 3] };
        let (id, args) = (call.mas_id, call.args.clone());
        let back = RoutedCall::from_bytes(call.into_bytes());
        assert_eq!((back.mas_id, back.variant.as_str(), back.args), (id, "Exchange", args));
        for garbage in [vec![], vec![0; 17], [vec![0; 16], vec![0xff, 0xff]].concat()] {
            assert_eq!(RoutedCall::from_bytes(garbage).variant, "");
        }
    }
}
