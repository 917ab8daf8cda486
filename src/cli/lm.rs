//! `mt lm` (being built).

/// Options of `mt lm`.
#[derive(Debug, clap::Args)]
pub struct LmArgs {}

/// Runs `mt lm`.
pub fn run(_args: LmArgs) -> anyhow::Result<()> {
    anyhow::bail!("`mt lm` is not built yet")
}
