//! Fused operations for the `flex` CPU backend, each with a hand-written backward step:
//! the label-smoothed cross-entropy of the output layer ([`cross_entropy`]), the LSTM
//! cell of the decoder's search steps ([`lstm_cell`](mod@lstm_cell)), every affine map of
//! rows ([`affine`](mod@affine)), the encoder's whole LSTM layers
//! ([`lstm_layer`](mod@lstm_layer)) and the whole teacher-forced decoder
//! ([`lstm_decoder`](mod@lstm_decoder)), and for the Transformer layer normalization
//! ([`layer_norm`](mod@layer_norm)), GELU ([`gelu`](mod@gelu)), the attention weights
//! ([`attention_softmax`](mod@attention_softmax)) and the core of multi-head attention
//! ([`multi_head_attention`](mod@multi_head_attention)), on the vectorizable
//! [`fast_math`] functions.
//!
//! They are a burn backend extension, implemented for `Flex` (the forward pass, used when
//! decoding and validating) and for `Autodiff<Flex>` (forward and backward, used in
//! training). [`supported`] says whether a device has them; elsewhere (CUDA) the models
//! compose the same functions from tensor operations.

pub mod adam;
pub mod affine;
pub mod attention_softmax;
pub mod cross_entropy;
pub mod elementwise;
pub mod fast_math;
pub mod gelu;
pub mod layer_norm;
pub mod lstm_cell;
pub mod lstm_decoder;
pub mod lstm_layer;
pub mod multi_head_attention;

use std::borrow::Cow;
use std::cell::Cell;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Dispatch, Flex};
use burn::prelude::*;

/// The fused operations as a backend extension (see the module documentation).
#[backend_extension(Flex, Autodiff)]
pub trait FusedOps: Backend {
    /// `[N, 2]`: per row of `logits` `[N, V]`, the label-smoothed loss and the plain
    /// negative log-likelihood of the target `targets[n]` (`[N]`, ids stored as floats).
    fn smoothed_nll(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        epsilon: f32,
    ) -> FloatTensor<Self>;

