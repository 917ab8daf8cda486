//! chrF and chrF++ (Popović, 2015, "chrF: character n-gram F-score for automatic MT
//! evaluation"; Popović, 2017, "chrF++: words helping character n-grams") as sacreBLEU
//! 2.6.0 computes them.
//!
//! Per segment and order: hypothesis n-grams, reference n-grams and clipped matches, where
//! the hypothesis count is recorded as 0 when the reference has no n-gram of that order.
//! Character n-grams (orders 1–6) run over code points after every Python whitespace
//! character is deleted; chrF++ adds word n-grams (orders 1–2) over words whose trailing
//! (else leading) ASCII punctuation mark is split off. With several references the one with
//! the best segment F-score is used, the first on a tie. The corpus score sums the
//! statistics, averages precision and recall separately over the orders where both
//! totals are positive, and returns F_β = (1+β²)PR / (β²P + R) · 100. With
//! `eps_smoothing` it averages per-order F-scores instead (chrF++.py, Moses, NLTK).

use super::error::EvalError;
use super::metric::{CorpusStats, Metric};
use super::ngram_counts::{word_key, NgramCounts, WordIds};
use super::python_str::{is_py_whitespace, py_lower, py_split};
use super::references::References;
use super::report::Report;
use super::signature::{yes_no, NumRefs, Signature};

/// The longest character n-gram a key can hold (6 code points of 21 bits).
pub const MAX_CHAR_ORDER: usize = 6;
/// The longest word n-gram a key can hold.
pub const MAX_WORD_ORDER: usize = 4;

/// The settings of chrF; [`Default`] is sacreBLEU's chrF2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChrfConfig {
    /// Character n-gram order (1..=6).
    pub char_order: usize,
    /// Word n-gram order: 0 for chrF, 2 for chrF++ (0..=4).
    pub word_order: usize,
    /// Weight of recall relative to precision.
    pub beta: u32,
    /// Lower-case with Python's `str.lower` first.
    pub lowercase: bool,
    /// Keep whitespace inside character n-grams.
    pub whitespace: bool,
    /// Average per-order F-scores with eps = 1e-16 instead of effective-order averaging.
    pub eps_smoothing: bool,
}

impl Default for ChrfConfig {
    fn default() -> Self {
        Self {
            char_order: 6,
            word_order: 0,
            beta: 2,
            lowercase: false,
            whitespace: false,
            eps_smoothing: false,
        }
    }
}

/// A chrF score.
#[derive(Debug, Clone, PartialEq)]
pub struct ChrfScore {
    /// The name: `chrF2`, `chrF2++`, ...
    pub name: String,
    /// The score, 0–100.
    pub score: f64,
    /// The signature of the configuration that produced the score.
    pub signature: Signature,
    /// The settings that produced the score.
    pub config: ChrfConfig,
}

impl ChrfScore {
    /// The score as `mt eval` reports it (text line and JSON).
    pub fn report(&self) -> Report {
        Report::new(self.name.clone(), self.score)
            .signature(self.signature.clone(), false)
            .exact("char_order", self.config.char_order)
            .exact("word_order", self.config.word_order)
            .exact("beta", self.config.beta)
    }

    /// sacreBLEU's score line with `width` decimals.
    pub fn format(&self, width: usize) -> String {
        format!("{}|{} = {:.width$}", self.name, self.signature, self.score)
    }
}

/// The chrF metric with one configuration.
#[derive(Debug, Clone, Copy)]
pub struct Chrf {
    config: ChrfConfig,
}

