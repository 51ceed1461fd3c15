//! The sentence-transformer's encoder with int8 linear layers: what makes
//! the model cheap enough for every issuance of a MAS that runs the semantic
//! check (issue 17: ≥ 400 intents/s on two cores).
//!
//! The 36 linear layers (90 % of the work) are int8 matrix products from
//! `rten-gemm` (VNNI where the CPU has it): weights quantized once per output
//! column (symmetric), activations per token row (symmetric, as u8) on every
//! call, accumulated in i32 and scaled back. Embeddings, layer norms,
//! attention, GELU and pooling stay f32. Tokens are packed without padding:
//! every step but attention is per token, and attention only reads its own
//! sequence, so a batch costs the sum of its texts' lengths, not n × longest.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use candle_transformers::models::bert::{Config, HiddenAct, PositionEmbeddingType};
use rayon::prelude::*;
use rten_gemm::{GemmExecutor, GemmInputA, GemmInputB, GemmOptions, PackedBMatrix, QuantParams};
use rten_tensor::NdTensorView;

const HIDDEN: usize = 384;
const HEADS: usize = 12;
const HEAD: usize = HIDDEN / HEADS;
const FFN: usize = 1536;
const LAYERS: usize = 6;
const EPS: f32 = 1e-12;
/// Texts per worker: a pass is split so both cores run it.
const CHUNK: usize = 8;

type Int8Gemm = GemmExecutor<u8, i8, i32>;

/// `y = x Wᵀ + b` with W quantized per output column.
struct Linear {
    weights: PackedBMatrix<i8>,
    scales: Vec<f32>,
    bias: Vec<f32>,
    zeros: Vec<i8>,
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Layer {
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    output_norm: Norm,
}

pub struct Int8Encoder {
    words: Vec<f32>,
    positions: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    /// Quantized activations' top value: 255, or 127 where the kernel's
    /// 16-bit intermediate sums could saturate (x86 without VNNI).
    activation_max: f32,
}

type Weights = HashMap<String, Tensor>;

fn vector(weights: &Weights, name: &str) -> candle_core::Result<Vec<f32>> {
    weights
        .get(name)
        .ok_or_else(|| candle_core::Error::Msg(format!("the weights have no {name}")))?
        .flatten_all()?
        .to_vec1::<f32>()
}

impl Norm {
    fn load(w: &Weights, prefix: &str) -> candle_core::Result<Self> {
        let (gamma, beta) = (vector(w, &format!("{prefix}.weight"))?, vector(w, &format!("{prefix}.bias"))?);
        if gamma.len() != HIDDEN || beta.len() != HIDDEN {
            return Err(candle_core::Error::Msg(format!(
                "{prefix}: {} and {} values, want {HIDDEN}",
                gamma.len(),
                beta.len()
            )));
        }
        Ok(Self { gamma, beta })
    }

    /// In place, each row of `x`.
    fn apply(&self, x: &mut [f32]) {
        for row in x.chunks_exact_mut(HIDDEN) {
            let mean = sum(row) / HIDDEN as f32;
            let var =
                lanes(row, row, |acc, v, _| acc + (v - mean) * (v - mean), 0.0).iter().sum::<f32>() / HIDDEN as f32;
            let inv = 1.0 / (var + EPS).sqrt();
            for ((v, g), b) in row.iter_mut().zip(&self.gamma).zip(&self.beta) {
                *v = (*v - mean) * inv * g + b;
            }
        }
    }
}

impl Linear {
    /// From PyTorch's `[out, in]` weights (one or several stacked along `out`).
    fn quantize(gemm: &Int8Gemm, rows: &[Vec<f32>], bias: Vec<f32>, inputs: usize) -> Self {
        const WEIGHT_MAX: f32 = 127.0;
        let outputs = rows.len();
        let mut scales = Vec::with_capacity(outputs);
        // Column-major for the kernel: [in, out].
        let mut q = vec![0i8; inputs * outputs];
        for (o, row) in rows.iter().enumerate() {
            let top = max_abs(row);
            let scale = if top > 0.0 { top / WEIGHT_MAX } else { 1.0 };
            scales.push(scale);
            for (i, v) in row.iter().enumerate() {
                q[i * outputs + o] = (v / scale).round().clamp(-WEIGHT_MAX, WEIGHT_MAX) as i8;
            }
        }
        let weights = gemm.prepack_b(NdTensorView::from_data([inputs, outputs], q.as_slice()));
        Self { weights, scales, bias, zeros: vec![0; outputs] }
    }

