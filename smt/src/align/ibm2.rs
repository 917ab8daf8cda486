//! The reparameterized IBM Model 2 of fast_align (Dyer, Chahuneau and Smith 2013, "A
//! Simple, Fast, and Effective Reparameterization of IBM Model 2", NAACL).
//!
//! The position prior favours the diagonal:
//!
//! - p(a_j = NULL) = p_null;
//! - p(a_j = i) = (1 - p_null) exp(lambda h(i, j)) / Z_j, with
//!   h(i, j) = -|(i + 1) / I - (j + 1) / J| (1-based positions, as in the paper, eq. 2).
//!
//! The tension lambda is fitted after every EM iteration but the first by 8 gradient
//! steps of rate 20 on the expected feature, clipped to [0.1, 14] (fast_align `-o`).
//! The lexical table may use the variational Bayes update of [`TTable::normalize`].
//!
//! Two details follow fast_align's code rather than the paper, because they decide
//! where the tension settles (about 6 instead of 13 on the Hansards) and with it the
//! alignments: the empirical feature is accumulated with the target position one lower
//! (-|(i + 1) / I - j / J|, 0-based j), and the model's expected feature divides by the
//! normalizer of the transposed sentence shape (`ComputeDLogZ` calls `ComputeZ` with
//! the two lengths exchanged).
//!
//! [`TTable::normalize`]: super::ttable::TTable::normalize

use serde::{Deserialize, Serialize};

use super::corpus::DirectedView;
use super::ibm1::PositionPrior;

/// fast_align's diagonal position prior.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DiagonalPrior {
    /// Probability of aligning to NULL (fast_align `-q`, default 0.08).
    pub p_null: f64,
    /// The tension lambda (fast_align `-T`, default 4).
    pub tension: f64,
}

impl Default for DiagonalPrior {
    fn default() -> Self {
        Self { p_null: 0.08, tension: 4.0 }
    }
}

/// The diagonal feature h(i, j) for 0-based positions.
#[inline]
pub fn feature(j: usize, i: usize, gen_len: usize, cond_len: usize) -> f64 {
    -(((i + 1) as f64) / cond_len as f64 - ((j + 1) as f64) / gen_len as f64).abs()
}

impl DiagonalPrior {
    /// Fills `u[i] = exp(lambda h(i, j))` and returns their sum. The feature is linear
    /// in i on each side of the diagonal, so each side is a geometric sequence.
    fn unnormalized(&self, j: usize, gen_len: usize, cond_len: usize, u: &mut [f64]) -> f64 {
        let step = (self.tension / cond_len as f64).exp();
        let mut sum = 0.0;
        let mut i = 0;
        while i < cond_len {
            let h = feature(j, i, gen_len, cond_len);
            let start = (self.tension * h).exp();
            // Positions up to the diagonal: h grows by 1/I per step.
            let below = (i + 1) as f64 / cond_len as f64 <= (j + 1) as f64 / gen_len as f64;
            let mut v = start;
            u[i] = v;
            sum += v;
            i += 1;
            while i < cond_len {
                let now_below = (i + 1) as f64 / cond_len as f64 <= (j + 1) as f64 / gen_len as f64;
                if now_below != below {
                    break;
                }
                v = if below { v * step } else { v / step };
                u[i] = v;
                sum += v;
                i += 1;
            }
        }
        sum
    }

    /// The model side of the tension gradient for the 1-based target position `j1` of
    /// a `gen_len` x `cond_len` pair, computed as fast_align's `ComputeDLogZ` does: the
    /// feature-weighted sum over source positions in closed form, divided by the
    /// normalizer of the transposed shape (see the module docs). For square pairs it is
    /// exactly E[h(., j)] = d log Z_j / d lambda.
    pub fn fast_align_dlogz(&self, j1: usize, gen_len: usize, cond_len: usize) -> f64 {
        let lambda = self.tension;
        let (m, n) = (gen_len as f64, cond_len as f64);
        let h = |i: f64, k: f64, m: f64, n: f64| -(k / n - i / m).abs();
        let z = closed_form_z(j1 as f64, cond_len, gen_len, lambda);
        let split = j1 as f64 * n / m;
        let below = split.floor();
        let ratio = (-lambda / n).exp();
        let d = -1.0 / n;
        let mut sum = 0.0;
        let above = cond_len as f64 - below;
        if above > 0.0 {
            let a1 = h(j1 as f64, below + 1.0, m, n);
            sum += arithmetico_geometric(a1, (lambda * a1).exp(), ratio, d, above);
        }
        if below > 0.0 {
            let a1 = h(j1 as f64, below, m, n);
            sum += arithmetico_geometric(a1, (lambda * a1).exp(), ratio, d, below);
        }
        sum / z
    }

    /// Re-fits the tension as fast_align's `-o` does: 8 gradient steps of rate 20 on
    /// (empirical - model) expected feature per generated word, clipped to [0.1, 14].
    /// `empirical` is the posterior expectation from the E-step, per word.
    pub fn optimize_tension(&mut self, sizes: &SizeCounts, empirical: f64) {
        if sizes.words == 0 {
            return;
        }
        for _ in 0..8 {
            let mut model = 0.0;
            for &(gen_len, cond_len, count) in &sizes.pairs {
                let mut per_pair = 0.0;
                for j1 in 1..=gen_len {
                    per_pair += self.fast_align_dlogz(j1, gen_len, cond_len);
                }
                model += count as f64 * per_pair;
            }
            model /= sizes.words as f64;
            self.tension += (empirical - model) * 20.0;
            self.tension = self.tension.clamp(0.1, 14.0);
        }
    }
}

