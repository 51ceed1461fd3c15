//! The readiness facts that need store work, kept in memory by one task.
//!
//! `/readyz` is unauthenticated and probed every few seconds by every load
//! balancer and kubelet: it must cost no store work per probe, and must not
//! tell an anonymous caller which tenants exist. The task pings the store
//! every `PING_EVERY` and looks for MAS this node cannot serve every
//! `SCAN_EVERY`; the probe reads the last answer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::model::{Capabilities, CheckName, PageRequest, MAX_PAGE_SIZE};
use crate::store::Store;

const PING_EVERY: Duration = Duration::from_secs(2);
const SCAN_EVERY: Duration = Duration::from_secs(30);

/// What the last checks found; `None` = fine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreFacts {
    /// Why the node is not ready, in words fit for an anonymous caller.
    pub not_ready: Option<&'static str>,
}

pub struct ReadinessMonitor {
    facts: watch::Receiver<StoreFacts>,
    task: JoinHandle<()>,
}

impl ReadinessMonitor {
    /// Checks once (so the first probe already has an answer), then keeps checking.
    pub async fn start(store: Arc<dyn Store>, caps: Capabilities) -> Self {
        let mut gap = missing_capability(&*store, caps).await;
        let (publish, facts) = watch::channel(observe(&*store, gap).await);
        let task = tokio::spawn(async move {
            let scan_every = (SCAN_EVERY.as_millis() / PING_EVERY.as_millis()).max(1) as u32;
            for round in 1u32.. {
                tokio::time::sleep(PING_EVERY).await;
                if round % scan_every == 0 {
                    gap = missing_capability(&*store, caps).await;
                }
                let now = observe(&*store, gap).await;
                publish.send_if_modified(|old| std::mem::replace(old, now.clone()) != now);
            }
        });
        Self { facts, task }
    }

    pub fn facts(&self) -> StoreFacts {
        self.facts.borrow().clone()
    }
}

impl Drop for ReadinessMonitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn observe(store: &dyn Store, gap: Option<&'static str>) -> StoreFacts {
    if let Err(e) = store.ping().await {
        tracing::warn!(error = %e, "readiness: the store does not answer");
        return StoreFacts { not_ready: Some("the store does not answer") };
    }
    StoreFacts { not_ready: gap }
}

/// A MAS that enables a check this node cannot run makes the node not ready:
/// its exchanges are denied (fail closed), and an operator must know why. The
/// log names the MAS; the probe's answer does not.
async fn missing_capability(store: &dyn Store, caps: Capabilities) -> Option<&'static str> {
    if caps.embedder && caps.llm_verifier {
        return None;
    }
    for page in 1..=100 {
        let request = PageRequest { page, page_size: MAX_PAGE_SIZE };
        let found = match store.list_mas(None, request).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "readiness: listing MAS");
                return Some("the store does not answer");
            }
        };
        for mas in &found.items {
            let s = &mas.settings;
            for check in s.enabled_checks.iter().chain(&s.shadow_checks) {
                let why = match check {
                    CheckName::SemanticIntentMatch if !caps.embedder => {
                        "a MAS enables SEMANTIC_INTENT_MATCH but this node has no embedder"
                    }
                    CheckName::AiPoweredToolMatch if !caps.llm_verifier => {
                        "a MAS enables AI_POWERED_TOOL_MATCH but this node has no LLM verifier"
                    }
                    _ => continue,
                };
                tracing::warn!(mas_id = %mas.id, "readiness: {why}");
                return Some(why);
            }
        }
        if found.items.len() < MAX_PAGE_SIZE as usize {
            break;
        }
    }
    None
}
