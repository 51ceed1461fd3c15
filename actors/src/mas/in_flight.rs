//! Load shedding: how many calls a node has in flight to each MAS. Past the
//! limit a call is refused at once (`Unavailable`, a 503 with `Retry-After`)
//! instead of queueing in an unbounded mailbox behind calls that will time out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::error::CoreError;

/// Calls in flight to one MAS from one node, by default.
pub const DEFAULT_CALLS_PER_MAS: usize = 1024;

/// The counts, per MAS; an entry lives only while a call of its MAS is in flight.
#[derive(Clone)]
pub struct InFlight {
    limit: usize,
    by_mas: Arc<Mutex<HashMap<Uuid, usize>>>,
}

impl Default for InFlight {
    fn default() -> Self {
        Self::new(DEFAULT_CALLS_PER_MAS)
    }
}

/// One call's place; given back when dropped.
pub struct Permit {
    mas: Uuid,
    by_mas: Arc<Mutex<HashMap<Uuid, usize>>>,
}

impl InFlight {
    pub fn new(limit: usize) -> Self {
        Self { limit: limit.max(1), by_mas: Arc::default() }
    }

    /// A place for one more call to `mas`, or `Unavailable` at once.
    pub fn acquire(&self, mas: Uuid) -> Result<Permit, CoreError> {
        let mut by_mas = self.by_mas.lock().expect("in-flight counts poisoned");
        let count = by_mas.entry(mas).or_default();
        if *count >= self.limit {
            metrics::counter!(crate::telemetry::MAS_CALLS_SHED.name).increment(1);
            return Err(CoreError::unavailable(format!(
                "this MAS has {} calls in flight on this node; retry shortly",
                self.limit
            )));
        }
        *count += 1;
        Ok(Permit { mas, by_mas: self.by_mas.clone() })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut by_mas = self.by_mas.lock().expect("in-flight counts poisoned");
        if let Some(count) = by_mas.get_mut(&self.mas) {
            *count -= 1;
            if *count == 0 {
                by_mas.remove(&self.mas);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_calls_are_refused_until_one_ends() {
        let in_flight = InFlight::new(2);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let first = in_flight.acquire(a).unwrap();
        let _second = in_flight.acquire(a).unwrap();
        assert!(matches!(in_flight.acquire(a), Err(CoreError::Unavailable(_))));
        let _other = in_flight.acquire(b).expect("another MAS has its own places");
        drop(first);
        let _third = in_flight.acquire(a).expect("a place was given back");
        drop((_second, _third, _other));
        assert!(in_flight.by_mas.lock().unwrap().is_empty(), "no entry outlives its calls");
    }
}
