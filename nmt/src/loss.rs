//! Label-smoothed cross-entropy (Szegedy et al., 2016) over non-padding target tokens.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// The training loss and the plain negative log-likelihood it contains.
pub struct LossOutput {
    /// Mean smoothed loss per real token (the value that is minimized).
    pub loss: Tensor<1>,
    /// Sum of the plain negative log-likelihood over real tokens.
    pub nll_sum: Tensor<1>,
}

/// `(1-ε)·(−log p(y)) + ε·mean_v(−log p(v))`, averaged over the tokens whose `mask` is 1.
/// `logits` `[B, T, V]`, `targets` `[B, T]`, `mask` `[B, T]` (0 at padding), `tokens` the
/// number of real tokens.
pub fn smoothed_cross_entropy(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    mask: Tensor<2>,
    tokens: usize,
    epsilon: f64,
) -> LossOutput {
    let [b, t, v] = logits.dims();
    let mask = mask.reshape([b * t]);
    let denom = tokens.max(1) as f64;
    if crate::fused::supported(&logits.device()) {
        let n = b * t;
        let rows = crate::fused::smoothed_nll(
            logits.reshape([n, v]),
            targets.reshape([n]),
            epsilon as f32,
        );
        let per_token = rows.clone().slice([0..n, 0..1]).reshape([n]);
        let nll = rows.slice([0..n, 1..2]).reshape([n]);
        return LossOutput {
            loss: (per_token * mask.clone()).sum() / denom,
            nll_sum: (nll * mask).sum(),
        };
    }
    composed(logits, targets, mask, denom, epsilon)
}

/// The same loss from tensor operations (for devices without the fused operation).
fn composed(
    logits: Tensor<3>,
    targets: Tensor<2, Int>,
    mask: Tensor<1>,
    denom: f64,
    epsilon: f64,
) -> LossOutput {
    let [b, t, v] = logits.dims();
    let logp = log_softmax(logits.reshape([b * t, v]), 1);
    let nll = -logp.clone().gather(1, targets.reshape([b * t, 1])).reshape([b * t]);
    let smooth = -logp.mean_dim(1).reshape([b * t]);
    let per_token = nll.clone() * (1.0 - epsilon) + smooth * epsilon;
    LossOutput { loss: (per_token * mask.clone()).sum() / denom, nll_sum: (nll * mask).sum() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_is_ignored_and_uniform_logits_cost_log_v() {
        let device = Device::flex();
        let logits = Tensor::<3>::zeros([1, 3, 4], &device);
        let targets = Tensor::<2, Int>::from_data([[1i64, 2, 0]], &device);
        let mask = Tensor::<2>::from_data([[1.0f32, 1.0, 0.0]], &device);
        let out = smoothed_cross_entropy(logits, targets, mask, 2, 0.1);
        let loss: f32 = out.loss.into_scalar();
        let nll: f32 = out.nll_sum.into_scalar();
        assert!((loss - 4f32.ln()).abs() < 1e-5);
        assert!((nll - 2.0 * 4f32.ln()).abs() < 1e-5);
    }
}
