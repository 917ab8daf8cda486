//! Gradient clipping by global norm (Pascanu, Mikolov & Bengio, 2013): when the norm of
//! all gradients taken together exceeds the threshold, every gradient is scaled by
//! `threshold / norm`.

use burn::module::{ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    sum: f64,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s: f32 = g.powi_scalar(2).sum().into_scalar();
            self.sum += f64::from(s);
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, g * self.factor);
        }
    }
}

/// The global L2 norm of the gradients of `module`'s parameters.
pub fn global_norm<M: Module>(module: &M, grads: &GradientsParams) -> f64 {
    let mut v = SquaredNorm { grads, sum: 0.0 };
    module.visit(&mut v);
    v.sum.sqrt()
}

/// Rescales `grads` so that their global norm is at most `threshold`; returns the norm
/// before clipping.
pub fn clip_global_norm<M: Module>(module: &M, grads: &mut GradientsParams, threshold: f64) -> f64 {
    let norm = global_norm(module, grads);
    if threshold > 0.0 && norm > threshold {
        let mut v = Scale { grads, factor: threshold / norm };
        module.visit(&mut v);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;

    #[test]
    fn clipping_bounds_the_global_norm() {
        let device = Device::flex().autodiff();
        device.seed(5);
        let layer = LinearConfig::new(4, 3).init(&device);
        let x = Tensor::<2>::ones([2, 4], &device) * 10.0;
        let loss = layer.forward(x).powi_scalar(2).sum();
        let mut grads = GradientsParams::from_grads(loss.backward(), &layer);
        let before = clip_global_norm(&layer, &mut grads, 0.5);
        assert!(before > 0.5, "the test needs a large gradient, got {before}");
        let after = global_norm(&layer, &grads);
        assert!((after - 0.5).abs() < 1e-4, "norm after clipping {after}");
        // Below the threshold nothing changes.
        let again = clip_global_norm(&layer, &mut grads, 10.0);
        assert!((again - after).abs() < 1e-9);
        assert!((global_norm(&layer, &grads) - after).abs() < 1e-6);
    }
}
