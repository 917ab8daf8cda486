//! Regression tests: `mt train --system nmt` and `mt decode --system nmt` check every
//! setting before writing anything, never leave a model directory whose files disagree,
//! and report a model directory that does not fit together on one line.

mod nmt_support;

use std::path::Path;

use nmt_support::*;

/// A tiny LSTM trained for a few steps into `out`.
fn tiny_lstm(out: &Path, emb: &str) {
    let o = out.to_str().unwrap();
    let mut args = tiny_train_args(o, "lstm", "5");
    for (flag, value) in [("--emb-size", emb), ("--hidden-size", emb)] {
        let k = args.iter().position(|a| *a == flag).unwrap();
        args[k + 1] = value;
    }
    mt_ok(&args);
}

/// Runs `mt`, expects exit code 2 and one `mt: error:` line; returns that line.
fn mt_fails(args: &[&str]) -> String {
    let out = mt(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "mt {args:?}: {err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("mt: error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(err.lines().all(|l| l.starts_with("mt: ")), "{err}");
    assert!(errors[0].len() < 400, "{err}");
    errors[0].to_string()
}

/// The names and contents of the files directly in `dir`.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

/// Tiny training arguments with `flag` set to `value` (replaced or added).
fn with<'a>(mut args: Vec<&'a str>, flag: &'a str, value: &'a str) -> Vec<&'a str> {
    match args.iter().position(|a| *a == flag) {
        Some(k) => args[k + 1] = value,
        None => args.extend([flag, value]),
    }
    args
}

const BAD_TRAIN_SETTINGS: [(&str, &str); 11] = [
    ("--batch-tokens", "0"),
    ("--lr", "nan"),
    ("--lr", "inf"),
    ("--lr", "0"),
    ("--label-smoothing", "nan"),
    ("--label-smoothing", "2"),
    ("--clip-norm", "-1"),
    ("--clip-norm", "nan"),
    ("--dropout", "1"),
    ("--layers", "2"),
    ("--emb-size", "0"),
];

#[test]
fn bad_training_settings_leave_no_new_directory() {
    let tmp = tempdir();
    let out = tmp.path().join("new");
    let o = out.to_str().unwrap();
    for (flag, value) in BAD_TRAIN_SETTINGS {
        let err = mt_fails(&with(tiny_train_args(o, "lstm", "5"), flag, value));
        assert!(!out.exists(), "{flag} {value}: {err}");
    }
    let err = mt_fails(&with(tiny_train_args(o, "transformer", "5"), "--heads", "5"));
    assert!(err.contains("heads"), "{err}");
    assert!(!out.exists());
    // A failure after the vocabulary is learned (no usable pair) removes what it wrote.
    let err = mt_fails(&with(tiny_train_args(o, "lstm", "5"), "--max-subwords", "1"));
    assert!(err.contains("empty"), "{err}");
    assert!(!out.exists(), "{err}");
}

#[test]
fn a_failed_or_unasked_retraining_keeps_the_existing_model() {
    let tmp = tempdir();
    let model = tmp.path().join("model");
    tiny_lstm(&model, "16");
    let before = snapshot(&model);
    let m = model.to_str().unwrap();
    for (flag, value) in BAD_TRAIN_SETTINGS {
        mt_fails(&with(tiny_train_args(m, "lstm", "5"), flag, value));
        assert!(snapshot(&model) == before, "{flag} {value} changed the model");
    }
    // Valid settings, but --out already holds a model: refused without --overwrite.
    let err = mt_fails(&tiny_train_args(m, "lstm", "5"));
    assert!(err.contains("already holds a model") && err.contains("--resume"), "{err}");
    assert!(snapshot(&model) == before);
    // The model still decodes.
    let tmp_in = write(tmp.path(), "in.txt", "ein hund\n");
    mt_ok(&["decode", "--system", "nmt", "--model", m, "--input", tmp_in.to_str().unwrap()]);
    // --overwrite replaces it.
    let mut args = tiny_train_args(m, "lstm", "5");
    args.push("--overwrite");
    mt_ok(&args);
    assert!(snapshot(&model) != before);
}

#[test]
fn resume_warns_that_the_saved_settings_win() {
    let tmp = tempdir();
    let model = tmp.path().join("model");
    tiny_lstm(&model, "16");
    let m = model.to_str().unwrap();
    let mut args = with(tiny_train_args(m, "lstm", "8"), "--emb-size", "16");
    args = with(args, "--hidden-size", "16");
    args.push("--resume");
    let out = mt(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("warning"), "same settings, no warning: {err}");
    let args = with(with(args, "--emb-size", "32"), "--vocab-size", "500");
    let out = mt(&with(args, "--max-steps", "10"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("mt: warning:")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(warnings[0].contains("--emb-size 32") && warnings[0].contains("--vocab-size 500"));
    let saved = nmt::checkpoint::read_config(&model).unwrap();
    assert_eq!((saved.model.emb_size, saved.train.max_steps), (16, 10));
}

fn set_config(dir: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let path = dir.join("config.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[test]
fn decode_checks_the_loaded_configuration_and_its_options() {
    let tmp = tempdir();
    let model = tmp.path().join("model");
    tiny_lstm(&model, "16");
    let input = write(tmp.path(), "in.txt", "ein hund\n");
    let m = model.to_str().unwrap();
    let decode = ["decode", "--system", "nmt", "--model", m, "--input", input.to_str().unwrap()];
    for opt in [
        &["--beam-size", "0"][..],
        &["--length-penalty", "nan"],
        &["--max-length-ratio=-1"],
        &["--max-length-ratio", "inf"],
        &["--batch-size", "0"],
    ] {
        let err = mt_fails(&[&decode[..], opt].concat());
        assert!(err.contains(opt[0].split('=').next().unwrap()), "{opt:?}: {err}");
    }
    let original = std::fs::read(model.join("config.json")).unwrap();
    for (key, value) in [("dropout", 5.0), ("layers", 0.0), ("layers", 2.0)] {
        set_config(&model, |v| v["model"][key] = serde_json::json!(value as u64));
        if key == "dropout" {
            set_config(&model, |v| v["model"][key] = serde_json::json!(value));
        }
        let err = mt_fails(&decode);
        assert!(err.contains("config.json"), "{key} {value}: {err}");
        std::fs::write(model.join("config.json"), &original).unwrap();
    }
    mt_ok(&decode);
}

#[test]
fn configuration_and_weights_that_disagree_are_named_on_one_line() {
    let tmp = tempdir();
    let (small, big) = (tmp.path().join("small"), tmp.path().join("big"));
    tiny_lstm(&small, "16");
    tiny_lstm(&big, "32");
    std::fs::copy(big.join("config.json"), small.join("config.json")).unwrap();
    let input = write(tmp.path(), "in.txt", "ein hund\n");
    let s = small.to_str().unwrap();
    let err =
        mt_fails(&["decode", "--system", "nmt", "--model", s, "--input", input.to_str().unwrap()]);
    assert!(err.contains("model.safetensors") && err.contains("Lstm."), "{err}");
    assert!(err.contains("[") && !err.contains("ShapeMismatch"), "{err}");
    // Tied embeddings: the weights lack nothing but have a tensor the model has not.
    set_config(&small, |v| {
        v["model"]["emb_size"] = serde_json::json!(16);
        v["model"]["hidden_size"] = serde_json::json!(16);
        v["model"]["tied_embeddings"] = serde_json::json!(true);
    });
    let err =
        mt_fails(&["decode", "--system", "nmt", "--model", s, "--input", input.to_str().unwrap()]);
    assert!(err.contains("tensor Lstm."), "{err}");
}
