//! The command line: one module per command.

use clap::{Parser, Subcommand};

pub use error_message::{error_line, usage_error_line};

pub mod aer;
pub mod align;
pub mod average;
pub mod compare;
pub mod decode;
pub mod error_message;
pub mod eval;
pub mod lm;
pub mod nmt_decode;
pub mod nmt_train;
pub mod smt_decode;
pub mod smt_train;
pub mod train;
pub mod tune;

/// mt: statistical and neural machine translation on the same corpus.
#[derive(Debug, Parser)]
#[command(name = "mt", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every `mt` command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Word alignment with IBM Model 1, fast_align's Model 2 or the HMM model.
    Align(align::AlignArgs),
    /// N-gram language models: train (modified Kneser-Ney) and query.
    Lm(lm::LmArgs),
    /// Scores: BLEU, chrF, TER, AER.
    Eval(eval::EvalArgs),
    /// Train a translation system (`--system smt|nmt`).
    Train(train::TrainArgs),
    /// Translate with a trained system (`--system smt|nmt`).
    Decode(decode::DecodeArgs),
    /// Tune the weights of a phrase-based model with MERT.
    Tune(tune::TuneArgs),
    /// Train and run both systems on one corpus and report side by side.
    Compare(compare::CompareArgs),
    /// Average the weights of several checkpoints of one neural model.
    Average(average::AverageArgs),
}

/// Parses a count that must be at least 1 (a clap value parser).
pub fn positive_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("`{s}` is not a count: {e}")),
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Align(args) => align::run(args),
        Command::Lm(args) => lm::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Train(args) => train::run(args),
        Command::Decode(args) => decode::run(args),
        Command::Tune(args) => tune::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Average(args) => average::run(args),
    }
}

/// Parses the process's command line, noting which `mt train` options it gives.
pub fn parse() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().try_get_matches()?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut Cli::command()))?;
    if let (Command::Train(t), Some(("train", sub))) = (&mut cli.command, matches.subcommand()) {
        t.given = sub
            .ids()
            .filter(|id| {
                sub.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
            })
            .map(|id| id.to_string())
            .collect();
    }
    Ok(cli)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
