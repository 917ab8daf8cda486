//! Step 2 of estimation: the adjusted counts of every order (Kneser & Ney 1995; Chen &
//! Goodman 1998, "An empirical study of smoothing techniques for language modeling", §3).
//!
//! As lmplz computes them (lm/builder/adjust_counts.cc):
//! - order N keeps the raw count;
//! - a lower-order n-gram gets its continuation count, the number of distinct words seen
//!   to its left (the number of distinct (n+1)-grams it is the suffix of);
//! - an n-gram that starts with `<s>` keeps its raw count, since nothing precedes it; the
//!   padded N-grams with several leading `<s>` collapse into these shorter n-grams;
//! - `<unk>` and the unigram `<s>` are present with count 0.
//!
//! Every order is kept sorted by key, and each n-gram of order n ≥ 2 records the index of
//! its suffix (its last n−1 words) in order n−1, which interpolation needs.

use rayon::prelude::*;

use super::count::{key_mask, key_word, RawCounts, BOS, UNK};

/// The n-grams of one order with their adjusted counts.
#[derive(Debug, Clone, Default)]
pub struct OrderCounts {
    /// Packed keys, ascending.
    pub keys: Vec<u128>,
    /// Adjusted count of each n-gram.
    pub counts: Vec<u64>,
    /// For order n ≥ 2: index in order n−1 of each n-gram's suffix. Empty for unigrams.
    pub suffix: Vec<u32>,
}

/// Adjusted counts of orders 1..=N.
#[derive(Debug, Clone)]
pub struct AdjustedCounts {
    /// The order N.
    pub order: usize,
    /// Bits per word in a key.
    pub bits: u32,
    /// `orders[n - 1]` is order n.
    pub orders: Vec<OrderCounts>,
}

impl AdjustedCounts {
    /// Count-of-counts of order `n`: `t[k]` = number of n-grams with adjusted count `k`,
    /// for k = 1..=4 (`t[0]` unused).
    pub fn count_of_counts(&self, n: usize) -> [u64; 5] {
        let mut t = [0u64; 5];
        for &c in &self.orders[n - 1].counts {
            if (1..5).contains(&c) {
                t[c as usize] += 1;
            }
        }
        t
    }

    /// Word `i` (0 = oldest) of the `j`-th n-gram of order `n`.
    pub fn word(&self, n: usize, j: usize, i: usize) -> u32 {
        key_word(self.orders[n - 1].keys[j], self.bits, n, i)
    }
}

