//! The future-cost table of Koehn (2004, "Pharaoh"): for every source span, the best
//! score with which it can be translated, ignoring reordering and LM context across
//! phrases.

/// Best estimated scores of every span `[i, j)`.
#[derive(Debug, Clone)]
pub struct FutureCosts {
    len: usize,
    cost: Vec<f32>,
}

impl FutureCosts {
    /// Builds the table from the best single-option estimate of each span
    /// (`option_best(i, j)`, `None` when no option covers exactly that span) by
    /// combining adjacent spans.
    pub fn new<F: Fn(usize, usize) -> Option<f32>>(len: usize, option_best: F) -> Self {
        let mut cost = vec![f32::NEG_INFINITY; (len + 1) * (len + 1)];
        let idx = |i: usize, j: usize| i * (len + 1) + j;
        for width in 1..=len {
            for i in 0..=len - width {
                let j = i + width;
                let mut best = option_best(i, j).unwrap_or(f32::NEG_INFINITY);
                for k in i + 1..j {
                    best = best.max(cost[idx(i, k)] + cost[idx(k, j)]);
                }
                cost[idx(i, j)] = best;
            }
        }
        for i in 0..=len {
            cost[idx(i, i)] = 0.0;
        }
        Self { len, cost }
    }

    /// The estimate of span `[i, j)`.
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.cost[i * (self.len + 1) + j]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combines_spans() {
        // span scores: [0,1) -1, [1,2) -2, [0,2) -2.5, [2,3) -1
        let fc = FutureCosts::new(3, |i, j| match (i, j) {
            (0, 1) => Some(-1.0),
            (1, 2) => Some(-2.0),
            (0, 2) => Some(-2.5),
            (2, 3) => Some(-1.0),
            _ => None,
        });
        assert_eq!(fc.get(0, 2), -2.5);
        assert_eq!(fc.get(0, 3), -3.5);
        assert_eq!(fc.get(1, 3), -3.0);
    }
}
