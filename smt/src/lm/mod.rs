//! N-gram language models: interpolated modified Kneser-Ney estimation as KenLM's lmplz
//! performs it (Chen & Goodman 1998, "An empirical study of smoothing techniques for
//! language modeling"; Heafield et al. 2013, "Scalable modified Kneser-Ney language model
//! estimation"), ARPA and binary files, and scoring with a recombination-friendly state.
//!
//! One module per stage of estimation, then the files and the queries:
//! - [`count`]: words to ids, padded N-gram counts;
//! - [`adjust`]: adjusted (continuation) counts of every order;
//! - [`discount`]: the three discounts of each order;
//! - [`interpolate`]: probabilities and backoffs, interpolated with lower orders;
//! - [`model`]: the resulting n-gram table ([`NgramModel`]);
//! - [`arpa`]: ARPA writer and tolerant reader; [`float_text`]: KenLM's number format;
//! - [`binary`]: a binary file that loads in one read;
//! - [`query`]: [`LanguageModel`], the scoring API;
//! - [`radix_sort`]: the sort of packed n-gram keys that counting relies on.
//!
//! Training:
//! ```
//! use smt::lm::{estimate, Corpus, EstimateOptions};
//! let mut corpus = Corpus::new(false);
//! corpus.add_sentence("a a b a".split(' ')).unwrap();
//! corpus.add_sentence("b a a b".split(' ')).unwrap();
//! let opts = EstimateOptions { order: 3, fallback: Some(smt::lm::discount::FALLBACK) };
//! let mut warnings = Vec::new();
//! let model = estimate(&corpus, &opts, &mut |w| warnings.push(w)).unwrap();
//! assert_eq!(model.orders[2].len(), 7);
//! assert_eq!(warnings.len(), 3); // the toy text needs fallback discounts at every order
//! ```
//!
//! Scoring, as a decoder does it (see [`query`] for a complete example):
//! ```no_run
//! # fn main() -> Result<(), smt::lm::LmError> {
//! use smt::lm::LanguageModel;
//! let lm = LanguageModel::load(std::path::Path::new("model.bin"))?;
//! let mut state = lm.begin_sentence_state();
//! let mut total = 0.0;
//! for word in "a man is walking".split(' ') {
//!     let (log10p, next) = lm.score_word(&state, lm.vocab_id(word));
//!     total += log10p;
//!     state = next; // equal states score all continuations alike: recombine on them
//! }
//! total += lm.score_end(&state);
//! # let _ = total; Ok(()) }
//! ```

pub mod adjust;
pub mod arpa;
pub mod binary;
pub mod count;
pub mod discount;
pub mod float_text;
pub mod interpolate;
pub mod model;
pub mod query;
pub mod radix_sort;

pub use arpa::{read_arpa, write_arpa};
pub use count::{Corpus, SpecialTokenError};
pub use discount::{BadDiscount, Discount};
pub use model::{NgramModel, NgramOrder};
pub use query::{LanguageModel, State, WordScore};

