//! Evaluation metrics, one module per metric: BLEU, chrF/chrF++ and TER equal to
//! sacreBLEU 2.6.0, paired bootstrap resampling, and the alignment error rate ([`aer`]).
//!
//! # Library use
//!
//! References are a list of streams (`streams[k][i]` is reference `k` of segment `i`);
//! every scorer returns an error, never a truncated score, when a stream's length differs
//! from the hypotheses':
//!
//! ```
//! use mt::eval::{corpus_bleu, corpus_chrf, References};
//! let hyps = ["The cat sat on the mat."];
//! let refs = References::new(vec![vec!["The cat is on the mat.".to_string()]]).unwrap();
//! let bleu = corpus_bleu(&hyps, &refs).unwrap();
//! assert_eq!(format!("{:.2}", bleu.score), "48.89");
//! assert_eq!(
//!     bleu.signature.to_string(),
//!     "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
//! );
//! assert_eq!(format!("{:.2}", corpus_chrf(&hyps, &refs).unwrap().score), "67.17");
//! assert!(corpus_bleu(&["a", "b"], &refs).is_err());
//! ```
//!
//! [`Bleu`], [`Chrf`] and [`Ter`] take a configuration and offer `corpus_score`,
//! `sentence_score` and `score_from` (from summed statistics); all three implement
//! [`Metric`], which [`paired_bootstrap`], [`bootstrap::bootstrap_ci`] and [`CorpusStats`]
//! work on. Each score has `signature` (print it with `to_string()` or `format(true)` for
//! the short form) and `report()`, the [`Report`] that `mt eval` prints.
//!
//! ```
//! use mt::eval::{paired_bootstrap, Bleu, References};
//! let refs = References::single(vec!["a b c d e".into(), "f g h i j".into()]);
//! let baseline = vec!["a b c d e", "f g h x j"];
//! let system = vec!["a b c d e", "f g h i j"];
//! let r = paired_bootstrap(&Bleu::default(), &[baseline, system], &refs, 1000, 12345).unwrap();
//! assert!(r[0].p_value.is_none() && r[1].p_value.is_some());
//! assert!((r[1].score - 100.0).abs() < 1e-9);
//! ```
//!
//! # Output of `mt eval` (text and `--json`)
//!
//! Text: one line per score in sacreBLEU's format,
//! `NAME|signature = SCORE [verbose]`, for example
//! `BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 48.9 85.7/66.7/40.0/25.0
//! (BP = 1.000 ratio = 1.000 hyp_len = 7 ref_len = 7)`, the score with `--width` decimals
//! (1 by default).
//!
//! `--json`: one object per score (an array of objects when several systems are scored,
//! one object per line, JSON Lines, with `--sentence-level`), indented by one space:
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `name` | string | `BLEU`, `chrF2`, `chrF2++`, `TER`, `AER`, `PPL`, ... |
//! | `score` | number | the score rounded to `--width` decimals (as sacreBLEU's JSON) |
//! | `signature` | string | the long signature, `""` when the metric has none |
//! | `confidence_mean` | number | only with `--confidence`: bootstrap mean (rounded) |
//! | `confidence_var` | number | only with `--confidence`: 95% half-interval (rounded) |
//! | `confidence` | string | only with `--confidence`: `μ = MEAN ± CI` |
//! | `verbose_score` | string | only when the text line has more after the score |
//! | one key per signature field | string | `nrefs`, `case`, ..., `version` (sacreBLEU's keys) |
//! | `exact` | object | unrounded values: `score` first, then the metric's own fields |
//!
//! The keys up to the signature fields are exactly those of `sacrebleu -f json`, so tools
//! that read sacreBLEU's JSON read ours. `exact` holds, per metric:
//! - BLEU: `counts`, `totals`, `precisions` (arrays of 4), `bp`, `sys_len`, `ref_len`,
//!   `ratio`;
//! - chrF: `char_order`, `word_order`, `beta`;
//! - TER: `num_edits`, `ref_length`;
//! - with `--confidence`: `mean` and `ci` (unrounded) right after `score`;
//! - with `--paired-bootstrap` each system's object also has `system`, and `exact` has
//!   `mean`, `ci` (half-width of the 95% interval) and `p_value` (`null` for the baseline).
//!
//! # The shared `--json` convention (for `mt eval aer` and `mt lm query`)
//!
//! Every scoring command of `mt` writes its `--json` output with [`Report`]: `name`, the
//! rounded `score`, `signature` (`""` if none), optional `verbose_score` and signature
//! fields, and `exact` with the unrounded score first and then the command's own numbers in
//! a fixed order. Alignment error rate: `name` `AER`, score = AER × 100, `exact` with
//! `aer`, `precision`, `recall`, `sure`, `possible`, `predicted`. Perplexity: `name` `PPL`,
//! score = perplexity including OOVs, `exact` with `ppl_excluding_oov`, `log10_prob`,
//! `tokens`, `oov`, `sentences`. Numbers that are not finite are written as `null`.

pub mod aer;
pub mod bleu;
pub mod bootstrap;
pub mod chrf;
pub mod error;
pub mod metric;
pub mod ngram_counts;
pub mod numpy_random;
pub mod python_str;
pub mod references;
pub mod report;
pub mod signature;
pub mod ter;
pub mod tercom;
pub mod tokenize_13a;
pub mod tokenize_intl;
pub mod tokenizer;

pub use bleu::{corpus_bleu, sentence_bleu, Bleu, BleuConfig, BleuScore, Smoothing};
pub use bootstrap::{paired_bootstrap, BootstrapResult};
pub use chrf::{corpus_chrf, Chrf, ChrfConfig, ChrfScore};
pub use error::EvalError;
pub use metric::{CorpusStats, Metric};
pub use references::References;
pub use report::Report;
pub use signature::{NumRefs, Signature};
pub use ter::{corpus_ter, Ter, TerConfig, TerScore};
pub use tokenizer::BleuTokenizer;
