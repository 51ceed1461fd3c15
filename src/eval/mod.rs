//! `casa eval intent`: runs the semantic intent check over labelled cases
//! (the JSONL format of `shared/eval/intent-dev.jsonl`) through the code the
//! server uses — task and intent from the conversation, tool text and
//! embedding, the tool index, the `SEMANTIC_INTENT_MATCH` check — and reports
//! allow-recall and deny-recall at the chosen settings and over a sweep;
//! then every rule asked for (a single feature with a threshold, or a
//! logistic regression over features, see `casa_actors::relevance`) under
//! grouped k-fold cross-validation, on the data as it is and on a
//! many-tools variant. `casa eval intent fit` fits the calibration file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use casa_actors::checks::{Check, CheckInput, IntentMatch, SemanticIntent, ToolIndex};
use casa_actors::intent::{self, Embedder, Embedding};
use casa_actors::lexical::{ToolWords, Words};
use casa_actors::model::{SemanticSettings, ToolDef};
use casa_actors::relevance::{self, Calibration, Features, Term};
use casa_actors::session::{Turn, UserInputContent};
use casa_actors::token::Claims;
use serde::Deserialize;

mod cache;
mod output;
mod rules;

pub use cache::default_cache_dir;
use cache::Cached;
use output::{dump, plot};
use rules::*;

#[derive(Debug, Deserialize)]
struct Case {
    id: String,
    conversation: Vec<Turn>,
    tool: CaseTool,
    label: String,
}

#[derive(Debug, Deserialize)]
struct CaseTool {
    name: String,
    description: String,
}

/// One case's outcome ingredients.
struct Scored {
    allow: bool,
    score: f32,
    rank: usize,
}

/// Recall of both labels for one setting.
#[derive(Debug, Clone, Copy)]
pub struct Recall {
    pub allow: f64,
    pub deny: f64,
}

fn recall(cases: &[Scored], threshold: f64, top_k: Option<u32>) -> Recall {
    let passes = |c: &Scored| c.score as f64 >= threshold && top_k.is_none_or(|k| c.rank <= k as usize);
    let (mut allowed, mut allows, mut denied, mut denies) = (0, 0, 0, 0);
    for c in cases {
        if c.allow {
            allows += 1;
            allowed += passes(c) as usize;
        } else {
            denies += 1;
            denied += !passes(c) as usize;
        }
    }
    Recall { allow: allowed as f64 / allows.max(1) as f64, deny: denied as f64 / denies.max(1) as f64 }
}

async fn embed_all(embedder: &Arc<dyn Embedder>, texts: Vec<String>) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(texts.len());
    let progress = indicatif::ProgressBar::new(texts.len() as u64);
    for chunk in texts.chunks(256) {
        out.extend(embedder.embed(chunk.to_vec()).await?);
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    Ok(out)
}

/// What a tool's embedding is made from. The server embeds `full`
/// (`intent::tool_text`); the others are measured against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ToolText {
    /// "Cha Dri change drink: Modifies the existing drink order…" (the server's).
    Full,
    /// The name in words only.
    Name,
    /// The description only.
    Description,
    /// Name and description embedded separately, the two unit vectors summed.
    Separate,
}

/// Which user turns make the intent. The server uses `weighted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Turns {
    /// Latest turn 1, each earlier one half as much (`intent::embed_intent`).
    Weighted,
    /// The latest user turn alone.
    Latest,
    /// Every user turn alike.
    Equal,
}

/// Which cases a model is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FitOn {
    /// The questions as they are (their own few tools each).
    Dev,
    /// Those and the many-tools variant together.
    Both,
}

/// How cases become scored tools and how rules are cross-validated; shared
/// by `casa eval intent` and `casa eval intent fit`.
#[derive(Debug, Clone)]
pub struct Setup {
    pub tool_text: ToolText,
    pub turns: Turns,
    /// Folds of the grouped cross-validation (by question).
    pub folds: usize,
    /// Tools per MAS in the many-tools variant (questions of one fold pooled until their tools reach it).
    pub many_tools: usize,
    pub seed: u64,
    /// The allow-recall each fold's operating point is chosen for, on its fitting folds.
    pub allow_target: f64,
    /// L2 penalty of the logistic regressions.
    pub l2: f64,
    pub fit_on: FitOn,
    /// The embedding cache's directory (None: no cache).
    pub cache: Option<PathBuf>,
}