    /// `[B, 2H]`: the new hidden and cell states (h then c in each row) of an LSTM cell with
    /// gate pre-activations `gates` `[B, 4H]` (order i, f, g, o) and cell state `c` `[B, H]`.
    fn lstm_cell(gates: FloatTensor<Self>, c: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `[B, T, H]`: the hidden states of an LSTM layer run over the input projection `xw`
    /// `[B, T, 4H]` (bias included) with recurrent weights `w` `[H, 4H]`, from zero states.
    fn lstm_layer(xw: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `[B, T, H]`: the input feeds of the teacher-forced LSTM decoder with dot-product
    /// attention over the target embeddings `x` `[B, T, E]` (see
    /// [`lstm_decoder`](mod@lstm_decoder) for the other inputs; `pad` and `drop` are not
    /// differentiated).
    #[allow(clippy::too_many_arguments)]
    fn lstm_decoder(
        x: FloatTensor<Self>,
        gates: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        keys: FloatTensor<Self>,
        values: FloatTensor<Self>,
        init: FloatTensor<Self>,
        combine: FloatTensor<Self>,
        pad: FloatTensor<Self>,
        drop: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// `[B, T, D]`: the context of multi-head attention (before the output map) of the
    /// queries `q` `[B, T, D]` over keys `k` and values `v` `[B, S, D]`, with the keys where
    /// `pad` `[B, S]` is non-zero masked, and, if `causal`, those after each query; the
    /// weights are multiplied by the dropout factors `drop` `[B, heads, T, S]`.
    #[allow(clippy::too_many_arguments)]
    fn multi_head_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        pad: FloatTensor<Self>,
        drop: FloatTensor<Self>,
        heads: usize,
        causal: bool,
        scale: f32,
    ) -> FloatTensor<Self>;

    /// `[N, D]`: the rows of `x` `[N, D]` layer-normalized, scaled by `gamma` `[D]` and
    /// shifted by `beta` `[D]`.
    fn layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f32,
    ) -> FloatTensor<Self>;

    /// `[N, O]`: `x·w + bias` for `x` `[N, D]`, `w` `[D, O]` and `bias` `[O]`.
    fn affine(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// GELU of `x`, element-wise.
    fn gelu(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// The hyperbolic tangent of `x`, element-wise.
    fn tanh(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `[3, N]`: the parameter `p` `[N]` and its moments after one Adam update from the
    /// gradient `g` and the previous moments `m` and `v` (all `[N]`). Not differentiable.
    fn adam_step(
        p: FloatTensor<Self>,
        g: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        step: adam::AdamStep,
    ) -> FloatTensor<Self>;

    /// `[B, heads, T, S]`: the attention weights of `scores` (same shape) times `scale`,
    /// with the keys where `pad` `[B, S]` is non-zero masked, and, if `causal`, the keys
    /// after each query position.
    fn attention_softmax(
        scores: FloatTensor<Self>,
        pad: FloatTensor<Self>,
        causal: bool,
        scale: f32,
    ) -> FloatTensor<Self>;
}

thread_local! {
    static COMPOSED: Cell<bool> = const { Cell::new(false) };
}

/// Whether tensors on `device` take the fused operations: on the CPU backend, unless the
/// calling thread is inside [`composed`].
pub fn supported(device: &Device) -> bool {
    !COMPOSED.with(Cell::get) && *device == Device::flex()
}

/// Runs `f` with the fused operations off on this thread, so that the models compose
/// them from tensor operations as on other devices (to compare the two).
pub fn composed<R>(f: impl FnOnce() -> R) -> R {
    /// Restores the thread's setting, also when `f` panics.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            COMPOSED.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(COMPOSED.with(|c| c.replace(true)));
    f()
}

/// [`FusedOps::smoothed_nll`] on tensors: `[N, 2]` rows of (smoothed loss, NLL). Target ids
/// travel as floats, exact below 2^24 (vocabularies are far smaller).
pub fn smoothed_nll(logits: Tensor<2>, targets: Tensor<1, Int>, epsilon: f32) -> Tensor<2> {
    let targets = targets.float();
    Tensor::from_dispatch(<Dispatch as FusedOps>::smoothed_nll(
        logits.into_dispatch(),
        targets.into_dispatch(),
        epsilon,
    ))
}

/// [`FusedOps::lstm_cell`] on tensors: the new hidden state `[B, H]` and cell state `[B, H]`.
pub fn lstm_cell(gates: Tensor<2>, c: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    let [b, h] = c.dims();
    let out: Tensor<2> = Tensor::from_dispatch(<Dispatch as FusedOps>::lstm_cell(
        gates.into_dispatch(),
        c.into_dispatch(),
    ));
    (out.clone().slice([0..b, 0..h]), out.slice([0..b, h..2 * h]))
}

/// [`FusedOps::lstm_layer`] on tensors (any dimension may be 0).
pub fn lstm_layer(xw: Tensor<3>, w: Tensor<2>) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::lstm_layer(xw.into_dispatch(), w.into_dispatch()))
}

/// The inputs of [`lstm_decoder`] besides the target embeddings.
#[derive(Clone, Debug)]
pub struct DecoderInputs {
    /// Gate weights `[E + 2H, 4H]` for the input [embedding, feed, h].
    pub gates: Tensor<2>,
    /// Gate bias `[4H]`.
    pub bias: Tensor<1>,
    /// Attention keys `[B, S, H]`.
    pub keys: Tensor<3>,
    /// Attention values `[B, S, H]`.
    pub values: Tensor<3>,
    /// True at padding positions `[B, S]`.
    pub pad: Tensor<2, Bool>,
    /// Initial hidden state `[B, H]`.
    pub init: Tensor<2>,
    /// Combine weights `[2H, H]`.
    pub combine: Tensor<2>,
    /// Dropout factors of the feeds `[B, T, H]`.
    pub drop: Tensor<3>,
}

/// [`FusedOps::lstm_decoder`] on tensors: the feeds `[B, T, H]`.
pub fn lstm_decoder(x: Tensor<3>, inputs: DecoderInputs) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::lstm_decoder(
        x.into_dispatch(),
        inputs.gates.into_dispatch(),
        inputs.bias.into_dispatch(),
        inputs.keys.into_dispatch(),
        inputs.values.into_dispatch(),
        inputs.init.into_dispatch(),
        inputs.combine.into_dispatch(),
        inputs.pad.float().into_dispatch(),
        inputs.drop.into_dispatch(),
    ))
}

/// [`FusedOps::multi_head_attention`] on tensors: `pad` `[B, S]` is true at padding keys.
#[allow(clippy::too_many_arguments)]
pub fn multi_head_attention(
    q: Tensor<3>,
    k: Tensor<3>,
    v: Tensor<3>,
    pad: Option<Tensor<2, Bool>>,
    drop: Tensor<4>,
    heads: usize,
    causal: bool,
    scale: f32,
) -> Tensor<3> {
    let [b, s, _] = k.dims();
    let pad = match pad {
        Some(p) => p.float(),
        None => Tensor::zeros([b, s], &k.device()),
    };
    Tensor::from_dispatch(<Dispatch as FusedOps>::multi_head_attention(
        q.into_dispatch(),
        k.into_dispatch(),
        v.into_dispatch(),
        pad.into_dispatch(),
        drop.into_dispatch(),
        heads,
        causal,
        scale,
    ))
}

