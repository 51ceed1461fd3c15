//! Admin authentication: `Authorization: Bearer <admin token>`, or one of the
//! narrower credentials on the requests its role allows: the read-only viewer
//! token, and the collector token of `casa collect`.

use poem::http::Method;
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;

use super::AppState;

/// The admin token, required by every management and trace endpoint. The
/// viewer token passes on the reads it may make (GET /trace, /stats, /mas,
/// /apps, /cluster), the collector token on what `casa collect` needs (GET
/// /collector/directory and /collector/revocations/{mas_id}, POST
/// /collector/events).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_admin_token")]
pub struct AdminAuth(());

async fn check_admin_token(req: &Request, bearer: Bearer) -> Option<()> {
    let state = req.data::<AppState>()?;
    if state.admin.verify(&bearer.token) {
        return Some(());
    }
    narrower_role(state, &bearer.token).is_some_and(|r| (r.may)(req.method(), req.uri().path())).then_some(())
}

/// A credential narrower than the admin token.
pub struct Scope {
    /// Its name, for people ("collector token").
    pub name: &'static str,
    pub may: fn(&Method, &str) -> bool,
    /// The 403's description of what it may do.
    refusal: &'static str,
}

const VIEWER: Scope = Scope {
    name: "read-only viewer token",
    may: viewer_may,
    refusal: "the viewer token is read-only: it reads /trace, /stats, /mas, /apps and /cluster",
};
const COLLECTOR: Scope = Scope {
    name: "collector token",
    may: collector_may,
    refusal: "the collector token reads /collector/directory and /collector/revocations and posts /collector/events, nothing else",
};

/// Every narrower credential.
pub const SCOPES: [&Scope; 2] = [&VIEWER, &COLLECTOR];

/// What a presented token that is not the admin token may do, if it is the
/// viewer's or the collector's.
fn narrower_role(state: &AppState, token: &str) -> Option<&'static Scope> {
    let is = |c: &Option<crate::admin::AdminCredential>| c.as_ref().is_some_and(|c| c.verify(token));
    if is(&state.viewer) {
        Some(&VIEWER)
    } else if is(&state.collector) {
        Some(&COLLECTOR)
    } else {
        None
    }
}

/// `path` is `prefix` or below it.
fn under(path: &str, prefix: &str) -> bool {
    path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
}

/// What the viewer token may do: read the trail, stats, MAS, apps and the
/// cluster, and nothing else (no writes, no prompts under `/user-inputs`).
pub fn viewer_may(method: &Method, path: &str) -> bool {
    const READABLE: [&str; 5] = ["/trace", "/stats", "/mas", "/apps", "/cluster"];
    (method == Method::GET || method == Method::HEAD) && READABLE.iter().any(|p| under(path, p))
}

/// What the collector token may do: read the directory (public keys, app
/// addresses) and one realm's revocation rules, and post `wire_*` findings;
/// not the trail, the MAS, prompts or any write elsewhere.
pub fn collector_may(method: &Method, path: &str) -> bool {
    match *method {
        Method::GET => path == "/collector/directory" || under(path, "/collector/revocations"),
        Method::POST => path == "/collector/events",
        _ => false,
    }
}

/// A narrower credential on anything its role may not do is answered 403 (it
/// is a valid credential, just not for this), before the route sees the request.
pub async fn role_gate<E: Endpoint>(ep: E, req: Request) -> poem::Result<Response> {
    let presented = req
        .header(poem::http::header::AUTHORIZATION)
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let (Some(token), Some(state)) = (presented, req.data::<AppState>()) {
        let scope = if state.admin.verify(token) { None } else { narrower_role(state, token) };
        if let Some(scope) = scope.filter(|s| !(s.may)(req.method(), req.uri().path())) {
            let mut refused = super::error::ApiError::forbidden_for_role(scope.refusal).into_response();
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

    #[test]
    fn the_collector_reads_keys_and_revocations_and_posts_findings_only() {
        assert!(collector_may(&Method::GET, "/collector/directory"));
        assert!(collector_may(&Method::GET, "/collector/revocations/0193e0a4-0000-7000-8000-000000000000"));
        assert!(collector_may(&Method::POST, "/collector/events"));
        for (m, path) in [
            (Method::GET, "/collector"),
            (Method::GET, "/collector/events"),
            (Method::POST, "/collector/directory"),
            (Method::DELETE, "/collector/revocations/x"),
            (Method::GET, "/collector/revocationsx"),
            (Method::GET, "/collector/directory/x"),
            (Method::GET, "/trace"),
            (Method::GET, "/mas"),
            (Method::POST, "/mas"),
            (Method::GET, "/user-inputs/1"),
            (Method::POST, "/oauth/revoke"),
        ] {
            assert!(!collector_may(&m, path), "{m} {path}");
        }
    }
}