pub struct EvalOptions {
    pub data: PathBuf,
    pub threshold: f64,
    pub top_k: Option<u32>,
    pub plot: Option<PathBuf>,
    pub setup: Setup,
    /// Rules to cross-validate: a base feature (`cosine`, `margin`, `z`, `softmax`, `rank`)
    /// or `lr:TERM,TERM,…` (terms are features or their products, `cosine*margin`).
    pub rules: Vec<String>,
    /// A calibration file to score as it is (fitted on all of the data: not a CV figure).
    pub calibration: Option<PathBuf>,
    /// Write every scored case's features here (CSV).
    pub dump: Option<PathBuf>,
}

pub struct FitOptions {
    pub data: PathBuf,
    pub setup: Setup,
    pub terms: Vec<String>,
    pub name: String,
    pub model: Model,
    pub out: PathBuf,
    /// The command line, recorded in the file.
    pub command: String,
}

/// The kind of model `casa eval intent fit` fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Model {
    /// A logistic regression over the standardised terms.
    Logistic,
    /// Gradient-boosted trees over the raw terms.
    Trees,
}

impl Model {
    fn prefix(self) -> &'static str {
        match self {
            Self::Logistic => "lr",
            Self::Trees => "trees",
        }
    }
}

/// One question's tool: its name, the key of its text, its label.
struct ToolCase {
    name: String,
    key: String,
    allow: bool,
}

struct Question {
    id: String,
    fold: usize,
    intent: Embedding,
    /// The task's words, as a session's (`SessionIntent::words`).
    words: Words,
    tools: Vec<ToolCase>,
}

/// The embedded data set.
struct Prepared {
    model: String,
    questions: Vec<Question>,
    /// Tool text key → unit vector.
    vectors: HashMap<String, Vec<f32>>,
    /// Tool text key → the tool's words.
    words: HashMap<String, ToolWords>,
    /// SHA-256 of the data file, recorded in a fitted calibration.
    data_sha256: String,
    cases: usize,
}

/// One scored (question, tool) pair.
#[derive(Debug, Clone)]
struct Row {
    fold: usize,
    question: usize,
    tool: String,
    allow: bool,
    features: Features,
}

fn tool_key(name: &str, description: &str) -> String {
    format!("{name}\u{0}{description}")
}

/// xorshift64: the fold split and the pooling are the same on every run.
fn shuffled<T>(mut items: Vec<T>, seed: u64) -> Vec<T> {
    let mut state = seed.max(1);
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
    items
}

