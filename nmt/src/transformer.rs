//! The Transformer encoder-decoder (Vaswani et al., 2017, "Attention Is All You Need") in
//! its pre-norm form (layer normalization before each sub-layer, plus a final one per
//! stack; Wang et al., 2019, "Learning Deep Transformer Models for Machine Translation"),
//! with sinusoidal positions and embeddings scaled by √d.
//!
//! Decoding runs one position per step: each decoder layer keeps the keys and values of
//! the positions decoded so far (and of the source, computed once), as in incremental
//! decoding of tensor2tensor and fairseq, so a step costs O(T) rather than recomputing
//! the whole prefix. Beam reordering selects rows of these caches.
//!
//! The attention shown by `--attention` and turned into word alignments is the
//! cross-attention of the last decoder layer, averaged over its heads (as fairseq and
//! Marian report it for alignment).

use burn::module::Param;
use burn::nn::transformer::{
    TransformerDecoder, TransformerDecoderConfig, TransformerEncoder, TransformerEncoderConfig,
};
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig,
    PositionalEncoding, PositionalEncodingConfig,
};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::config::ModelConfig;
use crate::transformer_layers as layers;

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

/// Keys and values `[R, heads, len, d_k]` of one decoder layer: of the target positions
/// decoded so far (self-attention) and of the source (cross-attention).
#[derive(Clone, Debug)]
struct LayerCache {
    self_kv: Option<(Tensor<4>, Tensor<4>)>,
    cross_k: Tensor<4>,
    cross_v: Tensor<4>,
}

/// The decoder state of step-wise decoding: every layer's cached keys and values, and the
/// position the next step decodes.
#[derive(Clone, Debug)]
pub struct TransformerCache {
    layers: Vec<LayerCache>,
    position: usize,
}

impl TransformerCache {
    /// Keeps the rows `rows` (repeats allowed), as beam reordering needs.
    pub fn select(&self, rows: Tensor<1, Int>) -> Self {
        let pick = |t: &Tensor<4>| t.clone().select(0, rows.clone());
        TransformerCache {
            layers: self
                .layers
                .iter()
                .map(|l| LayerCache {
                    self_kv: l.self_kv.as_ref().map(|(k, v)| (pick(k), pick(v))),
                    cross_k: pick(&l.cross_k),
                    cross_v: pick(&l.cross_v),
                })
                .collect(),
            position: self.position,
        }
    }

    /// The number of positions decoded so far.
    pub fn position(&self) -> usize {
        self.position
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
        let mut x = self.embed(&self.src_emb, src);
        for layer in &self.encoder.layers {
            x = layers::encoder_layer(layer, x, &pad);
        }
        TransformerMemory { states: layers::norm(&self.enc_norm, x), pad }
    }

    /// Teacher-forced logits `[B, T, V]` for decoder inputs `tgt_in` `[B, T]`.
    pub fn forward(&self, mem: &TransformerMemory, tgt_in: Tensor<2, Int>) -> Tensor<3> {
        self.decode(mem, tgt_in, false).0
    }

    fn project(&self, h: Tensor<3>) -> Tensor<3> {
        let w = match &self.output {
            Some(w) => w.val(),
            None => self.tgt_emb.weight.val().transpose(),
        };
        crate::affine::affine(h, w, Some(self.output_bias.val()))
    }

    /// Teacher-forced logits `[B, T, V]`, as [`Self::forward`], and the last decoder
    /// layer's cross-attention averaged over heads `[B, T, S]`.
    pub fn forward_with_attention(
        &self,
        mem: &TransformerMemory,
        tgt_in: Tensor<2, Int>,
    ) -> (Tensor<3>, Tensor<3>) {
        let (logits, attention) = self.decode(mem, tgt_in, true);
        (logits, attention.expect("a decoder has at least one layer"))
    }

