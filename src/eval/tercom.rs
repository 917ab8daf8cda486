//! Translation edit rate with shifts (Snover et al., 2006, "A study of translation edit
//! rate with targeted human annotation"), following sacreBLEU's re-implementation of Tercom.
//!
//! The number of edits is the Levenshtein distance (insertions, deletions, substitutions,
//! all cost 1) after greedily applying block shifts, each of which counts as one edit.
//! Each round tries every shift of a hypothesis span (at most 10 words) that matches a
//! reference span within 50 positions, keeps the one that lowers the edit distance most
//! (ties: longer span, then earlier start, then earlier target) and stops when no shift
//! helps or 1,000 candidate shifts have been evaluated for the segment. The edit distance
//! is a beam search around the length-scaled diagonal (width 25), and its trace gives the
//! alignment used to filter candidate shifts. Words are given as ids: equal ids, equal words.

const COST: i64 = 1;
const MAX_SHIFT_SIZE: usize = 10;
const MAX_SHIFT_DIST: usize = 50;
const BEAM_WIDTH: usize = 25;
const MAX_CACHE_SIZE: usize = 10_000;
const MAX_SHIFT_CANDIDATES: usize = 1000;
const INFINITY: i64 = 10_000_000_000_000_000;

/// Edit operations, written from the hypothesis' point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// The words are equal.
    Keep,
    /// Substitution.
    Sub,
    /// A reference word is inserted.
    Ins,
    /// A hypothesis word is deleted.
    Del,
    /// Not computed (outside the beam).
    Undef,
}

type Cell = (i64, Op);

/// How shift candidates are ranked: gain, span length, −start, −target (larger is better).
type ShiftRank = (i64, usize, i64, i64);

/// The edit distance of hypotheses against one reference, with a prefix cache: the rows of
/// the distance matrix for a hypothesis prefix are reused by later hypotheses of the same
/// length that share it (every shifted hypothesis of a segment has the same length, and a
/// row depends only on the prefix, so the cache changes no result).
struct BeamEditDistance<'r> {
    reference: &'r [u32],
    initial_row: Vec<Cell>,
    /// Trie of hypothesis prefixes: children of each node, and the matrix row it ends on.
    children: Vec<hashbrown::HashMap<u32, usize>>,
    rows: Vec<Vec<Cell>>,
}

impl<'r> BeamEditDistance<'r> {
    fn new(reference: &'r [u32]) -> Self {
        let initial_row = (0..=reference.len()).map(|j| (j as i64 * COST, Op::Ins)).collect();
        Self {
            reference,
            initial_row,
            children: vec![hashbrown::HashMap::new()],
            rows: vec![Vec::new()],
        }
    }