    /// `layer`'s `names` stacked along the output; each must be `[outputs, inputs]`
    /// (a file that disagrees is refused here, not at the first product).
    fn load(
        gemm: &Int8Gemm,
        w: &Weights,
        layer: &str,
        names: &[&str],
        (inputs, outputs): (usize, usize),
    ) -> candle_core::Result<Self> {
        let (mut rows, mut bias) = (Vec::new(), Vec::new());
        for name in names {
            let name = format!("{layer}.{name}");
            let t = w.get(&format!("{name}.weight")).ok_or_else(|| candle_core::Error::Msg(format!("no {name}")))?;
            let b = vector(w, &format!("{name}.bias"))?;
            if t.dims() != [outputs, inputs] || b.len() != outputs {
                return Err(candle_core::Error::Msg(format!(
                    "{name}: weights {:?} and bias [{}], want [{outputs}, {inputs}] and [{outputs}]",
                    t.dims(),
                    b.len()
                )));
            }
            rows.extend(t.to_vec2::<f32>()?);
            bias.extend(b);
        }
        Ok(Self::quantize(gemm, &rows, bias, inputs))
    }

    fn outputs(&self) -> usize {
        self.scales.len()
    }

    /// `x`: `tokens × in` rows; returns `tokens × out`.
    fn forward(&self, gemm: &Int8Gemm, x: &[f32], activation_max: f32) -> Vec<f32> {
        let inputs = self.weights.rows();
        let tokens = x.len() / inputs;
        let mut q = vec![0u8; x.len()];
        // Symmetric around one zero point shared by every row: rten-gemm 0.27
        // gave wrong rows past the first tile of 8 with per-row zero points
        // (found by `the_int8_encoder_agrees_with_f32`).
        let zero = (activation_max + 1.0) / 2.0;
        let mut row_scales = Vec::with_capacity(tokens);
        for (row, out) in x.chunks_exact(inputs).zip(q.chunks_exact_mut(inputs)) {
            let top = max_abs(row);
            let scale = if top > 0.0 { top / (zero - 1.0) } else { 1.0 };
            let inverse = 1.0 / scale;
            for (o, v) in out.iter_mut().zip(row) {
                *o = round_small((v * inverse + zero).clamp(0.0, activation_max)).1 as u8;
            }
            row_scales.push(scale);
        }
        let row_zeros = vec![zero as u8; tokens];
        let outputs = self.outputs();
        let mut acc = vec![0i32; tokens * outputs];
        let a = GemmInputA::Unpacked(NdTensorView::from_data([tokens, inputs], q.as_slice()));
        let opts = GemmOptions {
            a_quant: Some(QuantParams { zero_point: &row_zeros }),
            b_quant: Some(QuantParams { zero_point: &self.zeros }),
            ..Default::default()
        };
        gemm.gemm(&mut acc, a, GemmInputB::Packed(&self.weights), opts).expect("shapes fixed at load");
        let mut y = vec![0f32; tokens * outputs];
        for ((y, acc), s) in y.chunks_exact_mut(outputs).zip(acc.chunks_exact(outputs)).zip(&row_scales) {
            for (((y, a), w), b) in y.iter_mut().zip(acc).zip(&self.scales).zip(&self.bias) {
                *y = *a as f32 * s * w + b;
            }
        }
        y
    }
}

/// `x` rounded to the nearest integer, for |x| < 2²²: adding 1.5 × 2²³ leaves
/// the integer in the sum's low bits. Unlike `round` (a libm call without
/// SSE4.1) or a saturating `as` cast (a NaN check per value), this vectorizes.
fn round_small(x: f32) -> (f32, i32) {
    const MAGIC: f32 = 12_582_912.0;
    let t = x + MAGIC;
    (t - MAGIC, t.to_bits() as i32 - MAGIC.to_bits() as i32)
}

/// e^x for x ≤ 0, branch-free so that the loops using it vectorize
/// (relative error < 3e-7 on [-87, 0]).
fn exp_nonpositive(x: f32) -> f32 {
    let x = x.max(-87.0);
    let (n, k) = round_small(x * std::f32::consts::LOG2_E);
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (0.166_666_67 + r * (0.041_666_52 + r * (0.008_333_9 + r * 0.001_394_7)))));
    p * f32::from_bits(((k + 127) as u32) << 23)
}

/// The exact (erf) GELU BERT uses; erf by Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7).
fn gelu(x: &mut [f32]) {
    for v in x {
        let z = *v * std::f32::consts::FRAC_1_SQRT_2;
        let a = z.abs();
        let t = 1.0 / (1.0 + 0.327_591_1 * a);
        let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152 + t * 1.061_405_4))));
        let erf = (1.0 - poly * exp_nonpositive(-a * a)).copysign(z);
        *v = 0.5 * *v * (1.0 + erf);
    }
}

