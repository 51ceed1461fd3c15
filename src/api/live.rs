//! `/trace/stream`: trace events as Server-Sent Events, each with `id:` = the
//! event id. A reader that reconnects with `Last-Event-ID` first gets what it
//! missed from the store, then the live events; one that falls behind the
//! live feed gets an explicit `lagged` event (with how many it missed) rather
//! than a silent gap, and can reconnect to fill it from the store.

use std::collections::HashSet;

use casa_actors::store::Store;
use casa_actors::trace::TraceEvent;
use futures::stream::BoxStream;
use futures::StreamExt;
use poem::web::sse::Event;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

/// A reconnecting reader gets at most this many missed events from the store
/// (scanning at most [`MAX_REPLAY_SCAN`]); past that, a `lagged` event says so.
pub const MAX_REPLAY: usize = 10_000;
const MAX_REPLAY_SCAN: usize = 200_000;

/// The stream's filters; all given ones must match.
#[derive(Debug, Clone, Default)]
pub struct StreamFilter {
    pub mas_id: Option<Uuid>,
    pub decision: Option<String>,
    pub user_input_id: Option<String>,
    pub app_id: Option<String>,
    pub event_type: Option<String>,
    /// Events naming this token as `jti` or as `parent`, as `GET /trace?jti=` does.
    pub jti: Option<String>,
}

impl StreamFilter {
    pub fn matches(&self, e: &TraceEvent) -> bool {
        self.mas_id.is_none_or(|m| e.mas_id == m)
            && self.decision.as_deref().is_none_or(|d| e.decision() == Some(d))
            && self.user_input_id.as_ref().is_none_or(|u| e.user_input_id.as_ref() == Some(u))
            && self.app_id.as_ref().is_none_or(|a| e.app_ids.contains(a))
            && self.event_type.as_deref().is_none_or(|t| e.type_name() == t)
            && self.jti.as_ref().is_none_or(|j| e.jti.as_ref() == Some(j) || e.parent.as_ref() == Some(j))
    }
}

/// The events after `after` that match, oldest first, and whether more were
/// missed than are replayed.
async fn missed_since(
    store: &dyn Store,
    filter: &StreamFilter,
    after: Uuid,
) -> Result<(Vec<TraceEvent>, bool), casa_actors::store::StoreError> {
    let mut found = Vec::new();
    let mut before = None;
    let mut scanned = 0;
    let mut truncated = false;
    'pages: loop {
        let page = store.traces(filter.mas_id, before, 1000).await?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        scanned += page.len();
        for e in page {
            if e.id <= after {
                break 'pages;
            }
            if filter.matches(&e) {
                found.push(e);
            }
        }
        if scanned >= MAX_REPLAY_SCAN {
            truncated = true;
            break;
        }
    }
    if found.len() > MAX_REPLAY {
        found.truncate(MAX_REPLAY);
        truncated = true;
    }
    found.reverse();
    Ok((found, truncated))
}

/// An event as the API answers it (the trace page, the session, the stream).
pub(crate) fn event_json(e: &TraceEvent) -> Value {
    serde_json::to_value(e).expect("events encode")
}

fn lagged(missed: Option<u64>) -> Value {
    json!({ "type": "lagged", "missed": missed })
}

/// The stream of a reader: what it missed since `last_event_id` (from the
/// store), then live events. The broadcast is subscribed before the store is
/// read, so nothing falls between the two; events in both are sent once.
pub async fn events(
    store: &dyn Store,
    live: tokio::sync::broadcast::Receiver<TraceEvent>,
    filter: StreamFilter,
    last_event_id: Option<Uuid>,
) -> Result<BoxStream<'static, Value>, casa_actors::store::StoreError> {
    let (replayed, truncated) = match last_event_id {
        Some(after) => missed_since(store, &filter, after).await?,
        None => (Vec::new(), false),
    };
    let seen: HashSet<Uuid> = replayed.iter().map(|e| e.id).collect();
    let after = last_event_id.unwrap_or(Uuid::nil());
    let mut head = Vec::with_capacity(replayed.len() + 1);
    if truncated {
        // The oldest missed events are not replayed: the reader reads them with `GET /trace`.
        head.push(lagged(None));
    }
    head.extend(replayed.iter().map(event_json));
    let live = futures::stream::unfold(live, |mut rx| async move {
        match rx.recv().await {
            Ok(e) => Some((Ok(e), rx)),
            Err(RecvError::Lagged(n)) => Some((Err(n), rx)),
            Err(RecvError::Closed) => None,
        }
    })
    .filter_map(move |item| {
        let out = match item {
            Ok(e) if e.id > after && !seen.contains(&e.id) && filter.matches(&e) => Some(event_json(&e)),
            Ok(_) => None,
            // Counted before filtering: at most this many matching events were missed.
            Err(n) => Some(lagged(Some(n))),
        };
        futures::future::ready(out)
    });
    Ok(futures::stream::iter(head).chain(live).boxed())
}

/// An item as an SSE event: trace events carry their id; a `lagged` event has
/// its own type and no id, so it never moves the reader's `Last-Event-ID`.
pub fn to_sse(item: Value) -> Event {
    let data = item.to_string();
    if item["type"] == "lagged" {
        return Event::message(data).event_type("lagged");
    }
    match item["id"].as_str() {
        Some(id) => Event::message(data).id(id),
        None => Event::message(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casa_actors::store::EmbeddedStore;
    use casa_actors::trace::EventKind;

    fn event(mas: Uuid) -> TraceEvent {
        TraceEvent::new(mas, EventKind::Introspection { active: true })
    }

    #[tokio::test]
    async fn a_reader_that_falls_behind_is_told_how_many_it_missed() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let (tx, rx) = tokio::sync::broadcast::channel(4);
        let mas = Uuid::now_v7();
        let sent: Vec<TraceEvent> = (0..10).map(|_| event(mas)).collect();
        for e in &sent {
            tx.send(e.clone()).unwrap();
        }
        drop(tx);
        let out: Vec<Value> = events(&store, rx, StreamFilter::default(), None).await.unwrap().collect().await;
        assert_eq!(out[0], json!({"type": "lagged", "missed": 6}));
        let ids: Vec<&str> = out[1..].iter().map(|v| v["id"].as_str().unwrap()).collect();
        let newest: Vec<String> = sent[6..].iter().map(|e| e.id.to_string()).collect();
        assert_eq!(ids, newest);
        assert_eq!(to_sse(out[0].clone()).to_string().lines().next(), Some("event: lagged"));
    }

    #[tokio::test]
    async fn a_resume_replays_the_missed_matching_events_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let (mas, other) = (Uuid::now_v7(), Uuid::now_v7());
        let stored: Vec<TraceEvent> = (0..6).map(|i| event(if i % 2 == 0 { mas } else { other })).collect();
        store.append_traces(&stored).await.unwrap();
        let (tx, rx) = tokio::sync::broadcast::channel(16);
        // The newest stored one also arrives live (written just before the subscription).
        tx.send(stored[4].clone()).unwrap();
        let fresh = event(mas);
        tx.send(fresh.clone()).unwrap();
        drop(tx);
        let filter = StreamFilter { mas_id: Some(mas), ..Default::default() };
        let out: Vec<Value> = events(&store, rx, filter, Some(stored[0].id)).await.unwrap().collect().await;
        let ids: Vec<String> = out.iter().map(|v| v["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(ids, [stored[2].id, stored[4].id, fresh.id].map(|u| u.to_string()));
        let sse = to_sse(out[0].clone()).to_string();
        assert!(sse.contains(&format!("id: {}", stored[2].id)), "{sse}");
    }
}
