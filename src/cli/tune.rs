//! `mt tune` (being built).

/// Options of `mt tune`.
#[derive(Debug, clap::Args)]
pub struct TuneArgs {}

/// Runs `mt tune`.
pub fn run(_args: TuneArgs) -> anyhow::Result<()> {
    anyhow::bail!("`mt tune` is not built yet")
}
