//! Admin authentication on every management route, enumerated from the
//! OpenAPI document, and the admin token's life cycle.

mod common;

use common::*;
use serde_json::json;

/// Operations without the admin token: probes, metrics, realm public keys and
/// metadata, the OAuth endpoints and `/trace/llm` (client authentication).
fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
        || path.starts_with("/realms/")
        || path.starts_with("/.well-known/")
        || path.starts_with("/oauth/")
}

/// The OAuth endpoints take client credentials by HTTP Basic or in the form (`{}`).
fn takes_client_credentials(op: &serde_json::Value) -> bool {
    let s = op["security"].as_array();
    s.is_some_and(|s| s.iter().any(|r| r.get("ClientBasic").is_some()) && s.iter().any(|r| r == &json!({})))
}

/// `/trace/llm` takes the reporting app's credentials, by HTTP Basic only.
fn takes_basic_only(op: &serde_json::Value) -> bool {
    op["security"] == json!([{"ClientBasic": []}])
}

#[test]
fn every_management_route_answers_401_without_the_admin_token() {
    let casa = Casa::start();
    let mas_id = casa.create_mas(json!({"name": "m"}))["id"].as_str().unwrap().to_string();
    let app_id = casa.create_app(agent(&mas_id, "a", &[]))["id"].as_str().unwrap().to_string();
    let spec = casa.send(casa.request("GET", "/openapi.json")).json();
    let ops = operations(&spec);
    assert!(ops.len() >= 15, "suspiciously few operations: {}", ops.len());

    let bad_credentials: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("wrong token", Some("Bearer wrong-token".into())),
        ("empty bearer", Some("Bearer ".into())),
        ("basic scheme", Some(format!("Basic {ADMIN}"))),
        ("token as scheme", Some(ADMIN.to_string())),
        ("token with suffix", Some(format!("Bearer {ADMIN}x"))),
        ("token prefix", Some(format!("Bearer {}", &ADMIN[..ADMIN.len() - 1]))),
    ];
    let mut checked = 0;
    for (method, path, op) in &ops {
        if path.starts_with("/oauth/") {
            assert!(takes_client_credentials(op), "{method} {path} does not declare client authentication");
            continue;
        }
        if is_public(path) {
            assert!(op.get("security").is_none(), "{method} {path} is public but declares security");
            continue;
        }
        if takes_basic_only(op) {
            assert_eq!(path, "/trace/llm");
            continue;
        }
        let guarded = op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("AdminAuth").is_some()));
        assert!(guarded, "{method} {path} is not guarded by the admin token");
        let concrete = path.replace("{id}", if path.starts_with("/apps") { &app_id } else { &mas_id });
        for (what, header) in &bad_credentials {
            let mut req = casa.request(method, &concrete);
            if let Some(h) = header {
                req = req.header("authorization", h);
            }
            if method == "POST" || method == "PATCH" {
                req = req.json(&json!({"name": "x"}));
            }
            let r = casa.send(req);
            assert_eq!(r.status, 401, "{method} {concrete} with {what}: {r:?}");
            assert_eq!(r.header("www-authenticate").as_deref(), Some(r#"Bearer realm="casa""#), "{method} {concrete}");
            assert_eq!(r.json()["error"], "invalid_token");
            checked += 1;
        }
    }
    assert!(checked >= 14 * bad_credentials.len());
    // Nothing was changed by the refused calls.
    assert_eq!(casa.get(&format!("/mas/{mas_id}")).json()["name"], "m");
    assert_eq!(casa.get(&format!("/apps/{app_id}")).status, 200);
}

#[test]
fn a_generated_admin_token_is_stored_as_a_digest_in_a_0600_file_and_rotates() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let opts = || Options { admin_env: None, ..Options::default() };
    let mut casa = Casa::start_in(tmp.path(), opts());
    let token_file = tmp.path().join("data/admin-token");
    assert_eq!(std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777, 0o600);
    let first = casa.admin.clone();
    assert_eq!(first.len(), "casa_at_".len() + 43, "256 bits, base64url");
    // Not printed where a log collector would keep it (stdout is not a terminal here).
    assert!(!casa.logs().contains(&first), "the generated admin token went to a non-terminal stdout");
    assert!(casa.logs().contains("it is in"), "{}", casa.logs());
    // The store holds a digest, never the token.
    let db = std::fs::read(tmp.path().join("data/casa.redb")).unwrap();
    assert!(!db.windows(first.len()).any(|w| w == first.as_bytes()), "the admin token is stored in clear");

    // Rotation needs the data dir to itself.
    let busy = std::process::Command::new(casa_bin())
        .args(["admin-token", "rotate", "--data-dir"])
        .arg(tmp.path().join("data"))
        .env_remove("CASA_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(!busy.status.success());
    assert!(String::from_utf8_lossy(&busy.stderr).contains("in use by another casa process"), "{busy:?}");
    casa.kill9();

    let rotated = std::process::Command::new(casa_bin())
        .args(["admin-token", "rotate", "--data-dir"])
        .arg(tmp.path().join("data"))
        .env_remove("CASA_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(rotated.status.success(), "{rotated:?}");
    let second = std::fs::read_to_string(&token_file).unwrap().trim().to_string();
    assert_ne!(first, second);
    assert!(String::from_utf8_lossy(&rotated.stdout).contains(&second));

    let casa = Casa::start_in(tmp.path(), opts());
    assert_eq!(casa.admin, second);
    assert_eq!(casa.get("/mas").status, 200);
    assert_eq!(casa.send(casa.request("GET", "/mas").bearer_auth(&first)).status, 401);
    assert_eq!(casa.logs().matches(&second).count(), 0, "not printed again on restart");
}

#[test]
fn a_weak_operator_token_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let mut casa = Casa::spawn(tmp.path(), &Options { admin_env: Some("short".into()), ..Options::default() });
    let status = casa.child.take().unwrap().wait().unwrap();
    assert!(!status.success());
    assert!(casa.logs().contains("CASA_ADMIN_TOKEN must be at least 32 characters"), "{}", casa.logs());
}
