//! Liveness, readiness, metrics, and the realms' public keys.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use casa_actors::oauth::{EXCHANGED_SCOPE, GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE};
use casa_actors::realm;

use super::error::ApiError;
use super::{ApiTags, AppState};

#[derive(Debug, Object)]
pub struct Health {
    pub status: String,
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
}

#[derive(ApiResponse)]
pub enum Readiness {
    /// The store is open and the supervision tree is up.
    #[oai(status = 200)]
    Ready(Json<Health>),
    #[oai(status = 503)]
    NotReady(Json<Health>),
}

#[derive(Default)]
pub struct OpsApi;

#[OpenApi(tag = "ApiTags::Operations")]
impl OpsApi {
    /// Liveness: the process answers.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> Json<Health> {
        Json(Health { status: "ok".into(), reason: None })
    }

    /// Readiness: the store answers and the supervision tree is up.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&AppState>) -> Readiness {
        match state.node.readiness() {
            Ok(()) => Readiness::Ready(Json(Health { status: "ready".into(), reason: None })),
            Err(reason) => Readiness::NotReady(Json(Health { status: "not_ready".into(), reason: Some(reason) })),
        }
    }

    /// Prometheus metrics: request counts and latency by route and status, actor counts.
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self, state: Data<&AppState>) -> PlainText<String> {
        metrics::gauge!(casa_actors::telemetry::MAS_ACTORS.name).set(state.node.mas_actor_count().await as f64);
        PlainText(state.metrics.render())
    }
}

#[derive(Default)]
pub struct RealmApi;

#[OpenApi(tag = "ApiTags::Realms")]
impl RealmApi {
    /// RFC 8414 authorization server metadata of the realm, where RFC 8414 section 3.1
    /// puts it for the issuer `{public_url}/realms/{mas_id}`: the well-known suffix inserted
    /// between the host and the issuer's path. Strict clients discover a realm from its issuer here.
    #[oai(
        path = "/.well-known/oauth-authorization-server/realms/:mas_id",
        method = "get",
        operation_id = "realmMetadataPathInserted"
    )]
    async fn metadata_path_inserted(
        &self,
        state: Data<&AppState>,
        mas_id: Path<Uuid>,
    ) -> Result<Json<serde_json::Value>, ApiError> {
        self.metadata(state, mas_id).await
    }

    /// RFC 8414 authorization server metadata of the realm (the issuer's path with the
    /// well-known suffix appended, as many clients look for it).
    #[oai(
        path = "/realms/:mas_id/.well-known/oauth-authorization-server",
        method = "get",
        operation_id = "realmMetadata"
    )]
    async fn metadata(&self, state: Data<&AppState>, mas_id: Path<Uuid>) -> Result<Json<serde_json::Value>, ApiError> {
        state
            .node
            .store()
            .get_mas(mas_id.0)
            .await
            .map_err(casa_actors::CoreError::from)?
            .ok_or_else(|| casa_actors::CoreError::not_found("MAS", mas_id.0))?;
        let base = &state.public_url;
        let methods = ["client_secret_basic", "client_secret_post"];
        Ok(Json(serde_json::json!({
            "issuer": realm::issuer(base, mas_id.0),
            "jwks_uri": realm::jwks_uri(base, mas_id.0),
            "token_endpoint": format!("{base}/oauth/token"),
            "token_exchange_endpoint": format!("{base}/oauth/token/exchange"),
            "introspection_endpoint": format!("{base}/oauth/introspect"),
            "revocation_endpoint": format!("{base}/oauth/revoke"),
            "grant_types_supported": [GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE],
            "token_endpoint_auth_methods_supported": methods,
            "introspection_endpoint_auth_methods_supported": methods,
            "revocation_endpoint_auth_methods_supported": methods,
            "response_types_supported": [],
            "scopes_supported": [EXCHANGED_SCOPE],
            "token_endpoint_auth_signing_alg_values_supported": ["EdDSA"],
            "service_documentation": format!("{base}/docs"),
        })))
    }

    /// The realm's public signing keys (JWKS), for verifying its tokens offline.
    #[oai(path = "/realms/:mas_id/.well-known/jwks.json", method = "get", operation_id = "realmJwks")]
    async fn jwks(&self, state: Data<&AppState>, mas_id: Path<Uuid>) -> Result<Json<serde_json::Value>, ApiError> {
        Ok(Json(state.node.jwks(mas_id.0).await?))
    }
}