/// [`FusedOps::layer_norm`] on tensors of any rank, over the last dimension.
pub fn layer_norm<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f32,
) -> Tensor<D> {
    let dims = x.dims();
    let d = dims[D - 1];
    let n = dims.iter().product::<usize>() / d.max(1);
    let rows: Tensor<2> = Tensor::from_dispatch(<Dispatch as FusedOps>::layer_norm(
        x.reshape([n, d]).into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
    ));
    rows.reshape(dims)
}

/// [`FusedOps::affine`] on tensors (no bias: a zero one).
pub fn affine(x: Tensor<2>, w: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<2> {
    let o = w.dims()[1];
    let bias = bias.unwrap_or_else(|| Tensor::zeros([o], &w.device()));
    Tensor::from_dispatch(<Dispatch as FusedOps>::affine(
        x.into_dispatch(),
        w.into_dispatch(),
        bias.into_dispatch(),
    ))
}

/// [`FusedOps::adam_step`] on tensors.
pub fn adam_step(
    p: Tensor<1>,
    g: Tensor<1>,
    m: Tensor<1>,
    v: Tensor<1>,
    step: adam::AdamStep,
) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::adam_step(
        p.into_dispatch(),
        g.into_dispatch(),
        m.into_dispatch(),
        v.into_dispatch(),
        step,
    ))
}

/// [`FusedOps::tanh`] on tensors.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::tanh(x.into_dispatch()))
}

/// [`FusedOps::gelu`] on tensors.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::gelu(x.into_dispatch()))
}

/// [`FusedOps::attention_softmax`] on tensors: `pad` `[B, S]` is true at padding keys.
pub fn attention_softmax(
    scores: Tensor<4>,
    pad: Option<Tensor<2, Bool>>,
    causal: bool,
    scale: f32,
) -> Tensor<4> {
    let [b, _, _, s] = scores.dims();
    let device = scores.device();
    let pad = match pad {
        Some(p) => p.float(),
        None => Tensor::zeros([b, s], &device),
    };
    Tensor::from_dispatch(<Dispatch as FusedOps>::attention_softmax(
        scores.into_dispatch(),
        pad.into_dispatch(),
        causal,
        scale,
    ))
}

/// A zero-filled buffer, filled by every thread (the fused operations' outputs are large,
/// and a zero fill by the calling thread alone is time the other threads wait).
fn zeros(len: usize) -> Vec<f32> {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 16;
    if len < CHUNK {
        return vec![0f32; len];
    }
    let mut v: Vec<f32> = Vec::with_capacity(len);
    v.spare_capacity_mut()[..len]
        .par_chunks_mut(CHUNK)
        .for_each(|c| c.fill(std::mem::MaybeUninit::new(0.0)));
    // SAFETY: all `len` elements were just written.
    unsafe { v.set_len(len) };
    v
}

/// The f32 values of `t` in row-major order (copied only when `t` is a strided view).
fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(v) => Cow::Borrowed(v),
        None => Cow::Owned(
            t.to_contiguous()
                .as_slice::<f32>()
                .expect("fused operations take f32 tensors")
                .to_vec(),
        ),
    }
}

fn dims(t: &FlexTensor) -> Vec<usize> {
    t.layout().shape().to_vec()
}

fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// `t`'s values in row-major order as the whole of its own storage (copied unless they
/// already are), to be changed in place.
fn owned_values(t: FlexTensor) -> FlexTensor {
    let whole = t.layout().contiguous_offsets() == Some((0, t.storage::<f32>().len()));
    if whole {
        t
    } else {
        tensor(values(&t).into_owned(), dims(&t))
    }
}

/// The loss rows, the softmax (written over the logits when no one else holds them) and
/// the target ids.
fn nll_forward(
    logits: FlexTensor,
    targets: &FlexTensor,
    epsilon: f32,
) -> (FlexTensor, FlexTensor, Vec<u32>) {
    let shape = dims(&logits);
    let (n, vocab) = (shape[0], shape[1]);
    let ids = values(targets);
    let valid = |t: f32| t >= 0.0 && t.fract() == 0.0 && (t as usize) < vocab;
    assert!(ids.len() == n && ids.iter().all(|&t| valid(t)), "target id out of range");
    let ids: Vec<u32> = ids.iter().map(|&t| t as u32).collect();
    let mut probs = owned_values(logits);
    let mut out = zeros(2 * n);
    // Copy-on-write: a shared storage is copied first.
    cross_entropy::forward(probs.storage_mut::<f32>(), &ids, vocab, epsilon, &mut out);
    (tensor(out, vec![n, 2]), probs, ids)
}

