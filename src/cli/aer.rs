//! `mt eval aer` (being built).

/// Options of `mt eval aer`.
#[derive(Debug, clap::Args)]
pub struct AerArgs {}

/// Runs `mt eval aer`.
pub fn run(_args: AerArgs) -> anyhow::Result<()> {
    anyhow::bail!("`mt eval aer` is not built yet")
}