/// Eight lanes of partial results: a float fold in one lane is a chain of
/// dependent adds the compiler may not reorder, so it would not vectorize.
const LANES: usize = 8;

fn lanes(a: &[f32], b: &[f32], f: impl Fn(f32, f32, f32) -> f32, start: f32) -> [f32; LANES] {
    let mut acc = [start; LANES];
    let (a8, b8) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (a8.remainder(), b8.remainder());
    for (x, y) in a8.zip(b8) {
        for i in 0..LANES {
            acc[i] = f(acc[i], x[i], y[i]);
        }
    }
    for (i, (x, y)) in ra.iter().zip(rb).enumerate() {
        acc[i] = f(acc[i], *x, *y);
    }
    acc
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    lanes(a, b, |acc, x, y| acc + x * y, 0.0).iter().sum()
}

fn sum(a: &[f32]) -> f32 {
    lanes(a, a, |acc, x, _| acc + x, 0.0).iter().sum()
}

fn max_abs(a: &[f32]) -> f32 {
    lanes(a, a, |acc, x, _| acc.max(x.abs()), 0.0).iter().fold(0f32, |m, &v| m.max(v))
}

/// Self-attention within each sequence: `qkv` rows are [q | k | v], `spans` the sequences.
fn attention(qkv: &[f32], spans: &[(usize, usize)]) -> Vec<f32> {
    let width = 3 * HIDDEN;
    let scale = 1.0 / (HEAD as f32).sqrt();
    let mut out = vec![0f32; qkv.len() / 3];
    let mut scores = Vec::new();
    for &(start, len) in spans {
        for h in 0..HEADS {
            let (q, k, v) = (h * HEAD, HIDDEN + h * HEAD, 2 * HIDDEN + h * HEAD);
            for i in start..start + len {
                let qi = &qkv[i * width + q..i * width + q + HEAD];
                scores.clear();
                scores.extend((start..start + len).map(|j| dot(qi, &qkv[j * width + k..j * width + k + HEAD]) * scale));
                let top = scores.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
                scores.iter_mut().for_each(|s| *s = exp_nonpositive(*s - top));
                let inverse = 1.0 / sum(&scores);
                let o = &mut out[i * HIDDEN + h * HEAD..i * HIDDEN + (h + 1) * HEAD];
                for (j, p) in (start..start + len).zip(&scores) {
                    let (vj, p) = (&qkv[j * width + v..j * width + v + HEAD], p * inverse);
                    for (o, x) in o.iter_mut().zip(vj) {
                        *o += p * x;
                    }
                }
            }
        }
    }
    out
}

fn add(x: &mut [f32], y: &[f32]) {
    for (x, y) in x.iter_mut().zip(y) {
        *x += y;
    }
}

