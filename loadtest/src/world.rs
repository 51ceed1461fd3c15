//! The world the load runs in: realms (casa MAS or Keycloak realms), each with
//! a client that receives user prompts, agents that exchange tokens and a tool
//! server that introspects them. Built through the server's own API; this
//! module holds the shape and the casa setup, `keycloak.rs` the Keycloak one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::{Method, Uri};
use serde_json::{json, Value};

use crate::catalog;
use crate::http::{self, Conn, Endpoint};

/// Everything a driver needs to talk to one realm, precomputed.
pub struct Realm {
    pub issue_uri: Uri,
    pub exchange_uri: Uri,
    pub introspect_uri: Uri,
    /// The client app (gets the session token for the user's prompt).
    pub client_auth: HeaderValue,
    /// Issue bodies, one per prompt, with the prompt's domain.
    pub issue_bodies: Vec<(Bytes, usize)>,
    /// The agents (exchange the session token for tool tokens).
    pub agents: Vec<HeaderValue>,
    /// The exchange body is `exchange_prefix + subject token + suffix`.
    pub exchange_prefix: Bytes,
    /// Suffixes naming one tool (casa) or the audience (Keycloak), all of them.
    pub exchange_suffixes: Vec<Bytes>,
    /// The same, by catalogue domain (for sessions under the semantic check).
    pub suffixes_by_domain: Vec<Vec<Bytes>>,
    /// The tool server (introspects the tokens it is given).
    pub server_auth: HeaderValue,
}

impl Realm {
    /// The suffixes an exchange of a session of `domain` may use.
    pub fn suffixes(&self, domain: usize, semantic: bool) -> &[Bytes] {
        match self.suffixes_by_domain.get(domain) {
            Some(s) if semantic && !s.is_empty() => s,
            _ => &self.exchange_suffixes,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Casa,
    Keycloak,
}

/// How big a world to build.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Shape {
    pub mas: usize,
    pub agents: usize,
    pub tools: usize,
    pub checks: Vec<String>,
    pub semantic: bool,
    pub setup_concurrency: usize,
}

pub struct World {
    pub realms: Vec<Realm>,
    pub semantic: bool,
    pub setup_seconds: f64,
}

/// Setup-time errors are one line: what failed, on which request.
fn expect(status: u16, body: &[u8], want: u16, what: &str) -> anyhow::Result<Value> {
    if status != want {
        let text = String::from_utf8_lossy(body);
        let text: String = text.chars().take(300).collect();
        bail!("{what}: expected {want}, got {status}: {text}");
    }
    serde_json::from_slice(body).with_context(|| format!("{what}: the answer is not JSON"))
}

/// Checks that `url` is a casa node and that it accepts the admin token.
pub async fn check_casa(ep: &Arc<Endpoint>, admin: &HeaderValue, timeout: Duration) -> anyhow::Result<()> {
    let mut conn = Conn::new(ep.clone(), timeout);
    let (status, _) = conn.call(Method::GET, "/healthz", None, None, Bytes::new()).await?;
    if status != 200 {
        bail!("{}/healthz answered {status}: is this a casa node?", ep.url);
    }
    let (status, body) = conn.call(Method::GET, "/mas?page_size=1", Some(admin), None, Bytes::new()).await?;
    match status {
        200 => Ok(()),
        401 | 403 => bail!(
            "{}: the admin token was refused ({status}); pass the node's token with --admin-token or CASA_ADMIN_TOKEN",
            ep.url
        ),
        _ => bail!(
            "{}/mas answered {status}: {}",
            ep.url,
            String::from_utf8_lossy(&body).chars().take(200).collect::<String>()
        ),
    }
}

/// Creates `shape.mas` MAS on casa through the management API, in parallel.
pub async fn setup_casa(
    ep: &Arc<Endpoint>,
    admin: HeaderValue,
    shape: &Shape,
    timeout: Duration,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<World> {
    let started = Instant::now();
    let run_id = format!("lt-{}-{}", now_secs(), std::process::id());
    let next = Arc::new(AtomicUsize::new(0));
    let shape = Arc::new(shape.clone());
    let mut tasks = Vec::new();
    for _ in 0..shape.setup_concurrency.max(1).min(shape.mas) {
        let (ep, admin, next, shape, run_id, progress) =
            (ep.clone(), admin.clone(), next.clone(), shape.clone(), run_id.clone(), progress.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(ep.clone(), timeout);
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= shape.mas {
                    return Ok::<_, anyhow::Error>(out);
                }
                out.push((i, casa_mas(&mut conn, &admin, &shape, &format!("{run_id}-{i}")).await?));
                progress.inc(1);
            }
        }));
    }
    let mut realms: Vec<(usize, Realm)> = Vec::with_capacity(shape.mas);
    for t in tasks {
        realms.extend(t.await.context("a setup task panicked")??);
    }
    realms.sort_by_key(|(i, _)| *i);
    Ok(World {
        realms: realms.into_iter().map(|(_, r)| r).collect(),
        semantic: shape.semantic,
        setup_seconds: started.elapsed().as_secs_f64(),
    })
}

