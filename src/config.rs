//! Node settings. Each is settable, in rising precedence, by its default, a
//! TOML file (`--config`), an environment variable `CASA_*`, or a flag.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use casa_actors::retention::Retention;
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./casa-data";
pub const DEFAULT_LOG_LEVEL: &str = "info";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
pub const DEFAULT_SHUTDOWN_GRACE_SECONDS: u64 = 30;
pub const DEFAULT_HTTP_HEADER_TIMEOUT_SECONDS: u64 = 10;
pub const DEFAULT_HTTP_MAX_CONNECTIONS: usize = 4096;
pub const DEFAULT_MAS_IDLE_SECONDS: u64 = 600;
pub const DEFAULT_ACTOR_CALL_TIMEOUT_MS: u64 = 5000;
pub const DEFAULT_MODEL_DIR: &str = "models/all-MiniLM-L6-v2";
pub const DEFAULT_STORE: &str = "embedded";
pub const DEFAULT_CQL_REPLICATION: &str = "{'class': 'SimpleStrategy', 'replication_factor': 1}";

/// Where state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// redb in the data dir: one node.
    Embedded,
    /// A ScyllaDB (or Cassandra) cluster, shared by the nodes of a casa cluster.
    Scylla { nodes: Vec<String>, keyspace: String },
}

impl std::str::FromStr for StoreLocation {
    type Err = String;

    /// `embedded`, or `scylla://host:port[,host:port...]/keyspace`.
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "embedded" {
            return Ok(Self::Embedded);
        }
        let rest = s
            .strip_prefix("scylla://")
            .ok_or_else(|| format!("store {s:?}: embedded or scylla://host:port[,host:port]/keyspace"))?;
        let (hosts, keyspace) =
            rest.split_once('/').ok_or_else(|| format!("store {s:?}: name the keyspace after a /"))?;
        let nodes: Vec<String> = hosts.split(',').filter(|h| !h.is_empty()).map(str::to_string).collect();
        if nodes.is_empty() || nodes.iter().any(|n| !n.contains(':')) {
            return Err(format!("store {s:?}: every node is host:port"));
        }
        if keyspace.is_empty() || !keyspace.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("store {s:?}: the keyspace is letters, digits and _"));
        }
        Ok(Self::Scylla { nodes, keyspace: keyspace.to_string() })
    }
}
pub const DEFAULT_LLM_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_VERDICT_CACHE_SECONDS: u64 = 3600;

/// Where intent and tool embeddings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EmbedderKind {
    /// The sentence-transformer in `model_dir`, run in process (cargo feature `local-model`).
    Local,
    /// An OpenAI-compatible `/embeddings` endpoint (`embeddings_base_url`, `embeddings_model`).
    Openai,
    /// No embedder: semantic checks cannot be enabled.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// Directory of the embedded store and the admin token file.
    pub data_dir: PathBuf,
    /// Base URL clients reach this node at; realm issuers live under it.
    /// Default: `http://<listen>`.
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `casa=debug,poem=info`.
    pub log_level: String,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// How long SIGTERM waits for in-flight requests.
    pub shutdown_grace_seconds: u64,
    /// A connection must send a whole request head within this time; an idle
    /// keep-alive connection is closed after it.
    pub http_header_timeout_seconds: u64,
    /// Open HTTP connections at most; at the cap new ones wait to be accepted.
    pub http_max_connections: usize,
    /// A MAS actor without requests for this long is stopped (and restarted on demand).
    pub mas_idle_seconds: u64,
    /// Deadline of every call to an actor.
    pub actor_call_timeout_ms: u64,
    /// `embedded`, or `scylla://host:port[,host:port]/keyspace`.
    pub store: String,
    /// Replication of a keyspace casa creates (a CQL map).
    pub cql_replication: String,
    /// The key-encryption key realm private keys are sealed with (64 hex digits).
    pub key_encryption_key_file: Option<PathBuf>,
    /// How long trace events are kept: `30d`, `12h`, ... or `forever`.
    pub trace_retention: Retention,
    pub embedder: EmbedderKind,
    /// The local model's directory.
    pub model_dir: PathBuf,
    /// For `embedder = "openai"`, e.g. `http://127.0.0.1:11434/v1`.
    pub embeddings_base_url: Option<String>,
    pub embeddings_model: Option<String>,
    /// An OpenAI-compatible chat API for the LLM verifier (and task extraction).
    pub llm_base_url: Option<String>,
    pub llm_model: Option<String>,
    pub llm_timeout_ms: u64,
    /// Let the LLM extract the task of a conversation (else: from its user turns).
    pub llm_extract_task: bool,
    /// How long an LLM verdict on (intent, tool) is reused.
    pub verdict_cache_seconds: u64,
    /// The `[cluster]` table: set `listen` to make this node one of a cluster.
    #[serde(default)]
    pub cluster: crate::cluster::ClusterSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("valid default"),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            public_url: None,
            log_format: LogFormat::Text,
            log_level: DEFAULT_LOG_LEVEL.into(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            shutdown_grace_seconds: DEFAULT_SHUTDOWN_GRACE_SECONDS,
            http_header_timeout_seconds: DEFAULT_HTTP_HEADER_TIMEOUT_SECONDS,
            http_max_connections: DEFAULT_HTTP_MAX_CONNECTIONS,
            mas_idle_seconds: DEFAULT_MAS_IDLE_SECONDS,
            actor_call_timeout_ms: DEFAULT_ACTOR_CALL_TIMEOUT_MS,
            store: DEFAULT_STORE.into(),
            cql_replication: DEFAULT_CQL_REPLICATION.into(),
            key_encryption_key_file: None,
            trace_retention: Retention::default(),
            embedder: EmbedderKind::Local,
            model_dir: PathBuf::from(DEFAULT_MODEL_DIR),
            embeddings_base_url: None,
            embeddings_model: None,
            llm_base_url: None,
            llm_model: None,
            llm_timeout_ms: DEFAULT_LLM_TIMEOUT_MS,
            llm_extract_task: false,
            verdict_cache_seconds: DEFAULT_VERDICT_CACHE_SECONDS,
            cluster: Default::default(),
        }
    }
}

