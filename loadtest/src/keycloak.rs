//! The Keycloak target: the same three flows on Keycloak's endpoints.
//!
//! Per realm: a confidential client `chat` with a service account (client
//! credentials = the session token) whose tokens name the agents in their
//! audience; agents `agent-K` with standard token exchange (v2) enabled that
//! exchange the session token for a token whose audience is the tool server
//! `tools`; `tools` introspects the exchanged token (RFC 7662).
//! Built through the admin REST API with the bootstrap admin's password.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::Method;
use serde_json::{json, Value};

use crate::http::{self, Conn, Endpoint};
use crate::world::{Realm, Shape, World};

/// The bootstrap admin's access token (master realm, `admin-cli`).
async fn admin_token(conn: &mut Conn, user: &str, password: &str) -> anyhow::Result<HeaderValue> {
    let body = format!(
        "grant_type=password&client_id=admin-cli&username={}&password={}",
        http::form_value(user),
        http::form_value(password)
    );
    let (status, resp) =
        conn.call(Method::POST, "/realms/master/protocol/openid-connect/token", None, Some(&http::FORM), body).await?;
    match status {
        200 => {}
        401 | 400 => bail!(
            "{}: Keycloak refused the admin credentials ({status}); pass --keycloak-admin-user/--keycloak-admin-password",
            conn.endpoint.url
        ),
        404 => bail!("{}: no master realm here: is this a Keycloak server?", conn.endpoint.url),
        _ => bail!("{}: admin login answered {status}", conn.endpoint.url),
    }
    let token = http::json_str(&resp, "access_token").context("admin login: no access_token")?;
    http::bearer(token)
}

fn secret(name: &str, i: usize) -> String {
    format!("{name}-{i}-secret-{:016x}", (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn audience_mapper(name: &str, audience: &str) -> Value {
    json!({"name": name, "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
           "config": {"included.client.audience": audience, "access.token.claim": "true",
                      "id.token.claim": "false", "introspection.token.claim": "true"}})
}

async fn create(conn: &mut Conn, admin: &HeaderValue, path: &str, body: Value, what: &str) -> anyhow::Result<()> {
    let (status, resp) =
        conn.call(Method::POST, path, Some(admin), Some(&http::JSON), serde_json::to_vec(&body)?).await?;
    if status != 201 {
        bail!(
            "{what}: Keycloak answered {status}: {}",
            String::from_utf8_lossy(&resp).chars().take(300).collect::<String>()
        );
    }
    Ok(())
}

/// Recreates realms `casa-lt-0..N` and their clients, and returns the world.
pub async fn setup(
    ep: &Arc<Endpoint>,
    user: &str,
    password: &str,
    shape: &Shape,
    timeout: Duration,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<World> {
    let started = Instant::now();
    // Realm creation can take seconds on Keycloak.
    let mut conn = Conn::new(ep.clone(), timeout.max(Duration::from_secs(60)));
    let mut admin = admin_token(&mut conn, user, password).await?;
    let mut realms = Vec::with_capacity(shape.mas);
    for i in 0..shape.mas {
        if i % 20 == 19 {
            admin = admin_token(&mut conn, user, password).await?; // admin tokens live 60 s
        }
        let realm = format!("casa-lt-{i}");
        let (status, _) =
            conn.call(Method::DELETE, &format!("/admin/realms/{realm}"), Some(&admin), None, Bytes::new()).await?;
        if !matches!(status, 204 | 404) {
            bail!("deleting the old realm {realm}: Keycloak answered {status}");
        }
        create(
            &mut conn,
            &admin,
            "/admin/realms",
            json!({"realm": realm, "enabled": true, "accessTokenLifespan": 3600}),
            "creating a realm",
        )
        .await?;
        let clients = format!("/admin/realms/{realm}/clients");
        let agent_ids: Vec<String> = (0..shape.agents).map(|a| format!("agent-{a}")).collect();
        let mappers: Vec<Value> = agent_ids.iter().map(|a| audience_mapper(&format!("aud-{a}"), a)).collect();
        create(
            &mut conn,
            &admin,
            &clients,
            json!({"clientId": "chat", "publicClient": false, "secret": secret("chat", i),
                   "serviceAccountsEnabled": true, "standardFlowEnabled": false, "directAccessGrantsEnabled": false,
                   "protocolMappers": mappers}),
            "creating the chat client",
        )
        .await?;
        let mut agents = Vec::new();
        for (a, agent) in agent_ids.iter().enumerate() {
            create(
                &mut conn,
                &admin,
                &clients,
                json!({"clientId": agent, "publicClient": false, "secret": secret("agent", i * 1000 + a),
                       "serviceAccountsEnabled": false, "standardFlowEnabled": false,
                       "directAccessGrantsEnabled": false,
                       "attributes": {"standard.token.exchange.enabled": "true"},
                       "protocolMappers": [audience_mapper("aud-tools", "tools")]}),
                "creating an agent client",
            )
            .await?;
            agents.push(http::basic(agent, &secret("agent", i * 1000 + a)));
        }
        create(
            &mut conn,
            &admin,
            &clients,
            json!({"clientId": "tools", "publicClient": false, "secret": secret("tools", i),
                   "serviceAccountsEnabled": false, "standardFlowEnabled": false, "directAccessGrantsEnabled": false}),
            "creating the tools client",
        )
        .await?;
        let token_path = format!("/realms/{realm}/protocol/openid-connect/token");
        realms.push(Realm {
            issue_uri: ep.uri(&token_path),
            exchange_uri: ep.uri(&token_path),
            introspect_uri: ep.uri(&format!("{token_path}/introspect")),
            client_auth: http::basic("chat", &secret("chat", i)),
            issue_bodies: vec![(Bytes::from_static(b"grant_type=client_credentials"), 0)],
            agents,
            exchange_prefix: Bytes::from_static(
                b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange\
                  &subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&subject_token=",
            ),
            exchange_suffixes: vec![Bytes::from_static(b"&audience=tools")],
            suffixes_by_domain: Vec::new(),
            server_auth: http::basic("tools", &secret("tools", i)),
        });
        progress.inc(1);
    }
    Ok(World { realms, semantic: false, setup_seconds: started.elapsed().as_secs_f64() })
}
