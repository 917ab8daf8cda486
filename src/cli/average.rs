//! `mt average`: checkpoint averaging of a neural model. The element-wise mean of the
//! weights of the last validations of a run (kept by `mt train --keep-snapshots N`), or of
//! weight files named on the command line, is written as a new model directory that
//! `mt decode --system nmt` reads like any other.
//!
//! Everything is read and averaged before anything is written; the output directory gets
//! the configuration and tokenizer of `--model` and the averaged `model.safetensors`, each
//! written to a temporary name and renamed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use nmt::average::WeightSum;
use nmt::checkpoint::{
    load_weights, read_config, snapshots, write_atomic, CONFIG_FILE, SNAPSHOT_DIR, TOKENIZER_FILE,
    WEIGHTS_FILE,
};

/// Options of `mt average`.
#[derive(Debug, Args)]
pub struct AverageArgs {
    /// The model directory whose configuration and tokenizer the weights belong to (and
    /// whose `snapshots/` are averaged when no weight files are named).
    #[arg(long)]
    pub model: PathBuf,
    /// The directory to write the averaged model to (created if absent).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Average the last N snapshots of `--model` (`mt train --keep-snapshots N`).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 5,
        value_parser = super::positive_count,
        conflicts_with = "weights"
    )]
    pub last: usize,
    /// Weight files of the model to average instead of its snapshots (`.safetensors`, or
    /// `.bpk` such as a resume checkpoint's `checkpoint/model.bpk`).
    #[arg(value_name = "WEIGHTS")]
    pub weights: Vec<PathBuf>,
    /// Replace a model already in `--out`.
    #[arg(long)]
    pub overwrite: bool,
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The weight files to average: those named, or the last `last` snapshots of `model`.
fn inputs(args: &AverageArgs) -> anyhow::Result<Vec<PathBuf>> {
    if !args.weights.is_empty() {
        return Ok(args.weights.clone());
    }
    let found = snapshots(&args.model)?;
    if found.len() < args.last {
        bail!(
            "{}: {} snapshot(s), fewer than --last {} (train with --keep-snapshots N, or \
             name weight files)",
            args.model.join(SNAPSHOT_DIR).display(),
            found.len(),
            args.last
        );
    }
    Ok(found[found.len() - args.last..].iter().map(|(_, p)| p.clone()).collect())
}

/// Runs `mt average`.
pub fn run(args: AverageArgs) -> anyhow::Result<()> {
    if same_dir(&args.model, &args.out) {
        bail!(
            "--out {} is the --model directory: write the average to a new directory",
            args.out.display()
        );
    }
    if args.out.exists() && !args.out.is_dir() {
        bail!("--out {} exists and is not a directory", args.out.display());
    }
    if args.out.join(WEIGHTS_FILE).exists() && !args.overwrite {
        bail!(
            "--out {} already holds a model ({}): add --overwrite to replace it",
            args.out.display(),
            WEIGHTS_FILE
        );
    }
    let config = read_config(&args.model)?;
    let tokenizer_path = args.model.join(TOKENIZER_FILE);
    let tokenizer = std::fs::read(&tokenizer_path)
        .with_context(|| format!("cannot read {}", tokenizer_path.display()))?;
    let config_bytes = std::fs::read(args.model.join(CONFIG_FILE))
        .with_context(|| format!("cannot read {}", args.model.join(CONFIG_FILE).display()))?;
    let files = inputs(&args)?;
    let device = nmt::device(false, None);
    let mut sum = WeightSum::new();
    let mut last = None;
    for path in &files {
        let model = load_weights(&config.model, path, &device)?;
        sum.add(&model).with_context(|| format!("{}", path.display()))?;
        last = Some(model);
    }
    let base = last.expect("at least one weight file");
    let mean = sum.mean_into(base)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    write_atomic(&args.out.join(TOKENIZER_FILE), &tokenizer)?;
    write_atomic(&args.out.join(CONFIG_FILE), &config_bytes)?;
    nmt::checkpoint::save_weights(&mean, &args.out.join(WEIGHTS_FILE))?;
    eprintln!(
        "mt: averaged {} weight files of {} into {}",
        files.len(),
        args.model.display(),
        args.out.join(WEIGHTS_FILE).display()
    );
    Ok(())
}
