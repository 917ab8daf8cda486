//! Greedy and beam search over any step-wise scorer.
//!
//! Beam search keeps `beam` live hypotheses per sentence. A hypothesis that emits EOS is
//! finished and never extended. A sentence stops only when it holds `n_best` finished
//! hypotheses and no live one can still beat them: with the GNMT length penalty
//! `lp(L) = ((5 + L) / 6)^α` (Wu et al., 2016) a live hypothesis with log-probability `s`
//! can at best reach `s / lp(max_len)`, since its score can only fall. At the maximum
//! length the live hypotheses are returned too, flagged unfinished, so a sentence never
//! comes back without an output.

use crate::bpe::{BOS, EOS, PAD};

/// What a scorer returns for each of its rows.
pub struct StepOut {
    /// For each row, its `k` best next tokens as (log-probability, token), best first.
    pub top: Vec<Vec<(f32, u32)>>,
    /// For each row, the attention over the source positions, if the model has one.
    pub attention: Option<Vec<Vec<f32>>>,
}

/// A model seen one decoding step at a time, with one row per live hypothesis.
pub trait StepScorer {
    /// Scores the next token of every row, given each row's previous token (BOS first).
    fn step(&mut self, prev: &[u32], k: usize) -> StepOut;
    /// Keeps the rows `rows` of the state, in that order (repeats allowed).
    fn reorder(&mut self, rows: &[usize]);
}

/// One output of the search.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Output tokens, without BOS and EOS.
    pub tokens: Vec<u32>,
    /// Sum of the token log-probabilities (EOS included when finished).
    pub log_prob: f32,
    /// The score the search ranks by: `log_prob / lp(L)`.
    pub score: f32,
    /// False when the maximum length was reached before EOS.
    pub finished: bool,
    /// Attention of each output token (EOS included when finished) over the source.
    pub attention: Vec<Vec<f32>>,
}

/// Search settings.
#[derive(Debug, Clone)]
pub struct SearchConfig {
    /// Live hypotheses per sentence.
    pub beam: usize,
    /// Hypotheses returned per sentence (at most `beam`).
    pub n_best: usize,
    /// Length-penalty exponent α (0: no length normalization).
    pub alpha: f32,
    /// Maximum number of output tokens of each sentence.
    pub max_len: Vec<usize>,
}

/// The GNMT length penalty.
pub fn length_penalty(len: usize, alpha: f32) -> f32 {
    if alpha == 0.0 {
        1.0
    } else {
        ((5.0 + len as f32) / 6.0).powf(alpha)
    }
}

fn allowed(token: u32) -> bool {
    token != PAD && token != BOS
}

/// Greedy search: the most probable token at each step, for every sentence at once.
pub fn greedy(scorer: &mut dyn StepScorer, max_len: &[usize]) -> Vec<Hypothesis> {
    let n = max_len.len();
    let mut hyps: Vec<Hypothesis> = (0..n)
        .map(|_| Hypothesis {
            tokens: Vec::new(),
            log_prob: 0.0,
            score: 0.0,
            finished: false,
            attention: Vec::new(),
        })
        .collect();
    let mut active: Vec<usize> = (0..n).filter(|&s| max_len[s] > 0).collect();
    scorer.reorder(&active);
    let mut step = 0;
    while !active.is_empty() {
        let prev: Vec<u32> =
            active.iter().map(|&s| hyps[s].tokens.last().copied().unwrap_or(BOS)).collect();
        let out = scorer.step(&prev, 3);
        step += 1;
        let mut keep = Vec::new();
        let mut still = Vec::new();
        for (row, &s) in active.iter().enumerate() {
            let &(lp, tok) = out.top[row].iter().find(|(_, t)| allowed(*t)).expect("k >= 3");
            let h = &mut hyps[s];
            h.log_prob += lp;
            if let Some(att) = &out.attention {
                h.attention.push(att[row].clone());
            }
            if tok == EOS {
                h.finished = true;
            } else {
                h.tokens.push(tok);
                if step < max_len[s] {
                    keep.push(row);
                    still.push(s);
                }
            }
        }
        if !still.is_empty() {
            scorer.reorder(&keep);
        }
        active = still;
    }
    for h in &mut hyps {
        h.score = h.log_prob;
    }
    hyps
}

