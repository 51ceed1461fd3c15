//! The store conformance suite: written once, run against every [`Store`].
//! Compiled only with the `testsuite` feature (the backends' tests enable it),
//! and outside `store` so that the stores import nothing they are tested with.
//!
//! A backend's test file instantiates it with
//! `casa_actors::store_conformance_tests!(async { (guard, store) }, |retention| async { (guard, store) })`,
//! where the future yields something to keep alive for the test and an
//! `Arc<dyn Store>`; the second makes a store that keeps trace events for
//! `retention` (a CQL store writes them with that TTL), for the expiry cases.

pub mod faults;

use time::OffsetDateTime;
use uuid::Uuid;

use std::time::Duration;

use crate::model::*;
use crate::realm::RealmKey;
use crate::retention::{purge_expired, Retention};
use crate::revocation::{Revocation, RevocationTarget};
use crate::session::{LlmCall, UserInput, UserInputContent};
use crate::store::Store;
use crate::trace::{EventKind, TraceEvent};
use crate::trace_writer::{verify_chain, ChainReport, ChainStart};

#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr, $expiring:expr) => {
        $crate::store_conformance_tests!(@each $make;
            mas_round_trip, mas_listing_pages_and_searches, realm_keys_round_trip,
            apps_round_trip, deleting_a_mas_removes_only_its_own_data,
            unknown_ids_are_absent, meta_round_trip, values_survive_byte_for_byte,
            sessions_and_llm_calls_round_trip, revocations_round_trip, sessions_are_scoped_to_their_mas,
            traces_page_newest_first_and_by_session, traces_page_across_days);
        $crate::store_conformance_tests!(@each ($expiring)($crate::testsuite::RETENTION);
            expired_traces_are_gone, audit_verify_anchors_after_expiry, sessions_expire_with_the_trail);
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (_guard, store) = $make.await;
                $crate::testsuite::$name(&*store).await;
            }
        )*
    };
}

fn now() -> OffsetDateTime {
    // Stores keep second-or-better precision; compare on what RFC 3339 keeps.
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

pub fn mas(name: &str) -> MasRecord {
    let settings =
        crate::validate::new_mas(NewMas { name: name.into(), ..Default::default() }, Capabilities::default()).unwrap();
    MasRecord { id: Uuid::now_v7(), settings, created_at: now(), updated_at: now() }
}

pub fn app(mas_id: Uuid, name: &str) -> AppRecord {
    AppRecord {
        id: Uuid::now_v7(),
        mas_id,
        name: name.into(),
        app_type: AppType::McpServer,
        base_url: Some("https://mcp.example/".into()),
        allowed_tools: vec!["fs:read".into()],
        tools: vec![ToolDef {
            name: format!("{name}:tool"),
            description: "does things".into(),
            input_schema: Some(serde_json::json!({"type": "object"})),
            embedding: Some(crate::intent::Embedding { model: "test-model".into(), vector: vec![0.6, 0.8] }),
            registered_digest: Some("d".repeat(64)),
            history: vec![crate::model::ToolVersion {
                digest: "d".repeat(64),
                description: "did things".into(),
                input_schema: None,
                replaced_at: now(),
            }],
        }],
        client_id: Uuid::now_v7().to_string(),
        secret_digest: crate::secret::digest("s"),
        created_at: now(),
        updated_at: now(),
    }
}

pub async fn mas_round_trip(store: &dyn Store) {
    let mut m = mas("round-trip");
    store.create_mas(&m, &RealmKey::generate(now())).await.unwrap();
    assert_eq!(store.get_mas(m.id).await.unwrap(), Some(m.clone()));
    m.settings.token_ttl_seconds = 42;
    m.settings.enabled_checks.push(CheckName::DeterministicLlmSelectedTools);
    store.update_mas(&m).await.unwrap();
    assert_eq!(store.get_mas(m.id).await.unwrap(), Some(m));
}

pub async fn mas_listing_pages_and_searches(store: &dyn Store) {
    let tag = Uuid::new_v4().simple().to_string();
    let mut ids = Vec::new();
    for i in 0..5 {
        let m = mas(&format!("List-{tag}-{i}"));
        store.create_mas(&m, &RealmKey::generate(now())).await.unwrap();
        ids.push(m.id);
    }
    let page = PageRequest { page: 1, page_size: 2 };
    let needle = format!("list-{tag}");
    let first = store.list_mas(Some(&needle), page).await.unwrap();
    assert_eq!(first.total, 5);
    assert_eq!(first.items.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..2]);
    let last = store.list_mas(Some(&needle), PageRequest { page: 3, page_size: 2 }).await.unwrap();
    assert_eq!(last.items.iter().map(|m| m.id).collect::<Vec<_>>(), ids[4..]);
    let beyond = store.list_mas(Some(&needle), PageRequest { page: 9, page_size: 2 }).await.unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 5);
    let one = store.list_mas(Some(&format!("{tag}-3")), page).await.unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.items[0].id, ids[3]);

    // Unfiltered (only the page is read): pages walk every MAS once, in the filtered order.
    let (mut walked, mut page) = (Vec::new(), PageRequest { page: 1, page_size: 2 });
    loop {
        let p = store.list_mas(None, page).await.unwrap();
        assert!(p.items.len() <= 2 && p.total >= 5);
        if p.items.is_empty() {
            assert_eq!(p.total as usize, walked.len(), "the total counts what the pages hold");
            break;
        }
        walked.extend(p.items.into_iter().map(|m| m.id));
        page.page += 1;
    }
    let mut unique = walked.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), walked.len(), "no MAS on two pages");
    let ours: Vec<Uuid> = walked.iter().copied().filter(|id| ids.contains(id)).collect();
    assert_eq!(ours, ids);
}

