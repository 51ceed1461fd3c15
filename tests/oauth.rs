//! Token service scenarios over real HTTP: issue, exchange, introspect,
//! revoke, LLM evidence, key rotation.

mod common;

use common::*;
use serde_json::json;

fn pair(tool: &str, reason: &str) -> (String, String) {
    (tool.to_string(), reason.to_string())
}

#[test]
fn client_credentials_issue_a_session_token_with_the_documented_claims() {
    let casa = Casa::start();
    let fleet = Fleet::create(&casa, json!({"token_ttl_seconds": 120}));
    let r = casa.token(&fleet.client, "summarise my notes", Some("fs:read web:search"));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let body = r.json();
    assert_eq!((body["token_type"].as_str(), body["expires_in"].as_i64()), (Some("Bearer"), Some(120)));
    assert_eq!(body["scope"], "fs:read web:search");
    let token = body["access_token"].as_str().unwrap();
    let (header, claims) = jwt_parts(token);
    assert_eq!(header, json!({"alg": "EdDSA", "typ": "at+jwt", "kid": fleet.mas["realm"]["active_kid"]}));
    assert_eq!(claims["iss"], fleet.mas["realm"]["issuer"]);
    assert_eq!(claims["aud"], fleet.mas["realm"]["issuer"]);
    assert_eq!(claims["sub"], json!(fleet.client.id));
    assert_eq!(claims["client_id"], json!(fleet.client.id));
    assert_eq!(claims["tools"], json!(["fs:read", "web:search"]));
    assert_eq!(claims["uiid"], body["user_input_id"]);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 120);
    assert_eq!(claims["nbf"], claims["iat"]);
    assert!(claims["jti"].as_str().unwrap().len() >= 22);

    // Default: every allowed tool. client_secret_post works too.
    let r = casa.form(
        "/oauth/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &fleet.client.id),
            ("client_secret", &fleet.client.secret),
            ("user_input", "hi"),
        ],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        jwt_parts(r.json()["access_token"].as_str().unwrap()).1["tools"],
        json!(["fs:read", "fs:write", "web:search"])
    );
}

