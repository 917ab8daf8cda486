//! The sparse lexical translation table t(g | c) shared by every alignment model.
//!
//! Only pairs that co-occur in some sentence pair get an entry; there is never a dense
//! vocabulary-by-vocabulary table. Entries are sorted by (conditioning word, generated
//! word), so each conditioning word's distribution is one contiguous row (CSR layout),
//! and a hash index maps a pair to its slot. Counts live in plain `f64` arrays indexed
//! by slot, one per E-step thread.

use hashbrown::{HashMap, HashSet};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::corpus::DirectedView;

/// The id of the NULL word on the conditioning side.
pub const NULL_WORD: u32 = u32::MAX;

/// The probability of a pair the table has no entry for (fast_align's `safe_prob`).
pub const PROB_FLOOR: f64 = 1e-9;

fn key(cond: u32, gen: u32) -> u64 {
    (u64::from(cond) << 32) | u64::from(gen)
}

/// A sparse conditional table t(gen word | cond word), NULL included.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TTable {
    keys: Vec<u64>,
    probs: Vec<f64>,
    row_starts: Vec<usize>,
    #[serde(skip)]
    index: HashMap<u64, u32>,
}

impl TTable {
    /// Entries for every (cond, gen) pair that co-occurs in `view`, plus (NULL, gen)
    /// for every generated word; every entry starts at the same value (uniform rows
    /// as far as the E-step can tell, as in fast_align's first iteration).
    pub fn from_cooccurrence(view: DirectedView<'_>) -> Self {
        let chunk = 2048;
        let n = view.len();
        let set = (0..n.div_ceil(chunk))
            .into_par_iter()
            .fold(HashSet::<u64>::new, |mut set, c| {
                for k in c * chunk..((c + 1) * chunk).min(n) {
                    let (cond, gen) = view.pair(k);
                    if cond.is_empty() || gen.is_empty() {
                        continue;
                    }
                    for &g in gen {
                        set.insert(key(NULL_WORD, g));
                        for &e in cond {
                            set.insert(key(e, g));
                        }
                    }
                }
                set
            })
            .reduce(HashSet::new, |a, b| {
                let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
                big.extend(small);
                big
            });
        let mut keys: Vec<u64> = set.into_iter().collect();
        keys.par_sort_unstable();
        let uniform = 1.0 / (keys.len().max(1) as f64);
        let probs = vec![uniform; keys.len()];
        Self::from_parts(keys, probs)
    }

    fn from_parts(keys: Vec<u64>, probs: Vec<f64>) -> Self {
        let mut row_starts = Vec::new();
        let mut last = None;
        for (s, &k) in keys.iter().enumerate() {
            let cond = (k >> 32) as u32;
            if last != Some(cond) {
                row_starts.push(s);
                last = Some(cond);
            }
        }
        row_starts.push(keys.len());
        let mut table = Self { keys, probs, row_starts, index: HashMap::new() };
        table.rebuild_index();
        table
    }

    /// Rebuilds the pair-to-slot index; call after deserializing.
    pub fn rebuild_index(&mut self) {
        let mut index = HashMap::with_capacity(self.keys.len());
        for (s, &k) in self.keys.iter().enumerate() {
            index.insert(k, s as u32);
        }
        self.index = index;
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the table has no entry.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The slot of (cond, gen), if the pair has an entry.
    #[inline]
    pub fn slot(&self, cond: u32, gen: u32) -> Option<u32> {
        self.index.get(&key(cond, gen)).copied()
    }

    /// The probability stored in `slot`.
    #[inline]
    pub fn prob_at(&self, slot: u32) -> f64 {
        self.probs[slot as usize]
    }

    /// t(gen | cond), or [`PROB_FLOOR`] for a pair never seen together.
    #[inline]
    pub fn prob(&self, cond: u32, gen: u32) -> f64 {
        self.slot(cond, gen).map_or(PROB_FLOOR, |s| self.prob_at(s))
    }

    /// Each conditioning word with its generated words and their probabilities.
    pub fn rows(&self) -> impl Iterator<Item = (u32, Vec<(u32, f64)>)> + '_ {
        self.row_starts.windows(2).map(move |w| {
            let cond = (self.keys[w[0]] >> 32) as u32;
            let entries = (w[0]..w[1]).map(|s| (self.keys[s] as u32, self.probs[s])).collect();
            (cond, entries)
        })
    }