/// `sealed` and `clear` are one backend, with and without a key-encryption
/// key: keys written through `sealed` round-trip there, and the same rows
/// read without the KEK (a copy of the store) give no key at all.
pub async fn realm_keys_are_sealed_at_rest(sealed: &dyn Store, clear: &dyn Store) {
    let m = mas("sealed keys");
    let key = RealmKey::generate(now());
    sealed.create_mas(&m, &key).await.unwrap();
    assert_eq!(sealed.realm_keys(m.id).await.unwrap(), vec![key.clone()]);
    let mut retired = key.clone();
    retired.retired_at = Some(now());
    let next = RealmKey::generate(now());
    sealed.put_keys(m.id, &[retired, next]).await.unwrap();
    assert_eq!(sealed.realm_keys(m.id).await.unwrap().len(), 2);
    assert!(clear.realm_keys(m.id).await.is_err(), "the store's rows gave up a realm key without the KEK");
    // Keys written in clear (before sealing) are still read by a sealing store.
    let old = mas("clear keys");
    clear.create_mas(&old, &key).await.unwrap();
    assert_eq!(sealed.realm_keys(old.id).await.unwrap(), vec![key]);
}

pub async fn realm_keys_round_trip(store: &dyn Store) {
    let m = mas("keys");
    let first = RealmKey::generate(now());
    store.create_mas(&m, &first).await.unwrap();
    assert_eq!(store.realm_keys(m.id).await.unwrap(), vec![first.clone()]);
    let mut retired = first.clone();
    retired.retired_at = Some(now());
    let second = RealmKey::generate(now());
    store.put_keys(m.id, &[retired.clone(), second.clone()]).await.unwrap();
    let mut keys = store.realm_keys(m.id).await.unwrap();
    keys.sort_by(|a, b| a.kid.cmp(&b.kid));
    let mut want = vec![retired, second];
    want.sort_by(|a, b| a.kid.cmp(&b.kid));
    assert_eq!(keys, want);
    // The secret half survives the round trip: it still signs what the public half verifies.
    use ed25519_dalek::Signer;
    let sig = keys[0].signing_key().sign(b"x");
    assert!(keys[0].verifying_key().verify_strict(b"x", &sig).is_ok());
    assert_eq!(keys[0].verifying_key().to_bytes(), keys[0].public_key);
}

