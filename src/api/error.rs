//! Every error the HTTP API answers is JSON with a stable code:
//! `{"error": code, "error_description": text, "field"?: name}`.
//!
//! Handlers return [`ApiError`]; everything poem and poem-openapi reject on
//! their own (bad parameters, missing auth, unknown routes) is rewritten into
//! the same shape by [`to_json_response`].

use casa_actors::error::{Fault, Retry};
use casa_actors::oauth::{Denial, OAuthError};
use casa_actors::CoreError;
use poem::http::{header, StatusCode};
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

/// The challenge sent with every 401 (RFC 6750).
pub const BEARER_CHALLENGE: &str = r#"Bearer realm="casa""#;
/// Every 503's description: the same words whatever failed behind it.
pub const UNAVAILABLE: &str =
    "temporarily unavailable; retry after Retry-After seconds (the server log has the details)";
/// The challenge of a failed client authentication (RFC 6749 section 5.2).
pub const CLIENT_CHALLENGE: &str = r#"Basic realm="casa""#;

#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub error: String,
    /// What went wrong, for humans.
    pub error_description: String,
    /// The request field at fault, when there is one (`semantic.threshold`, `tools[2].name`).
    #[oai(skip_serializing_if_is_none)]
    pub field: Option<String>,
    /// For a denied exchange: each refused tool, the check that refused it and why.
    #[oai(skip_serializing_if_is_none)]
    pub denials: Option<Vec<DenialBody>>,
}

/// One tool refused by an exchange.
#[derive(Debug, Clone, Object)]
pub struct DenialBody {
    pub tool: String,
    /// The check or decision step (`ACTOR`, `TOOL_REGISTRY`, `DETERMINISTIC_TOOL_SELECTED`, ...).
    pub check: String,
    /// Stable reason code: `tool_not_in_token`, `tool_not_allowed_for_app`, `unknown_tool`,
    /// `delegation_too_deep`, `cross_mas_actor`, `tool_not_selected_by_llm`, `no_llm_calls_made`, ...
    pub reason: String,
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
}

impl From<Denial> for DenialBody {
    fn from(d: Denial) -> Self {
        Self { tool: d.tool, check: d.check, reason: d.reason, detail: d.detail }
    }
}

#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request is malformed (bad JSON, wrong types, unknown fields, bad parameters).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Missing or wrong credentials (admin token, client credentials or session token).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>, #[oai(header = "WWW-Authenticate")] String),
    /// An exchange refused for at least one tool (`access_denied`, with `denials`).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such resource.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// A name is already taken.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The body is larger than the configured limit.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The body is not `application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// Well-formed, but a value breaks a rule.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// The app started new sessions faster than its MAS's `sessions_per_app_per_second`
    /// (`quota_exceeded`); retry after `Retry-After` seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>, #[oai(header = "Retry-After")] u32),
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The store or an actor is unavailable, or the MAS is between two
    /// nodes of a cluster; retry after `Retry-After` seconds.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] u32),
}

fn body(code: &str, description: impl Into<String>, field: Option<String>) -> Json<ErrorBody> {
    Json(ErrorBody { error: code.into(), error_description: description.into(), field, denials: None })
}

impl ApiError {
    pub fn bad_request(field: Option<String>, description: impl Into<String>) -> Self {
        Self::BadRequest(body("invalid_request", description, field))
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::PayloadTooLarge(body("payload_too_large", format!("the body is larger than {limit} bytes"), None))
    }

    pub fn unsupported_media_type(description: String) -> Self {
        Self::UnsupportedMediaType(body("unsupported_media_type", description, None))
    }

    /// A valid viewer or collector token on a route its role may not use.
    pub fn forbidden_for_role(what_it_may: &str) -> Self {
        Self::Forbidden(body("insufficient_scope", what_it_may, None))
    }

    pub fn unauthorized() -> Self {
        Self::Unauthorized(
            body("invalid_token", "a valid admin token is required: Authorization: Bearer <token>", None),
            BEARER_CHALLENGE.into(),
        )
    }
}

/// The one place a core error becomes an HTTP answer. Whose fault it is
/// decides what the log says; whether to retry decides 503 and Retry-After.
/// Server-side causes name nodes and store errors: they go to the log, never
/// to whoever sent the request.
impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> Self {
        match err.fault() {
            Fault::Caller => {}
            Fault::Dependency => tracing::warn!(error = %err.report(), "unavailable"),
            Fault::Casa => tracing::error!(error = %err.report(), "internal error"),
        }
        if err.retry() == Retry::Later {
            return Self::Unavailable(body("unavailable", UNAVAILABLE, None), 1);
        }
        match err {
            CoreError::NotFound { .. } => Self::NotFound(body("not_found", err.to_string(), None)),
            CoreError::Conflict(msg) => Self::Conflict(body("conflict", msg, None)),
            CoreError::Invalid { field, message } => {
                Self::Unprocessable(body("validation_failed", format!("{field}: {message}"), Some(field)))
            }
            CoreError::OAuth(e) => Self::from(e),
            CoreError::Unavailable(_) | CoreError::NotOwner(_) | CoreError::Internal(_) => {
                Self::Internal(body("internal_error", "internal error; the server log has the details", None))
            }
        }
    }
}

