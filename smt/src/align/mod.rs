//! Word alignment trained with EM: IBM Model 1, fast_align's diagonal Model 2 and the
//! HMM model, plus the symmetrization heuristics.
//!
//! The pieces, in the order a corpus meets them:
//!
//! - [`corpus`]: sentences as flat `u32` arrays with one vocabulary per side;
//! - [`ttable`]: the sparse lexical table every model shares;
//! - [`ibm1`], [`ibm2`], [`hmm`]: the models and their E-steps (run by [`estep`]);
//! - [`model`]: the training pipeline (Model 1, then Model 2 or the HMM);
//! - [`joint`]: both HMM directions trained by agreement (Liang et al. 2006);
//! - [`decoding`]: reading links off the posteriors;
//! - [`symmetrize`]: combining both directions as `atools` does;
//! - [`model_file`]: the [`Aligner`] that holds both directions, saves and loads.
//!
//! ```
//! use smt::align::{Aligner, Decoding, Direction, Heuristic, ModelKind, ParallelCorpus,
//!                  TrainConfig};
//! let mut corpus = ParallelCorpus::new();
//! for (s, t) in [("das haus", "the house"), ("das buch", "the book"), ("ein buch", "a book")] {
//!     corpus.push_pair(s.split(' '), t.split(' '));
//! }
//! let config = TrainConfig::new(ModelKind::Hmm);
//! let dirs = [Direction::Forward, Direction::Reverse];
//! let aligner = Aligner::train(&corpus, &config, &dirs, &());
//! let out = aligner
//!     .align_symmetric(&corpus, Decoding::Argmax, Heuristic::GrowDiagFinalAnd)
//!     .unwrap();
//! assert_eq!(out.symmetrized[2], vec![(0, 0), (1, 1)]);
//! ```

pub mod corpus;
pub mod decoding;
mod estep;
pub mod hmm;
pub mod ibm1;
pub mod ibm2;
pub mod joint;
pub mod model;
pub mod model_file;
pub mod symmetrize;
pub mod ttable;

pub use corpus::{DirectedView, Direction, ParallelCorpus, Sentences};
pub use decoding::Decoding;
pub use model::{DirectionalModel, IterationStats, ModelKind, TrainConfig, TrainObserver};
pub use model_file::{Aligner, LinkPosteriors, Links, SymmetricAlignment};
pub use symmetrize::{symmetrize, Heuristic};

/// What can go wrong in the alignment library.
#[derive(Debug, thiserror::Error)]
pub enum AlignError {
    /// A model file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A model file is not in the expected format.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The aligner has no model for the direction asked for.
    #[error("the model has no {0:?} direction (train it, or drop --reverse/--symmetrize)")]
    MissingDirection(corpus::Direction),
}