pub async fn apps_round_trip(store: &dyn Store) {
    let m = mas("apps");
    store.create_mas(&m, &RealmKey::generate(now())).await.unwrap();
    let mut a = app(m.id, "a");
    let b = app(m.id, "b");
    store.put_app(&a).await.unwrap();
    store.put_app(&b).await.unwrap();
    assert_eq!(store.get_app(a.id).await.unwrap(), Some(a.clone()));
    a.allowed_tools.push("web:search".into());
    store.put_app(&a).await.unwrap();
    assert_eq!(store.apps_of_mas(m.id).await.unwrap(), vec![a.clone(), b.clone()]);
    let page = store.list_apps(Some(m.id), PageRequest { page: 2, page_size: 1 }).await.unwrap();
    assert_eq!((page.total, page.items.clone()), (2, vec![b.clone()]));
    let all = store.list_apps(None, PageRequest { page: 1, page_size: 100 }).await.unwrap();
    assert!(all.total >= 2);
    assert!(store.delete_app(a.id).await.unwrap());
    assert!(!store.delete_app(a.id).await.unwrap());
    assert_eq!(store.get_app(a.id).await.unwrap(), None);
    assert_eq!(store.apps_of_mas(m.id).await.unwrap(), vec![b]);
}

pub async fn deleting_a_mas_removes_only_its_own_data(store: &dyn Store) {
    let (gone, kept) = (mas("gone"), mas("kept"));
    store.create_mas(&gone, &RealmKey::generate(now())).await.unwrap();
    store.create_mas(&kept, &RealmKey::generate(now())).await.unwrap();
    let (ga, ka) = (app(gone.id, "x"), app(kept.id, "x"));
    store.put_app(&ga).await.unwrap();
    store.put_app(&ka).await.unwrap();
    assert!(store.delete_mas(gone.id).await.unwrap());
    assert_eq!(store.get_mas(gone.id).await.unwrap(), None);
    assert_eq!(store.get_app(ga.id).await.unwrap(), None);
    assert!(store.apps_of_mas(gone.id).await.unwrap().is_empty());
    assert!(store.realm_keys(gone.id).await.unwrap().is_empty());
    assert_eq!(store.get_mas(kept.id).await.unwrap(), Some(kept.clone()));
    assert_eq!(store.apps_of_mas(kept.id).await.unwrap(), vec![ka]);
    assert_eq!(store.realm_keys(kept.id).await.unwrap().len(), 1);
    assert!(!store.delete_mas(gone.id).await.unwrap());
}

pub async fn unknown_ids_are_absent(store: &dyn Store) {
    let id = Uuid::now_v7();
    assert_eq!(store.get_mas(id).await.unwrap(), None);
    assert_eq!(store.get_app(id).await.unwrap(), None);
    assert!(store.realm_keys(id).await.unwrap().is_empty());
    assert!(store.apps_of_mas(id).await.unwrap().is_empty());
    assert!(!store.delete_app(id).await.unwrap());
    assert_eq!(store.list_apps(Some(id), PageRequest { page: 1, page_size: 10 }).await.unwrap().total, 0);
    assert_eq!(store.get_meta(&id.to_string()).await.unwrap(), None);
    store.ping().await.unwrap();
}

pub async fn meta_round_trip(store: &dyn Store) {
    let key = format!("test-{}", Uuid::new_v4());
    store.put_meta(&key, "one").await.unwrap();
    store.put_meta(&key, "two").await.unwrap();
    assert_eq!(store.get_meta(&key).await.unwrap().as_deref(), Some("two"));
}