    /// The M-step: sets every row to its normalized expected counts.
    ///
    /// With `prior = Some(alpha)` the update is the mean-field variational Bayes one
    /// for a symmetric Dirichlet(alpha) prior, t = exp(psi(c + alpha) - psi(sum_row(c +
    /// alpha))), as in fast_align's `-v` (Dyer et al. 2013, sec. 3.2); its rows sum to
    /// less than one by design. A row without counts keeps its old values.
    pub fn normalize(&mut self, counts: &[f64], prior: Option<f64>) {
        assert_eq!(counts.len(), self.probs.len(), "counts sized for this table");
        let mut rows: Vec<(&mut [f64], &[f64])> = Vec::with_capacity(self.row_starts.len());
        let mut rest_p = &mut self.probs[..];
        let mut rest_c = counts;
        for w in self.row_starts.windows(2) {
            let n = w[1] - w[0];
            let (p, rp) = rest_p.split_at_mut(n);
            let (c, rc) = rest_c.split_at(n);
            rows.push((p, c));
            rest_p = rp;
            rest_c = rc;
        }
        rows.into_par_iter().for_each(|(p, c)| {
            let total: f64 = c.iter().sum();
            if total.is_nan() || total <= 0.0 {
                return;
            }
            match prior {
                None => {
                    for (p, &c) in p.iter_mut().zip(c) {
                        *p = c / total;
                    }
                }
                Some(alpha) => {
                    let dig_total = digamma(total + alpha * c.len() as f64);
                    for (p, &c) in p.iter_mut().zip(c) {
                        *p = (digamma(c + alpha) - dig_total).exp();
                    }
                }
            }
        });
    }

    /// Drops, in every row, the entries below max_p⁴ of that row: what fast_align keeps
    /// when it exports its table (`beam_threshold` -4 in `ttables.h`).
    pub fn prune_like_fast_align(&mut self) {
        let mut keys = Vec::with_capacity(self.keys.len());
        let mut probs = Vec::with_capacity(self.probs.len());
        for w in self.row_starts.windows(2) {
            let max_p = self.probs[w[0]..w[1]].iter().copied().fold(0.0, f64::max);
            let threshold = max_p.powi(4);
            for s in w[0]..w[1] {
                if self.probs[s] >= threshold {
                    keys.push(self.keys[s]);
                    probs.push(self.probs[s]);
                }
            }
        }
        *self = Self::from_parts(keys, probs);
    }
}

/// The t-table slot of every cell of the training pairs, looked up once: an E-step then
/// reads slots in memory order instead of hashing each (cond, gen) pair.
///
/// Costs 4 bytes per cell ((I + 1) x J per pair), so it covers the pairs from the first
/// on while they fit in a budget; the pairs after it hash their lookups (about 1.6x
/// slower per cell). Time therefore grows smoothly with the corpus, with no cliff where
/// the cache stops fitting.
#[derive(Debug, Clone, Default)]
pub struct SlotCache {
    starts: Vec<usize>,
    cells: Vec<u32>,
}

/// A cell with no table entry.
pub const NO_SLOT: u32 = u32::MAX;

impl SlotCache {
    /// The cache of the leading pairs of `view` that fit in `max_cells` cells.
    pub fn build(table: &TTable, view: DirectedView<'_>, max_cells: usize) -> Self {
        let mut starts = Vec::with_capacity(view.len() + 1);
        let mut total = 0usize;
        starts.push(0);
        for k in 0..view.len() {
            let (c, g) = view.pair(k);
            let cells = if c.is_empty() { 0 } else { (c.len() + 1) * g.len() };
            if total + cells > max_cells {
                break;
            }
            total += cells;
            starts.push(total);
        }
        let covered = starts.len() - 1;
        let mut cells = vec![NO_SLOT; total];
        let mut parts: Vec<(usize, &mut [u32])> = Vec::with_capacity(covered);
        let mut rest = &mut cells[..];
        for k in 0..covered {
            let (part, r) = rest.split_at_mut(starts[k + 1] - starts[k]);
            parts.push((k, part));
            rest = r;
        }
        parts.into_par_iter().with_min_len(256).for_each(|(k, part)| {
            let (cond, gen) = view.pair(k);
            let width = cond.len() + 1;
            for (j, &g) in gen.iter().enumerate() {
                for (i, &c) in cond.iter().chain(std::iter::once(&NULL_WORD)).enumerate() {
                    part[j * width + i] = table.slot(c, g).unwrap_or(NO_SLOT);
                }
            }
        });
        Self { starts, cells }
    }