    /// Teacher-forced logits and, if `want_attention`, the last decoder layer's
    /// head-averaged cross-attention.
    fn decode(
        &self,
        mem: &TransformerMemory,
        tgt_in: Tensor<2, Int>,
        want_attention: bool,
    ) -> (Tensor<3>, Option<Tensor<3>>) {
        let [b, t] = tgt_in.dims();
        let mut x = self.embed(&self.tgt_emb, tgt_in);
        let mut cross = None;
        let n = self.decoder.layers.len();
        for (i, layer) in self.decoder.layers.iter().enumerate() {
            let want = want_attention && i + 1 == n;
            let (next, weights) = layers::decoder_layer(layer, x, &mem.states, &mem.pad, want);
            x = next;
            cross = weights;
        }
        let attention = cross.map(|cross| {
            let [_, _, _, s] = cross.dims();
            cross.mean_dim(1).reshape([b, t, s])
        });
        (self.project(layers::norm(&self.dec_norm, x)), attention)
    }

    /// An empty decoder cache for the sources of `mem`: the cross-attention keys and
    /// values of every layer, computed once.
    pub fn init_cache(&self, mem: &TransformerMemory) -> TransformerCache {
        let layers = self
            .decoder
            .layers
            .iter()
            .map(|layer| {
                let mha = &layer.cross_attn;
                LayerCache {
                    self_kv: None,
                    cross_k: layers::heads(mha, &mha.key, mem.states.clone()),
                    cross_v: layers::heads(mha, &mha.value, mem.states.clone()),
                }
            })
            .collect();
        TransformerCache { layers, position: 0 }
    }

