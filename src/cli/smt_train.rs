//! `mt train --system smt` (being built).

/// Options of `mt train` that only the smt system reads.
#[derive(Debug, clap::Args)]
pub struct SmtTrainOpts {}

/// Runs `mt train --system smt`.
pub fn run(_common: &super::train::TrainArgs, _opts: &SmtTrainOpts) -> anyhow::Result<()> {
    anyhow::bail!("`mt train --system smt` is not built yet")
}
