//! The core of multi-head scaled dot-product attention (Vaswani et al., 2017, "Attention Is
//! All You Need") as one operation: for every head, the scores of the queries against the
//! keys, the masked softmax, dropout of the weights and the weighted sum of the values,
//! read from and written to the `[B, T, D]` layout of the affine maps around it (head `h`
//! is columns `h·d_k..(h + 1)·d_k`). Composed, the heads are split with a transposing
//! copy of each of q, k and v, the two batched products zero-fill their outputs, and the
//! context is copied back; at the lengths of sentences the products are a few thousand
//! multiply-adds per head, less work than the copies.
//!
//! Layout: queries `[B, T, D]`, keys and values `[B, S, D]`, `pad` `[B, S]` (non-zero at
//! padding keys), dropout factors of the weights `[B, heads, T, S]`; the output
//! `[B, T, D]`. A query with no visible key attends uniformly to all of them, as the
//! attention softmax does.

use rayon::prelude::*;

use super::fast_math::{dot, exp, max, simd, sum};

/// The sizes and the masking.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    /// Batch rows (B).
    pub batch: usize,
    /// Query positions (T).
    pub queries: usize,
    /// Key positions (S).
    pub keys: usize,
    /// Model size (D).
    pub model: usize,
    /// Heads; d_k = D / heads.
    pub heads: usize,
    /// Whether query t may not see keys after t.
    pub causal: bool,
    /// Factor of the scores (1/√d_k).
    pub scale: f32,
}

/// The inputs.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// Queries `[B, T, D]`.
    pub q: &'a [f32],
    /// Keys `[B, S, D]`.
    pub k: &'a [f32],
    /// Values `[B, S, D]`.
    pub v: &'a [f32],
    /// `[B, S]`, non-zero at padding keys.
    pub pad: &'a [f32],
    /// Dropout factors of the weights `[B, heads, T, S]`.
    pub drop: &'a [f32],
}

impl Inputs<'_> {
    fn check(&self, sh: Shape) {
        let Shape { batch: b, queries: t, keys: s, model: d, heads, .. } = sh;
        assert!(heads > 0 && d % heads == 0, "the model size must divide into the heads");
        assert!(self.q.len() == b * t * d && self.k.len() == b * s * d);
        assert!(self.v.len() == b * s * d && self.pad.len() == b * s);
        assert!(self.drop.len() == b * heads * t * s, "dropout factors of the wrong size");
    }
}

/// Whether key `j` is visible to query `i` of a row with padding `pad`.
#[inline(always)]
fn visible(pad: &[f32], causal: bool, i: usize, j: usize) -> bool {
    pad[j] == 0.0 && (!causal || j <= i)
}

/// The attention weights `[B, heads, T, S]` (before dropout) and the context `[B, T, D]`.
pub fn forward(x: Inputs<'_>, sh: Shape) -> (Vec<f32>, Vec<f32>) {
    x.check(sh);
    let Shape { queries: t, keys: s, model: d, heads, causal, scale, .. } = sh;
    let dk = d / heads;
    let mut weights = vec![0f32; sh.batch * heads * t * s];
    let mut context = vec![0f32; sh.batch * t * d];
    if t == 0 || d == 0 {
        return (weights, context);
    }
    weights
        .par_chunks_mut((heads * t * s).max(1))
        .zip(context.par_chunks_mut(t * d))
        .enumerate()
        .for_each(|(b, (w_b, ctx_b))| {
            let (q, k, v) = (&x.q[b * t * d..], &x.k[b * s * d..], &x.v[b * s * d..]);
            let pad = &x.pad[b * s..(b + 1) * s];
            let drop = &x.drop[b * heads * t * s..];
            simd(|| {
                for hd in 0..heads {
                    let cols = hd * dk..(hd + 1) * dk;
                    for i in 0..t {
                        let row = (hd * t + i) * s;
                        let w = &mut w_b[row..row + s];
                        if s == 0 {
                            continue;
                        }
                        let qi = &q[i * d..][cols.clone()];
                        if !(0..s).any(|j| visible(pad, causal, i, j)) {
                            w.fill(1.0 / s as f32);
                        } else {
                            for (j, wj) in w.iter_mut().enumerate() {
                                *wj = if visible(pad, causal, i, j) {
                                    dot(qi, &k[j * d..][cols.clone()]) * scale
                                } else {
                                    f32::NEG_INFINITY
                                };
                            }
                            let m = max(w);
                            w.iter_mut().for_each(|v| *v = exp(*v - m));
                            // exp clamps its argument at −87, so masked keys need zeroing.
                            for (j, wj) in w.iter_mut().enumerate() {
                                if !visible(pad, causal, i, j) {
                                    *wj = 0.0;
                                }
                            }
                            let inv = 1.0 / sum(w);
                            w.iter_mut().for_each(|v| *v *= inv);
                        }
                        let ctx = &mut ctx_b[i * d..][cols.clone()];
                        for (j, &wj) in w.iter().enumerate() {
                            let a = wj * drop[row + j];
                            let vj = &v[j * d..][cols.clone()];
                            ctx.iter_mut().zip(vj).for_each(|(c, &vv)| *c += a * vv);
                        }
                    }
                }
            });
        });
    (weights, context)
}

