//! What every corpus metric provides, and corpus statistics computed in parallel.
//!
//! sacreBLEU scores a corpus in two steps: each segment gives a fixed-size vector of
//! sufficient statistics, and the corpus score is computed once from their sum. Bootstrap
//! resampling re-sums the same vectors. [`Metric`] is that contract; [`CorpusStats`] holds
//! the vectors of a corpus, one row per segment.

use rayon::prelude::*;

use super::error::EvalError;
use super::references::References;
use super::signature::{NumRefs, Signature};

/// A corpus-level metric defined through summable per-segment statistics.
pub trait Metric: Sync {
    /// The name as printed in front of the signature (`BLEU`, `chrF2`, `chrF2++`, `TER`).
    fn name(&self) -> String;
    /// The reproducibility signature for a corpus with `nrefs` references per segment.
    fn signature(&self, nrefs: NumRefs) -> Signature;
    /// How many numbers one segment's statistics hold.
    fn stats_width(&self) -> usize;
    /// Writes the statistics of one segment into `out` (`stats_width()` long). `refs` is
    /// never empty.
    fn segment_stats(&self, hyp: &str, refs: &[&str], out: &mut [f64]);
    /// The corpus score from summed statistics.
    fn score_from_stats(&self, stats: &[f64]) -> f64;
    /// True when a higher score is better (false for TER).
    fn higher_is_better(&self) -> bool {
        true
    }
}

/// The per-segment statistics of a corpus: `len()` rows of `width()` numbers.
#[derive(Debug, Clone)]
pub struct CorpusStats {
    width: usize,
    data: Vec<f64>,
}

impl CorpusStats {
    /// Computes every segment's statistics, in parallel; fails when the hypotheses and the
    /// reference streams differ in length.
    pub fn compute<M: Metric + ?Sized, S: AsRef<str> + Sync>(
        metric: &M,
        hyps: &[S],
        refs: &References,
    ) -> Result<Self, EvalError> {
        refs.check(hyps.len())?;
        let width = metric.stats_width();
        let mut data = vec![0.0; width * hyps.len()];
        if width > 0 {
            data.par_chunks_mut(width).zip(hyps.par_iter()).enumerate().with_min_len(64).for_each(
                |(i, (row, hyp))| {
                    metric.segment_stats(hyp.as_ref(), &refs.segment(i), row);
                },
            );
        }
        Ok(Self { width, data })
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.width).unwrap_or(0)
    }

    /// True when there is no segment.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Numbers per segment.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The statistics of segment `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.width..(i + 1) * self.width]
    }

    /// The column sums, accumulated in segment order as sacreBLEU does.
    pub fn sum(&self) -> Vec<f64> {
        let mut total = vec![0.0; self.width];
        for i in 0..self.len() {
            for (t, v) in total.iter_mut().zip(self.row(i)) {
                *t += v;
            }
        }
        total
    }

    /// The column sums over the segments `idx` (with repetitions), for resampling.
    pub fn sum_of(&self, idx: &[usize]) -> Vec<f64> {
        let mut total = vec![0.0; self.width];
        for &i in idx {
            for (t, v) in total.iter_mut().zip(self.row(i)) {
                *t += v;
            }
        }
        total
    }
}
