//! Helpers shared by the nmt integration tests: running `mt` and training tiny models.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub const TINY_DE: &str = "tests/fixtures/nmt/tiny.de";
pub const TINY_EN: &str = "tests/fixtures/nmt/tiny.en";

pub fn mt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mt"))
        .args(args)
        .env("MT_NO_PROGRESS", "1")
        .output()
        .expect("mt runs")
}

pub fn mt_ok(args: &[&str]) -> String {
    let out = mt(args);
    assert!(out.status.success(), "mt {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Options of the tiny models: small enough to train in seconds on one core.
pub fn tiny_train_args<'a>(out: &'a str, arch: &'a str, steps: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--system",
        "nmt",
        "--source",
        TINY_DE,
        "--target",
        TINY_EN,
        "--out",
        out,
        "--arch",
        arch,
        "--emb-size",
        "32",
        "--hidden-size",
        "64",
        "--heads",
        "2",
        "--layers",
        "1",
        "--dropout",
        "0",
        "--label-smoothing",
        "0",
        "--vocab-size",
        "400",
        "--batch-tokens",
        "1000",
        "--max-steps",
        steps,
        "--lr",
        "0.02",
        "--warmup-steps",
        "0",
        "--valid-every",
        "0",
        "--threads",
        "1",
        "--seed",
        "7",
    ]
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mt-nmt-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tiny LSTM trained to memorize the 20 pairs (trained once per test binary).
pub fn overfit_lstm() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch().join("overfit-lstm");
        let d = dir.to_str().unwrap();
        let mut args = tiny_train_args(d, "lstm", "500");
        // Clipping at 0.5 keeps the loss spikes of this high learning rate small at the end
        // of the run (measured, see `OVERFIT_LOSS_BOUND`).
        args.extend(["--clip-norm", "0.5"]);
        mt_ok(&args);
        dir
    })
}

/// A tiny Transformer trained briefly (trained once per test binary).
pub fn small_transformer() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch().join("small-transformer");
        let d = dir.to_str().unwrap();
        mt_ok(&tiny_train_args(d, "transformer", "60"));
        dir
    })
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn lines(path: &str) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_string).collect()
}

/// The `loss` column of a learning curve.
pub fn curve_losses(dir: &Path) -> Vec<(usize, f64)> {
    let text = std::fs::read_to_string(dir.join("learning_curve.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[3].parse().unwrap())
        })
        .collect()
}
