//! The two architectures behind one type, and the bridge from a model to the search.

use burn::prelude::*;

use crate::config::{Arch, ModelConfig};
use crate::lstm::{LstmMemory, LstmModel, LstmState};
use crate::search::{StepOut, StepScorer};
use crate::transformer::{TransformerCache, TransformerMemory, TransformerModel};

/// An encoder-decoder of either architecture.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Seq2Seq {
    /// The attentional LSTM.
    Lstm(LstmModel),
    /// The Transformer.
    Transformer(TransformerModel),
}

/// Encoder output of either architecture.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Memory {
    /// LSTM attention memory.
    Lstm(LstmMemory),
    /// Transformer encoder states.
    Transformer(TransformerMemory),
}

impl Memory {
    fn select(&self, rows: Tensor<1, Int>) -> Self {
        match self {
            Memory::Lstm(m) => Memory::Lstm(m.select(rows)),
            Memory::Transformer(m) => Memory::Transformer(m.select(rows)),
        }
    }
}

/// A padded batch of token ids ready for the model.
pub fn id_tensor(rows: &[Vec<u32>], prefix: Option<u32>, device: &Device) -> Tensor<2, Int> {
    let extra = usize::from(prefix.is_some());
    let t = rows.iter().map(|r| r.len() + extra).max().unwrap_or(0).max(1);
    let mut flat = vec![0i64; rows.len() * t];
    for (b, row) in rows.iter().enumerate() {
        let mut k = b * t;
        if let Some(p) = prefix {
            flat[k] = p as i64;
            k += 1;
        }
        for &id in row {
            flat[k] = id as i64;
            k += 1;
        }
    }
    Tensor::from_data(TensorData::new(flat, [rows.len(), t]), device)
}

/// Reads every parameter once, which draws the initial values of lazily initialized ones.
struct Materialize;

impl burn::module::ModuleVisitor for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let _ = param.val();
    }
}

impl Seq2Seq {
    /// A freshly initialized model (seed the device first for a reproducible start).
    ///
    /// burn draws a parameter's initial values when it is first read; every parameter is
    /// read here, in declaration order, so that the initial weights of a seed do not depend
    /// on the order in which the forward pass happens to read them.
    pub fn new(cfg: &ModelConfig, device: &Device) -> Self {
        let model = match cfg.arch {
            Arch::Lstm => Seq2Seq::Lstm(LstmModel::new(cfg, device)),
            Arch::Transformer => Seq2Seq::Transformer(TransformerModel::new(cfg, device)),
        };
        model.visit(&mut Materialize);
        model
    }

    /// The same network in evaluation mode (dropout off, no gradient tracking), as
    /// decoding and scoring use it.
    pub fn for_inference(self) -> Self {
        self.valid()
    }

    /// The number of trainable scalars.
    pub fn parameter_count(&self) -> usize {
        Module::num_params(self)
    }

    /// Encodes a batch of sources (ids without BOS/EOS; an empty row is allowed).
    pub fn encode(&self, sources: &[Vec<u32>], device: &Device) -> Memory {
        let lengths: Vec<usize> = sources.iter().map(Vec::len).collect();
        let src = id_tensor(sources, None, device);
        match self {
            Seq2Seq::Lstm(m) => Memory::Lstm(m.encode(src, &lengths)),
            Seq2Seq::Transformer(m) => Memory::Transformer(m.encode(src, &lengths)),
        }
    }

    /// Teacher-forced logits `[B, T, V]`.
    pub fn forward(&self, mem: &Memory, tgt_in: Tensor<2, Int>) -> Tensor<3> {
        match (self, mem) {
            (Seq2Seq::Lstm(m), Memory::Lstm(mem)) => m.forward(mem, tgt_in),
            (Seq2Seq::Transformer(m), Memory::Transformer(mem)) => m.forward(mem, tgt_in),
            _ => unreachable!("memory comes from the same model"),
        }
    }

    /// A scorer over `sources` for greedy or beam search.
    pub fn scorer<'a>(&'a self, sources: &[Vec<u32>], device: &Device) -> ModelScorer<'a> {
        let mem = self.encode(sources, device);
        let state = match (self, &mem) {
            (Seq2Seq::Lstm(m), Memory::Lstm(mem)) => DecState::Lstm(m.init_state(mem)),
            (Seq2Seq::Transformer(m), Memory::Transformer(mem)) => {
                DecState::Transformer(m.init_cache(mem))
            }
            _ => unreachable!("memory comes from the same model"),
        };
        ModelScorer { model: self, mem, state, device: device.clone() }
    }
}

/// Decoder state of the hypotheses being searched.
#[allow(clippy::large_enum_variant)]
enum DecState {
    Lstm(LstmState),
    /// Cached keys and values of the Transformer decoder.
    Transformer(TransformerCache),
}

/// A [`StepScorer`] backed by a model, one row per live hypothesis.
pub struct ModelScorer<'a> {
    model: &'a Seq2Seq,
    mem: Memory,
    state: DecState,
    device: Device,
}

fn top_k(logprobs: Tensor<2>, k: usize) -> Vec<Vec<(f32, u32)>> {
    let [r, v] = logprobs.dims();
    let k = k.min(v);
    let (vals, idx) = logprobs.topk_with_indices(k, 1);
    let vals: Vec<f32> =
        vals.into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default();
    let idx: Vec<i64> = idx.into_data().convert::<i64>().try_into_vec::<i64>().unwrap_or_default();
    (0..r)
        .map(|row| (0..k).map(|j| (vals[row * k + j], idx[row * k + j] as u32)).collect())
        .collect()
}

/// The rows of an `[R, S]` attention tensor.
fn rows_of(attn: Tensor<2>) -> Vec<Vec<f32>> {
    let [r, s] = attn.dims();
    let flat: Vec<f32> =
        attn.into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default();
    (0..r).map(|i| flat[i * s..(i + 1) * s].to_vec()).collect()
}

impl StepScorer for ModelScorer<'_> {
    fn step(&mut self, prev: &[u32], k: usize) -> StepOut {
        match (self.model, &self.mem, &mut self.state) {
            (Seq2Seq::Lstm(m), Memory::Lstm(mem), DecState::Lstm(state)) => {
                let prev: Vec<i64> = prev.iter().map(|&t| t as i64).collect();
                let n = prev.len();
                let prev = Tensor::<1, Int>::from_data(TensorData::new(prev, [n]), &self.device);
                let (lp, attn, next) = m.step(mem, state.clone(), prev);
                *state = next;
                StepOut { top: top_k(lp, k), attention: Some(rows_of(attn)) }
            }
            (Seq2Seq::Transformer(m), Memory::Transformer(mem), DecState::Transformer(cache)) => {
                let prev: Vec<i64> = prev.iter().map(|&t| t as i64).collect();
                let n = prev.len();
                let prev = Tensor::<1, Int>::from_data(TensorData::new(prev, [n]), &self.device);
                let (lp, attn) = m.step_cached(mem, cache, prev);
                StepOut { top: top_k(lp, k), attention: Some(rows_of(attn)) }
            }
            _ => unreachable!("state comes from the same model"),
        }
    }

    fn reorder(&mut self, rows: &[usize]) {
        let idx: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
        let n = idx.len();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [n]), &self.device);
        self.mem = self.mem.select(idx.clone());
        self.state = match &self.state {
            DecState::Lstm(s) => DecState::Lstm(s.select(idx)),
            DecState::Transformer(c) => DecState::Transformer(c.select(idx)),
        };
    }
}
