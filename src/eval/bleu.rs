//! BLEU (Papineni et al., 2002, "BLEU: a method for automatic evaluation of machine
//! translation") exactly as sacreBLEU 2.6.0 computes it.
//!
//! Per segment: lower-case (optional), `rstrip`, tokenize, split on Python whitespace; count
//! the hypothesis n-grams of orders 1–4, clipped by their largest count in any single
//! reference; the hypothesis length and the reference length closest to it (the shorter on
//! a tie). The corpus score is computed once from the summed statistics:
//! BP = 1 when c ≥ r, else exp(1 − r/c) (0 when c = 0); no match at all gives 0; otherwise
//! the precisions of orders 1..4 are taken until an order has no hypothesis n-gram (that
//! order and the higher ones stay 0, and ln 0 counts as −9,999,999,999), with sacreBLEU's
//! smoothing of zero-match orders; BLEU = BP · exp(mean ln pₙ). Effective order (on for
//! sentence BLEU) averages only over the orders reached.

use std::fmt;

use super::error::EvalError;
use super::metric::{CorpusStats, Metric};
use super::ngram_counts::{key_order, word_key, NgramCounts, WordIds};
use super::python_str::{py_lower, py_rstrip, py_split};
use super::references::References;
use super::report::{number, Report};
use super::signature::{yes_no, NumRefs, Signature};
use super::tokenizer::BleuTokenizer;
use serde_json::Value;

/// The highest n-gram order BLEU counts.
pub const MAX_ORDER: usize = 4;

/// Positions of the statistics in a BLEU stats row.
const SYS_LEN: usize = 0;
const REF_LEN: usize = 1;
const CORRECT: usize = 2;
const TOTAL: usize = 2 + MAX_ORDER;
/// Length of a BLEU stats row.
pub const STATS_WIDTH: usize = 2 + 2 * MAX_ORDER;

/// How orders with zero matches are smoothed (Chen and Cherry, 2014, "A systematic
/// comparison of smoothing techniques for sentence-level BLEU").
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Smoothing {
    /// No smoothing.
    None,
    /// Method 1: a zero count becomes `value` (sacreBLEU's default 0.1).
    Floor(f64),
    /// Method 2: add `value` to counts and totals of orders above 1 (default 1).
    AddK(f64),
    /// Method 3, NIST's: the k-th zero-match order gets 1 / (2^k · total). The default.
    Exp,
}

impl Smoothing {
    /// The signature's `smooth` value: `exp`, `none`, `floor[0.10]`, `add-k[1.00]`.
    pub fn signature(self) -> String {
        match self {
            Smoothing::None => "none".into(),
            Smoothing::Exp => "exp".into(),
            Smoothing::Floor(v) => format!("floor[{v:.2}]"),
            Smoothing::AddK(v) => format!("add-k[{v:.2}]"),
        }
    }
}

/// The settings of BLEU; [`Default`] is sacreBLEU's corpus BLEU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BleuConfig {
    /// Lower-case with Python's `str.lower` first.
    pub lowercase: bool,
    /// The tokenizer.
    pub tokenizer: BleuTokenizer,
    /// The smoothing of zero-match orders.
    pub smoothing: Smoothing,
    /// Average only over the orders that have hypothesis n-grams (sentence BLEU).
    pub effective_order: bool,
}

impl Default for BleuConfig {
    fn default() -> Self {
        Self {
            lowercase: false,
            tokenizer: BleuTokenizer::Thirteen,
            smoothing: Smoothing::Exp,
            effective_order: false,
        }
    }
}

/// A BLEU score with its statistics, as sacreBLEU's `BLEUScore` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct BleuScore {
    /// BLEU on a 0–100 scale.
    pub score: f64,
    /// Clipped n-gram matches per order (add-k smoothing included).
    pub counts: [f64; MAX_ORDER],
    /// Hypothesis n-grams per order (add-k smoothing included).
    pub totals: [f64; MAX_ORDER],
    /// Precisions per order, 0–100.
    pub precisions: [f64; MAX_ORDER],
    /// Brevity penalty.
    pub bp: f64,
    /// Total hypothesis length in tokens.
    pub sys_len: u64,
    /// Total closest-reference length in tokens.
    pub ref_len: u64,
    /// The signature of the configuration that produced the score.
    pub signature: Signature,
}

impl BleuScore {
    /// `sys_len / ref_len`, 0 when `ref_len` is 0.
    pub fn ratio(&self) -> f64 {
        if self.ref_len == 0 {
            0.0
        } else {
            self.sys_len as f64 / self.ref_len as f64
        }
    }

    /// The part printed after the score: `85.7/66.7/40.0/25.0 (BP = 1.000 ratio = 1.000
    /// hyp_len = 7 ref_len = 7)`.
    pub fn verbose(&self) -> String {
        let p: Vec<String> = self.precisions.iter().map(|p| format!("{p:.1}")).collect();
        format!(
            "{} (BP = {:.3} ratio = {:.3} hyp_len = {} ref_len = {})",
            p.join("/"),
            self.bp,
            self.ratio(),
            self.sys_len,
            self.ref_len
        )
    }

