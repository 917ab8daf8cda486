//! Phrase-pair scores as the Moses `score` program computes them.
//!
//! For a phrase pair (f̄, ē) seen c(f̄, ē) times among the extracted pairs:
//! - φ(f̄|ē) = c(f̄, ē) / c(ē) and φ(ē|f̄) = c(f̄, ē) / c(f̄) (relative frequencies);
//! - lexical weights (Koehn, Och and Marcu 2003), under the alignment pattern seen most
//!   often for the pair: lex(ē|f̄, a) = ∏ᵢ 1/|{j: (j,i) ∈ a}| Σ_{(j,i) ∈ a} w(eᵢ|fⱼ), with
//!   w(eᵢ|NULL) for an unaligned target word, and lex(f̄|ē) symmetrically. The word
//!   translation table w is the relative frequency of aligned word pairs in the corpus,
//!   unaligned words counted against NULL.
//! - msd-bidirectional-fe reordering probabilities (Koehn et al. 2005, "Edinburgh System
//!   Description for the 2005 IWSLT"): p(o | f̄, ē) for the previous and for the next
//!   phrase, smoothed by 0.5 times the corpus-wide orientation distribution.

use hashbrown::HashMap;

use super::extract::{extract, ExtractedPair, Orientation};
use super::table::{PhraseEntry, PhraseTable};
use super::AlignPoint;
use crate::vocab::Vocab;

const NULL: u32 = u32::MAX;

/// The word translation tables w(e|f) and w(f|e) of lexical weighting.
#[derive(Debug, Default)]
pub struct LexicalTable {
    joint: HashMap<(u32, u32), u32>,
    src_total: HashMap<u32, u32>,
    tgt_total: HashMap<u32, u32>,
}

impl LexicalTable {
    /// Counts aligned word pairs of one sentence pair (ids; links are (source, target)).
    pub fn add(&mut self, src: &[u32], tgt: &[u32], align: &[AlignPoint]) {
        let mut src_aligned = vec![false; src.len()];
        let mut tgt_aligned = vec![false; tgt.len()];
        for &(s, t) in align {
            let (s, t) = (s as usize, t as usize);
            if s >= src.len() || t >= tgt.len() {
                continue;
            }
            src_aligned[s] = true;
            tgt_aligned[t] = true;
            self.count(src[s], tgt[t]);
        }
        for (s, _) in src_aligned.iter().enumerate().filter(|(_, a)| !**a) {
            self.count(src[s], NULL);
        }
        for (t, _) in tgt_aligned.iter().enumerate().filter(|(_, a)| !**a) {
            self.count(NULL, tgt[t]);
        }
    }

    fn count(&mut self, f: u32, e: u32) {
        *self.joint.entry((f, e)).or_default() += 1;
        *self.src_total.entry(f).or_default() += 1;
        *self.tgt_total.entry(e).or_default() += 1;
    }

    /// w(e|f); `f` = `None` is NULL.
    pub fn e_given_f(&self, e: u32, f: Option<u32>) -> f64 {
        let f = f.unwrap_or(NULL);
        let j = self.joint.get(&(f, e)).copied().unwrap_or(0) as f64;
        let n = self.src_total.get(&f).copied().unwrap_or(0) as f64;
        if n == 0.0 {
            0.0
        } else {
            j / n
        }
    }

    /// w(f|e); `e` = `None` is NULL.
    pub fn f_given_e(&self, f: u32, e: Option<u32>) -> f64 {
        let e = e.unwrap_or(NULL);
        let j = self.joint.get(&(f, e)).copied().unwrap_or(0) as f64;
        let n = self.tgt_total.get(&e).copied().unwrap_or(0) as f64;
        if n == 0.0 {
            0.0
        } else {
            j / n
        }
    }

    /// (lex(f̄|ē), lex(ē|f̄)) of a phrase pair under the links `align` (relative).
    pub fn phrase_weights(&self, src: &[u32], tgt: &[u32], align: &[(u8, u8)]) -> (f64, f64) {
        let mut by_tgt: Vec<Vec<u32>> = vec![Vec::new(); tgt.len()];
        let mut by_src: Vec<Vec<u32>> = vec![Vec::new(); src.len()];
        for &(s, t) in align {
            by_tgt[t as usize].push(src[s as usize]);
            by_src[s as usize].push(tgt[t as usize]);
        }
        let mut e_f = 1.0;
        for (t, fs) in by_tgt.iter().enumerate() {
            e_f *= if fs.is_empty() {
                self.e_given_f(tgt[t], None)
            } else {
                fs.iter().map(|&f| self.e_given_f(tgt[t], Some(f))).sum::<f64>() / fs.len() as f64
            };
        }
        let mut f_e = 1.0;
        for (s, es) in by_src.iter().enumerate() {
            f_e *= if es.is_empty() {
                self.f_given_e(src[s], None)
            } else {
                es.iter().map(|&e| self.f_given_e(src[s], Some(e))).sum::<f64>() / es.len() as f64
            };
        }
        (f_e, e_f)
    }
}