/// ASCII punctuation (Python's `string.punctuation`), split off words in chrF++.
fn is_ascii_punct(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// chrF++'s word splitter: a word of two or more characters loses its last character when
/// that is punctuation, else its first when that is; `(hi)` gives `(hi` and `)`.
pub fn chrf_words(sent: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for w in py_split(sent) {
        let mut chars = w.char_indices();
        let first = chars.next().map(|(_, c)| c);
        let (last_at, last) = w.char_indices().next_back().unwrap_or((0, ' '));
        if last_at == 0 {
            out.push(w);
        } else if is_ascii_punct(last) {
            out.push(&w[..last_at]);
            out.push(&w[last_at..]);
        } else if first.is_some_and(is_ascii_punct) {
            let cut = first.map_or(0, char::len_utf8);
            out.push(&w[..cut]);
            out.push(&w[cut..]);
        } else {
            out.push(w);
        }
    }
    out
}

impl Chrf {
    /// chrF with `config`; fails when an order is outside what the keys can hold.
    pub fn new(config: ChrfConfig) -> Result<Self, EvalError> {
        if config.char_order == 0 || config.char_order > MAX_CHAR_ORDER {
            return Err(EvalError::Unsupported(format!(
                "chrF character order {} (1 to {MAX_CHAR_ORDER})",
                config.char_order
            )));
        }
        if config.word_order > MAX_WORD_ORDER {
            return Err(EvalError::Unsupported(format!(
                "chrF word order {} (0 to {MAX_WORD_ORDER})",
                config.word_order
            )));
        }
        Ok(Self { config })
    }

    /// The settings.
    pub fn config(&self) -> &ChrfConfig {
        &self.config
    }

    fn orders(&self) -> usize {
        self.config.char_order + self.config.word_order
    }

    /// The n-gram multisets of a segment, one per order (characters, then words).
    fn ngrams<'a>(&self, sent: &'a str, vocab: &mut WordIds<'a>) -> Vec<NgramCounts> {
        let chars: Vec<u32> = sent
            .chars()
            .filter(|&c| self.config.whitespace || !is_py_whitespace(c))
            .map(u32::from)
            .collect();
        let mut out = Vec::with_capacity(self.orders());
        for n in 1..=self.config.char_order {
            let keys = chars
                .windows(n)
                .map(|w| w.iter().fold(0u128, |k, &c| (k << 21) | u128::from(c)))
                .collect();
            out.push(NgramCounts::from_keys(keys));
        }
        if self.config.word_order > 0 {
            let ids: Vec<u32> = chrf_words(sent).into_iter().map(|w| vocab.id(w)).collect();
            for n in 1..=self.config.word_order {
                out.push(NgramCounts::from_keys(ids.windows(n).map(word_key).collect()));
            }
        }
        out
    }

    /// F-score from `[hyp, ref, match]` triples per order (sacreBLEU's `_compute_f_score`).
    pub fn f_score(&self, stats: &[f64]) -> f64 {
        let eps = 1e-16;
        let factor = f64::from(self.config.beta * self.config.beta);
        let mut score = 0.0;
        let mut effective_order = 0usize;
        let (mut avg_prec, mut avg_rec) = (0.0, 0.0);
        for t in stats.chunks_exact(3).take(self.orders()) {
            let (n_hyp, n_ref, n_match) = (t[0], t[1], t[2]);
            let prec = if n_hyp > 0.0 { n_match / n_hyp } else { eps };
            let rec = if n_ref > 0.0 { n_match / n_ref } else { eps };
            let denom = factor * prec + rec;
            score += if denom > 0.0 { (1.0 + factor) * prec * rec / denom } else { eps };
            if n_hyp > 0.0 && n_ref > 0.0 {
                avg_prec += prec;
                avg_rec += rec;
                effective_order += 1;
            }
        }
        if self.config.eps_smoothing {
            return 100.0 * score / self.orders() as f64;
        }
        if effective_order == 0 {
            avg_prec = 0.0;
            avg_rec = 0.0;
        } else {
            avg_prec /= effective_order as f64;
            avg_rec /= effective_order as f64;
        }
        if avg_prec + avg_rec != 0.0 {
            let mut s = (1.0 + factor) * avg_prec * avg_rec;
            s /= factor * avg_prec + avg_rec;
            100.0 * s
        } else {
            0.0
        }
    }

    /// The full score for summed statistics, with the signature for `nrefs`.
    pub fn score_from(&self, stats: &[f64], nrefs: NumRefs) -> ChrfScore {
        ChrfScore {
            name: self.name(),
            score: self.f_score(stats),
            signature: self.signature(nrefs),
            config: self.config,
        }
    }

    /// Corpus chrF; fails when a reference stream's length differs from the hypotheses'.
    pub fn corpus_score<S: AsRef<str> + Sync>(
        &self,
        hyps: &[S],
        refs: &References,
    ) -> Result<ChrfScore, EvalError> {
        let stats = CorpusStats::compute(self, hyps, refs)?;
        Ok(self.score_from(&stats.sum(), refs.num_refs()))
    }

    /// chrF of one sentence against its references (`refs` must not be empty).
    pub fn sentence_score(&self, hyp: &str, refs: &[&str]) -> ChrfScore {
        let mut row = vec![0.0; self.stats_width()];
        self.segment_stats(hyp, refs, &mut row);
        self.score_from(&row, NumRefs::Fixed(refs.len()))
    }
}

