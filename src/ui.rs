//! The Explorer UI: static files built by `ui/` (Vite), embedded in the
//! binary at build time and served at `/`, same origin as the API.
//!
//! Files are served by path; a browser navigation (`Accept: text/html`) to
//! a path no API route takes gets `index.html` (the SPA's own routes), while
//! API clients keep their JSON 404s. Every UI response carries a strict
//! Content-Security-Policy: no inline script, nothing from elsewhere.

use poem::http::{header, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};

/// How to get a UI into a binary built without one.
pub const HOW_TO_BUILD: &str =
    "the Explorer UI is not built into this casa: run `npm ci && npm run build` in ui/, then build casa again";

pub const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

#[derive(rust_embed::Embed)]
#[folder = "ui/dist/"]
#[allow_missing = true]
struct Assets;

/// Whether this binary carries a built UI.
pub fn is_built() -> bool {
    Assets::get("index.html").is_some()
}

fn file(path: &str) -> Option<Response> {
    let asset = Assets::get(path)?;
    // Hashed names never change content; index.html must be checked each time.
    let cache = if path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    Some(
        Response::builder()
            .header(header::CONTENT_TYPE, asset.metadata.mimetype())
            .header(header::CACHE_CONTROL, cache)
            .body(asset.data.into_owned()),
    )
}

fn not_built() -> Response {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .content_type("text/plain; charset=utf-8")
        .body(format!("casa: {HOW_TO_BUILD}\n"))
}

fn harden(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    resp
}

fn wants_html(req: &Request) -> bool {
    req.header(header::ACCEPT).is_some_and(|a| a.contains("text/html"))
}

/// Serves the UI around the API endpoint `ep`.
pub async fn serve<E: Endpoint>(ep: E, req: Request) -> poem::Result<Response> {
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    let path = req.uri().path().trim_start_matches('/').to_string();
    if get && (path.is_empty() || path == "index.html") {
        return Ok(harden(file("index.html").unwrap_or_else(not_built)));
    }
    // Only the build's own files, never an API route's path.
    if get && (path.starts_with("assets/") || path == "favicon.svg") {
        if let Some(resp) = file(&path) {
            return Ok(harden(resp));
        }
    }
    let html = get && wants_html(&req);
    let result = ep.call(req).await.map(IntoResponse::into_response);
    let missing = match &result {
        Ok(r) => r.status() == StatusCode::NOT_FOUND,
        Err(e) => e.status() == StatusCode::NOT_FOUND,
    };
    // A navigation to one of the SPA's routes (a deep link, a reload).
    if html && missing {
        if let Some(resp) = file("index.html") {
            return Ok(harden(resp));
        }
    }
    result
}