fn cell_forward(gates: &FlexTensor, c: &FlexTensor) -> FlexTensor {
    let shape = dims(c);
    let (b, h) = (shape[0], shape[1]);
    let mut out = zeros(b * 2 * h);
    lstm_cell::forward(&values(gates), &values(c), h, &mut out);
    tensor(out, vec![b, 2 * h])
}

fn layer_forward(xw: &FlexTensor, w: &FlexTensor) -> lstm_layer::Trace {
    let shape = dims(xw);
    let dims = [shape[0], shape[1], shape[2] / 4];
    lstm_layer::forward(&values(xw), w, dims)
}

fn layer_output(trace: &lstm_layer::Trace) -> FlexTensor {
    tensor(trace.hidden.clone(), trace.dims.to_vec())
}

/// The decoder's inputs as values: weights and memory.
struct DecoderValues<'a> {
    gates: Cow<'a, [f32]>,
    bias: Cow<'a, [f32]>,
    combine: Cow<'a, [f32]>,
    keys: Cow<'a, [f32]>,
    values: Cow<'a, [f32]>,
    pad: Cow<'a, [f32]>,
    init: Cow<'a, [f32]>,
    drop: Cow<'a, [f32]>,
}

impl DecoderValues<'_> {
    fn weights(&self) -> lstm_decoder::Weights<'_> {
        lstm_decoder::Weights { gates: &self.gates, bias: &self.bias, combine: &self.combine }
    }

    fn memory(&self) -> lstm_decoder::Memory<'_> {
        lstm_decoder::Memory {
            keys: &self.keys,
            values: &self.values,
            pad: &self.pad,
            init: &self.init,
            drop: &self.drop,
        }
    }
}

/// The decoder's inputs (all but `x`) in [`FusedOps::lstm_decoder`]'s order.
type DecoderTensors = [FlexTensor; 8];

fn decoder_values(t: &DecoderTensors) -> DecoderValues<'_> {
    let [gates, bias, keys, values, init, combine, pad, drop] = t;
    DecoderValues {
        gates: self::values(gates),
        bias: self::values(bias),
        combine: self::values(combine),
        keys: self::values(keys),
        values: self::values(values),
        pad: self::values(pad),
        init: self::values(init),
        drop: self::values(drop),
    }
}

fn decoder_dims(x: &FlexTensor, keys: &FlexTensor) -> lstm_decoder::Dims {
    let (xs, ks) = (dims(x), dims(keys));
    lstm_decoder::Dims { batch: xs[0], steps: xs[1], emb: xs[2], hidden: ks[2], src: ks[1] }
}

fn decoder_forward(x: &FlexTensor, inputs: &DecoderTensors) -> lstm_decoder::Trace {
    let v = decoder_values(inputs);
    lstm_decoder::forward(&values(x), v.weights(), v.memory(), decoder_dims(x, &inputs[2]))
}

fn decoder_output(trace: &lstm_decoder::Trace) -> FlexTensor {
    let d = trace.dims;
    tensor(trace.output.clone(), vec![d.batch, d.steps, d.hidden])
}

/// What the attention's backward step keeps: q, k, v, the padding mask and the dropout
/// factors (values), the weights and the shape.
type AttentionState = ([FlexTensor; 3], [Vec<f32>; 2], Vec<f32>, multi_head_attention::Shape);

/// The attention's shape, its weights and its output.
fn mha_forward(
    qkv: &[FlexTensor; 3],
    masks: &[Vec<f32>; 2],
    heads: usize,
    causal: bool,
    scale: f32,
) -> (multi_head_attention::Shape, Vec<f32>, FlexTensor) {
    let (qs, ks) = (dims(&qkv[0]), dims(&qkv[1]));
    let shape = multi_head_attention::Shape {
        batch: qs[0],
        queries: qs[1],
        keys: ks[1],
        model: qs[2],
        heads,
        causal,
        scale,
    };
    let (q, k, v) = (values(&qkv[0]), values(&qkv[1]), values(&qkv[2]));
    let inputs =
        multi_head_attention::Inputs { q: &q, k: &k, v: &v, pad: &masks[0], drop: &masks[1] };
    let (weights, context) = multi_head_attention::forward(inputs, shape);
    (shape, weights, tensor(context, qs))
}

