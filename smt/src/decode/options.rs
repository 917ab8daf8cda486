//! Decoder settings and the log-linear feature set with its weights.
//!
//! Defaults follow Moses (REFERENCE §3.2): stack size 200, beam threshold 1e-5, table
//! limit 20, the distortion limit 6 that `train-model.perl` writes into moses.ini.

use serde::{Deserialize, Serialize};

/// Search settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecodeOptions {
    /// Most hypotheses kept per stack (histogram pruning).
    pub stack_size: usize,
    /// Relative beam threshold: hypotheses worse than the stack's best by more than
    /// this factor (in probability) are pruned; 0 disables threshold pruning.
    pub beam_threshold: f32,
    /// Largest jump over source words; `None` is unlimited.
    pub distortion_limit: Option<usize>,
    /// Most translations kept per source phrase.
    pub table_limit: usize,
    /// Leave unknown words out of the output instead of copying them.
    pub drop_unknown: bool,
    /// Size of the n-best list (0: only the best translation).
    pub n_best: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            stack_size: 200,
            beam_threshold: 1e-5,
            distortion_limit: Some(6),
            table_limit: 20,
            drop_unknown: false,
            n_best: 0,
        }
    }
}

/// Index of the first of the four translation-model features φ(f|e), lex(f|e), φ(e|f),
/// lex(e|f) (natural logs).
pub const TM: usize = 0;
/// The language model log probability (natural log).
pub const LM: usize = 4;
/// Minus the number of output words (Moses' WordPenalty).
pub const WORD_PENALTY: usize = 5;
/// The number of phrases (Moses' PhrasePenalty).
pub const PHRASE_PENALTY: usize = 6;
/// Minus the summed jump distances (linear distortion).
pub const DISTORTION: usize = 7;
/// −100 per unknown source word (Moses' UnknownWordPenalty).
pub const UNKNOWN: usize = 8;
/// First of the six lexicalized-reordering features: previous m, s, d; next m, s, d.
pub const REORDERING: usize = 9;
/// Number of features.
pub const NUM_FEATURES: usize = 15;

/// The value of one feature function summed over a derivation.
pub type Features = [f32; NUM_FEATURES];

/// The score Moses gives an unknown word (`LOWEST_SCORE`).
pub const UNKNOWN_SCORE: f32 = -100.0;

/// Floor for log probabilities, as Moses' `FloorScore`.
pub fn floor_log(p: f32) -> f32 {
    if p > 0.0 {
        p.ln().max(UNKNOWN_SCORE)
    } else {
        UNKNOWN_SCORE
    }
}

/// Weights of the log-linear model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weights(pub Features);

impl Weights {
    /// Moses' initial untuned weights (REFERENCE §3.1): TM 0.2 each, LM 0.5, word penalty
    /// −1, phrase penalty 0.2, distortion 0.3, unknown-word penalty 1, lexicalized
    /// reordering 0.3 each (0 when the model has none).
    pub fn moses_default(reordering: bool) -> Self {
        let mut w = [0f32; NUM_FEATURES];
        w[TM..TM + 4].fill(0.2);
        w[LM] = 0.5;
        w[WORD_PENALTY] = -1.0;
        w[PHRASE_PENALTY] = 0.2;
        w[DISTORTION] = 0.3;
        w[UNKNOWN] = 1.0;
        if reordering {
            w[REORDERING..REORDERING + 6].fill(0.3);
        }
        Self(w)
    }

    /// The noisy-channel model: log P(f|e) + log P(e) only (the unknown-word penalty
    /// stays, it is the same for every translation of a sentence).
    pub fn noisy_channel() -> Self {
        let mut w = [0f32; NUM_FEATURES];
        w[TM] = 1.0;
        w[LM] = 1.0;
        w[UNKNOWN] = 1.0;
        Self(w)
    }

    /// The weighted sum of a feature vector.
    pub fn dot(&self, f: &Features) -> f32 {
        self.0.iter().zip(f).map(|(w, x)| w * x).sum()
    }
}

/// Moses feature names and the feature indices under each, in n-best order.
pub fn feature_groups(reordering: bool) -> Vec<(&'static str, std::ops::Range<usize>)> {
    let mut g = Vec::new();
    if reordering {
        g.push(("LexicalReordering0", REORDERING..REORDERING + 6));
    }
    g.push(("Distortion0", DISTORTION..DISTORTION + 1));
    g.push(("LM0", LM..LM + 1));
    g.push(("WordPenalty0", WORD_PENALTY..WORD_PENALTY + 1));
    g.push(("PhrasePenalty0", PHRASE_PENALTY..PHRASE_PENALTY + 1));
    g.push(("TranslationModel0", TM..TM + 4));
    g.push(("UnknownWordPenalty0", UNKNOWN..UNKNOWN + 1));
    g
}
