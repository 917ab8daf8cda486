//! The attentional LSTM encoder-decoder: a bidirectional LSTM encoder (Hochreiter &
//! Schmidhuber, 1997; Schuster & Paliwal, 1997) and an LSTM decoder with global attention
//! and input feeding (Luong, Pham & Manning, 2015, "Effective Approaches to
//! Attention-based Neural Machine Translation"), or additive attention (Bahdanau, Cho &
//! Bengio, 2015).
//!
//! Speed: the input projection of every time step is one matrix product before the
//! recurrence, and the four gates come out of one product per step, activated by one
//! sigmoid over all of them (the candidate gate takes `tanh`).

use burn::module::Param;
use burn::nn::LinearConfig;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, Linear};
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, sigmoid, softmax, tanh};

use crate::affine;
use crate::config::{AttentionKind, ModelConfig};

/// Large negative score for masked attention positions: finite, so a row that is fully
/// masked (an empty source) gives a uniform distribution instead of NaN.
pub const MASKED_SCORE: f32 = -1e9;

/// One LSTM layer, one direction, with fused gate weights (order i, f, g, o).
#[derive(Module, Debug)]
pub struct LstmLayer {
    /// Input projection of all four gates, with the bias.
    pub input: Linear,
    /// Recurrent weights `[hidden, 4·hidden]`.
    pub recurrent: Param<Tensor<2>>,
    /// Hidden size.
    pub hidden: usize,
}

fn uniform(shape: [usize; 2], fan: usize, device: &Device) -> Param<Tensor<2>> {
    let bound = 1.0 / (fan as f64).sqrt();
    Initializer::Uniform { min: -bound, max: bound }.init(shape, device)
}

fn linear(d_in: usize, d_out: usize, bias: bool, device: &Device) -> Linear {
    let bound = 1.0 / (d_in as f64).sqrt();
    LinearConfig::new(d_in, d_out)
        .with_bias(bias)
        .with_initializer(Initializer::Uniform { min: -bound, max: bound })
        .init(device)
}

impl LstmLayer {
    /// A layer reading `d_input` features into `hidden` units.
    pub fn new(d_input: usize, hidden: usize, device: &Device) -> Self {
        let mut input = linear(d_input, 4 * hidden, true, device);
        // Forget-gate bias 1 (Jozefowicz et al., 2015): remember by default.
        // Built outside the autodiff graph so that the parameter stays a leaf.
        input.bias = input.bias.map(|b| {
            b.map(|t| {
                let tracked = t.is_require_grad();
                let plain = t.inner();
                let ones = Tensor::ones([hidden], &plain.device());
                let t = Tensor::from_inner(plain.slice_assign(s![hidden..2 * hidden], ones));
                if tracked {
                    t.require_grad()
                } else {
                    t
                }
            })
        });
        LstmLayer { input, recurrent: uniform([hidden, 4 * hidden], hidden, device), hidden }
    }

    /// One cell update from pre-activations `gates` `[B, 4H]` (input part already in).
    pub fn cell(&self, gates: Tensor<2>, c: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        if crate::fused::supported(&gates.device()) {
            return crate::fused::lstm_cell(gates, c);
        }
        self.composed_cell(gates, c)
    }

    /// [`LstmLayer::cell`] from tensor operations (for devices without the fused cell).
    pub fn composed_cell(&self, gates: Tensor<2>, c: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let h = self.hidden;
        let [b, _] = gates.dims();
        let act = sigmoid(gates.clone());
        let i = act.clone().slice([0..b, 0..h]);
        let f = act.clone().slice([0..b, h..2 * h]);
        let o = act.slice([0..b, 3 * h..4 * h]);
        let g = tanh(gates.slice([0..b, 2 * h..3 * h]));
        let c = f * c + i * g;
        let h = o * tanh(c.clone());
        (h, c)
    }

