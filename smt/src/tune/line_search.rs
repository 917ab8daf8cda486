//! Och's exact line search: the upper envelope of each sentence's candidate lines and
//! the sweep over all breakpoints.

use super::Metric;

/// One n-best candidate: its feature values and the metric's sufficient statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Feature values.
    pub features: Vec<f32>,
    /// Sufficient statistics of the metric.
    pub stats: Vec<f64>,
}

impl Candidate {
    /// The model score under weights `w`.
    pub fn dot(&self, w: &[f32]) -> f32 {
        self.features.iter().zip(w).map(|(a, b)| a * b).sum()
    }
}

/// Adds the line `a + γ b` (candidate `i`) to an upper envelope built in increasing order of
/// slope, each entry being (a, b, index, γ from which it is best); lines it overtakes before
/// they start are dropped.
fn push_line(hull: &mut Vec<(f64, f64, usize, f64)>, a: f64, b: f64, i: usize) {
    while let Some(&(la, lb, _, ls)) = hull.last() {
        // where the new line overtakes the last one
        let x = (la - a) / (b - lb);
        if x > ls {
            hull.push((a, b, i, x));
            return;
        }
        hull.pop();
    }
    hull.push((a, b, i, f64::NEG_INFINITY));
}

/// The upper envelope of the lines `a_i + γ b_i`: (γ from which it is best, index),
/// the first γ being −∞.
fn envelope(lines: &mut [(f64, f64, usize)]) -> Vec<(f64, usize)> {
    // by slope, then intercept: among equal slopes only the highest intercept matters
    lines.sort_by(|x, y| x.1.total_cmp(&y.1).then(x.0.total_cmp(&y.0)));
    let mut hull: Vec<(f64, f64, usize, f64)> = Vec::new(); // a, b, idx, start γ
    for &(a, b, i) in lines.iter() {
        if let Some(last) = hull.last() {
            if last.1 == b {
                hull.pop(); // same slope, this one has the higher intercept
            }
        }
        push_line(&mut hull, a, b, i);
    }
    hull.into_iter().map(|(_, _, i, s)| (s, i)).collect()
}

/// The best step γ along `d` from `w` and the metric there. Keeps γ = 0 unless some
/// other point scores strictly higher.
pub fn line_search(
    pool: &[Vec<super::Candidate>],
    w: &[f32],
    d: &[f32],
    metric: &dyn Metric,
) -> (f32, f64) {
    let dims = pool.iter().flatten().next().map_or(0, |c| c.stats.len());
    let mut stats = vec![0f64; dims];
    // events: (γ, sentence, old candidate, new candidate)
    let mut events: Vec<(f64, usize, usize, usize)> = Vec::new();
    let mut lines = Vec::new();
    for (s, cands) in pool.iter().enumerate() {
        if cands.is_empty() {
            continue;
        }
        lines.clear();
        lines.extend(cands.iter().enumerate().map(|(i, c)| (c.dot(w) as f64, c.dot(d) as f64, i)));
        let env = envelope(&mut lines);
        add_envelope(&env, s, &cands[env[0].1].stats, &mut stats, &mut events);
    }
    sweep(pool, stats, events, metric)
}

/// For each feature, each sentence's candidates in increasing order of that feature's
/// value (ties by index): the slope order of every line search along that feature's
/// axis, so [`line_search_axis`] needs no sorting.
#[derive(Debug, Clone)]
pub struct AxisOrder {
    by_axis: Vec<Vec<Vec<u32>>>,
}

impl AxisOrder {
    /// The orders of the axes marked in `axes` (others stay empty).
    pub fn new(pool: &[Vec<super::Candidate>], axes: &[bool]) -> Self {
        let by_axis = axes
            .iter()
            .enumerate()
            .map(|(k, &on)| {
                if !on {
                    return Vec::new();
                }
                pool.iter()
                    .map(|cands| {
                        let mut order: Vec<u32> = (0..cands.len() as u32).collect();
                        order.sort_by(|&x, &y| {
                            let (fx, fy) =
                                (cands[x as usize].features[k], cands[y as usize].features[k]);
                            fx.total_cmp(&fy).then(x.cmp(&y))
                        });
                        order
                    })
                    .collect()
            })
            .collect();
        AxisOrder { by_axis }
    }
}

/// [`line_search`] along the unit direction of feature `k`, given each candidate's model
/// score under the current weights (`scores[s][i]`, as `Candidate::dot` gives it): the same
/// result, in linear time per sentence.
pub fn line_search_axis(
    pool: &[Vec<super::Candidate>],
    order: &AxisOrder,
    scores: &[Vec<f64>],
    k: usize,
    metric: &dyn Metric,
) -> (f32, f64) {
    let dims = pool.iter().flatten().next().map_or(0, |c| c.stats.len());
    let mut stats = vec![0f64; dims];
    let mut events: Vec<(f64, usize, usize, usize)> = Vec::new();
    let mut hull: Vec<(f64, f64, usize, f64)> = Vec::new();
    let mut env: Vec<(f64, usize)> = Vec::new();
    for (s, cands) in pool.iter().enumerate() {
        if cands.is_empty() {
            continue;
        }
        hull.clear();
        let sorted = &order.by_axis[k][s];
        let mut j = 0;
        while j < sorted.len() {
            // among equal slopes only the highest intercept (then the highest index) counts,
            // as in the sorted order `envelope` uses
            let b = cands[sorted[j] as usize].features[k] as f64;
            let (mut a, mut i) = (scores[s][sorted[j] as usize], sorted[j] as usize);
            j += 1;
            while j < sorted.len() && cands[sorted[j] as usize].features[k] as f64 == b {
                let (a2, i2) = (scores[s][sorted[j] as usize], sorted[j] as usize);
                if a2 > a || (a2 == a && i2 > i) {
                    (a, i) = (a2, i2);
                }
                j += 1;
            }
            push_line(&mut hull, a, b, i);
        }
        env.clear();
        env.extend(hull.iter().map(|&(_, _, i, x)| (x, i)));
        add_envelope(&env, s, &cands[env[0].1].stats, &mut stats, &mut events);
    }
    sweep(pool, stats, events, metric)
}

