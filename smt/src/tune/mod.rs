//! Minimum error rate training (Och 2003, "Minimum Error Rate Training in Statistical
//! Machine Translation").
//!
//! The optimizer works on n-best lists merged across decoding iterations. Each
//! candidate carries its feature values and the sufficient statistics of the metric
//! (for BLEU: n-gram matches and totals, lengths), computed by the caller; the metric
//! turns summed statistics into a corpus score. Along a line w + γd every candidate's
//! score is linear in γ, so the 1-best of a sentence changes only at the breakpoints of
//! the upper envelope of its lines; merging the breakpoints of all sentences gives the
//! exact corpus score for every γ. Coordinate directions are searched from the current
//! weights and from random restarts, keeping the best point.

pub mod line_search;
pub mod random;

use rayon::prelude::*;

pub use line_search::{line_search, line_search_axis, AxisOrder, Candidate};

/// A corpus-level metric computed from summed sufficient statistics (higher is better).
pub trait Metric: Sync {
    /// The score of the summed statistics.
    fn score(&self, stats: &[f64]) -> f64;
}

/// Settings of the optimizer.
#[derive(Debug, Clone)]
pub struct MertOptions {
    /// Random starting points besides the current weights (Moses: 20).
    pub restarts: usize,
    /// Seed of the random starting points.
    pub seed: u64,
    /// Which weights may change.
    pub tunable: Vec<bool>,
    /// Range of the random starting points, per weight.
    pub random_range: (f32, f32),
}

/// The result of one optimization.
#[derive(Debug, Clone)]
pub struct MertResult {
    /// The best weights found, rescaled to the L1 norm of the starting weights.
    pub weights: Vec<f32>,
    /// The metric at those weights on the candidate pool.
    pub score: f64,
    /// The metric at the starting weights on the pool.
    pub start_score: f64,
}

/// The metric on the pool when each sentence takes its best candidate under `w`.
pub fn evaluate(pool: &[Vec<Candidate>], w: &[f32], metric: &dyn Metric) -> f64 {
    let dims = pool.iter().flatten().next().map_or(0, |c| c.stats.len());
    let mut sum = vec![0f64; dims];
    for cands in pool {
        let best = cands.iter().max_by(|a, b| a.dot(w).total_cmp(&b.dot(w)));
        if let Some(c) = best {
            for (s, x) in sum.iter_mut().zip(&c.stats) {
                *s += x;
            }
        }
    }
    metric.score(&sum)
}

fn coordinate_ascent(
    pool: &[Vec<Candidate>],
    order: &AxisOrder,
    start: Vec<f32>,
    metric: &dyn Metric,
    tunable: &[bool],
) -> (Vec<f32>, f64) {
    let mut w = start;
    let mut score = evaluate(pool, &w, metric);
    let mut scores: Vec<Vec<f64>> = vec![Vec::new(); pool.len()];
    for _pass in 0..100 {
        for (row, cands) in scores.iter_mut().zip(pool) {
            row.clear();
            row.extend(cands.iter().map(|c| c.dot(&w) as f64));
        }
        let mut best: Option<(f64, usize, f32)> = None;
        for (k, _) in tunable.iter().enumerate().filter(|(_, t)| **t) {
            let (gamma, s) = line_search_axis(pool, order, &scores, k, metric);
            if s > score + 1e-9 && best.is_none_or_lower(s) {
                best = Some((s, k, gamma));
            }
        }
        match best {
            Some((s, k, gamma)) => {
                w[k] += gamma;
                score = s;
            }
            None => break,
        }
    }
    (w, score)
}

trait LowerThan {
    fn is_none_or_lower(&self, s: f64) -> bool;
}

impl LowerThan for Option<(f64, usize, f32)> {
    fn is_none_or_lower(&self, s: f64) -> bool {
        match self {
            None => true,
            Some((b, _, _)) => s > *b,
        }
    }
}

