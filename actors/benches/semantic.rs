//! The exchange-time semantic check: one matrix-vector product over the
//! MAS's precomputed tool embeddings, then the per-tool verdict.
//!
//! `cargo bench -p casa-actors --bench semantic`

use std::collections::HashMap;

use casa_actors::checks::{Check, CheckInput, SemanticIntent, ToolIndex};
use casa_actors::intent::{normalize, Embedding};
use casa_actors::lexical::{ToolWords, Words};
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
    // A session's words are derived once per session, not per exchange.
    let task = Words::of("update my latte order to a large size with coconut milk, tool 17");
    let subject = claims();
    let judgements = HashMap::new();
    c.bench_function(name, |b| {
        b.iter(|| {
            let matched = index.rank(&intent, &task);
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

fn index_of(names: &[String], tools: &[Embedding]) -> ToolIndex {
    let words = |i: usize| ToolWords::of(&names[i], &format!("Changes the order item number {i} as the customer asks"));
    ToolIndex::new("bench", names.iter().zip(tools).enumerate().map(|(i, (n, e))| (n.as_str(), words(i), e)))
}

fn semantic_check(c: &mut Criterion) {
    let (names, tools) = fifty_tools();
    let index = index_of(&names, &tools);
    let check = SemanticIntent(SemanticSettings { threshold: 0.18, top_k: Some(5), min_probability: None });
    bench_check(c, "semantic check, 50 tools (rank + verdict)", &index, &check);
}

/// The calibrated check with the shipped calibration: the same product,
/// then every tool's relative features (cosines and word overlaps) and
/// probability, then the verdict.
fn calibrated_check(c: &mut Criterion) {
    use casa_actors::relevance::Calibration;
    let mut calibration =
        Calibration::from_json(include_str!("../../calibration/intent-all-MiniLM-L6-v2.json")).expect("shipped");
    calibration.embedding_model = "bench".into();
    let (names, tools) = fifty_tools();
    let index = index_of(&names, &tools).with_calibration(Some(std::sync::Arc::new(calibration)));
    let check = SemanticIntent(SemanticSettings::default());
    bench_check(c, "calibrated semantic check, 50 tools (rank + features + probability + verdict)", &index, &check);
}

criterion_group!(benches, semantic_check, calibrated_check);
criterion_main!(benches);
