//! The one duration grammar of casa's settings: a whole number and a unit
//! (`500ms`, `90s`, `45m`, `12h`, `30d`). A setting whose name ends in its unit
//! (`…_seconds`, `…_ms`) also takes a bare number in that unit.

use std::time::Duration;

/// The unit a bare number is read in, and the unit a duration must be whole in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Millis,
    Seconds,
}

impl Unit {
    fn millis(self) -> u64 {
        match self {
            Self::Millis => 1,
            Self::Seconds => 1000,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Millis => "milliseconds",
            Self::Seconds => "seconds",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("a whole number and a unit (ms, s, m, h, d), e.g. 30d")]
    NoNumber,
    #[error("the number is too large")]
    TooLarge,
    /// The number fits, but not once multiplied by its unit.
    #[error("too long")]
    TooLong,
    #[error("add a unit: ms, s, m, h or d (e.g. 30d)")]
    NoUnit,
    #[error("the unit is one of ms, s, m, h, d (e.g. 30d)")]
    BadUnit,
    #[error("not a whole number of {0}")]
    NotWhole(&'static str),
}

/// Parses `text`; `bare` is the unit of a number without one (None: a unit is required).
pub fn parse(text: &str, bare: Option<Unit>) -> Result<Duration, DurationError> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return Err(DurationError::NoNumber);
    }
    let n: u64 = number.parse().map_err(|_| DurationError::TooLarge)?;
    let unit_millis: u64 = match (unit, bare) {
        ("", Some(b)) => b.millis(),
        ("", None) => return Err(DurationError::NoUnit),
        ("ms", _) => 1,
        ("s", _) => 1000,
        ("m", _) => 60_000,
        ("h", _) => 3_600_000,
        ("d", _) => 86_400_000,
        _ => return Err(DurationError::BadUnit),
    };
    let millis = n.checked_mul(unit_millis).ok_or(DurationError::TooLong)?;
    Ok(Duration::from_millis(millis))
}

/// A duration as a whole number of `unit` (a setting named in that unit).
pub fn parse_in(text: &str, unit: Unit) -> Result<u64, DurationError> {
    let d = parse(text, Some(unit))?;
    let millis = u64::try_from(d.as_millis()).map_err(|_| DurationError::TooLong)?;
    if millis % unit.millis() != 0 {
        return Err(DurationError::NotWhole(unit.name()));
    }
    Ok(millis / unit.millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_and_a_bare_number_in_the_settings_unit() {
        for (text, millis) in
            [("500ms", 500), ("90s", 90_000), ("45m", 2_700_000), ("12h", 43_200_000), ("30d", 2_592_000_000)]
        {
            assert_eq!(parse(text, None), Ok(Duration::from_millis(millis)), "{text}");
        }
        assert_eq!(parse_in("30", Unit::Seconds), Ok(30));
        assert_eq!(parse_in("2m", Unit::Seconds), Ok(120));
        assert_eq!(parse_in("5000", Unit::Millis), Ok(5000));
        assert_eq!(parse_in("5s", Unit::Millis), Ok(5000));
        assert_eq!(parse_in("0", Unit::Seconds), Ok(0));
    }

    #[test]
    fn nonsense_is_refused_with_the_reason() {
        for (text, bare, why) in [
            ("", None, DurationError::NoNumber),
            ("s", Some(Unit::Seconds), DurationError::NoNumber),
            ("-1s", Some(Unit::Seconds), DurationError::NoNumber),
            (" 1s", None, DurationError::NoNumber),
            ("30", None, DurationError::NoUnit),
            ("1.5s", Some(Unit::Seconds), DurationError::BadUnit),
            ("30 s", None, DurationError::BadUnit),
            ("30days", None, DurationError::BadUnit),
            ("1y", None, DurationError::BadUnit),
            ("30s ", None, DurationError::BadUnit),
            ("18446744073709551615d", None, DurationError::TooLong),
            ("99999999999999999999999s", None, DurationError::TooLarge),
        ] {
            assert_eq!(parse(text, bare), Err(why), "{text:?}");
        }
        assert_eq!(parse_in("1500ms", Unit::Seconds), Err(DurationError::NotWhole("seconds")));
    }
}
