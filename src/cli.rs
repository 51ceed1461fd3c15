//! The `casa` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{AiFlags, Flags, ServeFlags, Settings, StoreFlags};

const AFTER_HELP: &str = "\
Every setting is also read from a TOML file (--config) and from CASA_* environment variables;
flags beat variables, variables beat the file, the file beats the defaults.
A duration is a whole number and a unit (500ms, 90s, 45m, 12h, 30d); a setting named for its
unit (…-seconds, …-ms) also takes a bare number in that unit.

The admin token: if CASA_ADMIN_TOKEN is set (at least 32 characters), it is the admin token.
Otherwise the first start generates one, prints it once and writes it to <data-dir>/admin-token
(mode 0600); only its SHA-256 digest is stored. `casa admin-token rotate` replaces it.

The viewer token (read-only: /trace, /stats, /mas, /apps, /cluster; for the Explorer UI at /):
CASA_VIEWER_TOKEN (at least 32 characters), or `casa viewer-token rotate`. None by default.

The collector token (what `casa collect` needs: /collector/directory, /collector/revocations,
POST /collector/events): CASA_COLLECTOR_TOKEN, or `casa collector-token rotate`. None by default.";

#[derive(Debug, Parser)]
#[command(name = "casa", version, about = "Authorization runtime for multi-agent AI systems", after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of its largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a casa node on the embedded store.
    Serve(ServeArgs),
    /// Manage the admin token that guards the management and trace APIs.
    AdminToken {
        #[command(subcommand)]
        action: AdminTokenAction,
    },
    /// Manage the read-only viewer token (reads /trace, /stats, /mas, /apps, /cluster).
    ViewerToken {
        #[command(subcommand)]
        action: AdminTokenAction,
    },
    /// Manage the collector token `casa collect` reports with (keys, revocations, wire findings only).
    CollectorToken {
        #[command(subcommand)]
        action: AdminTokenAction,
    },
    /// Check the decision trail.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Evaluate checks against labelled data.
    Eval {
        #[command(subcommand)]
        what: EvalCommand,
    },
    /// Operate a casa cluster.
    Cluster {
        #[command(subcommand)]
        action: ClusterAction,
    },
    /// Run only the eBPF wire collector, reporting to a casa node (a Kubernetes DaemonSet).
    Collect(crate::collector::CollectArgs),
    /// Print the OpenAPI document of the HTTP API.
    Openapi {
        #[arg(long, value_enum, default_value_t = SpecFormat::Yaml)]
        format: SpecFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminTokenAction {
    /// Generate a new token, print it, and write it to <data-dir>/admin-token (viewer-token, collector-token).
    /// casa must not be running on the data dir; the old token stops working.
    Rotate(StoreArgs),
}

#[derive(Debug, Subcommand)]
pub enum ClusterAction {
    /// Show a node's view of the cluster: members, their state, how many MAS each owns.
    Status {
        /// Base URL of any node.
        #[arg(long, env = "CASA_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        /// The admin token.
        #[arg(long, env = "CASA_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: String,
        /// Print the JSON answer instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write a cluster CA (ca.pem, and its key in ca-private/ca.key) and a
    /// certificate and key per node (NAME.pem, NAME.key) for node-to-node
    /// mutual TLS. Keep ca-private/ offline: its key makes members.
    Certs {
        /// Directory to write to.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The DNS name every node certificate carries.
        #[arg(long, default_value_t = crate::cluster::ClusterSettings::default().tls_server_name)]
        server_name: String,
        /// Node names.
        #[arg(required = true, value_name = "NODE")]
        nodes: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Verify a MAS's trace hash chain: every event links to its predecessor and
    /// matches its hash. Exits 1 at the first broken link. casa must not be running
    /// on the data dir.
    Verify {
        /// The MAS whose chain to check.
        #[arg(long)]
        mas: uuid::Uuid,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Allow-recall and deny-recall of SEMANTIC_INTENT_MATCH over a JSONL file of labelled
    /// cases (the format of shared/eval/intent-dev.jsonl), at the given settings and over a sweep,
    /// and of each --rule under grouped k-fold cross-validation (see docs/intent-eval.md).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Intent {
        #[command(subcommand)]
        fit: Option<IntentCommand>,
        #[command(flatten)]
        args: IntentArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum IntentCommand {
    /// Fit the calibrated model (a logistic regression or gradient-boosted trees over relative
    /// features) and write its file; the cut-off comes from the cross-validated out-of-fold
    /// probabilities.
    Fit {
        /// The labelled cases.
        #[arg(long, value_name = "FILE")]
        data: PathBuf,
        /// The model's terms: features (cosine, margin, z, softmax, log_rank, name_overlap,
        /// description_overlap, task_overlap and their *_margin) or their products (cosine*margin).
        #[arg(long, value_delimiter = ',', required = true)]
        terms: Vec<String>,
        /// The kind of model.
        #[arg(long, value_enum, default_value = "logistic")]
        model: crate::eval::Model,
        /// The model's name and version, recorded in the file and the trace.
        #[arg(long, default_value = "intent-lr-v1")]
        name: String,
        /// Where to write the calibration (JSON).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        setup: SetupArgs,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        ai: AiFlags,
    },
}

#[derive(Debug, Args)]
pub struct IntentArgs {
    /// The labelled cases.
    #[arg(long, value_name = "FILE", required = true)]
    pub data: Option<PathBuf>,
    /// Cosine threshold to report on [default: the MAS default]
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Rank limit to report on [default: none]
    #[arg(long)]
    pub top_k: Option<u32>,
    /// Write the recall curves as SVG here.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// A rule to cross-validate (repeatable): a feature (cosine, margin, ...), rank,
    /// lr:TERM,TERM,... (logistic regression) or trees:TERM,TERM,... (gradient-boosted trees)
    #[arg(long = "rule", value_name = "RULE")]
    pub rules: Vec<String>,
    /// Score a calibration file as it is (fitted on all of the data, so not a CV figure).
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    /// Write every scored case's features as CSV here.
    #[arg(long, value_name = "FILE")]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub setup: SetupArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub ai: AiFlags,
}

/// How the cases are embedded, pooled and cross-validated.
#[derive(Debug, Clone, Args)]
pub struct SetupArgs {
    /// What a tool's embedding is made from (the server embeds `full`).
    #[arg(long, value_enum, default_value = "full")]
    pub tool_text: crate::eval::ToolText,
    /// Which user turns make the intent (the server uses `weighted`).
    #[arg(long, value_enum, default_value = "weighted")]
    pub turns: crate::eval::Turns,
    /// Folds of the cross-validation, split by question.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Tools per MAS in the many-tools variant.
    #[arg(long, default_value_t = 50)]
    pub many_tools: usize,
    /// Seed of the fold split and the pooling.
    #[arg(long, default_value_t = 18)]
    pub seed: u64,
    /// Allow-recall each operating point is chosen for, on the fitting folds.
    #[arg(long, default_value_t = 0.95)]
    pub allow_target: f64,
    /// L2 penalty of the logistic regressions.
    #[arg(long, default_value_t = 1.0)]
    pub l2: f64,
    /// Which cases the models are fitted on.
    #[arg(long, value_enum, default_value = "dev")]
    pub fit_on: crate::eval::FitOn,
    /// Don't read or write the embedding cache (~/.cache/casa/eval-embeddings).
    #[arg(long)]
    pub no_cache: bool,
}

impl From<SetupArgs> for crate::eval::Setup {
    fn from(a: SetupArgs) -> Self {
        Self {
            tool_text: a.tool_text,
            turns: a.turns,
            folds: a.folds,
            many_tools: a.many_tools,
            seed: a.seed,
            allow_target: a.allow_target,
            l2: a.l2,
            fit_on: a.fit_on,
            cache: (!a.no_cache).then(crate::eval::default_cache_dir),
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SpecFormat {
    Yaml,
    Json,
}

/// The store's settings, and the file they may come from.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// TOML configuration file.
    #[arg(long, env = "CASA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub flags: StoreFlags,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub serve: ServeFlags,
    #[command(flatten)]
    pub ai: AiFlags,
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterFlags,
    #[command(flatten)]
    pub collector: crate::collector::CollectorArgs,
}

impl ServeArgs {
    pub fn settings(&self) -> Result<Settings, crate::config::ConfigError> {
        let flags = Flags {
            store: self.store.flags.clone(),
            serve: self.serve.clone(),
            ai: self.ai.clone(),
            cluster: self.cluster.clone(),
        };
        Settings::load(self.store.config.as_deref(), &flags)
    }
}

impl StoreArgs {
    pub fn settings(&self) -> Result<Settings, crate::config::ConfigError> {
        Settings::load(self.config.as_deref(), &Flags { store: self.flags.clone(), ..Default::default() })
    }
}

/// `casa audit verify`: the chain from its genesis, or from the anchor its expired events left.
/// The embedder `casa eval` measures: the one the node's settings configure.
fn eval_embedder(store: &StoreArgs, ai: &AiFlags) -> anyhow::Result<std::sync::Arc<dyn casa_actors::intent::Embedder>> {
    let flags = Flags { store: store.flags.clone(), ai: ai.clone(), ..Default::default() };
    let settings = Settings::load(store.config.as_deref(), &flags)?;
    crate::ai::embedder(&settings)?
        .ok_or_else(|| anyhow::anyhow!("no embedder: run scripts/fetch-model, or configure one"))
}

async fn audit_verify(
    store: &dyn casa_actors::store::Store,
    mas: uuid::Uuid,
    retention: casa_actors::retention::Retention,
) -> anyhow::Result<()> {
    use casa_actors::trace_writer::{verify_chain, ChainStart};
    let report = match verify_chain(store, mas, retention).await? {
        Ok(report) => report,
        Err((id, why)) => anyhow::bail!("the trace of MAS {mas} is broken at event {id}: {why}"),
    };
    let n = match report.segments {
        1 => format!("{}", report.events),
        s => format!("{} (in {s} chain segments, one per node process that served it)", report.events),
    };
    if report.unconfirmed > 0 {
        println!(
            "note: {} newer events follow a chain head: a node was killed before it confirmed them \
             (they are listed by GET /trace, but not covered by the chain)",
            report.unconfirmed
        );
    }
    match report.start {
        ChainStart::Genesis => println!("the trace of MAS {mas} is intact: {n} events"),
        ChainStart::Expired { first_kept, at, anchor } => {
            let at = at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
            println!(
                "the trace of MAS {mas} is intact: {n} events, from event {first_kept} ({at}); the events before it \
                 have expired (retention {retention}); anchor: the hash {anchor}"
            )
        }
        ChainStart::AllExpired { head } => println!(
            "the trace of MAS {mas} is intact: 0 events; all its events have expired (retention {retention}); \
             chain head: {head}"
        ),
    }
    Ok(())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("casa: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => crate::server::serve(args.settings()?, args.collector.clone()).await,
            Command::AdminToken { action: AdminTokenAction::Rotate(args) } => {
                crate::admin::rotate_offline(&args.settings()?).await
            }
            Command::ViewerToken { action: AdminTokenAction::Rotate(args) } => {
                crate::admin::rotate_role_offline(&args.settings()?, &crate::admin::VIEWER).await
            }
            Command::CollectorToken { action: AdminTokenAction::Rotate(args) } => {
                crate::admin::rotate_role_offline(&args.settings()?, &crate::admin::COLLECTOR).await
            }
            Command::Audit { action: AuditAction::Verify { mas, store } } => {
                let settings = store.settings()?;
                audit_verify(&*crate::server::store(&settings).await?, mas, settings.trace_retention).await
            }
            Command::Eval {
                what:
                    EvalCommand::Intent {
                        fit: Some(IntentCommand::Fit { data, terms, model, name, out, setup, store, ai }),
                        ..
                    },
            } => {
                let embedder = eval_embedder(&store, &ai)?;
                let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
                let opts = crate::eval::FitOptions { data, setup: setup.into(), terms, name, model, out, command };
                crate::eval::fit(embedder, opts).await
            }
            Command::Eval { what: EvalCommand::Intent { fit: None, args } } => {
                let embedder = eval_embedder(&args.store, &args.ai)?;
                let data = args.data.ok_or_else(|| anyhow::anyhow!("--data is required"))?;
                let threshold = args.threshold.unwrap_or(casa_actors::model::DEFAULT_SEMANTIC_THRESHOLD);
                let opts = crate::eval::EvalOptions {
                    data,
                    threshold,
                    top_k: args.top_k,
                    plot: args.plot,
                    setup: args.setup.into(),
                    rules: args.rules,
                    calibration: args.calibration,
                    dump: args.dump,
                };
                crate::eval::intent(embedder, opts).await
            }
            Command::Cluster { action: ClusterAction::Status { url, admin_token, json } } => {
                crate::cluster_status::print_status(&url, &admin_token, json).await
            }
            Command::Cluster { action: ClusterAction::Certs { out, server_name, nodes } } => {
                crate::cluster::write_certs(&out, &nodes, &server_name)?;
                println!(
                    "wrote ca.pem and a .pem/.key per node to {0}, the CA's key to {0}/{1}/ca.key (keep it offline)",
                    out.display(),
                    crate::cluster::CA_KEY_DIR
                );
                Ok(())
            }
            Command::Collect(args) => crate::collector::collect(args).await,
            Command::Openapi { format } => {
                print!(
                    "{}",
                    match format {
                        SpecFormat::Yaml => crate::api::document::yaml(),
                        SpecFormat::Json => crate::api::document::json(),
                    }
                );
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("casa: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod settings_docs;
