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

use super::affine::{rows, serial_product, View};
use super::fast_math::{dot, exp, max, simd, sum};
use super::zeros;

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

/// Head `hd` of row `b` of a `[B, N, D]` tensor as an `[N, d_k]` matrix view.
fn head<'a>(x: &'a [f32], sh: Shape, n: usize, b: usize, hd: usize) -> View<'a> {
    let dk = sh.model / sh.heads;
    View { values: &x[b * n * sh.model + hd * dk..], row_stride: sh.model, col_stride: 1 }
}

/// The same head transposed, `[d_k, N]`.
fn head_t<'a>(x: &'a [f32], sh: Shape, n: usize, b: usize, hd: usize) -> View<'a> {
    let v = head(x, sh, n, b, hd);
    View { values: v.values, row_stride: 1, col_stride: sh.model }
}

/// Turns the scores `w` `[T, S]` of one head into its attention weights in place.
fn softmax_rows(w: &mut [f32], pad: &[f32], sh: Shape) {
    let s = sh.keys;
    for (i, row) in w.chunks_exact_mut(s).enumerate() {
        if !(0..s).any(|j| visible(pad, sh.causal, i, j)) {
            row.fill(1.0 / s as f32);
            continue;
        }
        for (j, v) in row.iter_mut().enumerate() {
            *v = if visible(pad, sh.causal, i, j) { *v * sh.scale } else { f32::NEG_INFINITY };
        }
        let m = max(row);
        row.iter_mut().for_each(|v| *v = exp(*v - m));
        // exp clamps its argument at −87, so masked keys need zeroing.
        for (j, v) in row.iter_mut().enumerate() {
            if !visible(pad, sh.causal, i, j) {
                *v = 0.0;
            }
        }
        let inv = 1.0 / sum(row);
        row.iter_mut().for_each(|v| *v *= inv);
    }
}

/// The attention weights `[B, heads, T, S]` (before dropout) and the context `[B, T, D]`.
/// Per row of the batch (one parallel task), each head's two products are small matrix
/// products on the task's thread.
pub fn forward(x: Inputs<'_>, sh: Shape) -> (Vec<f32>, Vec<f32>) {
    x.check(sh);
    let Shape { queries: t, keys: s, model: d, heads, .. } = sh;
    let dk = d / heads;
    let mut weights = zeros(sh.batch * heads * t * s);
    let mut context = zeros(sh.batch * t * d);
    if t == 0 || s == 0 || d == 0 {
        return (weights, context);
    }
    weights.par_chunks_mut(heads * t * s).zip(context.par_chunks_mut(t * d)).enumerate().for_each(
        |(b, (w_b, ctx_b))| {
            let pad = &x.pad[b * s..(b + 1) * s];
            let mut dropped = vec![0f32; t * s];
            for hd in 0..heads {
                let w = &mut w_b[hd * t * s..(hd + 1) * t * s];
                let (q, k_t) = (head(x.q, sh, t, b, hd), head_t(x.k, sh, s, b, hd));
                serial_product([t, s, dk], q, k_t, w, s, false);
                simd(|| softmax_rows(w, pad, sh));
                let drop = &x.drop[(b * heads + hd) * t * s..(b * heads + hd + 1) * t * s];
                dropped.iter_mut().zip(w.iter().zip(drop)).for_each(|(o, (&a, &f))| *o = a * f);
                let out = &mut ctx_b[hd * dk..];
                serial_product(
                    [t, dk, s],
                    rows(&dropped, s),
                    head(x.v, sh, s, b, hd),
                    out,
                    d,
                    false,
                );
            }
        },
    );
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
    let mut d_q = zeros(b_len * t * d);
    let mut d_k = zeros(b_len * s * d);
    let mut d_v = zeros(b_len * s * d);
    if t == 0 || s == 0 || d == 0 {
        return (d_q, d_k, d_v);
    }
    d_q.par_chunks_mut(t * d)
        .zip(d_k.par_chunks_mut(s * d))
        .zip(d_v.par_chunks_mut(s * d))
        .enumerate()
        .for_each(|(b, ((dq, dkb), dvb))| {
            let pad = &x.pad[b * s..(b + 1) * s];
            let (mut dropped, mut d_w) = (vec![0f32; t * s], vec![0f32; t * s]);
            for hd in 0..heads {
                let at = (b * heads + hd) * t * s;
                let (w, drop) = (&weights[at..at + t * s], &x.drop[at..at + t * s]);
                dropped.iter_mut().zip(w.iter().zip(drop)).for_each(|(o, (&a, &f))| *o = a * f);
                let g = head(grad, sh, t, b, hd);
                // dV = (w·drop)ᵀ·dctx, d(w·drop) = dctx·Vᵀ.
                let dropped_t = View { values: &dropped, row_stride: 1, col_stride: s };
                serial_product([s, dk, t], dropped_t, g, &mut dvb[hd * dk..], d, false);
                serial_product([t, s, dk], g, head_t(x.v, sh, s, b, hd), &mut d_w, s, false);
                simd(|| {
                    for (i, (dw, wr)) in d_w.chunks_exact_mut(s).zip(w.chunks_exact(s)).enumerate()
                    {
                        let dr = &drop[i * s..(i + 1) * s];
                        dw.iter_mut().zip(dr).for_each(|(v, &f)| *v *= f);
                        if !(0..s).any(|j| visible(pad, causal, i, j)) {
                            dw.fill(0.0);
                            continue;
                        }
                        let wg = dot(wr, dw);
                        dw.iter_mut().zip(wr).for_each(|(v, &a)| *v = scale * a * (*v - wg));
                    }
                });
                // dQ = dS·K, dK = dSᵀ·Q.
                let k = head(x.k, sh, s, b, hd);
                serial_product([t, dk, s], rows(&d_w, s), k, &mut dq[hd * dk..], d, false);
                let d_s_t = View { values: &d_w, row_stride: 1, col_stride: s };
                let q = head(x.q, sh, t, b, hd);
                serial_product([s, dk, t], d_s_t, q, &mut dkb[hd * dk..], d, false);
            }
        });
    (d_q, d_k, d_v)
}
