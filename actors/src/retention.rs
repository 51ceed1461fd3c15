//! How long trace events are kept, and the purge that enforces it on stores
//! that do not expire rows by themselves (the embedded store). CQL stores write
//! events with a TTL instead, so their purge deletes nothing.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::store::{Store, StoreError};

/// Shorter than this is refused: it would expire events before anyone reads them.
pub const MIN: Duration = Duration::from_secs(60);
/// Longer than this is refused: a CQL TTL is at most 20 years, and Cassandra in its
/// default (4.x-compatible) storage mode cannot store an expiry past 2038.
pub const MAX: Duration = Duration::from_secs(3650 * 86_400);
/// Events deleted per write transaction, so a purge never holds the store's
/// single writer (and with it the TraceWriter) for long.
pub const PURGE_BATCH: usize = 1000;

/// `forever`, or a positive whole number with a unit: `90s`, `45m`, `12h`, `30d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Forever,
    For(Duration),
}

impl Default for Retention {
    fn default() -> Self {
        Self::For(Duration::from_secs(30 * 86_400))
    }
}

impl Retention {
    pub fn duration(self) -> Option<Duration> {
        match self {
            Self::Forever => None,
            Self::For(d) => Some(d),
        }
    }
}

impl FromStr for Retention {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        use casa_core::duration::{parse, DurationError};
        let err = |why: &str| format!("trace retention {s:?}: {why}");
        if s.eq_ignore_ascii_case("forever") {
            return Ok(Self::Forever);
        }
        let too_long = "at most 3650d (ten years); to keep events forever, say forever";
        let d = match parse(s, None) {
            Ok(d) => d,
            // Neither "keep nothing" nor "no limit" is what a 0 should silently mean.
            Err(DurationError::NoUnit) if s.bytes().all(|b| b == b'0') => Duration::ZERO,
            Err(DurationError::NoNumber) => {
                return Err(err("a whole number and a unit (s, m, h, d), e.g. 30d, or forever"))
            }
            Err(DurationError::TooLong) => return Err(err(too_long)),
            // Retention is counted in seconds to days: the messages leave out `ms`.
            Err(DurationError::NoUnit) => return Err(err("add a unit: s, m, h or d (e.g. 30d)")),
            Err(DurationError::BadUnit) => return Err(err("the unit is one of s, m, h, d (e.g. 30d)")),
            Err(e) => return Err(err(&e.to_string())),
        };
        match d {
            d if d.is_zero() => Err(err("must be positive; to keep events forever, say forever")),
            d if d > MAX => Err(err(too_long)),
            d if d < MIN => Err(err("at least 60s")),
            d => Ok(Self::For(d)),
        }
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self::For(d) = self else { return f.write_str("forever") };
        let s = d.as_secs();
        match [(86_400, "d"), (3600, "h"), (60, "m")].into_iter().find(|(u, _)| s % u == 0) {
            Some((u, name)) => write!(f, "{}{name}", s / u),
            None => write!(f, "{s}s"),
        }
    }
}

impl serde::Serialize for Retention {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Retention {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// Deletes every event older than `retention`, batch by batch, then the
/// sessions as old and the expired revocation rules; returns how many events.
pub async fn purge_expired(store: &dyn Store, retention: Duration) -> Result<u64, StoreError> {
    let now = OffsetDateTime::now_utc();
    let cutoff = now - retention;
    let mut total = 0u64;
    loop {
        let n = store.purge_traces(cutoff, PURGE_BATCH).await?;
        total += n as u64;
        metrics::counter!(crate::telemetry::TRACE_EVENTS_PURGED.name).increment(n as u64);
        if n < PURGE_BATCH {
            break;
        }
        // Let queued trace writes take the store between batches.
        tokio::task::yield_now().await;
    }
    // A session is kept as long as its trail: the trail names it.
    while store.purge_sessions(cutoff, PURGE_BATCH).await? == PURGE_BATCH {
        tokio::task::yield_now().await;
    }
    store.purge_revocations(now.unix_timestamp()).await?;
    Ok(total)
}

/// Purges at once and then every `every`, for as long as the runtime runs
/// (supervised: a purge that panics starts again).
pub fn spawn_purge(store: Arc<dyn Store>, retention: Duration, every: Duration) -> tokio::task::JoinHandle<()> {
    crate::supervise::supervised("trace_purge", move || {
        let store = store.clone();
        async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match purge_expired(&*store, retention).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "expired trace events deleted"),
                    Err(e) => tracing::error!(error = %e, "purging expired trace events"),
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_forever_parse_and_print_back() {
        for (text, secs) in
            [("30d", 30 * 86_400), ("12h", 43_200), ("45m", 2700), ("90s", 90), ("3650d", 3650 * 86_400)]
        {
            let r: Retention = text.parse().unwrap();
            assert_eq!(r, Retention::For(Duration::from_secs(secs)));
            assert_eq!(r.to_string(), text);
        }
        assert_eq!("forever".parse::<Retention>().unwrap(), Retention::Forever);
        assert_eq!("FOREVER".parse::<Retention>().unwrap().to_string(), "forever");
        assert_eq!("120s".parse::<Retention>().unwrap().to_string(), "2m");
        assert_eq!(Retention::default().to_string(), "30d");
    }

    #[test]
    fn nonsense_is_refused_with_the_reason() {
        for (text, why) in [
            ("", "a whole number and a unit"),
            ("d", "a whole number and a unit"),
            ("-1d", "a whole number and a unit"),
            ("+1d", "a whole number and a unit"),
            (" 30d", "a whole number and a unit"),
            ("30", "add a unit"),
            ("0", "must be positive"),
            ("0d", "must be positive; to keep events forever, say forever"),
            ("1.5d", "the unit is one of"),
            ("30 d", "the unit is one of"),
            ("30days", "the unit is one of"),
            ("1y", "the unit is one of"),
            ("30d ", "the unit is one of"),
            ("59s", "at least 60s"),
            ("3651d", "at most 3650d"),
            ("18446744073709551615d", "at most 3650d"),
            ("99999999999999999999999d", "too large"),
            ("never", "a whole number and a unit"),
        ] {
            let e = text.parse::<Retention>().unwrap_err();
            assert!(e.starts_with("trace retention") && e.contains(why), "{text:?}: {e}");
        }
    }
}
