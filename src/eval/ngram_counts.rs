//! Exact n-gram multisets as sorted `(key, count)` runs.
//!
//! Metrics pack each n-gram into a `u128` key that is unique within a segment (word ids
//! local to the segment, or code points for character n-grams), so two n-grams are equal
//! exactly when their keys are. Sorting a segment's keys and counting runs is faster than a
//! hash map for the few dozen n-grams of a sentence, and clipping is then a merge.

/// A multiset of n-gram keys: sorted, distinct keys with their counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NgramCounts {
    runs: Vec<(u128, u32)>,
}

impl NgramCounts {
    /// Counts the keys (in any order).
    pub fn from_keys(mut keys: Vec<u128>) -> Self {
        keys.sort_unstable();
        let mut runs: Vec<(u128, u32)> = Vec::with_capacity(keys.len());
        for k in keys {
            match runs.last_mut() {
                Some((last, n)) if *last == k => *n += 1,
                _ => runs.push((k, 1)),
            }
        }
        Self { runs }
    }

    /// True when there is no n-gram.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Number of n-grams, repetitions included.
    pub fn total(&self) -> u64 {
        self.runs.iter().map(|&(_, n)| u64::from(n)).sum()
    }

    /// Keeps, for every key, the larger count of `self` and `other` (the multi-reference
    /// clipping count of BLEU).
    pub fn max_merge(&self, other: &Self) -> Self {
        let (a, b) = (&self.runs, &other.runs);
        let mut runs = Vec::with_capacity(a.len().max(b.len()));
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => {
                    runs.push(a[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    runs.push(b[j]);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    runs.push((a[i].0, a[i].1.max(b[j].1)));
                    i += 1;
                    j += 1;
                }
            }
        }
        runs.extend_from_slice(&a[i..]);
        runs.extend_from_slice(&b[j..]);
        Self { runs }
    }

    /// Sum over keys of `min(self count, reference count)`: the clipped matches.
    pub fn clipped_matches(&self, reference: &Self) -> u64 {
        let (a, b) = (&self.runs, &reference.runs);
        let (mut i, mut j, mut m) = (0, 0, 0u64);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    m += u64::from(a[i].1.min(b[j].1));
                    i += 1;
                    j += 1;
                }
            }
        }
        m
    }

    /// The `(key, count)` runs in key order.
    pub fn runs(&self) -> &[(u128, u32)] {
        &self.runs
    }
}

/// Gives the words of one segment small ids, equal ids for equal words.
#[derive(Debug, Default)]
pub struct WordIds<'a> {
    ids: hashbrown::HashMap<&'a str, u32>,
}

impl<'a> WordIds<'a> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `w`, assigned on first sight (ids start at 1; 0 is never used).
    pub fn id(&mut self, w: &'a str) -> u32 {
        let next = self.ids.len() as u32 + 1;
        *self.ids.entry(w).or_insert(next)
    }
}

/// Packs the word-id n-gram `ids` (at most 4 ids below 2^31) into a key unique among
/// n-grams of every order up to 4; the order sits in the top 4 bits ([`key_order`]).
#[inline]
pub fn word_key(ids: &[u32]) -> u128 {
    debug_assert!(ids.len() <= 4);
    let mut k = 0u128;
    for &id in ids {
        k = (k << 31) | u128::from(id);
    }
    k | ((ids.len() as u128) << 124)
}

/// The order of an n-gram key made by [`word_key`].
#[inline]
pub fn key_order(key: u128) -> usize {
    (key >> 124) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_merge_and_clip() {
        let a = NgramCounts::from_keys(vec![3, 1, 3, 2, 3]);
        assert_eq!(a.runs(), &[(1, 1), (2, 1), (3, 3)]);
        assert_eq!(a.total(), 5);
        let b = NgramCounts::from_keys(vec![3, 3, 4, 1, 1]);
        assert_eq!(a.max_merge(&b).runs(), &[(1, 2), (2, 1), (3, 3), (4, 1)]);
        assert_eq!(a.clipped_matches(&b), 1 + 2);
        assert_ne!(word_key(&[1, 2]), word_key(&[1, 2, 0]));
        assert_eq!(key_order(word_key(&[5, 6, 7])), 3);
    }
}
