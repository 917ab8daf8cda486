//! The decoder against exhaustive search on toy models, n-best consistency, unknown
//! words and degenerate inputs.

use hashbrown::HashMap;

use super::nbest::{moses_line, parse_features};
use super::options::*;
use super::*;
use crate::phrase::table::{PhraseEntry, PhraseTable};
use crate::vocab::Vocab;

/// A bigram LM over target ids with fixed log probabilities; unseen bigrams fall back
/// to a unigram score minus 1, unseen unigrams score −4.
struct ToyLm {
    bigram: HashMap<(u32, u32), f32>,
    unigram: HashMap<u32, f32>,
}

const BOS: u32 = u32::MAX - 1;
const EOS: u32 = u32::MAX - 2;

impl ToyLm {
    fn p(&self, prev: Option<u32>, w: u32) -> f32 {
        if let Some(p) = prev.and_then(|p| self.bigram.get(&(p, w))) {
            return *p;
        }
        let u = self.unigram.get(&w).copied().unwrap_or(-4.0);
        if prev.is_some() {
            u - 1.0
        } else {
            u
        }
    }
}

impl TargetLm for ToyLm {
    type State = Option<u32>;
    fn begin(&self) -> Option<u32> {
        Some(BOS)
    }
    fn null(&self) -> Option<u32> {
        None
    }
    fn score(&self, s: &Option<u32>, w: u32) -> (f32, Option<u32>) {
        (self.p(*s, w), Some(w))
    }
    fn end(&self, s: &Option<u32>) -> f32 {
        self.p(*s, EOS)
    }
}

struct Toy {
    table: PhraseTable,
    lm: ToyLm,
}

/// Table lines "src ||| tgt ||| p1 p2 p3 p4"; LM lines "a b logp" (bigram, `<s>` and
/// `</s>` allowed) or "a logp" (unigram).
fn toy(pairs: &[&str], lm: &[&str]) -> Toy {
    let mut sv = Vocab::new();
    let mut tv = Vocab::new();
    let mut rows = Vec::new();
    for line in pairs {
        let f: Vec<&str> = line.split(" ||| ").collect();
        let s: Vec<u32> = f[0].split(' ').map(|w| sv.intern(w)).collect();
        let t: Vec<u32> = f[1].split(' ').map(|w| tv.intern(w)).collect();
        let p: Vec<f32> = f[2].split(' ').map(|x| x.parse().unwrap()).collect();
        let align = (0..s.len().min(t.len())).map(|i| (i as u8, i as u8)).collect();
        rows.push((s, t, [p[0], p[1], p[2], p[3]], align));
    }
    let mut table = PhraseTable::new(sv, tv.clone(), false);
    for (s, t, probs, align) in rows {
        table.insert(s, PhraseEntry { tgt: t, probs, align, reordering: None, counts: [1; 3] });
    }
    table.sort_entries();
    let id = |w: &str| match w {
        "<s>" => BOS,
        "</s>" => EOS,
        w => tv.get(w).unwrap_or_else(|| panic!("{w} not in table")),
    };
    let mut bigram = HashMap::new();
    let mut unigram = HashMap::new();
    for l in lm {
        let f: Vec<&str> = l.split(' ').collect();
        if f.len() == 3 {
            bigram.insert((id(f[0]), id(f[1])), f[2].parse().unwrap());
        } else {
            unigram.insert(id(f[0]), f[1].parse().unwrap());
        }
    }
    Toy { table, lm: ToyLm { bigram, unigram } }
}

fn exhaustive_opts() -> DecodeOptions {
    DecodeOptions {
        stack_size: 100_000,
        beam_threshold: 0.0,
        distortion_limit: None,
        table_limit: 100,
        drop_unknown: false,
        n_best: 0,
    }
}

