//! The README's settings table agrees with the settings catalog
//! (`config::catalog`), from which `casa serve --help` and the defaults are
//! made: a setting missing from the table, or shown there with another flag,
//! variable or default, fails here.

use clap::CommandFactory;

use super::Cli;
use crate::config::{catalog::Spec, cluster::ClusterSettings, Settings};

/// One row of the README table: settings, flags, env vars, default.
struct Row {
    settings: Vec<String>,
    flags: Vec<String>,
    envs: Vec<String>,
    default: String,
}

fn cells(line: &str) -> Vec<String> {
    line.trim().trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect()
}

fn ticked(cell: &str) -> Vec<String> {
    cell.split(", ").map(|s| s.trim().trim_matches('`').to_string()).filter(|s| !s.is_empty() && s != "—").collect()
}

fn readme_rows() -> Vec<Row> {
    let readme = include_str!("../../README.md");
    let start = readme.find("| setting | flag | env | default | meaning |").expect("the README has a settings table");
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let c = cells(l);
            assert_eq!(c.len(), 5, "a settings row has five cells: {l}");
            Row { settings: ticked(&c[0]), flags: ticked(&c[1]), envs: ticked(&c[2]), default: c[3].clone() }
        })
        .collect()
}

/// `[default: X]` of a help text.
fn help_default(help: &str) -> Option<String> {
    let at = help.find("[default: ")?;
    let end = help.rfind(']')?;
    Some(help[at + "[default: ".len()..end].to_string())
}

/// The built-in default of a setting, as the README writes it.
fn settings_default(name: &str) -> Option<String> {
    let mut v = serde_json::to_value(Settings::default()).unwrap();
    for part in name.split('.') {
        v = v.get(part)?.clone();
    }
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

#[test]
fn the_readme_settings_table_matches_serve_help_and_the_defaults() {
    let cli = Cli::command();
    let serve = cli.find_subcommand("serve").expect("casa serve");
    let args: Vec<_> = serve.get_arguments().filter(|a| a.get_long().is_some()).collect();
    let rows = readme_rows();
    assert!(rows.len() > 20, "the table was not read");
    let mut problems = Vec::new();
    for row in &rows {
        // Shorthands (`-key`, `CASA_CLUSTER_TLS_*`) stand for flags named in full elsewhere.
        let flags: Vec<&String> = row.flags.iter().filter(|f| f.starts_with("--")).collect();
        let envs: Vec<&String> = row.envs.iter().filter(|e| !e.ends_with('*')).collect();
        for (i, flag) in flags.iter().enumerate() {
            let Some(arg) = args.iter().find(|a| format!("--{}", a.get_long().unwrap()) == **flag) else {
                problems.push(format!("{flag}: in the README, not in `casa serve --help`"));
                continue;
            };
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            if flags.len() == envs.len() && env.as_deref() != Some(envs[i].as_str()) {
                problems.push(format!("{flag}: the README says {}, --help says {env:?}", envs[i]));
            }
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            let readme_default = row.default.trim_matches('`');
            if let (Some(d), 1) = (help_default(&help), flags.len()) {
                if d.trim_start_matches("the ") != readme_default.trim_start_matches("the ") && !d.starts_with("--") {
                    problems.push(format!("{flag}: --help's default is {d:?}, the README's {readme_default:?}"));
                }
            }
        }
        if let ([setting], true) = (&row.settings[..], row.default.starts_with('`')) {
            let readme_default = row.default.trim_matches('`');
            // No built-in value: the default is derived at start (`http://<listen>`).
            if let Some(d) = settings_default(setting).filter(|d| d != readme_default) {
                problems.push(format!("{setting}: the default is {d:?}, the README's {readme_default:?}"));
            }
        }
    }
    // Every flag of `casa serve` that stands for a setting is in the table.
    let documented: Vec<&String> = rows.iter().flat_map(|r| &r.flags).collect();
    for arg in &args {
        let flag = format!("--{}", arg.get_long().unwrap());
        if arg.get_env().is_some() && flag != "--config" && !documented.contains(&&flag) {
            let short =
                documented.iter().any(|d| flag.ends_with(d.as_str()) && d.starts_with('-') && !d.starts_with("--"));
            if !short {
                problems.push(format!("{flag}: in `casa serve --help`, not in the README's table"));
            }
        }
    }
    problems.extend(catalog_rows_missing(&rows));
    assert!(problems.is_empty(), "settings documentation disagrees:\n{}", problems.join("\n"));
}

/// Every setting of the catalog, with its table's prefix (`cluster.listen`).
fn catalog() -> Vec<(String, &'static Spec)> {
    let top = Settings::SPECS.iter().map(|s| (s.key.to_string(), s));
    top.chain(ClusterSettings::SPECS.iter().map(|s| (format!("cluster.{}", s.key), s))).collect()
}

/// Settings of the catalog the README does not show, or shows with another flag,
/// variable or default. A row may name several settings of one table
/// (`cluster.tls_cert`, `tls_key`); its defaults then follow in the same order.
fn catalog_rows_missing(rows: &[Row]) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, spec) in catalog() {
        let table = key.rsplit_once('.').map_or("", |(t, _)| t);
        let row = rows.iter().find_map(|r| {
            let at = r
                .settings
                .iter()
                .position(|s| *s == key || (s.as_str() == spec.key && r.settings[0].starts_with(table)))?;
            Some((r, at))
        });
        let Some((row, at)) = row else {
            problems.push(format!("{key}: in the catalog, not in the README's table"));
            continue;
        };
        if let Some(flag) = spec.flag {
            if !row
                .flags
                .iter()
                .any(|f| f == &format!("--{flag}") || (f.starts_with('-') && flag.ends_with(f.as_str())))
            {
                problems.push(format!("{key}: its flag --{flag} is not in its README row"));
            }
        }
        if let Some(env) = spec.env {
            if !row.envs.iter().any(|e| e == env || e.strip_suffix('*').is_some_and(|p| env.starts_with(p))) {
                problems.push(format!("{key}: its variable {env} is not in its README row"));
            }
        }
        let shown: Vec<&str> = match row.settings.len() {
            1 => vec![row.default.trim_matches('`')],
            _ => row.default.split(", ").map(|d| d.trim_matches('`')).collect(),
        };
        if let (Some(default), true) = (spec.default, row.default.starts_with('`')) {
            let readme = shown.get(at).or(shown.first()).copied().unwrap_or_default();
            if readme != default {
                problems.push(format!("{key}: the catalog's default is {default:?}, the README's {readme:?}"));
            }
        }
    }
    problems
}

#[test]
fn the_catalog_check_sees_a_missing_or_wrong_row() {
    let row = |settings: &[&str], flags: &[&str], envs: &[&str], default: &str| Row {
        settings: settings.iter().map(|s| s.to_string()).collect(),
        flags: flags.iter().map(|s| s.to_string()).collect(),
        envs: envs.iter().map(|s| s.to_string()).collect(),
        default: default.into(),
    };
    let all = catalog_rows_missing(&[]);
    assert_eq!(all.len(), catalog().len(), "an empty table misses every setting");
    let wrong = [row(&["listen"], &["--listen"], &["CASA_LISTEN"], "`127.0.0.1:9999`")];
    let problems = catalog_rows_missing(&wrong);
    assert!(problems.iter().any(|p| p.starts_with("listen: the catalog's default")), "{problems:?}");
}

#[test]
fn the_command_line_is_well_formed() {
    // clap checks unique ids, value names and defaults only when asked to (or at parse time).
    Cli::command().debug_assert();
}