    /// Runs over `x` `[B, T, in]` (padding at the end of each row) and returns all hidden
    /// states `[B, T, H]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let device = x.device();
        if t > 0 && crate::fused::supported(&device) {
            return crate::fused::lstm_layer(affine::linear(&self.input, x), self.recurrent.val());
        }
        let xw = affine::linear(&self.input, x).swap_dims(0, 1); // [T, B, 4H]
        let w = self.recurrent.val();
        let mut h = Tensor::<2>::zeros([b, self.hidden], &device);
        let mut c = Tensor::<2>::zeros([b, self.hidden], &device);
        let mut outs = Vec::with_capacity(t);
        for step in 0..t {
            let xt = xw.clone().slice_dim(0, step..step + 1).reshape([b, 4 * self.hidden]);
            let gates = xt + h.matmul(w.clone());
            let (nh, nc) = self.cell(gates, c);
            h = nh;
            c = nc;
            outs.push(h.clone());
        }
        if outs.is_empty() {
            return Tensor::zeros([b, 0, self.hidden], &device);
        }
        Tensor::stack(outs, 1)
    }
}

/// What the encoder hands to the decoder.
#[derive(Clone, Debug)]
pub struct LstmMemory {
    /// Attention values `[B, S, H]` (encoder states projected to the decoder size).
    pub values: Tensor<3>,
    /// Attention keys `[B, S, K]` (values for dot, `W·values` for general and Bahdanau).
    pub keys: Tensor<3>,
    /// 0 for real positions, [`MASKED_SCORE`] for padding, `[B, S]`.
    pub mask_bias: Tensor<2>,
    /// True at padding positions, `[B, S]`.
    pub pad: Tensor<2, Bool>,
    /// Initial decoder hidden state `[B, H]`.
    pub init: Tensor<2>,
    /// The decoder's gate weights `[E + 2H, 4H]` for the input [embedding, input feed, h]:
    /// its input weights over its recurrent ones, joined once per batch so that each step
    /// is one product.
    pub gate_weights: Tensor<2>,
}

impl LstmMemory {
    /// Keeps the rows `rows` (repeats allowed), e.g. to expand a batch into beams.
    pub fn select(&self, rows: Tensor<1, Int>) -> Self {
        LstmMemory {
            values: self.values.clone().select(0, rows.clone()),
            keys: self.keys.clone().select(0, rows.clone()),
            mask_bias: self.mask_bias.clone().select(0, rows.clone()),
            pad: self.pad.clone().select(0, rows.clone()),
            init: self.init.clone().select(0, rows),
            gate_weights: self.gate_weights.clone(),
        }
    }
}

/// The recurrent decoder state of a batch of hypotheses.
#[derive(Clone, Debug)]
pub struct LstmState {
    /// Hidden state `[R, H]`.
    pub h: Tensor<2>,
    /// Cell state `[R, H]`.
    pub c: Tensor<2>,
    /// Attentional hidden state of the previous step (input feeding) `[R, H]`.
    pub feed: Tensor<2>,
}

impl LstmState {
    /// Keeps the rows `rows` (beam reordering).
    pub fn select(&self, rows: Tensor<1, Int>) -> Self {
        LstmState {
            h: self.h.clone().select(0, rows.clone()),
            c: self.c.clone().select(0, rows.clone()),
            feed: self.feed.clone().select(0, rows),
        }
    }
}

/// The attentional LSTM encoder-decoder.
#[derive(Module, Debug)]
pub struct LstmModel {
    /// Source embeddings.
    pub src_emb: Embedding,
    /// Target embeddings.
    pub tgt_emb: Embedding,
    /// Forward encoder LSTM.
    pub enc_fwd: LstmLayer,
    /// Backward encoder LSTM.
    pub enc_bwd: LstmLayer,
    /// Projection of the concatenated encoder states to the decoder size.
    pub enc_proj: Linear,
    /// Key transform for general and Bahdanau attention.
    pub key_proj: Option<Linear>,
    /// Query transform of Bahdanau attention.
    pub query_proj: Option<Linear>,
    /// Score vector of Bahdanau attention `[H, 1]`.
    pub score_vec: Option<Linear>,
    /// Decoder LSTM: its input is the embedding and the previous attentional state.
    pub dec: LstmLayer,
    /// `tanh(W [context; h])`, the attentional hidden state.
    pub combine: Linear,
    /// Output projection (absent when tied to the target embedding).
    pub output: Option<Linear>,
    /// Output bias when tied.
    pub output_bias: Option<Param<Tensor<1>>>,
    /// Dropout on embeddings and attentional states.
    pub dropout: Dropout,
    /// Decoder size.
    pub hidden: usize,
    /// Embedding size.
    pub emb: usize,
}