/// The output, the normalized rows and the reciprocal standard deviations.
fn norm_forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f32,
) -> (FlexTensor, Vec<f32>, Vec<f32>) {
    let shape = dims(x);
    let n = shape[0];
    let d = shape[1];
    let (mut normed, mut rstd, mut out) = (zeros(n * d), zeros(n), zeros(n * d));
    let (gamma, beta) = (values(gamma), values(beta));
    layer_norm::forward(&values(x), &gamma, &beta, epsilon, &mut normed, &mut rstd, &mut out);
    (tensor(out, shape), normed, rstd)
}

/// A 2-D tensor as a matrix view (copied first if its strides are negative).
fn matrix(t: &FlexTensor) -> Cow<'_, FlexTensor> {
    if t.layout().strides().iter().all(|&s| s >= 0) {
        Cow::Borrowed(t)
    } else {
        Cow::Owned(t.to_contiguous())
    }
}

fn view(t: &FlexTensor) -> affine::View<'_> {
    let strides = t.layout().strides();
    let values: &[f32] = t.storage();
    affine::View {
        values: &values[t.layout().start_offset()..],
        row_stride: strides[0] as usize,
        col_stride: strides[1] as usize,
    }
}

fn affine_forward(x: &FlexTensor, w: &FlexTensor, bias: &FlexTensor) -> FlexTensor {
    let (n, d) = (dims(x)[0], dims(x)[1]);
    let o = dims(w)[1];
    let w = matrix(w);
    tensor(affine::forward(&values(x), view(&w), &values(bias), d, n), vec![n, o])
}

fn adam_forward(
    p: &FlexTensor,
    g: &FlexTensor,
    m: &FlexTensor,
    v: &FlexTensor,
    step: adam::AdamStep,
) -> FlexTensor {
    let p = values(p);
    let n = p.len();
    let mut out: Vec<f32> = Vec::with_capacity(3 * n);
    adam::update(
        &p,
        &values(g),
        &values(m),
        &values(v),
        step,
        &mut out.spare_capacity_mut()[..3 * n],
    );
    // SAFETY: `update` writes all 3·n elements.
    unsafe { out.set_len(3 * n) };
    tensor(out, vec![3, n])
}

fn tanh_forward(x: &FlexTensor) -> FlexTensor {
    let x_values = values(x);
    let mut out = zeros(x_values.len());
    elementwise::map(&x_values, &mut out, fast_math::tanh);
    tensor(out, dims(x))
}

fn gelu_forward(x: &FlexTensor) -> FlexTensor {
    let x_values = values(x);
    let mut out = zeros(x_values.len());
    gelu::forward(&x_values, &mut out);
    tensor(out, dims(x))
}

/// The shape `[B, heads, T, S]` of attention scores and the padding mask's values.
fn mask_parts(scores: &FlexTensor, pad: &FlexTensor) -> ([usize; 4], Vec<f32>) {
    let shape = dims(scores);
    let dims4 = [shape[0], shape[1], shape[2], shape[3]];
    let pad = values(pad).into_owned();
    assert_eq!(pad.len(), dims4[0] * dims4[3], "padding mask of the wrong size");
    (dims4, pad)
}

fn softmax_forward(
    scores: &FlexTensor,
    dims4: [usize; 4],
    pad: &[f32],
    causal: bool,
    scale: f32,
) -> FlexTensor {
    let mask = attention_softmax::Mask { pad: Some(pad), causal, dims: dims4 };
    let mut out = zeros(dims4.iter().product());
    attention_softmax::forward(&values(scores), mask, scale, &mut out);
    tensor(out, dims4.to_vec())
}

impl FusedOps for Flex {
    fn smoothed_nll(logits: FlexTensor, targets: FlexTensor, epsilon: f32) -> FlexTensor {
        nll_forward(logits, &targets, epsilon).0
    }

    fn lstm_cell(gates: FlexTensor, c: FlexTensor) -> FlexTensor {
        cell_forward(&gates, &c)
    }

    fn lstm_layer(xw: FlexTensor, w: FlexTensor) -> FlexTensor {
        layer_output(&layer_forward(&xw, &w))
    }

    fn lstm_decoder(
        x: FlexTensor,
        gates: FlexTensor,
        bias: FlexTensor,
        keys: FlexTensor,
        values: FlexTensor,
        init: FlexTensor,
        combine: FlexTensor,
        pad: FlexTensor,
        drop: FlexTensor,
    ) -> FlexTensor {
        let inputs = [gates, bias, keys, values, init, combine, pad, drop];
        decoder_output(&decoder_forward(&x, &inputs))
    }

