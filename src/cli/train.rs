//! `mt train --system smt|nmt`: options common to both systems, then the system's own.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Which translation system a command works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum System {
    /// Phrase-based statistical MT.
    Smt,
    /// Neural encoder-decoder MT.
    Nmt,
}

/// Options of `mt train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The system to train.
    #[arg(long, value_enum)]
    pub system: System,
    /// Training source side, one sentence per line (`.gz` accepted).
    #[arg(long)]
    pub source: PathBuf,
    /// Training target side, parallel to `--source`.
    #[arg(long)]
    pub target: PathBuf,
    /// Development source side (tuning, validation).
    #[arg(long)]
    pub dev_source: Option<PathBuf>,
    /// Development target side.
    #[arg(long)]
    pub dev_target: Option<PathBuf>,
    /// The model directory to write (nmt: one that already holds a model is refused
    /// unless `--resume` or `--overwrite`).
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Ids of the options given on the command line (filled by [`super::parse`]).
    #[arg(skip)]
    pub given: Vec<String>,
    /// Options of the phrase-based system.
    #[command(flatten)]
    pub smt: super::smt_train::SmtTrainOpts,
    /// Options of the neural system.
    #[command(flatten)]
    pub nmt: super::nmt_train::NmtTrainOpts,
}

/// Runs `mt train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    match args.system {
        System::Smt => super::smt_train::run(&args, &args.smt),
        System::Nmt => super::nmt_train::run(&args, &args.nmt),
    }
}
