//! The label-smoothed cross-entropy of a batch of logit rows in one pass per row, and its
//! gradient in one more (Szegedy et al., 2016, "Rethinking the Inception Architecture",
//! for the smoothing). Composed from tensor operations, log-softmax, gather, mean and
//! their backward steps read and write the `[N, V]` logits about a dozen times, with a
//! scalar `exp` per element twice; here the forward keeps the softmax for the backward.

use rayon::prelude::*;

use super::fast_math::{self, exp, simd};

/// Rows handed to one parallel task.
const ROWS_PER_TASK: usize = 16;

/// Per row `n` of the logits `[N, V]` with target `targets[n]`: replaces the row by its
/// softmax (in place: the logits are not needed afterwards, and a separate buffer would be
/// one more `[N, V]` pass) and writes `(loss, nll)` into `out` at `2n` and `2n + 1`, where
/// `nll = −log p(target)` and `loss = (1 − ε)·nll + ε·mean_v(−log p(v))`.
pub fn forward(logits: &mut [f32], targets: &[u32], vocab: usize, epsilon: f32, out: &mut [f32]) {
    debug_assert_eq!(logits.len(), targets.len() * vocab);
    if vocab == 0 || targets.is_empty() {
        return;
    }
    logits
        .par_chunks_mut(vocab * ROWS_PER_TASK)
        .zip(out.par_chunks_mut(2 * ROWS_PER_TASK))
        .enumerate()
        .for_each(|(task, (p_rows, out_rows))| {
            let first = task * ROWS_PER_TASK;
            for (i, (p, o)) in p_rows.chunks_mut(vocab).zip(out_rows.chunks_mut(2)).enumerate() {
                let n = first + i;
                simd(|| {
                    let max = fast_math::max(p);
                    // Shifted by the maximum: the mean below then does not subtract two
                    // sums of the size of the logits' common offset.
                    p.iter_mut().for_each(|v| *v -= max);
                    let target_shifted = p[targets[n] as usize];
                    let sum_shifted = fast_math::sum(p);
                    p.iter_mut().for_each(|v| *v = exp(*v));
                    let sum_e = fast_math::sum(p);
                    let inv = 1.0 / sum_e;
                    p.iter_mut().for_each(|v| *v *= inv);
                    let log_sum = sum_e.ln();
                    let nll = log_sum - target_shifted;
                    let uniform = log_sum - sum_shifted / vocab as f32;
                    o[0] = (1.0 - epsilon) * nll + epsilon * uniform;
                    o[1] = nll;
                });
            }
        });
}

/// Turns the softmax `probs` `[N, V]` into the gradient of Σ_n g₂ₙ·lossₙ +
/// g₂ₙ₊₁·nllₙ with respect to the logits, in place.
pub fn backward(probs: &mut [f32], targets: &[u32], vocab: usize, epsilon: f32, grad: &[f32]) {
    if vocab == 0 || targets.is_empty() {
        return;
    }
    probs.par_chunks_mut(vocab * ROWS_PER_TASK).enumerate().for_each(|(task, rows)| {
        let first = task * ROWS_PER_TASK;
        for (i, p) in rows.chunks_mut(vocab).enumerate() {
            let n = first + i;
            let (g_loss, g_nll) = (grad[2 * n], grad[2 * n + 1]);
            let scale = g_loss + g_nll;
            let shift = g_loss * epsilon / vocab as f32;
            simd(|| p.iter_mut().for_each(|v| *v = scale * *v - shift));
            p[targets[n] as usize] -= g_loss * (1.0 - epsilon) + g_nll;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_gradient_match_the_definition() {
        let (n, v, eps) = (37, 11, 0.1f32);
        // A common offset of 1e4 (softmax does not see it) must not cost precision.
        let logits: Vec<f32> = (0..n * v)
            .map(|i| ((i * 7919 % 101) as f32 - 50.0) / 9.0 + 1e4 * (i / v % 2) as f32)
            .collect();
        let targets: Vec<u32> = (0..n).map(|i| (i * 5 % v) as u32).collect();
        let mut probs = logits.clone();
        let mut out = vec![0f32; 2 * n];
        forward(&mut probs, &targets, v, eps, &mut out);
        let grad: Vec<f32> = (0..2 * n).map(|i| 0.3 + (i % 3) as f32 * 0.25).collect();
        let mut g = probs.clone();
        backward(&mut g, &targets, v, eps, &grad);
        for r in 0..n {
            let offset = 1e4 * (r % 2) as f64;
            let x: Vec<f64> =
                logits[r * v..(r + 1) * v].iter().map(|&a| a as f64 - offset).collect();
            let lse = x.iter().map(|a| a.exp()).sum::<f64>().ln();
            let logp: Vec<f64> = x.iter().map(|a| a - lse).collect();
            let nll = -logp[targets[r] as usize];
            let smooth = -logp.iter().sum::<f64>() / v as f64;
            let loss = (1.0 - eps as f64) * nll + eps as f64 * smooth;
            assert!((out[2 * r] as f64 - loss).abs() < 1e-5, "{} vs {loss}", out[2 * r]);
            assert!((out[2 * r + 1] as f64 - nll).abs() < 1e-5);
            let sum: f32 = probs[r * v..(r + 1) * v].iter().sum();
            assert!((sum - 1.0).abs() < 1e-6);
            for c in 0..v {
                let p = logp[c].exp();
                let onehot = if c == targets[r] as usize { 1.0 } else { 0.0 };
                let d_loss = p - (1.0 - eps as f64) * onehot - eps as f64 / v as f64;
                let d_nll = p - onehot;
                let want = grad[2 * r] as f64 * d_loss + grad[2 * r + 1] as f64 * d_nll;
                assert!((g[r * v + c] as f64 - want).abs() < 1e-6);
            }
        }
    }
}
