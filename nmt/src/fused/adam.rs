//! One Adam update (Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization") of a
//! parameter in one pass over its values, gradient and moments, in burn's formulation:
//! `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `p ← p − lr·(m·c₂/c₁) / (√v + ε·c₂)` with
//! `c₁ = 1 − β₁ᵗ` and `c₂ = √(1 − β₂ᵗ)`. Composed from tensor operations the update is
//! about ten passes over the parameter, each writing a new tensor, on one thread.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::fast_math::simd;

/// Elements handed to one parallel task.
const CHUNK: usize = 16_384;

/// The settings of one update.
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the first moment.
    pub beta_1: f32,
    /// Decay of the second moment.
    pub beta_2: f32,
    /// Added to the square root of the second moment.
    pub epsilon: f32,
    /// The number of this update, from 1; at 1 the previous moments are taken as zero.
    pub time: i32,
}

/// Writes the updated parameter, first and second moments into `out` `[3, N]` (every
/// element, without reading any) from the parameter `p`, gradient `g` and previous moments
/// `m`, `v` (each `[N]`).
pub fn update(
    p: &[f32],
    g: &[f32],
    m: &[f32],
    v: &[f32],
    s: AdamStep,
    out: &mut [MaybeUninit<f32>],
) {
    let n = p.len();
    let c2 = (1.0 - s.beta_2.powi(s.time)).sqrt();
    let factor = c2 / (1.0 - s.beta_1.powi(s.time));
    let eps = s.epsilon * c2;
    let first = s.time <= 1;
    let (p_out, rest) = out.split_at_mut(n);
    let (m_out, v_out) = rest.split_at_mut(n);
    p_out
        .par_chunks_mut(CHUNK)
        .zip(m_out.par_chunks_mut(CHUNK))
        .zip(v_out.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(task, ((po, mo), vo))| {
            let at = task * CHUNK;
            let end = at + po.len();
            let (p, g) = (&p[at..end], &g[at..end]);
            let (m, v) = if first { (g, g) } else { (&m[at..end], &v[at..end]) };
            simd(|| {
                for i in 0..po.len() {
                    let (mp, vp) = if first { (0.0, 0.0) } else { (m[i], v[i]) };
                    let mn = s.beta_1 * mp + (1.0 - s.beta_1) * g[i];
                    let vn = s.beta_2 * vp + (1.0 - s.beta_2) * g[i] * g[i];
                    mo[i] = MaybeUninit::new(mn);
                    vo[i] = MaybeUninit::new(vn);
                    po[i] = MaybeUninit::new(p[i] - s.lr * (mn * factor / (vn.sqrt() + eps)));
                }
            });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_updates_follow_the_formula() {
        // 40,000 values: three parallel tasks, the last one partial.
        let n = 40_000;
        let mut p: Vec<f32> = (0..n).map(|i| (i % 17) as f32 * 0.1 - 0.8).collect();
        let (mut m, mut v) = (vec![0f32; n], vec![0f32; n]);
        let (mut pe, mut me, mut ve) = (p.clone(), m.clone(), v.clone());
        let (b1, b2, eps, lr) = (0.9f64, 0.98f64, 1e-9f64, 1e-3f64);
        for time in 1..=3 {
            let g: Vec<f32> = (0..n).map(|i| ((i * 7 + time) % 13) as f32 * 0.05 - 0.3).collect();
            let step = AdamStep {
                lr: lr as f32,
                beta_1: b1 as f32,
                beta_2: b2 as f32,
                epsilon: eps as f32,
                time: time as i32,
            };
            let mut out = vec![MaybeUninit::new(f32::NAN); 3 * n];
            update(&p, &g, &m, &v, step, &mut out);
            // SAFETY: `update` initialized every element (and they started initialized).
            let out: Vec<f32> = out.into_iter().map(|x| unsafe { x.assume_init() }).collect();
            p = out[..n].to_vec();
            m = out[n..2 * n].to_vec();
            v = out[2 * n..].to_vec();
            for i in 0..n {
                let gi = g[i] as f64;
                let mi = b1 * me[i] as f64 + (1.0 - b1) * gi;
                let vi = b2 * ve[i] as f64 + (1.0 - b2) * gi * gi;
                let mhat = mi / (1.0 - b1.powi(time as i32));
                let vhat = vi / (1.0 - b2.powi(time as i32));
                pe[i] = (pe[i] as f64 - lr * mhat / (vhat.sqrt() + eps)) as f32;
                me[i] = mi as f32;
                ve[i] = vi as f32;
            }
        }
        for i in (0..n).step_by(101) {
            assert!((p[i] - pe[i]).abs() < 1e-6, "{i}: {} vs {}", p[i], pe[i]);
            assert!((m[i] - me[i]).abs() < 1e-6 && (v[i] - ve[i]).abs() < 1e-6);
        }
    }
}