impl LstmModel {
    /// A freshly initialized model.
    pub fn new(cfg: &ModelConfig, device: &Device) -> Self {
        let (v, e, h) = (cfg.vocab_size, cfg.emb_size, cfg.hidden_size);
        let emb = |device: &Device| {
            EmbeddingConfig::new(v, e)
                .with_initializer(Initializer::Normal { mean: 0.0, std: 0.1 })
                .init(device)
        };
        let (key_proj, query_proj, score_vec) = match cfg.attention {
            AttentionKind::Dot => (None, None, None),
            AttentionKind::General => (Some(linear(h, h, false, device)), None, None),
            AttentionKind::Bahdanau => (
                Some(linear(h, h, false, device)),
                Some(linear(h, h, true, device)),
                Some(linear(h, 1, false, device)),
            ),
        };
        LstmModel {
            src_emb: emb(device),
            tgt_emb: emb(device),
            enc_fwd: LstmLayer::new(e, h, device),
            enc_bwd: LstmLayer::new(e, h, device),
            enc_proj: linear(2 * h, h, true, device),
            key_proj,
            query_proj,
            score_vec,
            dec: LstmLayer::new(e + h, h, device),
            combine: linear(2 * h, h, false, device),
            output: (!cfg.tied_embeddings).then(|| linear(h, v, true, device)),
            output_bias: cfg
                .tied_embeddings
                .then(|| Param::from_tensor(Tensor::zeros([v], device))),
            dropout: DropoutConfig::new(cfg.dropout).init(),
            hidden: h,
            emb: e,
        }
    }

    /// Encodes padded sources `src` `[B, S]` with their lengths.
    pub fn encode(&self, src: Tensor<2, Int>, lengths: &[usize]) -> LstmMemory {
        let [b, s] = src.dims();
        let device = src.device();
        let x = self.dropout.forward(self.src_emb.forward(src)); // [B, S, E]
        let fwd = self.enc_fwd.forward(x.clone());
        // The backward direction reads each row reversed within its own length, so that
        // its padding also comes last; the outputs are put back in source order.
        let mut rev = Vec::with_capacity(b * s);
        for (row, &len) in lengths.iter().enumerate() {
            for t in 0..s {
                let src_t = if t < len { len - 1 - t } else { t };
                rev.push((row * s + src_t) as i64);
            }
        }
        let rev = Tensor::<1, Int>::from_data(TensorData::new(rev, [b * s]), &device);
        let flip = |y: Tensor<3>| {
            let d = y.dims()[2];
            y.reshape([b * s, d]).select(0, rev.clone()).reshape([b, s, d])
        };
        let bwd = flip(self.enc_bwd.forward(flip(x)));
        let states = Tensor::cat(vec![fwd, bwd], 2);
        let values = affine::linear(&self.enc_proj, states);
        let keys = match &self.key_proj {
            Some(p) => affine::linear(p, values.clone()),
            None => values.clone(),
        };
        let mut bias = Vec::with_capacity(b * s);
        let mut weight = Vec::with_capacity(b * s);
        for &len in lengths {
            for t in 0..s {
                bias.push(if t < len { 0.0f32 } else { MASKED_SCORE });
                weight.push(if t < len { 1.0 / len as f32 } else { 0.0f32 });
            }
        }
        let mask_bias = Tensor::<2>::from_data(TensorData::new(bias, [b, s]), &device);
        let weight = Tensor::<2>::from_data(TensorData::new(weight, [b, s]), &device);
        // Mean of the real positions (zero for an empty source) starts the decoder.
        let mean = weight.unsqueeze_dim::<3>(1).matmul(values.clone()).reshape([b, self.hidden]);
        let gate_weights =
            Tensor::cat(vec![self.dec.input.weight.val(), self.dec.recurrent.val()], 0);
        let pad = mask_bias.clone().lower_elem(MASKED_SCORE / 2.0);
        LstmMemory { values, keys, mask_bias, pad, init: tanh(mean), gate_weights }
    }