/// A phrase pair as (source ids, target ids).
type PairKey = (Box<[u32]>, Box<[u32]>);

#[derive(Debug, Default)]
struct PairStats {
    count: u32,
    aligns: HashMap<Vec<(u8, u8)>, u32>,
    orient: [u32; 6],
}

fn orient_index(o: Orientation) -> usize {
    match o {
        Orientation::Monotone => 0,
        Orientation::Swap => 1,
        Orientation::Discontinuous => 2,
    }
}

/// Collects phrase pairs from a word-aligned corpus and turns them into a [`PhraseTable`].
#[derive(Debug)]
pub struct PhraseCounter {
    max_len: usize,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    lex: LexicalTable,
    pairs: HashMap<PairKey, PairStats>,
    orient_total: [u64; 6],
    sentences: usize,
}

impl PhraseCounter {
    /// A counter for phrases of at most `max_len` words on each side.
    pub fn new(max_len: usize) -> Self {
        Self {
            max_len: max_len.clamp(1, 255),
            src_vocab: Vocab::new(),
            tgt_vocab: Vocab::new(),
            lex: LexicalTable::default(),
            pairs: HashMap::new(),
            orient_total: [0; 6],
            sentences: 0,
        }
    }

    /// Adds one sentence pair (tokens) and its word alignment (source, target).
    pub fn add<S: AsRef<str>, T: AsRef<str>>(
        &mut self,
        src: &[S],
        tgt: &[T],
        align: &[AlignPoint],
    ) {
        let s: Vec<u32> = src.iter().map(|w| self.src_vocab.intern(w.as_ref())).collect();
        let t: Vec<u32> = tgt.iter().map(|w| self.tgt_vocab.intern(w.as_ref())).collect();
        self.lex.add(&s, &t, align);
        self.sentences += 1;
        for ExtractedPair { src: sp, tgt: tp, align: a, prev, next } in
            extract(s.len(), t.len(), align, self.max_len)
        {
            let key: PairKey = (s[sp.0..sp.1].into(), t[tp.0..tp.1].into());
            let st = self.pairs.entry(key).or_default();
            st.count += 1;
            *st.aligns.entry(a).or_default() += 1;
            let (p, n) = (orient_index(prev), 3 + orient_index(next));
            st.orient[p] += 1;
            st.orient[n] += 1;
            self.orient_total[p] += 1;
            self.orient_total[n] += 1;
        }
    }

    /// Number of distinct phrase pairs collected so far.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True before any pair was collected.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Scores every collected pair. With `reordering`, each entry also gets the six
    /// msd-bidirectional-fe probabilities (smoothing 0.5).
    pub fn into_table(self, reordering: bool) -> PhraseTable {
        let mut src_count: HashMap<&[u32], u64> = HashMap::new();
        let mut tgt_count: HashMap<&[u32], u64> = HashMap::new();
        for ((f, e), st) in &self.pairs {
            *src_count.entry(f).or_default() += st.count as u64;
            *tgt_count.entry(e).or_default() += st.count as u64;
        }
        let prior = |range: std::ops::Range<usize>, i: usize| -> f64 {
            let tot: u64 = self.orient_total[range].iter().sum();
            if tot == 0 {
                1.0 / 3.0
            } else {
                self.orient_total[i] as f64 / tot as f64
            }
        };
        let priors: Vec<f64> = (0..6).map(|i| prior(if i < 3 { 0..3 } else { 3..6 }, i)).collect();
        let mut table =
            PhraseTable::new(self.src_vocab.clone(), self.tgt_vocab.clone(), reordering);
        for ((f, e), st) in &self.pairs {
            let best = st
                .aligns
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(a, _)| a.clone())
                .unwrap_or_default();
            let (lex_fe, lex_ef) = self.lex.phrase_weights(f, e, &best);
            let c = st.count as f64;
            let probs =
                [c / tgt_count[&e[..]] as f64, lex_fe, c / src_count[&f[..]] as f64, lex_ef];
            let reorder = reordering.then(|| {
                let mut r = [0f32; 6];
                for half in [0usize, 3] {
                    let tot: u32 = st.orient[half..half + 3].iter().sum();
                    for i in half..half + 3 {
                        r[i] =
                            ((st.orient[i] as f64 + 0.5 * priors[i]) / (tot as f64 + 0.5)) as f32;
                    }
                }
                r
            });
            table.insert(
                f.to_vec(),
                PhraseEntry {
                    tgt: e.to_vec(),
                    probs: probs.map(|p| p as f32),
                    align: best,
                    reordering: reorder,
                    counts: [tgt_count[&e[..]] as u32, src_count[&f[..]] as u32, st.count],
                },
            );
        }
        table.sort_entries();
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<&str> {
        s.split(' ').collect()
    }

