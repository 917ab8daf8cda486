//! `mt decode --system smt` (being built).

/// Options of `mt decode` that only the smt system reads.
#[derive(Debug, clap::Args)]
pub struct SmtDecodeOpts {}

/// Runs `mt decode --system smt`.
pub fn run(_common: &super::decode::DecodeArgs, _opts: &SmtDecodeOpts) -> anyhow::Result<()> {
    anyhow::bail!("`mt decode --system smt` is not built yet")
}
