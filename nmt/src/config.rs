//! Model hyper-parameters, saved as `config.json` in the model directory.

use serde::{Deserialize, Serialize};

use crate::bpe::SPECIALS;
use crate::error::NmtError;
use crate::normalize::Normalization;

/// The encoder-decoder architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Bidirectional LSTM encoder, attentional LSTM decoder with input feeding.
    Lstm,
    /// Pre-norm Transformer encoder-decoder.
    Transformer,
}

/// The attention scoring function of the LSTM decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttentionKind {
    /// Luong dot product `h·m`.
    Dot,
    /// Luong general `h·(W m)`.
    General,
    /// Bahdanau additive `v·tanh(W₁ m + W₂ h)`, scored with the current decoder state.
    Bahdanau,
}

/// Everything needed to rebuild a model before loading its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// The architecture.
    pub arch: Arch,
    /// Joint subword vocabulary size (source and target share it).
    pub vocab_size: usize,
    /// Embedding size (the model size of the Transformer).
    pub emb_size: usize,
    /// LSTM hidden size per direction and decoder size; Transformer feed-forward size.
    pub hidden_size: usize,
    /// Number of layers (Transformer: per stack).
    // LIMITATION: the LSTM has one encoder and one decoder layer.
    pub layers: usize,
    /// Attention heads of the Transformer.
    pub heads: usize,
    /// Dropout probability during training.
    pub dropout: f64,
    /// LSTM attention scoring.
    pub attention: AttentionKind,
    /// Share the target embedding with the output projection.
    pub tied_embeddings: bool,
    /// Normalization applied to text before subword encoding.
    pub normalization: Normalization,
    /// Longest subword sequence the model accepts; longer sources are truncated.
    pub max_positions: usize,
}

impl ModelConfig {
    /// Checks that every value is in range and the sizes fit together.
    pub fn validate(&self) -> Result<(), NmtError> {
        let bad = |m: String| Err(NmtError::InvalidSetting(m));
        if self.emb_size == 0 || self.hidden_size == 0 || self.layers == 0 {
            return bad(format!(
                "sizes and the layer count must be positive (embedding {}, hidden {}, layers {})",
                self.emb_size, self.hidden_size, self.layers
            ));
        }
        if self.vocab_size <= SPECIALS.len() {
            return bad(format!("vocabulary size {} is too small", self.vocab_size));
        }
        if self.max_positions == 0 {
            return bad("the maximum length in subwords (max_positions) must be positive".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout {} is not in [0, 1)", self.dropout));
        }
        match self.arch {
            Arch::Lstm => {
                if self.layers != 1 {
                    return bad(format!(
                        "{} layers, but the LSTM model has one layer per stack (--layers 1)",
                        self.layers
                    ));
                }
                if self.tied_embeddings && self.emb_size != self.hidden_size {
                    return bad(format!(
                        "tied embeddings need the embedding size ({}) equal to the hidden \
                         size ({})",
                        self.emb_size, self.hidden_size
                    ));
                }
            }
            Arch::Transformer => {
                if self.heads == 0 || !self.emb_size.is_multiple_of(self.heads) {
                    return bad(format!(
                        "the embedding size {} is not divisible by the {} attention heads",
                        self.emb_size, self.heads
                    ));
                }
            }
        }
        Ok(())
    }
}
