//! The glue of `mt`: corpus reading, evaluation and the commands that combine the
//! statistical models of [`smt`] with the neural ones.
//!
//! The binary in `src/main.rs` only parses the command line and calls [`cli::run`].
//!
//! Why each dependency is here: `clap` (derive) for the command line; `anyhow` to add
//! file and stage context to errors; `thiserror` for this library's typed errors;
//! `flate2` to read gzipped corpora transparently; `indicatif` for progress bars;
//! `rayon` for parallel evaluation and decoding; `hashbrown` for n-gram count maps;
//! `serde`, `serde_json` and `bincode` for reports and model files; `regex` for the
//! sacreBLEU tokenizers; `tracing` and `tracing-subscriber` for diagnostics on stderr;
//! `plotters` and `png` for the report's plots; `mimalloc` and `libmimalloc-sys` (used by
//! the binary only) as the allocator, with purging off, because glibc's malloc returned
//! every large freed tensor to the OS and each NMT training step page-faulted it again.
#![deny(missing_docs)]

pub mod bitext;
pub mod cli;
pub mod compare;
pub mod eval;
pub mod output;
pub mod progress;
pub mod report;
pub mod smt_model;
pub mod text;
