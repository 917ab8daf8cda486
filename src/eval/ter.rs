//! TER as sacreBLEU 2.6.0 computes it: Tercom's defaults (lower-cased, no normalization,
//! punctuation kept), the edits of [`translation_edit_rate`] against the closest
//! reference, divided by the average reference length, summed over the corpus.
//!
//! Per segment the statistics are the fewest edits over the references and the average
//! reference length; TER = 100 · Σ edits / Σ average lengths (100 when the references are
//! all empty but a hypothesis is not, 0 when both are). Lower is better.

use super::error::EvalError;
use super::metric::{CorpusStats, Metric};
use super::ngram_counts::WordIds;
use super::python_str::{py_collapse, py_lower, py_rstrip, py_split};
use super::references::References;
use super::report::{number, Report};
use super::signature::{yes_no, NumRefs, Signature};
use super::tercom::translation_edit_rate;
use super::tokenize_13a::{
    split_dash_after_digit, split_period_comma_after_non_digit,
    split_period_comma_before_non_digit, split_symbols,
};

/// The settings of TER; [`Default`] is sacreBLEU's (and Tercom's).
// LIMITATION: sacreBLEU's `asian_support` (splitting CJK text into characters) is not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TerConfig {
    /// Tokenize punctuation and unescape XML entities (Tercom's `-N`).
    pub normalized: bool,
    /// Remove the punctuation marks `.,?:;!"()`.
    pub no_punct: bool,
    /// Keep case (by default everything is lower-cased).
    pub case_sensitive: bool,
}

/// A TER score.
#[derive(Debug, Clone, PartialEq)]
pub struct TerScore {
    /// TER, 0–100 and above (lower is better).
    pub score: f64,
    /// Total number of edits.
    pub num_edits: f64,
    /// Total of the per-segment average reference lengths.
    pub ref_length: f64,
    /// The signature of the configuration that produced the score.
    pub signature: Signature,
}

impl TerScore {
    /// The score as `mt eval` reports it (text line and JSON).
    pub fn report(&self) -> Report {
        Report::new("TER", self.score)
            .signature(self.signature.clone(), false)
            .exact("num_edits", number(self.num_edits))
            .exact("ref_length", number(self.ref_length))
    }

    /// sacreBLEU's score line with `width` decimals.
    pub fn format(&self, width: usize) -> String {
        format!("TER|{} = {:.width$}", self.signature, self.score)
    }
}

/// The TER metric with one configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ter {
    /// The settings.
    pub config: TerConfig,
}

/// Tercom's general and Western normalization (`-N`), before whitespace collapsing.
fn normalize_western(sent: &str) -> String {
    let s = sent
        .replace("\n-", "")
        .replace('\n', " ")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    let s = split_symbols(&format!(" {s} "));
    let mut s = s.replace("'s ", " 's ");
    if s.ends_with("'s") {
        s.truncate(s.len() - 2);
        s.push_str(" 's");
    }
    let s = split_period_comma_after_non_digit(&s);
    let s = split_period_comma_before_non_digit(&s);
    split_dash_after_digit(&s)
}

impl Ter {
    /// TER with `config`.
    pub fn new(config: TerConfig) -> Self {
        Self { config }
    }

    /// A segment after `rstrip` and the Tercom tokenizer, words separated by one space.
    pub fn preprocess(&self, sent: &str) -> String {
        let sent = py_rstrip(sent);
        if sent.is_empty() {
            return String::new();
        }
        let mut s = if self.config.case_sensitive { sent.to_owned() } else { py_lower(sent) };
        if self.config.normalized {
            s = normalize_western(&s);
        }
        if self.config.no_punct {
            s.retain(|c| !matches!(c, '.' | ',' | '?' | ':' | ';' | '!' | '"' | '(' | ')'));
        }
        py_collapse(&s)
    }

    /// The full score for summed statistics, with the signature for `nrefs`.
    pub fn score_from(&self, stats: &[f64], nrefs: NumRefs) -> TerScore {
        let (edits, ref_len) = (stats[0], stats[1]);
        let rate = if ref_len > 0.0 {
            edits / ref_len
        } else if edits > 0.0 {
            1.0
        } else {
            0.0
        };
        TerScore {
            score: 100.0 * rate,
            num_edits: edits,
            ref_length: ref_len,
            signature: self.signature(nrefs),
        }
    }

    /// Corpus TER; fails when a reference stream's length differs from the hypotheses'.
    pub fn corpus_score<S: AsRef<str> + Sync>(
        &self,
        hyps: &[S],
        refs: &References,
    ) -> Result<TerScore, EvalError> {
        let stats = CorpusStats::compute(self, hyps, refs)?;
        Ok(self.score_from(&stats.sum(), refs.num_refs()))
    }

    /// TER of one sentence against its references (`refs` must not be empty).
    pub fn sentence_score(&self, hyp: &str, refs: &[&str]) -> TerScore {
        let mut row = [0.0; 2];
        self.segment_stats(hyp, refs, &mut row);
        self.score_from(&row, NumRefs::Fixed(refs.len()))
    }
}

impl Metric for Ter {
    fn name(&self) -> String {
        "TER".into()
    }

    fn signature(&self, nrefs: NumRefs) -> Signature {
        let c = &self.config;
        Signature::new(nrefs)
            .with("case", "c", if c.case_sensitive { "mixed" } else { "lc" })
            .with("tok", "t", "tercom")
            .with("norm", "nr", yes_no(c.normalized))
            .with("punct", "pn", yes_no(!c.no_punct))
            .with("asian", "as", "no")
    }

    fn stats_width(&self) -> usize {
        2
    }

    fn segment_stats(&self, hyp: &str, refs: &[&str], out: &mut [f64]) {
        let hyp = self.preprocess(hyp);
        let refs: Vec<String> = refs.iter().map(|r| self.preprocess(r)).collect();
        let mut vocab = WordIds::new();
        let hyp_ids: Vec<u32> = py_split(&hyp).map(|w| vocab.id(w)).collect();
        let mut best = usize::MAX;
        let mut ref_lengths = 0usize;
        for r in &refs {
            let ref_ids: Vec<u32> = py_split(r).map(|w| vocab.id(w)).collect();
            let (edits, len) = translation_edit_rate(&hyp_ids, &ref_ids);
            ref_lengths += len;
            best = best.min(edits);
        }
        out[0] = best as f64;
        out[1] = ref_lengths as f64 / refs.len() as f64;
    }

    fn score_from_stats(&self, stats: &[f64]) -> f64 {
        self.score_from(stats, NumRefs::Fixed(0)).score
    }

    fn higher_is_better(&self) -> bool {
        false
    }
}

/// Corpus TER with sacreBLEU's defaults.
pub fn corpus_ter<S: AsRef<str> + Sync>(
    hyps: &[S],
    refs: &References,
) -> Result<TerScore, EvalError> {
    Ter::default().corpus_score(hyps, refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_settings() {
        let ter = Ter::default();
        assert_eq!(ter.preprocess("  The Cat,  sat.\r"), "the cat, sat.");
        let norm = Ter::new(TerConfig { normalized: true, no_punct: true, case_sensitive: true });
        assert_eq!(norm.preprocess("John's cat (3-4) &amp; 1,000."), "John 's cat 3 - 4 & 1000");
    }
}