/// Computes the adjusted counts of every order from the padded N-gram counts.
pub fn adjust(raw: RawCounts) -> AdjustedCounts {
    let order = raw.order;
    let bits = raw.bits;
    let mut orders: Vec<OrderCounts> = vec![OrderCounts::default(); order];
    // `<s>`-initial n-grams of orders below N, from the collapsed padded N-grams.
    let mut starts: Vec<(Vec<u128>, Vec<u64>)> = vec![(Vec::new(), Vec::new()); order];
    if order == 1 {
        orders[0].keys = raw.keys;
        orders[0].counts = raw.counts;
    } else {
        let mut top = OrderCounts::default();
        for (&key, &count) in raw.keys.iter().zip(&raw.counts) {
            if key_word(key, bits, order, 1) != BOS {
                top.keys.push(key);
                top.counts.push(count);
                continue;
            }
            let mut lead = 2;
            while lead < order && key_word(key, bits, order, lead) == BOS {
                lead += 1;
            }
            let n = order - lead + 1;
            starts[n - 1].0.push(key & key_mask(bits, n));
            starts[n - 1].1.push(count);
        }
        orders[order - 1] = top;
    }
    // `<unk>` and `<s>` are unigrams with count 0 and the smallest keys.
    starts[0] = (vec![UNK as u128, BOS as u128], vec![0, 0]);

    for n in (1..order).rev() {
        let mask = key_mask(bits, n);
        let upper = &orders[n];
        let mut pairs: Vec<(u128, u32)> =
            upper.keys.par_iter().enumerate().map(|(i, &k)| (k & mask, i as u32)).collect();
        pairs.par_sort_unstable();
        // Distinct suffixes, their continuation counts, and where each upper n-gram went.
        let mut suffix_of = vec![0u32; pairs.len()];
        let mut dkeys: Vec<u128> = Vec::new();
        let mut dcounts: Vec<u64> = Vec::new();
        for &(k, i) in &pairs {
            if dkeys.last() != Some(&k) {
                dkeys.push(k);
                dcounts.push(0);
            }
            *dcounts.last_mut().expect("pushed") += 1;
            suffix_of[i as usize] = (dkeys.len() - 1) as u32;
        }
        drop(pairs);
        // Merge with the `<s>`-initial n-grams of this order (disjoint from the suffixes).
        let (skeys, scounts) = std::mem::take(&mut starts[n - 1]);
        let total = dkeys.len() + skeys.len();
        let mut merged = OrderCounts {
            keys: Vec::with_capacity(total),
            counts: Vec::with_capacity(total),
            suffix: Vec::new(),
        };
        let mut new_pos = vec![0u32; dkeys.len()];
        let (mut a, mut b) = (0, 0);
        while a < dkeys.len() || b < skeys.len() {
            if b == skeys.len() || (a < dkeys.len() && dkeys[a] < skeys[b]) {
                new_pos[a] = merged.keys.len() as u32;
                merged.keys.push(dkeys[a]);
                merged.counts.push(dcounts[a]);
                a += 1;
            } else {
                merged.keys.push(skeys[b]);
                merged.counts.push(scounts[b]);
                b += 1;
            }
        }
        orders[n].suffix = suffix_of.into_iter().map(|p| new_pos[p as usize]).collect();
        orders[n - 1] = merged;
    }
    if order == 1 {
        let (skeys, scounts) = std::mem::take(&mut starts[0]);
        let o = &mut orders[0];
        let mut keys = skeys;
        keys.append(&mut o.keys);
        let mut counts = scounts;
        counts.append(&mut o.counts);
        o.keys = keys;
        o.counts = counts;
    }
    AdjustedCounts { order, bits, orders }
}

#[cfg(test)]
mod tests {
    use super::super::count::Corpus;
    use super::*;

    fn toy0(order: usize) -> AdjustedCounts {
        let mut c = Corpus::new(false);
        c.add_sentence("a a b a".split(' ')).unwrap();
        c.add_sentence("b a a b".split(' ')).unwrap();
        adjust(c.count(order).unwrap())
    }

    #[test]
    fn toy0_sizes_match_lmplz() {
        let adj = toy0(3);
        let sizes: Vec<_> = adj.orders.iter().map(|o| o.keys.len()).collect();
        assert_eq!(sizes, vec![5, 7, 7]);
    }

    #[test]
    fn continuation_and_start_counts() {
        let adj = toy0(3);
        let uni = &adj.orders[0];
        // ids: <unk> 0, <s> 1, </s> 2, a 3, b 4.
        assert_eq!(uni.counts, vec![0, 0, 2, 3, 2]);
        let bits = adj.bits;
        let bi = &adj.orders[1];
        let find = |k: u128| bi.keys.binary_search(&k).unwrap();
        // `<s> a` starts a sentence once: raw count 1. `a a` follows `<s>` and `b`: 2.
        assert_eq!(bi.counts[find((1 << bits) | 3)], 1);
        assert_eq!(bi.counts[find((3 << bits) | 3)], 2);
        // Each bigram's suffix index points at its last word.
        for (j, &k) in bi.keys.iter().enumerate() {
            assert_eq!(uni.keys[bi.suffix[j] as usize], k & key_mask(bits, 1));
        }
    }

    #[test]
    fn order_one_keeps_raw_counts() {
        let adj = toy0(1);
        assert_eq!(adj.orders[0].counts, vec![0, 0, 2, 5, 3]);
    }
}