/// Scores a full derivation directly from the model definitions.
fn score_derivation(
    t: &Toy,
    w: &Weights,
    src_ids: &[u32],
    deriv: &[(usize, usize, &PhraseEntry)],
) -> (f32, Vec<u32>) {
    let mut f = [0f32; NUM_FEATURES];
    let mut out = Vec::new();
    let mut last_end = 0usize;
    for &(s, e, entry) in deriv {
        let _ = src_ids;
        for k in 0..4 {
            f[TM + k] += floor_log(entry.probs[k]);
        }
        f[WORD_PENALTY] -= entry.tgt.len() as f32;
        f[PHRASE_PENALTY] += 1.0;
        f[DISTORTION] -= (s as i64 - last_end as i64).abs() as f32;
        last_end = e;
        out.extend(&entry.tgt);
    }
    let mut prev = Some(BOS);
    for &x in &out {
        f[LM] += t.lm.p(prev, x);
        prev = Some(x);
    }
    f[LM] += t.lm.p(prev, EOS);
    (w.dot(&f), out)
}

/// The best derivation by enumerating every segmentation, order and option.
fn brute_force(t: &Toy, w: &Weights, src: &[&str]) -> (f32, Vec<u32>) {
    let ids: Vec<u32> = src.iter().map(|s| t.table.src_vocab.get(s).unwrap()).collect();
    let n = ids.len();
    let mut best = (f32::NEG_INFINITY, Vec::new());
    fn rec<'a>(
        t: &'a Toy,
        w: &Weights,
        ids: &[u32],
        covered: &mut Vec<bool>,
        deriv: &mut Vec<(usize, usize, &'a PhraseEntry)>,
        best: &mut (f32, Vec<u32>),
    ) {
        let n = ids.len();
        if covered.iter().all(|&c| c) {
            let (s, out) = score_derivation(t, w, ids, deriv);
            if s > best.0 {
                *best = (s, out);
            }
            return;
        }
        for i in 0..n {
            for j in i + 1..=n {
                if covered[i..j].iter().any(|&c| c) {
                    break;
                }
                for e in t.table.lookup(&ids[i..j]) {
                    covered[i..j].iter_mut().for_each(|c| *c = true);
                    deriv.push((i, j, e));
                    rec(t, w, ids, covered, deriv, best);
                    deriv.pop();
                    covered[i..j].iter_mut().for_each(|c| *c = false);
                }
            }
        }
    }
    rec(t, w, &ids, &mut vec![false; n], &mut Vec::new(), &mut best);
    best
}

fn model_a() -> Toy {
    toy(
        &[
            "er ||| he ||| 0.8 0.7 0.9 0.8",
            "er ||| it ||| 0.2 0.3 0.1 0.2",
            "geht ||| goes ||| 0.6 0.5 0.7 0.6",
            "geht ||| go ||| 0.4 0.5 0.3 0.4",
            "ja ||| yes ||| 0.5 0.5 0.5 0.5",
            "ja ||| indeed ||| 0.5 0.5 0.5 0.5",
            "nicht ||| not ||| 0.9 0.9 0.9 0.9",
            "nicht ||| does not ||| 0.3 0.2 0.1 0.2",
            "geht nicht ||| does not go ||| 0.5 0.4 0.6 0.5",
            "ja nicht ||| not ||| 0.1 0.1 0.1 0.1",
            "nach hause ||| home ||| 0.9 0.8 0.9 0.8",
            "nach ||| to ||| 0.7 0.7 0.7 0.7",
            "hause ||| house ||| 0.6 0.6 0.6 0.6",
        ],
        &[
            "<s> he -0.5",
            "he does -1",
            "does not -0.3",
            "not go -0.7",
            "go home -0.6",
            "he goes -1.2",
            "goes not -3",
            "not </s> -2",
            "home </s> -0.2",
            "go </s> -1.5",
            "he -1",
            "it -1.5",
            "goes -2",
            "go -2",
            "yes -2",
            "indeed -2.5",
            "not -1.5",
            "does -2",
            "home -2",
            "to -1",
            "house -2",
        ],
    )
}