    /// The state before the first target token.
    pub fn init_state(&self, mem: &LstmMemory) -> LstmState {
        let [b, h] = mem.init.dims();
        let device = mem.init.device();
        LstmState {
            h: mem.init.clone(),
            c: Tensor::zeros([b, h], &device),
            feed: Tensor::zeros([b, h], &device),
        }
    }

    /// Attention weights `[R, S]` of query `h` `[R, H]` over `mem`.
    fn attend(&self, mem: &LstmMemory, h: Tensor<2>) -> Tensor<2> {
        let [r, hd] = h.dims();
        let s = mem.keys.dims()[1];
        let scores = match (&self.query_proj, &self.score_vec) {
            (Some(q), Some(v)) => {
                let query = q.forward(h).unsqueeze_dim::<3>(1); // [R, 1, H]
                let hidden = tanh(mem.keys.clone() + query); // [R, S, H]
                v.forward(hidden).reshape([r, s])
            }
            _ => mem.keys.clone().matmul(h.reshape([r, hd, 1])).reshape([r, s]),
        };
        if crate::fused::supported(&scores.device()) {
            let weights = crate::fused::attention_softmax(
                scores.reshape([r, 1, 1, s]),
                Some(mem.pad.clone()),
                false,
                1.0,
            );
            return weights.reshape([r, s]);
        }
        softmax(scores + mem.mask_bias.clone(), 1)
    }

    /// One decoder step with the embedded input `x` `[R, E]`: the gates come from one
    /// product of [x, input feed, h] with the memory's gate weights. Returns the new state
    /// (whose `feed` is the attentional hidden state, before dropout) and the attention
    /// weights.
    fn step_gates(
        &self,
        mem: &LstmMemory,
        state: LstmState,
        x: Tensor<2>,
    ) -> (LstmState, Tensor<2>) {
        let input = Tensor::cat(vec![x, state.feed, state.h], 1);
        let bias = self.dec.input.bias.as_ref().map(|b| b.val());
        let gates = affine::affine_rows(input, mem.gate_weights.clone(), bias);
        let (h, c) = self.dec.cell(gates, state.c);
        let attn = self.attend(mem, h.clone());
        let [r, s] = attn.dims();
        let ctx =
            attn.clone().reshape([r, 1, s]).matmul(mem.values.clone()).reshape([r, self.hidden]);
        let combined = affine::linear_rows(&self.combine, Tensor::cat(vec![ctx, h.clone()], 1));
        let combined = if crate::fused::supported(&combined.device()) {
            crate::fused::tanh(combined)
        } else {
            tanh(combined)
        };
        (LstmState { h, c, feed: combined }, attn)
    }

    fn project(&self, hidden: Tensor<3>) -> Tensor<3> {
        match (&self.output, &self.output_bias) {
            (Some(out), _) => affine::linear(out, hidden),
            (None, Some(bias)) => {
                let w = self.tgt_emb.weight.val().transpose(); // [H, V]
                affine::affine(hidden, w, Some(bias.val()))
            }
            (None, None) => unreachable!("an LSTM model always has an output layer"),
        }
    }

