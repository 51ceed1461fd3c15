//! Rules (a feature with a cut-off, a logistic regression, or gradient-boosted
//! trees) and their grouped k-fold cross-validation.

use super::*;

/// A rule: a score per row and a cut-off chosen on the fitting folds.
#[derive(Debug, Clone)]
pub(super) enum Rule {
    /// One base feature, higher = more likely needed (`rank` is negated).
    Feature {
        name: String,
        index: usize,
        sign: f64,
    },
    Logistic {
        names: Vec<String>,
        terms: Vec<Term>,
    },
    Trees {
        names: Vec<String>,
        terms: Vec<Term>,
    },
}

/// The tree ensembles' settings (XGBoost's algorithm, by `forust-ml`):
/// recorded in a fitted calibration.
pub(super) const TREES: TreeSettings =
    TreeSettings { rounds: 100, learning_rate: 0.1, max_depth: 3, l2: 1.0, min_leaf_weight: 1.0 };

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(super) struct TreeSettings {
    rounds: usize,
    learning_rate: f64,
    max_depth: usize,
    l2: f32,
    min_leaf_weight: f32,
}

/// Fits gradient-boosted trees for the log-loss over the raw term values
/// of `rows` and converts them to the calibration's own tree format.
pub(super) fn fit_forest(terms: &[Term], rows: &[&Row]) -> relevance::Forest {
    forest_of(&boost(terms, rows))
}

/// Column-major term values, as forust reads them.
fn matrix_data(terms: &[Term], rows: &[&Row]) -> Vec<f64> {
    terms.iter().flat_map(|t| rows.iter().map(move |r| t.value(&r.features))).collect()
}

fn boost(terms: &[Term], rows: &[&Row]) -> forust_ml::GradientBooster {
    let n = rows.len();
    let data = matrix_data(terms, rows);
    let labels: Vec<f64> = rows.iter().map(|r| r.allow as u8 as f64).collect();
    let mut booster = forust_ml::GradientBooster::default()
        .set_iterations(TREES.rounds)
        .set_learning_rate(TREES.learning_rate as f32)
        .set_max_depth(TREES.max_depth)
        .set_l2(TREES.l2)
        .set_min_leaf_weight(TREES.min_leaf_weight)
        .set_parallel(false);
    booster.fit(&forust_ml::Matrix::new(&data, n, terms.len()), &labels, &vec![1.0; n], None).expect("finite data");
    booster
}

fn forest_of(booster: &forust_ml::GradientBooster) -> relevance::Forest {
    let tree = |t: &forust_ml::tree::Tree| relevance::Tree {
        // (forust's node type is not nameable, its fields are public.)
        nodes: t
            .nodes
            .iter()
            .map(|n| match n.is_leaf {
                true => relevance::Node::Leaf(n.weight_value as f64),
                false => relevance::Node::Split {
                    term: n.split_feature,
                    below: n.split_value,
                    left: n.left_child,
                    right: n.right_child,
                },
            })
            .collect(),
    };
    relevance::Forest { base: booster.base_score, trees: booster.trees.iter().map(tree).collect() }
}

impl Rule {
    pub(super) fn parse(text: &str) -> anyhow::Result<Self> {
        let model = text.split_once(':').filter(|(kind, _)| ["lr", "trees"].contains(kind));
        if let Some((kind, list)) = model {
            let names: Vec<String> = list.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
            let terms =
                names.iter().map(|t| Term::parse(t)).collect::<Result<Vec<_>, _>>().map_err(anyhow::Error::msg)?;
            anyhow::ensure!(!terms.is_empty(), "{kind}: needs at least one term");
            return Ok(match kind {
                "lr" => Self::Logistic { names, terms },
                _ => Self::Trees { names, terms },
            });
        }
        let (name, sign) = if text == "rank" { ("log_rank", -1.0) } else { (text, 1.0) };
        let index = relevance::BASE.iter().position(|b| *b == name).ok_or_else(|| {
            anyhow::anyhow!("unknown rule {text:?} (a feature of {:?}, rank, lr:TERMS or trees:TERMS)", relevance::BASE)
        })?;
        Ok(Self::Feature { name: text.to_string(), index, sign })
    }

    pub(super) fn label(&self) -> String {
        match self {
            Self::Feature { name, .. } => format!("{name} ≥ t"),
            Self::Logistic { names, .. } => format!("logistic({})", names.join(", ")),
            Self::Trees { names, .. } => format!("trees({})", names.join(", ")),
        }
    }

    /// Fits on `train` and returns the scoring function.
    pub(super) fn fit(&self, train: &[&Row], l2: f64) -> Box<dyn Fn(&Features) -> f64> {
        match self {
            Self::Feature { index, sign, .. } => {
                let (i, s) = (*index, *sign);
                Box::new(move |f| s * f.get(i))
            }
            Self::Logistic { terms, .. } => {
                let features: Vec<Features> = train.iter().map(|r| r.features).collect();
                let labels: Vec<bool> = train.iter().map(|r| r.allow).collect();
                let fit = relevance::fit(terms, &features, &labels, l2);
                let terms = terms.clone();
                Box::new(move |f| fit.probability(&terms, f))
            }
            Self::Trees { terms, .. } => {
                let forest = fit_forest(terms, train);
                let terms = terms.clone();
                Box::new(move |f| forest.probability(&terms, f))
            }
        }
    }