pub async fn values_survive_byte_for_byte(store: &dyn Store) {
    let mut m = mas("ünïcødé 🚀 \"quotes\" \\ back");
    m.settings.description = Some("x".repeat(4096));
    m.settings.semantic = SemanticSettings { threshold: 0.123_456, top_k: Some(7), min_probability: Some(0.625) };
    store.create_mas(&m, &RealmKey::generate(now())).await.unwrap();
    assert_eq!(store.get_mas(m.id).await.unwrap(), Some(m.clone()));
    let mut a = app(m.id, "名前");
    a.tools[0].input_schema = Some(
        serde_json::json!({"type": "object", "properties": {"p": {"type": "string", "description": "\u{0}\u{1f}"}}}),
    );
    store.put_app(&a).await.unwrap();
    assert_eq!(store.get_app(a.id).await.unwrap(), Some(a));
}

fn user_input(mas_id: Uuid) -> UserInput {
    UserInput {
        id: Uuid::now_v7(),
        mas_id,
        app_id: Uuid::now_v7(),
        content: UserInputContent::Text("summarise my inbox".into()),
        task: Some("summarise my inbox".into()),
        intent: Some(crate::intent::Embedding { model: "test-model".into(), vector: vec![1.0, 0.0, -0.0, 0.25] }),
        created_at: now(),
    }
}

fn llm_call(call_id: &str, tools: &[&str]) -> LlmCall {
    LlmCall {
        call_id: call_id.into(),
        selected_tools: tools.iter().map(|t| t.to_string()).collect(),
        model: Some("gpt-x".into()),
        prompt_digest: None,
        reported_by: "agent".into(),
        recorded_at: now(),
    }
}

pub async fn sessions_and_llm_calls_round_trip(store: &dyn Store) {
    let m = mas("sessions");
    store.create_mas(&m, &RealmKey::generate(now())).await.unwrap();
    let input = user_input(m.id);
    store.put_user_input(&input).await.unwrap();
    assert_eq!(store.get_user_input(m.id, input.id).await.unwrap(), Some(input.clone()));
    assert_eq!(store.user_input_mas(input.id).await.unwrap(), Some(m.id));
    let other = user_input(m.id);
    store.put_user_input(&other).await.unwrap();
    store.put_llm_call(m.id, input.id, &llm_call("c1", &["fs:read"])).await.unwrap();
    store.put_llm_call(m.id, input.id, &llm_call("c2", &["web:search"])).await.unwrap();
    store.put_llm_call(m.id, input.id, &llm_call("c1", &["fs:read", "fs:write"])).await.unwrap();
    store.put_llm_call(m.id, other.id, &llm_call("c9", &["mail:send"])).await.unwrap();
    let mut calls = store.llm_calls(m.id, input.id).await.unwrap();
    calls.sort_by(|a, b| a.call_id.cmp(&b.call_id));
    let got: Vec<_> = calls.iter().map(|c| (c.call_id.as_str(), c.selected_tools.join(" "))).collect();
    assert_eq!(got, [("c1", "fs:read fs:write".to_string()), ("c2", "web:search".to_string())]);
    assert_eq!(calls[0].model.as_deref(), Some("gpt-x"));
    assert_eq!(store.llm_calls(m.id, other.id).await.unwrap().len(), 1);
    assert!(store.delete_mas(m.id).await.unwrap());
    assert_eq!(store.get_user_input(m.id, input.id).await.unwrap(), None);
    assert_eq!(store.user_input_mas(input.id).await.unwrap(), None);
    assert!(store.llm_calls(m.id, input.id).await.unwrap().is_empty());
}

pub async fn sessions_are_scoped_to_their_mas(store: &dyn Store) {
    let (a, b) = (mas("a"), mas("b"));
    store.create_mas(&a, &RealmKey::generate(now())).await.unwrap();
    store.create_mas(&b, &RealmKey::generate(now())).await.unwrap();
    let input = user_input(a.id);
    store.put_user_input(&input).await.unwrap();
    store.put_llm_call(a.id, input.id, &llm_call("c", &["t"])).await.unwrap();
    store
        .put_revocation(a.id, &Revocation { target: RevocationTarget::Token("j".into()), revoked_at: 1, expires_at: 2 })
        .await
        .unwrap();
    assert_eq!(store.get_user_input(b.id, input.id).await.unwrap(), None);
    assert!(store.llm_calls(b.id, input.id).await.unwrap().is_empty());
    assert!(store.revocations(b.id).await.unwrap().is_empty());
    assert!(store.delete_mas(b.id).await.unwrap());
    assert_eq!(store.get_user_input(a.id, input.id).await.unwrap(), Some(input));
    assert_eq!(store.revocations(a.id).await.unwrap().len(), 1);
}

