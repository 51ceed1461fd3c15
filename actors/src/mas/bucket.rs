//! Token buckets: a burst, then a sustained rate. A MAS keeps one for the
//! rejected requests it writes to its trail (anyone who knows a client id can
//! send requests casa rejects; past the budget they are counted, not stored)
//! and one per app for the new sessions it stores (an authenticated app cannot
//! fill the store faster than its quota).

use std::time::Instant;

pub struct TokenBucket {
    burst: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(burst: f64, per_second: f64, now: Instant) -> Self {
        Self { burst, per_second, tokens: burst, last: now }
    }

    /// The trail's budget for rejected requests: a burst of 50, then 5 a second.
    pub fn rejections(now: Instant) -> Self {
        Self::new(50.0, 5.0, now)
    }

    /// Whether one unit is available at `now`, without spending it.
    pub fn has(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.tokens >= 1.0
    }

    /// Spends one unit at `now` if one is available.
    pub fn take(&mut self, now: Instant) -> bool {
        let available = self.has(now);
        if available {
            self.tokens -= 1.0;
        }
        available
    }

    /// Whole seconds until a unit is available again (at least 1): the
    /// `Retry-After` of a refusal.
    pub fn seconds_to_next(&self) -> u32 {
        ((1.0 - self.tokens).max(0.0) / self.per_second).ceil().clamp(1.0, u32::MAX as f64) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_is_taken_then_the_sustained_rate_only() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::rejections(t0);
        let burst = (0..1000).filter(|_| bucket.take(t0)).count();
        assert_eq!(burst, 50);
        // Ten seconds of a flood later: the sustained rate, not the flood.
        let later = (1..=10_000).filter(|i| bucket.take(t0 + Duration::from_millis(*i))).count();
        assert_eq!(later, 50);
    }

    #[test]
    fn looking_spends_nothing_and_an_empty_bucket_says_when_to_retry() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(2.0, 0.25, t0);
        assert!(bucket.has(t0) && bucket.has(t0));
        assert!(bucket.take(t0) && bucket.take(t0));
        assert!(!bucket.has(t0) && !bucket.take(t0));
        assert_eq!(bucket.seconds_to_next(), 4);
        assert!(!bucket.take(t0 + Duration::from_secs(3)));
        assert!(bucket.take(t0 + Duration::from_secs(4)));
    }
}