impl From<OAuthError> for ApiError {
    fn from(err: OAuthError) -> Self {
        let code = err.code();
        let description = err.description();
        match err {
            OAuthError::InvalidClient => Self::Unauthorized(body(code, description, None), CLIENT_CHALLENGE.into()),
            OAuthError::InvalidToken(_) => Self::Unauthorized(
                body(code, description, None),
                format!(r#"{BEARER_CHALLENGE}, error="invalid_token""#),
            ),
            OAuthError::QuotaExceeded { retry_after_seconds, .. } => {
                Self::TooManyRequests(body(code, description, None), retry_after_seconds)
            }
            OAuthError::AccessDenied { denials, .. } => Self::Forbidden(Json(ErrorBody {
                error: code.into(),
                error_description: description,
                field: None,
                denials: Some(denials.into_iter().map(Into::into).collect()),
            })),
            _ => Self::BadRequest(body(code, description, None)),
        }
    }
}

/// A stable code for an error poem or poem-openapi produced on its own.
fn classify(err: &poem::Error) -> (&'static str, Option<String>) {
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        return ("invalid_request", Some(e.name.to_string()));
    }
    if err.is::<poem_openapi::error::ParsePathError>() {
        // poem-openapi names path parameters `param0`, `param1`, ... internally.
        return ("invalid_request", Some("path".to_string()));
    }
    match err.status() {
        StatusCode::BAD_REQUEST => ("invalid_request", None),
        StatusCode::UNAUTHORIZED => ("invalid_token", None),
        StatusCode::FORBIDDEN => ("forbidden", None),
        StatusCode::NOT_FOUND => ("not_found", None),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", None),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", None),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", None),
        StatusCode::UNPROCESSABLE_ENTITY => ("validation_failed", None),
        s if s.is_server_error() => ("internal_error", None),
        _ => ("invalid_request", None),
    }
}

/// The last stop of every error: rewrites it into the JSON error shape.
pub async fn to_json_response(err: poem::Error) -> Response {
    if err.is_from_response() {
        // Already one of ours.
        return err.into_response();
    }
    let status = err.status();
    let (code, field) = classify(&err);
    let description = if status.is_server_error() {
        tracing::error!(error = %err, "request failed");
        "internal error; the server log has the details".to_string()
    } else if status == StatusCode::UNAUTHORIZED {
        "valid credentials are required: Authorization: Bearer <token>".to_string()
    } else if field.as_deref() == Some("path") {
        "a path parameter is malformed (ids are UUIDs)".to_string()
    } else {
        err.to_string()
    };
    let mut resp = Json(ErrorBody { error: code.into(), error_description: description, field, denials: None })
        .with_status(status)
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static(BEARER_CHALLENGE));
    }
    resp
}

/// A panic in a handler becomes a JSON 500, never a dropped connection.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    Json(ErrorBody {
        error: "internal_error".into(),
        error_description: "internal error; the server log has the details".into(),
        field: None,
        denials: None,
    })
    .with_status(StatusCode::INTERNAL_SERVER_ERROR)
    .into_response()
}

#[cfg(test)]
mod unavailable_tests {
    use super::*;

    #[test]
    fn a_503_names_no_node_and_no_store_error() {
        for cause in [
            CoreError::unavailable("node node-b dropped the call for MAS 0190"),
            CoreError::not_owner("owned by node-c"),
            CoreError::unavailable("store: Connection refused (10.0.0.7:9042)"),
        ] {
            let ApiError::Unavailable(Json(body), retry) = ApiError::from(cause) else { panic!("not a 503") };
            assert_eq!((body.error.as_str(), body.error_description.as_str(), retry), ("unavailable", UNAVAILABLE, 1));
        }
    }

    #[test]
    fn corrupt_stored_data_is_a_500_not_a_503() {
        use casa_actors::store::StoreError;
        let corrupt = CoreError::from(StoreError::Corrupt("row 3: expected text, found int".into()));
        assert_eq!((corrupt.fault(), corrupt.retry()), (Fault::Casa, Retry::Never));
        let ApiError::Internal(Json(body)) = ApiError::from(corrupt) else { panic!("not a 500") };
        assert!(!body.error_description.contains("row 3"), "{}", body.error_description);
        let down = CoreError::from(StoreError::Unavailable("connection refused".into()));
        assert!(matches!(ApiError::from(down), ApiError::Unavailable(..)));
    }
}
