//! Durations in settings named for their unit (`…_seconds`, `…_ms`): a bare
//! number in that unit, or any duration of casa's one grammar (`2m`, `500ms`),
//! in the file, a variable or a flag alike.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use casa_core::duration::{parse_in, Unit};

macro_rules! duration_setting {
    ($(#[$meta:meta])* $Name:ident, $unit:expr, $from:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub struct $Name(pub u64);

        impl $Name {
            pub fn duration(self) -> Duration {
                $from(self.0)
            }
        }

        impl FromStr for $Name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                parse_in(s, $unit).map(Self).map_err(|e| format!("{s:?}: {e}"))
            }
        }

        impl fmt::Display for $Name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl serde::Serialize for $Name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u64(self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $Name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                #[serde(untagged)]
                enum Written {
                    Number(u64),
                    Text(String),
                }
                match Written::deserialize(d)? {
                    Written::Number(n) => Ok(Self(n)),
                    Written::Text(t) => t.parse().map_err(serde::de::Error::custom),
                }
            }
        }
    };
}

duration_setting!(
    /// Whole seconds.
    Seconds,
    Unit::Seconds,
    Duration::from_secs
);
duration_setting!(
    /// Whole milliseconds.
    Millis,
    Unit::Millis,
    Duration::from_millis
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_number_is_in_the_unit_and_any_duration_converts() {
        assert_eq!("30".parse::<Seconds>(), Ok(Seconds(30)));
        assert_eq!("2m".parse::<Seconds>(), Ok(Seconds(120)));
        assert_eq!("5s".parse::<Millis>(), Ok(Millis(5000)));
        assert!("1500ms".parse::<Seconds>().unwrap_err().contains("not a whole number of seconds"));
        assert!("5 s".parse::<Seconds>().is_err());
        use figment::providers::{Format, Toml};
        let toml: std::collections::BTreeMap<String, Seconds> =
            figment::Figment::from(Toml::string("a = 30\nb = \"1h\"")).extract().unwrap();
        assert_eq!((toml["a"], toml["b"]), (Seconds(30), Seconds(3600)));
    }
}
