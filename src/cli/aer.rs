//! `mt eval aer`: alignment error rate, precision and recall against a gold alignment.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::eval::aer::{read_gold, read_hypothesis, score, AerError, GoldFormat};
use crate::text::display_name;

/// Options of `mt eval aer`.
#[derive(Debug, clap::Args)]
pub struct AerArgs {
    /// The gold alignment: NAACL `.wa` (`sent i j [S|P]`, 1-based) or Pharaoh
    /// (`i-j` sure, `i?j` possible, 0-based).
    #[arg(long, short = 'g', value_name = "FILE")]
    pub gold: PathBuf,
    /// The alignment to score: one line of `i-j` links per sentence (`-` for stdin).
    #[arg(long, short = 'a', value_name = "FILE")]
    pub alignments: PathBuf,
    /// Score only the last N lines of the alignments (the test sentences appended to a
    /// training bitext).
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
    /// The gold file's format.
    #[arg(long, value_enum, default_value_t = GoldFormat::Auto)]
    pub gold_format: GoldFormat,
    /// Exchange the two sides of every gold link (for a gold written target-first).
    #[arg(long)]
    pub swap_gold: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mt eval aer`.
pub fn run(args: AerArgs) -> anyhow::Result<()> {
    let gold = read_gold(&args.gold, args.gold_format, args.swap_gold)
        .context("reading the gold alignment")?;
    let mut hyp = read_hypothesis(&args.alignments).context("reading the alignments")?;
    if let Some(n) = args.last {
        if n > hyp.len() {
            anyhow::bail!(
                "--last {n}: {} has only {} lines",
                display_name(&args.alignments),
                hyp.len()
            );
        }
        hyp.drain(..hyp.len() - n);
    }
    if hyp.len() != gold.len() {
        return Err(AerError::Count {
            hyp: display_name(&args.alignments),
            hyp_lines: hyp.len(),
            gold: display_name(&args.gold),
            gold_lines: gold.len(),
        }
        .into());
    }
    let s = score(&hyp, &gold);
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&s)?)?;
    } else {
        writeln!(out, "AER: {:.4}", s.aer)?;
        writeln!(out, "precision: {:.4}", s.precision)?;
        writeln!(out, "recall: {:.4}", s.recall)?;
        writeln!(
            out,
            "links: {} hypothesis, {} sure, {} possible; {} sentences",
            s.hypothesis_links, s.sure_links, s.possible_links, s.sentences
        )?;
    }
    Ok(())
}