    /// sacreBLEU's score line with `width` decimals (`BLEU|nrefs:1|... = 48.89 ...`).
    pub fn format(&self, width: usize) -> String {
        format!("BLEU|{} = {:.width$} {}", self.signature, self.score, self.verbose())
    }
}

impl BleuScore {
    /// The score as `mt eval` reports it (text line and JSON).
    pub fn report(&self) -> Report {
        let arr = |v: &[f64]| Value::Array(v.iter().map(|&x| number(x)).collect());
        Report::new("BLEU", self.score)
            .signature(self.signature.clone(), false)
            .verbose(self.verbose())
            .exact("counts", arr(&self.counts))
            .exact("totals", arr(&self.totals))
            .exact("precisions", arr(&self.precisions))
            .exact("bp", number(self.bp))
            .exact("sys_len", self.sys_len)
            .exact("ref_len", self.ref_len)
            .exact("ratio", number(self.ratio()))
    }
}

impl fmt::Display for BleuScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(2))
    }
}

/// `math.log` floored as sacreBLEU's `my_log`: ln 0 is −9,999,999,999.
fn floored_ln(x: f64) -> f64 {
    if x == 0.0 {
        -9_999_999_999.0
    } else {
        x.ln()
    }
}

/// BLEU from summed statistics (sacreBLEU's `compute_bleu`); the signature is left empty.
pub fn compute_bleu(
    correct: [f64; MAX_ORDER],
    total: [f64; MAX_ORDER],
    sys_len: u64,
    ref_len: u64,
    smoothing: Smoothing,
    effective_order: bool,
) -> BleuScore {
    let (mut correct, mut total) = (correct, total);
    let bp = if sys_len < ref_len {
        if sys_len > 0 {
            (1.0 - ref_len as f64 / sys_len as f64).exp()
        } else {
            0.0
        }
    } else {
        1.0
    };
    let mut precisions = [0.0; MAX_ORDER];
    let mut score = BleuScore {
        score: 0.0,
        counts: correct,
        totals: total,
        precisions,
        bp,
        sys_len,
        ref_len,
        signature: Signature::new(NumRefs::Fixed(0)),
    };
    // No match of any order: BLEU is 0 (the early stop of mjpost/sacrebleu#141).
    if correct.iter().all(|&c| c == 0.0) {
        return score;
    }
    let mut smooth_mteval = 1.0;
    let mut eff_order = MAX_ORDER;
    for n in 0..MAX_ORDER {
        if let Smoothing::AddK(k) = smoothing {
            if n > 0 {
                correct[n] += k;
                total[n] += k;
            }
        }
        if total[n] == 0.0 {
            break;
        }
        if effective_order {
            eff_order = n + 1;
        }
        if correct[n] == 0.0 {
            match smoothing {
                Smoothing::Exp => {
                    smooth_mteval *= 2.0;
                    precisions[n] = 100.0 / (smooth_mteval * total[n]);
                }
                Smoothing::Floor(v) => precisions[n] = 100.0 * v / total[n],
                Smoothing::None | Smoothing::AddK(_) => {}
            }
        } else {
            precisions[n] = 100.0 * correct[n] / total[n];
        }
    }
    let mut log_sum = 0.0;
    for &p in &precisions[..eff_order] {
        log_sum += floored_ln(p);
    }
    score.score = bp * (log_sum / eff_order as f64).exp();
    score.counts = correct;
    score.totals = total;
    score.precisions = precisions;
    score
}

/// The BLEU metric with one configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bleu {
    /// The settings.
    pub config: BleuConfig,
}

impl Bleu {
    /// BLEU with `config`.
    pub fn new(config: BleuConfig) -> Self {
        Self { config }
    }

    /// The tokens of a segment after lower-casing, `rstrip` and tokenization.
    pub fn preprocess(&self, sent: &str) -> String {
        let lowered;
        let s = if self.config.lowercase {
            lowered = py_lower(sent);
            &lowered
        } else {
            sent
        };
        self.config.tokenizer.tokenize(py_rstrip(s)).into_owned()
    }

    /// The full score for summed statistics, with the signature for `nrefs`.
    pub fn score_from(&self, stats: &[f64], nrefs: NumRefs) -> BleuScore {
        let mut correct = [0.0; MAX_ORDER];
        let mut total = [0.0; MAX_ORDER];
        correct.copy_from_slice(&stats[CORRECT..CORRECT + MAX_ORDER]);
        total.copy_from_slice(&stats[TOTAL..TOTAL + MAX_ORDER]);
        let mut s = compute_bleu(
            correct,
            total,
            stats[SYS_LEN] as u64,
            stats[REF_LEN] as u64,
            self.config.smoothing,
            self.config.effective_order,
        );
        s.signature = self.signature(nrefs);
        s
    }

