//! What a MAS actor refuses before doing anything: a message for a MAS its
//! node no longer owns, and a token that outlives what its realm issues or
//! whose key was retired longer ago than any token lives.

use std::sync::Arc;
use std::time::{Duration, Instant};

use casa_actors::mas::{MasActor, MasArgs, MasMsg, MasSnapshot};
use casa_actors::membership::{placement, View};
use casa_actors::model::{AppType, Capabilities, MasSettings, NewApp, NewMas};
use casa_actors::node::{Node, NodeConfig};
use casa_actors::oauth::{ClientCredentials, IssueRequest};
use casa_actors::realm::{Keyring, RealmKey};
use casa_actors::store::{EmbeddedStore, Store};
use casa_actors::token::{self, Claims};
use casa_actors::wire::Reply;
use casa_actors::CoreError;
use ractor::Actor;

fn view(me: &str, serving: bool) -> Arc<View> {
    let members = vec![(me.to_string(), placement::name_hash(me))];
    Arc::new(View {
        epoch: 1,
        me: me.into(),
        not_serving: (!serving).then(|| "it left the cluster".into()),
        members: members.clone(),
        previous: members,
        changed_at: Instant::now() - Duration::from_secs(60),
        settle: Duration::ZERO,
    })
}

#[tokio::test]
async fn a_queued_message_for_a_mas_no_longer_owned_answers_not_owner() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let node = Node::start(store.clone(), Arc::new(casa_actors::trace::LogSink), NodeConfig::default()).await.unwrap();
    let id = node.create_mas(NewMas { name: "moving".into(), ..Default::default() }).await.unwrap().mas.id;
    node.shutdown().await;

    let (publish, ownership) = tokio::sync::watch::channel(view("node-a", true));
    let args = MasArgs {
        snapshot: MasSnapshot::load(&*store, id).await.unwrap().unwrap(),
        store: store.clone(),
        trace: Arc::new(casa_actors::trace::LogSink),
        capabilities: Capabilities::default(),
        public_url: "http://casa.test".into(),
        embedder: None,
        view: Some(ownership),
    };
    let (actor, _) = Actor::spawn(None, MasActor, args).await.unwrap();
    let rotate = async || match actor.call(MasMsg::RotateKey, Some(Duration::from_secs(5))).await {
        Ok(ractor::rpc::CallResult::Success(Reply(result))) => result,
        _ => panic!("the MAS actor did not answer"),
    };
    let before = store.realm_keys(id).await.unwrap().len();
    rotate().await.expect("the owner rotates its key");

    // The MAS moved: the next message (already queued, as in a drain) is refused, and does nothing.
    publish.send_replace(view("node-a", false));
    let refused = rotate().await.unwrap_err();
    assert!(matches!(refused, CoreError::NotOwner(_)), "{refused:?}");
    assert_eq!(store.realm_keys(id).await.unwrap().len(), before + 1, "a refused rotation wrote a key");
    actor.stop(None);
}

/// Attack: someone holding a realm's signing key (stolen from a backup, say)
/// mints a token for ten years, or keeps using the key after it was rotated
/// out. Neither verifies: a token may not claim a longer life than the realm
/// issues, and a key retired longer ago than that verifies nothing.
#[tokio::test]
async fn tokens_longer_lived_than_the_realm_issues_or_from_a_long_retired_key_are_inactive() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let node = Node::start(store.clone(), Arc::new(casa_actors::trace::LogSink), NodeConfig::default()).await.unwrap();
    let mas = node.create_mas(NewMas { name: "keys".into(), ..Default::default() }).await.unwrap().mas;
    let app = NewApp {
        mas_id: mas.id,
        name: "planner".into(),
        app_type: AppType::Agent,
        base_url: None,
        allowed_tools: vec!["fs:read".into()],
        tools: vec![],
    };
    let client = node.create_app(app).await.unwrap();
    let creds =
        ClientCredentials { client_id: client.app.client_id.clone(), client_secret: client.client_secret.clone() };
    let issued = node
        .issue_token(IssueRequest {
            client: creds.clone(),
            user_input: Some("read my notes".into()),
            user_input_id: None,
            tools: None,
            intent: None,
        })
        .await
        .unwrap();
    let active =
        async |token: &str| node.introspect(Some(creds.clone()), token.to_string(), None).await.unwrap().active;
    assert!(active(&issued.access_token).await, "the realm's own token");

    let payload = issued.access_token.split('.').nth(1).unwrap();
    let claims: Claims = serde_json::from_slice(&base64_url(payload)).unwrap();
    let keys = store.realm_keys(mas.id).await.unwrap();
    let ring = Keyring::new(keys.clone()).unwrap();
    let MasSettings { token_ttl_seconds, exchanged_token_ttl_seconds, .. } = mas.settings.clone();
    let longest = token_ttl_seconds.max(exchanged_token_ttl_seconds) as i64;

    // Ten years, signed with the realm's active key.
    let decade = Claims { exp: claims.iat + 10 * 365 * 86_400, jti: token::new_jti(), ..claims.clone() };
    assert!(!active(&token::sign(&decade, ring.active())).await, "a ten-year token verified");
    let longest_allowed = Claims { exp: claims.iat + longest, jti: token::new_jti(), ..claims.clone() };
    assert!(active(&token::sign(&longest_allowed, ring.active())).await, "a token of the realm's own lifetime");

    // A key retired longer ago than any token lives: it stays stored, and verifies nothing.
    let now = time::OffsetDateTime::now_utc();
    let (mut old, fresh) = ring.rotate(now);
    old.retired_at = Some(now - time::Duration::seconds(longest + 60));
    store.put_keys(mas.id, &[old.clone(), fresh]).await.unwrap();
    node.shutdown().await;
    let node = Node::start(store.clone(), Arc::new(casa_actors::trace::LogSink), NodeConfig::default()).await.unwrap();
    let fresh_claims = Claims { jti: token::new_jti(), ..claims.clone() };
    let by_old: &RealmKey = &old;
    let introspected = node.introspect(Some(creds.clone()), token::sign(&fresh_claims, by_old), None).await.unwrap();
    assert!(!introspected.active, "a long-retired key still verifies");
    node.shutdown().await;
}

fn base64_url(part: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()
}
