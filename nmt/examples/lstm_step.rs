//! Training-step speed of the 8M-parameter attentional LSTM: embeddings 8000×256
//! on both sides, bi-LSTM encoder 256 per direction with a 512→256 projection, LSTM
//! decoder 256 with input feeding and dot attention, 512→256 tanh layer, 256→8000 output;
//! batch 64, 16 source and 16 target tokens, Adam. Prints target tokens per second.
//!
//! `cargo run --release -p nmt --example lstm_step -- THREADS [STEPS] [lstm|transformer|matmul]
//! [composed]` (`matmul`: the backend's 1024×1024×1024 product rate instead; `composed`:
//! without the fused cross-entropy and LSTM cell, as before they existed).

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::prelude::*;
use nmt::batch::{Batch, Pair};
use nmt::config::{Arch, AttentionKind, ModelConfig};
use nmt::loss::smoothed_cross_entropy;
use nmt::model::Seq2Seq;
use nmt::normalize::Normalization;

/// The allocator of the `mt` binary, so that the figures are those of `mt train`.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // As `mt` does: never give freed pages back to the OS (mimalloc option 15, purge_delay).
    // SAFETY: setting a mimalloc option has no precondition.
    unsafe { libmimalloc_sys::mi_option_set(15, -1) };
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    let steps: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let arch = match args.get(3).map(String::as_str) {
        Some("matmul") => return matmul_rate(threads),
        Some("transformer") => Arch::Transformer,
        _ => Arch::Lstm,
    };
    // On a thread of the pool, as `mt train` runs.
    if args.get(4).map(String::as_str) == Some("composed") {
        println!("composed operations");
        nmt::in_pool(Some(threads), || nmt::fused::composed(|| step_speed(threads, steps, arch)));
    } else {
        nmt::in_pool(Some(threads), || step_speed(threads, steps, arch));
    }
}

/// Times `steps` training steps after two warm-up steps and prints the rate.
fn step_speed(threads: usize, steps: usize, arch: Arch) {
    let device = nmt::device(false, Some(threads)).autodiff();
    device.seed(1);
    let (emb, hidden, layers) = match arch {
        Arch::Lstm => (256, 256, 1),
        Arch::Transformer => (256, 1024, 3),
    };
    let cfg = ModelConfig {
        arch,
        vocab_size: 8000,
        emb_size: emb,
        hidden_size: hidden,
        layers,
        heads: 4,
        dropout: 0.0,
        attention: AttentionKind::Dot,
        tied_embeddings: false,
        normalization: Normalization::None,
        max_positions: 100,
    };
    let mut model = Seq2Seq::new(&cfg, &device);
    let mut optim = nmt::adam::FusedAdam::new(0.9, 0.999, 1e-5).init();
    println!("params {}", model.num_params());
    let mut x: u64 = 12345;
    let mut rand_id = || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        3 + ((x >> 33) % 7997) as u32
    };
    // 15 target tokens + EOS = 16 output tokens per row.
    let pairs: Vec<Pair> = (0..64)
        .map(|_| Pair {
            src: (0..16).map(|_| rand_id()).collect(),
            tgt: (0..15).map(|_| rand_id()).collect(),
        })
        .collect();
    let idx: Vec<usize> = (0..64).collect();
    // Wall seconds of the forward pass, the backward pass and the optimizer step.
    let mut phases = [0f64; 3];
    let mut run = |n: usize, phases: &mut [f64; 3]| {
        let mut tokens = 0;
        for _ in 0..n {
            let t0 = Instant::now();
            let batch = Batch::new(&pairs, &idx, &device);
            let mem = model.encode(&batch.src, &device);
            let logits = model.forward(&mem, batch.tgt_in);
            let out = smoothed_cross_entropy(logits, batch.tgt_out, batch.mask, batch.tokens, 0.0);
            let t1 = Instant::now();
            let grads = GradientsParams::from_grads(out.loss.backward(), &model);
            let t2 = Instant::now();
            model = optim.step(1e-3, model.clone(), grads);
            tokens += batch.tokens;
            let t3 = Instant::now();
            for (p, (a, b)) in phases.iter_mut().zip([(t0, t1), (t1, t2), (t2, t3)]) {
                *p += (b - a).as_secs_f64();
            }
        }
        let _: f32 = model.num_params() as f32;
        tokens
    };
    run(3, &mut [0.0; 3]);
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    let tokens = run(steps, &mut phases);
    device.sync().ok();
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let share = |p: f64| 100.0 * p / secs;
    println!(
        "forward {:.0}%, backward {:.0}%, optimizer {:.0}% of the wall time",
        share(phases[0]),
        share(phases[1]),
        share(phases[2])
    );
    println!(
        "threads {threads} target tokens/s {:.0} (per CPU second {:.0})",
        tokens as f64 / secs,
        tokens as f64 / cpu
    );
}

/// User + system CPU seconds of this process (Linux `/proc/self/stat`, 100 ticks/s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// GFLOP per CPU second of burn's 1024×1024 by 1024×1024 product.
fn matmul_rate(threads: usize) {
    let device = nmt::device(false, Some(threads));
    let a = Tensor::<2>::ones([1024, 1024], &device);
    let b = Tensor::<2>::ones([1024, 1024], &device);
    for _ in 0..3 {
        let _: f32 = a.clone().matmul(b.clone()).slice([0..1, 0..1]).into_scalar();
    }
    let n = 20;
    let cpu0 = cpu_seconds();
    for _ in 0..n {
        let _: f32 = a.clone().matmul(b.clone()).slice([0..1, 0..1]).into_scalar();
    }
    let gflop = n as f64 * 2.0 * 1024f64.powi(3) / 1e9;
    println!("burn matmul 1024^3 GFLOP per CPU second {:.1}", gflop / (cpu_seconds() - cpu0));
}