    /// Corpus BLEU; fails when a reference stream's length differs from the hypotheses'.
    pub fn corpus_score<S: AsRef<str> + Sync>(
        &self,
        hyps: &[S],
        refs: &References,
    ) -> Result<BleuScore, EvalError> {
        let stats = CorpusStats::compute(self, hyps, refs)?;
        Ok(self.score_from(&stats.sum(), refs.num_refs()))
    }

    /// BLEU of one sentence against its references (`refs` must not be empty).
    pub fn sentence_score(&self, hyp: &str, refs: &[&str]) -> BleuScore {
        let mut row = [0.0; STATS_WIDTH];
        self.segment_stats(hyp, refs, &mut row);
        self.score_from(&row, NumRefs::Fixed(refs.len()))
    }
}

/// The n-gram keys of orders 1..=4 of a token-id sequence.
fn ngram_keys(ids: &[u32]) -> Vec<u128> {
    let mut keys = Vec::with_capacity(ids.len() * MAX_ORDER);
    for n in 1..=MAX_ORDER.min(ids.len()) {
        keys.extend(ids.windows(n).map(word_key));
    }
    keys
}

/// The length among `ref_lens` closest to `hyp_len`, the shorter one on a tie.
fn closest_ref_len(hyp_len: usize, ref_lens: &[usize]) -> usize {
    let mut best: Option<(usize, usize)> = None;
    for &r in ref_lens {
        let diff = hyp_len.abs_diff(r);
        best = match best {
            Some((d, l)) if diff > d || (diff == d && r >= l) => Some((d, l)),
            _ => Some((diff, r)),
        };
    }
    best.map_or(0, |(_, l)| l)
}

impl Metric for Bleu {
    fn name(&self) -> String {
        "BLEU".into()
    }

    fn signature(&self, nrefs: NumRefs) -> Signature {
        Signature::new(nrefs)
            .with("case", "c", if self.config.lowercase { "lc" } else { "mixed" })
            .with("eff", "e", yes_no(self.config.effective_order))
            .with("tok", "tok", self.config.tokenizer.name())
            .with("smooth", "s", self.config.smoothing.signature())
    }

    fn stats_width(&self) -> usize {
        STATS_WIDTH
    }

    fn segment_stats(&self, hyp: &str, refs: &[&str], out: &mut [f64]) {
        let hyp = self.preprocess(hyp);
        let refs: Vec<String> = refs.iter().map(|r| self.preprocess(r)).collect();
        let mut vocab = WordIds::new();
        let mut ref_counts = NgramCounts::default();
        let mut ref_lens = Vec::with_capacity(refs.len());
        for (k, r) in refs.iter().enumerate() {
            let ids: Vec<u32> = py_split(r).map(|w| vocab.id(w)).collect();
            ref_lens.push(ids.len());
            let counts = NgramCounts::from_keys(ngram_keys(&ids));
            ref_counts = if k == 0 { counts } else { ref_counts.max_merge(&counts) };
        }
        let ids: Vec<u32> = py_split(&hyp).map(|w| vocab.id(w)).collect();
        let hyp_counts = NgramCounts::from_keys(ngram_keys(&ids));
        out.fill(0.0);
        out[SYS_LEN] = ids.len() as f64;
        out[REF_LEN] = closest_ref_len(ids.len(), &ref_lens) as f64;
        let (h, r) = (hyp_counts.runs(), ref_counts.runs());
        let mut j = 0;
        for &(key, count) in h {
            let n = key_order(key) - 1;
            out[TOTAL + n] += f64::from(count);
            while j < r.len() && r[j].0 < key {
                j += 1;
            }
            if j < r.len() && r[j].0 == key {
                out[CORRECT + n] += f64::from(count.min(r[j].1));
            }
        }
    }

    fn score_from_stats(&self, stats: &[f64]) -> f64 {
        self.score_from(stats, NumRefs::Fixed(0)).score
    }
}

/// Corpus BLEU with sacreBLEU's defaults (13a, exp smoothing, mixed case).
pub fn corpus_bleu<S: AsRef<str> + Sync>(
    hyps: &[S],
    refs: &References,
) -> Result<BleuScore, EvalError> {
    Bleu::default().corpus_score(hyps, refs)
}

/// Sentence BLEU with sacreBLEU's sentence defaults (effective order on).
pub fn sentence_bleu(hyp: &str, refs: &[&str]) -> BleuScore {
    Bleu::new(BleuConfig { effective_order: true, ..Default::default() }).sentence_score(hyp, refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_reference_length_prefers_the_shorter_on_ties() {
        assert_eq!(closest_ref_len(5, &[4, 6]), 4);
        assert_eq!(closest_ref_len(5, &[6, 4]), 4);
        assert_eq!(closest_ref_len(5, &[7, 6, 2]), 6);
    }
}