#[test]
fn user_inputs_are_prompts_conversations_or_reused_sessions() {
    let casa = Casa::start();
    let fleet = Fleet::create(&casa, json!({}));
    let turns = r#"[{"role":"user","content":"find the report"},{"role":"assistant","content":"which one?"},{"role":"user","content":"Q3"}]"#;
    let first = casa.token(&fleet.client, turns, None);
    assert_eq!(first.status, 200, "{first:?}");
    let uiid = first.json()["user_input_id"].as_str().unwrap().to_string();
    let again = casa.form(
        "/oauth/token",
        Some(&fleet.client),
        &[("grant_type", "client_credentials"), ("user_input_id", &uiid)],
    );
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.json()["user_input_id"], json!(uiid));
    // Another app's session is not this one's to reuse.
    let theirs = casa.form(
        "/oauth/token",
        Some(&fleet.agent),
        &[("grant_type", "client_credentials"), ("user_input_id", &uiid)],
    );
    assert_oauth_error(&theirs, 400, "invalid_request");

    let unknown = casa.form(
        "/oauth/token",
        Some(&fleet.agent),
        &[("grant_type", "client_credentials"), ("user_input_id", "01a22222-0000-7000-8000-000000000000")],
    );
    assert_oauth_error(&unknown, 400, "invalid_request");
    let both = casa.form(
        "/oauth/token",
        Some(&fleet.agent),
        &[("grant_type", "client_credentials"), ("user_input", "x"), ("user_input_id", &uiid)],
    );
    assert_oauth_error(&both, 400, "invalid_request");
    let neither = casa.form("/oauth/token", Some(&fleet.agent), &[("grant_type", "client_credentials")]);
    assert_oauth_error(&neither, 400, "invalid_request");
    assert_oauth_error(&casa.token(&fleet.client, r#"[{"role":"robot","content":"x"}]"#, None), 400, "invalid_request");
    assert_oauth_error(&casa.token(&fleet.client, "hi", Some("fs:read mail:send")), 400, "invalid_scope");
    assert_oauth_error(
        &casa.form("/oauth/token", Some(&fleet.client), &[("grant_type", "password")]),
        400,
        "unsupported_grant_type",
    );

    // A session of one MAS cannot be reused from another.
    let other = Fleet::create(&casa, json!({"name": "other"}));
    let r = casa.form(
        "/oauth/token",
        Some(&other.client),
        &[("grant_type", "client_credentials"), ("user_input_id", &uiid)],
    );
    assert_oauth_error(&r, 400, "invalid_request");
}

#[test]
fn an_exchange_issues_a_delegated_tool_scoped_token() {
    let casa = Casa::start();
    let fleet = Fleet::create(&casa, json!({"token_ttl_seconds": 300, "exchanged_token_ttl_seconds": 60}));
    let subject = casa.access_token(&fleet.client, "read my notes", Some("fs:read web:search"));
    let r = casa.exchange(&fleet.agent, &subject, "fs:read");
    assert_eq!(r.status, 200, "{r:?}");
    let body = r.json();
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!((body["token_type"].as_str(), body["scope"].as_str()), (Some("Bearer"), Some("call-tools")));
    assert_eq!(body["tools"], json!(["fs:read"]));
    assert_eq!(body["expires_in"], 60);
    let (_, s) = jwt_parts(&subject);
    let (_, c) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], s["sub"]);
    assert_eq!(c["uiid"], s["uiid"]);
    assert_eq!(c["act"], json!({"sub": fleet.agent.id}));
    assert_eq!(c["aud"], json!(fleet.server_id));
    assert_eq!(c["parent"], s["jti"]);
    assert_eq!(c["client_id"], json!(fleet.agent.id));
    assert!(c["exp"].as_i64() <= s["exp"].as_i64());

    // The same through the standard token endpoint, with scope tool:<name> and an explicit resource.
    let r = casa.form(
        "/oauth/token",
        Some(&fleet.agent),
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", &subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("scope", "tool:web:search"),
            ("resource", &fleet.server_id),
        ],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["tools"], json!(["web:search"]));
}

#[test]
fn an_exchanged_token_never_outlives_its_subject() {
    let casa = Casa::start();
    let fleet = Fleet::create(&casa, json!({"token_ttl_seconds": 5, "exchanged_token_ttl_seconds": 600}));
    let subject = casa.access_token(&fleet.client, "x", None);
    let r = casa.exchange(&fleet.agent, &subject, "fs:read");
    let (_, s) = jwt_parts(&subject);
    let (_, c) = jwt_parts(r.json()["access_token"].as_str().unwrap());
    assert_eq!(c["exp"], s["exp"]);
    assert!(r.json()["expires_in"].as_i64().unwrap() <= 5);
}

#[test]
fn denials_name_each_tool_with_a_stable_reason() {
    let casa = Casa::start();
    let fleet = Fleet::create(&casa, json!({}));
    let subject = casa.access_token(&fleet.client, "read only", Some("fs:read"));
    let r = casa.exchange(&fleet.other_agent, &subject, "fs:read fs:write web:search mail:send");
    let mut got = denials(&r);
    got.sort();
    assert_eq!(
        got,
        vec![
            pair("fs:write", "tool_not_allowed_for_app"),
            pair("mail:send", "tool_not_allowed_for_app"),
            pair("web:search", "tool_not_in_token")
        ]
    );
    let detail = r.json()["denials"].as_array().unwrap().iter().find(|d| d["tool"] == "web:search").unwrap().clone();
    assert_eq!(detail["check"], "DETERMINISTIC_TOOL_SELECTED");

    let r = casa.exchange(&fleet.agent, &subject, "fs:nothing");
    let mut agent = casa.get(&format!("/apps/{}", fleet.agent.id)).json();
    assert_eq!(denials(&r), vec![pair("fs:nothing", "tool_not_allowed_for_app")]);
    agent["allowed_tools"].as_array_mut().unwrap().push(json!("fs:nothing"));
    casa.patch(&format!("/apps/{}", fleet.agent.id), json!({"allowed_tools": agent["allowed_tools"]}));
    assert_eq!(denials(&casa.exchange(&fleet.agent, &subject, "fs:nothing")), vec![pair("fs:nothing", "unknown_tool")]);
}

