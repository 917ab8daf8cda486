//! The weights of scaled dot-product attention (Vaswani et al., 2017, "Attention Is All You
//! Need"): scores scaled by 1/√d_k, padding (and, for a decoder's self-attention, future)
//! positions masked, a softmax over the key positions; forward and backward in one pass per
//! row. Composed, they are a division, one or two mask fills and the five operations of a
//! softmax, each writing a `[B, heads, T, S]` tensor.
//!
//! Layout: scores and weights `[B, heads, T, S]`, row (b, h, t) over the S key positions;
//! `pad` `[B, S]` is non-zero at padding keys. A row with every key masked (an empty
//! source) gets uniform weights and no gradient, as burn's fill with a large negative
//! number gives.

use rayon::prelude::*;

use super::fast_math::{dot, exp, max, simd, sum};

/// Rows handed to one parallel task.
const ROWS_PER_TASK: usize = 64;

/// What a row may attend to.
#[derive(Clone, Copy, Debug)]
pub struct Mask<'a> {
    /// `[B, S]`, non-zero at padding keys.
    pub pad: Option<&'a [f32]>,
    /// Whether query position t may not see key positions after t.
    pub causal: bool,
    /// `[B, heads, T, S]`.
    pub dims: [usize; 4],
}

impl<'a> Mask<'a> {
    /// The keys row `row` may see.
    #[inline(always)]
    fn row(&self, row: usize) -> RowMask<'a> {
        let [_, heads, t_len, s_len] = self.dims;
        let b = row / (heads * t_len);
        RowMask {
            pad: self.pad.map(|p| &p[b * s_len..(b + 1) * s_len]),
            limit: if self.causal { row % t_len + 1 } else { s_len },
        }
    }
}

/// The keys one row may see: those before `limit` that are not padding.
struct RowMask<'a> {
    pad: Option<&'a [f32]>,
    limit: usize,
}

impl RowMask<'_> {
    #[inline(always)]
    fn visible(&self, s: usize) -> bool {
        s < self.limit && self.pad.is_none_or(|p| p[s] == 0.0)
    }

    fn any(&self) -> bool {
        (0..self.limit).any(|s| self.visible(s))
    }
}

/// The attention weights of `scores` (times `scale`) under `mask`, into `out`.
pub fn forward(scores: &[f32], mask: Mask<'_>, scale: f32, out: &mut [f32]) {
    let s_len = mask.dims[3];
    if s_len == 0 {
        return;
    }
    out.par_chunks_mut(s_len * ROWS_PER_TASK).enumerate().for_each(|(task, rows)| {
        for (i, w) in rows.chunks_mut(s_len).enumerate() {
            let row = task * ROWS_PER_TASK + i;
            let x = &scores[row * s_len..(row + 1) * s_len];
            let keys = mask.row(row);
            if !keys.any() {
                w.fill(1.0 / s_len as f32);
                continue;
            }
            for (s, (wv, &xv)) in w.iter_mut().zip(x).enumerate() {
                *wv = if keys.visible(s) { xv * scale } else { f32::NEG_INFINITY };
            }
            simd(|| {
                let m = max(w);
                w.iter_mut().for_each(|v| *v = exp(*v - m));
                // exp clamps its argument at −87, so masked keys need zeroing.
                for (s, v) in w.iter_mut().enumerate() {
                    if !keys.visible(s) {
                        *v = 0.0;
                    }
                }
                let inv = 1.0 / sum(w);
                w.iter_mut().for_each(|v| *v *= inv);
            });
        }
    });
}

/// The gradient of the scores from the weights `weights` of [`forward`] and their
/// gradient `grad`: `scale·w·(g − Σ g·w)` per row, zero in rows with every key masked.
pub fn backward(weights: &[f32], grad: &[f32], mask: Mask<'_>, scale: f32, d_scores: &mut [f32]) {
    let s_len = mask.dims[3];
    if s_len == 0 {
        return;
    }
    d_scores.par_chunks_mut(s_len * ROWS_PER_TASK).enumerate().for_each(|(task, rows)| {
        for (i, d) in rows.chunks_mut(s_len).enumerate() {
            let row = task * ROWS_PER_TASK + i;
            if !mask.row(row).any() {
                d.fill(0.0);
                continue;
            }
            let w = &weights[row * s_len..(row + 1) * s_len];
            let g = &grad[row * s_len..(row + 1) * s_len];
            simd(|| {
                let wg = dot(w, g);
                for ((dv, &wv), &gv) in d.iter_mut().zip(w).zip(g) {
                    *dv = scale * wv * (gv - wg);
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(len: usize) -> Vec<f32> {
        (0..len).map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.3).collect()
    }

    #[test]
    fn rows_sum_to_one_and_masked_keys_get_nothing() {
        let dims = [2, 3, 4, 5];
        let pad = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let x = scores(dims.iter().product());
        for causal in [false, true] {
            let mask = Mask { pad: Some(&pad), causal, dims };
            let mut w = vec![0.0; x.len()];
            forward(&x, mask, 0.5, &mut w);
            for (row, r) in w.chunks(5).enumerate() {
                assert!((r.iter().sum::<f32>() - 1.0).abs() < 1e-6);
                for (s, &v) in r.iter().enumerate() {
                    if !mask.row(row).visible(s) {
                        assert_eq!(v, 0.0, "row {row} key {s}");
                    }
                }
            }
        }
        // Every key masked: uniform weights, no gradient.
        let mask = Mask { pad: Some(&[1.0, 1.0]), causal: false, dims: [1, 1, 2, 2] };
        let mut w = vec![0.0; 4];
        forward(&[1.0, 2.0, 3.0, 4.0], mask, 1.0, &mut w);
        assert_eq!(w, vec![0.5; 4]);
        let mut d = vec![1.0; 4];
        backward(&w, &[1.0, -1.0, 2.0, 0.0], mask, 1.0, &mut d);
        assert_eq!(d, vec![0.0; 4]);
    }

    #[test]
    fn the_gradient_matches_finite_differences() {
        // 130 rows: three parallel tasks, the last one partial.
        let dims = [5, 2, 13, 6];
        let pad: Vec<f32> = (0..30).map(|i| if i % 6 >= 4 + i / 12 { 1.0 } else { 0.0 }).collect();
        let x = scores(dims.iter().product());
        let g: Vec<f32> = (0..x.len()).map(|i| ((i * 11 % 7) as f32 - 3.0) * 0.5).collect();
        for causal in [false, true] {
            let mask = Mask { pad: Some(&pad), causal, dims };
            let loss = |x: &[f32]| -> f64 {
                let mut w = vec![0.0; x.len()];
                forward(x, mask, 0.7, &mut w);
                w.iter().zip(&g).map(|(&a, &b)| a as f64 * b as f64).sum()
            };
            let mut w = vec![0.0; x.len()];
            forward(&x, mask, 0.7, &mut w);
            let mut d = vec![0.0; x.len()];
            backward(&w, &g, mask, 0.7, &mut d);
            for i in (0..x.len()).step_by(7) {
                let h = 1e-2;
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[i] += h;
                xm[i] -= h;
                let fd = ((loss(&xp) - loss(&xm)) / (2.0 * h as f64)) as f32;
                assert!((fd - d[i]).abs() < 1e-3, "causal {causal}, score {i}: {fd} vs {}", d[i]);
            }
        }
    }
}
