//! How well a tool fits the session's intent *relative to the MAS's other
//! tools*, and the calibrated model that turns those features into the
//! probability that the task needs the tool.
//!
//! A cosine alone cannot tell "the best of several near misses" from "the
//! tool asked for": the margin to the best tool, the z-score and the softmax
//! over the MAS's own tools can. The model is a logistic regression over
//! such features (and products of them), fitted offline by
//! `casa eval intent fit` and shipped as a small JSON file tied to the exact
//! embedding model it was fitted on; at exchange time it costs a few
//! multiply-adds per tool. Nothing here sees how many tools the MAS has
//! except through the scores themselves.

use serde::{Deserialize, Serialize};

/// Softmax temperature over cosines: a lead of 0.05 weighs e times as much.
pub const TEMPERATURE: f64 = 0.05;
/// Floor under the spread of the MAS's cosines, so two tools a hair apart
/// (or a MAS of one tool) do not give an unbounded z-score.
pub const MIN_SPREAD: f64 = 0.05;
/// The calibration file format this build writes; it reads 1 (logistic
/// regression only) and 2 (a logistic regression or a tree ensemble).
pub const FORMAT: u32 = 2;
/// Bounds on a tree ensemble read from a file: a hostile one cannot make
/// the exchange walk or hold more than this.
pub const MAX_TREES: usize = 2_000;
pub const MAX_NODES: usize = 4_096;

/// The base features of one tool's match, over the MAS's tools.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Features {
    /// Cosine of the tool and the intent.
    pub cosine: f64,
    /// Cosine minus the best tool's cosine (0 for the best, negative otherwise).
    pub margin: f64,
    /// (cosine − mean) / max(spread, MIN_SPREAD) over the MAS's tools.
    pub z: f64,
    /// The tool's share of exp(cosine / TEMPERATURE) over the MAS's tools.
    pub softmax: f64,
    /// ln(rank), rank 1 = best.
    pub log_rank: f64,
    /// Share of the tool name's words that the task has (`lexical`).
    pub name_overlap: f64,
    /// Share of the tool description's words that the task has.
    pub description_overlap: f64,
    /// Share of the task's words that the tool's name or description has.
    pub task_overlap: f64,
    /// Each overlap minus the MAS's best for it (0 for the best, negative otherwise).
    pub name_overlap_margin: f64,
    pub description_overlap_margin: f64,
    pub task_overlap_margin: f64,
}

/// Names of the base features, in the order of [`Features::get`].
pub const BASE: [&str; 11] = [
    "cosine",
    "margin",
    "z",
    "softmax",
    "log_rank",
    "name_overlap",
    "description_overlap",
    "task_overlap",
    "name_overlap_margin",
    "description_overlap_margin",
    "task_overlap_margin",
];

impl Features {
    pub fn get(&self, index: usize) -> f64 {
        [
            self.cosine,
            self.margin,
            self.z,
            self.softmax,
            self.log_rank,
            self.name_overlap,
            self.description_overlap,
            self.task_overlap,
            self.name_overlap_margin,
            self.description_overlap_margin,
            self.task_overlap_margin,
        ][index]
    }

    /// Every tool's features, in the order of `scores` (one cosine per
    /// tool) and `overlaps` (one `lexical::ToolWords::overlap` per tool, or
    /// none: then the overlaps are 0).
    pub fn of_all(scores: &[f32], overlaps: &[[f64; 3]]) -> Vec<Features> {
        let n = scores.len();
        if n == 0 {
            return Vec::new();
        }
        let s: Vec<f64> = scores.iter().map(|&x| x as f64).collect();
        let best = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = s.iter().sum::<f64>() / n as f64;
        let spread = (s.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64).sqrt().max(MIN_SPREAD);
        let weights: Vec<f64> = s.iter().map(|x| ((x - best) / TEMPERATURE).exp()).collect();
        let total: f64 = weights.iter().sum();
        let overlap = |i: usize| overlaps.get(i).copied().unwrap_or_default();
        let best_overlap: [f64; 3] =
            std::array::from_fn(|k| (0..n).map(|i| overlap(i)[k]).fold(f64::NEG_INFINITY, f64::max));
        let mut descending = s.clone();
        descending.sort_by(|a, b| b.total_cmp(a));
        s.iter()
            .zip(&weights)
            .enumerate()
            .map(|(i, (&x, w))| {
                // Ties share the better rank.
                let rank = 1 + descending.partition_point(|&y| y > x);
                let [name, description, task] = overlap(i);
                Features {
                    cosine: x,
                    margin: x - best,
                    z: (x - mean) / spread,
                    softmax: w / total,
                    log_rank: (rank as f64).ln(),
                    name_overlap: name,
                    description_overlap: description,
                    task_overlap: task,
                    name_overlap_margin: name - best_overlap[0],
                    description_overlap_margin: description - best_overlap[1],
                    task_overlap_margin: task - best_overlap[2],
                }
            })
            .collect()
    }
}

