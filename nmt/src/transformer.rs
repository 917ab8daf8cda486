//! The Transformer encoder-decoder (Vaswani et al., 2017, "Attention Is All You Need") in
//! its pre-norm form (layer normalization before each sub-layer, plus a final one per
//! stack; Wang et al., 2019, "Learning Deep Transformer Models for Machine Translation"),
//! with sinusoidal positions and embeddings scaled by √d.
//!
//! Decoding recomputes the decoder over the whole prefix at each step, which keeps beam
//! reordering a plain row selection.
//!
//! LIMITATION: decoding costs O(T²) decoder positions per sentence (no key/value cache).
//! LIMITATION: burn's layers do not return attention weights, so `--attention` and
//! `--alignments` have nothing to show for this architecture.

use burn::module::Param;
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::transformer::{
    TransformerDecoder, TransformerDecoderConfig, TransformerDecoderInput, TransformerEncoder,
    TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig,
    PositionalEncoding, PositionalEncodingConfig,
};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::config::ModelConfig;

/// The encoder output a decoder attends to.
#[derive(Clone, Debug)]
pub struct TransformerMemory {
    /// Encoder states `[B, S, D]`.
    pub states: Tensor<3>,
    /// True at padding positions `[B, S]`.
    pub pad: Tensor<2, Bool>,
}

impl TransformerMemory {
    /// Keeps the rows `rows` (repeats allowed).
    pub fn select(&self, rows: Tensor<1, Int>) -> Self {
        TransformerMemory {
            states: self.states.clone().select(0, rows.clone()),
            pad: self.pad.clone().select(0, rows),
        }
    }
}

/// The Transformer encoder-decoder.
#[derive(Module, Debug)]
pub struct TransformerModel {
    /// Source embeddings.
    pub src_emb: Embedding,
    /// Target embeddings (also the output projection when tied).
    pub tgt_emb: Embedding,
    /// Sinusoidal positions.
    pub positions: PositionalEncoding,
    /// Encoder stack.
    pub encoder: TransformerEncoder,
    /// Final encoder normalization.
    pub enc_norm: LayerNorm,
    /// Decoder stack.
    pub decoder: TransformerDecoder,
    /// Final decoder normalization.
    pub dec_norm: LayerNorm,
    /// Output projection weights `[D, V]` when not tied.
    pub output: Option<Param<Tensor<2>>>,
    /// Output bias.
    pub output_bias: Param<Tensor<1>>,
    /// Dropout on embeddings.
    pub dropout: Dropout,
    /// Model size.
    pub d_model: usize,
}

impl TransformerModel {
    /// A freshly initialized model.
    pub fn new(cfg: &ModelConfig, device: &Device) -> Self {
        let (v, d) = (cfg.vocab_size, cfg.emb_size);
        let std = 1.0 / (d as f64).sqrt();
        let emb = |device: &Device| {
            EmbeddingConfig::new(v, d)
                .with_initializer(Initializer::Normal { mean: 0.0, std })
                .init(device)
        };
        let init = Initializer::XavierUniform { gain: 1.0 };
        let encoder = TransformerEncoderConfig::new(d, cfg.hidden_size, cfg.heads, cfg.layers)
            .with_dropout(cfg.dropout)
            .with_norm_first(true)
            .with_initializer(init.clone())
            .init(device);
        let decoder = TransformerDecoderConfig::new(d, cfg.hidden_size, cfg.heads, cfg.layers)
            .with_dropout(cfg.dropout)
            .with_norm_first(true)
            .with_initializer(init.clone())
            .init(device);
        TransformerModel {
            src_emb: emb(device),
            tgt_emb: emb(device),
            positions: PositionalEncodingConfig::new(d)
                .with_max_sequence_size(cfg.max_positions + 2)
                .init(device),
            encoder,
            enc_norm: LayerNormConfig::new(d).init(device),
            decoder,
            dec_norm: LayerNormConfig::new(d).init(device),
            output: (!cfg.tied_embeddings)
                .then(|| init.init_with([d, v], Some(d), Some(v), device)),
            output_bias: Param::from_tensor(Tensor::zeros([v], device)),
            dropout: DropoutConfig::new(cfg.dropout).init(),
            d_model: d,
        }
    }

    fn embed(&self, emb: &Embedding, ids: Tensor<2, Int>) -> Tensor<3> {
        let x = emb.forward(ids) * (self.d_model as f64).sqrt();
        self.dropout.forward(self.positions.forward(x))
    }

    /// Encodes padded sources `src` `[B, S]`.
    pub fn encode(&self, src: Tensor<2, Int>, lengths: &[usize]) -> TransformerMemory {
        let [b, s] = src.dims();
        let device = src.device();
        let pad: Vec<bool> =
            lengths.iter().flat_map(|&len| (0..s).map(move |t| t >= len)).collect();
        let pad = Tensor::<2, Bool>::from_data(TensorData::new(pad, [b, s]), &device);
        let x = self.embed(&self.src_emb, src);
        let states = self
            .enc_norm
            .forward(self.encoder.forward(TransformerEncoderInput::new(x).mask_pad(pad.clone())));
        TransformerMemory { states, pad }
    }

    /// Teacher-forced logits `[B, T, V]` for decoder inputs `tgt_in` `[B, T]`.
    pub fn forward(&self, mem: &TransformerMemory, tgt_in: Tensor<2, Int>) -> Tensor<3> {
        let [b, t] = tgt_in.dims();
        let device = tgt_in.device();
        let x = self.embed(&self.tgt_emb, tgt_in);
        let input = TransformerDecoderInput::new(x, mem.states.clone())
            .memory_mask_pad(mem.pad.clone())
            .target_mask_attn(generate_autoregressive_mask(b, t, &device));
        let h = self.dec_norm.forward(self.decoder.forward(input));
        let w = match &self.output {
            Some(w) => w.val(),
            None => self.tgt_emb.weight.val().transpose(),
        };
        h.matmul(w.unsqueeze_dim(0)) + self.output_bias.val().unsqueeze_dims(&[0, 1])
    }

    /// Log-probabilities `[R, V]` of the next token after the prefixes `prefix` `[R, t]`.
    pub fn step(&self, mem: &TransformerMemory, prefix: Tensor<2, Int>) -> Tensor<2> {
        let [r, t] = prefix.dims();
        let logits = self.forward(mem, prefix);
        let v = logits.dims()[2];
        log_softmax(logits.slice([0..r, t - 1..t]).reshape([r, v]), 1)
    }
}
