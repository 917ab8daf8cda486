//! The Transformer encoder-decoder (Vaswani et al., 2017, "Attention Is All You Need") in
//! its pre-norm form (layer normalization before each sub-layer, plus a final one per
//! stack; Wang et al., 2019, "Learning Deep Transformer Models for Machine Translation"),
//! with sinusoidal positions and embeddings scaled by √d.
//!
//! Decoding recomputes the decoder over the whole prefix at each step, which keeps beam
//! reordering a plain row selection.
//!
//! The attention shown by `--attention` and turned into word alignments is the
//! cross-attention of the last decoder layer, averaged over its heads (as fairseq and
//! Marian report it for alignment).
//!
//! LIMITATION: decoding costs O(T²) decoder positions per sentence (no key/value cache).

use burn::module::Param;
use burn::nn::attention::{generate_autoregressive_mask, MhaInput};
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
        self.project(self.dec_norm.forward(self.decoder.forward(input)))
    }

    fn project(&self, h: Tensor<3>) -> Tensor<3> {
        let w = match &self.output {
            Some(w) => w.val(),
            None => self.tgt_emb.weight.val().transpose(),
        };
        h.matmul(w.unsqueeze_dim(0)) + self.output_bias.val().unsqueeze_dims(&[0, 1])
    }

    /// Teacher-forced logits `[B, T, V]`, as [`Self::forward`], and the last decoder
    /// layer's cross-attention averaged over heads `[B, T, S]`. The last layer is run here
    /// step by step as burn's pre-norm layer runs it, because burn's layer keeps the
    /// attention weights to itself.
    pub fn forward_with_attention(
        &self,
        mem: &TransformerMemory,
        tgt_in: Tensor<2, Int>,
    ) -> (Tensor<3>, Tensor<3>) {
        let [b, t] = tgt_in.dims();
        let device = tgt_in.device();
        let causal = generate_autoregressive_mask(b, t, &device);
        let mut x = self.embed(&self.tgt_emb, tgt_in);
        let n = self.decoder.layers.len();
        if n > 1 {
            let lower = TransformerDecoder {
                layers: self.decoder.layers[..n - 1].to_vec(),
                n_layers: n - 1,
                ..self.decoder.clone()
            };
            let input = TransformerDecoderInput::new(x, mem.states.clone())
                .memory_mask_pad(mem.pad.clone())
                .target_mask_attn(causal.clone());
            x = lower.forward(input);
        }
        let last = &self.decoder.layers[n - 1];
        debug_assert!(last.norm_first, "the model is pre-norm");
        let r = last.norm_3.forward(x.clone());
        let ctx = last.self_attn.forward(MhaInput::self_attn(r).mask_attn(causal)).context;
        let x = x + last.dropout.forward(ctx);
        let r = last.norm_1.forward(x.clone());
        let cross = last.cross_attn.forward(
            MhaInput::new(r, mem.states.clone(), mem.states.clone()).mask_pad(mem.pad.clone()),
        );
        let x = x + last.dropout.forward(cross.context);
        let r = last.norm_2.forward(x.clone());
        let x = x.clone() + last.dropout.forward(last.pwff.forward(r));
        let [_, _, _, s] = cross.weights.dims();
        let attention = cross.weights.mean_dim(1).reshape([b, t, s]);
        (self.project(self.dec_norm.forward(x)), attention)
    }

    /// Log-probabilities `[R, V]` of the next token after the prefixes `prefix` `[R, t]`.
    /// and the last layer's head-averaged cross-attention `[R, S]` at that position.
    pub fn step(&self, mem: &TransformerMemory, prefix: Tensor<2, Int>) -> (Tensor<2>, Tensor<2>) {
        let [r, t] = prefix.dims();
        let (logits, attention) = self.forward_with_attention(mem, prefix);
        let v = logits.dims()[2];
        let s = attention.dims()[2];
        let lp = log_softmax(logits.slice([0..r, t - 1..t]).reshape([r, v]), 1);
        (lp, attention.slice([0..r, t - 1..t]).reshape([r, s]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Arch, AttentionKind};
    use crate::normalize::Normalization;

    fn model(layers: usize, device: &Device) -> TransformerModel {
        let cfg = ModelConfig {
            arch: Arch::Transformer,
            vocab_size: 13,
            emb_size: 8,
            hidden_size: 16,
            layers,
            heads: 2,
            dropout: 0.0,
            attention: AttentionKind::Dot,
            tied_embeddings: false,
            normalization: Normalization::None,
            max_positions: 50,
        };
        device.seed(7);
        TransformerModel::new(&cfg, device)
    }

    fn ids(rows: &[&[i64]], device: &Device) -> Tensor<2, Int> {
        let t = rows[0].len();
        let flat: Vec<i64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), t]), device)
    }

    fn vec3(t: Tensor<3>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
    }

    #[test]
    fn the_attention_pass_gives_the_same_logits_and_distributions() {
        let device = Device::flex();
        for layers in [1, 3] {
            let m = model(layers, &device);
            // The second source has two padding positions.
            let mem = m.encode(ids(&[&[4, 5, 6, 7], &[8, 9, 0, 0]], &device), &[4, 2]);
            let tgt = ids(&[&[1, 4, 5], &[1, 6, 7]], &device);
            let plain = vec3(m.forward(&mem, tgt.clone()));
            let (logits, attn) = m.forward_with_attention(&mem, tgt);
            for (a, b) in plain.iter().zip(vec3(logits)) {
                assert!((a - b).abs() < 1e-5, "{layers} layers: {a} vs {b}");
            }
            let attn = vec3(attn);
            for (row_index, row) in attn.chunks(4).enumerate() {
                let sum: f32 = row.iter().sum();
                assert!((sum - 1.0).abs() < 1e-5, "row {row_index} sums to {sum}");
                if row_index >= 3 {
                    // Rows of the second sentence give the padding no attention.
                    assert!(row[2] < 1e-6 && row[3] < 1e-6, "{row:?}");
                }
            }
        }
    }
}
