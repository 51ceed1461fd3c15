//! `GET /collector`: the wire collector's hooks, counters and findings.

use std::collections::BTreeMap;

use casa_actors::collector::actor::{current_status, CollectorStatus};
use casa_actors::collector::directory::Snapshot;
use casa_actors::collector::judge::wire_detail;
use casa_actors::trace::{TraceEvent, TraceSink};
use casa_ebpf::HookState;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::AdminAuth;
use super::body::JsonBody;
use super::error::ApiError;
use super::{ApiTags, AppState};

/// Most events a `casa collect` process may report at once.
pub const MAX_REPORTED_EVENTS: usize = 1000;

/// What a `casa collect` process needs to judge tokens: public keys,
/// revocation rules and the apps' addresses (never a signing key).
#[derive(Debug, Clone, Object)]
pub struct CollectorDirectory {
    /// `{realms: [{mas_id, issuer, keys: {kid: hex}, revocations}], apps: [{mas_id, client_id, app_type, base_url}], casa: [host:port]}`
    pub snapshot: serde_json::Value,
}

#[derive(Debug, Clone, Object)]
pub struct CollectorRevocations {
    /// The realm's revocation rules, as stored.
    pub rules: serde_json::Value,
}

/// `wire_*` trace events judged by a `casa collect` process.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CollectorReportBody {
    /// At most 1000 events, each of a `wire_*` type.
    pub events: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Object)]
pub struct CollectorReportAccepted {
    pub accepted: u64,
}

#[derive(Debug, Clone, Object)]
pub struct CollectorHook {
    /// `tcx_ingress:<if>` (never on lo, whose egress sees every packet),
    /// `tcx_egress:<if>`, `sock_ops` or `tls_uprobe`.
    pub name: String,
    /// `attached`, `degraded` or `unavailable`.
    pub state: String,
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    /// Records lost on a degraded hook.
    #[oai(skip_serializing_if_is_none)]
    pub lost: Option<u64>,
}

#[derive(Debug, Clone, Object)]
pub struct CollectorKernelCounters {
    /// HTTP request packets scanned.
    pub scanned: u64,
    /// Authorization: Bearer headers found.
    pub matched: u64,
    /// Records the ring buffer had no room for (lost).
    pub reserve_failures: u64,
    /// Requests only partly seen (scan window, 8 KiB token cap).
    pub truncated: u64,
    /// Packets that continued a request begun in an earlier one.
    pub continued: u64,
    /// HTTP responses seen (their status answers the flow's last request).
    pub responses: u64,
    /// Packets the classifiers ran on, and those with a TCP payload.
    pub packets: u64,
    pub payloads: u64,
    /// `SSL_write` calls the TLS uprobes ran on.
    pub tls_writes: u64,
}

#[derive(Debug, Clone, Object)]
pub struct CollectorReport {
    /// `off`, `starting`, `running`, `restarting` or `unavailable`.
    pub state: String,
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    pub node: String,
    pub interfaces: Vec<String>,
    pub hooks: Vec<CollectorHook>,
    pub kernel: CollectorKernelCounters,
    /// Records read from the ring buffer.
    pub observations: u64,
    /// Requests judged.
    pub requests: u64,
    pub truncated_requests: u64,
    /// Trace events written, by kind.
    pub findings: BTreeMap<String, u64>,
    /// Records lost in the kernel (`kernel`) and records that did not decode (`decode`).
    pub lost: BTreeMap<String, u64>,
    #[oai(skip_serializing_if_is_none)]
    pub load_attach_ms: Option<f64>,
    /// Realms and apps the judge knows (from the store).
    pub realms: u64,
    pub apps: u64,
    #[oai(skip_serializing_if_is_none)]
    pub directory_error: Option<String>,
    pub verifications: u64,
    pub verdict_cache_hits: u64,
    pub restarts: u64,
}