    // Toy corpus worked out by hand:
    //   1. "das haus" / "the house", links 0-0 1-1
    //   2. "das buch" / "the book",  links 0-0 1-1
    //   3. "ein buch" / "a book",    links 0-0 1-1
    // Word counts: das→the 2, haus→house 1, buch→book 2, ein→a 1, no NULL links.
    // w(the|das) = 2/2 = 1, w(book|buch) = 2/2 = 1, w(das|the) = 1,
    // w(buch|book) = 2/2 = 1, w(a|ein) = 1.
    // Phrase pairs: (das, the) ×2, (haus, house), (das haus, the house), (buch, book) ×2,
    // (das buch, the book), (ein, a), (ein buch, a book).
    // φ(the|das) = 2/2, φ(book|buch) = 2/2, all others 1/1: every score is 1, a flat
    // corpus; the next test breaks the symmetry.
    #[test]
    fn flat_toy_corpus() {
        let mut c = PhraseCounter::new(7);
        c.add(&w("das haus"), &w("the house"), &[(0, 0), (1, 1)]);
        c.add(&w("das buch"), &w("the book"), &[(0, 0), (1, 1)]);
        c.add(&w("ein buch"), &w("a book"), &[(0, 0), (1, 1)]);
        assert_eq!(c.len(), 7);
        let t = c.into_table(false);
        for e in t.all_entries() {
            assert_eq!(e.1.probs, [1.0; 4]);
        }
    }

    // 1. "das haus" / "the house"   links 0-0 1-1
    // 2. "das haus" / "the home"    links 0-0 1-1
    // 3. "haus" / "house"           links 0-0
    // 4. "ja" / "yes indeed"        links 0-0 ("indeed" unaligned)
    // Word pair counts: das-the 2, haus-house 2, haus-home 1, ja-yes 1, NULL-indeed 1.
    // Source totals: das 2, haus 3, ja 1, NULL 1. Target totals: the 2, house 2, home 1,
    // yes 1, indeed 1.
    // w(house|haus) = 2/3, w(home|haus) = 1/3, w(haus|house) = 2/2 = 1, w(haus|home) = 1.
    // Pair (haus, house): c = 2 (sentences 1 and 3); c(haus) = 3 as a source phrase;
    // c(house) = 2. φ(f|e) = 2/2 = 1, φ(e|f) = 2/3; lex(e|f) = 2/3, lex(f|e) = 1.
    // Pair (das haus, the home): c = 1, c(das haus) = 2, c(the home) = 1:
    // φ(f|e) = 1, φ(e|f) = 1/2, lex(e|f) = w(the|das)·w(home|haus) = 1 · 1/3.
    // Pair (ja, yes indeed): lex(e|f) = w(yes|ja)·w(indeed|NULL) = 1 · 1/1;
    // lex(f|e) = w(ja|yes) = 1; and (ja, yes) also exists with φ(e|f) = 1/2.
    #[test]
    fn toy_scores_by_hand() {
        let mut c = PhraseCounter::new(7);
        c.add(&w("das haus"), &w("the house"), &[(0, 0), (1, 1)]);
        c.add(&w("das haus"), &w("the home"), &[(0, 0), (1, 1)]);
        c.add(&w("haus"), &w("house"), &[(0, 0)]);
        c.add(&w("ja"), &w("yes indeed"), &[(0, 0)]);
        let t = c.into_table(false);
        let get = |f: &str, e: &str| t.lookup_text(f, e).expect("pair exists").probs;
        let close = |a: [f32; 4], b: [f64; 4]| {
            for i in 0..4 {
                assert!((a[i] as f64 - b[i]).abs() < 1e-6, "{a:?} vs {b:?}");
            }
        };
        close(get("haus", "house"), [1.0, 1.0, 2.0 / 3.0, 2.0 / 3.0]);
        close(get("haus", "home"), [1.0, 1.0, 1.0 / 3.0, 1.0 / 3.0]);
        close(get("das haus", "the home"), [1.0, 1.0, 0.5, 1.0 / 3.0]);
        close(get("ja", "yes indeed"), [1.0, 1.0, 0.5, 1.0]);
        close(get("ja", "yes"), [1.0, 1.0, 0.5, 1.0]);
        // probabilities of one source phrase sum to one
        let total: f32 = t.entries_for_text("haus").iter().map(|e| e.probs[2]).sum();
        assert!((total - 1.0).abs() < 1e-6);
    }

    #[test]
    fn reordering_probabilities_sum_to_one() {
        let mut c = PhraseCounter::new(7);
        c.add(&w("a b c"), &w("x z y"), &[(0, 0), (1, 2), (2, 1)]);
        c.add(&w("a b"), &w("x y"), &[(0, 0), (1, 1)]);
        let t = c.into_table(true);
        for (_, e) in t.all_entries() {
            let r = e.reordering.unwrap();
            assert!((r[0] + r[1] + r[2] - 1.0).abs() < 1e-5);
            assert!((r[3] + r[4] + r[5] - 1.0).abs() < 1e-5);
        }
        // "b" → "y" in sentence 1: the previous target word "z" is aligned to "c", the
        // source word right of "b": swap. In sentence 2 it follows "x"-"a": monotone.
        let r = t.lookup_text("b", "y").unwrap().reordering.unwrap();
        assert!(r[0] > r[2] && r[1] > r[2]);
    }
}
