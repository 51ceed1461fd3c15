//! The HTTP API: poem-openapi operations over a [`Node`], plus the OpenAPI
//! document, Swagger UI, metrics and error shaping.

use std::time::Instant;

use casa_actors::node::Node;
use metrics_exporter_prometheus::PrometheusHandle;
use poem::middleware::CatchPanic;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::{ApiResponse, OpenApiService, OperationId, Tags};
use tracing::Instrument;

use crate::admin::AdminCredential;
use casa_actors::telemetry;

pub mod apps;
pub mod auth;
pub mod body;
pub mod cluster;
pub mod collector;
pub mod document;
pub mod error;
pub mod form;
pub mod live;
pub mod mas;
pub mod oauth;
pub mod ops;
pub mod sessions;
pub mod trace;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub node: Node,
    pub admin: AdminCredential,
    /// The read-only viewer credential, when the operator made one.
    pub viewer: Option<AdminCredential>,
    /// The credential of `casa collect` processes, when the operator made one.
    pub collector: Option<AdminCredential>,
    /// Base URL of this node, without a trailing slash.
    pub public_url: String,
    pub metrics: PrometheusHandle,
    pub max_body_bytes: usize,
    pub traces: std::sync::Arc<casa_actors::trace_writer::TraceWriter>,
}

#[derive(Tags)]
pub enum ApiTags {
    /// Multi-Agent Systems and their realms.
    Mas,
    /// Clients, agents and MCP servers.
    Apps,
    /// Tokens: issue, exchange, introspect, revoke.
    #[oai(rename = "OAuth")]
    OAuth,
    /// Public realm metadata: keys and authorization server metadata.
    Realms,
    /// Decision evidence.
    Trace,
    /// Health and metrics.
    Operations,
}

#[derive(ApiResponse)]
pub enum Deleted {
    #[oai(status = 204)]
    NoContent,
}

pub type Api = (
    ops::OpsApi,
    oauth::OAuthApi,
    mas::MasApi,
    apps::AppsApi,
    ops::RealmApi,
    trace::TraceApi,
    sessions::SessionsApi,
    cluster::ClusterApi,
    collector::CollectorApi,
);

/// The OpenAPI service; `casa openapi` prints its document.
pub fn spec() -> OpenApiService<Api, ()> {
    OpenApiService::new(
        Api::default(),
        "casa",
        env!("CARGO_PKG_VERSION"),
    )
        .description("Authorization runtime for multi-agent AI systems. Management endpoints need `Authorization: Bearer <admin token>`.")
}

/// The whole HTTP application.
pub fn app(state: AppState) -> impl Endpoint {
    let api = spec();
    let openapi_json = document_endpoint(document::json(), "application/json; charset=utf-8");
    let openapi_yaml = document_endpoint(document::yaml(), "application/yaml; charset=utf-8");
    // Swagger UI embeds its document: the true one, not poem-openapi's.
    let docs = document_endpoint(api.swagger_ui_html().replace(&api.spec(), &document::json()), "text/html");
    let limit = state.max_body_bytes;
    Route::new()
        .nest("/", api)
        .at("/openapi.json", openapi_json)
        .at("/openapi.yaml", openapi_yaml)
        .at("/docs", docs)
        .around(crate::ui::serve)
        .around(auth::role_gate)
        .around(move |ep, req| reject_oversized(ep, req, limit))
        .around(observe)
        .with(CatchPanic::new().with_handler(error::panic_response))
        .data(state)
        .catch_all_error(error::to_json_response)
        .around(allow_header)
}

/// A 405 names the methods the path answers (RFC 9110 section 15.5.6).
async fn allow_header<E: Endpoint>(ep: E, req: Request) -> poem::Result<Response> {
    let path = req.uri().path().to_string();
    let mut resp = ep.call(req).await?.into_response();
    if resp.status() == poem::http::StatusCode::METHOD_NOT_ALLOWED {
        if let Some(allow) = document::allowed_methods(&path).and_then(|m| m.parse().ok()) {
            resp.headers_mut().insert(poem::http::header::ALLOW, allow);
        }
    }
    Ok(resp)
}

/// Serves the OpenAPI document (computed once, at start).
fn document_endpoint(body: String, content_type: &'static str) -> impl Endpoint {
    poem::endpoint::make_sync(move |_| body.clone().with_content_type(content_type))
}

/// Refuses a declared body over the limit before reading any of it.
async fn reject_oversized<E: Endpoint>(ep: E, req: Request, limit: usize) -> poem::Result<Response> {
    let declared = req.header(poem::http::header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(error::ApiError::payload_too_large(limit).into());
    }
    ep.call(req).await.map(IntoResponse::into_response)
}

/// Each request runs in a span that its log line carries: route, method and
/// status, and, where a handler names them, the MAS, the client and the
/// decision (`issued`, `allowed`, `denied`, `rejected`). Counts and latency go
/// to the metrics by route (the operation id), method and status.
async fn observe<E: Endpoint>(ep: E, req: Request) -> poem::Result<Response> {
    use tracing::field::Empty;
    let method = method_label(req.method());
    let fallback = route_label(req.uri().path());
    let span = tracing::info_span!(
        target: "casa::http",
        "request",
        method,
        route = Empty,
        status = Empty,
        mas_id = Empty,
        client_id = Empty,
        decision = Empty
    );
    let start = Instant::now();
    let result = ep.call(req).instrument(span.clone()).await.map(IntoResponse::into_response);
    let (status, op) = match &result {
        Ok(r) => (r.status(), r.data::<OperationId>().map(|o| o.0)),
        Err(e) => (e.status(), e.data::<OperationId>().map(|o| o.0)),
    };
    let elapsed = start.elapsed().as_secs_f64();
    let route = op.unwrap_or(fallback);
    span.record("route", route).record("status", status.as_u16());
    span.in_scope(|| tracing::info!(target: "casa::http", elapsed_ms = elapsed * 1e3, "request"));
    let labels =
        [("route", route.to_string()), ("method", method.to_string()), ("status", status.as_u16().to_string())];
    metrics::counter!(telemetry::HTTP_REQUESTS.name, &labels).increment(1);
    metrics::histogram!(telemetry::HTTP_DURATION.name, &labels).record(elapsed);
    result
}

/// The standard methods by name, any other as one label: anyone can send a
/// made-up method, and each label value is a new series kept for ever.
fn method_label(method: &poem::http::Method) -> &'static str {
    use poem::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Labels for routes outside the OpenAPI operations; anything else is one
/// label, so hostile paths cannot blow up the metric's cardinality.
fn route_label(path: &str) -> &'static str {
    match path {
        "/openapi.json" => "openapi.json",
        "/openapi.yaml" => "openapi.yaml",
        p if p == "/docs" || p.starts_with("/docs/") => "docs",
        _ => "unmatched",
    }
}
