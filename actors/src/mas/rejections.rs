//! How many rejected requests a MAS writes to its trail: a token bucket per
//! MAS. Anyone who knows a client id can send requests casa rejects; past the
//! budget they are counted, not stored, so a flood cannot fill the trail's
//! disk or bury the events an operator needs. Decisions are never limited.

use std::time::Instant;

/// Rejections recorded in a burst.
const BURST: f64 = 50.0;
/// Rejections recorded per second, sustained.
const PER_SECOND: f64 = 5.0;

pub struct RejectionBudget {
    tokens: f64,
    last: Instant,
}

impl Default for RejectionBudget {
    fn default() -> Self {
        Self { tokens: BURST, last: Instant::now() }
    }
}

impl RejectionBudget {
    /// Whether a rejection at `now` may be recorded.
    pub fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * PER_SECOND).min(BURST);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_is_recorded_then_the_sustained_rate_only() {
        let t0 = Instant::now();
        let mut budget = RejectionBudget { tokens: BURST, last: t0 };
        let burst = (0..1000).filter(|_| budget.allow(t0)).count();
        assert_eq!(burst, BURST as usize);
        // Ten seconds of a flood later: the sustained rate, not the flood.
        let later = (1..=10_000).filter(|i| budget.allow(t0 + Duration::from_millis(*i))).count();
        assert_eq!(later, (10.0 * PER_SECOND) as usize);
    }
}
