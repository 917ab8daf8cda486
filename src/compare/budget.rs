//! The `--budget` presets of `mt compare`.
//!
//! `fast` finishes within about 15 minutes on a 2-core machine: full SMT training, a
//! small LSTM trained for a fixed number of steps, MERT skipped, and a stated subset of
//! the test set. `full` uses the settings of the results in BENCHMARKS.md.

use clap::ValueEnum;

/// A preset of sizes and iteration counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Budget {
    /// About 15 minutes on 2 cores.
    Fast,
    /// The BENCHMARKS.md settings (hours on 2 cores).
    Full,
    /// Seconds: a smoke run for tests (a few hundred training pairs, a toy network).
    Tiny,
}

/// What a budget sets.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetSettings {
    /// Training pairs used (`None` = all).
    pub train_lines: Option<usize>,
    /// Development pairs used for tuning and early stopping (`None` = all).
    pub dev_lines: Option<usize>,
    /// Test pairs scored (`None` = all).
    pub test_lines: Option<usize>,
    /// Run MERT on the development set.
    pub mert: bool,
    /// N-best size for the hybrid rescorer.
    pub nbest: usize,
    /// Options passed to `mt train --system nmt`.
    pub nmt_train: Vec<String>,
    /// Hansards pairs used for the NMT attention AER model (`None` = all).
    pub hansards_lines: Option<usize>,
    /// Options passed to `mt train --system nmt` for the Hansards attention model.
    pub hansards_nmt_train: Vec<String>,
}

impl Budget {
    /// The settings of this preset.
    pub fn settings(self) -> BudgetSettings {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        match self {
            Budget::Tiny => {
                let nmt = s(&[
                    "--arch",
                    "lstm",
                    "--emb-size",
                    "16",
                    "--hidden-size",
                    "16",
                    "--vocab-size",
                    "300",
                    "--max-steps",
                    "20",
                    "--valid-every",
                    "10",
                ]);
                BudgetSettings {
                    train_lines: Some(300),
                    dev_lines: Some(20),
                    test_lines: Some(20),
                    mert: false,
                    nbest: 5,
                    hansards_nmt_train: nmt.clone(),
                    nmt_train: nmt,
                    hansards_lines: Some(300),
                }
            }
            Budget::Fast => {
                // LIMITATION: 150 updates of 2048 tokens (about 3.5 CPU minutes per model at
                // the measured 1,450 tokens/s) leave the fast NMT barely trained.
                let nmt = s(&[
                    "--arch",
                    "lstm",
                    "--emb-size",
                    "128",
                    "--hidden-size",
                    "256",
                    "--vocab-size",
                    "6000",
                    "--batch-tokens",
                    "2048",
                    "--max-steps",
                    "150",
                    "--valid-every",
                    "75",
                    "--no-valid-bleu",
                ]);
                BudgetSettings {
                    train_lines: None,
                    dev_lines: Some(300),
                    test_lines: Some(500),
                    mert: false,
                    nbest: 10,
                    hansards_nmt_train: nmt.clone(),
                    nmt_train: nmt,
                    hansards_lines: Some(5000),
                }
            }
            // The LSTM of BENCHMARKS.md's NMT section (4,000 updates, about 16 epochs of 243
            // updates and 70 CPU minutes at the measured 2,000 tokens/s; the best validation
            // BLEU is kept), MERT, 100-best rescoring,
            // all test sentences.
            Budget::Full => BudgetSettings {
                train_lines: None,
                dev_lines: None,
                test_lines: None,
                mert: true,
                nbest: 100,
                nmt_train: s(&[
                    "--arch",
                    "lstm",
                    "--emb-size",
                    "256",
                    "--hidden-size",
                    "256",
                    "--dropout",
                    "0.3",
                    "--attention-score",
                    "general",
                    "--vocab-size",
                    "8000",
                    "--batch-tokens",
                    "2048",
                    "--lr",
                    "0.002",
                    "--warmup-steps",
                    "300",
                    "--max-steps",
                    "4000",
                    "--valid-every",
                    "400",
                    "--patience",
                    "5",
                    "--seed",
                    "1",
                ]),
                hansards_nmt_train: s(&[
                    "--arch",
                    "lstm",
                    "--emb-size",
                    "256",
                    "--hidden-size",
                    "256",
                    "--vocab-size",
                    "8000",
                    "--batch-tokens",
                    "2048",
                    "--max-steps",
                    "1000",
                    "--valid-every",
                    "500",
                    "--no-valid-bleu",
                    "--seed",
                    "1",
                ]),
                hansards_lines: None,
            },
        }
    }
}
