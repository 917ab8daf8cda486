//! `mt train --system nmt` (being built).

/// Options of `mt train` that only the nmt system reads.
#[derive(Debug, clap::Args)]
pub struct NmtTrainOpts {}

/// Runs `mt train --system nmt`.
pub fn run(_common: &super::train::TrainArgs, _opts: &NmtTrainOpts) -> anyhow::Result<()> {
    anyhow::bail!("`mt train --system nmt` is not built yet")
}
