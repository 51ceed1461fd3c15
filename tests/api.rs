//! Management API scenarios over real HTTP against a spawned `casa serve`.

mod common;

use common::*;
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn a_mas_is_created_with_documented_defaults_and_its_own_realm() {
    let casa = Casa::start();
    let mas = casa.create_mas(json!({"name": "research"}));
    let mas_id = id(&mas);
    assert_eq!(mas["name"], "research");
    assert_eq!(mas["enabled_checks"], json!(["DETERMINISTIC_TOOL_SELECTED"]));
    assert_eq!(mas["token_ttl_seconds"], 300);
    assert_eq!(mas["exchanged_token_ttl_seconds"], 60);
    assert_eq!(mas["max_delegation_depth"], 4);
    assert!(mas["created_at"].as_str().unwrap().ends_with('Z'));
    let issuer = format!("http://127.0.0.1:{}/realms/{mas_id}", casa.port);
    assert_eq!(mas["realm"]["issuer"], issuer);
    assert_eq!(mas["realm"]["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));

    // The realm publishes exactly its active Ed25519 key, and no private part.
    let jwks = casa.send(casa.request("GET", &format!("/realms/{mas_id}/.well-known/jwks.json"))).json();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], mas["realm"]["active_kid"]);
    assert_eq!(
        (keys[0]["kty"].as_str(), keys[0]["crv"].as_str(), keys[0]["alg"].as_str()),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    assert!(keys[0].get("d").is_none());

    // Another MAS has another key.
    let other = casa.create_mas(json!({"name": "other"}));
    assert_ne!(other["realm"]["active_kid"], mas["realm"]["active_kid"]);
    assert_eq!(casa.get(&format!("/mas/{mas_id}")).json(), mas);
}

#[test]
fn settings_round_trip_and_checks_switch_on_and_off() {
    let casa = Casa::start();
    let mas = casa.create_mas(json!({
        "name": "tuned", "description": "all settings",
        "enabled_checks": ["DETERMINISTIC_TOOL_SELECTED", "DETERMINISTIC_LLM_SELECTED_TOOLS"],
        "semantic": {"threshold": 0.5, "top_k": 3},
        "token_ttl_seconds": 600, "exchanged_token_ttl_seconds": 30, "max_delegation_depth": 2
    }));
    let path = format!("/mas/{}", id(&mas));
    assert_eq!(mas["semantic"], json!({"threshold": 0.5, "top_k": 3}));
    assert_eq!(mas["description"], "all settings");

    let r =
        casa.patch(&path, json!({"enabled_checks": ["DETERMINISTIC_LLM_SELECTED_TOOLS"], "token_ttl_seconds": 120}));
    assert_eq!(r.status, 200, "{r:?}");
    let patched = r.json();
    assert_eq!(patched["enabled_checks"], json!(["DETERMINISTIC_LLM_SELECTED_TOOLS"]));
    assert_eq!(patched["token_ttl_seconds"], 120);
    assert_eq!(patched["max_delegation_depth"], 2, "untouched settings stay");
    assert_eq!(casa.get(&path).json(), patched);

    let r = casa.patch(&path, json!({"enabled_checks": []}));
    assert_eq!(r.json()["enabled_checks"], json!([]));

    // The AI check needs an LLM verifier this node does not have: refused, nothing changes.
    let r = casa.patch(&path, json!({"enabled_checks": ["AI_POWERED_TOOL_MATCH"]}));
    assert_eq!(r.status, 422, "{r:?}");
    assert_eq!(r.json()["field"], "enabled_checks");
    assert_eq!(casa.get(&path).json()["enabled_checks"], json!([]));

    let r = casa.patch(&path, json!({"max_delegation_depth": 0}));
    assert_eq!((r.status, r.json()["field"].clone()), (422, json!("max_delegation_depth")));
}

#[test]
fn mas_listing_pages_and_searches() {
    let casa = Casa::start();
    for i in 0..7 {
        casa.create_mas(json!({"name": format!("Fleet {i}")}));
    }
    casa.create_mas(json!({"name": "solo"}));
    let page = casa.get("/mas?page=2&page_size=3").json();
    assert_eq!(
        (page["total"].as_u64(), page["page"].as_u64(), page["page_size"].as_u64()),
        (Some(8), Some(2), Some(3))
    );
    let names: Vec<_> =
        page["items"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["Fleet 3", "Fleet 4", "Fleet 5"]);
    let found = casa.get("/mas?q=fLeEt").json();
    assert_eq!(found["total"], 7);
    assert_eq!(casa.get("/mas?q=solo").json()["items"][0]["name"], "solo");
    assert_eq!(casa.get("/mas?page=99").json()["items"], json!([]));
    assert_eq!(casa.get("/mas?page_size=101").status, 422);
    assert_eq!(casa.get("/mas?page=0").status, 422);
    assert_eq!(casa.get("/mas?page=-1").status, 400);
    assert_eq!(casa.get("/mas").json()["page_size"], 20);
}

#[test]
fn apps_register_with_a_secret_shown_once_and_names_unique_per_mas() {
    let casa = Casa::start();
    let mas_id = id(&casa.create_mas(json!({"name": "m"})));
    let agent_app = casa.create_app(agent(&mas_id, "planner", &["fs:read", "web.search/v2"]));
    let secret = agent_app["client_secret"].as_str().unwrap();
    assert!(secret.starts_with("casa_cs_") && secret.len() >= 40);
    assert_eq!(agent_app["client_id"], agent_app["id"]);
    assert_eq!(agent_app["type"], "agent");
    assert_eq!(agent_app["allowed_tools"], json!(["fs:read", "web.search/v2"]));

    // Reading it back never shows the secret.
    let app_path = format!("/apps/{}", id(&agent_app));
    let read = casa.get(&app_path);
    assert_eq!(read.status, 200);
    assert!(read.json().get("client_secret").is_none());
    assert!(!read.text.contains(secret));

    let server = casa.create_app(mcp_server(&mas_id, "files", &["fs:read", "fs:write"]));
    let tools = casa.get(&format!("/mas/{mas_id}/tools")).json();
    let listed: Vec<_> = tools.as_array().unwrap().iter().map(|t| (t["name"].clone(), t["app_id"].clone())).collect();
    assert_eq!(listed, vec![(json!("fs:read"), server["id"].clone()), (json!("fs:write"), server["id"].clone())]);

    // Duplicate app or tool names in one MAS conflict; another MAS is another namespace.
    assert_eq!(casa.post("/apps", agent(&mas_id, "planner", &[])).status, 409);
    assert_eq!(casa.post("/apps", mcp_server(&mas_id, "files-2", &["fs:read"])).status, 409);
    let other = id(&casa.create_mas(json!({"name": "other"})));
    casa.create_app(agent(&other, "planner", &[]));
    casa.create_app(mcp_server(&other, "files", &["fs:read"]));

    // Only MCP servers serve tools; unknown MAS is 404.
    let r = casa.post(
        "/apps",
        json!({"mas_id": mas_id, "name": "x", "type": "agent", "tools": [{"name": "t", "description": "d"}]}),
    );
    assert_eq!((r.status, r.json()["field"].clone()), (422, json!("tools")));
    let r = casa.post("/apps", agent("01a22222-0000-7000-8000-000000000000", "x", &[]));
    assert_eq!(r.status, 404, "{r:?}");

    let listed = casa.get(&format!("/apps?mas_id={mas_id}")).json();
    assert_eq!(listed["total"], 2);
    assert_eq!(casa.get("/apps?page_size=1&page=3").json()["total"], 4);
    assert_eq!(casa.get("/apps?mas_id=01a22222-0000-7000-8000-000000000000").status, 404);
}

#[test]
fn apps_change_rotate_secrets_and_go_away() {
    let casa = Casa::start();
    let mas_id = id(&casa.create_mas(json!({"name": "m"})));
    let server = casa.create_app(mcp_server(&mas_id, "files", &["fs:read"]));
    let path = format!("/apps/{}", id(&server));

    let r = casa.patch(&path, json!({"tools": [{"name": "fs:list", "description": "List a directory"}], "base_url": "https://files.internal/mcp"}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["base_url"], "https://files.internal/mcp");
    let tools = casa.get(&format!("/mas/{mas_id}/tools")).json();
    assert_eq!(tools.as_array().unwrap().len(), 1);
    assert_eq!(tools[0]["name"], "fs:list");

    let r = casa.patch(&path, json!({"base_url": "ftp://nope"}));
    assert_eq!((r.status, r.json()["field"].clone()), (422, json!("base_url")));

    let rotated = casa.post(&format!("{path}/secret/rotate"), json!({}));
    assert_eq!(rotated.status, 200, "{rotated:?}");
    let new_secret = rotated.json()["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, server["client_secret"].as_str().unwrap());

    assert_eq!(casa.delete(&path).status, 204);
    assert_eq!(casa.get(&path).status, 404);
    assert_eq!(casa.delete(&path).status, 404);
    assert_eq!(casa.patch(&path, json!({"name": "x"})).status, 404);
    assert_eq!(casa.get(&format!("/mas/{mas_id}/tools")).json(), json!([]));
}

#[test]
fn key_rotation_keeps_the_old_key_published() {
    let casa = Casa::start();
    let mas = casa.create_mas(json!({"name": "m"}));
    let mas_id = id(&mas);
    let r = casa.post(&format!("/mas/{mas_id}/keys/rotate"), json!({}));
    assert_eq!(r.status, 200, "{r:?}");
    let new_kid = r.json()["active_kid"].as_str().unwrap().to_string();
    assert_ne!(json!(new_kid), mas["realm"]["active_kid"]);
    assert_eq!(casa.get(&format!("/mas/{mas_id}")).json()["realm"]["active_kid"], json!(new_kid));
    let jwks = casa.send(casa.request("GET", &format!("/realms/{mas_id}/.well-known/jwks.json"))).json();
    let kids: Vec<_> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect();
    assert_eq!(kids, vec![mas["realm"]["active_kid"].clone(), json!(new_kid)]);
}

#[test]
fn deleting_a_mas_removes_its_apps_tools_and_keys_only() {
    let casa = Casa::start();
    let gone = id(&casa.create_mas(json!({"name": "gone"})));
    let kept = id(&casa.create_mas(json!({"name": "kept"})));
    let gone_app = casa.create_app(mcp_server(&gone, "files", &["fs:read"]));
    let kept_app = casa.create_app(mcp_server(&kept, "files", &["fs:read"]));
    assert_eq!(casa.delete(&format!("/mas/{gone}")).status, 204);
    assert_eq!(casa.get(&format!("/mas/{gone}")).status, 404);
    assert_eq!(casa.get(&format!("/apps/{}", id(&gone_app))).status, 404);
    assert_eq!(casa.get(&format!("/mas/{gone}/tools")).status, 404);
    assert_eq!(casa.send(casa.request("GET", &format!("/realms/{gone}/.well-known/jwks.json"))).status, 404);
    assert_eq!(casa.delete(&format!("/mas/{gone}")).status, 404);
    assert_eq!(casa.get(&format!("/apps/{}", id(&kept_app))).status, 200);
    assert_eq!(casa.get(&format!("/mas/{kept}/tools")).json().as_array().unwrap().len(), 1);
    assert_eq!(casa.get("/mas").json()["total"], 1);
}

#[test]
fn health_readiness_metrics_and_the_openapi_document_are_served() {
    let casa = Casa::start();
    assert_eq!(casa.send(casa.request("GET", "/healthz")).json()["status"], "ok");
    assert_eq!(casa.send(casa.request("GET", "/readyz")).json()["status"], "ready");
    casa.create_mas(json!({"name": "m"}));
    casa.get("/mas/not-a-uuid");

    let metrics = casa.send(casa.request("GET", "/metrics")).text;
    assert!(
        metrics.contains(r#"casa_http_requests_total{route="createMas",method="POST",status="201"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"casa_http_request_duration_seconds_bucket{route="createMas",method="POST",status="201""#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"route="getMas",method="GET",status="400""#), "{metrics}");
    assert!(metrics.contains("casa_mas_actors 1"), "{metrics}");

    let committed: Value = serde_yaml::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/casa.yaml")).unwrap(),
    )
    .unwrap();
    let served_json = casa.send(casa.request("GET", "/openapi.json")).json();
    let served_yaml: Value = serde_yaml::from_str(&casa.send(casa.request("GET", "/openapi.yaml")).text).unwrap();
    assert_eq!(served_json, committed);
    assert_eq!(served_yaml, committed);
    let docs = casa.send(casa.request("GET", "/docs"));
    assert_eq!(docs.status, 200);
    assert!(docs.text.contains("swagger"), "{}", &docs.text[..200.min(docs.text.len())]);
}

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let out = std::process::Command::new(casa_bin()).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/casa.yaml")).unwrap();
    assert!(
        generated == committed,
        "openapi/casa.yaml is stale: run `cargo run -- openapi > openapi/casa.yaml` and commit it"
    );
}