    fn multi_head_attention(
        q: FlexTensor,
        k: FlexTensor,
        v: FlexTensor,
        pad: FlexTensor,
        drop: FlexTensor,
        heads: usize,
        causal: bool,
        scale: f32,
    ) -> FlexTensor {
        let masks = [values(&pad).into_owned(), values(&drop).into_owned()];
        mha_forward(&[q, k, v], &masks, heads, causal, scale).2
    }

    fn layer_norm(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, epsilon: f32) -> FlexTensor {
        norm_forward(&x, &gamma, &beta, epsilon).0
    }

    fn affine(x: FlexTensor, w: FlexTensor, bias: FlexTensor) -> FlexTensor {
        affine_forward(&x, &w, &bias)
    }

    fn gelu(x: FlexTensor) -> FlexTensor {
        gelu_forward(&x)
    }

    fn tanh(x: FlexTensor) -> FlexTensor {
        tanh_forward(&x)
    }

    fn adam_step(
        p: FlexTensor,
        g: FlexTensor,
        m: FlexTensor,
        v: FlexTensor,
        step: adam::AdamStep,
    ) -> FlexTensor {
        adam_forward(&p, &g, &m, &v, step)
    }

    fn attention_softmax(
        scores: FlexTensor,
        pad: FlexTensor,
        causal: bool,
        scale: f32,
    ) -> FlexTensor {
        let (dims4, pad) = mask_parts(&scores, &pad);
        softmax_forward(&scores, dims4, &pad, causal, scale)
    }
}

#[derive(Debug)]
struct LayerNormBackward;

impl Backward<Flex, 3> for LayerNormBackward {
    /// The normalized rows, the reciprocal standard deviations and γ.
    type State = (Vec<f32>, Vec<f32>, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (normed, rstd, gamma) = ops.state;
        let gamma_values = values(&gamma);
        let d = gamma_values.len();
        let (mut d_x, mut d_gamma, mut d_beta) = (zeros(normed.len()), zeros(d), zeros(d));
        let grad_values = values(&grad);
        layer_norm::backward(
            &normed,
            &rstd,
            &gamma_values,
            &grad_values,
            &mut d_x,
            &mut d_gamma,
            &mut d_beta,
        );
        let [x_node, gamma_node, beta_node] = ops.parents;
        if let Some(node) = x_node {
            grads.register::<Flex>(node.id, tensor(d_x, vec![rstd.len(), d]));
        }
        if let Some(node) = gamma_node {
            grads.register::<Flex>(node.id, tensor(d_gamma, vec![d]));
        }
        if let Some(node) = beta_node {
            grads.register::<Flex>(node.id, tensor(d_beta, vec![d]));
        }
    }
}

#[derive(Debug)]
struct AffineBackward;

impl Backward<Flex, 3> for AffineBackward {
    /// The input rows and the weights.
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, w) = ops.state;
        let (n, d) = (dims(&x)[0], dims(&x)[1]);
        let o = dims(&w)[1];
        let w = matrix(&w);
        let (d_x, d_w, d_b) = affine::backward(&values(&x), view(&w), &values(&grad), [n, d, o]);
        let [x_node, w_node, b_node] = ops.parents;
        if let Some(node) = x_node {
            grads.register::<Flex>(node.id, tensor(d_x, vec![n, d]));
        }
        if let Some(node) = w_node {
            grads.register::<Flex>(node.id, tensor(d_w, vec![d, o]));
        }
        if let Some(node) = b_node {
            grads.register::<Flex>(node.id, tensor(d_b, vec![o]));
        }
    }
}

#[derive(Debug)]
struct TanhBackward;

impl Backward<Flex, 1> for TanhBackward {
    /// The output.
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let [Some(parent)] = ops.parents else { return };
        let y = ops.state;
        let y_values = values(&y);
        let mut d_x = zeros(y_values.len());
        elementwise::zip_map(&y_values, &values(&grad), &mut d_x, |y, g| g * (1.0 - y * y));
        grads.register::<Flex>(parent.id, tensor(d_x, dims(&y)));
    }
}

#[derive(Debug)]
struct GeluBackward;

impl Backward<Flex, 1> for GeluBackward {
    /// The input.
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let [Some(parent)] = ops.parents else { return };
        let x = ops.state;
        let x_values = values(&x);
        let mut d_x = zeros(x_values.len());
        gelu::backward(&x_values, &values(&grad), &mut d_x);
        grads.register::<Flex>(parent.id, tensor(d_x, dims(&x)));
    }
}

#[derive(Debug)]
struct AttentionSoftmaxBackward;