    /// Pairs covered (pairs `0..covered()`).
    pub fn covered(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// The slots of pair `k`, row by row (`(I + 1) x J`, NULL last in each row), or
    /// `None` when the pair is past the cache.
    #[inline]
    pub fn pair(&self, k: usize) -> Option<&[u32]> {
        (k + 1 < self.starts.len()).then(|| &self.cells[self.starts[k]..self.starts[k + 1]])
    }
}

/// The digamma function psi(x) for x > 0, by recurrence up to 7 and the asymptotic
/// series (the same approximation fast_align uses).
pub fn digamma(mut x: f64) -> f64 {
    let mut result = 0.0;
    while x < 7.0 {
        result -= 1.0 / x;
        x += 1.0;
    }
    x -= 0.5;
    let xx = 1.0 / x;
    let xx2 = xx * xx;
    let xx4 = xx2 * xx2;
    result + x.ln() + xx2 / 24.0 - 7.0 / 960.0 * xx4 + 31.0 / 8064.0 * xx4 * xx2
        - 127.0 / 30720.0 * xx4 * xx4
}

#[cfg(test)]
mod tests {
    use super::super::corpus::{Direction, ParallelCorpus};
    use super::*;

    #[test]
    fn rows_are_sparse_and_normalize_to_one() {
        let mut c = ParallelCorpus::new();
        c.push_pair(["a", "b"], ["x", "y"]);
        c.push_pair(["a"], ["z"]);
        let mut t = TTable::from_cooccurrence(c.view(Direction::Forward));
        // a: x y z; b: x y; NULL: x y z.
        assert_eq!(t.len(), 8);
        let counts: Vec<f64> = (0..t.len()).map(|s| 1.0 + s as f64).collect();
        t.normalize(&counts, None);
        for (_, row) in t.rows() {
            let sum: f64 = row.iter().map(|(_, p)| p).sum();
            assert!((sum - 1.0).abs() < 1e-12);
        }
        assert_eq!(t.prob(1, 2), PROB_FLOOR);
        t.normalize(&counts, Some(0.01));
        for (_, row) in t.rows() {
            let sum: f64 = row.iter().map(|(_, p)| p).sum();
            assert!(sum < 1.0 && sum > 0.5, "{sum}");
        }
    }

    #[test]
    fn pruning_keeps_entries_above_max_p_to_the_fourth() {
        let mut c = ParallelCorpus::new();
        c.push_pair(["a"], ["x", "y", "z"]);
        let mut t = TTable::from_cooccurrence(c.view(Direction::Forward));
        // Rows: a -> x y z, NULL -> x y z; a's max is 0.5, so the bar is 0.0625.
        t.normalize(&[0.5, 0.44, 0.06, 1.0, 1.0, 1.0], None);
        t.prune_like_fast_align();
        assert_eq!(t.len(), 5);
        assert_eq!(t.prob(0, 2), PROB_FLOOR);
        assert!((t.prob(0, 1) - 0.44).abs() < 1e-12);
    }

    #[test]
    fn digamma_matches_known_values() {
        // psi(1) = -Euler-Mascheroni constant; psi(0.5) = -gamma - 2 ln 2.
        assert!((digamma(1.0) + 0.577_215_664_901_532_9).abs() < 1e-9);
        let expected = -0.577_215_664_901_532_9 - 2.0 * 2f64.ln();
        assert!((digamma(0.5) - expected).abs() < 1e-9);
    }
}