    /// The edit distance of `hyp` to the reference and the trace of operations.
    // LIMITATION: the whole (hyp + 1) × (ref + 1) matrix is allocated although only a beam of
    // it is filled, so segments of many thousands of words need memory quadratic in length.
    fn distance(&mut self, hyp: &[u32]) -> (i64, Vec<Op>) {
        let n_ref = self.reference.len();
        let width = n_ref + 1;
        // Reuse cached rows for the longest known prefix.
        let mut dist: Vec<Cell> = Vec::with_capacity((hyp.len() + 1) * width);
        dist.extend_from_slice(&self.initial_row);
        let mut node = 0;
        let mut start = 0;
        for w in hyp {
            match self.children[node].get(w) {
                Some(&child) => {
                    node = child;
                    dist.extend_from_slice(&self.rows[child]);
                    start += 1;
                }
                None => break,
            }
        }
        dist.resize((hyp.len() + 1) * width, (INFINITY, Op::Undef));
        let n_hyp = hyp.len();
        let length_ratio = if n_hyp > 0 { n_ref as f64 / n_hyp as f64 } else { 1.0 };
        let beam = if (BEAM_WIDTH as f64) < length_ratio / 2.0 {
            (length_ratio / 2.0 + BEAM_WIDTH as f64).ceil() as i64
        } else {
            BEAM_WIDTH as i64
        };
        for i in start + 1..=n_hyp {
            let diag = (i as f64 * length_ratio).floor() as i64;
            let min_j = (diag - beam).max(0) as usize;
            let mut max_j = (diag + beam).min(width as i64).max(0) as usize;
            if i == n_hyp {
                max_j = width;
            }
            let (prev_rows, cur_rows) = dist.split_at_mut(i * width);
            let prev = &prev_rows[(i - 1) * width..];
            let cur = &mut cur_rows[..width];
            for j in min_j..max_j {
                if j == 0 {
                    cur[0] = (prev[0].0 + COST, Op::Del);
                    continue;
                }
                let (sub_cost, sub_op) = if hyp[i - 1] == self.reference[j - 1] {
                    (0, Op::Keep)
                } else {
                    (COST, Op::Sub)
                };
                // Tercom prefers keep/substitute, then insertion, then deletion; the trace
                // is flipped later, hence deletion before insertion here.
                let options = [
                    (prev[j - 1].0 + sub_cost, sub_op),
                    (prev[j].0 + COST, Op::Del),
                    (cur[j - 1].0 + COST, Op::Ins),
                ];
                for (cost, op) in options {
                    if cur[j].0 > cost {
                        cur[j] = (cost, op);
                    }
                }
            }
        }
        let mut trace = Vec::with_capacity(n_hyp + n_ref);
        let (mut i, mut j) = (n_hyp, n_ref);
        while i > 0 || j > 0 {
            let op = dist[i * width + j].1;
            trace.push(op);
            match op {
                Op::Keep | Op::Sub => {
                    i -= 1;
                    j -= 1;
                }
                Op::Ins => j -= 1,
                Op::Del => i -= 1,
                // Unreachable for sane input; sacreBLEU raises here. Stop rather than loop.
                Op::Undef => break,
            }
        }
        trace.reverse();
        let result = dist[n_hyp * width + n_ref].0;
        // Cache the new rows.
        if self.rows.len() <= MAX_CACHE_SIZE {
            for (k, &w) in hyp.iter().enumerate().skip(start) {
                let row = dist[(k + 1) * width..(k + 2) * width].to_vec();
                let child = self.rows.len();
                self.children.push(hashbrown::HashMap::new());
                self.rows.push(row);
                self.children[node].insert(w, child);
                node = child;
            }
        }
        (result, trace)
    }
}

/// The alignment of reference positions to hypothesis positions read from a trace, and
/// which positions on each side are errors.
struct Alignment {
    /// `align[r]`: the hypothesis position reference position `r` aligns to (−1: before
    /// the first word), `None` if `r` was never reached.
    align: Vec<Option<i64>>,
    ref_err: Vec<u8>,
    hyp_err: Vec<u8>,
}

fn alignment(trace: &[Op], n_ref: usize) -> Alignment {
    let (mut pos_hyp, mut pos_ref) = (-1i64, -1i64);
    let mut a = Alignment {
        align: vec![None; n_ref],
        ref_err: Vec::with_capacity(n_ref),
        hyp_err: Vec::new(),
    };
    // The trace rewrites the hypothesis into the reference; flipped, insertions and
    // deletions swap roles.
    for &op in trace {
        match op {
            Op::Keep | Op::Sub => {
                let err = u8::from(op == Op::Sub);
                pos_hyp += 1;
                pos_ref += 1;
                a.align[pos_ref as usize] = Some(pos_hyp);
                a.hyp_err.push(err);
                a.ref_err.push(err);
            }
            Op::Del => {
                pos_hyp += 1;
                a.hyp_err.push(1);
            }
            Op::Ins => {
                pos_ref += 1;
                a.align[pos_ref as usize] = Some(pos_hyp);
                a.ref_err.push(1);
            }
            Op::Undef => {}
        }
    }
    a
}

/// `words[a:b]` with Python's clamping.
fn slice(words: &[u32], a: usize, b: usize) -> &[u32] {
    let n = words.len();
    let a = a.min(n);
    &words[a..b.clamp(a, n)]
}

/// Moves `words[start..start+len]` to before position `target` (sacreBLEU's
/// `_perform_shift`, which inserts before the index where Tercom inserts after it).
fn perform_shift(words: &[u32], start: usize, len: usize, target: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(words.len());
    let moved = slice(words, start, start + len);
    if target < start {
        out.extend_from_slice(slice(words, 0, target));
        out.extend_from_slice(moved);
        out.extend_from_slice(slice(words, target, start));
        out.extend_from_slice(slice(words, start + len, usize::MAX));
    } else if target > start + len {
        out.extend_from_slice(slice(words, 0, start));
        out.extend_from_slice(slice(words, start + len, target));
        out.extend_from_slice(moved);
        out.extend_from_slice(slice(words, target, usize::MAX));
    } else {
        out.extend_from_slice(slice(words, 0, start));
        out.extend_from_slice(slice(words, start + len, len + target));
        out.extend_from_slice(moved);
        out.extend_from_slice(slice(words, len + target, usize::MAX));
    }
    out
}

