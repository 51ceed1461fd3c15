//! The exchange-time semantic check: one matrix-vector product over the
//! MAS's precomputed tool embeddings, then the per-tool verdict.
//!
//! `cargo bench -p casa-actors --bench semantic`

use std::collections::HashMap;

use casa_actors::checks::{Check, CheckInput, SemanticIntent, ToolIndex};
use casa_actors::intent::{normalize, Embedding};
use casa_actors::model::SemanticSettings;
use casa_actors::token::Claims;
use criterion::{criterion_group, criterion_main, Criterion};

/// Deterministic pseudo-random unit vectors of MiniLM's size.
fn vectors(n: usize, seed: u64) -> Vec<Embedding> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            let v = (0..384)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 2000) as f32 / 1000.0 - 1.0
                })
                .collect();
            Embedding { model: "bench".into(), vector: normalize(v) }
        })
        .collect()
}

fn claims() -> Claims {
    serde_json::from_value(serde_json::json!({
        "iss": "i", "sub": "s", "aud": "a", "client_id": "c", "iat": 0, "nbf": 0, "exp": 1,
        "jti": "j", "scope": "", "uiid": "u", "tools": []
    }))
    .unwrap()
}

/// Ranks an intent over 50 tools and decides one of them, as an exchange does.
fn bench_check(c: &mut Criterion, name: &str, index: &ToolIndex, check: &SemanticIntent) {
    let intent = vectors(1, 99).remove(0);
    let subject = claims();
    let judgements = HashMap::new();
    c.bench_function(name, |b| {
        b.iter(|| {
            let matched = index.rank(&intent);
            let input = CheckInput {
                tool: "tool:17",
                subject: &subject,
                llm_calls: &[],
                intent: &matched,
                judgements: &judgements,
            };
            check.evaluate(&input)
        })
    });
}

fn fifty_tools() -> (Vec<String>, Vec<Embedding>) {
    ((0..50).map(|i| format!("tool:{i}")).collect(), vectors(50, 7))
}

fn semantic_check(c: &mut Criterion) {
    let (names, tools) = fifty_tools();
    let index = ToolIndex::new("bench", names.iter().map(String::as_str).zip(&tools));
    let check = SemanticIntent(SemanticSettings { threshold: 0.18, top_k: Some(5), min_probability: None });
    bench_check(c, "semantic check, 50 tools (rank + verdict)", &index, &check);
}

/// The calibrated check: the same product, then every tool's relative
/// features and probability, then the verdict.
fn calibrated_check(c: &mut Criterion) {
    use casa_actors::relevance::{Calibration, Fit, Term};
    let names_of_terms: Vec<String> =
        ["cosine", "margin", "z", "softmax", "cosine*margin", "margin*margin"].map(String::from).to_vec();
    let terms: Vec<Term> = names_of_terms.iter().map(|t| Term::parse(t).unwrap()).collect();
    let k = terms.len();
    let fit = Fit { mean: vec![0.1; k], scale: vec![0.2; k], weights: vec![0.5; k], bias: -1.0 };
    let calibration = std::sync::Arc::new(Calibration::new("bench", "bench", &terms, &names_of_terms, &fit, 0.3));
    let (names, tools) = fifty_tools();
    let index =
        ToolIndex::new("bench", names.iter().map(String::as_str).zip(&tools)).with_calibration(Some(calibration));
    let check = SemanticIntent(SemanticSettings::default());
    bench_check(c, "calibrated semantic check, 50 tools (rank + features + probability + verdict)", &index, &check);
}

criterion_group!(benches, semantic_check, calibrated_check);
criterion_main!(benches);
