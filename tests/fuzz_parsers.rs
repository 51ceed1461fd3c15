//! Property-based fuzzing of every parser of hostile input, on stable Rust
//! (proptest): the JWS decoder, the form decoder, HTTP Basic client
//! credentials, the trace query and cursor, the user-input parser.
//!
//! Each must never panic, answer within a bounded time, and keep its
//! contract (a token verifies only if unmodified, a form round-trips, a bad
//! request is a 4xx with the JSON error shape, never a 5xx).
//!
//! `PROPTEST_CASES` sets the cases per target (default 256; CI runs 2000,
//! docs/benchmarks.md records a run of 1,000,000).

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use casa::api::form;
use casa_actors::realm::{Keyring, RealmKey};
use casa_actors::session::UserInputContent;
use casa_actors::token::{self, Claims, TokenError};
use common::Casa;
use proptest::prelude::*;
use time::OffsetDateTime;

/// A case costing more CPU than this is a defect (a pathological input).
const BOUND: Duration = Duration::from_millis(250);
/// The wall time of a request to a debug build on a shared machine.
const HTTP_BOUND: Duration = Duration::from_secs(3);
const ISSUER: &str = "http://127.0.0.1:8080/realms/0193a5b0-0000-7000-8000-000000000000";
const NOW: i64 = 1_800_000_000;

/// CPU time of this thread: what a pathological input costs, whatever else the
/// machine runs (a descheduled thread's wall time says nothing about the parser).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = thread_cpu();
    let out = f();
    let spent = thread_cpu() - start;
    assert!(spent < BOUND, "{what} took {spent:?} of CPU");
    out
}

fn bounded_by<T>(bound: Duration, what: &str, f: impl FnOnce() -> T) -> T {
    // Wall time: the work is the server's.
    let start = Instant::now();
    let out = f();
    assert!(start.elapsed() < bound, "{what} took {:?}", start.elapsed());
    out
}

struct Realm {
    keyring: Keyring,
    token: String,
}

fn realm() -> &'static Realm {
    static REALM: OnceLock<Realm> = OnceLock::new();
    REALM.get_or_init(|| {
        let key = RealmKey::generate(OffsetDateTime::now_utc());
        let claims = Claims {
            iss: ISSUER.into(),
            sub: "client".into(),
            aud: ISSUER.into(),
            client_id: "client".into(),
            iat: NOW,
            nbf: NOW,
            exp: NOW + 300,
            jti: token::new_jti(),
            scope: "fs:read".into(),
            uiid: "0193a5b0-0000-7000-8000-000000000001".into(),
            tools: vec!["fs:read".into()],
            act: None,
            parent: None,
            lineage: vec![],
        };
        let token = token::sign(&claims, &key);
        Realm { keyring: Keyring::new(vec![key]).expect("one key"), token }
    })
}

/// Strings shaped like a JWS: three segments of base64url or of anything.
fn jws_like() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        "[A-Za-z0-9_-]{0,64}",
        any::<Vec<u8>>().prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        "\\PC{0,32}",
        prop::sample::select(vec![
            r#"{"alg":"EdDSA","typ":"at+jwt","kid":"x"}"#,
            r#"{"alg":"none","typ":"at+jwt","kid":"x"}"#,
            r#"{"alg":"EdDSA","typ":"at+jwt","kid":"x","jku":"http://127.0.0.1/"}"#,
            r#"{"iss":1}"#,
            "[]",
            "null",
        ])
        .prop_map(|j| URL_SAFE_NO_PAD.encode(j)),
    ];
    prop_oneof![prop::collection::vec(segment, 0..5).prop_map(|parts| parts.join(".")), any::<String>(),]
}

/// One edit of the valid token.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, char),
    Truncate(usize),
    Insert(usize, char),
    Append(String),
}

fn edit() -> impl Strategy<Value = Edit> {
    let c = prop_oneof![Just('.'), Just('='), Just('A'), Just('-'), any::<char>()];
    prop_oneof![
        (any::<usize>(), c.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), c).prop_map(|(i, c)| Edit::Insert(i, c)),
        "\\PC{1,16}".prop_map(Edit::Append),
    ]
}

