//! Statistical machine translation models for `mt`.
//!
//! The crate holds the classical half of the toolkit, one module per stage:
//!
//! - [`vocab`]: interning of words as dense `u32` ids, shared by every model.
//! - [`align`]: word alignment trained with EM (IBM Model 1, the fast_align
//!   reparameterization of Model 2, the HMM model) and the symmetrization heuristics.
//! - [`lm`]: n-gram language models with interpolated modified Kneser-Ney smoothing.
//! - [`tokenize`]: Moses-style tokenization and detokenization.
//! - [`phrase`]: phrase-pair extraction and scoring into a phrase table.
//! - [`decode`]: the stack-based beam-search decoder over a log-linear model.
//! - [`tune`]: minimum error rate training of the log-linear weights.
//!
//! The crate never prints: long computations report progress through callbacks, and
//! every fallible function returns a typed error.
//!
//! Why each dependency is here: `hashbrown` for the fast hash maps that hold sparse
//! count and probability tables; `rayon` for data-parallel E-steps and decoding;
//! `serde` and `bincode` for model files that load in one read; `priority-queue` for the
//! decoder's bounded hypothesis stacks; `thiserror` for typed errors; `tracing` for
//! diagnostics that the binary may route to stderr.
#![deny(missing_docs)]

pub mod align;
pub mod decode;
pub mod lm;
pub mod phrase;
pub mod tokenize;
pub mod tune;
pub mod vocab;
