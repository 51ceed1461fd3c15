//! Every decision produces a trace event through the sink, and no event
//! holds a raw token.

use std::sync::Arc;

use casa_actors::model::*;
use casa_actors::node::{Node, NodeConfig};
use casa_actors::oauth::*;
use casa_actors::store::EmbeddedStore;
use casa_actors::trace::{EventKind, MemorySink};
use casa_actors::CoreError;

fn creds(a: &AppWithSecret) -> ClientCredentials {
    ClientCredentials { client_id: a.app.client_id.clone(), client_secret: a.client_secret.clone() }
}

#[tokio::test]
async fn decisions_are_traced_without_raw_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(MemorySink::default());
    let node = Node::start(Arc::new(EmbeddedStore::open(dir.path()).unwrap()), sink.clone(), NodeConfig::default())
        .await
        .unwrap();
    let mas = node.create_mas(NewMas { name: "traced".into(), ..Default::default() }).await.unwrap().mas.id;
    let tool = |n: &str| ToolDef { name: n.into(), description: format!("{n} tool"), ..Default::default() };
    node.create_app(NewApp {
        mas_id: mas,
        name: "fs".into(),
        app_type: AppType::McpServer,
        base_url: None,
        allowed_tools: vec![],
        tools: vec![tool("fs:read"), tool("fs:write")],
    })
    .await
    .unwrap();
    let agent = node
        .create_app(NewApp {
            mas_id: mas,
            name: "agent".into(),
            app_type: AppType::Agent,
            base_url: None,
            allowed_tools: vec!["fs:read".into(), "fs:write".into()],
            tools: vec![],
        })
        .await
        .unwrap();
    let designated = MasPatch { llm_evidence_apps: Some(vec![agent.app.id]), ..Default::default() };
    node.update_mas(mas, designated).await.unwrap();

    let issued = node
        .issue_token(IssueRequest {
            client: creds(&agent),
            user_input: Some("read the notes".into()),
            user_input_id: None,
            tools: Some(vec!["fs:read".into()]),
            intent: None,
        })
        .await
        .unwrap();
    let allowed =
        node.exchange(creds(&agent), issued.access_token.clone(), None, vec!["fs:read".into()], None).await.unwrap();
    let denied = node.exchange(creds(&agent), issued.access_token.clone(), None, vec!["fs:write".into()], None).await;
    assert!(matches!(denied, Err(CoreError::OAuth(OAuthError::AccessDenied { .. }))));
    let bad = ClientCredentials { client_id: agent.app.client_id.clone(), client_secret: "wrong".into() };
    assert!(node.exchange(bad, issued.access_token.clone(), None, vec!["fs:read".into()], None).await.is_err());
    node.introspect(None, allowed.access_token.clone(), None).await.unwrap();
    node.record_llm_call(LlmCallReport {
        client: creds(&agent),
        user_input_id: issued.user_input_id.clone(),
        call_id: "c1".into(),
        selected_tools: vec!["fs:read".into()],
        model: None,
        prompt_digest: None,
    })
    .await
    .unwrap();
    node.revoke(creds(&agent), issued.access_token.clone()).await.unwrap();

    let (admin, events): (Vec<_>, Vec<_>) =
        sink.events().into_iter().partition(|e| matches!(e.kind, EventKind::AdminChange { .. }));
    let actions: Vec<String> = admin
        .iter()
        .map(|e| match &e.kind {
            EventKind::AdminChange { action, .. } => action.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(actions, ["mas.create", "app.create", "app.create", "mas.update"]);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match &e.kind {
            EventKind::TokenIssued { .. } => "issued",
            EventKind::ExchangeAllowed { .. } => "allowed",
            EventKind::ExchangeDenied { .. } => "denied",
            EventKind::ExchangeRejected { .. } => "rejected",
            EventKind::Introspection { .. } => "introspection",
            EventKind::Revocation { .. } => "revocation",
            EventKind::LlmCall { .. } => "llm_call",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["issued", "allowed", "denied", "rejected", "introspection", "llm_call", "revocation"]);

    let allowed_event = &events[1];
    assert_eq!(allowed_event.mas_id, mas);
    assert_eq!(allowed_event.jti.as_deref(), Some(allowed.jti.as_str()));
    assert_eq!(allowed_event.parent.as_deref(), Some(issued.jti.as_str()));
    assert_eq!(allowed_event.user_input_id.as_deref(), Some(issued.user_input_id.as_str()));
    // The minted token's digest, so a wire sighting of it finds its exchange.
    assert_eq!(allowed_event.token_digest.as_deref(), Some(casa_actors::token::digest(&allowed.access_token).as_str()));
    if let EventKind::ExchangeDenied { denials, checks, .. } = &events[2].kind {
        assert_eq!(denials[0].reason, "tool_not_in_token");
        assert!(checks.iter().any(|c| c.check == "DETERMINISTIC_TOOL_SELECTED" && !c.passed));
    } else {
        panic!("not a denial: {:?}", events[2]);
    }

    let serialized = serde_json::to_string(&events).unwrap();
    for token in [&issued.access_token, &allowed.access_token] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!serialized.contains(signature), "a raw token reached a trace event");
    }
    assert!(!serialized.contains(&agent.client_secret));
    node.shutdown().await;
}