/// One round of shifting: the best shift's gain and result, and the updated count of
/// evaluated candidates.
fn best_shift(
    hyp: &[u32],
    reference: &[u32],
    ed: &mut BeamEditDistance<'_>,
    mut checked: usize,
) -> (i64, Vec<u32>, usize) {
    let (pre_score, trace) = ed.distance(hyp);
    let a = alignment(&trace, reference.len());
    // (gain, length, -start, -target) ranks candidates; the first of equals wins.
    let mut best: Option<(ShiftRank, Vec<u32>)> = None;
    'pairs: for start_h in 0..hyp.len() {
        for start_r in 0..reference.len() {
            if start_r.abs_diff(start_h) > MAX_SHIFT_DIST {
                continue;
            }
            let mut len = 0;
            while hyp[start_h + len] == reference[start_r + len] && len < MAX_SHIFT_SIZE {
                len += 1;
                // Candidate (start_h, start_r, len).
                let consumed = hyp.len() == start_h + len || reference.len() == start_r + len;
                let skip = a.hyp_err[start_h..start_h + len].iter().all(|&e| e == 0)
                    || a.ref_err[start_r..start_r + len].iter().all(|&e| e == 0)
                    || a.align[start_r]
                        .is_some_and(|h| start_h as i64 <= h && h < (start_h + len) as i64);
                if !skip {
                    let mut prev_idx = -1i64;
                    for offset in -1..len as i64 {
                        let r = start_r as i64 + offset;
                        let idx = if r == -1 {
                            0
                        } else if let Some(Some(h)) = a.align.get(r as usize) {
                            h + 1
                        } else {
                            break;
                        };
                        if idx == prev_idx {
                            continue;
                        }
                        prev_idx = idx;
                        let shifted = perform_shift(hyp, start_h, len, idx as usize);
                        let gain = pre_score - ed.distance(&shifted).0;
                        let rank = (gain, len, -(start_h as i64), -idx);
                        checked += 1;
                        if best.as_ref().map_or(true, |(b, _)| rank > *b) {
                            best = Some((rank, shifted));
                        }
                    }
                    if checked >= MAX_SHIFT_CANDIDATES {
                        break 'pairs;
                    }
                }
                if consumed {
                    break;
                }
            }
        }
    }
    match best {
        None => (0, hyp.to_vec(), checked),
        Some(((gain, ..), shifted)) => (gain, shifted, checked),
    }
}

/// The number of edits (shifts included) turning `hyp` into `reference`, and the
/// reference length. An empty reference costs one edit per hypothesis word.
pub fn translation_edit_rate(hyp: &[u32], reference: &[u32]) -> (usize, usize) {
    if reference.is_empty() {
        return (hyp.len(), 0);
    }
    let mut ed = BeamEditDistance::new(reference);
    let mut shifts = 0;
    let mut words = hyp.to_vec();
    let mut checked = 0;
    loop {
        let (gain, shifted, now_checked) = best_shift(&words, reference, &mut ed, checked);
        checked = now_checked;
        if checked >= MAX_SHIFT_CANDIDATES || gain <= 0 {
            break;
        }
        shifts += 1;
        words = shifted;
    }
    let (distance, _) = ed.distance(&words);
    (shifts + distance as usize, reference.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &str) -> Vec<u32> {
        s.split_whitespace().map(|w| w.bytes().fold(0u32, |h, b| h * 131 + u32::from(b))).collect()
    }

    #[test]
    fn plain_edits_and_shifts() {
        assert_eq!(translation_edit_rate(&ids("a b c"), &ids("a b c")), (0, 3));
        assert_eq!(translation_edit_rate(&ids("a x c"), &ids("a b c")), (1, 3));
        assert_eq!(translation_edit_rate(&ids(""), &ids("a b")), (2, 2));
        assert_eq!(translation_edit_rate(&ids("a b"), &ids("")), (2, 0));
        // Moving "d e" to the front is one shift instead of four edits.
        assert_eq!(translation_edit_rate(&ids("a b c d e"), &ids("d e a b c")), (1, 5));
    }
}
