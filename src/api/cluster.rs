//! `GET /cluster`: this node's view of its cluster, for `casa cluster status`.

use std::collections::HashMap;

use casa_actors::cluster::placement;
use casa_actors::model::{PageRequest, MAX_PAGE_SIZE};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::auth::AdminAuth;
use super::error::ApiError;
use super::{ApiTags, AppState};

#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct ClusterMember {
    pub name: String,
    /// Where peers reach it.
    pub addr: String,
    /// `self`, `alive`, `suspect` (missed heartbeats) or `down`.
    pub state: String,
    /// Whether it serves MAS (it reaches a majority of the members).
    pub serving: bool,
    /// Milliseconds since its last heartbeat.
    pub last_seen_ms: u64,
    /// MAS actors running on it (as of its last heartbeat).
    pub active_mas: u64,
    /// MAS it owns by placement, of every MAS in the store.
    pub owned_mas: u64,
}

#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct ClusterReport {
    /// The node that answered.
    pub node: String,
    /// Its view's number: it grows with every membership change.
    pub epoch: u64,
    pub serving: bool,
    /// Why it does not serve, if it does not.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default)]
    pub reason: Option<String>,
    /// The members MAS are placed on, by rendezvous hashing of their ids.
    pub placement: Vec<String>,
    pub members: Vec<ClusterMember>,
    /// With `?mas_id=`: the member that owns that MAS in this view.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default)]
    pub owner: Option<String>,
}

#[derive(Default)]
pub struct ClusterApi;

#[OpenApi(tag = "ApiTags::Operations")]
impl ClusterApi {
    /// This node's view of the cluster: members, their state, how many MAS each owns
    /// (not counted when `mas_id` is given). 404 on a node that is not one of a cluster.
    #[oai(path = "/cluster", method = "get", operation_id = "clusterStatus")]
    async fn status(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        /// Also answer which member owns this MAS.
        mas_id: Query<Option<Uuid>>,
    ) -> Result<Json<ClusterReport>, ApiError> {
        let Some(cluster) = state.node.cluster() else {
            return Err(casa_actors::CoreError::not_found("cluster of node", "this").into());
        };
        let status = cluster.status().await?;
        let view = cluster.view();
        // Counting reads every MAS: not when the caller only asks for one owner.
        let owned = match mas_id.0 {
            None => owned_by_member(&state.node, &view.members).await?,
            Some(_) => HashMap::new(),
        };
        let members = status
            .members
            .into_iter()
            .map(|m| ClusterMember {
                owned_mas: owned.get(&m.name).copied().unwrap_or(0),
                name: m.name,
                addr: m.addr,
                state: m.state,
                serving: m.serving,
                last_seen_ms: m.last_seen_ms,
                active_mas: m.active_mas as u64,
            })
            .collect();
        Ok(Json(ClusterReport {
            node: status.node,
            epoch: status.epoch,
            serving: status.serving,
            reason: status.reason,
            placement: status.placement,
            members,
            owner: mas_id.0.and_then(|id| placement::owner(&view.members, id).map(str::to_string)),
        }))
    }
}

/// How many of the stored MAS each placement member owns.
async fn owned_by_member(
    node: &casa_actors::node::Node,
    members: &[(String, u64)],
) -> Result<HashMap<String, u64>, ApiError> {
    let mut owned: HashMap<String, u64> = HashMap::new();
    for page in 1.. {
        let found = node.list_mas(None, PageRequest { page, page_size: MAX_PAGE_SIZE }).await?;
        for mas in &found.items {
            if let Some(owner) = placement::owner(members, mas.mas.id) {
                *owned.entry(owner.to_string()).or_default() += 1;
            }
        }
        if found.items.len() < MAX_PAGE_SIZE as usize {
            break;
        }
    }
    Ok(owned)
}