fn apply(token: &str, e: &Edit) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    match e {
        Edit::Replace(i, c) => {
            let i = i % chars.len();
            chars[i] = *c;
        }
        Edit::Truncate(i) => chars.truncate(i % chars.len()),
        Edit::Insert(i, c) => chars.insert(i % (chars.len() + 1), *c),
        Edit::Append(s) => chars.extend(s.chars()),
    }
    chars.into_iter().collect()
}

proptest! {
    #[test]
    fn the_jws_decoder_refuses_anything_but_a_genuine_token(raw in jws_like()) {
        let r = realm();
        let verified = bounded("verify", || token::verify(&raw, &r.keyring, ISSUER, NOW));
        prop_assert!(verified.is_err() || raw == r.token);
        let _ = bounded("claimed_issuer", || token::claimed_issuer(&raw));
    }

    #[test]
    fn any_edit_of_a_token_breaks_it(e in edit()) {
        let r = realm();
        let edited = apply(&r.token, &e);
        let verified = bounded("verify", || token::verify(&edited, &r.keyring, ISSUER, NOW));
        if edited != r.token {
            prop_assert!(verified.is_err(), "{edited} verified");
        }
    }

    #[test]
    fn a_genuine_token_verifies_only_in_its_lifetime(offset in -10_000i64..10_000) {
        let r = realm();
        let at = NOW + offset;
        let verified = token::verify(&r.token, &r.keyring, ISSUER, at);
        let live = at < NOW + 300 && NOW <= at + token::LEEWAY_SECONDS;
        prop_assert_eq!(verified.is_ok(), live, "{:?}", verified);
        if !live {
            prop_assert!(matches!(verified, Err(TokenError::Expired | TokenError::NotYetValid)));
        }
        prop_assert!(token::verify(&r.token, &r.keyring, "http://other/realms/x", NOW).is_err());
    }

    #[test]
    fn the_form_decoder_never_panics_and_never_repeats_a_name(body in any::<Vec<u8>>()) {
        if let Ok(fields) = bounded("form::parse", || form::parse(&body)) {
            let pairs = body.split(|&b| b == b'&').filter(|p| !p.is_empty()).count();
            prop_assert_eq!(fields.len(), pairs);
        }
    }

    #[test]
    fn forms_round_trip(fields in prop::collection::btree_map("\\PC{1,12}", "\\PC{0,24}", 0..8)) {
        let encode = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
        let body = fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
        let parsed = form::parse(body.as_bytes()).expect("a well-formed form");
        prop_assert_eq!(parsed.len(), fields.len());
        for (k, v) in &fields {
            prop_assert_eq!(parsed[k].as_str(), Some(v.as_str()));
        }
        let plus = body.replace("%20", "+");
        prop_assert_eq!(form::parse(plus.as_bytes()).expect("plus is a space"), parsed);
    }

    #[test]
    fn the_user_input_parser_never_panics(raw in prop_oneof![
        any::<String>(),
        "\\[\\PC{0,64}",
        prop::collection::vec(("\\PC{0,8}", "\\PC{0,16}"), 0..6).prop_map(|turns| {
            serde_json::to_string(&turns.iter().map(|(r, c)| serde_json::json!({"role": r, "content": c})).collect::<Vec<_>>()).unwrap()
        }),
    ]) {
        match bounded("UserInputContent::parse", || UserInputContent::parse(&raw)) {
            Ok(UserInputContent::Text(t)) => {
                prop_assert_eq!(&t, &raw);
                prop_assert!(!raw.trim().is_empty() && !raw.trim_start().starts_with('['));
            }
            Ok(UserInputContent::Turns(turns)) => {
                prop_assert!(!turns.is_empty());
                prop_assert!(turns.iter().any(|t| t.role == "user" && !t.content.trim().is_empty()));
            }
            Err(_) => prop_assert!(raw.trim().is_empty() || raw.trim_start().starts_with('[')
                || raw.chars().count() > casa_actors::session::MAX_USER_INPUT_CHARS),
        }
    }
}

