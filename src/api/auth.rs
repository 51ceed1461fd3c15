//! Admin authentication: `Authorization: Bearer <admin token>`, or the
//! read-only viewer token on the reads it may make.

use poem::http::Method;
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;

use super::AppState;

/// The admin token, required by every management and trace endpoint; the
/// viewer token passes on the reads [`viewer_may`] allows.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_admin_token")]
pub struct AdminAuth(());

async fn check_admin_token(req: &Request, bearer: Bearer) -> Option<()> {
    let state = req.data::<AppState>()?;
    if state.admin.verify(&bearer.token) {
        return Some(());
    }
    let viewer = state.viewer.as_ref().is_some_and(|v| v.verify(&bearer.token));
    (viewer && viewer_may(req.method(), req.uri().path())).then_some(())
}

/// What the viewer token may do: read the trail, stats, MAS, apps and the
/// cluster, and nothing else (no writes, no prompts under `/user-inputs`).
pub fn viewer_may(method: &Method, path: &str) -> bool {
    const READABLE: [&str; 5] = ["/trace", "/stats", "/mas", "/apps", "/cluster"];
    let under = |p: &str| path == p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'));
    (method == Method::GET || method == Method::HEAD) && READABLE.iter().any(|p| under(p))
}

/// A viewer token on anything it may not do is answered 403 (it is a valid
/// credential, just not for this), before the route sees the request.
pub async fn viewer_gate<E: Endpoint>(ep: E, req: Request) -> poem::Result<Response> {
    let presented = req
        .header(poem::http::header::AUTHORIZATION)
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let (Some(token), Some(state)) = (presented, req.data::<AppState>()) {
        let is_viewer = state.viewer.as_ref().is_some_and(|v| v.verify(token)) && !state.admin.verify(token);
        if is_viewer && !viewer_may(req.method(), req.uri().path()) {
            let mut refused = super::error::ApiError::forbidden_for_viewer().into_response();
            // RFC 6750 section 3.1: a valid token without the scope the request needs.
            refused.headers_mut().insert(
                poem::http::header::WWW_AUTHENTICATE,
                poem::http::HeaderValue::from_static(r#"Bearer realm="casa", error="insufficient_scope""#),
            );
            return Ok(refused);
        }
    }
    ep.call(req).await.map(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_viewer_reads_only_its_routes() {
        for path in
            ["/trace", "/trace/stream", "/trace/session/x", "/stats", "/mas", "/mas/1/tools", "/apps/1", "/cluster"]
        {
            assert!(viewer_may(&Method::GET, path), "{path}");
            assert!(!viewer_may(&Method::POST, path), "{path}");
            assert!(!viewer_may(&Method::DELETE, path), "{path}");
            assert!(!viewer_may(&Method::PATCH, path), "{path}");
        }
        for path in ["/user-inputs/1", "/masx", "/tracex", "/statsx", "/metrics", "/", "/oauth/revoke"] {
            assert!(!viewer_may(&Method::GET, path), "{path}");
        }
    }
}
