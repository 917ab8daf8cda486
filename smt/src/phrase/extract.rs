//! Phrase-pair extraction (Koehn, Och and Marcu 2003, "Statistical Phrase-Based
//! Translation"; Och and Ney 2004, "The Alignment Template Approach").
//!
//! A pair of spans is consistent with an alignment when it holds at least one link and no
//! word inside either span is linked to a word outside the other. Unaligned source words
//! at the edges of the source span give further pairs; unaligned target words at the edges
//! are covered because every target span is enumerated, exactly as the Moses `extract`
//! program does.

use super::AlignPoint;

/// Where the neighbouring phrase lies, for lexicalized reordering (Koehn et al. 2005).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Orientation {
    /// The neighbouring target phrase translates the adjacent source words on the same side.
    Monotone,
    /// It translates the adjacent source words on the other side.
    Swap,
    /// Anything else.
    Discontinuous,
}

/// One extracted phrase pair, as spans of one sentence pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractedPair {
    /// Source span, start inclusive, end exclusive.
    pub src: (usize, usize),
    /// Target span, start inclusive, end exclusive.
    pub tgt: (usize, usize),
    /// Alignment links inside the pair, relative to the span starts.
    pub align: Vec<(u8, u8)>,
    /// Orientation of the previous target phrase (word-based, as Moses `wbe`).
    pub prev: Orientation,
    /// Orientation of the next target phrase.
    pub next: Orientation,
}