impl Backward<Flex, 1> for AttentionSoftmaxBackward {
    /// The weights, the shape, the padding mask, `causal` and the scale.
    type State = (FlexTensor, [usize; 4], Vec<f32>, bool, f32);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let [Some(parent)] = ops.parents else { return };
        let (weights, dims4, pad, causal, scale) = ops.state;
        let mask = attention_softmax::Mask { pad: Some(&pad), causal, dims: dims4 };
        let mut d_scores = zeros(dims4.iter().product());
        attention_softmax::backward(&values(&weights), &values(&grad), mask, scale, &mut d_scores);
        grads.register::<Flex>(parent.id, tensor(d_scores, dims4.to_vec()));
    }
}

#[derive(Debug)]
struct LstmLayerBackward;

impl Backward<Flex, 2> for LstmLayerBackward {
    /// The forward trace and the recurrent weights.
    type State = (lstm_layer::Trace, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (trace, w) = ops.state;
        let (d_xw, d_w) = lstm_layer::backward(&trace, &w, &values(&grad));
        let [b, t, h] = trace.dims;
        let [xw_node, w_node] = ops.parents;
        if let Some(node) = xw_node {
            grads.register::<Flex>(node.id, tensor(d_xw, vec![b, t, 4 * h]));
        }
        if let Some(node) = w_node {
            grads.register::<Flex>(node.id, d_w);
        }
    }
}

#[derive(Debug)]
struct LstmDecoderBackward;

impl Backward<Flex, 7> for LstmDecoderBackward {
    /// The forward trace and the inputs besides `x`.
    type State = (lstm_decoder::Trace, DecoderTensors);

    fn backward(self, ops: Ops<Self::State, 7>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (trace, inputs) = ops.state;
        let v = decoder_values(&inputs);
        let g = lstm_decoder::backward(&trace, v.weights(), v.memory(), &values(&grad));
        let shapes: Vec<Vec<usize>> = inputs.iter().map(dims).collect();
        let d = trace.dims;
        let outs = [
            (g.x, vec![d.batch, d.steps, d.emb]),
            (g.gates, shapes[0].clone()),
            (g.bias, shapes[1].clone()),
            (g.keys, shapes[2].clone()),
            (g.values, shapes[3].clone()),
            (g.init, shapes[4].clone()),
            (g.combine, shapes[5].clone()),
        ];
        for (node, (value, shape)) in ops.parents.into_iter().zip(outs) {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, tensor(value, shape));
            }
        }
    }
}

#[derive(Debug)]
struct MultiHeadAttentionBackward;

impl Backward<Flex, 3> for MultiHeadAttentionBackward {
    type State = AttentionState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (qkv, [pad, drop], weights, shape) = ops.state;
        let (q, k, v) = (values(&qkv[0]), values(&qkv[1]), values(&qkv[2]));
        let inputs = multi_head_attention::Inputs { q: &q, k: &k, v: &v, pad: &pad, drop: &drop };
        let (d_q, d_k, d_v) =
            multi_head_attention::backward(inputs, shape, &weights, &values(&grad));
        for ((node, value), t) in ops.parents.into_iter().zip([d_q, d_k, d_v]).zip(&qkv) {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, tensor(value, dims(t)));
            }
        }
    }
}

#[derive(Debug)]
struct SmoothedNllBackward;

impl Backward<Flex, 1> for SmoothedNllBackward {
    /// The softmax, the target ids and ε.
    type State = (FlexTensor, Vec<u32>, f32);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let [Some(parent)] = ops.parents else { return };
        let (probs, ids, epsilon) = ops.state;
        let vocab = dims(&probs)[1];
        // The whole storage (as the forward step left it; copied if shared since).
        let mut probs = owned_values(probs);
        cross_entropy::backward(probs.storage_mut::<f32>(), &ids, vocab, epsilon, &values(&grad));
        grads.register::<Flex>(parent.id, probs);
    }
}

#[derive(Debug)]
struct LstmCellBackward;

impl Backward<Flex, 2> for LstmCellBackward {
    /// The gates, the previous cell state and the output.
    type State = (FlexTensor, FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (gates, c, out) = ops.state;
        let shape = dims(&c);
        let (b, h) = (shape[0], shape[1]);
        let mut d_gates = zeros(b * 4 * h);
        let mut d_c = zeros(b * h);
        lstm_cell::backward(
            &values(&gates),
            &values(&c),
            &values(&out),
            &values(&grad),
            h,
            &mut d_gates,
            &mut d_c,
        );
        let [gates_node, c_node] = ops.parents;
        if let Some(node) = gates_node {
            grads.register::<Flex>(node.id, tensor(d_gates, vec![b, 4 * h]));
        }
        if let Some(node) = c_node {
            grads.register::<Flex>(node.id, tensor(d_c, vec![b, h]));
        }
    }
}

