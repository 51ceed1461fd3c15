//! Each app's quota of new sessions in its MAS. A new session stores its user
//! input (up to 64 KiB of task and 256 LLM calls) for the trail's retention,
//! so an authenticated app issuing as fast as it can would fill the store:
//! past its quota it gets a 429 with `Retry-After`. The quota is counted in the
//! MAS's actor, which alone issues its tokens in a cluster too; continuing a
//! session (`user_input_id`) stores nothing and is not counted.

use std::collections::HashMap;
use std::time::Instant;

use uuid::Uuid;

use super::bucket::TokenBucket;
use crate::oauth::OAuthError;

pub struct SessionQuotas {
    per_second: u32,
    /// One bucket per app that started a session; an app's id is only added
    /// once it authenticated, so the map is bounded by the MAS's apps.
    apps: HashMap<Uuid, TokenBucket>,
}

impl SessionQuotas {
    pub fn new(per_second: u32) -> Self {
        Self { per_second, apps: HashMap::new() }
    }

    /// The MAS's settings changed: a new rate starts every app afresh.
    pub fn set_rate(&mut self, per_second: u32) {
        if per_second != self.per_second {
            self.per_second = per_second;
            self.apps.clear();
        }
    }

    /// The app was deleted.
    pub fn forget(&mut self, app: Uuid) {
        self.apps.remove(&app);
    }

    /// Whether `app` may start a session now, without counting one: checked
    /// before any model work on the session's intent.
    pub fn check(&mut self, app: Uuid, now: Instant) -> Result<(), OAuthError> {
        let bucket = self.bucket(app, now);
        if bucket.has(now) {
            Ok(())
        } else {
            Err(Self::exceeded(bucket))
        }
    }

    /// Counts a new session of `app`, or refuses it.
    pub fn spend(&mut self, app: Uuid, now: Instant) -> Result<(), OAuthError> {
        let bucket = self.bucket(app, now);
        if bucket.take(now) {
            Ok(())
        } else {
            Err(Self::exceeded(bucket))
        }
    }

    fn bucket(&mut self, app: Uuid, now: Instant) -> &mut TokenBucket {
        // A burst of one second's worth.
        let rate = f64::from(self.per_second);
        self.apps.entry(app).or_insert_with(|| TokenBucket::new(rate, rate, now))
    }

    fn exceeded(bucket: &TokenBucket) -> OAuthError {
        let retry_after_seconds = bucket.seconds_to_next();
        OAuthError::QuotaExceeded {
            description: "this app starts new sessions faster than its MAS allows \
                          (sessions_per_app_per_second); retry after Retry-After seconds"
                .into(),
            retry_after_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_app_has_its_own_quota_and_a_check_counts_nothing() {
        let (a, b, t0) = (Uuid::now_v7(), Uuid::now_v7(), Instant::now());
        let mut quotas = SessionQuotas::new(3);
        for _ in 0..10 {
            quotas.check(a, t0).unwrap();
        }
        for _ in 0..3 {
            quotas.spend(a, t0).unwrap();
        }
        let refused = quotas.spend(a, t0).unwrap_err();
        assert!(matches!(refused, OAuthError::QuotaExceeded { retry_after_seconds: 1, .. }), "{refused:?}");
        assert!(quotas.check(a, t0).is_err());
        quotas.spend(b, t0).expect("another app's quota is its own");
        quotas.spend(a, t0 + Duration::from_millis(400)).expect("a third of a second refills one session");
    }

    #[test]
    fn a_new_rate_starts_every_app_afresh() {
        let (a, t0) = (Uuid::now_v7(), Instant::now());
        let mut quotas = SessionQuotas::new(1);
        quotas.spend(a, t0).unwrap();
        assert!(quotas.spend(a, t0).is_err());
        quotas.set_rate(2);
        quotas.spend(a, t0).unwrap();
        quotas.spend(a, t0).unwrap();
        assert!(quotas.spend(a, t0).is_err());
    }
}
