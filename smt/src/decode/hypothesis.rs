//! Partial translations (hypotheses) and the source coverage they carry.

use super::options::Features;

/// Longest source sentence the decoder covers in one search.
pub const MAX_WORDS: usize = 256;

/// The set of covered source positions (at most [`MAX_WORDS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Coverage([u64; MAX_WORDS / 64]);

impl Coverage {
    /// True when position `i` is covered.
    pub fn get(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }

    /// Covers positions `start..end`.
    pub fn set_range(&mut self, start: usize, end: usize) {
        for i in start..end {
            self.0[i / 64] |= 1 << (i % 64);
        }
    }

    /// True when any of `start..end` is covered.
    pub fn overlaps(&self, start: usize, end: usize) -> bool {
        (start..end).any(|i| self.get(i))
    }

    /// The first uncovered position, or `len` when all of `0..len` is covered.
    pub fn first_gap(&self, len: usize) -> usize {
        (0..len).find(|&i| !self.get(i)).unwrap_or(len)
    }
}

/// One partial translation: the last phrase added and a pointer to its predecessor.
#[derive(Debug, Clone)]
pub struct Hypothesis<S> {
    /// Index of the predecessor in the arena (`None` for the empty hypothesis).
    pub back: Option<u32>,
    /// Index of the translation option added last (meaningless for the root).
    pub option: u32,
    /// Covered source words.
    pub coverage: Coverage,
    /// Number of covered source words.
    pub covered: usize,
    /// Language-model state after the output so far.
    pub lm_state: S,
    /// End (exclusive) of the last source phrase translated.
    pub last_end: usize,
    /// Feature values summed over the derivation.
    pub features: Features,
    /// Weighted score of the derivation so far.
    pub score: f32,
    /// Estimated score of translating the uncovered words.
    pub future: f32,
    /// Hypotheses recombined into this one (kept for n-best lists).
    pub recombined: Vec<u32>,
}

impl<S> Hypothesis<S> {
    /// The score used for pruning: derivation plus future estimate.
    pub fn total(&self) -> f32 {
        self.score + self.future
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_bits() {
        let mut c = Coverage::default();
        c.set_range(0, 2);
        c.set_range(100, 130);
        assert!(c.get(1) && !c.get(2) && c.get(129) && !c.get(130));
        assert_eq!(c.first_gap(200), 2);
        assert!(c.overlaps(99, 101) && !c.overlaps(2, 100));
    }
}
