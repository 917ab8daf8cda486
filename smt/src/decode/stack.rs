//! The stack search of Pharaoh/Moses: hypotheses are grouped by the number of covered
//! source words; each stack is pruned (threshold, then histogram) before its hypotheses
//! are extended by every translation option that respects the distortion limit.
//! Hypotheses with the same coverage, language-model state and last source position
//! (and, with lexicalized reordering, the same last phrase) are recombined.

use hashbrown::HashMap;

use super::future_cost::FutureCosts;
use super::hypothesis::{Coverage, Hypothesis};
use super::nbest;
use super::options::WORD_PENALTY;
use super::options::{floor_log, Features, NUM_FEATURES};
use super::options::{DISTORTION, LM, PHRASE_PENALTY, REORDERING, TM, UNKNOWN, UNKNOWN_SCORE};
use super::{Decoder, TargetLm, Translation, UNKNOWN_WORD};
use crate::phrase::table::PhraseEntry;

/// A translation option: one way to translate one source span.
pub(crate) struct TransOpt<'t> {
    pub start: usize,
    pub end: usize,
    /// The table entry, or `None` for a copied (or dropped) unknown word.
    pub entry: Option<&'t PhraseEntry>,
    /// Target ids fed to the language model.
    pub lm_words: Vec<u32>,
    /// Features that do not depend on context (TM, penalties).
    pub features: Features,
    /// Log reordering probabilities.
    pub reordering: Option<[f32; 6]>,
}

type Key<S> = (Coverage, S, usize, u32);

struct Stack<S> {
    ids: Vec<u32>,
    map: HashMap<Key<S>, usize>,
    best: f32,
    /// After a histogram pruning, the worst total kept: anything below it would be
    /// pruned again by the next pruning, so it is rejected at once.
    cutoff: f32,
}

impl<S: Clone + Eq + std::hash::Hash> Stack<S> {
    fn new() -> Self {
        Self {
            ids: Vec::new(),
            map: HashMap::new(),
            best: f32::NEG_INFINITY,
            cutoff: f32::NEG_INFINITY,
        }
    }
}

struct Search<'d, 'a, L: TargetLm> {
    dec: &'d Decoder<'a, L>,
    n: usize,
    opts: Vec<TransOpt<'a>>,
    /// spans[start] = list of (end, option index range)
    spans: Vec<Vec<(usize, std::ops::Range<usize>)>>,
    fc: FutureCosts,
    arena: Vec<Hypothesis<L::State>>,
    log_threshold: f32,
    use_reordering: bool,
}

fn orientation(start: usize, end: usize, prev: (usize, usize)) -> usize {
    if start == prev.1 {
        0
    } else if end == prev.0 {
        1
    } else {
        2
    }
}

impl<'d, 'a, L: TargetLm> Search<'d, 'a, L> {
    fn key(&self, id: u32) -> Key<L::State> {
        let h = &self.arena[id as usize];
        let last = if self.use_reordering && h.back.is_some() { h.option } else { u32::MAX };
        (h.coverage, h.lm_state.clone(), h.last_end, last)
    }

    fn prune(&mut self, stack: &mut Stack<L::State>, size: usize) {
        let arena = &self.arena;
        stack.ids.sort_unstable_by(|&a, &b| {
            arena[b as usize].total().total_cmp(&arena[a as usize].total()).then(a.cmp(&b))
        });
        let floor = stack.best + self.log_threshold;
        stack.ids.retain(|&id| arena[id as usize].total() >= floor);
        if stack.ids.len() > size.max(1) {
            stack.ids.truncate(size.max(1));
            let worst = arena[*stack.ids.last().expect("non-empty") as usize].total();
            stack.cutoff = stack.cutoff.max(worst);
        }
        stack.map.clear();
        for pos in 0..stack.ids.len() {
            let k = self.key(stack.ids[pos]);
            stack.map.insert(k, pos);
        }
    }

    fn add(&mut self, stack: &mut Stack<L::State>, hyp: Hypothesis<L::State>, n_best: bool) {
        let total = hyp.total();
        if total < stack.best + self.log_threshold || total < stack.cutoff {
            return;
        }
        let id = self.arena.len() as u32;
        self.arena.push(hyp);
        let key = self.key(id);
        if let Some(&pos) = stack.map.get(&key) {
            let old = stack.ids[pos];
            let (win, lose) = if self.arena[id as usize].score > self.arena[old as usize].score {
                (id, old)
            } else {
                (old, id)
            };
            if n_best {
                let mut moved = std::mem::take(&mut self.arena[lose as usize].recombined);
                moved.push(lose);
                self.arena[win as usize].recombined.append(&mut moved);
            }
            stack.ids[pos] = win;
        } else {
            stack.map.insert(key, stack.ids.len());
            stack.ids.push(id);
        }
        stack.best = stack.best.max(total);
        let size = self.dec.options.stack_size;
        if stack.ids.len() > 2 * size.max(1) {
            self.prune(stack, size);
        }
    }