impl Metric for Chrf {
    fn name(&self) -> String {
        format!("chrF{}{}", self.config.beta, "+".repeat(self.config.word_order))
    }

    fn signature(&self, nrefs: NumRefs) -> Signature {
        let c = &self.config;
        Signature::new(nrefs)
            .with("case", "c", if c.lowercase { "lc" } else { "mixed" })
            .with("eff", "e", yes_no(!c.eps_smoothing))
            .with("nc", "nc", c.char_order.to_string())
            .with("nw", "nw", c.word_order.to_string())
            .with("space", "s", yes_no(c.whitespace))
    }

    fn stats_width(&self) -> usize {
        3 * self.orders()
    }

    fn segment_stats(&self, hyp: &str, refs: &[&str], out: &mut [f64]) {
        let lower = |s: &str| {
            if self.config.lowercase {
                py_lower(s)
            } else {
                s.to_owned()
            }
        };
        let hyp = lower(hyp);
        let refs: Vec<String> = refs.iter().map(|r| lower(r)).collect();
        let mut vocab = WordIds::new();
        let hyp_ngrams = self.ngrams(&hyp, &mut vocab);
        let mut best_f = -1.0;
        let mut stats = vec![0.0; out.len()];
        for r in &refs {
            let ref_ngrams = self.ngrams(r, &mut vocab);
            for (n, (h, rf)) in hyp_ngrams.iter().zip(&ref_ngrams).enumerate() {
                stats[3 * n] = if rf.is_empty() { 0.0 } else { h.total() as f64 };
                stats[3 * n + 1] = rf.total() as f64;
                stats[3 * n + 2] = h.clipped_matches(rf) as f64;
            }
            let f = self.f_score(&stats);
            if f > best_f {
                best_f = f;
                out.copy_from_slice(&stats);
            }
        }
    }

    fn score_from_stats(&self, stats: &[f64]) -> f64 {
        self.f_score(stats)
    }
}

/// Corpus chrF2 with sacreBLEU's defaults.
pub fn corpus_chrf<S: AsRef<str> + Sync>(
    hyps: &[S],
    refs: &References,
) -> Result<ChrfScore, EvalError> {
    Chrf::new(ChrfConfig::default())?.corpus_score(hyps, refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_splitting_follows_chrf_plus_plus() {
        assert_eq!(chrf_words("(hi) a, ,b !"), vec!["(hi", ")", "a", ",", ",", "b", "!"]);
        assert_eq!(chrf_words("don't é. «x»"), vec!["don't", "é", ".", "«x»"]);
    }

    #[test]
    fn sentence_vectors() {
        let chrf = Chrf::new(ChrfConfig::default()).unwrap();
        assert!((chrf.sentence_score("ab", &["abc"]).score - 63.63636363636363).abs() < 1e-9);
        assert!((chrf.sentence_score("a", &["ab"]).score - 55.55555555555556).abs() < 1e-9);
        let eps = Chrf::new(ChrfConfig { eps_smoothing: true, ..Default::default() }).unwrap();
        assert!((eps.sentence_score("a", &["a"]).score - 100.0 / 6.0).abs() < 1e-9);
    }
}
