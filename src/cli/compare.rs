//! `mt compare` (being built).

/// Options of `mt compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {}

/// Runs `mt compare`.
pub fn run(_args: CompareArgs) -> anyhow::Result<()> {
    anyhow::bail!("`mt compare` is not built yet")
}
