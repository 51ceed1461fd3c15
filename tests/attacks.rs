//! The attack suite: forged, tampered, replayed and misdirected tokens and
//! requests. Each attack ends in its documented error, and the realm is
//! unchanged afterwards (the legitimate flow still works).
//!
//! The token forgeries that `token::verify` alone decides run in-process in
//! `actors/core/tests/token_attacks.rs`; here one case per refusal class
//! (header, key, signature, time, issuer) proves the HTTP answer to each.
//!
//! Longer than ~600 lines on purpose: one short case per attack, all against
//! one spawned server; the table is easier to audit whole than split.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use casa_actors::realm::RealmKey;
use casa_actors::store::{EmbeddedStore, Store};
use common::*;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

const PUBLIC_URL: &str = "http://casa.test";

/// A node with two MAS (A and B), the realm keys read from its store, and a
/// legitimate session token of A.
struct Target {
    casa: Casa,
    a: Fleet,
    b: Fleet,
    key_a: RealmKey,
    key_b: RealmKey,
    subject: String,
    _tmp: tempfile::TempDir,
}

fn opts() -> Options {
    Options { extra_args: vec!["--public-url".into(), PUBLIC_URL.into()], ..Options::default() }
}

fn target_with(settings: Value) -> Target {
    let tmp = tempfile::tempdir().unwrap();
    let mut casa = Casa::start_in(tmp.path(), opts());
    let a = Fleet::create(&casa, settings.clone());
    let mut b_settings = settings;
    b_settings["name"] = json!("B");
    let b = Fleet::create(&casa, b_settings);
    casa.terminate();
    // The test plays an insider who stole the realm keys from the data dir,
    // the key-encryption key they are sealed under included.
    let (key_a, key_b) = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let data_dir = tmp.path().join("data");
        let settings = casa::config::Settings { data_dir: data_dir.clone(), ..Default::default() };
        let seal = casa::kek::seal(&settings, true).unwrap();
        let store = EmbeddedStore::open(&data_dir).unwrap().with_key_seal(seal);
        rt.block_on(async {
            let a_keys = store.realm_keys(a.mas_id.parse().unwrap()).await.unwrap();
            let b_keys = store.realm_keys(b.mas_id.parse().unwrap()).await.unwrap();
            (a_keys[0].clone(), b_keys[0].clone())
        })
    };
    let casa = Casa::start_in(tmp.path(), opts());
    let subject = casa.access_token(&a.client, "read my notes", Some("fs:read web:search"));
    Target { casa, a, b, key_a, key_b, subject, _tmp: tmp }
}

fn target() -> Target {
    target_with(json!({}))
}

fn encode(v: &Value) -> String {
    B64.encode(serde_json::to_vec(v).unwrap())
}

fn sign_with(header: &Value, claims: &Value, key: &SigningKey) -> String {
    let input = format!("{}.{}", encode(header), encode(claims));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", B64.encode(sig.to_bytes()))
}

fn attacker_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

impl Target {
    fn claims(&self) -> Value {
        jwt_parts(&self.subject).1
    }

    fn header(&self) -> Value {
        jwt_parts(&self.subject).0
    }

    /// Signs with realm A's real key.
    fn forge(&self, header: &Value, claims: &Value) -> String {
        sign_with(header, claims, &self.key_a.signing_key())
    }

    /// The token is refused at exchange (invalid_grant) and inactive on introspection.
    fn assert_rejected(&self, token: &str) {
        let r = self.casa.exchange(&self.a.agent, token, "fs:read");
        assert_oauth_error(&r, 400, "invalid_grant");
        assert_eq!(self.casa.introspect(token), json!({"active": false}));
        self.assert_unchanged();
    }

    /// The realm still works for the legitimate session.
    fn assert_unchanged(&self) {
        assert_eq!(self.casa.introspect(&self.subject)["active"], true, "the legitimate token was affected");
        let r = self.casa.exchange(&self.a.agent, &self.subject, "fs:read");
        assert_eq!(r.status, 200, "the legitimate exchange broke: {r:?}");
    }
}

