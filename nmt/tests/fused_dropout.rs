//! The fused operations with dropout against the composed ones, with the dropout factors
//! drawn from the same seed on both paths. A test binary of its own with one test: burn's
//! random generator is shared by the whole process, so a test drawing from it at the same
//! time would change the factors of one path only.

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use nmt::batch::{Batch, Pair};
use nmt::config::{Arch, AttentionKind, ModelConfig};
use nmt::fused::composed;
use nmt::loss::smoothed_cross_entropy;
use nmt::model::Seq2Seq;
use nmt::normalize::Normalization;

/// Every parameter gradient of a model, flattened, in visiting order.
struct Collect<'a> {
    grads: &'a burn::tensor::Gradients,
    out: Vec<Vec<f32>>,
}

impl ModuleVisitor for Collect<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let g = param.val().grad(self.grads).expect("every parameter has a gradient");
        self.out.push(g.into_data().try_into_vec::<f32>().unwrap());
    }
}

type Run = (f32, Vec<Vec<f32>>);

/// The loss and every parameter gradient of a batch of `n` pairs, from seed `seed`.
fn run(model: &Seq2Seq, n: u32, seed: u64, device: &Device) -> Run {
    device.seed(seed);
    let pairs: Vec<Pair> = (0..n)
        .map(|i| Pair {
            src: (0..3 + i % 9).map(|j| 3 + (i * 7 + j * 3) % 20).collect(),
            tgt: (0..2 + (i * 2) % 5).map(|j| 3 + (i * 5 + j * 11) % 20).collect(),
        })
        .collect();
    let idx: Vec<usize> = (0..pairs.len()).collect();
    let batch = Batch::new(&pairs, &idx, device);
    let mem = model.encode(&batch.src, device);
    let logits = model.forward(&mem, batch.tgt_in);
    let out = smoothed_cross_entropy(logits, batch.tgt_out, batch.mask, batch.tokens, 0.1);
    let loss: f32 = out.loss.clone().into_scalar();
    let grads = out.loss.backward();
    let mut collect = Collect { grads: &grads, out: Vec::new() };
    model.visit(&mut collect);
    (loss, collect.out)
}

fn assert_close(what: &str, (loss, grads): Run, (loss_c, grads_c): Run) {
    assert!((loss - loss_c).abs() < 1e-5 * loss_c.abs(), "{what}: {loss} vs {loss_c}");
    assert_eq!(grads.len(), grads_c.len());
    for (g, gc) in grads.iter().zip(&grads_c) {
        let scale = gc.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-3);
        for (a, b) in g.iter().zip(gc) {
            assert!((a - b).abs() < 2e-5 * scale, "{what}: gradient {a} vs {b}");
        }
    }
}

fn model(arch: Arch, device: &Device) -> Seq2Seq {
    let cfg = ModelConfig {
        arch,
        vocab_size: 23,
        emb_size: 8,
        hidden_size: 12,
        layers: 1,
        heads: 2,
        dropout: 0.3,
        attention: AttentionKind::Dot,
        tied_embeddings: false,
        normalization: Normalization::None,
        max_positions: 50,
    };
    Seq2Seq::new(&cfg, device)
}

#[test]
fn fused_operations_with_dropout_give_the_composed_loss_and_gradients() {
    let device = Device::flex().autodiff();
    // The LSTM decoder over 70 sentences: three parallel tasks, the last one of 6 rows.
    let lstm = model(Arch::Lstm, &device);
    let fused = run(&lstm, 70, 7, &device);
    let plain = composed(|| run(&lstm, 70, 7, &device));
    assert_close("lstm", fused, plain);
    // The Transformer's attention (padded sources, the causal mask, dropout of the weights,
    // of the residuals and of the feed-forward layer).
    let transformer = model(Arch::Transformer, &device);
    let fused = run(&transformer, 12, 11, &device);
    let plain = composed(|| run(&transformer, 12, 11, &device));
    assert_close("transformer", fused, plain);
    // The factors are not all ones: another seed gives another loss.
    let other = run(&transformer, 12, 12, &device);
    let again = run(&transformer, 12, 11, &device);
    assert!((other.0 - again.0).abs() > 1e-4, "dropout is off: {} vs {}", other.0, again.0);
}