fn now_secs() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as u128).unwrap_or(0)
}

async fn post_json(
    conn: &mut Conn,
    admin: &HeaderValue,
    path: &str,
    body: &Value,
    what: &str,
) -> anyhow::Result<Value> {
    let (status, resp) =
        conn.call(Method::POST, path, Some(admin), Some(&http::JSON), serde_json::to_vec(body)?).await?;
    expect(status, &resp, 201, what)
}

fn credentials(app: &Value, what: &str) -> anyhow::Result<HeaderValue> {
    let id = app["client_id"].as_str().with_context(|| format!("{what}: no client_id in the answer"))?;
    let secret = app["client_secret"].as_str().with_context(|| format!("{what}: no client_secret in the answer"))?;
    Ok(http::basic(id, secret))
}

/// One MAS: the realm, an MCP server with T tools, a client and M agents.
async fn casa_mas(conn: &mut Conn, admin: &HeaderValue, shape: &Shape, name: &str) -> anyhow::Result<Realm> {
    let mas = post_json(
        conn,
        admin,
        "/mas",
        &json!({"name": name, "description": "casa-loadtest world", "enabled_checks": shape.checks,
                "token_ttl_seconds": 3600, "exchanged_token_ttl_seconds": 600}),
        "creating a MAS",
    )
    .await?;
    let mas_id = mas["id"].as_str().context("creating a MAS: no id in the answer")?.to_string();
    let tools: Vec<(String, String, usize)> = (0..shape.tools).map(catalog::tool).collect();
    let tool_objs: Vec<Value> = tools
        .iter()
        .map(|(n, d, _)| json!({"name": n, "description": d, "input_schema": {"type": "object"}}))
        .collect();
    let names: Vec<&str> = tools.iter().map(|(n, _, _)| n.as_str()).collect();
    let server = post_json(
        conn,
        admin,
        "/apps",
        &json!({"mas_id": mas_id, "name": "tools", "type": "mcp_server", "base_url": "http://127.0.0.1:9/mcp",
                "tools": tool_objs}),
        "creating the MCP server app",
    )
    .await?;
    let client = post_json(
        conn,
        admin,
        "/apps",
        &json!({"mas_id": mas_id, "name": "chat", "type": "client", "allowed_tools": names}),
        "creating the client app",
    )
    .await?;
    let mut agents = Vec::with_capacity(shape.agents);
    for a in 0..shape.agents {
        let agent = post_json(
            conn,
            admin,
            "/apps",
            &json!({"mas_id": mas_id, "name": format!("agent-{a}"), "type": "agent", "allowed_tools": names}),
            "creating an agent app",
        )
        .await?;
        agents.push(credentials(&agent, "creating an agent app")?);
    }

    let ep = conn.endpoint.clone();
    let present: std::collections::BTreeSet<usize> = tools.iter().map(|t| t.2).collect();
    let mut issue_bodies = Vec::new();
    for &d in &present {
        for prompt in catalog::DOMAINS[d].prompts {
            let body = format!("grant_type=client_credentials&user_input={}", http::form_value(prompt));
            issue_bodies.push((Bytes::from(body), d));
        }
    }
    let suffix = |n: &str| Bytes::from(format!("&tools={}", http::form_value(n)));
    let mut by_domain = vec![Vec::new(); catalog::DOMAINS.len()];
    for (n, _, d) in &tools {
        by_domain[*d].push(suffix(n));
    }
    Ok(Realm {
        issue_uri: ep.uri("/oauth/token"),
        exchange_uri: ep.uri("/oauth/token/exchange"),
        introspect_uri: ep.uri("/oauth/introspect"),
        client_auth: credentials(&client, "creating the client app")?,
        issue_bodies,
        agents,
        exchange_prefix: Bytes::from_static(
            b"subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&subject_token=",
        ),
        exchange_suffixes: names.iter().map(|n| suffix(n)).collect(),
        suffixes_by_domain: by_domain,
        server_auth: credentials(&server, "creating the MCP server app")?,
    })
}
