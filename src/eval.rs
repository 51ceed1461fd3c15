//! `casa eval intent`: runs the semantic intent check over labelled cases
//! (the JSONL format of `shared/eval/intent-dev.jsonl`) through the code the
//! server uses — task and intent from the conversation, tool text and
//! embedding, the tool index, the `SEMANTIC_INTENT_MATCH` check — and reports
//! allow-recall and deny-recall at the chosen settings and over a sweep.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use casa_actors::checks::{Check, CheckInput, SemanticIntent, ToolIndex};
use casa_actors::intent::{self, Embedder, Embedding};
use casa_actors::model::{SemanticSettings, ToolDef};
use casa_actors::session::{Turn, UserInputContent};
use casa_actors::token::Claims;
use serde::Deserialize;

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

pub struct EvalOptions {
    pub data: PathBuf,
    pub threshold: f64,
    pub top_k: Option<u32>,
    pub plot: Option<PathBuf>,
}

pub async fn intent(embedder: Arc<dyn Embedder>, opts: EvalOptions) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&opts.data).with_context(|| format!("reading {}", opts.data.display()))?;
    let cases: Vec<Case> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("line {}", i + 1)))
        .collect::<anyhow::Result<_>>()?;
    // Each question is a MAS: its tools are the ones offered with it.
    let mut questions: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for c in &cases {
        questions.entry(c.id.split(':').next().unwrap_or(&c.id)).or_default().push(c);
    }
    eprintln!("{} cases, {} questions, embedding with {}", cases.len(), questions.len(), embedder.model());

    // Intents through the server's code path (weighted user turns).
    let mut intents: HashMap<&str, Embedding> = HashMap::new();
    let progress = indicatif::ProgressBar::new(questions.len() as u64);
    for (q, qcases) in &questions {
        let content = UserInputContent::Turns(qcases[0].conversation.clone());
        let (_, e) = intent::embed_intent(embedder.as_ref(), &content, None).await?;
        intents.insert(q, e);
        progress.inc(1);
    }
    progress.finish_and_clear();
    let defs: Vec<ToolDef> = cases
        .iter()
        .map(|c| ToolDef { name: c.tool.name.clone(), description: c.tool.description.clone(), ..Default::default() })
        .collect();
    let mut unique: BTreeMap<String, usize> = BTreeMap::new();
    for d in &defs {
        let n = unique.len();
        unique.entry(intent::tool_text(d)).or_insert(n);
    }
    let mut texts = vec![String::new(); unique.len()];
    for (t, i) in &unique {
        texts[*i] = t.clone();
    }
    let vectors = embed_all(&embedder, texts).await?;
    let model = embedder.model().to_string();
    let embedding_of =
        |d: &ToolDef| Embedding { model: model.clone(), vector: vectors[unique[&intent::tool_text(d)]].clone() };

    let subject = placeholder_claims();
    let mut scored = Vec::with_capacity(cases.len());
    let mut by_case: HashMap<&str, &ToolDef> = HashMap::new();
    for (c, d) in cases.iter().zip(&defs) {
        by_case.insert(&c.id, d);
    }
    for (q, qcases) in &questions {
        let tools: Vec<(String, Embedding)> =
            qcases.iter().map(|c| (c.tool.name.clone(), embedding_of(by_case[c.id.as_str()]))).collect();
        let index = ToolIndex::new(&model, tools.iter().map(|(n, e)| (n.as_str(), e)));
        let matched = index.rank(&intents[q]);
        let check = SemanticIntent(SemanticSettings { threshold: f64::NEG_INFINITY, top_k: None });
        for c in qcases {
            let input = CheckInput {
                tool: &c.tool.name,
                subject: &subject,
                llm_calls: &[],
                intent: &matched,
                judgements: &HashMap::new(),
            };
            let v = check.evaluate(&input);
            let rank = match &matched {
                casa_actors::checks::IntentMatch::Ranked { ranked, .. } => {
                    ranked.get(&c.tool.name).map_or(usize::MAX, |r| r.1)
                }
                _ => usize::MAX,
            };
            scored.push(Scored { allow: c.label == "allow", score: v.score.unwrap_or(f64::NEG_INFINITY) as f32, rank });
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

fn plot(path: &Path, variants: &[Option<u32>], curves: &[Vec<(f64, Recall)>]) -> anyhow::Result<()> {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("SEMANTIC_INTENT_MATCH: recall over the threshold", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.1f64..0.8f64, 0f64..1.0f64)?;
    chart.configure_mesh().x_desc("threshold (cosine)").y_desc("recall").draw()?;
    let colours = [BLUE, RED, GREEN, MAGENTA];
    for ((k, curve), colour) in variants.iter().zip(curves).zip(colours) {
        let name = k.map_or("no top_k".to_string(), |k| format!("top_k {k}"));
        chart
            .draw_series(LineSeries::new(curve.iter().map(|(t, r)| (*t, r.allow)), colour.stroke_width(2)))?
            .label(format!("allow-recall, {name}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(curve.iter().map(|(t, r)| (*t, r.deny)), colour.mix(0.6).stroke_width(1)))?
            .label(format!("deny-recall, {name}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.mix(0.6)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}