/// Z = sum over the `n` positions k of exp(-lambda |k / n - i / m|) in closed form (two
/// geometric series meeting at the diagonal). When i / m > 1 the diagonal lies past the
/// last position; fast_align's unsigned count of the upper positions then wraps, which
/// makes that series run without end: reproduced here, since it sets the tension.
fn closed_form_z(i: f64, m: usize, n: usize, lambda: f64) -> f64 {
    let (mf, nf) = (m as f64, n as f64);
    let split = i * nf / mf;
    let below = split.floor();
    let ratio = (-lambda / nf).exp();
    let up = |k: f64| (lambda * -(k / nf - i / mf).abs()).exp();
    let mut z = 0.0;
    if below < nf {
        z += up(below + 1.0) * (1.0 - ratio.powf(nf - below)) / (1.0 - ratio);
    } else if below > nf {
        z += up(below + 1.0) / (1.0 - ratio);
    }
    if below > 0.0 {
        z += up(below) * (1.0 - ratio.powf(below)) / (1.0 - ratio);
    }
    z
}

/// sum_{k=0}^{count-1} (a1 + k d) g1 r^k in closed form.
fn arithmetico_geometric(a1: f64, g1: f64, r: f64, d: f64, count: f64) -> f64 {
    let g_end = g1 * r.powf(count);
    let a_last = d * (count - 1.0) + a1;
    let rm1 = r - 1.0;
    (a_last * g_end - a1 * g1) / rm1 - d * (g_end - g1 * r) / (rm1 * rm1)
}

impl PositionPrior for DiagonalPrior {
    fn fill(&self, j: usize, gen_len: usize, cond_len: usize, out: &mut [f64]) {
        let z = self.unnormalized(j, gen_len, cond_len, &mut out[..cond_len]);
        let scale = (1.0 - self.p_null) / z;
        out[..cond_len].iter_mut().for_each(|p| *p *= scale);
        out[cond_len] = self.p_null;
    }

    fn feature(&self, j: usize, i: usize, gen_len: usize, cond_len: usize) -> f64 {
        // fast_align's empirical feature: the target position is taken 0-based here.
        -(((i + 1) as f64) / cond_len as f64 - j as f64 / gen_len as f64).abs()
    }
}

/// How many training pairs have each (generated length, conditioning length).
#[derive(Debug, Clone, Default)]
pub struct SizeCounts {
    /// (generated length, conditioning length, number of pairs), sorted.
    pub pairs: Vec<(usize, usize, usize)>,
    /// Generated words in those pairs.
    pub words: usize,
}

impl SizeCounts {
    /// Counts the lengths of every pair of `view` where both sides are non-empty.
    pub fn of(view: DirectedView<'_>) -> Self {
        let mut map = hashbrown::HashMap::<(usize, usize), usize>::new();
        let mut words = 0;
        for k in 0..view.len() {
            let (c, g) = view.pair(k);
            if c.is_empty() || g.is_empty() {
                continue;
            }
            *map.entry((g.len(), c.len())).or_default() += 1;
            words += g.len();
        }
        let mut pairs: Vec<_> = map.into_iter().map(|((g, c), n)| (g, c, n)).collect();
        pairs.sort_unstable();
        Self { pairs, words }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prior_is_a_distribution_and_peaks_on_the_diagonal() {
        let prior = DiagonalPrior::default();
        for (gen_len, cond_len) in [(1, 1), (5, 7), (9, 3), (40, 41)] {
            let mut out = vec![0.0; cond_len + 1];
            for j in 0..gen_len {
                prior.fill(j, gen_len, cond_len, &mut out);
                let s: f64 = out.iter().sum();
                assert!((s - 1.0).abs() < 1e-12, "{s}");
                for (i, &p) in out[..cond_len].iter().enumerate() {
                    let direct = (prior.tension * feature(j, i, gen_len, cond_len)).exp();
                    let z: f64 = (0..cond_len)
                        .map(|k| (prior.tension * feature(j, k, gen_len, cond_len)).exp())
                        .sum();
                    assert!((p - 0.92 * direct / z).abs() < 1e-12);
                }
            }
        }
        let mut out = vec![0.0; 11];
        prior.fill(4, 10, 10, &mut out);
        let best = (0..10).max_by(|&a, &b| out[a].total_cmp(&out[b])).unwrap();
        assert_eq!(best, 4);
    }

    #[test]
    fn closed_forms_match_direct_sums_on_square_pairs() {
        let prior = DiagonalPrior::default();
        for len in [1, 4, 13] {
            for j in 0..len {
                let mut u = vec![0.0; len];
                let z = prior.unnormalized(j, len, len, &mut u);
                let direct: f64 =
                    u.iter().enumerate().map(|(i, &w)| w * feature(j, i, len, len)).sum::<f64>()
                        / z;
                let closed = prior.fast_align_dlogz(j + 1, len, len);
                assert!((direct - closed).abs() < 1e-9, "{len} {j}: {direct} {closed}");
            }
        }
    }

    #[test]
    fn tension_moves_towards_the_empirical_feature() {
        let sizes = SizeCounts { pairs: vec![(10, 10, 5)], words: 50 };
        let mut sharp = DiagonalPrior::default();
        sharp.optimize_tension(&sizes, -0.01);
        assert!(sharp.tension > 4.0);
        let mut flat = DiagonalPrior::default();
        flat.optimize_tension(&sizes, -0.3);
        assert!(flat.tension < 4.0);
    }
}