/// Forced decoding: feeds the given `targets` (EOS appended) and records the attention
/// of each of their tokens (used to align a reference translation with its source).
pub fn forced(scorer: &mut dyn StepScorer, targets: &[Vec<u32>]) -> Vec<Hypothesis> {
    let n = targets.len();
    let longest = targets.iter().map(Vec::len).max().unwrap_or(0) + 1;
    let mut hyps: Vec<Hypothesis> = targets
        .iter()
        .map(|t| Hypothesis {
            tokens: t.clone(),
            log_prob: 0.0,
            score: 0.0,
            finished: true,
            attention: Vec::new(),
        })
        .collect();
    for step in 0..longest {
        let prev: Vec<u32> = (0..n)
            .map(|s| if step == 0 { BOS } else { targets[s].get(step - 1).copied().unwrap_or(EOS) })
            .collect();
        let out = scorer.step(&prev, 1);
        for s in 0..n {
            if step <= targets[s].len() {
                if let Some(att) = &out.attention {
                    hyps[s].attention.push(att[s].clone());
                }
            }
        }
    }
    hyps
}

/// Beam search for every sentence at once; returns `n_best` hypotheses per sentence, best
/// first.
pub fn beam_search(scorer: &mut dyn StepScorer, cfg: &SearchConfig) -> Vec<Vec<Hypothesis>> {
    let n = cfg.max_len.len();
    let beam = cfg.beam.max(1);
    let n_best = cfg.n_best.clamp(1, beam);
    let empty = Hypothesis {
        tokens: Vec::new(),
        log_prob: 0.0,
        score: 0.0,
        finished: false,
        attention: Vec::new(),
    };
    let mut live: Vec<Vec<Hypothesis>> = vec![vec![empty]; n];
    let mut finished: Vec<Vec<Hypothesis>> = vec![Vec::new(); n];
    let mut active: Vec<usize> = (0..n).filter(|&s| cfg.max_len[s] > 0).collect();
    scorer.reorder(&active);
    let mut step = 0;
    while !active.is_empty() {
        let prev: Vec<u32> = active
            .iter()
            .flat_map(|&s| live[s].iter().map(|h| h.tokens.last().copied().unwrap_or(BOS)))
            .collect();
        let out = scorer.step(&prev, 2 * beam + 2);
        step += 1;
        let mut row0 = 0;
        let mut parents = Vec::new();
        let mut still = Vec::new();
        for &s in &active {
            let rows = live[s].len();
            let mut cands: Vec<(f32, usize, u32)> = Vec::new();
            for (r, hyp) in live[s].iter().enumerate() {
                let base = hyp.log_prob;
                for &(lp, tok) in &out.top[row0 + r] {
                    if allowed(tok) {
                        cands.push((base + lp, r, tok));
                    }
                }
            }
            cands.sort_by(|a, b| b.0.total_cmp(&a.0));
            let mut next = Vec::with_capacity(beam);
            let mut next_rows = Vec::with_capacity(beam);
            for (rank, &(lp, r, tok)) in cands.iter().enumerate() {
                if next.len() == beam {
                    break;
                }
                let parent = &live[s][r];
                let mut attention = parent.attention.clone();
                if let Some(att) = &out.attention {
                    attention.push(att[row0 + r].clone());
                }
                if tok == EOS {
                    if rank < beam {
                        let len = parent.tokens.len() + 1;
                        finished[s].push(Hypothesis {
                            tokens: parent.tokens.clone(),
                            log_prob: lp,
                            score: lp / length_penalty(len, cfg.alpha),
                            finished: true,
                            attention,
                        });
                    }
                } else {
                    let mut tokens = parent.tokens.clone();
                    tokens.push(tok);
                    let len = tokens.len();
                    next.push(Hypothesis {
                        tokens,
                        log_prob: lp,
                        score: lp / length_penalty(len, cfg.alpha),
                        finished: false,
                        attention,
                    });
                    next_rows.push(row0 + r);
                }
            }
            row0 += rows;
            finished[s].sort_by(|a, b| b.score.total_cmp(&a.score));
            finished[s].truncate(n_best);
            live[s] = next;
            let done = step >= cfg.max_len[s]
                || live[s].is_empty()
                || (finished[s].len() >= n_best && {
                    let best_live = live[s][0].log_prob;
                    let bound = best_live / length_penalty(cfg.max_len[s], cfg.alpha);
                    bound <= finished[s][n_best - 1].score
                });
            if !done {
                still.push(s);
                parents.extend(next_rows);
            }
        }
        if !still.is_empty() {
            scorer.reorder(&parents);
        }
        active = still;
    }
    (0..n)
        .map(|s| {
            let mut out = std::mem::take(&mut finished[s]);
            let mut rest = std::mem::take(&mut live[s]);
            rest.sort_by(|a, b| b.score.total_cmp(&a.score));
            for h in rest {
                if out.len() >= n_best {
                    break;
                }
                out.push(h);
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: u32 = 3;
    const B: u32 = 4;

    /// The R16 toy model over {a, b, EOS}: each row's state is its prefix.
    struct Toy {
        rows: Vec<Vec<u32>>,
    }

    impl StepScorer for Toy {
        fn step(&mut self, prev: &[u32], k: usize) -> StepOut {
            let mut top = Vec::new();
            for (row, &p) in self.rows.iter_mut().zip(prev) {
                assert_ne!(p, EOS, "a finished hypothesis was extended");
                if p != BOS {
                    row.push(p);
                }
                let scores: [(f32, u32); 3] = match row.as_slice() {
                    [] => [(-0.45, EOS), (-0.5, A), (-3.0, B)],
                    [A] => [(-0.005, B), (-5.0, EOS), (-6.0, A)],
                    [A, B] => [(-0.005, EOS), (-6.0, A), (-6.0, B)],
                    _ => [(-6.0, EOS), (-6.0, A), (-6.0, B)],
                };
                let mut s = scores.to_vec();
                s.sort_by(|a, b| b.0.total_cmp(&a.0));
                s.truncate(k);
                top.push(s);
            }
            StepOut { top, attention: None }
        }
        fn reorder(&mut self, rows: &[usize]) {
            self.rows = rows.iter().map(|&r| self.rows[r].clone()).collect();
        }
    }

    fn run(alpha: f32, n_best: usize) -> Vec<Hypothesis> {
        let mut toy = Toy { rows: vec![Vec::new()] };
        let cfg = SearchConfig { beam: 2, n_best, alpha, max_len: vec![10] };
        beam_search(&mut toy, &cfg).remove(0)
    }

    #[test]
    fn r16_without_normalization_the_empty_output_wins() {
        let best = &run(0.0, 1)[0];
        assert!(best.tokens.is_empty() && best.finished);
        assert!((best.log_prob + 0.45).abs() < 1e-6);
    }

    #[test]
    fn r16_with_normalization_the_search_does_not_stop_early() {
        let best = &run(1.0, 1)[0];
        assert_eq!(best.tokens, vec![A, B]);
        assert!(best.finished);
        assert!((best.score - (-0.51 / (8.0f32 / 6.0))).abs() < 1e-5);
    }

    #[test]
    fn r16_n_best_entries_are_distinct_and_finished() {
        let hyps = run(1.0, 2);
        assert_eq!(hyps.len(), 2);
        assert_ne!(hyps[0].tokens, hyps[1].tokens);
        assert!(hyps.iter().all(|h| h.finished));
    }

    #[test]
    fn r17_max_length_returns_flagged_unfinished_hypotheses() {
        struct Never;
        impl StepScorer for Never {
            fn step(&mut self, prev: &[u32], k: usize) -> StepOut {
                let row: Vec<(f32, u32)> =
                    vec![(-1.0, A), (-1.1, B), (-1.2, 5), (-1.3, 6), (-1.4, 7), (-1.5, 8)];
                StepOut {
                    top: prev.iter().map(|_| row.iter().copied().take(k).collect()).collect(),
                    attention: None,
                }
            }
            fn reorder(&mut self, _rows: &[usize]) {}
        }
        let cfg = SearchConfig { beam: 5, n_best: 3, alpha: 1.0, max_len: vec![2, 2] };
        let out = beam_search(&mut Never, &cfg);
        assert_eq!(out.len(), 2);
        for hyps in out {
            assert_eq!(hyps.len(), 3);
            assert!(hyps.iter().all(|h| h.tokens.len() <= 2 && !h.finished));
        }
    }
}