    /// Where a rule's cut-off comes from. A tree ensemble's probabilities on
    /// the rows it was fitted on are over-confident, so a cut-off taken from
    /// them lets fewer needed tools through on new data (measured: allow
    /// 0.917 for a target of 0.95); its cut-off comes from out-of-fold
    /// probabilities within the fitting folds instead.
    fn cut_off(&self, train: &[&Row], score: &dyn Fn(&Features) -> f64, setup: &Setup) -> f64 {
        let allowed: Vec<f64> = match self {
            Self::Trees { .. } => {
                let folds: std::collections::BTreeSet<usize> = train.iter().map(|r| r.fold).collect();
                let mut out = Vec::new();
                for j in folds {
                    let inner: Vec<&Row> = train.iter().copied().filter(|r| r.fold != j).collect();
                    let inner_score = self.fit(&inner, setup.l2);
                    out.extend(train.iter().filter(|r| r.fold == j && r.allow).map(|r| inner_score(&r.features)));
                }
                out
            }
            _ => train.iter().filter(|r| r.allow).map(|r| score(&r.features)).collect(),
        };
        relevance::cut_off_for(allowed, setup.allow_target)
    }
}

pub(super) fn recall_at(rows: &[&Row], score: &dyn Fn(&Features) -> f64, cut: f64) -> Recall {
    let (mut allowed, mut allows, mut denied, mut denies) = (0, 0, 0, 0);
    for r in rows {
        let pass = score(&r.features) >= cut;
        if r.allow {
            allows += 1;
            allowed += pass as usize;
        } else {
            denies += 1;
            denied += !pass as usize;
        }
    }
    Recall { allow: allowed as f64 / allows.max(1) as f64, deny: denied as f64 / denies.max(1) as f64 }
}

/// Per fold: (dev recall, many-tools recall, cut-off); and every fit-layout row's out-of-fold score.
pub(super) struct CrossValidated {
    pub(super) folds: Vec<(Recall, Recall, f64)>,
    pub(super) out_of_fold: Vec<(bool, f64)>,
}

pub(super) fn cross_validate(rule: &Rule, dev: &[Row], many: &[Row], setup: &Setup) -> CrossValidated {
    let mut folds = Vec::new();
    let mut out_of_fold = Vec::new();
    for k in 0..setup.folds {
        let fitting = dev.iter().chain(if setup.fit_on == FitOn::Both { many } else { &[] });
        let train: Vec<&Row> = fitting.clone().filter(|r| r.fold != k).collect();
        let score = rule.fit(&train, setup.l2);
        let cut = rule.cut_off(&train, &*score, setup);
        let test_dev: Vec<&Row> = dev.iter().filter(|r| r.fold == k).collect();
        let test_many: Vec<&Row> = many.iter().filter(|r| r.fold == k).collect();
        folds.push((recall_at(&test_dev, &*score, cut), recall_at(&test_many, &*score, cut), cut));
        out_of_fold.extend(fitting.filter(|r| r.fold == k).map(|r| (r.allow, score(&r.features))));
    }
    CrossValidated { folds, out_of_fold }
}

/// Mean and standard deviation over folds.
pub(super) fn spread(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let v: Vec<f64> = values.collect();
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    (mean, sd)
}

pub(super) fn summary(cv: &CrossValidated) -> serde_json::Value {
    let part = |pick: &dyn Fn(&(Recall, Recall, f64)) -> Recall| {
        let (am, asd) = spread(cv.folds.iter().map(|f| pick(f).allow));
        let (dm, dsd) = spread(cv.folds.iter().map(|f| pick(f).deny));
        serde_json::json!({"allow_mean": round3(am), "allow_sd": round3(asd), "deny_mean": round3(dm), "deny_sd": round3(dsd)})
    };
    serde_json::json!({"dev": part(&|f| f.0), "many_tools": part(&|f| f.1)})
}

pub(super) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub(super) fn cell(cv: &CrossValidated, pick: impl Fn(&(Recall, Recall, f64)) -> f64) -> String {
    let (m, sd) = spread(cv.folds.iter().map(pick));
    format!("{m:.3} ± {sd:.3}")
}

/// Dev allow, dev deny, many-tools allow, many-tools deny.
pub(super) fn cells(cv: &CrossValidated) -> [String; 4] {
    [cell(cv, |f| f.0.allow), cell(cv, |f| f.0.deny), cell(cv, |f| f.1.allow), cell(cv, |f| f.1.deny)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_converted_forest_predicts_what_forust_predicts() {
        let rows: Vec<Row> = (0..400)
            .map(|i| {
                let (cosine, margin) = ((i % 20) as f64 / 20.0, -((i / 20) as f64) / 40.0);
                let features = Features { cosine, margin, ..Default::default() };
                Row { fold: 0, question: i, tool: String::new(), allow: cosine + 2.0 * margin > 0.3, features }
            })
            .collect();
        let rows: Vec<&Row> = rows.iter().collect();
        let terms = vec![Term::parse("cosine").unwrap(), Term::parse("margin").unwrap()];
        let booster = boost(&terms, &rows);
        let forest = forest_of(&booster);
        forest.check(terms.len()).expect("a valid ensemble");
        let data = matrix_data(&terms, &rows);
        let expected = booster.predict(&forust_ml::Matrix::new(&data, rows.len(), terms.len()), false);
        for (r, log_odds) in rows.iter().zip(expected) {
            let p = forest.probability(&terms, &r.features);
            assert!((p - 1.0 / (1.0 + (-log_odds).exp())).abs() < 1e-9, "{p} vs {log_odds}");
        }
        let correct = rows.iter().filter(|r| (forest.probability(&terms, &r.features) >= 0.5) == r.allow).count();
        assert!(correct as f64 >= 0.97 * rows.len() as f64, "{correct} of {}", rows.len());
    }
}