/// What can go wrong in estimation, reading or writing a model.
#[derive(Debug, thiserror::Error)]
pub enum LmError {
    /// The training text has no sentence.
    #[error("the training text is empty: there is nothing to estimate")]
    EmptyCorpus,
    /// The order is 0, or too large for this vocabulary's n-gram keys.
    #[error(
        "order {order} is not supported with a vocabulary of {vocab} words \
         (the order must be at least 1 and order x bits per word at most 128)"
    )]
    OrderTooLarge {
        /// The order asked for.
        order: usize,
        /// The vocabulary size.
        vocab: usize,
    },
    /// Closed-form discounts do not exist and no fallback was given.
    #[error(transparent)]
    BadDiscount(#[from] BadDiscount),
    /// A malformed ARPA file.
    #[error("{path}:{line}: {message}")]
    Arpa {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A malformed binary model.
    #[error("{path}: {message}")]
    Binary {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A model file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Writing failed.
    #[error("write error: {source}")]
    Write {
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A value that must be finite is not (never written to a file).
    #[error("refusing to write a model with a non-finite {what}")]
    NotFinite {
        /// Which value.
        what: String,
    },
    /// The query model supports orders 1..=MAX_ORDER.
    #[error("the query model supports orders 1 to {max}, not {order}", max = query::MAX_ORDER)]
    QueryOrder {
        /// The order of the model.
        order: usize,
    },
    /// The model lacks a special word.
    #[error("the model has no {word} unigram")]
    MissingSpecial {
        /// `<s>`, `</s>` or `<unk>`.
        word: String,
    },
    /// The same n-gram (or two with the same 64-bit hash) appears twice.
    #[error("duplicate n-gram {gram:?} in the model")]
    DuplicateNgram {
        /// The n-gram's words.
        gram: Vec<String>,
        /// The 1-based ARPA line of the second occurrence (0 when not read from a file).
        line: usize,
    },
}

/// Something worth telling the user that does not stop the work.
#[derive(Debug, Clone, PartialEq)]
pub enum LmWarning {
    /// Fallback discounts replace the closed-form ones of an order.
    FallbackDiscounts {
        /// The order.
        order: usize,
        /// Why the closed form failed.
        reason: BadDiscount,
        /// The discounts used instead.
        used: Discount,
    },
    /// An ARPA file has no `<unk>`; it was added with log10 p = −100.
    MissingUnk {
        /// The file.
        path: String,
    },
}

impl std::fmt::Display for LmWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LmWarning::FallbackDiscounts { order, reason, used } => {
                let why = match reason {
                    BadDiscount::Missing { count, .. } => {
                        format!("no {order}-gram has adjusted count {count}")
                    }
                    BadDiscount::OutOfRange { k, value, .. } => {
                        format!("D{k} = {value} is outside [0, {k}]")
                    }
                };
                write!(
                    f,
                    "substituting fallback discounts for order {order} ({why}): \
                     D1={} D2={} D3+={}",
                    used.d[1], used.d[2], used.d[3]
                )
            }
            LmWarning::MissingUnk { path } => write!(
                f,
                "{path} has no <unk>: unknown words get log10 p = {}",
                arpa::MISSING_UNK_LOG10
            ),
        }
    }
}

/// Settings of [`estimate`].
#[derive(Debug, Clone)]
pub struct EstimateOptions {
    /// The order N.
    pub order: usize,
    /// Discounts to use for an order whose closed-form discounts fail (lmplz's
    /// `--discount_fallback`); `None` makes that failure an error.
    pub fallback: Option<Discount>,
}

/// Estimates an interpolated modified Kneser-Ney model of `corpus`, exactly as lmplz
/// (without pruning). Each fallback substitution is reported to `warn`.
// LIMITATION: lmplz's --prune, --vocab_pad, --interpolate_unigrams 0 and --limit_vocab_file
// are not implemented.
pub fn estimate(
    corpus: &Corpus,
    opts: &EstimateOptions,
    warn: &mut dyn FnMut(LmWarning),
) -> Result<NgramModel, LmError> {
    let raw = corpus.count(opts.order)?;
    let adjusted = adjust::adjust(raw);
    let mut discounts = Vec::with_capacity(opts.order);
    for n in 1..=opts.order {
        let t = adjusted.count_of_counts(n);
        match (Discount::estimate(n, &t), opts.fallback) {
            (Ok(d), _) => discounts.push(d),
            (Err(reason), Some(used)) => {
                warn(LmWarning::FallbackDiscounts { order: n, reason, used });
                discounts.push(used);
            }
            (Err(reason), None) => return Err(reason.into()),
        }
    }
    let vocab: Vec<String> =
        (0..corpus.vocab().len() as u32).map(|i| corpus.vocab().word(i).to_owned()).collect();
    Ok(interpolate::interpolate(&adjusted, &discounts, &vocab))
}

/// The discounts lmplz would use for each order of `corpus`, or the first failure.
pub fn discounts(corpus: &Corpus, order: usize) -> Result<Vec<Discount>, LmError> {
    let adjusted = adjust::adjust(corpus.count(order)?);
    (1..=order).map(|n| Ok(Discount::estimate(n, &adjusted.count_of_counts(n))?)).collect()
}
