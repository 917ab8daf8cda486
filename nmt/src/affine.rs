//! Affine maps of `[B, T, D]` activations run as one `[B·T, D]` matrix product.
//!
//! burn's `Linear` keeps a 3-D input batched when `T` is a multiple of its row tile, so
//! the weight is packed again for every sentence, and the gradient of a broadcast
//! `[B, T, D] @ [1, D, O]` product is a `[B, D, O]` tensor summed afterwards (a copy of the
//! weight per sentence). Folding the batch into the rows gives one product forward and
//! one per gradient; on the CPU backend they are the fused
//! [`crate::fused::affine`](fn@crate::fused::affine).

use burn::nn::Linear;
use burn::prelude::*;

/// `x W + b` for `x` `[B, T, D]`, `w` `[D, O]` and `bias` `[O]`: `[B, T, O]` (on the CPU
/// backend the fused [`crate::fused::affine`](fn@crate::fused::affine)).
pub fn affine(x: Tensor<3>, w: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let o = w.dims()[1];
    if crate::fused::supported(&x.device()) {
        return crate::fused::affine(x.reshape([b * t, d]), w, bias).reshape([b, t, o]);
    }
    let mut y = x.reshape([b * t, d]).matmul(w);
    if let Some(bias) = bias {
        y = y + bias.unsqueeze_dim(0);
    }
    y.reshape([b, t, o])
}

/// `x W + b` for rows `x` `[N, D]` (on the CPU backend the fused
/// [`crate::fused::affine`](fn@crate::fused::affine)).
pub fn affine_rows(x: Tensor<2>, w: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<2> {
    if crate::fused::supported(&x.device()) {
        return crate::fused::affine(x, w, bias);
    }
    let y = x.matmul(w);
    match bias {
        Some(bias) => y + bias.unsqueeze_dim(0),
        None => y,
    }
}

/// `linear` applied to rows `x` `[N, D]`.
pub fn linear_rows(linear: &Linear, x: Tensor<2>) -> Tensor<2> {
    affine_rows(x, linear.weight.val(), linear.bias.as_ref().map(|b| b.val()))
}

/// `linear` applied to `x` `[B, T, D]` as one product (see the module documentation).
pub fn linear(linear: &Linear, x: Tensor<3>) -> Tensor<3> {
    affine(x, linear.weight.val(), linear.bias.as_ref().map(|b| b.val()))
}

#[cfg(test)]
mod tests {
    use burn::nn::LinearConfig;

    use super::*;

    #[test]
    fn equals_burns_linear() {
        let device = Device::flex();
        let layer = LinearConfig::new(5, 3).init(&device);
        let x = Tensor::<3>::random([4, 16, 5], burn::tensor::Distribution::Default, &device);
        let ours = linear(&layer, x.clone()).into_data().try_to_vec::<f32>().unwrap();
        let theirs = layer.forward(x).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(ours.len(), 4 * 16 * 3);
        for (a, b) in ours.iter().zip(&theirs) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
}