#[test]
fn delegation_chains_nest_actors_and_stop_at_the_depth_limit() {
    let casa = Casa::start();
    let fleet = Fleet::create(&casa, json!({"max_delegation_depth": 2}));
    let subject = casa.access_token(&fleet.client, "go", None);
    let hop1 = casa.exchanged_token(&fleet.agent, &subject, "fs:read web:search");
    let hop2 = casa.exchanged_token(&fleet.other_agent, &hop1, "fs:read");
    let (_, c) = jwt_parts(&hop2);
    assert_eq!(c["act"], json!({"sub": fleet.other_agent.id, "act": {"sub": fleet.agent.id}}));
    let (_, c1) = jwt_parts(&hop1);
    assert_eq!(c["parent"], c1["jti"]);
    assert_eq!(c["tools"], json!(["fs:read"]));
    assert_eq!(denials(&casa.exchange(&fleet.agent, &hop2, "fs:read")), vec![pair("fs:read", "delegation_too_deep")]);
    // A delegated token cannot widen its tools back.
    assert_eq!(denials(&casa.exchange(&fleet.agent, &hop1, "fs:write")), vec![pair("fs:write", "tool_not_in_token")]);
}

#[test]
fn llm_selected_tools_gate_exchanges_when_enabled() {
    let casa = Casa::start();
    let fleet = Fleet::create(
        &casa,
        json!({"enabled_checks": ["DETERMINISTIC_TOOL_SELECTED", "DETERMINISTIC_LLM_SELECTED_TOOLS"]}),
    );
    let subject = casa.access_token(&fleet.client, "read the notes", None);
    assert_eq!(denials(&casa.exchange(&fleet.agent, &subject, "fs:read")), vec![pair("fs:read", "no_llm_calls_made")]);

    // The client that runs the LLM is designated to report its calls.
    casa.patch(&format!("/mas/{}", fleet.mas_id), json!({"llm_evidence_apps": [fleet.client_app_id]}));
    let uiid = jwt_parts(&subject).1["uiid"].as_str().unwrap().to_string();
    let r =
        casa.send(casa.request("POST", "/trace/llm").basic_auth(&fleet.client.id, Some(&fleet.client.secret)).json(
            &json!({"user_input_id": uiid, "call_id": "call-1", "selected_tools": ["fs:read"], "model": "gpt-test"}),
        ));
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json()["user_input_id"], jwt_parts(&subject).1["uiid"]);
    assert_eq!(casa.exchange(&fleet.agent, &subject, "fs:read").status, 200);
    assert_eq!(
        denials(&casa.exchange(&fleet.agent, &subject, "fs:write")),
        vec![pair("fs:write", "tool_not_selected_by_llm")]
    );

    // Evidence is per session.
    let other = casa.access_token(&fleet.client, "another request", None);
    assert_eq!(denials(&casa.exchange(&fleet.agent, &other, "fs:read")), vec![pair("fs:read", "no_llm_calls_made")]);
    // And needs the designated app's credentials.
    let r = casa.send(
        casa.request("POST", "/trace/llm")
            .basic_auth(&fleet.client.id, Some("casa_cs_nope"))
            .json(&json!({"user_input_id": uiid, "call_id": "c", "selected_tools": []})),
    );
    assert_oauth_error(&r, 401, "invalid_client");

    // Switching the check off lets the exchange through on the token alone.
    casa.patch(&format!("/mas/{}", fleet.mas_id), json!({"enabled_checks": ["DETERMINISTIC_TOOL_SELECTED"]}));
    assert_eq!(casa.exchange(&fleet.agent, &other, "fs:read").status, 200);
}

