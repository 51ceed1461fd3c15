//! The `MasActor`: one per MAS, the serialisation point for everything the
//! MAS owns — its settings, realm keys, apps (with secret digests and
//! allowlists) and tool registry. Every change is written to the store before
//! it is acknowledged; the actor's state is a cache that can be rebuilt from
//! the store at any time (which is how a failed actor is restarted).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use ractor_cluster::RactorClusterMessage;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

mod bucket;
mod embeddings;
pub mod exchange;
mod grants;
pub mod in_flight;
pub mod introspect;
mod llm_calls;
mod quotas;
pub mod revoke;
mod tokens;

use crate::checks::ToolIndex;
use crate::error::CoreError;
use crate::intent::{self, Embedder};
use crate::lexical::ToolWords;
use crate::membership::View;
use crate::model::*;
use crate::oauth::*;
use crate::realm::Keyring;
use crate::revocation::{Revocation, RevocationSet};
use crate::secret;
use crate::store::{Store, StoreError};
use crate::trace::{EventKind, TraceEvent, TraceSink};
use crate::validate;
use crate::wire::{Reply, Wire};
use grants::{Exchanged, Issuance};

type CoreResult<T> = std::result::Result<T, CoreError>;

/// A MAS as callers see it: its record and its realm's active key id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MasView {
    pub mas: MasRecord,
    pub active_kid: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppUpdate {
    pub app_id: Uuid,
    pub patch: AppPatch,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct AppId(pub Uuid);

crate::json_wire!(AppUpdate, AppId);

#[derive(RactorClusterMessage)]
pub enum MasMsg {
    #[rpc]
    Get(RpcReplyPort<Reply<MasView>>),
    #[rpc]
    Update(Wire<MasPatch>, RpcReplyPort<Reply<MasView>>),
    #[rpc]
    Delete(RpcReplyPort<Reply<()>>),
    #[rpc]
    RotateKey(RpcReplyPort<Reply<String>>),
    #[rpc]
    Jwks(RpcReplyPort<Reply<serde_json::Value>>),
    #[rpc]
    CreateApp(Wire<NewApp>, RpcReplyPort<Reply<AppWithSecret>>),
    #[rpc]
    UpdateApp(AppUpdate, RpcReplyPort<Reply<AppRecord>>),
    #[rpc]
    DeleteApp(AppId, RpcReplyPort<Reply<()>>),
    #[rpc]
    RotateSecret(AppId, RpcReplyPort<Reply<AppWithSecret>>),
    #[rpc]
    ListTools(RpcReplyPort<Reply<Vec<ToolEntry>>>),
    /// Checks an app's credentials; answers its client id.
    #[rpc]
    Authenticate(Wire<ClientCredentials>, RpcReplyPort<Reply<String>>),
    #[rpc]
    IssueToken(Wire<IssueRequest>, RpcReplyPort<Reply<IssueOutcome>>),
    #[rpc]
    Exchange(Wire<ExchangeRequest>, RpcReplyPort<Reply<ExchangeOutcome>>),
    #[rpc]
    Introspect(Wire<IntrospectRequest>, RpcReplyPort<Reply<Introspection>>),
    #[rpc]
    Revoke(Wire<RevokeRequest>, RpcReplyPort<Reply<()>>),
    #[rpc]
    AdminRevoke(Wire<AdminRevokeRequest>, RpcReplyPort<Reply<AdminRevoked>>),
    #[rpc]
    RecordLlmCall(Wire<LlmCallReport>, RpcReplyPort<Reply<LlmCallRecorded>>),
}

impl MasMsg {
    /// Whether the caller stopped waiting (its deadline passed): the call is
    /// then dropped unhandled, so a backlog drains instead of doing stale work.
    pub(crate) fn caller_gone(&self) -> bool {
        match self {
            MasMsg::Get(r) | MasMsg::Update(_, r) => r.is_closed(),
            MasMsg::Delete(r) => r.is_closed(),
            MasMsg::RotateKey(r) => r.is_closed(),
            MasMsg::Jwks(r) => r.is_closed(),
            MasMsg::CreateApp(_, r) | MasMsg::RotateSecret(_, r) => r.is_closed(),
            MasMsg::UpdateApp(_, r) => r.is_closed(),
            MasMsg::DeleteApp(_, r) => r.is_closed(),
            MasMsg::ListTools(r) => r.is_closed(),
            MasMsg::Authenticate(_, r) => r.is_closed(),
            MasMsg::IssueToken(_, r) => r.is_closed(),
            MasMsg::Exchange(_, r) => r.is_closed(),
            MasMsg::Introspect(_, r) => r.is_closed(),
            MasMsg::Revoke(_, r) => r.is_closed(),
            MasMsg::AdminRevoke(_, r) => r.is_closed(),
            MasMsg::RecordLlmCall(_, r) => r.is_closed(),
        }
    }

    /// Answers the message with `err` without handling it.
    pub(crate) fn refuse(self, err: CoreError) {
        match self {
            MasMsg::Get(r) | MasMsg::Update(_, r) => drop(r.send(Reply(Err(err)))),
            MasMsg::Delete(r) => drop(r.send(Reply(Err(err)))),
            MasMsg::RotateKey(r) => drop(r.send(Reply(Err(err)))),
            MasMsg::Jwks(r) => drop(r.send(Reply(Err(err)))),
            MasMsg::CreateApp(_, r) | MasMsg::RotateSecret(_, r) => drop(r.send(Reply(Err(err)))),
            MasMsg::UpdateApp(_, r) => drop(r.send(Reply(Err(err)))),
            MasMsg::DeleteApp(_, r) => drop(r.send(Reply(Err(err)))),
            MasMsg::ListTools(r) => drop(r.send(Reply(Err(err)))),
            MasMsg::Authenticate(_, r) => drop(r.send(Reply(Err(err)))),
            MasMsg::IssueToken(_, r) => drop(r.send(Reply(Err(err)))),
            MasMsg::Exchange(_, r) => drop(r.send(Reply(Err(err)))),
            MasMsg::Introspect(_, r) => drop(r.send(Reply(Err(err)))),
            MasMsg::Revoke(_, r) => drop(r.send(Reply(Err(err)))),
            MasMsg::AdminRevoke(_, r) => drop(r.send(Reply(Err(err)))),
            MasMsg::RecordLlmCall(_, r) => drop(r.send(Reply(Err(err)))),
        }
    }
}

/// What an audit event says of an app: its settings and tool digests, no secret.
fn app_summary(app: &AppRecord) -> serde_json::Value {
    serde_json::json!({
        "name": app.name,
        "type": app.app_type,
        "base_url": app.base_url,
        "allowed_tools": app.allowed_tools,
        "tools": app.tools.iter().map(|t| serde_json::json!({"name": t.name, "digest": intent::tool_digest(t)})).collect::<Vec<_>>(),
    })
}

/// Everything a `MasActor` needs, as loaded from the store.
pub struct MasSnapshot {
    pub mas: MasRecord,
    pub keyring: Keyring,
    pub apps: Vec<AppRecord>,
    pub revocations: Vec<Revocation>,
}

impl MasSnapshot {
    /// `Ok(None)` when the MAS does not exist.
    pub async fn load(store: &dyn Store, id: Uuid) -> Result<Option<Self>, StoreError> {
        // Four independent reads: at once, since on a CQL store each is a round trip.
        let (mas, keys, apps, revocations) =
            futures::try_join!(store.get_mas(id), store.realm_keys(id), store.apps_of_mas(id), store.revocations(id))?;
        let Some(mas) = mas else {
            return Ok(None);
        };
        let keyring = Keyring::new(keys).ok_or_else(|| StoreError::Corrupt(format!("MAS {id} has no realm key")))?;
        Ok(Some(Self { mas, keyring, apps, revocations }))
    }
}

pub struct MasArgs {
    pub snapshot: MasSnapshot,
    pub store: Arc<dyn Store>,
    pub trace: Arc<dyn TraceSink>,
    pub capabilities: Capabilities,
    /// The node's public URL: realm issuers live under it.
    pub public_url: String,
    /// The node's embedder, if it has one: the semantic check compares its model's embeddings
    /// (missing ones are asked of the node on first need).
    pub embedder: Option<Arc<dyn Embedder>>,
    /// In a cluster, who owns what; `None` on a lone node (it owns everything).
    pub view: Option<watch::Receiver<Arc<View>>>,
}

pub struct MasActor;

pub struct MasState {
    mas: MasRecord,
    keyring: Keyring,
    apps: BTreeMap<Uuid, AppRecord>,
    store: Arc<dyn Store>,
    trace: Arc<dyn TraceSink>,
    capabilities: Capabilities,
    /// This realm's `iss`.
    issuer: String,
    revocations: RevocationSet,
    verified: Arc<tokens::VerifiedTokens>,
    /// The tools' embeddings, for the semantic check.
    tool_index: ToolIndex,
    /// Sessions' tasks and intents, as loaded from the store.
    sessions: tokens::Sessions,
    /// Sessions' LLM-call evidence, as loaded from the store.
    llm_evidence: llm_calls::LlmEvidence,
    embedder: Option<Arc<dyn Embedder>>,
    /// How many more rejections this MAS writes to its trail now.
    rejections: bucket::TokenBucket,
    /// Each app's quota of new sessions.
    session_quotas: quotas::SessionQuotas,
    /// Set once the MAS is deleted: messages still queued get `NotFound`
    /// until the registry retires the actor.
    deleted: bool,
    view: Option<watch::Receiver<Arc<View>>>,
}

impl Actor for MasActor {
    type Msg = MasMsg;
    type State = MasState;
    type Arguments = MasArgs;

    async fn pre_start(&self, _me: ActorRef<MasMsg>, args: MasArgs) -> Result<MasState, ActorProcessingErr> {
        let MasArgs { snapshot, store, trace, capabilities, public_url, embedder, view } = args;
        tracing::debug!(mas_id = %snapshot.mas.id, apps = snapshot.apps.len(), "MAS actor started");
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let session_quotas = quotas::SessionQuotas::new(snapshot.mas.settings.sessions_per_app_per_second);
        let mut state = MasState {
            session_quotas,
            issuer: crate::realm::issuer(&public_url, snapshot.mas.id),
            mas: snapshot.mas,
            keyring: snapshot.keyring,
            apps: snapshot.apps.into_iter().map(|a| (a.id, a)).collect(),
            revocations: RevocationSet::new(snapshot.revocations, now),
            verified: Default::default(),
            rejections: bucket::TokenBucket::rejections(Instant::now()),
            store,
            trace,
            capabilities,
            tool_index: ToolIndex::new("", []),
            sessions: Default::default(),
            llm_evidence: Default::default(),
            embedder,
            deleted: false,
            view,
        };
        state.reindex_tools();
        Ok(state)
    }

    async fn handle(&self, _me: ActorRef<MasMsg>, msg: MasMsg, state: &mut MasState) -> Result<(), ActorProcessingErr> {
        if msg.caller_gone() {
            metrics::counter!(crate::telemetry::MAS_CALLS_DROPPED.name).increment(1);
            return Ok(());
        }
        if state.deleted {
            msg.refuse(CoreError::not_found("MAS", state.mas.id));
            return Ok(());
        }
        // A hand-off drains this mailbox: what is still queued once the MAS
        // moved is the new owner's to handle (it loaded the MAS from the store
        // and would not see what this actor did now), so the caller retries there.
        if let Some(why) = state.view.as_ref().and_then(|v| v.borrow().not_owner(state.mas.id, Instant::now())) {
            msg.refuse(CoreError::not_owner(why));
            return Ok(());
        }
        // A caller that gave up (timeout) has dropped its port; that is not our failure.
        match msg {
            MasMsg::Get(reply) => {
                let _ = reply.send(Ok(state.view()).into());
            }
            MasMsg::Update(Wire(patch), reply) => {
                let _ = reply.send(state.update(patch).await.into());
            }
            MasMsg::Delete(reply) => {
                let result = state.store.delete_mas(state.mas.id).await.map_err(CoreError::from);
                state.deleted = result.is_ok();
                if state.deleted {
                    state.audit("mas.delete", state.mas.id, None);
                }
                let _ = reply.send(result.map(|_| ()).into());
            }
            MasMsg::RotateKey(reply) => {
                let _ = reply.send(state.rotate_key().await.into());
            }
            MasMsg::Jwks(reply) => {
                let _ = reply.send(Ok(state.jwks()).into());
            }
            MasMsg::CreateApp(Wire(input), reply) => {
                let _ = reply.send(state.create_app(input).await.into());
            }
            MasMsg::UpdateApp(AppUpdate { app_id, patch }, reply) => {
                let _ = reply.send(state.update_app(app_id, patch).await.into());
            }
            MasMsg::DeleteApp(AppId(id), reply) => {
                let _ = reply.send(state.delete_app(id).await.into());
            }
            MasMsg::RotateSecret(AppId(id), reply) => {
                let _ = reply.send(state.rotate_secret(id).await.into());
            }
            MasMsg::ListTools(reply) => {
                let _ = reply.send(Ok(state.tools()).into());
            }
            MasMsg::Authenticate(Wire(creds), reply) => {
                let _ = reply.send(state.authenticate_client(&creds).into());
            }
            MasMsg::IssueToken(Wire(req), reply) => match state.issue(req).await {
                // The fsync of the user input happens off the mailbox.
                Ok(Issuance::Decided(decision)) => {
                    decision.complete(move |issued| drop(reply.send(issued.map(IssueOutcome::Issued).into())))
                }
                Ok(Issuance::NeedsIntent { embed }) => {
                    let _ = reply.send(Ok(IssueOutcome::NeedsIntent { embed }).into());
                }
                Err(e) => {
                    let _ = reply.send(Err(e).into());
                }
            },
            MasMsg::Exchange(Wire(req), reply) => match state.exchange(req).await {
                // Signed off the mailbox: the actor goes on to its next request meanwhile.
                Ok(Exchanged::Allowed(signing)) => {
                    tokio::spawn(async move {
                        let _ = reply.send(Ok(ExchangeOutcome::Issued(signing.complete())).into());
                    });
                }
                Ok(Exchanged::Decided(outcome)) => {
                    let _ = reply.send(Ok(outcome).into());
                }
                Err(e) => {
                    let _ = reply.send(Err(e).into());
                }
            },
            MasMsg::Introspect(Wire(req), reply) => {
                let _ = reply.send(state.introspect(req).into());
            }
            MasMsg::Revoke(Wire(req), reply) => {
                let _ = reply.send(state.revoke(req).await.into());
            }
            MasMsg::AdminRevoke(Wire(req), reply) => {
                let _ = reply.send(state.admin_revoke(req).await.into());
            }
            MasMsg::RecordLlmCall(Wire(req), reply) => {
                let _ = reply.send(state.record_llm_call(req).await.into());
            }
        }
        Ok(())
    }
}

impl MasState {
    fn view(&self) -> MasView {
        MasView { mas: self.mas.clone(), active_kid: self.keyring.active().kid.clone() }
    }

    /// The longest a token of this realm can live: retired keys stay published that long.
    fn max_token_lifetime(&self) -> time::Duration {
        let s = &self.mas.settings;
        time::Duration::seconds(s.token_ttl_seconds.max(s.exchanged_token_ttl_seconds) as i64)
    }

    fn jwks(&self) -> serde_json::Value {
        self.keyring.jwks(OffsetDateTime::now_utc(), self.max_token_lifetime())
    }

    /// Records a management change in the trail.
    fn audit(&self, action: &str, target: impl ToString, changes: Option<serde_json::Value>) {
        let kind = EventKind::AdminChange { action: action.into(), target: target.to_string(), changes };
        self.trace.record(TraceEvent::new(self.mas.id, kind));
    }

    async fn update(&mut self, patch: MasPatch) -> CoreResult<MasView> {
        let changes = serde_json::to_value(&patch).ok();
        let settings = validate::patch_mas(&self.mas.settings, patch, self.capabilities)?;
        let next = MasRecord { settings, updated_at: OffsetDateTime::now_utc(), ..self.mas.clone() };
        self.store.update_mas(&next).await?;
        self.session_quotas.set_rate(next.settings.sessions_per_app_per_second);
        self.mas = next;
        self.audit("mas.update", self.mas.id, changes);
        Ok(self.view())
    }

    async fn rotate_key(&mut self) -> CoreResult<String> {
        let now = OffsetDateTime::now_utc();
        let (retired, fresh) = self.keyring.rotate(now);
        let retired_kid = retired.kid.clone();
        self.store.put_keys(self.mas.id, &[retired.clone(), fresh.clone()]).await?;
        let mut keys: Vec<_> = self.keyring.keys().iter().filter(|k| k.kid != retired.kid).cloned().collect();
        keys.push(retired);
        keys.push(fresh);
        self.keyring = Keyring::new(keys).expect("a rotated keyring has keys");
        tracing::info!(mas_id = %self.mas.id, kid = %self.keyring.active().kid, "realm key rotated");
        let kind = EventKind::KeyRotated { kid: self.keyring.active().kid.clone(), retired_kid: retired_kid.clone() };
        self.trace.record(TraceEvent::new(self.mas.id, kind));
        Ok(self.keyring.active().kid.clone())
    }

    fn app(&self, id: Uuid) -> CoreResult<&AppRecord> {
        self.apps.get(&id).ok_or_else(|| CoreError::not_found("app", id))
    }

    /// App names and tool names are unique within the MAS.
    fn check_unique(&self, candidate: &AppRecord) -> CoreResult<()> {
        for other in self.apps.values().filter(|a| a.id != candidate.id) {
            if other.name == candidate.name {
                return Err(CoreError::Conflict(format!(
                    "an app named {:?} already exists in this MAS",
                    candidate.name
                )));
            }
            if let Some(tool) = candidate.tools.iter().find(|t| other.tools.iter().any(|o| o.name == t.name)) {
                return Err(CoreError::Conflict(format!(
                    "tool {:?} is already served by app {:?} in this MAS",
                    tool.name, other.name
                )));
            }
        }
        Ok(())
    }

    async fn create_app(&mut self, input: NewApp) -> CoreResult<AppWithSecret> {
        if input.mas_id != self.mas.id {
            return Err(CoreError::internal("app routed to the wrong MAS"));
        }
        let mut input = validate::new_app(input)?;
        for tool in &mut input.tools {
            tool.registered_digest = Some(intent::tool_digest(tool));
        }
        let now = OffsetDateTime::now_utc();
        let id = Uuid::now_v7();
        let client_secret = secret::generate(secret::CLIENT_SECRET_PREFIX);
        let app = AppRecord {
            id,
            mas_id: self.mas.id,
            name: input.name,
            app_type: input.app_type,
            base_url: input.base_url,
            allowed_tools: input.allowed_tools,
            tools: input.tools,
            client_id: id.to_string(),
            secret_digest: secret::digest(&client_secret),
            created_at: now,
            updated_at: now,
        };
        self.check_unique(&app)?;
        self.store.put_app(&app).await?;
        self.apps.insert(id, app.clone());
        self.reindex_tools();
        self.audit("app.create", id, Some(app_summary(&app)));
        Ok(AppWithSecret { app, client_secret })
    }

    async fn update_app(&mut self, id: Uuid, patch: AppPatch) -> CoreResult<AppRecord> {
        let current = self.app(id)?;
        let mut next = validate::patch_app(current, patch)?;
        let now = OffsetDateTime::now_utc();
        for tool in &mut next.tools {
            let previous = current.tools.iter().find(|t| t.name == tool.name);
            if let Some(previous) = previous {
                tool.succeed(previous, now);
            }
            // A tool keeps the digest it was first registered with; a new one gets its own.
            let before = previous.and_then(|t| t.registered_digest.clone());
            tool.registered_digest = before.or_else(|| Some(intent::tool_digest(tool)));
            if tool.registered_digest.as_deref() != Some(intent::tool_digest(tool).as_str()) {
                tracing::warn!(mas_id = %self.mas.id, tool = %tool.name, "a tool's definition changed after registration");
            }
        }
        next.updated_at = now;
        self.check_unique(&next)?;
        self.store.put_app(&next).await?;
        self.apps.insert(id, next.clone());
        self.reindex_tools();
        self.audit("app.update", id, Some(app_summary(&next)));
        Ok(next)
    }

    async fn delete_app(&mut self, id: Uuid) -> CoreResult<()> {
        self.app(id)?;
        self.store.delete_app(id).await?;
        self.apps.remove(&id);
        self.session_quotas.forget(id);
        self.reindex_tools();
        self.audit("app.delete", id, None);
        Ok(())
    }

    async fn rotate_secret(&mut self, id: Uuid) -> CoreResult<AppWithSecret> {
        let client_secret = secret::generate(secret::CLIENT_SECRET_PREFIX);
        let next = AppRecord {
            secret_digest: secret::digest(&client_secret),
            updated_at: OffsetDateTime::now_utc(),
            ..self.app(id)?.clone()
        };
        self.store.put_app(&next).await?;
        self.apps.insert(id, next.clone());
        self.audit("app.secret_rotate", id, None);
        Ok(AppWithSecret { app: next, client_secret })
    }

    /// The model whose embeddings the semantic check compares.
    fn embedding_model(&self) -> Option<&str> {
        self.embedder.as_deref().map(|e| e.model())
    }

    fn reindex_tools(&mut self) {
        let Some(model) = self.embedding_model().map(str::to_string) else { return };
        let tools = self
            .apps
            .values()
            .flat_map(|a| &a.tools)
            .filter_map(|t| Some((t.name.as_str(), ToolWords::of(&t.name, &t.description), t.embedding.as_ref()?)));
        let calibration = self.embedder.as_ref().and_then(|e| e.calibration());
        self.tool_index = ToolIndex::new(&model, tools).with_calibration(calibration);
    }

    fn tools(&self) -> Vec<ToolEntry> {
        let mut tools: Vec<ToolEntry> = self
            .apps
            .values()
            .flat_map(|app| {
                app.tools.iter().map(|t| ToolEntry {
                    tool: t.clone(),
                    app_id: app.id,
                    app_name: app.name.clone(),
                    digest: intent::tool_digest(t),
                })
            })
            .collect();
        tools.sort_by(|a, b| a.tool.name.cmp(&b.tool.name));
        tools
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ractor::BytesConvertable;

    #[test]
    fn message_payloads_and_replies_survive_the_wire() {
        let patch = MasPatch {
            name: Some("ünï".into()),
            enabled_checks: Some(vec![CheckName::DeterministicLlmSelectedTools]),
            semantic: Some(SemanticInput { threshold: Some(0.25), top_k: Some(3), min_probability: None }),
            ..Default::default()
        };
        assert_eq!(Wire::<MasPatch>::from_bytes(Wire(patch.clone()).into_bytes()), Wire(patch));
        let update = AppUpdate {
            app_id: Uuid::now_v7(),
            patch: AppPatch { allowed_tools: Some(vec!["a:b".into()]), ..Default::default() },
        };
        let back = AppUpdate::from_bytes(update.clone().into_bytes());
        assert_eq!((back.app_id, back.patch), (update.app_id, update.patch));

        let ok: Reply<String> = Reply(Ok("kid".into()));
        assert_eq!(Reply::<String>::from_bytes(ok.into_bytes()).0, Ok("kid".to_string()));
        let err: Reply<String> = Reply(Err(CoreError::invalid("name", "bad")));
        assert_eq!(Reply::<String>::from_bytes(err.into_bytes()).0, Err(CoreError::invalid("name", "bad")));
        // Garbage from a peer is an error reply, not a panic.
        assert!(matches!(Reply::<String>::from_bytes(b"\xff".to_vec()).0, Err(CoreError::Internal(_))));
    }
}