async fn prepare(embedder: &Arc<dyn Embedder>, data: &Path, setup: &Setup) -> anyhow::Result<Prepared> {
    let cached = Arc::new(Cached::open(embedder.clone(), setup.cache.as_deref()));
    let embedder: Arc<dyn Embedder> = cached.clone();
    let embedder = &embedder;
    let text = std::fs::read_to_string(data).with_context(|| format!("reading {}", data.display()))?;
    let data_sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
    let cases: Vec<Case> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("line {}", i + 1)))
        .collect::<anyhow::Result<_>>()?;
    anyhow::ensure!(setup.folds >= 2, "--folds must be at least 2");
    // Each question is a MAS: its tools are the ones offered with it.
    let mut grouped: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for c in &cases {
        grouped.entry(c.id.split(':').next().unwrap_or(&c.id)).or_default().push(c);
    }
    let order = shuffled(grouped.keys().copied().collect::<Vec<_>>(), setup.seed);
    let fold_of: HashMap<&str, usize> = order.iter().enumerate().map(|(i, q)| (*q, i % setup.folds)).collect();
    eprintln!("{} cases, {} questions, embedding with {}", cases.len(), grouped.len(), embedder.model());

    let model = embedder.model().to_string();
    let mut questions = Vec::with_capacity(grouped.len());
    let progress = indicatif::ProgressBar::new(grouped.len() as u64);
    for (q, qcases) in &grouped {
        let content = UserInputContent::Turns(qcases[0].conversation.clone());
        let intent = match setup.turns {
            Turns::Weighted => intent::embed_intent(embedder.as_ref(), &content, None).await?.1,
            Turns::Latest | Turns::Equal => {
                let turns = intent::weighted_user_turns(&content);
                let texts: Vec<String> = match setup.turns {
                    Turns::Latest => turns.last().map(|(t, _)| t.clone()).into_iter().collect(),
                    _ => turns.into_iter().map(|(t, _)| t).collect(),
                };
                let vectors = embedder.embed(texts).await?;
                let dims = vectors.first().map_or(0, Vec::len);
                let sum = vectors.iter().fold(vec![0f32; dims], |mut acc, v| {
                    acc.iter_mut().zip(v).for_each(|(a, x)| *a += x);
                    acc
                });
                Embedding { model: model.clone(), vector: intent::normalize(sum) }
            }
        };
        let tools = qcases
            .iter()
            .map(|c| ToolCase {
                name: c.tool.name.clone(),
                key: tool_key(&c.tool.name, &c.tool.description),
                allow: c.label == "allow",
            })
            .collect();
        let words = Words::of(&intent::task_text(&content));
        questions.push(Question { id: q.to_string(), fold: fold_of[q], intent, words, tools });
        progress.inc(1);
    }
    progress.finish_and_clear();

    let mut defs: BTreeMap<String, ToolDef> = BTreeMap::new();
    for c in &cases {
        defs.entry(tool_key(&c.tool.name, &c.tool.description)).or_insert_with(|| ToolDef {
            name: c.tool.name.clone(),
            description: c.tool.description.clone(),
            ..Default::default()
        });
    }
    let text_of = |d: &ToolDef, part: ToolText| match part {
        ToolText::Name => intent::humanize(&d.name),
        ToolText::Description => d.description.clone(),
        _ => intent::tool_text(d),
    };
    let parts: &[ToolText] = match setup.tool_text {
        ToolText::Separate => &[ToolText::Name, ToolText::Description],
        one => std::slice::from_ref(match one {
            ToolText::Full => &ToolText::Full,
            ToolText::Name => &ToolText::Name,
            _ => &ToolText::Description,
        }),
    };
    let mut vectors: HashMap<String, Vec<f32>> = HashMap::new();
    for part in parts {
        let embedded = embed_all(embedder, defs.values().map(|d| text_of(d, *part)).collect()).await?;
        for (key, v) in defs.keys().zip(embedded) {
            let sum = vectors.entry(key.clone()).or_insert_with(|| vec![0.0; v.len()]);
            sum.iter_mut().zip(&v).for_each(|(a, x)| *a += x);
        }
    }
    for v in vectors.values_mut() {
        *v = intent::normalize(std::mem::take(v));
    }
    cached.save()?;
    let words = defs.iter().map(|(key, d)| (key.clone(), ToolWords::of(&d.name, &d.description))).collect();
    Ok(Prepared { model, questions, vectors, words, data_sha256, cases: cases.len() })
}

impl Prepared {
    fn embedding(&self, key: &str) -> Embedding {
        Embedding { model: self.model.clone(), vector: self.vectors[key].clone() }
    }

    /// Scores one question against a MAS's tools (unique keys) through the
    /// server's tool index; every tool of the MAS becomes a row.
    fn score(&self, qi: usize, keys: &[&str], names: &[&str], rows: &mut Vec<Row>) -> Vec<(f32, usize)> {
        let q = &self.questions[qi];
        let embeddings: Vec<Embedding> = keys.iter().map(|k| self.embedding(k)).collect();
        // Index by key: two tools of one name with different texts stay apart.
        let index =
            ToolIndex::new(&self.model, keys.iter().zip(&embeddings).map(|(k, e)| (*k, self.words[*k].clone(), e)));
        let IntentMatch::Ranked { ranked, .. } = index.rank(&q.intent, &q.words) else { return Vec::new() };
        let scored: Vec<(f32, usize)> = keys.iter().map(|k| ranked[*k]).collect();
        let cosines: Vec<f32> = scored.iter().map(|s| s.0).collect();
        let overlaps: Vec<[f64; 3]> = keys.iter().map(|k| self.words[*k].overlap(&q.words)).collect();
        let allowed: Vec<&str> = q.tools.iter().filter(|t| t.allow).map(|t| t.name.as_str()).collect();
        for ((f, name), _) in Features::of_all(&cosines, &overlaps).into_iter().zip(names).zip(keys) {
            rows.push(Row {
                fold: q.fold,
                question: qi,
                tool: name.to_string(),
                allow: allowed.contains(name),
                features: f,
            });
        }
        scored
    }