/// The gradients of q, k and v from the weights of [`forward`] and the gradient `grad`
/// `[B, T, D]` of the context.
pub fn backward(
    x: Inputs<'_>,
    sh: Shape,
    weights: &[f32],
    grad: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    x.check(sh);
    let Shape { queries: t, keys: s, model: d, heads, causal, scale, .. } = sh;
    let b_len = sh.batch;
    let dk = d / heads;
    let mut d_q = vec![0f32; b_len * t * d];
    let mut d_k = vec![0f32; b_len * s * d];
    let mut d_v = vec![0f32; b_len * s * d];
    if t == 0 || s == 0 || d == 0 {
        return (d_q, d_k, d_v);
    }
    d_q.par_chunks_mut(t * d)
        .zip(d_k.par_chunks_mut(s * d))
        .zip(d_v.par_chunks_mut(s * d))
        .enumerate()
        .for_each(|(b, ((dq, dkb), dvb))| {
            let (q, k, v) = (&x.q[b * t * d..], &x.k[b * s * d..], &x.v[b * s * d..]);
            let pad = &x.pad[b * s..(b + 1) * s];
            let drop = &x.drop[b * heads * t * s..];
            let w_b = &weights[b * heads * t * s..];
            let g = &grad[b * t * d..];
            let mut dw = vec![0f32; s];
            simd(|| {
                for hd in 0..heads {
                    let cols = hd * dk..(hd + 1) * dk;
                    for i in 0..t {
                        let row = (hd * t + i) * s;
                        let w = &w_b[row..row + s];
                        let gi = &g[i * d..][cols.clone()];
                        for (j, dwj) in dw.iter_mut().enumerate() {
                            let vj = &v[j * d..][cols.clone()];
                            *dwj = dot(gi, vj) * drop[row + j];
                            let a = w[j] * drop[row + j];
                            let dvj = &mut dvb[j * d..][cols.clone()];
                            dvj.iter_mut().zip(gi).for_each(|(x, &gv)| *x += a * gv);
                        }
                        if !(0..s).any(|j| visible(pad, causal, i, j)) {
                            continue;
                        }
                        let wg = dot(w, &dw);
                        let qi = &q[i * d..][cols.clone()];
                        for j in 0..s {
                            let d_score = scale * w[j] * (dw[j] - wg);
                            if d_score == 0.0 {
                                continue;
                            }
                            let kj = &k[j * d..][cols.clone()];
                            let dqi = &mut dq[i * d..][cols.clone()];
                            dqi.iter_mut().zip(kj).for_each(|(x, &kv)| *x += d_score * kv);
                            let dkj = &mut dkb[j * d..][cols.clone()];
                            dkj.iter_mut().zip(qi).for_each(|(x, &qv)| *x += d_score * qv);
                        }
                    }
                }
            });
        });
    (d_q, d_k, d_v)
}
