//! `mt eval`: the scoring commands.

use clap::{Args, Subcommand};

/// Options of `mt eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The metric.
    #[command(subcommand)]
    pub metric: Metric,
}

/// The metrics `mt eval` computes.
#[derive(Debug, Subcommand)]
pub enum Metric {
    /// Alignment error rate, precision and recall against a gold alignment.
    Aer(super::aer::AerArgs),
}

/// Runs `mt eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    match args.metric {
        Metric::Aer(a) => super::aer::run(a),
    }
}