pub async fn revocations_round_trip(store: &dyn Store) {
    let m = mas("revocations");
    store.create_mas(&m, &RealmKey::generate(now())).await.unwrap();
    let rules = vec![
        Revocation { target: RevocationTarget::Token("jti-1".into()), revoked_at: 10, expires_at: 100 },
        Revocation { target: RevocationTarget::Session(Uuid::now_v7().to_string()), revoked_at: 11, expires_at: 101 },
        Revocation { target: RevocationTarget::App(Uuid::now_v7().to_string()), revoked_at: 12, expires_at: 102 },
    ];
    for r in &rules {
        store.put_revocation(m.id, r).await.unwrap();
    }
    // The same target again replaces its rule.
    let renewed = Revocation { target: RevocationTarget::Token("jti-1".into()), revoked_at: 20, expires_at: 200 };
    store.put_revocation(m.id, &renewed).await.unwrap();
    let mut got = store.revocations(m.id).await.unwrap();
    got.sort_by_key(|r| r.revoked_at);
    assert_eq!(got, vec![rules[1].clone(), rules[2].clone(), renewed]);
}

pub async fn traces_page_newest_first_and_by_session(store: &dyn Store) {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let session = Uuid::now_v7().to_string();
    let mut events = Vec::new();
    let mut prev: Option<String> = None;
    for i in 0..5 {
        let mut e =
            TraceEvent::new(if i % 2 == 0 { a } else { b }, EventKind::TokenIssued { tools: vec![format!("t{i}")] });
        e.user_input_id = (i < 3).then(|| session.clone());
        e.prev_hash = prev.clone();
        e.hash = Some(e.chain_hash(prev.as_deref()));
        prev = e.hash.clone();
        events.push(e);
    }
    store.append_traces(&events[..2]).await.unwrap();
    store.append_traces(&events[2..]).await.unwrap();
    let ids = |v: Vec<TraceEvent>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let newest_a = ids(store.traces(Some(a), None, 10).await.unwrap());
    assert_eq!(newest_a, vec![events[4].id, events[2].id, events[0].id]);
    assert_eq!(ids(store.traces(Some(a), Some(events[4].id), 1).await.unwrap()), vec![events[2].id]);
    let all = ids(store.traces(None, None, 1000).await.unwrap());
    let pos = |id| all.iter().position(|x| *x == id).unwrap();
    assert!(pos(events[4].id) < pos(events[3].id) && pos(events[3].id) < pos(events[0].id), "newest first");
    assert_eq!(ids(store.session_traces(&session).await.unwrap()), vec![events[0].id, events[1].id, events[2].id]);
    let (jti, child) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let mut issued = TraceEvent::new(a, EventKind::TokenIssued { tools: vec![] });
    issued.jti = Some(jti.clone());
    let mut exchanged = TraceEvent::new(a, EventKind::TokenIssued { tools: vec![] });
    exchanged.jti = Some(child.clone());
    exchanged.parent = Some(jti.clone());
    store.append_traces(&[issued.clone(), exchanged.clone()]).await.unwrap();
    assert_eq!(ids(store.token_traces(&jti).await.unwrap()), vec![issued.id, exchanged.id]);
    assert_eq!(ids(store.token_traces(&child).await.unwrap()), vec![exchanged.id]);
    assert_eq!(store.trace_head(a).await.unwrap(), events[4].hash, "events without a hash leave the head alone");
    assert_eq!(store.trace_head(b).await.unwrap(), events[3].hash);
    let stored = store.traces(Some(a), None, 10).await.unwrap();
    assert_eq!(stored.iter().find(|e| e.id == events[4].id), Some(&events[4]), "events come back byte for byte");
    // The trail outlives its MAS.
    store.delete_mas(a).await.unwrap();
    assert_eq!(store.traces(Some(a), None, 10).await.unwrap().len(), 5);
}

