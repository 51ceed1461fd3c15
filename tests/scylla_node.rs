//! `casa serve --store scylla://…` against a real CQL server (Apache
//! Cassandra 5 from `scripts/cassandra start`): the same flows, state shared
//! through the store and surviving a restart.

mod common;

use common::*;
use serde_json::json;

fn store_url() -> String {
    let nodes = std::env::var("CASA_CQL_NODES").unwrap_or_else(|_| "127.0.0.1:9042".into());
    format!("scylla://{nodes}/casa_it_{}", uuid::Uuid::new_v4().simple())
}

#[test]
fn a_node_on_the_cql_store_keeps_everything_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_url();
    let opts = || Options {
        extra_args: vec!["--store".into(), store.clone(), "--public-url".into(), "http://casa.test".into()],
        ..Options::default()
    };
    let mut casa = Casa::start_in(tmp.path(), opts());
    assert_eq!(casa.send(casa.request("GET", "/readyz")).json()["status"], "ready");
    let fleet = Fleet::create(&casa, json!({}));
    let r = casa.token(&fleet.client, "read my notes", Some("fs:read"));
    assert_eq!(r.status, 200, "{r:?}");
    let subject = r.json()["access_token"].as_str().unwrap().to_string();
    let uiid = r.json()["user_input_id"].as_str().unwrap().to_string();
    let delegated = casa.exchanged_token(&fleet.agent, &subject, "fs:read");
    assert_eq!(denials(&casa.exchange(&fleet.agent, &subject, "fs:write"))[0].1, "tool_not_in_token");
    casa.form("/oauth/revoke", Some(&fleet.client), &[("token", &delegated)]);
    assert_eq!(casa.terminate().code(), Some(0));

    // Another node (a new process, another data dir) on the same keyspace.
    let other_dir = tempfile::tempdir().unwrap();
    let casa = Casa::start_in(other_dir.path(), opts());
    assert_eq!(casa.get(&format!("/mas/{}", fleet.mas_id)).json()["id"], json!(fleet.mas_id));
    assert_eq!(casa.introspect(&subject)["active"], true);
    assert_eq!(casa.introspect(&delegated)["active"], false, "the revocation is shared");
    assert_eq!(casa.exchange(&fleet.agent, &subject, "fs:read").status, 200);
    let session = casa.get(&format!("/trace/session/{uiid}")).json();
    let types: Vec<&str> = session.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(&types[..4], ["token_issued", "exchange_allowed", "exchange_denied", "revocation"], "{session}");
}
