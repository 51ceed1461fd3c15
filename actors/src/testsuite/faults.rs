//! A `Store` that passes every call to a real one, except the calls a test
//! arms to fail or to panic (the way a lost CQL node or a buggy driver
//! would), and that can time what it passes on. One wrapper for every test
//! and bench that needs a misbehaving or observed store.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::{AppRecord, MasRecord, Page, PageRequest};
use crate::realm::RealmKey;
use crate::revocation::Revocation;
use crate::session::{LlmCall, UserInput};
use crate::store::{Store, StoreError};
use crate::trace::TraceEvent;

/// What an armed call does instead of reaching the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers `StoreError::Unavailable`.
    Fail,
    /// Panics in the caller's task.
    Panic,
    /// Passes the call on after this long (a slow disk or a far replica).
    Delay(Duration),
}

/// One call that reached the real store.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    pub op: &'static str,
    pub ended: Instant,
    pub took: Duration,
    /// Events of an `append_traces`, else 0.
    pub items: usize,
}

pub struct FaultyStore {
    inner: Arc<dyn Store>,
    /// Armed faults by method name, with how many calls they still hit.
    armed: Mutex<HashMap<&'static str, (Fault, u32)>>,
    recorded: Mutex<HashSet<&'static str>>,
    calls: Mutex<Vec<Call>>,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self { inner, armed: Mutex::default(), recorded: Mutex::default(), calls: Mutex::default() }
    }

    /// The next `times` calls of `op` (a `Store` method's name) meet `fault`.
    pub fn arm(&self, op: &'static str, fault: Fault, times: u32) {
        self.armed.lock().unwrap().insert(op, (fault, times));
    }

    /// Calls of `op` meet `fault` until [`FaultyStore::heal`].
    pub fn break_op(&self, op: &'static str, fault: Fault) {
        self.arm(op, fault, u32::MAX);
    }

    pub fn heal(&self, op: &'static str) {
        self.armed.lock().unwrap().remove(op);
    }

    /// Starts keeping a [`Call`] for every call of `op` passed on.
    pub fn record(&self, op: &'static str) {
        self.recorded.lock().unwrap().insert(op);
    }

    pub fn calls(&self, op: &str) -> Vec<Call> {
        self.calls.lock().unwrap().iter().filter(|c| c.op == op).copied().collect()
    }

    /// Runs the armed fault of `op`, if any: an error, a panic or a wait.
    async fn before(&self, op: &'static str) -> Result<(), StoreError> {
        let fault = {
            let mut armed = self.armed.lock().unwrap();
            match armed.get_mut(op) {
                Some((fault, times)) => {
                    let fault = *fault;
                    if *times != u32::MAX {
                        *times -= 1;
                    }
                    if *times == 0 {
                        armed.remove(op);
                    }
                    Some(fault)
                }
                None => None,
            }
        };
        match fault {
            None => Ok(()),
            Some(Fault::Delay(d)) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
            Some(Fault::Fail) => Err(StoreError::Unavailable(format!("injected failure of {op}").into())),
            Some(Fault::Panic) => panic!("injected panic in {op}"),
        }
    }

    fn after(&self, op: &'static str, started: Instant, items: usize) {
        if self.recorded.lock().unwrap().contains(op) {
            let ended = Instant::now();
            self.calls.lock().unwrap().push(Call { op, ended, took: ended - started, items });
        }
    }
}

/// Each method: check the armed faults, pass on, record.
macro_rules! pass_on {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $(, items = $items:expr)?;)*) => {
        #[async_trait]
        impl Store for FaultyStore {
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
                    self.before(stringify!($name)).await?;
                    let started = Instant::now();
                    let result = self.inner.$name($($arg),*).await;
                    #[allow(unused_mut, unused_assignments)]
                    let mut items = 0;
                    $(items = $items;)?
                    self.after(stringify!($name), started, items);
                    result
                }
            )*
        }
    };
}

pass_on! {
    ping() -> ();
    create_mas(mas: &MasRecord, key: &RealmKey) -> ();
    update_mas(mas: &MasRecord) -> ();
    get_mas(id: Uuid) -> Option<MasRecord>;
    list_mas(name_contains: Option<&str>, page: PageRequest) -> Page<MasRecord>;
    delete_mas(id: Uuid) -> bool;
    put_keys(mas_id: Uuid, keys: &[RealmKey]) -> ();
    realm_keys(mas_id: Uuid) -> Vec<RealmKey>;
    put_app(app: &AppRecord) -> ();
    get_app(id: Uuid) -> Option<AppRecord>;
    list_apps(mas_id: Option<Uuid>, page: PageRequest) -> Page<AppRecord>;
    apps_of_mas(mas_id: Uuid) -> Vec<AppRecord>;
    delete_app(id: Uuid) -> bool;
    put_user_input(input: &UserInput) -> ();
    get_user_input(mas_id: Uuid, id: Uuid) -> Option<UserInput>;
    user_input_mas(id: Uuid) -> Option<Uuid>;
    put_llm_call(mas_id: Uuid, user_input_id: Uuid, call: &LlmCall) -> ();
    llm_calls(mas_id: Uuid, user_input_id: Uuid) -> Vec<LlmCall>;
    put_revocation(mas_id: Uuid, rule: &Revocation) -> ();
    revocations(mas_id: Uuid) -> Vec<Revocation>;
    append_traces(events: &[TraceEvent]) -> (), items = events.len();
    trace_head(chain_key: Uuid) -> Option<String>;
    traces(mas_id: Option<Uuid>, before: Option<Uuid>, limit: usize) -> Vec<TraceEvent>;
    purge_traces(cutoff: OffsetDateTime, limit: usize) -> usize;
    purge_sessions(cutoff: OffsetDateTime, limit: usize) -> usize;
    purge_revocations(now: i64) -> usize;
    session_traces(user_input_id: &str) -> Vec<TraceEvent>;
    token_traces(jti: &str) -> Vec<TraceEvent>;
    get_meta(key: &str) -> Option<String>;
    put_meta(key: &str, value: &str) -> ();
}