#[test]
fn finds_the_exhaustive_best_on_toy_models() {
    let t = model_a();
    let sentences = [
        "er geht nicht",
        "er geht ja nicht",
        "er geht nicht nach hause",
        "nicht er geht",
        "ja nach hause er",
    ];
    let weight_sets = [Weights::moses_default(false), Weights::noisy_channel(), {
        let mut w = Weights::moses_default(false);
        w.0[DISTORTION] = 0.05;
        w.0[LM] = 1.2;
        w
    }];
    for w in weight_sets {
        let dec = Decoder::new(&t.table, &t.lm, w, exhaustive_opts());
        for s in sentences {
            let src: Vec<&str> = s.split(' ').collect();
            let (bf_score, bf_out) = brute_force(&t, &w, &src);
            let best = &dec.translate(&src)[0];
            assert!(
                (best.total - bf_score).abs() < 1e-3,
                "{s}: decoder {} {:?} vs exhaustive {bf_score} {:?}",
                best.total,
                best.words,
                bf_out
            );
            let ids: Vec<u32> =
                best.words.iter().map(|x| t.table.tgt_vocab.get(x).unwrap()).collect();
            assert_eq!(ids, bf_out, "{s}");
        }
    }
}

#[test]
fn nbest_is_sorted_and_totals_are_weighted_sums() {
    let t = model_a();
    let w = Weights::moses_default(false);
    let opts = DecodeOptions { n_best: 50, ..exhaustive_opts() };
    let dec = Decoder::new(&t.table, &t.lm, w, opts);
    let list = dec.translate(&["er", "geht", "nicht", "nach", "hause"]);
    assert!(list.len() >= 10, "only {} entries", list.len());
    for pair in list.windows(2) {
        assert!(pair[0].total >= pair[1].total - 1e-4);
    }
    for tr in &list {
        assert!((tr.total - w.dot(&tr.features)).abs() < 1e-3);
        // the Moses line round-trips the features
        let line = moses_line(0, &tr.words.join(" "), &tr.features, tr.total, false, None);
        let fields: Vec<&str> = line.split(" ||| ").collect();
        let f = parse_features(fields[2], false).unwrap();
        let tot: f32 = fields[3].parse().unwrap();
        assert!((w.dot(&f) - tot).abs() < 1e-3, "{line}");
    }
    // distinct derivations
    let mut seen = std::collections::HashSet::new();
    for tr in &list {
        assert!(seen.insert((tr.words.clone(), tr.phrases.clone())), "duplicate {:?}", tr.words);
    }
    // the first entry is the 1-best
    let one = Decoder::new(&t.table, &t.lm, w, exhaustive_opts());
    assert_eq!(one.translate(&["er", "geht", "nicht", "nach", "hause"])[0].words, list[0].words);
}

#[test]
fn unknown_words_and_empty_input() {
    let t = model_a();
    let w = Weights::moses_default(false);
    let dec = Decoder::new(&t.table, &t.lm, w, DecodeOptions::default());
    let out = &dec.translate(&["zebra", "quokka"])[0];
    assert_eq!(out.words, vec!["zebra", "quokka"]);
    assert_eq!(out.features[UNKNOWN], 2.0 * UNKNOWN_SCORE);
    assert!(out.features[LM] < 0.0);
    let empty = &dec.translate::<&str>(&[])[0];
    assert!(empty.words.is_empty());
    assert!(empty.total.is_finite());
    let mixed = &dec.translate(&["er", "zebra", "geht"])[0];
    assert!(mixed.words.contains(&"zebra".to_owned()));
    let drop = Decoder::new(
        &t.table,
        &t.lm,
        w,
        DecodeOptions { drop_unknown: true, ..DecodeOptions::default() },
    );
    assert!(drop.translate(&["zebra", "quokka"])[0].words.is_empty());
    assert_eq!(drop.translate(&["er", "zebra"])[0].words, vec!["he"]);
}

