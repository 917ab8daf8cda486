//! `mt align` (being built).

/// Options of `mt align`.
#[derive(Debug, clap::Args)]
pub struct AlignArgs {}

/// Runs `mt align`.
pub fn run(_args: AlignArgs) -> anyhow::Result<()> {
    anyhow::bail!("`mt align` is not built yet")
}