impl From<CollectorStatus> for CollectorReport {
    fn from(s: CollectorStatus) -> Self {
        let hooks = s
            .hooks
            .into_iter()
            .map(|h| {
                let (state, reason, lost) = match h.state {
                    HookState::Attached => ("attached", None, None),
                    HookState::Degraded { reason, lost } => ("degraded", Some(reason), Some(lost)),
                    HookState::Unavailable { reason } => ("unavailable", Some(reason), None),
                };
                CollectorHook { name: h.name, state: state.into(), reason, lost }
            })
            .collect();
        let k = s.kernel;
        CollectorReport {
            state: s.state,
            reason: s.reason,
            node: s.node,
            interfaces: s.interfaces,
            hooks,
            kernel: CollectorKernelCounters {
                scanned: k.scanned,
                matched: k.matched,
                reserve_failures: k.reserve_failures,
                truncated: k.truncated,
                continued: k.continued,
                responses: k.responses,
                packets: k.packets,
                payloads: k.payloads,
                tls_writes: k.tls_writes,
            },
            observations: s.observations,
            requests: s.requests,
            truncated_requests: s.truncated_requests,
            findings: s.findings,
            lost: BTreeMap::from([("kernel".into(), s.lost.kernel), ("decode".into(), s.lost.decode)]),
            load_attach_ms: s.load_attach_ms,
            realms: s.realms as u64,
            apps: s.apps as u64,
            directory_error: s.directory_error,
            verifications: s.verifications,
            verdict_cache_hits: s.verdict_cache_hits,
            restarts: s.restarts,
        }
    }
}

#[derive(Default)]
pub struct CollectorApi;

#[OpenApi(tag = "ApiTags::Operations")]
impl CollectorApi {
    /// The eBPF wire collector of this node: each hook attached, degraded or
    /// unavailable (with the reason), kernel counters, losses and findings.
    /// `state: off` unless `casa serve --collector on`.
    #[oai(path = "/collector", method = "get", operation_id = "collectorStatus")]
    async fn status(&self, _auth: AdminAuth) -> Result<Json<CollectorReport>, ApiError> {
        // A Result although it cannot fail: the error type documents the 401.
        Ok(Json(current_status().map(CollectorReport::from).unwrap_or_else(|| {
            CollectorReport::from(CollectorStatus {
                state: "off".into(),
                reason: Some("the collector is off (casa serve --collector on)".into()),
                ..Default::default()
            })
        })))
    }

    /// Public keys, revocation rules and app addresses of every realm, for a
    /// `casa collect` process on another node (a DaemonSet).
    #[oai(path = "/collector/directory", method = "get", operation_id = "collectorDirectory")]
    async fn directory(&self, _auth: AdminAuth, state: Data<&AppState>) -> Result<Json<CollectorDirectory>, ApiError> {
        let snap = Snapshot::read(&**state.node.store(), &state.public_url, &[])
            .await
            .map_err(casa_actors::CoreError::from)?;
        let snapshot = serde_json::to_value(snap).map_err(|e| casa_actors::CoreError::internal(e.to_string()))?;
        Ok(Json(CollectorDirectory { snapshot }))
    }

    /// One realm's revocation rules, read fresh from the store: a collector
    /// re-reads them before judging uses of the realm's tokens.
    #[oai(path = "/collector/revocations/:mas_id", method = "get", operation_id = "collectorRevocations")]
    async fn revocations(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        mas_id: Path<Uuid>,
    ) -> Result<Json<CollectorRevocations>, ApiError> {
        let rules = state.node.store().revocations(mas_id.0).await.map_err(casa_actors::CoreError::from)?;
        let rules = serde_json::to_value(rules).map_err(|e| casa_actors::CoreError::internal(e.to_string()))?;
        Ok(Json(CollectorRevocations { rules }))
    }

    /// Findings of a `casa collect` process, written to this node's trace.
    /// Only `wire_*` events are accepted; ids, times and chain hashes are
    /// this node's.
    #[oai(path = "/collector/events", method = "post", operation_id = "collectorReport")]
    async fn report(
        &self,
        _auth: AdminAuth,
        state: Data<&AppState>,
        body: JsonBody<CollectorReportBody>,
    ) -> Result<Json<CollectorReportAccepted>, ApiError> {
        let events = body.0.events;
        if events.len() > MAX_REPORTED_EVENTS {
            return Err(
                casa_actors::CoreError::invalid("events", format!("at most {MAX_REPORTED_EVENTS} at once")).into()
            );
        }
        let mut checked = Vec::with_capacity(events.len());
        for (i, v) in events.into_iter().enumerate() {
            let e: TraceEvent = serde_json::from_value(v)
                .map_err(|err| casa_actors::CoreError::invalid(&format!("events[{i}]"), err.to_string()))?;
            if wire_detail(&e.kind).is_none() {
                return Err(casa_actors::CoreError::invalid(&format!("events[{i}].type"), "only wire_* events").into());
            }
            checked.push(e);
        }
        let accepted = checked.len() as u64;
        for mut e in checked {
            let now = time::OffsetDateTime::now_utc();
            e.id = Uuid::now_v7();
            e.at = e.at.min(now);
            e.prev_hash = None;
            e.hash = None;
            e.chain = None;
            state.traces.record(e);
        }
        Ok(Json(CollectorReportAccepted { accepted }))
    }
}