#[test]
fn alg_none() {
    let t = target();
    let mut h = t.header();
    h["alg"] = json!("none");
    let token = format!("{}.{}.", encode(&h), encode(&t.claims()));
    t.assert_rejected(&token);
}

#[test]
fn kid_of_another_realm() {
    let t = target();
    let mut h = t.header();
    h["kid"] = json!(t.key_b.kid);
    // Signed by B's real key, claiming to be A's.
    t.assert_rejected(&sign_with(&h, &t.claims(), &t.key_b.signing_key()));
}

#[test]
fn tampered_payload() {
    let t = target();
    let mut c = t.claims();
    c["tools"] = json!(["fs:read", "fs:write"]);
    let mut parts: Vec<String> = t.subject.split('.').map(str::to_string).collect();
    parts[1] = encode(&c);
    t.assert_rejected(&parts.join("."));
}

#[test]
fn expired_token() {
    let t = target();
    let mut c = t.claims();
    let now = c["iat"].as_i64().unwrap();
    c["iat"] = json!(now - 600);
    c["nbf"] = json!(now - 600);
    c["exp"] = json!(now - 300);
    t.assert_rejected(&t.forge(&t.header(), &c));
}

#[test]
fn wrong_issuer_signed_by_the_realm_key() {
    let t = target();
    let mut c = t.claims();
    c["iss"] = json!(format!("{PUBLIC_URL}/realms/{}", t.b.mas_id));
    // Routed to B, whose keyring does not hold A's key.
    let token = t.forge(&t.header(), &c);
    let r = t.casa.exchange(&t.b.agent, &token, "fs:read");
    assert_oauth_error(&r, 400, "invalid_grant");
    c["iss"] = json!("https://evil.example/realms/x");
    t.assert_rejected(&t.forge(&t.header(), &c));
}

#[test]
fn token_of_mas_a_presented_to_mas_b() {
    let t = target();
    // B's apps learn nothing about A's tokens...
    assert_eq!(t.casa.introspect_as(&t.b.agent, &t.subject), json!({"active": false}));
    assert_eq!(t.casa.introspect_as(&t.b.client, &t.subject), json!({"active": false}));
    // ...and cannot revoke them.
    assert_eq!(t.casa.form("/oauth/revoke", Some(&t.b.client), &[("token", &t.subject)]).status, 200);
    t.assert_unchanged();
}

#[test]
fn actor_of_another_mas() {
    let t = target();
    let r = t.casa.exchange(&t.b.agent, &t.subject, "fs:read");
    assert_eq!(denials(&r), vec![("fs:read".to_string(), "cross_mas_actor".to_string())]);
    t.assert_unchanged();
}

#[test]
fn tool_of_another_mas() {
    let t = target();
    let mail = t.casa.create_app(json!({"mas_id": t.b.mas_id, "name": "mail", "type": "mcp_server",
        "tools": [{"name": "mail:send", "description": "Send mail"}]}));
    assert_eq!(mail["mas_id"], json!(t.b.mas_id));
    t.casa.patch(&format!("/apps/{}", t.a.agent.id), json!({"allowed_tools": ["fs:read", "mail:send"]}));
    let r = t.casa.exchange(&t.a.agent, &t.subject, "mail:send");
    assert_eq!(denials(&r), vec![("mail:send".to_string(), "unknown_tool".to_string())]);
    t.assert_unchanged();
}

#[test]
fn more_tools_than_the_subject_has() {
    let t = target();
    let r = t.casa.exchange(&t.a.agent, &t.subject, "fs:read fs:write");
    assert_eq!(denials(&r), vec![("fs:write".to_string(), "tool_not_in_token".to_string())]);
    t.assert_unchanged();
}

#[test]
fn delegation_beyond_the_depth() {
    let t = target_with(json!({"max_delegation_depth": 1}));
    let hop1 = t.casa.exchanged_token(&t.a.agent, &t.subject, "fs:read");
    let r = t.casa.exchange(&t.a.other_agent, &hop1, "fs:read");
    assert_eq!(denials(&r), vec![("fs:read".to_string(), "delegation_too_deep".to_string())]);
    // A forged deeper chain, signed by the stolen key, is refused the same way.
    let mut c = jwt_parts(&hop1).1;
    c["act"] = json!({"sub": t.a.agent.id, "act": {"sub": t.a.other_agent.id, "act": {"sub": t.a.agent.id}}});
    let deep = t.forge(&t.header(), &c);
    assert_eq!(denials(&t.casa.exchange(&t.a.agent, &deep, "fs:read"))[0].1, "delegation_too_deep");
    t.assert_unchanged();
}

