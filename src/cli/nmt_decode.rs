//! `mt decode --system nmt` (being built).

/// Options of `mt decode` that only the nmt system reads.
#[derive(Debug, clap::Args)]
pub struct NmtDecodeOpts {}

/// Runs `mt decode --system nmt`.
pub fn run(_common: &super::decode::DecodeArgs, _opts: &NmtDecodeOpts) -> anyhow::Result<()> {
    anyhow::bail!("`mt decode --system nmt` is not built yet")
}