    /// The data as it is: each question a MAS of the tools offered with it.
    fn dev_rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for (qi, q) in self.questions.iter().enumerate() {
            let mut keys: Vec<&str> = Vec::new();
            let mut names: Vec<&str> = Vec::new();
            for t in &q.tools {
                if !keys.contains(&t.key.as_str()) {
                    keys.push(&t.key);
                    names.push(&t.name);
                }
            }
            self.score(qi, &keys, &names, &mut rows);
        }
        rows
    }

    /// The many-tools variant: within each fold, questions are pooled (in a
    /// seeded order) into MAS of at least `size` distinct tools, and every
    /// question is scored against all of its MAS's tools; only its own
    /// allowed tools are labelled allow. The list's shape says nothing here.
    fn many_rows(&self, size: usize, folds: usize, seed: u64) -> Vec<Row> {
        let mut rows = Vec::new();
        for fold in 0..folds {
            let members: Vec<usize> = (0..self.questions.len()).filter(|&i| self.questions[i].fold == fold).collect();
            let members = shuffled(members, seed ^ (fold as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut group: Vec<usize> = Vec::new();
            let mut keys: Vec<&str> = Vec::new();
            let mut names: Vec<&str> = Vec::new();
            for (n, qi) in members.iter().enumerate() {
                group.push(*qi);
                for t in &self.questions[*qi].tools {
                    if !keys.contains(&t.key.as_str()) {
                        keys.push(&t.key);
                        names.push(&t.name);
                    }
                }
                if keys.len() >= size || n + 1 == members.len() {
                    for &g in &group {
                        self.score(g, &keys, &names, &mut rows);
                    }
                    group.clear();
                    keys.clear();
                    names.clear();
                }
            }
        }
        rows
    }
}

pub async fn intent(embedder: Arc<dyn Embedder>, opts: EvalOptions) -> anyhow::Result<()> {
    let rules = opts.rules.iter().map(|r| Rule::parse(r)).collect::<anyhow::Result<Vec<_>>>()?;
    let prepared = prepare(&embedder, &opts.data, &opts.setup).await?;
    let dev = prepared.dev_rows();

    // The cosine sweep, through the server's check.
    let subject = placeholder_claims();
    let check = SemanticIntent(SemanticSettings { threshold: f64::NEG_INFINITY, top_k: None, min_probability: None });
    let mut scored = Vec::with_capacity(dev.len());
    for (qi, q) in prepared.questions.iter().enumerate() {
        let keys: Vec<&str> = q.tools.iter().map(|t| t.key.as_str()).collect();
        let embeddings: Vec<Embedding> = keys.iter().map(|k| prepared.embedding(k)).collect();
        let tools = q.tools.iter().zip(&embeddings).map(|(t, e)| (t.name.as_str(), prepared.words[&t.key].clone(), e));
        let matched = ToolIndex::new(&prepared.model, tools).rank(&q.intent, &q.words);
        let _ = qi;
        for t in &q.tools {
            let input = CheckInput {
                tool: &t.name,
                subject: &subject,
                llm_calls: &[],
                intent: &matched,
                judgements: &HashMap::new(),
            };
            let v = check.evaluate(&input);
            let rank = match &matched {
                IntentMatch::Ranked { ranked, .. } => ranked.get(&t.name).map_or(usize::MAX, |r| r.1),
                _ => usize::MAX,
            };
            scored.push(Scored { allow: t.allow, score: v.score.unwrap_or(f64::NEG_INFINITY) as f32, rank });
        }
    }

    let at = recall(&scored, opts.threshold, opts.top_k);
    println!(
        "at threshold {:.2}{}: allow-recall {:.3}, deny-recall {:.3} ({} allow, {} deny cases)",
        opts.threshold,
        opts.top_k.map_or(String::new(), |k| format!(", top_k {k}")),
        at.allow,
        at.deny,
        scored.iter().filter(|c| c.allow).count(),
        scored.iter().filter(|c| !c.allow).count(),
    );
    let thresholds: Vec<f64> = (-10..=80).map(|i| i as f64 / 100.0).collect();
    let variants: [Option<u32>; 4] = [None, Some(1), Some(2), Some(3)];
    println!(
        "\nthreshold  {}",
        variants.map(|k| format!("{:>22}", k.map_or("no top_k".into(), |k| format!("top_k {k}")))).join("")
    );
    println!("           {}", variants.map(|_| format!("{:>22}", "allow / deny")).join(""));
    let mut curves: Vec<Vec<(f64, Recall)>> = vec![Vec::new(); variants.len()];
    for &t in &thresholds {
        let row: Vec<Recall> = variants.iter().map(|k| recall(&scored, t, *k)).collect();
        for (curve, r) in curves.iter_mut().zip(&row) {
            curve.push((t, *r));
        }
        if (t * 100.0).round() as i64 % 5 == 0 {
            println!(
                "{t:>9.2}  {}",
                row.iter().map(|r| format!("{:>13.3} / {:.3}", r.allow, r.deny)).collect::<String>()
            );
        }
    }
    for (k, curve) in variants.iter().zip(&curves) {
        if let Some((t, r)) = curve.iter().filter(|(_, r)| r.allow >= 0.95).max_by(|a, b| a.1.deny.total_cmp(&b.1.deny))
        {
            println!(
                "best with allow-recall >= 0.95{}: threshold {t:.2}, allow {:.3}, deny {:.3}",
                k.map_or(String::new(), |k| format!(", top_k {k}")),
                r.allow,
                r.deny
            );
        }
    }
    if let Some(path) = &opts.plot {
        plot(path, &variants, &curves)?;
        println!("\nplot: {}", path.display());
    }

    let many = prepared.many_rows(opts.setup.many_tools, opts.setup.folds, opts.setup.seed);
    if let Some(path) = &opts.dump {
        dump(path, &prepared, &dev, &many)?;
        println!("\nfeatures: {}", path.display());
    }
    let s = &opts.setup;
    if !rules.is_empty() {
        println!(
            "\n{}-fold cross-validation by question, operating point for allow-recall >= {} on the fitting folds \
             (fitted on {:?}); tool text {:?}, turns {:?}; many-tools variant: MAS of >= {} tools, {} cases",
            s.folds,
            s.allow_target,
            s.fit_on,
            s.tool_text,
            s.turns,
            s.many_tools,
            many.len()
        );
        println!(
            "\n| rule | dev allow | dev deny | many-tools allow | many-tools deny |\n| --- | --- | --- | --- | --- |"
        );
        for rule in &rules {
            let cv = cross_validate(rule, &dev, &many, s);
            let [dev_allow, dev_deny, many_allow, many_deny] = cells(&cv);
            println!("| {} | {dev_allow} | {dev_deny} | {many_allow} | {many_deny} |", rule.label());
        }
    }
    if let Some(path) = &opts.calibration {
        let c = Calibration::from_json(
            &std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .map_err(anyhow::Error::msg)?;
        anyhow::ensure!(
            c.embedding_model == prepared.model,
            "{} was fitted on {}, not on this embedder ({})",
            path.display(),
            c.embedding_model,
            prepared.model
        );
        let score = |f: &Features| c.probability(f);
        let all = |rows: &[Row]| recall_at(&rows.iter().collect::<Vec<_>>(), &score, c.cut_off);
        let (d, m) = (all(&dev), all(&many));
        println!(
            "\n{} at its cut-off {:.3} (fitted on all of this data: not a cross-validated figure): \
             dev allow {:.3} / deny {:.3}, many-tools allow {:.3} / deny {:.3}",
            c.name, c.cut_off, d.allow, d.deny, m.allow, m.deny
        );
    }
    Ok(())
}

/// `casa eval intent fit`: cross-validates the model (a logistic regression
/// or gradient-boosted trees) over `terms`, takes the operating point from
/// its out-of-fold probabilities (never from the fit on all of the data),
/// fits on all of it and writes the calibration file with its provenance.
pub async fn fit(embedder: Arc<dyn Embedder>, opts: FitOptions) -> anyhow::Result<()> {
    let rule = Rule::parse(&format!("{}:{}", opts.model.prefix(), opts.terms.join(",")))?;
    let s = &opts.setup;
    let prepared = prepare(&embedder, &opts.data, s).await?;
    let dev = prepared.dev_rows();
    let many = prepared.many_rows(s.many_tools, s.folds, s.seed);
    let cv = cross_validate(&rule, &dev, &many, s);
    let cut_off = relevance::cut_off_for(
        cv.out_of_fold.iter().filter(|(allow, _)| *allow).map(|(_, p)| *p).collect(),
        s.allow_target,
    );
    let rows: Vec<&Row> = dev.iter().chain(if s.fit_on == FitOn::Both { &many[..] } else { &[] }).collect();
    let (mut calibration, settings) = match &rule {
        Rule::Logistic { names, terms } => {
            let features: Vec<Features> = rows.iter().map(|r| r.features).collect();
            let labels: Vec<bool> = rows.iter().map(|r| r.allow).collect();
            let fitted = relevance::fit(terms, &features, &labels, s.l2);
            (
                Calibration::new(&opts.name, &prepared.model, terms, names, &fitted, cut_off),
                serde_json::json!({"l2": s.l2}),
            )
        }
        Rule::Trees { names, terms } => {
            let forest = fit_forest(terms, &rows);
            (
                Calibration::of_forest(&opts.name, &prepared.model, terms, names, forest, cut_off),
                serde_json::json!(TREES),
            )
        }
        Rule::Feature { .. } => unreachable!("fit parses a model rule"),
    };
    calibration.fitted = serde_json::json!({
        "command": opts.command,
        "data": opts.data.file_name().map(|n| n.to_string_lossy().to_string()),
        "data_sha256": prepared.data_sha256,
        "cases": prepared.cases,
        "questions": prepared.questions.len(),
        "tool_text": format!("{:?}", s.tool_text).to_lowercase(),
        "turns": format!("{:?}", s.turns).to_lowercase(),
        "folds": s.folds,
        "seed": s.seed,
        "many_tools": s.many_tools,
        "allow_target": s.allow_target,
        "model": rule.label(),
        "settings": settings,
        "fit_on": format!("{:?}", s.fit_on).to_lowercase(),
        "cut_off_from": "the out-of-fold probabilities of the cross-validation",
        "cross_validated": summary(&cv),
    });
    let text = serde_json::to_string_pretty(&calibration)? + "\n";
    Calibration::from_json(&text).map_err(anyhow::Error::msg)?;
    std::fs::write(&opts.out, text).with_context(|| format!("writing {}", opts.out.display()))?;
    let [dev_allow, dev_deny, many_allow, many_deny] = cells(&cv);
    println!(
        "{}: cut-off {cut_off:.4}; cross-validated dev allow {dev_allow} / deny {dev_deny}, many-tools allow \
         {many_allow} / deny {many_deny}\nwrote {}",
        rule.label(),
        opts.out.display()
    );
    Ok(())
}

/// Claims for the check's input; the semantic check does not read them.
fn placeholder_claims() -> Claims {
    Claims {
        iss: String::new(),
        sub: String::new(),
        aud: String::new(),
        client_id: String::new(),
        iat: 0,
        nbf: 0,
        exp: 0,
        jti: String::new(),
        scope: String::new(),
        uiid: String::new(),
        tools: Vec::new(),
        act: None,
        parent: None,
        lineage: Vec::new(),
    }
}