    /// Teacher-forced logits `[B, T, V]` for decoder inputs `tgt_in` `[B, T]`. With dot or
    /// general attention on the CPU the whole recurrence is one fused operation.
    pub fn forward(&self, mem: &LstmMemory, tgt_in: Tensor<2, Int>) -> Tensor<3> {
        let [b, t] = tgt_in.dims();
        let device = tgt_in.device();
        // The embeddings [B, T, E], and the dropout factors of every step's feed at once (ones
        // when dropout is off).
        let x = self.dropout.forward(self.tgt_emb.forward(tgt_in));
        let drop = self.dropout.forward(Tensor::<3>::ones([b, t, self.hidden], &device));
        if self.query_proj.is_none() && crate::fused::supported(&device) {
            let h4 = 4 * self.hidden;
            let bias = self.dec.input.bias.as_ref().map(|p| p.val());
            let inputs = crate::fused::DecoderInputs {
                gates: mem.gate_weights.clone(),
                bias: bias.unwrap_or_else(|| Tensor::zeros([h4], &device)),
                keys: mem.keys.clone(),
                values: mem.values.clone(),
                pad: mem.pad.clone(),
                init: mem.init.clone(),
                combine: self.combine.weight.val(),
                drop,
            };
            return self.project(crate::fused::lstm_decoder(x, inputs));
        }
        let mut state = self.init_state(mem);
        let mut feeds = Vec::with_capacity(t);
        for step in 0..t {
            let xt = x.clone().slice_dim(1, step..step + 1).reshape([b, self.emb]);
            let (mut next, _) = self.step_gates(mem, state, xt);
            let factors = drop.clone().slice_dim(1, step..step + 1).reshape([b, self.hidden]);
            next.feed = next.feed * factors;
            feeds.push(next.feed.clone());
            state = next;
        }
        if feeds.is_empty() {
            return self.project(Tensor::zeros([b, 0, self.hidden], &device));
        }
        self.project(Tensor::stack(feeds, 1))
    }

    /// One decoding step for previous tokens `prev` `[R]`: log-probabilities `[R, V]`,
    /// attention `[R, S]` and the new state.
    pub fn step(
        &self,
        mem: &LstmMemory,
        state: LstmState,
        prev: Tensor<1, Int>,
    ) -> (Tensor<2>, Tensor<2>, LstmState) {
        let r = prev.dims()[0];
        let x = self.tgt_emb.forward(prev.reshape([r, 1])).reshape([r, self.emb]);
        let (next, attn) = self.step_gates(mem, state, x);
        let logits = self.project(next.feed.clone().unsqueeze_dim(1));
        let v = logits.dims()[2];
        (log_softmax(logits.reshape([r, v]), 1), attn, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Arch;
    use crate::normalize::Normalization;

    fn cfg(attention: AttentionKind) -> ModelConfig {
        ModelConfig {
            arch: Arch::Lstm,
            vocab_size: 11,
            emb_size: 6,
            hidden_size: 5,
            layers: 1,
            heads: 1,
            dropout: 0.0,
            attention,
            tied_embeddings: false,
            normalization: Normalization::None,
            max_positions: 50,
        }
    }

    fn ids(rows: &[&[i64]], device: &Device) -> Tensor<2, Int> {
        let t = rows[0].len();
        let flat: Vec<i64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), t]), device)
    }

    #[test]
    fn padding_does_not_change_the_real_rows() {
        let device = Device::flex();
        for kind in [AttentionKind::Dot, AttentionKind::General, AttentionKind::Bahdanau] {
            device.seed(3);
            let model = LstmModel::new(&cfg(kind), &device);
            let alone = model.encode(ids(&[&[4, 5, 6]], &device), &[3]);
            let padded = model.encode(ids(&[&[4, 5, 6, 0, 0], &[7, 0, 0, 0, 0]], &device), &[3, 1]);
            let tgt = ids(&[&[1, 8, 9]], &device);
            let a = model.forward(&alone, tgt.clone());
            let p = model.forward(&padded.select(Tensor::from_data([0i64], &device)), tgt);
            let a: Vec<f32> = a.into_data().try_into_vec::<f32>().unwrap();
            let p: Vec<f32> = p.into_data().try_into_vec::<f32>().unwrap();
            for (x, y) in a.iter().zip(&p) {
                assert!((x - y).abs() < 1e-5, "{kind:?}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn empty_source_gives_finite_scores() {
        let device = Device::flex();
        device.seed(1);
        let model = LstmModel::new(&cfg(AttentionKind::Dot), &device);
        let mem = model.encode(ids(&[&[0, 0], &[4, 5]], &device), &[0, 2]);
        let state = model.init_state(&mem);
        let (lp, attn, _) = model.step(&mem, state, Tensor::from_data([1i64, 1], &device));
        assert!(!lp.contains_nan().into_scalar::<bool>());
        assert!(!attn.contains_nan().into_scalar::<bool>());
    }
}