impl Int8Encoder {
    /// The shape is all-MiniLM-L6-v2's; another configuration is refused.
    pub fn load(weights: &[u8], config: &Config) -> candle_core::Result<Self> {
        let c = config;
        let shape = (c.hidden_size, c.num_attention_heads, c.intermediate_size, c.num_hidden_layers);
        if shape != (HIDDEN, HEADS, FFN, LAYERS)
            || c.hidden_act != HiddenAct::Gelu
            || c.position_embedding_type != PositionEmbeddingType::Absolute
            || c.layer_norm_eps as f32 != EPS
        {
            return Err(candle_core::Error::Msg(format!(
                "int8 runs all-MiniLM-L6-v2's shape only (hidden {HIDDEN}, {HEADS} heads, FFN {FFN}, {LAYERS} layers, \
                 erf GELU, absolute positions), not {shape:?} {:?}",
                c.hidden_act
            )));
        }
        let w: Weights = candle_core::safetensors::load_buffer(weights, &Device::Cpu)?;
        let gemm = Int8Gemm::default();
        // Without VNNI, x86's u8×i8 pairs are summed in 16 bits: 7-bit activations keep them exact.
        let activation_max = if gemm.may_saturate() { 127.0 } else { 255.0 };
        let layers = (0..LAYERS)
            .map(|l| {
                let p = format!("encoder.layer.{l}");
                let linear = |names: &[&str], shape| Linear::load(&gemm, &w, &p, names, shape);
                let qkv = ["attention.self.query", "attention.self.key", "attention.self.value"];
                Ok(Layer {
                    qkv: linear(&qkv, (HIDDEN, HIDDEN))?,
                    attention_out: linear(&["attention.output.dense"], (HIDDEN, HIDDEN))?,
                    attention_norm: Norm::load(&w, &format!("{p}.attention.output.LayerNorm"))?,
                    up: linear(&["intermediate.dense"], (HIDDEN, FFN))?,
                    down: linear(&["output.dense"], (FFN, HIDDEN))?,
                    output_norm: Norm::load(&w, &format!("{p}.output.LayerNorm"))?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            words: vector(&w, "embeddings.word_embeddings.weight")?,
            positions: vector(&w, "embeddings.position_embeddings.weight")?,
            token_type: vector(&w, "embeddings.token_type_embeddings.weight")?,
            embedding_norm: Norm::load(&w, "embeddings.LayerNorm")?,
            layers,
            activation_max,
        })
    }

    /// Bits of the quantized activations (8 with VNNI, 7 where the kernel could saturate):
    /// the embeddings differ between the two, so the model's id names it.
    pub fn activation_bits(&self) -> u32 {
        if self.activation_max > 127.0 {
            8
        } else {
            7
        }
    }

    /// Mean-pooled, L2-normalised sentence embeddings of tokenized texts
    /// (`(ids, type ids)` without padding).
    pub fn embed(&self, texts: &[(Vec<u32>, Vec<u32>)]) -> candle_core::Result<Vec<Vec<f32>>> {
        let chunks: Vec<Vec<Vec<f32>>> =
            texts.par_chunks(CHUNK).map(|chunk| self.embed_chunk(chunk)).collect::<Result<_, _>>()?;
        Ok(chunks.into_iter().flatten().collect())
    }

    fn embed_chunk(&self, texts: &[(Vec<u32>, Vec<u32>)]) -> candle_core::Result<Vec<Vec<f32>>> {
        fn row<'t>(table: &'t [f32], i: u32, what: &str) -> candle_core::Result<&'t [f32]> {
            let i = i as usize;
            table.get(i * HIDDEN..(i + 1) * HIDDEN).ok_or_else(|| {
                candle_core::Error::Msg(format!(
                    "{what} {i} is beyond the model's table (a tokenizer of another model?)"
                ))
            })
        }
        // Not `Send` (a boxed kernel): one per call, the same kernel the weights were packed for.
        let gemm = Int8Gemm::default();
        let mut spans = Vec::with_capacity(texts.len());
        let mut x = Vec::new();
        for (ids, types) in texts {
            spans.push((x.len() / HIDDEN, ids.len()));
            for (pos, (&id, &ty)) in ids.iter().zip(types).enumerate() {
                let at = x.len();
                x.extend_from_slice(row(&self.words, id, "token id")?);
                add(&mut x[at..], row(&self.positions, pos as u32, "position")?);
                add(&mut x[at..], row(&self.token_type, ty, "token type")?);
            }
        }
        self.embedding_norm.apply(&mut x);
        let a = self.activation_max;
        for layer in &self.layers {
            let qkv = layer.qkv.forward(&gemm, &x, a);
            let mut attended = layer.attention_out.forward(&gemm, &attention(&qkv, &spans), a);
            add(&mut attended, &x);
            layer.attention_norm.apply(&mut attended);
            let mut hidden = layer.up.forward(&gemm, &attended, a);
            gelu(&mut hidden);
            let mut out = layer.down.forward(&gemm, &hidden, a);
            add(&mut out, &attended);
            layer.output_norm.apply(&mut out);
            x = out;
        }
        Ok(spans
            .iter()
            .map(|&(start, len)| {
                let mut mean = vec![0f32; HIDDEN];
                for row in x[start * HIDDEN..(start + len) * HIDDEN].chunks_exact(HIDDEN) {
                    add(&mut mean, row);
                }
                let norm = dot(&mean, &mean).sqrt().max(1e-12);
                mean.iter_mut().for_each(|v| *v /= norm);
                mean
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_approximations_match_their_functions() {
        for i in 0..=8700 {
            let x = -(i as f32) / 100.0;
            let (got, want) = (exp_nonpositive(x), x.exp());
            assert!((got - want).abs() <= 3e-7 * want + 1e-38, "exp({x}) = {got}, want {want}");
        }
        for i in -600..=600 {
            let x = i as f32 / 100.0;
            let mut v = [x];
            gelu(&mut v);
            let want = 0.5 * x as f64 * (1.0 + libm_erf(x as f64 / std::f64::consts::SQRT_2));
            assert!((v[0] as f64 - want).abs() < 1e-6, "gelu({x}) = {}, want {want}", v[0]);
        }
    }

    /// erf by its Maclaurin series (converges for the |x| ≤ 4.3 tested).
    fn libm_erf(x: f64) -> f64 {
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }
}