/// A model term: the product of one or more base features ("cosine",
/// "cosine*margin", "margin*margin").
#[derive(Debug, Clone, PartialEq)]
pub struct Term(Vec<usize>);

impl Term {
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Result<Vec<usize>, String> = text
            .split('*')
            .map(|p| {
                BASE.iter().position(|b| *b == p.trim()).ok_or_else(|| format!("unknown feature {p:?} in {text:?}"))
            })
            .collect();
        let parts = parts?;
        if parts.is_empty() || parts.len() > 3 {
            return Err(format!("a term is a product of 1 to 3 features: {text:?}"));
        }
        Ok(Self(parts))
    }

    pub fn value(&self, f: &Features) -> f64 {
        self.0.iter().map(|&i| f.get(i)).product()
    }
}

/// A fitted model over terms of the features (a logistic regression over
/// the standardised terms, or a tree ensemble over their raw values), its
/// operating point, and the embedding model whose cosines it was fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    pub format: u32,
    /// The model's name and version, e.g. `intent-lr-v1`.
    pub name: String,
    /// The embedder's identity (`Embedder::model`), weights fingerprint included:
    /// the calibration is used with that embedder only.
    pub embedding_model: String,
    pub terms: Vec<String>,
    /// Logistic regression: standardisation of each term before the weights apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mean: Vec<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scale: Vec<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<f64>,
    #[serde(default)]
    pub bias: f64,
    /// Or a tree ensemble (then mean, scale and weights are empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forest: Option<Forest>,
    /// The default probability cut-off (a MAS's `semantic.min_probability` overrides it).
    pub cut_off: f64,
    /// How it was fitted: command line, data digest, cross-validated recall.
    #[serde(default)]
    pub fitted: serde_json::Value,
    #[serde(skip)]
    parsed: Vec<Term>,
}

impl Calibration {
    /// Parses and checks a calibration file: every term known, every number
    /// finite, one weight per term.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let mut c: Calibration = serde_json::from_str(text).map_err(|e| format!("calibration: {e}"))?;
        if !(1..=FORMAT).contains(&c.format) || (c.format == 1 && c.forest.is_some()) {
            return Err(format!("calibration format {} (this build reads 1 to {FORMAT}; trees need 2)", c.format));
        }
        c.parsed = c.terms.iter().map(|t| Term::parse(t)).collect::<Result<_, _>>()?;
        // (NaN is outside the range too.)
        if !(0.0..=1.0).contains(&c.cut_off) {
            return Err("calibration: cut_off must be between 0 and 1".into());
        }
        let n = c.terms.len();
        if let Some(forest) = &c.forest {
            if n == 0 || !(c.mean.is_empty() && c.scale.is_empty() && c.weights.is_empty()) {
                return Err("calibration: a tree ensemble has terms and no mean, scale or weights".into());
            }
            forest.check(n)?;
            return Ok(c);
        }
        if n == 0 || c.mean.len() != n || c.scale.len() != n || c.weights.len() != n {
            return Err("calibration: terms, mean, scale and weights must be non-empty and of equal length".into());
        }
        let finite = c.mean.iter().chain(&c.scale).chain(&c.weights).chain([&c.bias]).all(|x| x.is_finite());
        if !finite || c.scale.iter().any(|&s| s <= 0.0) {
            return Err("calibration: every number must be finite and every scale positive".into());
        }
        Ok(c)
    }

    /// A calibration from fitted parameters (see [`fit`]).
    pub fn new(name: &str, embedding_model: &str, terms: &[Term], names: &[String], fit: &Fit, cut_off: f64) -> Self {
        Self {
            format: FORMAT,
            name: name.to_string(),
            embedding_model: embedding_model.to_string(),
            terms: names.to_vec(),
            mean: fit.mean.clone(),
            scale: fit.scale.clone(),
            weights: fit.weights.clone(),
            bias: fit.bias,
            forest: None,
            cut_off,
            fitted: serde_json::Value::Null,
            parsed: terms.to_vec(),
        }
    }

    /// A calibration from a fitted tree ensemble.
    pub fn of_forest(
        name: &str,
        embedding_model: &str,
        terms: &[Term],
        names: &[String],
        forest: Forest,
        cut_off: f64,
    ) -> Self {
        Self {
            format: FORMAT,
            name: name.to_string(),
            embedding_model: embedding_model.to_string(),
            terms: names.to_vec(),
            mean: Vec::new(),
            scale: Vec::new(),
            weights: Vec::new(),
            bias: 0.0,
            forest: Some(forest),
            cut_off,
            fitted: serde_json::Value::Null,
            parsed: terms.to_vec(),
        }
    }

    /// What the probability was computed from: each base feature the
    /// model's terms use, with its value ("cosine 0.412, margin 0.000").
    pub fn explain(&self, f: &Features) -> String {
        let mut used: Vec<usize> = self.parsed.iter().flat_map(|t| t.0.iter().copied()).collect();
        used.sort_unstable();
        used.dedup();
        used.iter().map(|&i| format!("{} {:.3}", BASE[i], f.get(i))).collect::<Vec<_>>().join(", ")
    }

    /// The probability that the task needs the tool.
    pub fn probability(&self, f: &Features) -> f64 {
        if let Some(forest) = &self.forest {
            return forest.probability(&self.parsed, f);
        }
        let mut z = self.bias;
        for (((t, w), m), s) in self.parsed.iter().zip(&self.weights).zip(&self.mean).zip(&self.scale) {
            z += w * (t.value(f) - m) / s;
        }
        sigmoid(z)
    }
}

