//! Node settings. Each is settable, in rising precedence, by its default, a
//! TOML file (`--config`), an environment variable `CASA_*`, or a flag.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use casa_actors::retention::Retention;
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

pub mod catalog;
pub mod cluster;
pub mod units;

use catalog::settings;
pub use units::{Millis, Seconds};

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

/// How the local model's linear layers compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ModelPrecision {
    /// int8 matrix products (about 3× the intents per second of f32 on x86; its own calibration).
    Int8,
    /// candle in f32, the reference.
    F32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

settings! {
    /// A node's settings: defaults, then a TOML file (`--config`), then `CASA_*`
    /// variables and flags.
    pub struct Settings, flags Flags;

    #[flags(StoreFlags)]
    store {
        data_dir: req PathBuf = "./casa-data", "Directory of the embedded store and the admin token file",
            flag("data-dir", "CASA_DATA_DIR", "DIR");
        store: req String = "embedded", "`embedded`, or `scylla://host:port[,host:port]/keyspace` (shared by a cluster)",
            flag("store", "CASA_STORE", "STORE");
        cql_replication: req String = "{'class': 'SimpleStrategy', 'replication_factor': 1}",
            "Replication of a keyspace casa creates (a CQL map)",
            flag("cql-replication", "CASA_CQL_REPLICATION", "CQL_MAP");
        trace_retention: req Retention = "30d",
            "How long trace events are kept: 90s, 45m, 12h, 30d (at most 3650d), or forever",
            flag("trace-retention", "CASA_TRACE_RETENTION", "DURATION");
        embedded_cache_mib: req usize = 128,
            "Page cache of the embedded store in MiB (half for casa.redb, half for traces.redb): \
             most of a node's memory once its files are larger",
            flag("embedded-cache-mib", "CASA_EMBEDDED_CACHE_MIB", "MIB");
        key_encryption_key_file: opt PathBuf = none,
            "File holding the key-encryption key realm private keys are sealed with (64 hex digits); \
             without it, CASA_KEY_ENCRYPTION_KEY, else (embedded store) one made in the data dir",
            flag("key-encryption-key-file", "CASA_KEY_ENCRYPTION_KEY_FILE", "FILE");
    }

    #[flags(ServeFlags)]
    serve {
        listen: req SocketAddr = "127.0.0.1:8080", "Address the HTTP API listens on",
            flag("listen", "CASA_LISTEN", "ADDR");
        public_url: opt String = (none "http://<listen>"),
            "Base URL clients use to reach this node; goes into token issuers",
            flag("public-url", "CASA_PUBLIC_URL", "URL");
        log_format: req LogFormat = "text", "Log format", flag("log-format", "CASA_LOG_FORMAT", "FORMAT");
        log_level: req String = "info", "Log filter, e.g. `info` or `casa=debug`",
            flag("log-level", "CASA_LOG_LEVEL", "FILTER");
        max_body_bytes: req usize = 1048576, "Largest accepted request body in bytes",
            flag("max-body-bytes", "CASA_MAX_BODY_BYTES", "BYTES");
        shutdown_grace_seconds: req Seconds = 30, "How long SIGTERM waits for in-flight requests",
            flag("shutdown-grace-seconds", "CASA_SHUTDOWN_GRACE_SECONDS", "SECONDS");
        http_header_timeout_seconds: req Seconds = 10,
            "How long a connection may take to send a request head; idle keep-alive connections close after it",
            flag("http-header-timeout-seconds", "CASA_HTTP_HEADER_TIMEOUT_SECONDS", "SECONDS");
        http_max_connections: req usize = 4096, "Open HTTP connections at most; further clients wait to be accepted",
            flag("http-max-connections", "CASA_HTTP_MAX_CONNECTIONS", "N");
        mas_idle_seconds: req Seconds = 600, "Stop a MAS actor after this long without requests (restarted on demand)",
            flag("mas-idle-seconds", "CASA_MAS_IDLE_SECONDS", "SECONDS");
        actor_call_timeout_ms: req Millis = 5000, "Deadline of every actor call",
            flag("actor-call-timeout-ms", "CASA_ACTOR_CALL_TIMEOUT_MS", "MS");
        calls_in_flight_per_mas: req usize = 1024,
            "Calls this node has in flight to one MAS at most; more are refused at once (503 and Retry-After)",
            flag("calls-in-flight-per-mas", "CASA_CALLS_IN_FLIGHT_PER_MAS", "N");
    }

    #[flags(AiFlags)]
    ai {
        embedder: req EmbedderKind = "local", "Embedder for the semantic checks",
            flag("embedder", "CASA_EMBEDDER", "EMBEDDER");
        model_dir: req PathBuf = "models/all-MiniLM-L6-v2", "The local sentence-transformer's directory",
            flag("model-dir", "CASA_MODEL_DIR", "DIR");
        model_precision: req ModelPrecision = "int8",
            "The local model's linear layers: int8 (fast) or f32 (the reference); each has its own calibration",
            flag("model-precision", "CASA_MODEL_PRECISION", "PRECISION");
        embeddings_base_url: opt String = none,
            "OpenAI-compatible embeddings API, up to the version (e.g. http://127.0.0.1:11434/v1)",
            flag("embeddings-base-url", "CASA_EMBEDDINGS_BASE_URL", "URL");
        embeddings_model: opt String = none, "Embedding model name for the OpenAI-compatible API",
            flag("embeddings-model", "CASA_EMBEDDINGS_MODEL", "MODEL");
        llm_base_url: opt String = none,
            "OpenAI-compatible chat API for the LLM verifier and task extraction (key: CASA_LLM_API_KEY)",
            flag("llm-base-url", "CASA_LLM_BASE_URL", "URL");
        llm_model: opt String = none, "Chat model of the LLM verifier", flag("llm-model", "CASA_LLM_MODEL", "MODEL");
        llm_timeout_ms: req Millis = 10000, "Deadline of an LLM or embeddings call; a late verdict denies",
            flag("llm-timeout-ms", "CASA_LLM_TIMEOUT_MS", "MS");
        llm_extract_task: req bool = false, "Let the LLM extract a conversation's task (else: its user turns)",
            flag("llm-extract-task", "CASA_LLM_EXTRACT_TASK", "BOOL");
        verdict_cache_seconds: req Seconds = 3600, "How long an LLM verdict on (intent, tool) is reused",
            flag("verdict-cache-seconds", "CASA_VERDICT_CACHE_SECONDS", "SECONDS");
    }

    tables {
        cluster: cluster::ClusterSettings, cluster::ClusterFlags;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// The settings of `file` (if any) under `flags`, validated.
    pub fn load(file: Option<&Path>, flags: &Flags) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::MissingFile(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Serialized::defaults(flags));
        // A secret: a variable only, never a flag (it would show in `ps`).
        if let Ok(cookie) = std::env::var("CASA_CLUSTER_COOKIE") {
            figment = figment.merge(Serialized::default("cluster.cookie", cookie));
        }
        let settings: Settings = figment.extract().map_err(|e| ConfigError::Invalid(e.to_string()))?;
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
        if self.http_header_timeout_seconds.0 == 0 {
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
        if self.llm_timeout_ms.0 == 0 {
            return Err(ConfigError::Invalid("llm_timeout_ms must be positive".into()));
        }
        if !(8..=65_536).contains(&self.embedded_cache_mib) {
            return Err(ConfigError::Invalid("embedded_cache_mib must be between 8 and 65536".into()));
        }
        if self.calls_in_flight_per_mas == 0 {
            return Err(ConfigError::Invalid("calls_in_flight_per_mas must be positive".into()));
        }
        if self.actor_call_timeout_ms.0 == 0 || self.mas_idle_seconds.0 == 0 {
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
        let mut flags = Flags::default();
        flags.serve.listen = Some("127.0.0.1:9100".parse().unwrap());
        let s = Settings::load(Some(&file), &flags).unwrap();
        assert_eq!(s.listen.port(), 9100);
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.max_body_bytes, 4096);
        assert_eq!(s.data_dir, PathBuf::from("./casa-data"));
        assert_eq!(s.public_url_for(s.listen), "http://127.0.0.1:9100");
    }

    #[test]
    fn the_defaults_are_the_runtimes_own() {
        let s = Settings::default();
        assert_eq!(s.calls_in_flight_per_mas, casa_actors::mas::in_flight::DEFAULT_CALLS_PER_MAS);
        assert_eq!(s.embedded_cache_mib << 20, casa_actors::store::embedded::DEFAULT_CACHE_BYTES);
        let mut zero = Flags::default();
        zero.serve.calls_in_flight_per_mas = Some(0);
        assert!(Settings::load(None, &zero).is_err());
    }

    #[test]
    fn typos_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("casa.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        assert!(Settings::load(Some(&file), &Flags::default()).is_err());
        let mut bad_url = Flags::default();
        bad_url.serve.public_url = Some("ftp://x".into());
        assert!(Settings::load(None, &bad_url).is_err());
        assert!(matches!(
            Settings::load(Some(&dir.path().join("nope.toml")), &Flags::default()),
            Err(ConfigError::MissingFile(_))
        ));
    }
}