impl<C: CheckpointStrategy> FusedOps for Autodiff<Flex, C> {
    fn smoothed_nll(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        epsilon: f32,
    ) -> FloatTensor<Self> {
        let targets = targets.into_primitive();
        let node = logits.node();
        let logits = logits.into_primitive();
        match SmoothedNllBackward.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (out, probs, ids) = nll_forward(logits, &targets, epsilon);
                prep.finish((probs, ids, epsilon), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(nll_forward(logits, &targets, epsilon).0),
        }
    }

    fn lstm_cell(gates: FloatTensor<Self>, c: FloatTensor<Self>) -> FloatTensor<Self> {
        match LstmCellBackward.prepare::<C>([gates.node(), c.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (g, cp) = (gates.primitive().clone(), c.primitive().clone());
                let out = cell_forward(&g, &cp);
                prep.finish((g, cp, out.clone()), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(cell_forward(gates.primitive(), c.primitive())),
        }
    }

    fn lstm_layer(xw: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        let trace = layer_forward(xw.primitive(), w.primitive());
        let out = layer_output(&trace);
        match LstmLayerBackward.prepare::<C>([xw.node(), w.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((trace, w.primitive().clone()), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn lstm_decoder(
        x: FloatTensor<Self>,
        gates: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        keys: FloatTensor<Self>,
        values: FloatTensor<Self>,
        init: FloatTensor<Self>,
        combine: FloatTensor<Self>,
        pad: FloatTensor<Self>,
        drop: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let parents =
            [x.node(), gates.node(), bias.node(), keys.node(), values.node(), init.node(), {
                combine.node()
            }];
        let inputs = [
            gates.primitive().clone(),
            bias.primitive().clone(),
            keys.primitive().clone(),
            values.primitive().clone(),
            init.primitive().clone(),
            combine.primitive().clone(),
            pad.into_primitive(),
            drop.into_primitive(),
        ];
        let trace = decoder_forward(x.primitive(), &inputs);
        let out = decoder_output(&trace);
        match LstmDecoderBackward.prepare::<C>(parents).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((trace, inputs), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn multi_head_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        pad: FloatTensor<Self>,
        drop: FloatTensor<Self>,
        heads: usize,
        causal: bool,
        scale: f32,
    ) -> FloatTensor<Self> {
        let parents = [q.node(), k.node(), v.node()];
        let qkv = [q.primitive().clone(), k.primitive().clone(), v.primitive().clone()];
        let (pad, drop) = (pad.into_primitive(), drop.into_primitive());
        let masks = [values(&pad).into_owned(), values(&drop).into_owned()];
        let (shape, weights, out) = mha_forward(&qkv, &masks, heads, causal, scale);
        match MultiHeadAttentionBackward.prepare::<C>(parents).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((qkv, masks, weights, shape), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f32,
    ) -> FloatTensor<Self> {
        let (out, normed, rstd) =
            norm_forward(x.primitive(), gamma.primitive(), beta.primitive(), epsilon);
        let parents = [x.node(), gamma.node(), beta.node()];
        match LayerNormBackward.prepare::<C>(parents).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((normed, rstd, gamma.primitive().clone()), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn affine(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let out = affine_forward(x.primitive(), w.primitive(), bias.primitive());
        let parents = [x.node(), w.node(), bias.node()];
        match AffineBackward.prepare::<C>(parents).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                prep.finish((x.primitive().clone(), w.primitive().clone()), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn adam_step(
        p: FloatTensor<Self>,
        g: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        step: adam::AdamStep,
    ) -> FloatTensor<Self> {
        let out = adam_forward(p.primitive(), g.primitive(), m.primitive(), v.primitive(), step);
        <Self as burn::backend::AutodiffBackend>::from_inner(out)
    }

    fn tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let out = tanh_forward(x.primitive());
        match TanhBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(out.clone(), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let out = gelu_forward(x.primitive());
        match GeluBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(x.primitive().clone(), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn attention_softmax(
        scores: FloatTensor<Self>,
        pad: FloatTensor<Self>,
        causal: bool,
        scale: f32,
    ) -> FloatTensor<Self> {
        let pad = pad.into_primitive();
        let (dims4, pad) = mask_parts(scores.primitive(), &pad);
        let out = softmax_forward(scores.primitive(), dims4, &pad, causal, scale);
        match AttentionSoftmaxBackward.prepare::<C>([scores.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((out.clone(), dims4, pad, causal, scale), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}
