//! The fused operations against the composed ones (`nmt::fused::composed`): the same loss,
//! NLL and every parameter gradient, on both architectures, with and without dropout. A
//! test binary of its own: burn's random generator is shared by the whole process, so a
//! test drawing from it at the same time would change one path's dropout factors only.

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

/// Loss, NLL and every parameter gradient of one batch.
type Run = (f32, f32, Vec<Vec<f32>>);

/// [`Run`] of a batch of `n` pairs, the random generator seeded with `seed`.
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
    let nll: f32 = out.nll_sum.into_scalar();
    let loss: f32 = out.loss.clone().into_scalar();
    let grads = out.loss.backward();
    let mut collect = Collect { grads: &grads, out: Vec::new() };
    model.visit(&mut collect);
    (loss, nll, collect.out)
}

/// The fused and the composed run of one batch agree within 2e-5.
fn assert_paths_agree(what: &str, model: &Seq2Seq, n: u32, seed: u64, device: &Device) {
    let (loss, nll, grads) = run(model, n, seed, device);
    let (loss_c, nll_c, grads_c) = composed(|| run(model, n, seed, device));
    assert!((loss - loss_c).abs() < 1e-5 * loss_c.abs(), "{what}: {loss} vs {loss_c}");
    assert!((nll - nll_c).abs() < 1e-5 * nll_c.abs(), "{what}: {nll} vs {nll_c}");
    assert_eq!(grads.len(), grads_c.len());
    for (g, gc) in grads.iter().zip(&grads_c) {
        let scale = gc.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-3);
        for (a, b) in g.iter().zip(gc) {
            assert!((a - b).abs() < 2e-5 * scale, "{what}: gradient {a} vs {b}");
        }
    }
}

fn model(arch: Arch, attention: AttentionKind, dropout: f64, device: &Device) -> Seq2Seq {
    let cfg = ModelConfig {
        arch,
        vocab_size: 23,
        emb_size: 8,
        hidden_size: 12,
        layers: 1,
        heads: 2,
        dropout,
        attention,
        tied_embeddings: false,
        normalization: Normalization::None,
        max_positions: 50,
    };
    Seq2Seq::new(&cfg, device)
}

#[test]
fn fused_operations_give_the_composed_loss_and_gradients() {
    let device = Device::flex().autodiff();
    let cases = [
        (Arch::Lstm, AttentionKind::Dot),
        (Arch::Lstm, AttentionKind::General),
        (Arch::Lstm, AttentionKind::Bahdanau),
        (Arch::Transformer, AttentionKind::Dot),
    ];
    for (arch, attention) in cases {
        let m = model(arch, attention, 0.0, &device);
        assert_paths_agree(&format!("{arch:?} {attention:?}"), &m, 5, 1, &device);
    }
    // The LSTM decoder over 70 sentences, with dropout: three parallel tasks, the last one
    // of 6 rows.
    let lstm = model(Arch::Lstm, AttentionKind::Dot, 0.3, &device);
    assert_paths_agree("lstm, dropout", &lstm, 70, 7, &device);
    // The Transformer's attention with dropout of the weights, the residuals and the
    // feed-forward layer; padded sources and the causal mask.
    let transformer = model(Arch::Transformer, AttentionKind::Dot, 0.3, &device);
    assert_paths_agree("transformer, dropout", &transformer, 12, 11, &device);
    // The dropout factors are not all ones: another seed gives another loss.
    let (other, _, _) = run(&transformer, 12, 12, &device);
    let (again, _, _) = run(&transformer, 12, 11, &device);
    assert!((other - again).abs() > 1e-4, "dropout is off: {other} vs {again}");
}