    /// The LM score of an option's words after `state`, and the state after them.
    fn lm_phrase(&self, state: &L::State, opt_id: usize) -> (f32, L::State) {
        let mut st = state.clone();
        let mut total = 0.0;
        for &w in &self.opts[opt_id].lm_words {
            let (p, next) = self.dec.lm.score(&st, w);
            total += p;
            st = next;
        }
        (total, st)
    }

    fn extend(&self, h_id: u32, opt_id: usize) -> Hypothesis<L::State> {
        let h = &self.arena[h_id as usize];
        let o = &self.opts[opt_id];
        let dec = self.dec;
        let mut f = h.features;
        for (x, d) in f.iter_mut().zip(&o.features) {
            *x += d;
        }
        f[DISTORTION] -= (o.start as isize - h.last_end as isize).unsigned_abs() as f32;
        let (lm, st) = self.lm_phrase(&h.lm_state, opt_id);
        f[LM] += lm;
        let mut coverage = h.coverage;
        coverage.set_range(o.start, o.end);
        let covered = h.covered + (o.end - o.start);
        let complete = covered == self.n;
        if complete {
            f[LM] += dec.lm.end(&st);
        }
        if self.use_reordering {
            let prev = if h.back.is_some() {
                let q = &self.opts[h.option as usize];
                (q.start, q.end)
            } else {
                (0, 0)
            };
            let or = orientation(o.start, o.end, prev);
            if let Some(r) = o.reordering {
                f[REORDERING + or] += r[or];
            }
            if h.back.is_some() {
                if let Some(r) = self.opts[h.option as usize].reordering {
                    f[REORDERING + 3 + or] += r[3 + or];
                }
            }
            if complete {
                let end_or = if o.end == self.n { 0 } else { 2 };
                if let Some(r) = o.reordering {
                    f[REORDERING + 3 + end_or] += r[3 + end_or];
                }
            }
        }
        // future cost: replace the gap that held the new phrase by what is left of it
        let (mut g0, mut g1) = (o.start, o.end);
        while g0 > 0 && !h.coverage.get(g0 - 1) {
            g0 -= 1;
        }
        while g1 < self.n && !h.coverage.get(g1) {
            g1 += 1;
        }
        let future =
            h.future - self.fc.get(g0, g1) + self.fc.get(g0, o.start) + self.fc.get(o.end, g1);
        Hypothesis {
            back: Some(h_id),
            option: opt_id as u32,
            coverage,
            covered,
            lm_state: st,
            last_end: o.end,
            score: dec.weights.dot(&f),
            features: f,
            future: if complete { 0.0 } else { future },
            recombined: Vec::new(),
        }
    }

    fn expand(&mut self, h_id: u32, stacks: &mut [Stack<L::State>], n_best: bool) {
        let limit = self.dec.options.distortion_limit;
        let (coverage, last_end, covered) = {
            let h = &self.arena[h_id as usize];
            (h.coverage, h.last_end, h.covered)
        };
        let gap = coverage.first_gap(self.n);
        for s in gap..self.n {
            if coverage.get(s) {
                continue;
            }
            if let Some(lim) = limit {
                if s > gap && s - gap > lim {
                    break;
                }
            }
            for si in 0..self.spans[s].len() {
                let (e, ref range) = self.spans[s][si];
                let range = range.clone();
                if coverage.overlaps(s, e) {
                    break;
                }
                if let (Some(lim), true) = (limit, s != gap) {
                    let jump = (s as isize - last_end as isize).unsigned_abs();
                    if jump > lim || e - gap > lim {
                        continue;
                    }
                }
                let target = covered + (e - s);
                for opt in range {
                    let hyp = self.extend(h_id, opt);
                    let mut stack = std::mem::replace(&mut stacks[target], Stack::new());
                    self.add(&mut stack, hyp, n_best);
                    stacks[target] = stack;
                }
            }
        }
    }

    fn output(&self, path: &[u32], src: &[&str]) -> Translation {
        let dec = self.dec;
        let mut t = Translation {
            words: Vec::new(),
            features: [0.0; NUM_FEATURES],
            total: 0.0,
            alignment: Vec::new(),
            phrases: Vec::new(),
        };
        for &id in path {
            let o = &self.opts[self.arena[id as usize].option as usize];
            let base = t.words.len();
            match o.entry {
                Some(e) => {
                    t.words.extend(e.tgt.iter().map(|&w| dec.table.tgt_vocab.word(w).to_owned()));
                    t.alignment.extend(
                        e.align.iter().map(|&(a, b)| (o.start + a as usize, base + b as usize)),
                    );
                }
                None if !dec.options.drop_unknown => {
                    t.words.push(src[o.start].to_owned());
                    t.alignment.push((o.start, base));
                }
                None => {}
            }
            t.phrases.push((o.start, o.end, t.words.len() - base));
        }
        t
    }
}

