//! Phrase-based decoding: stack-based beam search over a log-linear model, as in
//! Pharaoh (Koehn 2004) and Moses (Koehn et al. 2007).
//!
//! - [`options`]: search settings, the features and their weights.
//! - [`hypothesis`]: partial translations and coverage.
//! - [`future_cost`]: the future-cost table.
//! - [`stack`]: the search with recombination, histogram and threshold pruning.
//! - [`nbest`]: n-best extraction from the recombination lattice and the Moses format.
//!
//! The target language model is anything that implements [`TargetLm`].

pub mod future_cost;
pub mod hypothesis;
pub mod nbest;
pub mod options;
pub mod stack;

#[cfg(test)]
mod search_tests;

use std::hash::Hash;

use rayon::prelude::*;

use crate::phrase::table::PhraseTable;
pub use options::{DecodeOptions, Features, Weights};

/// The target word id given to the language model for a copied unknown word.
pub const UNKNOWN_WORD: u32 = u32::MAX;

/// A target-side language model as the decoder queries it. Word ids are those of the
/// phrase table's target vocabulary, or [`UNKNOWN_WORD`]. Scores are natural logs.
pub trait TargetLm: Sync {
    /// The state carried by hypotheses; equal states must give equal future scores.
    type State: Clone + Eq + Hash + Send + Sync;
    /// The state after the sentence-start symbol.
    fn begin(&self) -> Self::State;
    /// The state with no context at all (used for estimates of phrases).
    fn null(&self) -> Self::State;
    /// The log probability of `word` after `state`, and the state after it.
    fn score(&self, state: &Self::State, word: u32) -> (f32, Self::State);
    /// The log probability of the sentence end after `state`.
    fn end(&self, state: &Self::State) -> f32;
}

/// One translation of a sentence, with its feature values.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// Output tokens.
    pub words: Vec<String>,
    /// Feature values of the derivation.
    pub features: Features,
    /// Weighted total score.
    pub total: f32,
    /// Word links (source position, output position).
    pub alignment: Vec<(usize, usize)>,
    /// The phrases used: (source start, source end, number of output words).
    pub phrases: Vec<(usize, usize, usize)>,
}

/// A decoder: a phrase table, a language model, weights and search settings.
pub struct Decoder<'a, L: TargetLm> {
    table: &'a PhraseTable,
    lm: &'a L,
    weights: Weights,
    options: DecodeOptions,
}

impl<'a, L: TargetLm> Decoder<'a, L> {
    /// A decoder over a table whose table limit has already been applied (see
    /// [`apply_table_limit`]).
    pub fn new(
        table: &'a PhraseTable,
        lm: &'a L,
        weights: Weights,
        options: DecodeOptions,
    ) -> Self {
        Self { table, lm, weights, options }
    }

    /// The weights in use.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The search settings in use.
    pub fn options(&self) -> &DecodeOptions {
        &self.options
    }

    /// The phrase table in use.
    pub fn table(&self) -> &PhraseTable {
        self.table
    }

    /// The language model in use.
    pub fn lm(&self) -> &L {
        self.lm
    }

    /// Translates one tokenized sentence: the best translation first, then up to
    /// `n_best - 1` more. Never empty.
    pub fn translate<S: AsRef<str>>(&self, words: &[S]) -> Vec<Translation> {
        let words: Vec<&str> = words.iter().map(|w| w.as_ref()).collect();
        if words.len() <= hypothesis::MAX_WORDS {
            return stack::search(self, &words);
        }
        // LIMITATION: sentences longer than 256 tokens are cut into 256-token pieces
        // that are translated independently, and only the 1-best is returned for them.
        let mut out = Translation {
            words: Vec::new(),
            features: [0.0; options::NUM_FEATURES],
            total: 0.0,
            alignment: Vec::new(),
            phrases: Vec::new(),
        };
        for (k, chunk) in words.chunks(hypothesis::MAX_WORDS).enumerate() {
            let off = k * hypothesis::MAX_WORDS;
            let best = stack::search(self, chunk).swap_remove(0);
            let toff = out.words.len();
            out.alignment.extend(best.alignment.iter().map(|&(s, t)| (s + off, t + toff)));
            out.phrases.extend(best.phrases.iter().map(|&(a, b, n)| (a + off, b + off, n)));
            out.words.extend(best.words);
            for (a, b) in out.features.iter_mut().zip(best.features) {
                *a += b;
            }
            out.total += best.total;
        }
        vec![out]
    }

    /// Translates many sentences in parallel; the results are in input order.
    pub fn translate_all<S: AsRef<str> + Sync>(
        &self,
        sentences: &[Vec<S>],
    ) -> Vec<Vec<Translation>> {
        sentences.par_iter().map(|s| self.translate(s)).collect()
    }
}

/// The language-model estimate of a target phrase without context.
pub fn lm_estimate<L: TargetLm>(lm: &L, words: &[u32]) -> f32 {
    let mut st = lm.null();
    let mut total = 0.0;
    for &w in words {
        let (p, next) = lm.score(&st, w);
        total += p;
        st = next;
    }
    total
}

/// The weighted score of an entry as the table limit ranks it: translation-model
/// scores, the LM estimate, word and phrase penalties.
pub fn entry_estimate<L: TargetLm>(
    lm: &L,
    weights: &Weights,
    entry: &crate::phrase::table::PhraseEntry,
) -> f32 {
    let w = &weights.0;
    let tm: f32 = (0..4).map(|k| w[options::TM + k] * options::floor_log(entry.probs[k])).sum();
    tm + w[options::LM] * lm_estimate(lm, &entry.tgt)
        - w[options::WORD_PENALTY] * entry.tgt.len() as f32
        + w[options::PHRASE_PENALTY]
}

/// Keeps the `limit` best translations of each source phrase under `weights`.
pub fn apply_table_limit<L: TargetLm>(
    table: &mut PhraseTable,
    lm: &L,
    weights: &Weights,
    limit: usize,
) {
    table.prune(limit, |e| entry_estimate(lm, weights, e));
}