/// Events of several days (time-bucketed stores must walk the buckets).
pub async fn traces_page_across_days(store: &dyn Store) {
    let mas = Uuid::now_v7();
    let now = OffsetDateTime::now_utc().unix_timestamp() as u64;
    let at = |days_ago: u64, n: u32| {
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, now - days_ago * 86_400, n * 1_000_000);
        let mut e = TraceEvent::new(mas, EventKind::Introspection { active: true });
        e.id = Uuid::new_v7(ts);
        e.user_input_id = Some(format!("s-{mas}"));
        e
    };
    let events = vec![at(3, 1), at(3, 2), at(1, 1), at(0, 1), at(0, 2)];
    store.append_traces(&events).await.unwrap();
    let ids = |v: Vec<TraceEvent>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let newest: Vec<Uuid> = events.iter().rev().map(|e| e.id).collect();
    assert_eq!(ids(store.traces(Some(mas), None, 10).await.unwrap()), newest);
    // Pages of two cross the day boundaries.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.traces(Some(mas), cursor, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        cursor = Some(last.id);
        seen.extend(ids(page));
    }
    assert_eq!(seen, newest);
    let global = ids(store.traces(None, Some(events[3].id), 1000).await.unwrap());
    let pos = |id| global.iter().position(|x| *x == id).unwrap();
    assert!(pos(events[2].id) < pos(events[1].id) && pos(events[1].id) < pos(events[0].id));
    assert_eq!(ids(store.session_traces(&format!("s-{mas}")).await.unwrap()), ids(events.clone()));
}

/// How long the stores of the expiry cases keep trace events.
pub const RETENTION: Duration = Duration::from_secs(10);

/// `n` chained events of one MAS and session, after `prev`, that happened
/// `ago` before now; the first names `jti`, the others have it as parent.
fn chained(mas: Uuid, n: usize, prev: Option<String>, ago: Duration, jti: &str) -> Vec<TraceEvent> {
    let at = OffsetDateTime::now_utc() - ago;
    let mut prev = prev;
    (0..n)
        .map(|i| {
            let ms = (at.unix_timestamp_nanos() / 1_000_000) as u64 + i as u64;
            let ts = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, (ms % 1000) as u32 * 1_000_000);
            let mut e = TraceEvent::new(mas, EventKind::Introspection { active: i % 2 == 0 });
            e.id = Uuid::new_v7(ts);
            e.at = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap();
            e.user_input_id = Some(format!("s-{mas}"));
            if i == 0 {
                e.jti = Some(jti.to_string());
            } else {
                e.parent = Some(jti.to_string());
            }
            e.prev_hash = prev.clone();
            e.hash = Some(e.chain_hash(prev.as_deref()));
            prev = e.hash.clone();
            e
        })
        .collect()
}

/// Old events (two seconds short of expiry) and fresh ones chained after them;
/// returns both once the old ones have expired (by TTL, or by the purge).
async fn expire_some(store: &dyn Store, mas: Uuid, jti: &str) -> (Vec<TraceEvent>, Vec<TraceEvent>) {
    let old = chained(mas, 5, None, RETENTION - Duration::from_secs(2), jti);
    store.append_traces(&old).await.unwrap();
    assert_eq!(store.traces(Some(mas), None, 100).await.unwrap().len(), 5, "not expired yet");
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let fresh = chained(mas, 4, old.last().unwrap().hash.clone(), Duration::ZERO, jti);
    store.append_traces(&fresh).await.unwrap();
    let purged = purge_expired(store, RETENTION).await.unwrap();
    // A CQL store expired them itself; the embedded store purged exactly those.
    assert!(purged == 0 || purged == 5, "purged {purged}");
    assert_eq!(purge_expired(store, RETENTION).await.unwrap(), 0, "nothing left to purge");
    (old, fresh)
}

