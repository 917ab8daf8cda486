//! Regression test: `mt train --system smt` checks `--out` before training.

use std::process::Command;

#[test]
fn an_out_that_is_a_file_is_refused_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("model");
    std::fs::write(&file, "not a model directory").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mt"))
        .args(["train", "--system", "smt", "--threads", "1"])
        .args(["--source", "tests/fixtures/nmt/tiny.de", "--target", "tests/fixtures/nmt/tiny.en"])
        .arg("--out")
        .arg(&file)
        .env("MT_NO_PROGRESS", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "no stage ran before the error: {err}");
    assert!(err.starts_with("mt: error: ") && err.contains("not a directory"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a model directory");
}
