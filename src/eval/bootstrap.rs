//! Paired bootstrap resampling (Koehn, 2004, "Statistical significance tests for machine
//! translation evaluation") with sacreBLEU 2.6.0's semantics (`--paired-bs`).
//!
//! The segments are resampled with replacement `n_samples` times (1,000 by default) with
//! NumPy's generator seeded 12345, the same draws for every system, so the baseline and
//! each system are scored on identical resamples. For each system: the actual corpus score,
//! the mean of the resampled scores and half the width of their central 95% interval
//! (sorted scores at positions ⌊n/40⌋ and n − ⌊n/40⌋ − 1). For each system but the
//! baseline, the p-value: with dᵢ the absolute score difference to the baseline on resample
//! i, it is (1 + #{i : dᵢ − mean(d) > |actual difference|}) / (n + 1).
//!
//! sacreBLEU adds the resampled statistics in float32; here they are added in f64, which is
//! exact for counts. The printed means and intervals agree except at a rounding tie.

use rayon::prelude::*;

use super::error::EvalError;
use super::metric::{CorpusStats, Metric};
use super::numpy_random::bootstrap_indices;
use super::references::References;

/// sacreBLEU's number of resamples.
pub const DEFAULT_SAMPLES: usize = 1000;
/// sacreBLEU's seed (its `SACREBLEU_SEED` default).
pub const DEFAULT_SEED: u64 = 12345;

/// One system's result in a paired test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapResult {
    /// The actual corpus score.
    pub score: f64,
    /// Mean of the resampled scores.
    pub mean: f64,
    /// Half the width of the central 95% interval of the resampled scores.
    pub ci: f64,
    /// p-value of the difference to the baseline; `None` for the baseline itself.
    pub p_value: Option<f64>,
}

/// Mean and 95% half-interval of resampled scores, as sacreBLEU's `estimate_ci`.
pub fn estimate_ci(scores: &[f64]) -> (f64, f64) {
    let mut sorted = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let lower = n / 40;
    let upper = n - lower - 1;
    let ci = 0.5 * (sorted[upper] - sorted[lower]);
    let mean = sorted.iter().sum::<f64>() / n as f64;
    (mean, ci)
}

/// The p-value of `real_difference` given the resampled absolute differences.
fn p_value(diffs: &[f64], real_difference: f64) -> f64 {
    let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
    let c = diffs.iter().filter(|&&d| d - mean > real_difference).count();
    (c + 1) as f64 / (diffs.len() + 1) as f64
}

/// Bootstrap confidence interval of one system (sacreBLEU's `--confidence`): the mean of
/// the resampled scores and half the width of their central 95% interval.
pub fn bootstrap_ci<M: Metric + ?Sized, S: AsRef<str> + Sync>(
    metric: &M,
    hyps: &[S],
    refs: &References,
    n_samples: usize,
    seed: u64,
) -> Result<(f64, f64), EvalError> {
    let stats = CorpusStats::compute(metric, hyps, refs)?;
    if stats.is_empty() || n_samples == 0 {
        return Err(EvalError::Unsupported(
            "bootstrap resampling of an empty corpus or with no resamples".into(),
        ));
    }
    let idx = bootstrap_indices(seed, n_samples, stats.len());
    let resampled: Vec<f64> =
        idx.par_iter().map(|row| metric.score_from_stats(&stats.sum_of(row))).collect();
    Ok(estimate_ci(&resampled))
}

/// Runs the paired test: `systems[0]` is the baseline, every system is compared to it.
/// Fails when fewer than two systems are given, when lengths differ, or when the corpus is
/// empty.
pub fn paired_bootstrap<M: Metric + ?Sized, S: AsRef<str> + Sync>(
    metric: &M,
    systems: &[Vec<S>],
    refs: &References,
    n_samples: usize,
    seed: u64,
) -> Result<Vec<BootstrapResult>, EvalError> {
    if systems.len() < 2 {
        return Err(EvalError::TooFewSystems(systems.len()));
    }
    let n = systems[0].len();
    for (k, s) in systems.iter().enumerate() {
        if s.len() != n {
            return Err(EvalError::SystemLengthMismatch {
                system: k + 1,
                got: s.len(),
                expected: n,
            });
        }
    }
    if n == 0 || n_samples == 0 {
        return Err(EvalError::Unsupported(
            "bootstrap resampling of an empty corpus or with no resamples".into(),
        ));
    }
    let idx = bootstrap_indices(seed, n_samples, n);
    let mut results = Vec::with_capacity(systems.len());
    let mut baseline: Option<(f64, Vec<f64>)> = None;
    for hyps in systems {
        let stats = CorpusStats::compute(metric, hyps, refs)?;
        let score = metric.score_from_stats(&stats.sum());
        let resampled: Vec<f64> =
            idx.par_iter().map(|row| metric.score_from_stats(&stats.sum_of(row))).collect();
        let (mean, ci) = estimate_ci(&resampled);
        let p = match &baseline {
            None => None,
            Some((bl_score, bl_resampled)) => {
                let diffs: Vec<f64> =
                    resampled.iter().zip(bl_resampled).map(|(s, b)| (s - b).abs()).collect();
                Some(p_value(&diffs, (bl_score - score).abs()))
            }
        };
        if baseline.is_none() {
            baseline = Some((score, resampled));
        }
        results.push(BootstrapResult { score, mean, ci, p_value: p });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_and_p_value() {
        let scores: Vec<f64> = (0..1000).map(f64::from).collect();
        let (mean, ci) = estimate_ci(&scores);
        assert_eq!(mean, 499.5);
        assert_eq!(ci, 0.5 * (974.0 - 25.0));
        assert_eq!(p_value(&[1.0, 1.0, 1.0], 0.0), 0.25);
        assert_eq!(p_value(&[0.0, 2.0], 0.5), 2.0 / 3.0);
    }
}