#[test]
fn introspection_shows_tokens_to_their_audience_subject_and_admin_only() {
    let casa = Casa::start();
    let fleet = Fleet::create(&casa, json!({}));
    let server = casa.post(&format!("/apps/{}/secret/rotate", fleet.server_id), json!({})).json();
    let server = Client::of(&server);
    let subject = casa.access_token(&fleet.client, "x", None);
    let delegated = casa.exchanged_token(&fleet.agent, &subject, "fs:read");

    let seen = casa.introspect_as(&server, &delegated);
    assert_eq!(seen["active"], true);
    assert_eq!(seen["tools"], json!(["fs:read"]));
    assert_eq!(seen["mas_id"], json!(fleet.mas_id));
    assert_eq!(seen["act"], json!({"sub": fleet.agent.id}));
    assert_eq!(casa.introspect_as(&fleet.client, &delegated)["active"], true, "the subject sees its lineage");
    assert_eq!(casa.introspect_as(&fleet.other_agent, &delegated), json!({"active": false}));
    assert_eq!(casa.introspect(&delegated)["active"], true);

    let r = casa.form("/oauth/introspect", Some(&server), &[("token", &delegated), ("tools", "fs:read")]);
    assert_eq!(r.json()["active"], true);
    let r = casa.form("/oauth/introspect", Some(&server), &[("token", &delegated), ("tools", "fs:read fs:write")]);
    assert_eq!(r.json(), json!({"active": false}));
    assert_eq!(casa.introspect("garbage"), json!({"active": false}));
}

#[test]
fn revoking_a_token_revokes_its_whole_lineage_only() {
    let casa = Casa::start();
    let fleet = Fleet::create(&casa, json!({}));
    let subject = casa.access_token(&fleet.client, "x", None);
    let sibling_session = casa.access_token(&fleet.client, "y", None);
    let hop1 = casa.exchanged_token(&fleet.agent, &subject, "fs:read web:search");
    let hop2 = casa.exchanged_token(&fleet.other_agent, &hop1, "fs:read");
    let r = casa.form("/oauth/revoke", Some(&fleet.client), &[("token", &subject)]);
    assert_eq!(r.status, 200, "{r:?}");
    for t in [&subject, &hop1, &hop2] {
        assert_eq!(casa.introspect(t), json!({"active": false}));
    }
    assert_oauth_error(&casa.exchange(&fleet.agent, &hop1, "fs:read"), 400, "invalid_grant");
    assert_eq!(casa.introspect(&sibling_session)["active"], true);
    assert_eq!(casa.exchange(&fleet.agent, &sibling_session, "fs:read").status, 200);
    // Revoking garbage or an already revoked token is not an error (RFC 7009).
    assert_eq!(casa.form("/oauth/revoke", Some(&fleet.client), &[("token", "garbage")]).status, 200);
    assert_eq!(casa.form("/oauth/revoke", Some(&fleet.client), &[("token", &subject)]).status, 200);
    // An app may not revoke a token that is not its own.
    let r = casa.form("/oauth/revoke", Some(&fleet.other_agent), &[("token", &sibling_session)]);
    assert_oauth_error(&r, 400, "unauthorized_client");
    assert_eq!(casa.introspect(&sibling_session)["active"], true);
}