/// A session (its user input and LLM calls) is kept as long as its trail, no
/// longer: one begun `RETENTION` ago is gone, by TTL or by the purge.
pub async fn sessions_expire_with_the_trail(store: &dyn Store) {
    let mas = Uuid::now_v7();
    let ms =
        ((OffsetDateTime::now_utc() - (RETENTION - Duration::from_secs(2))).unix_timestamp_nanos() / 1_000_000) as u64;
    let mut old = user_input(mas);
    old.id = Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, (ms % 1000) as u32 * 1_000_000));
    let fresh = user_input(mas);
    for input in [&old, &fresh] {
        store.put_user_input(input).await.unwrap();
        store.put_llm_call(mas, input.id, &llm_call("c1", &["fs:read"])).await.unwrap();
    }
    assert!(store.get_user_input(mas, old.id).await.unwrap().is_some(), "not expired yet");
    tokio::time::sleep(Duration::from_millis(3200)).await;
    purge_expired(store, RETENTION).await.unwrap();
    assert_eq!(store.get_user_input(mas, old.id).await.unwrap(), None, "the old session is gone");
    assert_eq!(store.user_input_mas(old.id).await.unwrap(), None);
    assert!(store.llm_calls(mas, old.id).await.unwrap().is_empty(), "with its LLM calls");
    assert_eq!(store.get_user_input(mas, fresh.id).await.unwrap().as_ref(), Some(&fresh), "the fresh one stays");
    assert_eq!(store.llm_calls(mas, fresh.id).await.unwrap().len(), 1);
}

pub async fn expired_traces_are_gone(store: &dyn Store) {
    let (mas, jti) = (Uuid::now_v7(), Uuid::new_v4().to_string());
    let (old, fresh) = expire_some(store, mas, &jti).await;
    let ids = |v: Vec<TraceEvent>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let kept = ids(fresh.clone());
    let newest: Vec<Uuid> = kept.iter().rev().copied().collect();
    assert_eq!(ids(store.traces(Some(mas), None, 100).await.unwrap()), newest, "by MAS");
    assert_eq!(ids(store.session_traces(&format!("s-{mas}")).await.unwrap()), kept, "by session");
    assert_eq!(ids(store.token_traces(&jti).await.unwrap()), kept, "by token");
    let all = ids(store.traces(None, None, 100_000).await.unwrap());
    assert!(old.iter().all(|e| !all.contains(&e.id)), "across MAS");
    assert!(fresh.iter().all(|e| all.contains(&e.id)), "across MAS");
    assert_eq!(store.trace_head(mas).await.unwrap(), fresh.last().unwrap().hash, "the head stays");
}

pub async fn audit_verify_anchors_after_expiry(store: &dyn Store) {
    let (mas, jti) = (Uuid::now_v7(), Uuid::new_v4().to_string());
    let (old, fresh) = expire_some(store, mas, &jti).await;
    let retention = Retention::For(RETENTION);
    let anchored = ChainReport {
        events: 4,
        unconfirmed: 0,
        segments: 1,
        start: ChainStart::Expired {
            first_kept: fresh[0].id,
            at: fresh[0].at,
            anchor: old.last().unwrap().hash.clone().unwrap(),
        },
    };
    assert_eq!(verify_chain(store, mas, retention).await.unwrap(), Ok(anchored));
    // Where nothing expires, a chain that does not start at its genesis is cut.
    let (at, why) = verify_chain(store, mas, Retention::Forever).await.unwrap().unwrap_err();
    assert_eq!(at, fresh[0].id, "{why}");
    // Tampering inside the kept range still breaks the chain, where it happened.
    let mut tampered = fresh[2].clone();
    tampered.kind =
        EventKind::Introspection { active: !matches!(fresh[2].kind, EventKind::Introspection { active: true }) };
    store.append_traces(&[tampered]).await.unwrap();
    let (at, why) = verify_chain(store, mas, retention).await.unwrap().unwrap_err();
    assert_eq!(at, fresh[2].id, "{why}");
}