#[test]
fn exchange_of_a_token_of_a_deleted_app() {
    let t = target();
    let doomed = t
        .casa
        .create_app(json!({"mas_id": t.a.mas_id, "name": "doomed", "type": "client", "allowed_tools": ["fs:read"]}));
    let token = t.casa.access_token(&Client::of(&doomed), "x", None);
    assert_eq!(t.casa.delete(&format!("/apps/{}", doomed["id"].as_str().unwrap())).status, 204);
    t.assert_rejected(&token);
}

#[test]
fn exchange_of_a_token_of_a_deleted_mas() {
    let t = target();
    let token = t.casa.access_token(&t.b.client, "x", None);
    assert_eq!(t.casa.delete(&format!("/mas/{}", t.b.mas_id)).status, 204);
    t.assert_rejected(&token);
    // B's own agent is gone with it.
    assert_oauth_error(&t.casa.exchange(&t.b.agent, &token, "fs:read"), 401, "invalid_client");
}

#[test]
fn revoked_token_and_its_descendants() {
    let t = target();
    let session = t.casa.access_token(&t.a.client, "other request", None);
    let child = t.casa.exchanged_token(&t.a.agent, &session, "fs:read web:search");
    let grandchild = t.casa.exchanged_token(&t.a.other_agent, &child, "fs:read");
    t.casa.form("/oauth/revoke", Some(&t.a.agent), &[("token", &child)]);
    assert_eq!(t.casa.introspect(&session)["active"], true, "revocation does not climb up the lineage");
    t.assert_rejected(&child);
    t.assert_rejected(&grandchild);
}

#[test]
fn rotated_out_key_after_expiry() {
    let t = target_with(json!({"token_ttl_seconds": 1, "exchanged_token_ttl_seconds": 1}));
    t.casa.post(&format!("/mas/{}/keys/rotate", t.a.mas_id), json!({}));
    // A token of the old key, forged with an expiry in the past.
    let mut c = t.claims();
    let now = c["iat"].as_i64().unwrap();
    c["exp"] = json!(now - 1);
    let r = t.casa.exchange(&t.a.agent, &t.forge(&t.header(), &c), "fs:read");
    assert_oauth_error(&r, 400, "invalid_grant");
    // Once its last token has expired, the old key is no longer published.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let jwks = t.casa.send(t.casa.request("GET", &format!("/realms/{}/.well-known/jwks.json", t.a.mas_id))).json();
    let kids: Vec<_> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect();
    assert!(!kids.contains(&json!(t.key_a.kid)), "{kids:?}");
    assert_eq!(kids.len(), 1);
    assert_eq!(t.casa.introspect(&t.subject), json!({"active": false}), "expired");
}

