//! Crash safety: everything acknowledged survives `kill -9`.

mod common;

use casa_actors::secret;
use casa_actors::store::{EmbeddedStore, Store};
use common::*;
use serde_json::json;

#[test]
fn everything_acknowledged_survives_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    // A fixed public URL keeps issuers stable across restarts on new ports.
    let opts = || Options {
        admin_env: None,
        extra_args: vec!["--public-url".into(), "https://casa.test".into()],
        ..Options::default()
    };
    let mut casa = Casa::start_in(tmp.path(), opts());
    let generated_admin = casa.admin.clone();
    assert!(generated_admin.starts_with("casa_at_"));

    let mas = casa.create_mas(json!({"name": "durable", "token_ttl_seconds": 900}));
    let mas_id = mas["id"].as_str().unwrap().to_string();
    let rotated_kid = casa.post(&format!("/mas/{mas_id}/keys/rotate"), json!({})).json()["active_kid"].clone();
    let agent_app = casa.create_app(agent(&mas_id, "planner", &["fs:read"]));
    let server = casa.create_app(mcp_server(&mas_id, "files", &["fs:read", "fs:write"]));
    let jwks_path = format!("/realms/{mas_id}/.well-known/jwks.json");
    let jwks_before = casa.send(casa.request("GET", &jwks_path)).json();
    let mas_before = casa.get(&format!("/mas/{mas_id}")).json();
    let tools_before = casa.get(&format!("/mas/{mas_id}/tools")).json();

    casa.kill9();

    // The data dir opens cleanly after the crash, and the digests on disk
    // still authenticate the secrets handed out before it.
    {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let store = EmbeddedStore::open(&tmp.path().join("data")).unwrap();
        rt.block_on(async {
            for app in [&agent_app, &server] {
                let id = app["id"].as_str().unwrap().parse().unwrap();
                let stored = store.get_app(id).await.unwrap().expect("app survived");
                assert!(secret::verify(app["client_secret"].as_str().unwrap(), &stored.secret_digest));
                assert!(!secret::verify("casa_cs_wrong", &stored.secret_digest));
            }
        });
    }

    let casa = Casa::start_in(tmp.path(), opts());
    assert_eq!(casa.admin, generated_admin, "the admin token file is unchanged");
    assert_eq!(casa.get("/mas").status, 200, "the generated admin token still authenticates");
    // Printed only to a terminal (stdout is a file here); where it is, once.
    assert_eq!(casa.logs().matches(&generated_admin).count(), 0, "the admin token went to a non-terminal stdout");
    assert_eq!(
        casa.logs().matches("casa generated the admin token").count(),
        1,
        "the admin token is announced once, on first start only"
    );
    assert_eq!(casa.get(&format!("/mas/{mas_id}")).json(), mas_before);
    assert_eq!(mas_before["realm"]["active_kid"], rotated_kid);
    assert_eq!(casa.send(casa.request("GET", &jwks_path)).json(), jwks_before, "keys unchanged");
    assert_eq!(casa.get(&format!("/mas/{mas_id}/tools")).json(), tools_before);
    let read = casa.get(&format!("/apps/{}", agent_app["id"].as_str().unwrap())).json();
    assert_eq!(read["allowed_tools"], json!(["fs:read"]));
    // Names are still taken: the restarted node knows the apps.
    assert_eq!(casa.post("/apps", agent(&mas_id, "planner", &[])).status, 409);
}

#[test]
fn a_stream_of_writes_killed_mid_way_leaves_a_consistent_store() {
    let tmp = tempfile::tempdir().unwrap();
    let mut casa = Casa::start_in(tmp.path(), Options::default());
    let mas_id = casa.create_mas(json!({"name": "busy"}))["id"].as_str().unwrap().to_string();
    let port = casa.port;
    // Writers keep creating apps while the process is killed under them.
    let writer = std::thread::spawn(move || {
        let client = http_client();
        let mut acknowledged = Vec::new();
        for i in 0..10_000 {
            let r = client
                .post(format!("http://127.0.0.1:{port}/apps"))
                .bearer_auth(ADMIN)
                .json(&agent(&mas_id, &format!("agent-{i}"), &["fs:read"]))
                .send();
            match r {
                Ok(r) if r.status() == 201 => {
                    acknowledged.push(r.json::<serde_json::Value>().unwrap()["id"].as_str().unwrap().to_string())
                }
                _ => break,
            }
        }
        acknowledged
    });
    std::thread::sleep(std::time::Duration::from_millis(700));
    casa.kill9();
    let acknowledged = writer.join().unwrap();
    assert!(acknowledged.len() > 5, "too few writes before the kill: {}", acknowledged.len());

    let casa = Casa::start_in(tmp.path(), Options::default());
    for id in &acknowledged {
        assert_eq!(casa.get(&format!("/apps/{id}")).status, 200, "acknowledged app {id} was lost");
    }
}

/// A counter's value in the node's Prometheus text.
fn counter(metrics: &str, name: &str) -> f64 {
    metrics.lines().find_map(|l| l.strip_prefix(name)?.trim().parse().ok()).unwrap_or(0.0)
}

#[test]
fn sessions_issued_concurrently_survive_kill_9_and_share_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let mut casa = Casa::start_in(tmp.path(), Options::default());
    let fleet = Fleet::create(&casa, json!({"name": "issuers"}));
    let port = casa.port;
    // Sixteen issuers at once, each keeping the user input ids it was answered with.
    let issuers: Vec<_> = (0..16)
        .map(|n| {
            let client = fleet.client.clone();
            std::thread::spawn(move || {
                let http = http_client();
                let mut acknowledged = Vec::new();
                for i in 0..100_000 {
                    let r = http
                        .post(format!("http://127.0.0.1:{port}/oauth/token"))
                        .basic_auth(&client.id, Some(&client.secret))
                        .form(&[
                            ("grant_type", "client_credentials"),
                            ("user_input", &format!("issuer {n}, prompt {i}")),
                        ])
                        .send();
                    match r {
                        Ok(r) if r.status() == 200 => acknowledged.push(
                            r.json::<serde_json::Value>().unwrap()["user_input_id"].as_str().unwrap().to_string(),
                        ),
                        _ => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let metrics = casa.get("/metrics").text;
    casa.kill9();
    let acknowledged: Vec<String> = issuers.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert!(acknowledged.len() > 50, "too few issuances before the kill: {}", acknowledged.len());
    // Concurrent inputs went to disk together: fewer commits than inputs.
    let (commits, inputs) =
        (counter(&metrics, "casa_user_input_commits_total"), counter(&metrics, "casa_user_inputs_committed_total"));
    assert!(commits > 0.0 && inputs > commits, "{inputs} inputs in {commits} commits");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = EmbeddedStore::open(&tmp.path().join("data")).unwrap();
    let mas = fleet.mas_id.parse().unwrap();
    rt.block_on(async {
        for id in &acknowledged {
            let found = store.get_user_input(mas, id.parse().unwrap()).await.unwrap();
            assert!(found.is_some(), "acknowledged user input {id} was lost");
        }
    });
}
