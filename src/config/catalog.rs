//! Each setting is declared once, by [`settings!`]: its name (the TOML key),
//! type, default, flag, environment variable and doc. From that one line come
//! the typed settings struct and its defaults, the `clap` flags that override
//! it (with `--help`'s `[default: …]`), and the [`Spec`] rows the README's
//! settings table is checked against.

/// What one setting is, as `--help` and the README show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The key in the TOML file (within its table).
    pub key: &'static str,
    pub doc: &'static str,
    /// The default as a user writes it; `None`: no value, or one derived at start.
    pub default: Option<&'static str>,
    /// Without the leading `--`; `None`: the file only.
    pub flag: Option<&'static str>,
    pub env: Option<&'static str>,
}

/// A default read from the literal the catalog writes it as, so the value and
/// the text `--help` and the README show cannot differ.
pub fn from_literal<T: serde::de::DeserializeOwned>(key: &str, literal: serde_json::Value) -> T {
    serde_json::from_value(literal).unwrap_or_else(|e| panic!("the catalog's default of {key} does not parse: {e}"))
}

/// Declares a settings struct, its `Default`, one `clap::Args` struct of
/// optional flags per group, an aggregate of the groups (serialized as the
/// top layer of the configuration), and `SPECS`.
///
/// Each setting: `name: req Type = DEFAULT, "doc"` (or `opt Type`, an
/// `Option<Type>`), then `flag("long", "ENV", "VALUE_NAME", clap attrs…)` if it
/// has one. `DEFAULT` is a literal, `default` (`Type::default()`), `none`, or
/// `(none "what it is derived from")`.
macro_rules! settings {
    (
        $(#[$meta:meta])*
        pub struct $Settings:ident, flags $AllFlags:ident;
        $(
            #[flags($Flags:ident $(, heading = $heading:literal)?)]
            $group:ident {
                $(
                    $field:ident : $kind:ident $ty:ty = $default:tt, $doc:literal
                    $(, flag($long:literal, $env:literal, $vn:literal $(, $extra:meta)*))? ;
                )*
            }
        )*
        $( tables { $( $table:ident : $TableSettings:ty, $TableFlags:ty; )* } )?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $Settings {
            $( $( #[doc = $doc] pub $field: settings!(@ty $kind $ty), )* )*
            $( $( pub $table: $TableSettings, )* )?
        }

        impl Default for $Settings {
            fn default() -> Self {
                Self {
                    $( $( $field: settings!(@default $field $default), )* )*
                    $( $( $table: Default::default(), )* )?
                }
            }
        }

        impl $Settings {
            /// Every setting of this table, in the catalog's order.
            pub const SPECS: &'static [$crate::config::catalog::Spec] = &[
                $( $( $crate::config::catalog::Spec {
                    key: stringify!($field),
                    doc: $doc,
                    default: settings!(@shown $default),
                    flag: settings!(@some $($long)?),
                    env: settings!(@some $($env)?),
                }, )* )*
            ];
        }

        $(
            /// Flags and `CASA_*` variables of one group; `None` = not given.
            #[derive(Debug, Default, Clone, clap::Args, serde::Serialize)]
            $( #[command(next_help_heading = $heading)] )?
            pub struct $Flags {
                $( $(
                    #[arg(id = $long, long = $long, env = $env, value_name = $vn, help = settings!(@help $doc, $default) $(, $extra)*)]
                    #[serde(skip_serializing_if = "Option::is_none")]
                    pub $field: Option<$ty>,
                )? )*
            }
        )*

        /// All the flags, in the shape of the settings (the groups flattened).
        #[derive(Debug, Default, Clone, serde::Serialize)]
        pub struct $AllFlags {
            $( #[serde(flatten)] pub $group: $Flags, )*
            $( $( pub $table: $TableFlags, )* )?
        }
    };

    (@ty req $ty:ty) => { $ty };
    (@ty opt $ty:ty) => { Option<$ty> };

    (@default $field:ident none) => { None };
    (@default $field:ident (none $shown:literal)) => { None };
    (@default $field:ident default) => { Default::default() };
    (@default $field:ident $lit:literal) => {
        $crate::config::catalog::from_literal(stringify!($field), serde_json::json!($lit))
    };

    (@shown none) => { None };
    (@shown default) => { None };
    (@shown (none $shown:literal)) => { Some($shown) };
    (@shown $lit:literal) => { Some(concat!($lit)) };

    (@help $doc:literal, none) => { $doc };
    (@help $doc:literal, default) => { $doc };
    (@help $doc:literal, (none $shown:literal)) => { concat!($doc, " [default: ", $shown, "]") };
    (@help $doc:literal, $lit:literal) => { concat!($doc, " [default: ", $lit, "]") };

    (@some) => { None };
    (@some $x:literal) => { Some($x) };
}

pub(crate) use settings;