/// Every phrase pair of one sentence pair consistent with `align`, both sides at most
/// `max_len` words. Links outside the sentence lengths are ignored.
pub fn extract(
    src_len: usize,
    tgt_len: usize,
    align: &[AlignPoint],
    max_len: usize,
) -> Vec<ExtractedPair> {
    let mut src_count = vec![0u32; src_len];
    let mut by_tgt: Vec<Vec<usize>> = vec![Vec::new(); tgt_len];
    let mut linked = hashbrown::HashSet::new();
    for &(s, t) in align {
        let (s, t) = (s as usize, t as usize);
        if s < src_len && t < tgt_len && linked.insert((s, t)) {
            src_count[s] += 1;
            by_tgt[t].push(s);
        }
    }
    let is_linked = |s: isize, t: isize| -> bool {
        if s < 0 || t < 0 {
            // the sentence start is treated as aligned to itself
            return s == -1 && t == -1;
        }
        let (s, t) = (s as usize, t as usize);
        if s == src_len && t == tgt_len {
            return true; // the sentence end, likewise
        }
        linked.contains(&(s, t))
    };
    let mut out = Vec::new();
    let mut used = vec![0u32; src_len];
    for t0 in 0..tgt_len {
        used.copy_from_slice(&src_count);
        let (mut min_s, mut max_s) = (usize::MAX, 0usize);
        let mut any = false;
        for t1 in t0..tgt_len.min(t0 + max_len) {
            for &s in &by_tgt[t1] {
                min_s = min_s.min(s);
                max_s = max_s.max(s);
                used[s] -= 1;
                any = true;
            }
            if !any || max_s - min_s >= max_len {
                continue;
            }
            if (min_s..=max_s).any(|s| used[s] > 0) {
                continue;
            }
            // extend over unaligned source words on both edges
            let mut s0 = min_s as isize;
            while s0 >= 0 && (s0 as usize == min_s || src_count[s0 as usize] == 0) {
                let mut s1 = max_s;
                while s1 < src_len
                    && s1 < s0 as usize + max_len
                    && (s1 == max_s || src_count[s1] == 0)
                {
                    let (a, b) = (s0 as usize, s1 + 1);
                    let mut links: Vec<(u8, u8)> = (t0..=t1)
                        .flat_map(|t| by_tgt[t].iter().map(move |&s| (s, t)))
                        .map(|(s, t)| ((s - a) as u8, (t - t0) as u8))
                        .collect();
                    links.sort_unstable();
                    let (si, sj, ti, tj) = (a as isize, b as isize, t0 as isize, t1 as isize + 1);
                    let prev = if is_linked(si - 1, ti - 1) {
                        Orientation::Monotone
                    } else if is_linked(sj, ti - 1) {
                        Orientation::Swap
                    } else {
                        Orientation::Discontinuous
                    };
                    let next = if is_linked(sj, tj) {
                        Orientation::Monotone
                    } else if is_linked(si - 1, tj) {
                        Orientation::Swap
                    } else {
                        Orientation::Discontinuous
                    };
                    out.push(ExtractedPair {
                        src: (a, b),
                        tgt: (t0, t1 + 1),
                        align: links,
                        prev,
                        next,
                    });
                    s1 += 1;
                }
                if (max_s as isize) - s0 + 1 >= max_len as isize {
                    break;
                }
                s0 -= 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(pairs: &[ExtractedPair]) -> Vec<((usize, usize), (usize, usize))> {
        let mut v: Vec<_> = pairs.iter().map(|p| (p.src, p.tgt)).collect();
        v.sort();
        v
    }

    #[test]
    fn diagonal_alignment_gives_all_contiguous_pairs() {
        // a b c / x y z, monotone one-to-one
        let p = extract(3, 3, &[(0, 0), (1, 1), (2, 2)], 7);
        let want = vec![
            ((0, 1), (0, 1)),
            ((0, 2), (0, 2)),
            ((0, 3), (0, 3)),
            ((1, 2), (1, 2)),
            ((1, 3), (1, 3)),
            ((2, 3), (2, 3)),
        ];
        assert_eq!(spans(&p), want);
        let first = p.iter().find(|x| x.src == (0, 1)).unwrap();
        assert_eq!(first.prev, Orientation::Monotone);
        assert_eq!(first.next, Orientation::Monotone);
    }

    #[test]
    fn unaligned_words_extend_phrases() {
        // source: das(0) grosse(1) haus(2) ja(3); target: the(0) big(1) house(2)
        // links: das-the, grosse-big, haus-house; "ja" unaligned at the right edge.
        let p = extract(4, 3, &[(0, 0), (1, 1), (2, 2)], 7);
        let got = spans(&p);
        let want = vec![
            ((0, 1), (0, 1)),
            ((0, 2), (0, 2)),
            ((0, 3), (0, 3)),
            ((0, 4), (0, 3)),
            ((1, 2), (1, 2)),
            ((1, 3), (1, 3)),
            ((1, 4), (1, 3)),
            ((2, 3), (2, 3)),
            ((2, 4), (2, 3)),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn unaligned_target_word_and_crossing_links() {
        // source: er(0) geht(1) nicht(2); target: he(0) does(1) not(2) go(3)
        // er-he, geht-go, nicht-not; "does" unaligned.
        let p = extract(3, 4, &[(0, 0), (1, 3), (2, 2)], 7);
        let got = spans(&p);
        let want = vec![
            ((0, 1), (0, 1)),
            ((0, 1), (0, 2)),
            ((0, 3), (0, 4)),
            ((1, 2), (3, 4)),
            ((1, 3), (1, 4)),
            ((1, 3), (2, 4)),
            ((2, 3), (1, 3)),
            ((2, 3), (2, 3)),
        ];
        assert_eq!(got, want);
        let geht = p.iter().find(|x| x.src == (1, 2)).unwrap();
        assert_eq!(geht.align, vec![(0, 0)]);
        // previous target word "not" is linked to the source word right after "geht"
        assert_eq!(geht.prev, Orientation::Swap);
        assert_eq!(geht.next, Orientation::Discontinuous); // nothing after; end is at (3,4)
    }

    #[test]
    fn length_limit_and_empty_alignment() {
        assert!(extract(3, 3, &[], 7).is_empty());
        let p = extract(3, 3, &[(0, 0), (1, 1), (2, 2)], 2);
        assert!(p.iter().all(|x| x.src.1 - x.src.0 <= 2 && x.tgt.1 - x.tgt.0 <= 2));
        assert_eq!(p.len(), 5);
    }
}
