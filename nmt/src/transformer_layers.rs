//! The pre-norm Transformer layers (Vaswani et al., 2017; Wang et al., 2019) run on burn's
//! layer parameters but with our own forward pass: every linear map is one `[B·T, D]`
//! product ([`crate::affine`]), and on the CPU backend layer normalization, GELU and the
//! attention weights are the fused operations of [`crate::fused`]. Elsewhere (or inside
//! [`fused::composed`]) the same layers take burn's composed operations, so the two paths
//! can be compared. Dropout sits where burn's layers put it.

use burn::nn::activation::Activation;
use burn::nn::attention::{generate_autoregressive_mask, MultiHeadAttention};
use burn::nn::transformer::{
    PositionWiseFeedForward, TransformerDecoderLayer, TransformerEncoderLayer,
};
use burn::nn::{LayerNorm, Linear};
use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::affine;
use crate::fused;

/// The ε of burn's layer normalization, with which the models are built (burn keeps the
/// field private).
pub const LAYER_NORM_EPSILON: f32 = 1e-5;

/// `norm` applied to the last dimension of `x`.
pub fn norm(norm: &LayerNorm, x: Tensor<3>) -> Tensor<3> {
    match &norm.beta {
        Some(beta) if fused::supported(&x.device()) => {
            fused::layer_norm(x, norm.gamma.val(), beta.val(), LAYER_NORM_EPSILON)
        }
        _ => norm.forward(x),
    }
}

/// The position-wise feed-forward sub-layer.
pub fn feed_forward(ff: &PositionWiseFeedForward, x: Tensor<3>) -> Tensor<3> {
    let h = affine::linear(&ff.linear_inner, x);
    let h = match &ff.activation {
        Activation::Gelu(g) if !g.approximate && fused::supported(&h.device()) => fused::gelu(h),
        activation => activation.forward(h),
    };
    affine::linear(&ff.linear_outer, ff.dropout.forward(h))
}

/// `x` `[B, T, D]` through `linear`, split into heads `[B, heads, T, d_k]` (as burn's
/// multi-head attention does).
pub fn heads(mha: &MultiHeadAttention, linear: &Linear, x: Tensor<3>) -> Tensor<4> {
    let [b, t, _] = x.dims();
    affine::linear(linear, x).reshape([b, t, mha.n_heads, mha.d_k]).swap_dims(1, 2)
}

/// Multi-head attention of `query` `[B, T, D]` over `keys` `[B, S, D]` (also the values),
/// with the padding keys `pad` `[B, S]` masked and, if `causal`, every key after the query's
/// position: the context `[B, T, D]` after the output map, and the weights
/// `[B, heads, T, S]`.
pub fn attention(
    mha: &MultiHeadAttention,
    query: Tensor<3>,
    keys: Tensor<3>,
    pad: Option<Tensor<2, Bool>>,
    causal: bool,
) -> (Tensor<3>, Tensor<4>) {
    let q = heads(mha, &mha.query, query);
    let k = heads(mha, &mha.key, keys.clone());
    let v = heads(mha, &mha.value, keys);
    attend(mha, q, k, v, pad, causal)
}

/// The context `[B, T, D]` of [`attention`] after the output map, without the weights:
/// on the CPU backend one fused operation over the heads.
pub fn attention_context(
    mha: &MultiHeadAttention,
    query: Tensor<3>,
    keys: Tensor<3>,
    pad: Option<Tensor<2, Bool>>,
    causal: bool,
) -> Tensor<3> {
    let device = query.device();
    if !fused::supported(&device) || mha.quiet_softmax {
        return attention(mha, query, keys, pad, causal).0;
    }
    let [b, t, _] = query.dims();
    let s = keys.dims()[1];
    let q = affine::linear(&mha.query, query);
    let k = affine::linear(&mha.key, keys.clone());
    let v = affine::linear(&mha.value, keys);
    // The dropout factors of the weights (ones when dropout is off).
    let drop = mha.dropout.forward(Tensor::<4>::ones([b, mha.n_heads, t, s], &device));
    let scale = 1.0 / (mha.d_k as f32).sqrt();
    let context = fused::multi_head_attention(q, k, v, pad, drop, mha.n_heads, causal, scale);
    affine::linear(&mha.output, context)
}