#[test]
fn long_sentences_translate() {
    let t = model_a();
    let dec =
        Decoder::new(&t.table, &t.lm, Weights::moses_default(false), DecodeOptions::default());
    let words: Vec<&str> =
        ["er", "geht", "nicht", "nach", "hause"].iter().cycle().take(200).copied().collect();
    let out = &dec.translate(&words)[0];
    assert!(out.words.len() >= 160);
    let covered: usize = out.phrases.iter().map(|p| p.1 - p.0).sum();
    assert_eq!(covered, 200);
    let longer: Vec<&str> = words.iter().cycle().take(600).copied().collect();
    let out = &dec.translate(&longer)[0];
    assert_eq!(out.phrases.iter().map(|p| p.1 - p.0).sum::<usize>(), 600);
}

#[test]
fn distortion_limit_is_respected() {
    let t = model_a();
    let opts = DecodeOptions { distortion_limit: Some(1), ..DecodeOptions::default() };
    let mut w = Weights::moses_default(false);
    w.0[DISTORTION] = 0.0;
    let dec = Decoder::new(&t.table, &t.lm, w, opts);
    let out = &dec.translate(&["ja", "nach", "hause", "er", "geht", "nicht"])[0];
    let mut last = 0usize;
    for &(s, e, _) in &out.phrases {
        let gap_jump = (s as i64 - last as i64).unsigned_abs() as usize;
        assert!(gap_jump <= 1 || s == 0, "jump {gap_jump} in {:?}", out.phrases);
        last = e;
    }
}

/// The six msd-bidirectional-fe features of a derivation, recomputed by hand from its
/// phrases, equal the decoder's; a negative swap weight (a bonus) makes the decoder swap.
#[test]
fn lexicalized_reordering_features() {
    let mut t =
        toy(&["a ||| x ||| 0.5 0.5 0.5 0.5", "b ||| y ||| 0.5 0.5 0.5 0.5"], &["x -1", "y -1"]);
    // previous m s d, next m s d
    let ra = [0.6f32, 0.3, 0.1, 0.5, 0.2, 0.3];
    let rb = [0.2f32, 0.7, 0.1, 0.4, 0.4, 0.2];
    let mut tbl = PhraseTable::new(t.table.src_vocab.clone(), t.table.tgt_vocab.clone(), true);
    for (src, r) in [("a", ra), ("b", rb)] {
        let sid = t.table.src_vocab.get(src).unwrap();
        let mut e = t.table.lookup(&[sid])[0].clone();
        e.reordering = Some(r);
        tbl.insert(vec![sid], e);
    }
    t.table = tbl;
    let ln = |p: f32| p.ln();
    let mut w = Weights::moses_default(true);
    w.0[DISTORTION] = 0.0;
    // monotone: a then b
    let mono = [ln(ra[0]), 0.0, 0.0, ln(ra[3]) + ln(rb[3]), 0.0, 0.0];
    let mono = [mono[0] + ln(rb[0]), mono[1], mono[2], mono[3], mono[4], mono[5]];
    // swapped: b (discontinuous from the start), then a (swap); b's next is swap; a is
    // last but does not end the sentence: discontinuous
    let swap = [0.0, ln(ra[1]), ln(rb[2]), 0.0, ln(rb[4]), ln(ra[5])];
    for (swap_weight, want_words, want) in
        [(0.3f32, vec!["x", "y"], mono), (-20.0, vec!["y", "x"], swap)]
    {
        w.0[REORDERING + 1] = swap_weight;
        w.0[REORDERING + 4] = swap_weight;
        let dec = Decoder::new(&t.table, &t.lm, w, exhaustive_opts());
        let out = &dec.translate(&["a", "b"])[0];
        assert_eq!(out.words, want_words);
        for (k, want_k) in want.iter().enumerate() {
            let got = out.features[REORDERING + k];
            assert!((got - want_k).abs() < 1e-5, "feature {k}: {got} vs {want_k}");
        }
        assert!((out.total - w.dot(&out.features)).abs() < 1e-4);
    }
}