/// Adds a sentence's envelope: its best candidate at γ = −∞ to `stats`, its breakpoints
/// to `events`.
fn add_envelope(
    env: &[(f64, usize)],
    s: usize,
    first: &[f64],
    stats: &mut [f64],
    events: &mut Vec<(f64, usize, usize, usize)>,
) {
    for (x, y) in stats.iter_mut().zip(first) {
        *x += y;
    }
    for k in 1..env.len() {
        events.push((env[k].0, s, env[k - 1].1, env[k].1));
    }
}

/// The sweep over all breakpoints: the best γ and the metric there (γ = 0 unless some
/// other point scores strictly higher).
fn sweep(
    pool: &[Vec<super::Candidate>],
    mut stats: Vec<f64>,
    mut events: Vec<(f64, usize, usize, usize)>,
    metric: &dyn Metric,
) -> (f32, f64) {
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    // intervals: (-inf, g1), (g1, g2), ..., (gk, inf)
    let mut best_gamma = 0f64;
    let mut best = f64::NEG_INFINITY;
    let mut at_zero = None;
    let mut lo = f64::NEG_INFINITY;
    let mut i = 0;
    loop {
        let hi = events.get(i).map_or(f64::INFINITY, |e| e.0);
        let score = metric.score(&stats);
        let gamma = match (lo.is_finite(), hi.is_finite()) {
            (true, true) => 0.5 * (lo + hi),
            (false, true) => hi - 1.0_f64.max(hi.abs() * 0.1),
            (true, false) => lo + 1.0_f64.max(lo.abs() * 0.1),
            (false, false) => 0.0,
        };
        if lo < 0.0 && 0.0 < hi || (lo == 0.0 && at_zero.is_none()) {
            at_zero = Some(score);
        }
        if score > best {
            best = score;
            best_gamma = gamma;
        }
        if i >= events.len() {
            break;
        }
        // apply every event at this breakpoint
        let g = events[i].0;
        while i < events.len() && events[i].0 == g {
            let (_, s, old, new) = events[i];
            for (k, x) in stats.iter_mut().enumerate() {
                *x += pool[s][new].stats[k] - pool[s][old].stats[k];
            }
            i += 1;
        }
        lo = g;
    }
    match at_zero {
        Some(z) if z >= best => (0.0, z),
        _ => (best_gamma as f32, best),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metric for the tests: the first statistic, summed.
    struct First;
    impl Metric for First {
        fn score(&self, s: &[f64]) -> f64 {
            s[0]
        }
    }

    #[test]
    fn the_axis_search_equals_the_general_search_along_each_axis() {
        // Small integer features make equal slopes and equal intercepts common.
        let mut rng = crate::tune::random::SplitMix64::new(11);
        let mut draw = |n: f32| (rng.uniform(0.0, n)).floor();
        for trial in 0..20 {
            let pool: Vec<Vec<Candidate>> = (0..30)
                .map(|_| {
                    (0..1 + draw(12.0) as usize)
                        .map(|_| Candidate {
                            features: (0..3).map(|_| draw(4.0) - 2.0).collect(),
                            stats: vec![f64::from(draw(5.0))],
                        })
                        .collect()
                })
                .collect();
            let w = [draw(3.0) - 1.0, 0.5, draw(3.0) - 1.5];
            let order = AxisOrder::new(&pool, &[true, true, true]);
            let scores: Vec<Vec<f64>> =
                pool.iter().map(|c| c.iter().map(|c| c.dot(&w) as f64).collect()).collect();
            for k in 0..3 {
                let mut d = [0.0f32; 3];
                d[k] = 1.0;
                let general = line_search(&pool, &w, &d, &First);
                let axis = line_search_axis(&pool, &order, &scores, k, &First);
                assert_eq!(general, axis, "trial {trial}, axis {k}");
            }
        }
    }

    #[test]
    fn envelope_of_three_lines() {
        // y = 0 + 1γ, y = 1 + 0γ, y = 0 - 1γ: best is line 2 for γ < -1, line 1 in
        // (-1, 1), line 0 for γ > 1.
        let mut lines = vec![(0.0, 1.0, 0), (1.0, 0.0, 1), (0.0, -1.0, 2)];
        let env = envelope(&mut lines);
        assert_eq!(env, vec![(f64::NEG_INFINITY, 2), (-1.0, 1), (1.0, 0)]);
        // a dominated line never appears
        let mut lines = vec![(0.0, 1.0, 0), (-5.0, 0.0, 1), (0.0, -1.0, 2)];
        let env = envelope(&mut lines);
        assert_eq!(env, vec![(f64::NEG_INFINITY, 2), (0.0, 0)]);
    }
}
