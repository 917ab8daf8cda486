//! `mt decode --system smt|nmt`: options common to both systems, then the system's own.

use std::path::PathBuf;

use clap::Args;

use super::train::System;

/// Options of `mt decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The system to decode with.
    #[arg(long, value_enum)]
    pub system: System,
    /// The model directory written by `mt train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Source sentences, one per line (`-` for stdin).
    #[arg(long, short, default_value = "-")]
    pub input: PathBuf,
    /// Where the translations go (`-` for stdout).
    #[arg(long, short, default_value = "-")]
    pub output: PathBuf,
    /// Write the K best translations per sentence in the Moses n-best format.
    #[arg(long, value_name = "K", value_parser = super::positive_count)]
    pub n_best: Option<usize>,
    /// Append the word alignment of each output (`i-j`, source index first).
    #[arg(long)]
    pub alignments: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Options of the phrase-based system.
    #[command(flatten)]
    pub smt: super::smt_decode::SmtDecodeOpts,
    /// Options of the neural system.
    #[command(flatten)]
    pub nmt: super::nmt_decode::NmtDecodeOpts,
}

/// Runs `mt decode`.
pub fn run(args: DecodeArgs) -> anyhow::Result<()> {
    crate::output::refuse_overwriting_input(
        ("--output", &args.output),
        &[("--input", &args.input)],
    )
    .map_err(anyhow::Error::msg)?;
    match args.system {
        System::Smt => super::smt_decode::run(&args, &args.smt),
        System::Nmt => super::nmt_decode::run(&args, &args.nmt),
    }
}