/// Translates one sentence of at most [`super::hypothesis::MAX_WORDS`] tokens.
pub(crate) fn search<L: TargetLm>(dec: &Decoder<'_, L>, src: &[&str]) -> Vec<Translation> {
    let n = src.len();
    let table = dec.table;
    let w = &dec.weights;
    let ids: Vec<Option<u32>> = src.iter().map(|s| table.src_vocab.get(s)).collect();
    let use_reordering = table.has_reordering() && w.0[REORDERING..].iter().any(|&x| x != 0.0);
    let mut opts: Vec<TransOpt> = Vec::new();
    let mut spans: Vec<Vec<(usize, std::ops::Range<usize>)>> = vec![Vec::new(); n];
    let max_len = table.max_src_len().max(1);
    for i in 0..n {
        for j in i + 1..=n.min(i + max_len) {
            let Some(key) = ids[i..j].iter().copied().collect::<Option<Vec<u32>>>() else {
                break;
            };
            let entries = table.lookup(&key);
            let first = opts.len();
            for e in entries.iter().take(dec.options.table_limit.max(1)) {
                let mut f = [0.0; NUM_FEATURES];
                for k in 0..4 {
                    f[TM + k] = floor_log(e.probs[k]);
                }
                f[WORD_PENALTY] = -(e.tgt.len() as f32);
                f[PHRASE_PENALTY] = 1.0;
                opts.push(TransOpt {
                    start: i,
                    end: j,
                    entry: Some(e),
                    lm_words: e.tgt.clone(),
                    features: f,
                    reordering: e.reordering.map(|r| r.map(floor_log)),
                });
            }
            if opts.len() > first {
                spans[i].push((j, first..opts.len()));
            }
        }
        if !spans[i].first().is_some_and(|(j, _)| *j == i + 1) {
            let mut f = [0.0; NUM_FEATURES];
            f[UNKNOWN] = UNKNOWN_SCORE;
            f[PHRASE_PENALTY] = 1.0;
            let drop = dec.options.drop_unknown;
            f[WORD_PENALTY] = if drop { 0.0 } else { -1.0 };
            let first = opts.len();
            opts.push(TransOpt {
                start: i,
                end: i + 1,
                entry: None,
                lm_words: if drop { Vec::new() } else { vec![UNKNOWN_WORD] },
                features: f,
                reordering: None,
            });
            spans[i].insert(0, (i + 1, first..first + 1));
        }
    }
    // best context-free estimate per span
    let mut best = HashMap::new();
    for o in &opts {
        let est = w.dot(&o.features) + w.0[LM] * super::lm_estimate(dec.lm, &o.lm_words);
        let b = best.entry((o.start, o.end)).or_insert(f32::NEG_INFINITY);
        *b = f32::max(*b, est);
    }
    let fc = FutureCosts::new(n, |i, j| best.get(&(i, j)).copied());
    let log_threshold = if dec.options.beam_threshold > 0.0 {
        dec.options.beam_threshold.ln()
    } else {
        f32::NEG_INFINITY
    };
    let mut search =
        Search { dec, n, opts, spans, fc, arena: Vec::new(), log_threshold, use_reordering };
    let begin = dec.lm.begin();
    let mut root_features = [0.0; NUM_FEATURES];
    if n == 0 {
        root_features[LM] = dec.lm.end(&begin);
    }
    search.arena.push(Hypothesis {
        back: None,
        option: 0,
        coverage: Coverage::default(),
        covered: 0,
        lm_state: begin,
        last_end: 0,
        score: w.dot(&root_features),
        features: root_features,
        future: search.fc.get(0, n),
        recombined: Vec::new(),
    });
    let n_best = dec.options.n_best > 1;
    let mut stacks: Vec<Stack<L::State>> = (0..=n).map(|_| Stack::new()).collect();
    stacks[0].ids.push(0);
    for k in 0..n {
        let mut st = std::mem::replace(&mut stacks[k], Stack::new());
        search.prune(&mut st, dec.options.stack_size);
        for &h in &st.ids {
            search.expand(h, &mut stacks, n_best);
        }
    }
    let mut last = std::mem::replace(&mut stacks[n], Stack::new());
    search.prune(&mut last, dec.options.stack_size);
    let paths = nbest::extract(&search.arena, &last.ids, dec.options.n_best.max(1));
    paths
        .into_iter()
        .map(|(path, features)| {
            let mut t = search.output(&path, src);
            t.features = features;
            t.total = w.dot(&features);
            t
        })
        .collect()
}