/// Values given on the command line or in `CASA_*` variables; `None` = not given.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_header_timeout_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_max_connections: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mas_idle_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_call_timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cql_replication: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_encryption_key_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_retention: Option<Retention>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedder: Option<EmbedderKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embeddings_base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embeddings_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_extract_task: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict_cache_seconds: Option<u64>,
    pub cluster: crate::cluster::ClusterOverrides,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Settings {
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::MissingFile(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let settings: Settings = figment
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.public_url {
            let parsed = url::Url::parse(url).map_err(|e| ConfigError::Invalid(format!("public_url {url:?}: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                return Err(ConfigError::Invalid(format!("public_url {url:?} must be an absolute http(s) URL")));
            }
            if parsed.query().is_some() || parsed.fragment().is_some() {
                return Err(ConfigError::Invalid(format!("public_url {url:?} must not have a query or fragment")));
            }
        }
        if self.http_header_timeout_seconds == 0 {
            return Err(ConfigError::Invalid("http_header_timeout_seconds must be positive".into()));
        }
        if self.http_max_connections == 0 {
            return Err(ConfigError::Invalid("http_max_connections must be positive".into()));
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid("max_body_bytes must be at least 1024".into()));
        }
        for (name, url) in [("embeddings_base_url", &self.embeddings_base_url), ("llm_base_url", &self.llm_base_url)] {
            if let Some(url) = url {
                let ok = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
                if !ok {
                    return Err(ConfigError::Invalid(format!("{name} {url:?} must be an http(s) URL")));
                }
            }
        }
        if self.embedder == EmbedderKind::Openai
            && (self.embeddings_base_url.is_none() || self.embeddings_model.is_none())
        {
            return Err(ConfigError::Invalid(
                "embedder = openai needs embeddings_base_url and embeddings_model".into(),
            ));
        }
        if self.llm_base_url.is_some() != self.llm_model.is_some() {
            return Err(ConfigError::Invalid("llm_base_url and llm_model go together".into()));
        }
        let embedded = self.store_location()? == StoreLocation::Embedded;
        self.cluster.validate(embedded, self.public_url.as_deref()).map_err(ConfigError::Invalid)?;
        if self.llm_timeout_ms == 0 {
            return Err(ConfigError::Invalid("llm_timeout_ms must be positive".into()));
        }
        if self.actor_call_timeout_ms == 0 || self.mas_idle_seconds == 0 {
            return Err(ConfigError::Invalid("actor_call_timeout_ms and mas_idle_seconds must be positive".into()));
        }
        Ok(())
    }

    pub fn store_location(&self) -> Result<StoreLocation, ConfigError> {
        self.store.parse().map_err(ConfigError::Invalid)
    }

    /// The public URL without a trailing slash, defaulting to the bound address.
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{bound}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_file_and_overrides_stack_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("casa.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nlog_format = \"json\"\nmax_body_bytes = 4096\n").unwrap();
        let overrides = Overrides { listen: Some("127.0.0.1:9100".parse().unwrap()), ..Default::default() };
        let s = Settings::load(Some(&file), &overrides).unwrap();
        assert_eq!(s.listen.port(), 9100);
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.max_body_bytes, 4096);
        assert_eq!(s.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(s.public_url_for(s.listen), "http://127.0.0.1:9100");
    }

    #[test]
    fn typos_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("casa.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        assert!(Settings::load(Some(&file), &Overrides::default()).is_err());
        let bad_url = Overrides { public_url: Some("ftp://x".into()), ..Default::default() };
        assert!(Settings::load(None, &bad_url).is_err());
        assert!(matches!(
            Settings::load(Some(&dir.path().join("nope.toml")), &Overrides::default()),
            Err(ConfigError::MissingFile(_))
        ));
    }
}
