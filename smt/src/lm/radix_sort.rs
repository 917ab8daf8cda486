//! Least-significant-digit radix sort of packed n-gram keys.
//!
//! Estimation sorts millions of `u128` keys whose significant bits are few (bits per word
//! times the order, plus an index): a radix sort over 11-bit digits touches each key a
//! handful of times in cache-friendly passes, where a comparison sort needs ~log2(n)
//! passes. Digits on which every key agrees are skipped.

const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;

/// Sorts `keys` ascending; every key must be below 2^`width`.
pub fn sort_u128(keys: &mut Vec<u128>, width: u32) {
    if keys.len() < 4096 {
        keys.sort_unstable();
        return;
    }
    let passes = width.div_ceil(DIGIT_BITS).max(1) as usize;
    let mut histograms = vec![[0usize; BUCKETS]; passes];
    for &k in keys.iter() {
        for (p, h) in histograms.iter_mut().enumerate() {
            h[digit(k, p)] += 1;
        }
    }
    let mut scratch = vec![0u128; keys.len()];
    let mut from_keys = true;
    for (p, h) in histograms.iter().enumerate() {
        if h.contains(&keys.len()) {
            continue;
        }
        let mut offsets = [0usize; BUCKETS];
        let mut sum = 0;
        for (o, &c) in offsets.iter_mut().zip(h.iter()) {
            *o = sum;
            sum += c;
        }
        let (src, dst) =
            if from_keys { (&keys[..], &mut scratch[..]) } else { (&scratch[..], &mut keys[..]) };
        for &k in src {
            let d = digit(k, p);
            dst[offsets[d]] = k;
            offsets[d] += 1;
        }
        from_keys = !from_keys;
    }
    if !from_keys {
        std::mem::swap(keys, &mut scratch);
    }
}

#[inline]
fn digit(k: u128, pass: usize) -> usize {
    ((k >> (pass as u32 * DIGIT_BITS)) as usize) & (BUCKETS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_the_standard_library() {
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut keys: Vec<u128> = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                u128::from(x) << 7 | u128::from(x & 0x7f)
            })
            .map(|k| k & ((1u128 << 70) - 1))
            .collect();
        keys.extend_from_slice(&keys.clone()[..500]);
        let mut expected = keys.clone();
        expected.sort_unstable();
        sort_u128(&mut keys, 70);
        assert_eq!(keys, expected);
    }
}