/// Optimizes the weights on the pool from `start` and from `restarts` random points.
pub fn optimize(
    pool: &[Vec<Candidate>],
    start: &[f32],
    metric: &dyn Metric,
    opts: &MertOptions,
) -> MertResult {
    let start_score = evaluate(pool, start, metric);
    let mut rng = random::SplitMix64::new(opts.seed);
    let mut starts = vec![start.to_vec()];
    for _ in 0..opts.restarts {
        let w: Vec<f32> = start
            .iter()
            .zip(&opts.tunable)
            .map(
                |(&x, &t)| {
                    if t {
                        rng.uniform(opts.random_range.0, opts.random_range.1)
                    } else {
                        x
                    }
                },
            )
            .collect();
        starts.push(w);
    }
    // every line search runs along one feature's axis: sort each axis once for all starts
    let order = AxisOrder::new(pool, &opts.tunable);
    let results: Vec<(Vec<f32>, f64)> = starts
        .into_par_iter()
        .map(|s| coordinate_ascent(pool, &order, s, metric, &opts.tunable))
        .collect();
    let (mut weights, score) = results
        .into_iter()
        .fold(None::<(Vec<f32>, f64)>, |acc, r| match acc {
            Some(a) if a.1 >= r.1 => Some(a),
            _ => Some(r),
        })
        .expect("at least the starting point");
    // rescale the tunable weights to the starting L1 norm (the argmax is unchanged)
    let norm = |w: &[f32]| -> f32 {
        w.iter().zip(&opts.tunable).filter(|(_, t)| **t).map(|(x, _)| x.abs()).sum()
    };
    let (n0, n1) = (norm(start), norm(&weights));
    if n0 > 0.0 && n1 > 0.0 {
        for (x, t) in weights.iter_mut().zip(&opts.tunable) {
            if *t {
                *x *= n0 / n1;
            }
        }
    }
    MertResult { weights, score, start_score }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metric: the sum of the single statistic (e.g. "number of correct sentences").
    struct Sum;
    impl Metric for Sum {
        fn score(&self, s: &[f64]) -> f64 {
            s[0]
        }
    }

    fn c(f: &[f32], good: f64) -> Candidate {
        Candidate { features: f.to_vec(), stats: vec![good] }
    }

    #[test]
    fn recovers_separating_weights() {
        // Each sentence has a good candidate; the good ones have a high feature 0 and a
        // low feature 1, so weights with w0 > w1-ish find all of them.
        let pool = vec![
            vec![c(&[1.0, 0.0], 1.0), c(&[0.0, 1.0], 0.0)],
            vec![c(&[2.0, 1.0], 1.0), c(&[0.0, 2.5], 0.0)],
            vec![c(&[0.5, 0.5], 1.0), c(&[0.2, 1.0], 0.0), c(&[0.0, 0.0], 0.0)],
        ];
        let start = [-1.0, 1.0];
        let opts = MertOptions {
            restarts: 5,
            seed: 7,
            tunable: vec![true, true],
            random_range: (-1.0, 1.0),
        };
        let r = optimize(&pool, &start, &Sum, &opts);
        assert_eq!(r.start_score, 0.0);
        assert_eq!(r.score, 3.0);
        assert_eq!(evaluate(&pool, &r.weights, &Sum), 3.0);
        let l1: f32 = r.weights.iter().map(|x| x.abs()).sum();
        assert!((l1 - 2.0).abs() < 1e-5);
    }

    #[test]
    fn fixed_weights_do_not_move() {
        let pool = vec![vec![c(&[1.0, 0.0], 1.0), c(&[0.0, 1.0], 0.0)]];
        let opts = MertOptions {
            restarts: 3,
            seed: 1,
            tunable: vec![true, false],
            random_range: (-1.0, 1.0),
        };
        let r = optimize(&pool, &[0.0, 1.0], &Sum, &opts);
        assert_eq!(r.weights[1], 1.0);
        assert_eq!(r.score, 1.0);
    }
}