/// The attention of queries `q` `[B, heads, T, d_k]` over keys `k` and values `v`
/// `[B, heads, S, d_k]` already split into heads (decoding keeps them cached), masked as in
/// [`attention`]: the context `[B, T, D]` after the output map, and the weights.
pub fn attend(
    mha: &MultiHeadAttention,
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    pad: Option<Tensor<2, Bool>>,
    causal: bool,
) -> (Tensor<3>, Tensor<4>) {
    debug_assert!(!mha.quiet_softmax, "the models use the plain softmax");
    let [b, _, t, _] = q.dims();
    let s = k.dims()[2];
    let scale = 1.0 / (mha.d_k as f32).sqrt();
    let scores = q.matmul(k.transpose());
    let device = scores.device();
    let weights = if fused::supported(&device) {
        fused::attention_softmax(scores, pad, causal, scale)
    } else {
        let mut scores = scores.mul_scalar(scale);
        if let Some(pad) = pad {
            scores = scores.mask_fill(pad.reshape([b, 1, 1, s]), mha.min_float);
        }
        if causal {
            let future = generate_autoregressive_mask(b, t, &device).reshape([b, 1, t, s]);
            scores = scores.mask_fill(future, mha.min_float);
        }
        softmax(scores, 3)
    };
    let context = mha.dropout.forward(weights.clone()).matmul(v).swap_dims(1, 2);
    (affine::linear(&mha.output, context.reshape([b, t, mha.d_model])), weights)
}

/// One pre-norm encoder layer over `x` `[B, S, D]` with padding `pad` `[B, S]`.
pub fn encoder_layer(
    layer: &TransformerEncoderLayer,
    x: Tensor<3>,
    pad: &Tensor<2, Bool>,
) -> Tensor<3> {
    debug_assert!(layer.norm_first, "the model is pre-norm");
    let h = norm(&layer.norm_2, x.clone());
    let context = attention_context(&layer.mha, h.clone(), h, Some(pad.clone()), false);
    let x = x + layer.dropout.forward(context);
    let h = norm(&layer.norm_1, x.clone());
    x + layer.dropout.forward(feed_forward(&layer.pwff, h))
}

/// One pre-norm decoder layer over `x` `[B, T, D]`, attending to the encoder states
/// `memory` `[B, S, D]` with padding `pad`: the output and, if `want_weights`, the
/// cross-attention weights `[B, heads, T, S]`.
pub fn decoder_layer(
    layer: &TransformerDecoderLayer,
    x: Tensor<3>,
    memory: &Tensor<3>,
    pad: &Tensor<2, Bool>,
    want_weights: bool,
) -> (Tensor<3>, Option<Tensor<4>>) {
    debug_assert!(layer.norm_first, "the model is pre-norm");
    let h = norm(&layer.norm_3, x.clone());
    let context = attention_context(&layer.self_attn, h.clone(), h, None, true);
    let x = x + layer.dropout.forward(context);
    let h = norm(&layer.norm_1, x.clone());
    let (mha, pad) = (&layer.cross_attn, Some(pad.clone()));
    let (context, weights) = if want_weights {
        let (context, weights) = attention(mha, h, memory.clone(), pad, false);
        (context, Some(weights))
    } else {
        (attention_context(mha, h, memory.clone(), pad, false), None)
    };
    let x = x + layer.dropout.forward(context);
    let h = norm(&layer.norm_2, x.clone());
    (x + layer.dropout.forward(feed_forward(&layer.pwff, h)), weights)
}
