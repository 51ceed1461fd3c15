//! Made-up client ids cost the store one read per id and while, not one per
//! request (a negative cache), and an app the node has not seen yet is found.

use std::sync::Arc;

use casa_actors::model::*;
use casa_actors::node::{Node, NodeConfig};
use casa_actors::oauth::{ClientCredentials, IssueRequest, OAuthError};
use casa_actors::store::EmbeddedStore;
use casa_actors::testsuite::faults::FaultyStore;
use casa_actors::CoreError;
use uuid::Uuid;

fn issue(client_id: &str, secret: &str) -> IssueRequest {
    IssueRequest {
        client: ClientCredentials { client_id: client_id.into(), client_secret: secret.into() },
        user_input: Some("read a file".into()),
        user_input_id: None,
        tools: None,
        intent: None,
    }
}

#[tokio::test]
async fn a_made_up_client_id_is_read_from_the_store_once_not_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FaultyStore::new(Arc::new(EmbeddedStore::open(dir.path()).unwrap())));
    let node = Node::start(store.clone(), Arc::new(casa_actors::trace::LogSink), NodeConfig::default()).await.unwrap();
    let mas = node.create_mas(NewMas { name: "m".into(), ..Default::default() }).await.unwrap().mas.id;
    store.record("get_app");

    let made_up = Uuid::now_v7().to_string();
    for _ in 0..50 {
        let err = node.issue_token(issue(&made_up, "x")).await.unwrap_err();
        assert!(matches!(err, CoreError::OAuth(OAuthError::InvalidClient)), "{err:?}");
    }
    assert_eq!(store.calls("get_app").len(), 1, "every request for a made-up id read the store");

    // A real app is found, however many unknown ids came before it.
    let app =
        node.create_app(NewApp::new(mas, "client", AppType::Client, vec!["fs:read".into()], vec![])).await.unwrap();
    let issued = node.issue_token(issue(&app.app.client_id, &app.client_secret)).await;
    assert!(issued.is_ok(), "{issued:?}");
}

#[tokio::test]
async fn a_made_up_realm_id_is_read_from_the_store_once_not_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FaultyStore::new(Arc::new(EmbeddedStore::open(dir.path()).unwrap())));
    let node = Node::start(store.clone(), Arc::new(casa_actors::trace::LogSink), NodeConfig::default()).await.unwrap();
    store.record("get_mas");

    // `/realms/{id}/.well-known/jwks.json` takes any id, unauthenticated.
    let made_up = Uuid::now_v7();
    for _ in 0..50 {
        let err = node.jwks(made_up).await.unwrap_err();
        assert!(matches!(err, CoreError::NotFound { .. }), "{err:?}");
    }
    assert_eq!(store.calls("get_mas").len(), 1, "every request for a made-up realm read the store");

    // A MAS created after unknown ids were asked for is served at once.
    let mas = node.create_mas(NewMas { name: "m".into(), ..Default::default() }).await.unwrap().mas.id;
    assert!(node.jwks(mas).await.is_ok());
}