/// Gradient-boosted regression trees over the raw values of terms; their
/// leaves add up to the log-odds that the task needs the tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forest {
    /// The log-odds before any tree.
    pub base: f64,
    pub trees: Vec<Tree>,
}

/// One tree: node 0 is the root; a split's children come after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Node {
    /// Go `left` when the term's value is below `below`, else `right`.
    Split {
        term: usize,
        below: f64,
        left: usize,
        right: usize,
    },
    Leaf(f64),
}

impl Forest {
    pub fn probability(&self, terms: &[Term], f: &Features) -> f64 {
        let values: Vec<f64> = terms.iter().map(|t| t.value(f)).collect();
        sigmoid(self.base + self.trees.iter().map(|t| t.value(&values)).sum::<f64>())
    }

    /// Every node reachable, every child after its parent (so a walk ends),
    /// every term known, every number finite, the sizes bounded.
    pub fn check(&self, terms: usize) -> Result<(), String> {
        let bad = |why: &str| Err(format!("calibration: tree ensemble: {why}"));
        if self.trees.is_empty() || self.trees.len() > MAX_TREES || !self.base.is_finite() {
            return bad(&format!("1 to {MAX_TREES} trees and a finite base"));
        }
        for tree in &self.trees {
            let n = tree.nodes.len();
            if n == 0 || n > MAX_NODES {
                return bad(&format!("a tree has 1 to {MAX_NODES} nodes"));
            }
            for (i, node) in tree.nodes.iter().enumerate() {
                match *node {
                    Node::Leaf(v) if !v.is_finite() => return bad("a leaf is not finite"),
                    Node::Split { term, below, left, right } => {
                        if term >= terms || !below.is_finite() || left <= i || right <= i || left >= n || right >= n {
                            return bad("a split names an unknown term, a non-finite threshold or a bad child");
                        }
                    }
                    Node::Leaf(_) => {}
                }
            }
        }
        Ok(())
    }
}