#[test]
fn admins_revoke_by_session_app_or_jti() {
    let casa = Casa::start();
    let fleet = Fleet::create(&casa, json!({}));
    let s1 = casa.access_token(&fleet.client, "one", None);
    let s2 = casa.access_token(&fleet.client, "two", None);
    let d2 = casa.exchanged_token(&fleet.agent, &s2, "fs:read");
    let path = format!("/mas/{}/revoke", fleet.mas_id);
    let r = casa.post(&path, json!({"user_input_id": jwt_parts(&s1).1["uiid"]}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["revoked"][0]["kind"], "session");
    assert_eq!(casa.introspect(&s1)["active"], false);
    assert_eq!(casa.introspect(&s2)["active"], true);

    let r = casa.post(&path, json!({"app_id": fleet.agent.id}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(casa.introspect(&d2)["active"], false, "tokens the app exchanged are revoked");
    assert_eq!(casa.introspect(&s2)["active"], true);

    let r = casa.post(&path, json!({"jti": jwt_parts(&s2).1["jti"]}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(casa.introspect(&s2)["active"], false);

    assert_eq!(casa.post(&path, json!({})).status, 422);
    assert_eq!(casa.post(&path, json!({"user_input_id": "nope"})).status, 422);
    assert_eq!(casa.post("/mas/01a22222-0000-7000-8000-000000000000/revoke", json!({"jti": "x"})).status, 404);
}

#[test]
fn key_rotation_keeps_live_tokens_valid_and_signs_new_ones_with_the_new_key() {
    let casa = Casa::start();
    let fleet = Fleet::create(&casa, json!({}));
    let before = casa.access_token(&fleet.client, "x", None);
    let new_kid = casa.post(&format!("/mas/{}/keys/rotate", fleet.mas_id), json!({})).json()["active_kid"].clone();
    assert_eq!(casa.introspect(&before)["active"], true);
    assert_eq!(casa.exchange(&fleet.agent, &before, "fs:read").status, 200);
    let after = casa.access_token(&fleet.client, "x", None);
    assert_eq!(jwt_parts(&after).0["kid"], new_kid);
    assert_ne!(jwt_parts(&before).0["kid"], new_kid);
}

#[test]
fn audiences_name_the_tool_server() {
    let casa = Casa::start();
    let fleet = Fleet::create(&casa, json!({}));
    let mail = casa.create_app(json!({"mas_id": fleet.mas_id, "name": "mail", "type": "mcp_server",
        "base_url": "https://mail.internal/mcp", "tools": [{"name": "mail:send", "description": "Send mail"}]}));
    casa.patch(&format!("/apps/{}", fleet.agent.id), json!({"allowed_tools": ["fs:read", "mail:send"]}));
    casa.patch(&format!("/apps/{}", fleet.client_app_id), json!({"allowed_tools": ["fs:read", "mail:send"]}));
    let subject = casa.access_token(&fleet.client, "x", None);

    let r = casa.exchange_with(
        &fleet.agent,
        &subject,
        &[("tools", "mail:send"), ("audience", "https://mail.internal/mcp/")],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(jwt_parts(r.json()["access_token"].as_str().unwrap()).1["aud"], mail["id"]);
    let r =
        casa.exchange_with(&fleet.agent, &subject, &[("tools", "fs:read"), ("audience", mail["id"].as_str().unwrap())]);
    assert_eq!(denials(&r), vec![pair("fs:read", "tool_not_served_by_audience")]);
    let r =
        casa.exchange_with(&fleet.agent, &subject, &[("tools", "fs:read"), ("resource", "https://nowhere.example")]);
    assert_oauth_error(&r, 400, "invalid_target");
    let r = casa.exchange(&fleet.agent, &subject, "fs:read mail:send");
    assert_oauth_error(&r, 400, "invalid_target");
}

#[test]
fn tokens_and_revocations_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = || Options { extra_args: vec!["--public-url".into(), "http://casa.test".into()], ..Options::default() };
    let mut casa = Casa::start_in(tmp.path(), opts());
    let fleet = Fleet::create(&casa, json!({}));
    let live = casa.access_token(&fleet.client, "x", None);
    let revoked = casa.access_token(&fleet.client, "y", None);
    casa.form("/oauth/revoke", Some(&fleet.client), &[("token", &revoked)]);
    casa.kill9();
    let casa = Casa::start_in(tmp.path(), opts());
    assert_eq!(casa.introspect(&live)["active"], true);
    assert_eq!(casa.introspect(&revoked)["active"], false);
    assert_eq!(casa.exchange(&fleet.agent, &live, "fs:read").status, 200);
}

#[test]
fn secrets_never_reach_the_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let opts =
        Options { extra_args: vec!["--log-level".into(), "trace".into()], admin_env: None, ..Options::default() };
    let casa = Casa::start_in(tmp.path(), opts);
    let fleet = Fleet::create(&casa, json!({}));
    let subject = casa.access_token(&fleet.client, "x", None);
    let delegated = casa.exchanged_token(&fleet.agent, &subject, "fs:read");
    casa.introspect(&delegated);
    casa.form("/oauth/revoke", Some(&fleet.client), &[("token", &subject)]);
    casa.exchange(&Client { id: fleet.agent.id.clone(), secret: "casa_cs_wrong-secret".into() }, &subject, "fs:read");
    let stderr: String = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("stderr"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(stderr.contains("casa::http"), "trace-level logs were not on: {}", &stderr[..stderr.len().min(500)]);
    casa.settle();
    let trail = casa.get(&format!("/trace?mas_id={}&limit=500", fleet.mas_id)).text;
    assert!(trail.contains("exchange_allowed"), "{trail}");
    for secret in [
        &subject,
        &delegated,
        &fleet.client.secret,
        &fleet.agent.secret,
        &casa.admin,
        &"casa_cs_wrong-secret".to_string(),
    ] {
        let tail = &secret[secret.len() - 20..];
        assert!(!stderr.contains(tail), "a secret reached the logs");
        assert!(!trail.contains(tail), "a secret reached the trace");
    }
}

#[test]
fn each_token_request_logs_its_mas_client_and_decision() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options { extra_args: vec!["--log-format".into(), "json".into()], ..Options::default() };
    let casa = Casa::start_in(tmp.path(), opts);
    let fleet = Fleet::create(&casa, json!({}));
    let subject = casa.access_token(&fleet.client, "read my notes", Some("fs:read"));
    assert_eq!(casa.exchange(&fleet.agent, &subject, "fs:read").status, 200);
    assert_eq!(casa.exchange(&fleet.other_agent, &subject, "fs:write").status, 403);
    let garbage = Client { id: "not-a-client".into(), secret: "x".into() };
    assert_eq!(casa.exchange(&garbage, &subject, "fs:read").status, 401);
    let lines: Vec<serde_json::Value> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("stderr"))
        .flat_map(|e| std::fs::read_to_string(e.path()).unwrap().lines().map(str::to_owned).collect::<Vec<_>>())
        .filter_map(|l| serde_json::from_str(&l).ok())
        .filter(|l: &serde_json::Value| l["message"] == "request")
        .collect();
    let logged = |route: &str, decision: &str| {
        lines
            .iter()
            .filter(|l| l["span"]["route"] == route && l["span"]["decision"] == decision)
            .map(|l| (l["span"]["mas_id"].clone(), l["span"]["client_id"].clone()))
            .collect::<Vec<_>>()
    };
    let mas = json!(fleet.mas_id);
    assert_eq!(logged("token", "issued"), [(mas.clone(), json!(fleet.client.id))], "{lines:#?}");
    assert_eq!(logged("exchangeToken", "allowed"), [(mas.clone(), json!(fleet.agent.id))]);
    assert_eq!(logged("exchangeToken", "denied"), [(mas, json!(fleet.other_agent.id))]);
    // An unknown client is rejected and named nowhere: it is whatever the caller sent.
    assert_eq!(logged("exchangeToken", "rejected"), [(serde_json::Value::Null, serde_json::Value::Null)]);
}