    /// One decoding step with cached keys and values: log-probabilities `[R, V]` of the
    /// token after `prev` `[R]` (each row's last token, BOS first), and the last layer's
    /// head-averaged cross-attention `[R, S]`, equal to [`Self::step`] on the whole prefix.
    /// The caller keeps the position below the model's `max_positions + 2`.
    pub fn step_cached(
        &self,
        mem: &TransformerMemory,
        cache: &mut TransformerCache,
        prev: Tensor<1, Int>,
    ) -> (Tensor<2>, Tensor<2>) {
        let [r] = prev.dims();
        let d = self.d_model;
        let p = cache.position;
        let emb = self.tgt_emb.forward(prev.reshape([r, 1])) * (d as f64).sqrt();
        let pos = self.positions.sinusoids.clone().slice([0..1, p..p + 1, 0..d]);
        let mut x = self.dropout.forward(emb + pos);
        let mut attention = None;
        let n = self.decoder.layers.len();
        for (i, (layer, lc)) in self.decoder.layers.iter().zip(&mut cache.layers).enumerate() {
            debug_assert!(layer.norm_first, "the model is pre-norm");
            let h = layers::norm(&layer.norm_3, x.clone());
            let sa = &layer.self_attn;
            let q = layers::heads(sa, &sa.query, h.clone());
            let k = layers::heads(sa, &sa.key, h.clone());
            let v = layers::heads(sa, &sa.value, h);
            let (k, v) = match lc.self_kv.take() {
                Some((pk, pv)) => (Tensor::cat(vec![pk, k], 2), Tensor::cat(vec![pv, v], 2)),
                None => (k, v),
            };
            lc.self_kv = Some((k.clone(), v.clone()));
            let (ctx, _) = layers::attend(sa, q, k, v, None, false);
            x = x + layer.dropout.forward(ctx);
            let h = layers::norm(&layer.norm_1, x.clone());
            let ca = &layer.cross_attn;
            let q = layers::heads(ca, &ca.query, h);
            let (ctx, w) = layers::attend(
                ca,
                q,
                lc.cross_k.clone(),
                lc.cross_v.clone(),
                Some(mem.pad.clone()),
                false,
            );
            x = x + layer.dropout.forward(ctx);
            let h = layers::norm(&layer.norm_2, x.clone());
            x = x.clone() + layer.dropout.forward(layers::feed_forward(&layer.pwff, h));
            if i + 1 == n {
                let [_, _, _, s] = w.dims();
                attention = Some(w.mean_dim(1).reshape([r, s]));
            }
        }
        cache.position += 1;
        let logits = self.project(layers::norm(&self.dec_norm, x));
        let v = logits.dims()[2];
        let attention = attention.expect("a decoder has at least one layer");
        (log_softmax(logits.reshape([r, v]), 1), attention)
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

    fn vec2(t: Tensor<2>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
    }

    #[test]
    fn cached_steps_equal_steps_over_the_whole_prefix_through_reordering() {
        let device = Device::flex();
        for layers in [1, 2] {
            let m = model(layers, &device);
            let mut mem = m.encode(ids(&[&[4, 5, 6, 7], &[8, 9, 0, 0]], &device), &[4, 2]);
            let mut cache = m.init_cache(&mem);
            let mut prefixes: Vec<Vec<i64>> = vec![vec![], vec![]];
            // Tokens fed at each step; after step 2 the rows are reordered as a beam would.
            let feeds: [[i64; 2]; 4] = [[1, 1], [4, 6], [5, 7], [9, 3]];
            for (step, feed) in feeds.iter().enumerate() {
                if step == 2 {
                    let rows = [1usize, 1];
                    let idx: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
                    let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [2]), &device);
                    mem = mem.select(idx.clone());
                    cache = cache.select(idx);
                    prefixes = rows.iter().map(|&r| prefixes[r].clone()).collect();
                }
                for (p, &t) in prefixes.iter_mut().zip(feed) {
                    p.push(t);
                }
                let rows: Vec<&[i64]> = prefixes.iter().map(Vec::as_slice).collect();
                let (lp, attn) = m.step(&mem, ids(&rows, &device));
                let prev =
                    Tensor::<1, Int>::from_data(TensorData::new(feed.to_vec(), [2]), &device);
                let (lp_c, attn_c) = m.step_cached(&mem, &mut cache, prev);
                for (a, b) in vec2(lp).iter().zip(vec2(lp_c)) {
                    assert!((a - b).abs() < 1e-4, "{layers} layers, step {step}: {a} vs {b}");
                }
                for (a, b) in vec2(attn).iter().zip(vec2(attn_c)) {
                    assert!((a - b).abs() < 1e-5, "{layers} layers, step {step}: {a} vs {b}");
                }
            }
            assert_eq!(cache.position(), feeds.len());
        }
    }

    /// Logits through burn's own encoder and decoder modules.
    fn burn_forward(m: &TransformerModel, src: Tensor<2, Int>, tgt: Tensor<2, Int>) -> Vec<f32> {
        use burn::nn::attention::generate_autoregressive_mask;
        use burn::nn::transformer::{TransformerDecoderInput, TransformerEncoderInput};
        let pad = src.clone().equal_elem(0);
        let x = m.embed(&m.src_emb, src);
        let states = m
            .enc_norm
            .forward(m.encoder.forward(TransformerEncoderInput::new(x).mask_pad(pad.clone())));
        let [b, t] = tgt.dims();
        let y = m.embed(&m.tgt_emb, tgt.clone());
        let input = TransformerDecoderInput::new(y, states)
            .memory_mask_pad(pad)
            .target_mask_attn(generate_autoregressive_mask(b, t, &tgt.device()));
        vec3(m.project(m.dec_norm.forward(m.decoder.forward(input))))
    }

    #[test]
    fn our_layers_give_burns_logits_and_attention_rows_are_distributions() {
        let device = Device::flex();
        for layers in [1, 3] {
            let m = model(layers, &device);
            // The second source has two padding positions.
            let src = ids(&[&[4, 5, 6, 7], &[8, 9, 0, 0]], &device);
            let tgt = ids(&[&[1, 4, 5], &[1, 6, 7]], &device);
            let theirs = burn_forward(&m, src.clone(), tgt.clone());
            let mem = m.encode(src, &[4, 2]);
            let composed = crate::fused::composed(|| vec3(m.forward(&mem, tgt.clone())));
            let (logits, attn) = m.forward_with_attention(&mem, tgt);
            for ((a, b), c) in vec3(logits).iter().zip(&theirs).zip(&composed) {
                assert!((a - b).abs() < 1e-5, "{layers} layers: {a} vs burn's {b}");
                assert!((c - b).abs() < 1e-5, "{layers} layers: composed {c} vs burn's {b}");
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
