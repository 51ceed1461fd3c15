//! A minimal keep-alive HTTP/1.1 client on hyper's connection API: one TCP
//! connection per driver task, requests sent one after the other, reconnect
//! after a failure. No pool, no per-request URL parsing, no TLS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub const FORM: HeaderValue = HeaderValue::from_static("application/x-www-form-urlencoded");
pub const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A server to talk to: its socket address, `Host` header and base path.
#[derive(Debug)]
pub struct Endpoint {
    pub url: String,
    addr: SocketAddr,
    host: HeaderValue,
    /// The URL's path without a trailing slash (usually empty).
    base: String,
}

impl Endpoint {
    /// Parses and resolves an `http://` URL.
    pub async fn parse(url: &str) -> anyhow::Result<Arc<Endpoint>> {
        let parsed = url::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
        if parsed.scheme() != "http" {
            bail!("{url:?}: only http:// URLs are supported (run the load generator next to the server)");
        }
        let host = parsed.host_str().with_context(|| format!("{url:?} has no host"))?.to_string();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .with_context(|| format!("cannot resolve {host}"))?
            .next()
            .with_context(|| format!("{host} has no address"))?;
        let host_header = match parsed.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        Ok(Arc::new(Endpoint {
            url: url.trim_end_matches('/').to_string(),
            addr,
            host: HeaderValue::from_str(&host_header)?,
            base: parsed.path().trim_end_matches('/').to_string(),
        }))
    }

    /// The origin-form URI of `path` on this endpoint (computed once, reused).
    pub fn uri(&self, path: &str) -> Uri {
        format!("{}{path}", self.base).parse().expect("a valid path")
    }
}

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Connect,
    Io,
    Timeout,
}

impl Failure {
    pub fn reason(self) -> &'static str {
        match self {
            Failure::Connect => "connect_failed",
            Failure::Io => "connection_error",
            Failure::Timeout => "timeout",
        }
    }
}

/// One keep-alive connection.
pub struct Conn {
    pub endpoint: Arc<Endpoint>,
    sender: Option<SendRequest<Full<Bytes>>>,
    timeout: Duration,
}

impl Conn {
    pub fn new(endpoint: Arc<Endpoint>, timeout: Duration) -> Conn {
        Conn { endpoint, sender: None, timeout }
    }

    async fn connect(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, Failure> {
        if self.sender.as_ref().is_some_and(|s| !s.is_closed()) {
            return Ok(self.sender.as_mut().expect("checked"));
        }
        let stream = tokio::time::timeout(self.timeout, TcpStream::connect(self.endpoint.addr))
            .await
            .map_err(|_| Failure::Timeout)?
            .map_err(|_| Failure::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|_| Failure::Connect)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(self.sender.insert(sender))
    }

    /// Opens the connection ahead of the first request (errors show up then).
    pub async fn warm(&mut self) {
        let _ = self.connect().await;
    }

    /// Sends one request and reads the whole answer: `(status, body)`.
    pub async fn send(
        &mut self,
        method: Method,
        uri: &Uri,
        auth: Option<&HeaderValue>,
        content_type: Option<&HeaderValue>,
        body: Bytes,
    ) -> Result<(u16, Bytes), Failure> {
        let timeout = self.timeout;
        let host = self.endpoint.host.clone();
        let result = tokio::time::timeout(timeout, async {
            let sender = self.connect().await?;
            sender.ready().await.map_err(|_| Failure::Io)?;
            let mut req = Request::new(Full::new(body));
            *req.method_mut() = method;
            *req.uri_mut() = uri.clone();
            let headers = req.headers_mut();
            headers.insert(HOST, host);
            if let Some(a) = auth {
                headers.insert(AUTHORIZATION, a.clone());
            }
            if let Some(c) = content_type {
                headers.insert(CONTENT_TYPE, c.clone());
            }
            let resp = sender.send_request(req).await.map_err(|_| Failure::Io)?;
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await.map_err(|_| Failure::Io)?.to_bytes();
            Ok((status, body))
        })
        .await
        .unwrap_or(Err(Failure::Timeout));
        if result.is_err() {
            // The connection may be mid-request: never reuse it.
            self.sender = None;
        }
        result
    }

    /// A request for setup code: JSON or form body, a readable error on failure.
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        auth: Option<&HeaderValue>,
        content_type: Option<&HeaderValue>,
        body: impl Into<Bytes>,
    ) -> anyhow::Result<(u16, Bytes)> {
        let uri = self.endpoint.uri(path);
        let url = format!("{}{path}", self.endpoint.url);
        self.send(method, &uri, auth, content_type, body.into()).await.map_err(|f| match f {
            Failure::Connect => anyhow::anyhow!("cannot connect to {url} (is the server running?)"),
            Failure::Io => anyhow::anyhow!("{url}: the connection failed mid-request"),
            Failure::Timeout => anyhow::anyhow!("{url}: no answer within {timeout:?}", timeout = self.timeout),
        })
    }
}

pub fn bearer(token: &str) -> anyhow::Result<HeaderValue> {
    let mut v = HeaderValue::from_str(&format!("Bearer {token}")).context("the token is not a valid header value")?;
    v.set_sensitive(true);
    Ok(v)
}

/// HTTP Basic credentials (RFC 6749 2.3.1: each part form-encoded first).
pub fn basic(id: &str, secret: &str) -> HeaderValue {
    use base64::Engine;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!("{}:{}", enc(id), enc(secret));
    let mut v = HeaderValue::from_str(&format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw)))
        .expect("base64 is a valid header value");
    v.set_sensitive(true);
    v
}

/// Form-encodes one value.
pub fn form_value(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The string value of a top-level JSON member, found without parsing the
/// whole document (the answers read on the hot path are flat and small, and
/// JWTs and error codes contain no escapes).
pub fn json_str<'a>(body: &'a [u8], key: &str) -> Option<&'a str> {
    let body = std::str::from_utf8(body).ok()?;
    let mut from = 0;
    while let Some(pos) = body[from..].find(key) {
        let start = from + pos;
        from = start + key.len();
        if start == 0 || body.as_bytes()[start - 1] != b'"' || body.as_bytes().get(from) != Some(&b'"') {
            continue;
        }
        let rest = body[from + 1..].trim_start();
        let rest = rest.strip_prefix(':')?.trim_start();
        let rest = rest.strip_prefix('"')?;
        let end = rest.find('"')?;
        return Some(&rest[..end]);
    }
    None
}

/// Is the top-level member `key` the JSON literal `true`?
pub fn json_true(body: &[u8], key: &str) -> bool {
    let Ok(body) = std::str::from_utf8(body) else { return false };
    let pattern = format!("\"{key}\"");
    let Some(pos) = body.find(&pattern) else { return false };
    let rest = body[pos + pattern.len()..].trim_start();
    rest.strip_prefix(':').is_some_and(|r| r.trim_start().starts_with("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_members() {
        let b = br#"{"token_type":"Bearer","access_token" : "a.b.c","active":true}"#;
        assert_eq!(json_str(b, "access_token"), Some("a.b.c"));
        assert_eq!(json_str(b, "token_type"), Some("Bearer"));
        assert_eq!(json_str(b, "token"), None);
        assert!(json_true(b, "active"));
        assert!(!json_true(br#"{"active": false}"#, "active"));
        assert!(!json_true(br#"{"inactive":true}"#, "active"));
    }

    #[test]
    fn basic_auth_is_form_encoded() {
        let v = basic("a b", "s:t");
        assert_eq!(v.to_str().unwrap(), "Basic YStiOnMlM0F0");
    }
}