// Through HTTP, against one live node: HTTP Basic client credentials and the
// trace query (filters, times, cursor), as poem and the handlers parse them.

fn node() -> &'static Casa {
    static NODE: OnceLock<Casa> = OnceLock::new();
    static PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
    // A static is never dropped: kill the node when the test process exits.
    extern "C" fn kill_node() {
        let pid = PID.load(std::sync::atomic::Ordering::SeqCst);
        if pid > 0 {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    NODE.get_or_init(|| {
        let casa = Casa::start();
        let pid = casa.child.as_ref().expect("a spawned node").id() as i32;
        PID.store(pid, std::sync::atomic::Ordering::SeqCst);
        unsafe { libc::atexit(kill_node) };
        casa
    })
}

/// A 4xx with the JSON error shape, or a 2xx; never a 5xx.
fn assert_clean(r: &common::Resp, allowed: &[u16]) -> Result<(), TestCaseError> {
    prop_assert!(allowed.contains(&r.status), "{} {}", r.status, r.text);
    if r.status >= 400 {
        let body: serde_json::Value = serde_json::from_str(&r.text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(body["error"].is_string() && body["error_description"].is_string(), "{body}");
    }
    Ok(())
}

fn basic_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<Vec<u8>>().prop_map(|b| STANDARD.encode(b)),
        ("\\PC{0,16}", "\\PC{0,16}").prop_map(|(id, secret)| STANDARD.encode(format!("{id}:{secret}"))),
        ("[%A-Za-z0-9+]{0,16}", "[%A-Fa-f0-9+]{0,16}").prop_map(|(id, s)| STANDARD.encode(format!("{id}:{s}"))),
        "[ -~]{0,48}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn basic_credentials_are_parsed_without_a_5xx(scheme in prop::sample::select(vec!["Basic", "basic", "BASIC"]),
                                                   value in basic_value()) {
        let casa = node();
        let header = format!("{scheme} {value}");
        let Ok(header) = reqwest::header::HeaderValue::from_str(&header) else { return Ok(()) };
        let req = casa.request("POST", "/oauth/introspect").header("authorization", header).form(&[("token", "x")]);
        let r = bounded_by(HTTP_BOUND, "introspect", || casa.send(req));
        // Nobody holds these credentials: invalid_client, or invalid_request for a malformed form.
        assert_clean(&r, &[400, 401])?;
        if r.status == 401 {
            prop_assert!(r.header("www-authenticate").is_some_and(|w| w.starts_with("Basic")), "{:?}", r.headers);
        }
    }

    #[test]
    fn the_trace_query_and_cursor_are_parsed_without_a_5xx(params in prop::collection::vec((
        prop::sample::select(vec!["mas_id", "user_input_id", "jti", "app_id", "decision", "event_type",
                                  "since", "until", "limit", "cursor", "other"]),
        prop_oneof![
            "\\PC{0,24}",
            "[0-9a-f-]{36}",
            Just("0193a5b0-0000-7000-8000-000000000000".to_string()),
            "-?[0-9]{1,12}",
            "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-][01][0-9]:[0-5][0-9])",
            prop::sample::select(vec!["allowed", "denied", "token_issued"]).prop_map(str::to_string),
        ]), 0..5)) {
        let casa = node();
        let req = casa.request("GET", "/trace").bearer_auth(&casa.admin).query(&params);
        let r = bounded_by(HTTP_BOUND, "trace", || casa.send(req));
        assert_clean(&r, &[200, 400, 422])?;
        if r.status == 200 {
            let page: serde_json::Value = serde_json::from_str(&r.text).unwrap();
            prop_assert!(page["items"].is_array() && page.get("next_cursor").is_none_or(|c| c.is_string()), "{page}");
        }
    }
}
