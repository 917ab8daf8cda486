//! Neural machine translation for `mt`: an attentional LSTM encoder-decoder and a
//! Transformer, trained and decoded on the CPU (or on CUDA with the `cuda` feature).
//!
//! - [`bpe`]: the joint byte-level BPE vocabulary (`tokenizer.json`), [`normalize`] the
//!   Unicode normalization saved with the model.
//! - [`lstm`], [`transformer`]: the two architectures ([`transformer_layers`] the
//!   Transformer's layers), [`model`] the type over both; [`affine`] their linear maps.
//! - [`train`]: the training loop with [`loss`], [`clip`], [`schedule`], [`batch`] and
//!   [`adam`];
//!   [`checkpoint`] the model directory.
//! - [`search`]: greedy and beam search; [`average`] checkpoint averaging.
//! - [`fused`]: the cross-entropy, the LSTM cell, the encoder LSTM layer, the whole LSTM
//!   decoder, the affine map, layer normalization, GELU, the attention softmax, multi-head
//!   attention and the Adam update as single CPU operations with their own backward steps
//!   (a burn backend extension). [`in_pool`] runs work on the CPU thread pool.
//!
//! Why each dependency is here: `burn` (pinned at 0.22.1, its API changes between minor
//! versions) for tensors, automatic differentiation, layers and Adam, on its pure-Rust
//! `flex` CPU backend, and (its `store` and `safetensors` features) to write the weights
//! as safetensors and the resume checkpoint as burnpack, and (its `extension` feature) to
//! add the [`fused`] operations with their own backward steps; `tokenizers` (HF, without its
//! C-backed defaults) to learn and apply BPE and to read and write `tokenizer.json`;
//! `unicode-normalization` for NFC/NFKC; `rand` for the seeded batch order; `rayon` to
//! size the CPU thread pool and run the fused operations' parallel loops; `serde`/`serde_json` for the configuration and checkpoint
//! files; `thiserror` for [`error::NmtError`]; `tracing` for diagnostics; `gemm` (the
//! matrix product burn's CPU backend runs) called directly by the fused affine map, with
//! its AVX-512 kernels switched on.
#![deny(missing_docs)]

pub mod adam;
pub mod affine;
pub mod average;
pub mod batch;
pub mod bpe;
pub mod checkpoint;
pub mod clip;
pub mod config;
pub mod error;
pub mod fused;
pub mod loss;
pub mod lstm;
pub mod model;
pub mod normalize;
pub mod schedule;
pub mod score;
pub mod search;
pub mod train;
pub mod transformer;
pub mod transformer_layers;

pub use burn::prelude::Device;

/// The compute device: CUDA when built with `cuda` and `gpu` is true, else the CPU
/// (`flex` backend). `threads` sizes the CPU thread pool (once per process).
pub fn device(gpu: bool, threads: Option<usize>) -> Device {
    if threads.is_some() {
        build_pool(threads);
    }
    #[cfg(feature = "cuda")]
    if gpu {
        return Device::cuda(0);
    }
    let _ = gpu;
    Device::flex()
}

/// Builds the CPU thread pool with `threads` threads (rayon's default, one per core, when
/// `None`) and the main thread's stack size; the pool can be built only once per process,
/// and a later call keeps the first one.
fn build_pool(threads: Option<usize>) {
    let builder = rayon::ThreadPoolBuilder::new().stack_size(8 << 20);
    let _ = builder.num_threads(threads.map_or(0, |n| n.max(1))).build_global();
}

/// Runs `f` on a thread of the CPU thread pool, building it first as [`device`] does.
/// Called from outside the pool, every parallel operation hands its work to the pool's
/// threads and sleeps until they are done (two thread switches per operation, and
/// thousands of operations per training step); from inside, the calling thread works on
/// its share at once. Measured on the Transformer training step: +5% with 2 threads, +9%
/// with 1.
pub fn in_pool<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> R {
    build_pool(threads);
    rayon::scope(|_| f())
}
