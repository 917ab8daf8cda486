//! Adam (Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization") as burn computes
//! it and with burn's state record (so that `optim.bpk` files of either load in the other),
//! but on the CPU backend one fused, parallel pass per parameter ([`crate::fused::adam`]).
//! Elsewhere it is burn's Adam.

use burn::optim::{
    Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::prelude::*;

use crate::fused;
use crate::fused::adam::AdamStep;

/// Adam without weight decay or AMSGrad (what training uses).
#[derive(Clone)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    composed: Adam,
}

impl FusedAdam {
    /// Adam with moment decays `beta_1`, `beta_2` and `epsilon` added to √v.
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32) -> Self {
        let config =
            AdamConfig::new().with_beta_1(beta_1).with_beta_2(beta_2).with_epsilon(epsilon);
        FusedAdam { beta_1, beta_2, epsilon, composed: config.build() }
    }

    /// The optimizer of a whole module.
    pub fn init(self) -> ModuleOptimizer {
        ModuleOptimizer::from(self)
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if !fused::supported(&tensor.device()) {
            return self.composed.step(lr, tensor, grad, state);
        }
        let dims = tensor.dims();
        let n = dims.iter().product::<usize>();
        let (time, m, v) = match state {
            Some(s) => (s.momentum.time + 1, s.momentum.moment_1, s.momentum.moment_2),
            // Ignored at the first update.
            None => (1, grad.clone(), grad.clone()),
        };
        let step = AdamStep {
            lr: lr as f32,
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            time: i32::try_from(time).unwrap_or(i32::MAX),
        };
        let flat = |t: Tensor<D>| t.reshape([n]);
        let packed = fused::adam_step(flat(tensor), flat(grad), flat(m), flat(v), step);
        let part = |i: usize| packed.clone().slice([i..i + 1, 0..n]).reshape(dims);
        let state = AdamState::new(AdaptiveMomentumState::new(time, part(1), part(2)));
        (part(0), Some(state))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::optim::GradientsParams;

    use super::*;

    /// A one-parameter module.
    #[derive(Module, Debug)]
    struct Weights {
        w: Param<Tensor<2>>,
    }

    #[test]
    fn updates_equal_burns_adam() {
        let device = Device::flex().autodiff();
        let init = Tensor::<2>::from_data([[0.5f32, -1.0, 2.0], [0.1, 0.7, -0.3]], &device);
        let mut ours = Weights { w: Param::from_tensor(init.clone()) };
        let mut theirs = ours.clone();
        let mut opt_ours = FusedAdam::new(0.9, 0.98, 1e-9).init();
        let mut opt_theirs = AdamConfig::new().with_beta_2(0.98).with_epsilon(1e-9).init();
        for step in 0..4 {
            let loss = |m: &Weights| (m.w.val() * m.w.val()).sum() * (step as f32 + 1.0);
            let g_ours = GradientsParams::from_grads(loss(&ours).backward(), &ours);
            let g_theirs = GradientsParams::from_grads(loss(&theirs).backward(), &theirs);
            ours = opt_ours.step(1e-2, ours, g_ours);
            theirs = opt_theirs.step(1e-2, theirs, g_theirs);
        }
        let a = ours.w.val().into_data().try_to_vec::<f32>().unwrap();
        let b = theirs.w.val().into_data().try_to_vec::<f32>().unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-6, "{x} vs {y}");
        }
        assert!(a.iter().zip(init.into_data().try_to_vec::<f32>().unwrap()).all(|(x, y)| *x != y));
    }
}
