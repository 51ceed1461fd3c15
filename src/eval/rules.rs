//! Rules (a feature with a cut-off, or a logistic regression) and their
//! grouped k-fold cross-validation.

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
}

impl Rule {
    pub(super) fn parse(text: &str) -> anyhow::Result<Self> {
        if let Some(list) = text.strip_prefix("lr:") {
            let names: Vec<String> = list.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
            let terms =
                names.iter().map(|t| Term::parse(t)).collect::<Result<Vec<_>, _>>().map_err(anyhow::Error::msg)?;
            anyhow::ensure!(!terms.is_empty(), "lr: needs at least one term");
            return Ok(Self::Logistic { names, terms });
        }
        let (name, sign) = if text == "rank" { ("log_rank", -1.0) } else { (text, 1.0) };
        let index = relevance::BASE.iter().position(|b| *b == name).ok_or_else(|| {
            anyhow::anyhow!("unknown rule {text:?} (a feature of {:?}, rank, or lr:TERMS)", relevance::BASE)
        })?;
        Ok(Self::Feature { name: text.to_string(), index, sign })
    }

    pub(super) fn label(&self) -> String {
        match self {
            Self::Feature { name, .. } => format!("{name} ≥ t"),
            Self::Logistic { names, .. } => format!("logistic({})", names.join(", ")),
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
        }
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
        let cut = relevance::cut_off_for(
            train.iter().filter(|r| r.allow).map(|r| score(&r.features)).collect(),
            setup.allow_target,
        );
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
