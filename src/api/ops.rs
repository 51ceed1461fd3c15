//! Liveness, readiness, metrics, and the realms' public keys.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

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
        match state.node.readiness().await {
            Ok(()) => Readiness::Ready(Json(Health { status: "ready".into(), reason: None })),
            Err(reason) => Readiness::NotReady(Json(Health { status: "not_ready".into(), reason: Some(reason) })),
        }
    }

    /// Prometheus metrics: request counts and latency by route and status, actor counts.
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self, state: Data<&AppState>) -> PlainText<String> {
        metrics::gauge!("casa_mas_actors").set(state.node.mas_actor_count().await as f64);
        PlainText(state.metrics.render())
    }
}

pub struct RealmApi;

#[OpenApi(tag = "ApiTags::Realms")]
impl RealmApi {
    /// The realm's public signing keys (JWKS), for verifying its tokens offline.
    #[oai(path = "/realms/:mas_id/.well-known/jwks.json", method = "get", operation_id = "realmJwks")]
    async fn jwks(&self, state: Data<&AppState>, mas_id: Path<Uuid>) -> Result<Json<serde_json::Value>, ApiError> {
        Ok(Json(state.node.jwks(mas_id.0).await?))
    }
}