#[test]
fn wrong_client_secret() {
    let t = target();
    let wrong = Client { id: t.a.agent.id.clone(), secret: "casa_cs_wrong".into() };
    let r = t.casa.exchange(&wrong, &t.subject, "fs:read");
    assert_oauth_error(&r, 401, "invalid_client");
    assert_eq!(r.header("www-authenticate").as_deref(), Some(r#"Basic realm="casa""#));
    assert_oauth_error(&t.casa.token(&wrong, "x", None), 401, "invalid_client");
    let r = t.casa.form("/oauth/introspect", Some(&wrong), &[("token", &t.subject)]);
    assert_oauth_error(&r, 401, "invalid_client");
    t.assert_unchanged();
}

#[test]
fn client_secret_of_another_app() {
    let t = target();
    let mixed = Client { id: t.a.agent.id.clone(), secret: t.a.other_agent.secret.clone() };
    assert_oauth_error(&t.casa.exchange(&mixed, &t.subject, "fs:read"), 401, "invalid_client");
    let cross = Client { id: t.a.agent.id.clone(), secret: t.b.agent.secret.clone() };
    assert_oauth_error(&t.casa.exchange(&cross, &t.subject, "fs:read"), 401, "invalid_client");
    let unknown = Client { id: "01a22222-0000-7000-8000-000000000000".into(), secret: t.a.agent.secret.clone() };
    assert_oauth_error(&t.casa.exchange(&unknown, &t.subject, "fs:read"), 401, "invalid_client");
    let not_an_id = Client { id: "' OR 1=1 --".into(), secret: "x".into() };
    assert_oauth_error(&t.casa.exchange(&not_an_id, &t.subject, "fs:read"), 401, "invalid_client");
    t.assert_unchanged();
}

#[test]
fn malformed_client_authentication() {
    let t = target();
    for header in ["Basic !!!notbase64", "Basic ", "Basic bm9jb2xvbg==", "Bearer xyz"] {
        let r = t.casa.send(
            t.casa
                .request("POST", "/oauth/token")
                .header("authorization", header)
                .form(&[("grant_type", "client_credentials"), ("user_input", "x")]),
        );
        assert_oauth_error(&r, 401, "invalid_client");
    }
    // Both methods at once.
    let r = t.casa.form(
        "/oauth/token",
        Some(&t.a.client),
        &[
            ("grant_type", "client_credentials"),
            ("user_input", "x"),
            ("client_id", &t.a.client.id),
            ("client_secret", &t.a.client.secret),
        ],
    );
    assert_oauth_error(&r, 400, "invalid_request");
    t.assert_unchanged();
}

#[test]
fn missing_fields() {
    let t = target();
    let agent = Some(&t.a.agent);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("subject_token_type", ACCESS_TOKEN_TYPE), ("tools", "fs:read")],
        vec![("subject_token", &t.subject), ("tools", "fs:read")],
        vec![("subject_token", &t.subject), ("subject_token_type", ACCESS_TOKEN_TYPE)],
        vec![
            ("subject_token", &t.subject),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:id_token"),
            ("tools", "fs:read"),
        ],
        vec![("subject_token", ""), ("subject_token_type", ACCESS_TOKEN_TYPE), ("tools", "fs:read")],
        vec![
            ("subject_token", &t.subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("tools", "fs:read"),
            ("actor_token", &t.subject),
        ],
    ];
    for pairs in cases {
        let r = t.casa.form("/oauth/token/exchange", agent, &pairs);
        assert_oauth_error(&r, 400, "invalid_request");
    }
    assert_oauth_error(&t.casa.form("/oauth/token", agent, &[("user_input", "x")]), 400, "invalid_request");
    assert_oauth_error(&t.casa.form("/oauth/introspect", agent, &[]), 400, "invalid_request");
    assert_oauth_error(&t.casa.form("/oauth/revoke", agent, &[]), 400, "invalid_request");
    assert_oauth_error(
        &t.casa.form("/oauth/token/exchange", None, &[("subject_token", &t.subject)]),
        401,
        "invalid_client",
    );
    t.assert_unchanged();
}

#[test]
fn duplicate_form_fields() {
    let t = target();
    let body =
        format!("subject_token={}&subject_token_type={ACCESS_TOKEN_TYPE}&tools=fs:read&tools=fs:write", t.subject);
    let r = t.casa.send(
        t.casa
            .request("POST", "/oauth/token/exchange")
            .basic_auth(&t.a.agent.id, Some(&t.a.agent.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    );
    assert_oauth_error(&r, 400, "invalid_request");
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_id=x&client_secret={}&user_input=x",
        t.a.client.id, t.a.client.secret
    );
    let r = t.casa.send(
        t.casa.request("POST", "/oauth/token").header("content-type", "application/x-www-form-urlencoded").body(body),
    );
    assert_oauth_error(&r, 400, "invalid_request");
    t.assert_unchanged();
}

#[test]
fn oversized_token() {
    let t = target();
    let mut c = t.claims();
    c["tools"] = json!(vec!["x".repeat(100); 100]);
    let big = t.forge(&t.header(), &c);
    assert!(big.len() > 8 * 1024);
    t.assert_rejected(&big);
    t.assert_rejected(&"a".repeat(100_000));
}

#[test]
fn non_utf8_input() {
    let t = target();
    for body in [
        &b"grant_type=client_credentials&user_input=%FF%FE"[..],
        b"grant_type=client_credentials&user_input=\xff\xfe",
        b"grant_type=%C3%28",
    ] {
        let r = t.casa.send(
            t.casa
                .request("POST", "/oauth/token")
                .basic_auth(&t.a.client.id, Some(&t.a.client.secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_vec()),
        );
        assert_oauth_error(&r, 400, "invalid_request");
    }
    t.assert_unchanged();
}

#[test]
fn wrong_content_type_on_oauth_endpoints() {
    let t = target();
    for path in ["/oauth/token", "/oauth/token/exchange", "/oauth/introspect", "/oauth/revoke"] {
        let r = t.casa.send(
            t.casa
                .request("POST", path)
                .basic_auth(&t.a.client.id, Some(&t.a.client.secret))
                .json(&json!({"grant_type": "client_credentials"})),
        );
        assert_oauth_error(&r, 400, "invalid_request");
    }
    t.assert_unchanged();
}

#[test]
fn introspection_by_an_app_not_in_aud() {
    let t = target();
    let delegated = t.casa.exchanged_token(&t.a.agent, &t.subject, "fs:read");
    assert_eq!(t.casa.introspect_as(&t.a.other_agent, &delegated), json!({"active": false}));
    assert_eq!(t.casa.introspect_as(&t.b.agent, &delegated), json!({"active": false}));
    assert_eq!(t.casa.introspect_as(&t.a.other_agent, &t.subject), json!({"active": false}));
    t.assert_unchanged();
}

#[test]
fn actor_token_of_another_app() {
    let t = target();
    let others = t.casa.access_token(&t.a.other_agent, "x", None);
    let r = t.casa.exchange_with(
        &t.a.agent,
        &t.subject,
        &[("tools", "fs:read"), ("actor_token", &others), ("actor_token_type", ACCESS_TOKEN_TYPE)],
    );
    assert_oauth_error(&r, 400, "invalid_grant");
    let own = t.casa.access_token(&t.a.agent, "x", None);
    let r = t.casa.exchange_with(
        &t.a.agent,
        &t.subject,
        &[("tools", "fs:read"), ("actor_token", &own), ("actor_token_type", ACCESS_TOKEN_TYPE)],
    );
    assert_eq!(r.status, 200, "{r:?}");
    t.assert_unchanged();
}

#[test]
fn llm_evidence_comes_from_a_designated_app_once_per_call_and_bounded() {
    let t = target_with(json!({"enabled_checks": ["DETERMINISTIC_TOOL_SELECTED", "DETERMINISTIC_LLM_SELECTED_TOOLS"]}));
    let uiid = jwt_parts(&t.subject).1["uiid"].as_str().unwrap().to_string();
    let report = |client: Option<&Client>, bearer: Option<&str>, call_id: &str, tools: &[&str]| {
        let body = json!({"user_input_id": uiid, "call_id": call_id, "selected_tools": tools});
        let mut req = t.casa.request("POST", "/trace/llm").json(&body);
        if let Some(c) = client {
            req = req.basic_auth(&c.id, Some(&c.secret));
        }
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        t.casa.send(req)
    };
    // Holding a token of the session is no credential for evidence; a forged one even less.
    let forged = sign_with(&t.header(), &t.claims(), &attacker_key());
    for bearer in [t.subject.as_str(), forged.as_str(), "garbage"] {
        assert_eq!(report(None, Some(bearer), "c1", &["fs:write"]).status, 401);
    }
    let wrong = Client { id: t.a.client.id.clone(), secret: "casa_cs_wrong".into() };
    assert_oauth_error(&report(Some(&wrong), None, "c1", &["fs:write"]), 401, "invalid_client");
    // Apps of the MAS that were not designated for it: refused.
    for app in [&t.a.agent, &t.a.client] {
        assert_oauth_error(&report(Some(app), None, "c1", &["fs:write"]), 400, "unauthorized_client");
    }
    let r = t.casa.patch(&format!("/mas/{}", t.a.mas_id), json!({"llm_evidence_apps": [t.a.client_app_id]}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["llm_evidence_apps"], json!([t.a.client_app_id]));
    assert_eq!(report(Some(&t.a.client), None, "c1", &["fs:read"]).status, 201);
    // A call is recorded once: the same call_id cannot be rewritten to select more.
    assert_eq!(report(Some(&t.a.client), None, "c1", &["fs:write"]).status, 409);
    assert_eq!(t.casa.exchange(&t.a.agent, &t.subject, "fs:read").status, 200);
    let r = t.casa.exchange(&t.a.agent, &t.subject, "web:search");
    assert_eq!(denials(&r), vec![("web:search".to_string(), "tool_not_selected_by_llm".to_string())]);
    // B's designated app writes nothing into A's session.
    let r = t.casa.patch(&format!("/mas/{}", t.b.mas_id), json!({"llm_evidence_apps": [t.b.client_app_id]}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_oauth_error(&report(Some(&t.b.client), None, "c2", &["web:search"]), 400, "invalid_request");
    // Bounded per session.
    for i in 2..=256 {
        assert_eq!(report(Some(&t.a.client), None, &format!("c{i}"), &["fs:read"]).status, 201, "call {i}");
    }
    assert_eq!(report(Some(&t.a.client), None, "c257", &["web:search"]).status, 409);
    assert_eq!(denials(&t.casa.exchange(&t.a.agent, &t.subject, "web:search"))[0].1, "tool_not_selected_by_llm");
}

#[test]
fn exchanges_never_out_scope_the_subject_whatever_checks_are_on() {
    // No check at all, only the LLM-evidence check in shadow, the tool check in shadow (stored before it was refused).
    let t = target_with(json!({"enabled_checks": []}));
    let r = t.casa.exchange(&t.a.agent, &t.subject, "fs:write");
    assert_eq!(denials(&r), vec![("fs:write".to_string(), "tool_not_in_token".to_string())]);
    assert_eq!(r.json()["denials"][0]["check"], "DETERMINISTIC_TOOL_SELECTED");
    let mas = format!("/mas/{}", t.a.mas_id);
    let r = t.casa.patch(&mas, json!({"shadow_checks": ["DETERMINISTIC_LLM_SELECTED_TOOLS"]}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(denials(&t.casa.exchange(&t.a.agent, &t.subject, "fs:write"))[0].1, "tool_not_in_token");

    // A check enforced and shadowed at once is refused, not silently shadowed...
    let both =
        json!({"enabled_checks": ["DETERMINISTIC_TOOL_SELECTED"], "shadow_checks": ["DETERMINISTIC_TOOL_SELECTED"]});
    let r = t.casa.patch(&mas, both.clone());
    assert_eq!(r.status, 422, "{r:?}");
    let mut create = both;
    create["name"] = json!("both");
    assert_eq!(t.casa.post("/mas", create).status, 422);
    let r = t.casa.patch(&mas, json!({"enabled_checks": ["DETERMINISTIC_LLM_SELECTED_TOOLS"]}));
    assert_eq!(r.status, 422, "already shadowed: {r:?}");
    // ...and the tool check, being structural, cannot be shadowed at all.
    let r = t.casa.patch(&mas, json!({"enabled_checks": [], "shadow_checks": ["DETERMINISTIC_TOOL_SELECTED"]}));
    assert_eq!(r.status, 422, "{r:?}");

    // Along a chain: the second hop gets no more than the first, and no later expiry.
    t.casa.patch(&mas, json!({"shadow_checks": []}));
    let hop1 = t.casa.exchanged_token(&t.a.agent, &t.subject, "fs:read");
    let r = t.casa.exchange(&t.a.other_agent, &hop1, "web:search");
    assert_eq!(denials(&r), vec![("web:search".to_string(), "tool_not_in_token".to_string())]);
    let hop2 = t.casa.exchanged_token(&t.a.other_agent, &hop1, "fs:read");
    let (c1, c2) = (jwt_parts(&hop1).1, jwt_parts(&hop2).1);
    assert!(c2["exp"].as_i64() <= c1["exp"].as_i64());
    assert_eq!((&c2["aud"], &c2["tools"]), (&c1["aud"], &json!(["fs:read"])));
    assert_eq!(c2["act"]["act"]["sub"], json!(t.a.agent.id), "the chain keeps every hop");
    t.assert_unchanged();
}

#[test]
fn non_canonical_client_ids_act_as_the_canonical_app() {
    let t = target();
    let id = t.a.agent.id.clone();
    let spellings = [id.to_uppercase(), format!("{{{id}}}"), id.replace('-', ""), format!("urn:uuid:{id}")];
    let mut issued = Vec::new();
    for spelling in &spellings {
        let agent = Client { id: spelling.clone(), secret: t.a.agent.secret.clone() };
        let r = t.casa.exchange(&agent, &t.subject, "fs:read");
        if r.status != 200 {
            assert_oauth_error(&r, 401, "invalid_client");
            continue;
        }
        let token = r.json()["access_token"].as_str().unwrap().to_string();
        let claims = jwt_parts(&token).1;
        assert_eq!((&claims["client_id"], &claims["act"]["sub"]), (&json!(id), &json!(id)), "{spelling}");
        issued.push(token);
    }
    assert!(!issued.is_empty(), "no spelling authenticated: the test would prove nothing");
    // Revoking the app reaches every token it obtained, however it spelled its id.
    let r = t.casa.post(&format!("/mas/{}/revoke", t.a.mas_id), json!({"app_id": id}));
    assert_eq!(r.status, 200, "{r:?}");
    for token in &issued {
        assert_eq!(t.casa.introspect(token), json!({"active": false}));
    }
}

#[test]
fn user_input_ids_serve_their_own_client_and_not_a_revoked_session() {
    let t = target();
    let uiid = jwt_parts(&t.subject).1["uiid"].as_str().unwrap().to_string();
    let again = |client: &Client| {
        t.casa.form(
            "/oauth/token",
            Some(client),
            &[("grant_type", "client_credentials"), ("user_input_id", &uiid), ("tools", "fs:read")],
        )
    };
    // Another client of the same MAS learns nothing of the session, and gets no token for it.
    assert_oauth_error(&again(&t.a.agent), 400, "invalid_request");
    assert_oauth_error(&again(&t.b.client), 400, "invalid_request");
    assert_eq!(again(&t.a.client).status, 200, "the session's own client may");

    // Once an admin revoked the session, no token is issued for it, after a restart too.
    let r = t.casa.post(&format!("/mas/{}/revoke", t.a.mas_id), json!({"user_input_id": uiid}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_oauth_error(&again(&t.a.client), 400, "invalid_grant");
    let mut casa = t.casa;
    casa.terminate();
    let casa = Casa::start_in(t._tmp.path(), opts());
    let r = casa.form(
        "/oauth/token",
        Some(&t.a.client),
        &[("grant_type", "client_credentials"), ("user_input_id", &uiid), ("tools", "fs:read")],
    );
    assert_oauth_error(&r, 400, "invalid_grant");
    assert_eq!(casa.introspect(&t.subject), json!({"active": false}));
}

#[test]
fn no_token_is_issued_that_no_verifier_would_accept() {
    let t = target();
    let tools: Vec<String> = (0..100).map(|i| format!("{i:0>100}")).collect();
    let greedy =
        t.casa.create_app(json!({"mas_id": t.a.mas_id, "name": "greedy", "type": "client", "allowed_tools": tools}));
    let r = t.casa.token(&Client::of(&greedy), "everything", None);
    assert_oauth_error(&r, 400, "invalid_scope");
    assert!(r.json()["error_description"].as_str().unwrap().contains("8192 bytes"), "{r:?}");
    // A smaller request of the same app is fine.
    let r = t.casa.token(&Client::of(&greedy), "a little", Some(&tools[..10].join(" ")));
    assert_eq!(r.status, 200, "{r:?}");
    t.assert_unchanged();
}

/// A flood of requests casa rejects (here: anyone who knows the agent's client
/// id, with a wrong secret) cannot fill the MAS's trail: past a burst it
/// records a trickle and counts the rest.
#[test]
fn a_flood_of_rejected_exchanges_does_not_fill_the_trail() {
    let t = target();
    let started = std::time::Instant::now();
    let impostor = common::Client { id: t.a.agent.id.clone(), secret: "not-the-secret".into() };
    for _ in 0..300 {
        let r = t.casa.exchange(&impostor, &t.subject, "fs:read");
        assert_eq!(r.status, 401, "{r:?}");
    }
    let elapsed = started.elapsed().as_secs_f64();
    t.casa.settle();
    let trail = t.casa.get(&format!("/trace?mas_id={}&event_type=exchange_rejected&limit=500", t.a.mas_id)).json();
    let recorded = trail["items"].as_array().unwrap().len();
    // A burst of 50, then 5 a second.
    assert!(recorded >= 50 && (recorded as f64) <= 51.0 + 5.0 * elapsed, "{recorded} recorded in {elapsed:.1} s");
    let metrics = t.casa.get("/metrics").text;
    let counted: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("casa_trace_rejections_not_recorded_total ")?.parse().ok())
        .unwrap_or(0.0);
    assert_eq!(counted as usize + recorded, 300, "every rejection is recorded or counted");
}

/// One authenticated app cannot fill the store with sessions: past its MAS's
/// `sessions_per_app_per_second` it gets 429 with `Retry-After`, while the
/// MAS's other apps and the app's existing sessions go on.
#[test]
fn an_app_over_its_session_quota_gets_429_and_others_go_on() {
    let t = target_with(json!({"sessions_per_app_per_second": 5}));
    assert_eq!(t.a.mas["sessions_per_app_per_second"], 5);
    let started = std::time::Instant::now();
    let answers: Vec<Resp> = (0..40).map(|i| t.casa.token(&t.a.client, &format!("task {i}"), None)).collect();
    let elapsed = started.elapsed().as_secs_f64();
    let issued = answers.iter().filter(|r| r.status == 200).count();
    let refused: Vec<&Resp> = answers.iter().filter(|r| r.status != 200).collect();
    // The subject token took one of the burst of 5; then 5 a second.
    assert!(issued >= 4 && issued as f64 <= 5.0 + 5.0 * elapsed, "{issued} issued in {elapsed:.2} s");
    assert!(!refused.is_empty(), "no refusal in {elapsed:.2} s");
    for r in &refused {
        assert_oauth_error(r, 429, "quota_exceeded");
        assert_eq!(r.header("retry-after").as_deref(), Some("1"), "{r:?}");
    }

    // The MAS's other client is not throttled by it, nor is the app's own session.
    let other = t.casa.create_app(json!({"mas_id": t.a.mas_id, "name": "chat-2", "type": "client",
        "allowed_tools": ["fs:read"]}));
    assert_eq!(t.casa.token(&Client::of(&other), "my own task", None).status, 200);
    let uiid = jwt_parts(&t.subject).1["uiid"].as_str().unwrap().to_string();
    let r = t.casa.form(
        "/oauth/token",
        Some(&t.a.client),
        &[("grant_type", "client_credentials"), ("user_input_id", &uiid), ("tools", "fs:read")],
    );
    assert_eq!(r.status, 200, "continuing a session stores nothing and is not counted: {r:?}");
    t.assert_unchanged();

    let metrics = t.casa.get("/metrics").text;
    let counted: f64 =
        metrics.lines().find_map(|l| l.strip_prefix("casa_session_quota_refusals_total ")?.parse().ok()).unwrap_or(0.0);
    assert_eq!(counted as usize, refused.len(), "every refusal is counted");

    // A second later the quota has refilled.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(t.casa.token(&t.a.client, "later", None).status, 200);

    // The quota is bounded both ways.
    for bad in [json!(0), json!(1_000_001), json!(-1), json!("5")] {
        let r = t.casa.patch(&format!("/mas/{}", t.a.mas_id), json!({"sessions_per_app_per_second": bad}));
        assert!(r.status == 400 || r.status == 422, "{bad}: {r:?}");
    }
}