impl Tree {
    fn value(&self, values: &[f64]) -> f64 {
        let mut i = 0;
        loop {
            match self.nodes[i] {
                Node::Leaf(v) => return v,
                Node::Split { term, below, left, right } => i = if values[term] < below { left } else { right },
            }
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A logistic regression's parameters over standardised terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub weights: Vec<f64>,
    pub bias: f64,
}

impl Fit {
    pub fn probability(&self, terms: &[Term], f: &Features) -> f64 {
        let mut z = self.bias;
        for (((t, w), m), s) in terms.iter().zip(&self.weights).zip(&self.mean).zip(&self.scale) {
            z += w * (t.value(f) - m) / s;
        }
        sigmoid(z)
    }
}

/// Fits a logistic regression with an L2 penalty `l2` on the weights (not
/// the bias) by Newton's method: deterministic, a dozen iterations for the
/// handful of terms used here.
pub fn fit(terms: &[Term], rows: &[Features], labels: &[bool], l2: f64) -> Fit {
    let k = terms.len();
    let n = rows.len().max(1) as f64;
    let raw: Vec<Vec<f64>> = rows.iter().map(|f| terms.iter().map(|t| t.value(f)).collect()).collect();
    let mean: Vec<f64> = (0..k).map(|j| raw.iter().map(|r| r[j]).sum::<f64>() / n).collect();
    let scale: Vec<f64> = (0..k)
        .map(|j| {
            let v = raw.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n;
            if v.sqrt() > 1e-12 {
                v.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    // Design rows: [1, standardised terms...].
    let x: Vec<Vec<f64>> =
        raw.iter().map(|r| std::iter::once(1.0).chain((0..k).map(|j| (r[j] - mean[j]) / scale[j])).collect()).collect();
    let mut beta = vec![0.0; k + 1];
    for _ in 0..50 {
        let mut grad = vec![0.0; k + 1];
        let mut hess = vec![vec![0.0; k + 1]; k + 1];
        for (xi, &yi) in x.iter().zip(labels) {
            let p = sigmoid(xi.iter().zip(&beta).map(|(a, b)| a * b).sum());
            let w = (p * (1.0 - p)).max(1e-10);
            for a in 0..=k {
                grad[a] += (p - yi as u8 as f64) * xi[a];
                for b in 0..=k {
                    hess[a][b] += w * xi[a] * xi[b];
                }
            }
        }
        for a in 1..=k {
            grad[a] += l2 * beta[a];
            hess[a][a] += l2;
        }
        let step = solve(hess, grad);
        let size: f64 = step.iter().map(|s| s.abs()).fold(0.0, f64::max);
        beta.iter_mut().zip(&step).for_each(|(b, s)| *b -= s);
        if size < 1e-9 {
            break;
        }
    }
    Fit { mean, scale, weights: beta[1..].to_vec(), bias: beta[0] }
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting (`a` is
/// small and, with the L2 penalty, positive definite).
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs())).unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let d = a[col][col];
        if d.abs() < 1e-300 {
            continue;
        }
        for row in col + 1..n {
            let f = a[row][col] / d;
            let pivot_row = a[col].clone();
            a[row].iter_mut().zip(&pivot_row).skip(col).for_each(|(x, p)| *x -= f * p);
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|c| a[row][c] * x[c]).sum();
        x[row] = if a[row][row].abs() < 1e-300 { 0.0 } else { (b[row] - s) / a[row][row] };
    }
    x
}

/// The highest cut-off that lets through at least `target` of the allowed
/// cases' scores (the scores of cases labelled allow).
pub fn cut_off_for(mut allowed_scores: Vec<f64>, target: f64) -> f64 {
    if allowed_scores.is_empty() {
        return f64::NEG_INFINITY;
    }
    allowed_scores.sort_by(f64::total_cmp);
    let n = allowed_scores.len();
    let may_lose = ((1.0 - target) * n as f64 + 1e-9).floor() as usize;
    allowed_scores[may_lose.min(n - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_relative_to_the_mas_tools() {
        let f = Features::of_all(&[0.5, 0.3, 0.5, 0.1], &[]);
        assert_eq!(f[0].margin, 0.0);
        assert!((f[1].margin + 0.2).abs() < 1e-6);
        assert_eq!((f[0].log_rank, f[2].log_rank), (0.0, 0.0), "ties share the better rank");
        assert!((f[3].log_rank - 4f64.ln()).abs() < 1e-12);
        assert!((f.iter().map(|x| x.softmax).sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(f[0].z > 0.0 && f[3].z < 0.0);
        // One tool: the best by definition, z bounded.
        let one = Features::of_all(&[0.2], &[]);
        assert_eq!((one[0].margin, one[0].z, one[0].softmax), (0.0, 0.0, 1.0));
        // Overlaps are relative to the MAS's best overlap, each on its own.
        let f = Features::of_all(&[0.1, 0.2], &[[0.5, 0.0, 0.25], [0.0, 0.4, 0.5]]);
        assert_eq!((f[0].name_overlap, f[0].name_overlap_margin, f[1].name_overlap_margin), (0.5, 0.0, -0.5));
        assert_eq!((f[0].description_overlap_margin, f[0].task_overlap_margin), (-0.4, -0.25));
    }

    fn forest_json(split: &str) -> String {
        format!(
            r#"{{"format":2,"name":"t","embedding_model":"m","terms":["cosine","margin"],"cut_off":0.5,
               "forest":{{"base":-1.0,"trees":[{{"nodes":[{split},{{"leaf":-2.0}},{{"leaf":3.0}}]}}]}}}}"#
        )
    }

    #[test]
    fn a_tree_ensemble_scores_and_hostile_ones_are_refused() {
        let good = forest_json(r#"{"split":{"term":1,"below":-0.1,"left":1,"right":2}}"#);
        let c = Calibration::from_json(&good).unwrap();
        let f = |cosine, margin| Features { cosine, margin, ..Default::default() };
        assert!((c.probability(&f(0.9, -0.3)) - sigmoid(-3.0)).abs() < 1e-12, "margin below -0.1: left");
        assert!((c.probability(&f(0.9, 0.0)) - sigmoid(2.0)).abs() < 1e-12);
        let back = Calibration::from_json(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back.forest, c.forest);
        for bad in [
            forest_json(r#"{"split":{"term":2,"below":0,"left":1,"right":2}}"#),
            forest_json(r#"{"split":{"term":0,"below":0,"left":0,"right":2}}"#),
            forest_json(r#"{"split":{"term":0,"below":0,"left":1,"right":3}}"#),
            forest_json(r#"{"split":{"term":0,"below":1e999,"left":1,"right":2}}"#),
            forest_json(r#"{"split":{"term":0,"below":0,"left":1,"right":2,"x":1}}"#),
            good.replace(r#""format":2"#, r#""format":1"#),
            good.replace(r#""base":-1.0"#, r#""base":-1.0,"x":0"#),
            good.replace(r#""trees":[{"#, r#""trees":[{"nodes":[]},{"#),
            good.replace(r#""cut_off":0.5"#, r#""cut_off":0.5,"weights":[1,2],"mean":[0,0],"scale":[1,1]"#),
        ] {
            assert!(Calibration::from_json(&bad).is_err(), "{bad}");
        }
        let huge = format!(
            r#"{{"format":2,"name":"t","embedding_model":"m","terms":["cosine"],"cut_off":0.5,"forest":{{"base":0,"trees":[{}]}}}}"#,
            vec![r#"{"nodes":[{"leaf":0}]}"#; MAX_TREES + 1].join(",")
        );
        assert!(Calibration::from_json(&huge).is_err());
    }

    #[test]
    fn the_fit_separates_and_the_file_round_trips() {
        let rows: Vec<Features> = (0..200).map(|i| Features::of_all(&[i as f32 / 200.0, 0.5], &[]).remove(0)).collect();
        let labels: Vec<bool> = rows.iter().map(|f| f.cosine > 0.6).collect();
        let terms = vec![Term::parse("cosine").unwrap(), Term::parse("cosine*margin").unwrap()];
        let fit = fit(&terms, &rows, &labels, 1e-3);
        assert!(fit.probability(&terms, &rows[190]) > 0.9 && fit.probability(&terms, &rows[10]) < 0.1);
        let names = vec!["cosine".to_string(), "cosine*margin".to_string()];
        let c = Calibration::new("t", "m", &terms, &names, &fit, 0.5);
        let back = Calibration::from_json(&serde_json::to_string(&c).unwrap()).unwrap();
        // (JSON keeps the numbers to within an ulp or so.)
        assert_eq!((&back.terms, &back.embedding_model, back.cut_off), (&c.terms, &c.embedding_model, c.cut_off));
        assert!(back.weights.iter().zip(&c.weights).all(|(a, b)| (a - b).abs() <= 1e-12 * b.abs().max(1.0)));
        assert!((back.probability(&rows[190]) - fit.probability(&terms, &rows[190])).abs() < 1e-12);
    }

    #[test]
    fn hostile_calibration_files_are_refused() {
        let good = r#"{"format":1,"name":"t","embedding_model":"m","terms":["cosine"],"mean":[0],"scale":[1],"weights":[2],"bias":0,"cut_off":0.5}"#;
        assert!(Calibration::from_json(good).is_ok());
        for bad in [
            good.replace(r#""format":1"#, r#""format":9"#),
            good.replace(r#"["cosine"]"#, r#"["cosine*rm -rf"]"#),
            good.replace(r#""scale":[1]"#, r#""scale":[0]"#),
            good.replace(r#""weights":[2]"#, r#""weights":[2,3]"#),
            good.replace(r#""cut_off":0.5"#, r#""cut_off":1.5"#),
            good.replace(r#""bias":0"#, r#""bias":1e999"#),
            good.replace(r#""format":1"#, r#""format":1,"extra":true"#),
        ] {
            assert!(Calibration::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_cut_off_keeps_the_target_share_of_allowed_scores() {
        let scores: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let cut = cut_off_for(scores.clone(), 0.95);
        assert_eq!(scores.iter().filter(|&&s| s >= cut).count(), 95);
    }
}
