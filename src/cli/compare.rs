//! `mt compare`: train or load both systems on one corpus and report side by side.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::compare::budget::Budget;
use crate::compare::pipeline::{self, CompareOptions};

/// Options of `mt compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Corpus directory with `SPLIT.LANG[.gz]` files.
    #[arg(long, default_value = "corpora/multi30k")]
    pub corpus: PathBuf,
    /// Language pair, `SRC-TGT`.
    #[arg(long, default_value = "de-en")]
    pub pair: String,
    /// Split names: training, development, test.
    #[arg(long, num_args = 3, value_names = ["TRAIN", "DEV", "TEST"],
          default_values = ["train", "val", "test2016"])]
    pub splits: Vec<String>,
    /// Report directory.
    #[arg(long, default_value = "compare-report")]
    pub out: PathBuf,
    /// Size preset: `fast` (about 15 minutes on 2 cores), `full` (the BENCHMARKS.md
    /// settings) or `tiny` (seconds; a smoke run).
    #[arg(long, value_enum, default_value = "fast")]
    pub budget: Budget,
    /// Hansards directory for the AER section (train.{en,fr}, trial.{en,fr}, trial.wa);
    /// `none` leaves the section out.
    #[arg(long, default_value = "corpora/hansards-enfr")]
    pub hansards: String,
    /// Worker threads for each stage (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Use this trained `mt train --system smt` model directory instead of training (and
    /// tuning) one; it must have been trained on the same training split (the same
    /// sentences, plain or gzipped: checked against its manifest, a warning when the
    /// manifest cannot tell).
    #[arg(long, value_name = "DIR")]
    pub smt_model: Option<PathBuf>,
    /// Use this trained `mt train --system nmt` model directory instead of training one;
    /// the same training split rule applies (checked against its `config.json`; a warning
    /// for models that do not record their training data).
    #[arg(long, value_name = "DIR")]
    pub nmt_model: Option<PathBuf>,
    /// Use this NMT model, trained on the lowercased Hansards bitext with the trial pairs
    /// appended, for the attention AER instead of training one.
    #[arg(long, value_name = "DIR")]
    pub hansards_nmt_model: Option<PathBuf>,
}

/// Runs `mt compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let (src, tgt) = args
        .pair
        .split_once('-')
        .with_context(|| format!("--pair {:?} is not of the form SRC-TGT", args.pair))?;
    let exe = std::env::current_exe().context("locating the mt executable")?;
    let opts = CompareOptions {
        corpus: args.corpus,
        src: src.to_owned(),
        tgt: tgt.to_owned(),
        splits: [args.splits[0].clone(), args.splits[1].clone(), args.splits[2].clone()],
        out: args.out.clone(),
        budget: args.budget,
        exe,
        threads: args.threads,
        hansards: (args.hansards != "none").then(|| PathBuf::from(&args.hansards)),
        smt_model: args.smt_model,
        nmt_model: args.nmt_model,
        hansards_nmt_model: args.hansards_nmt_model,
    };
    let start = std::time::Instant::now();
    let report = pipeline::run(&opts, &mut |step| {
        eprintln!("[{:>6.1}s] {step}", start.elapsed().as_secs_f64());
    })?;
    print!("{}", report.to_markdown());
    eprintln!("report written to {}", args.out.join("report.md").display());
    Ok(())
}
