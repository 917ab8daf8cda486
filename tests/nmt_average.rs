//! `mt train --keep-snapshots` and `mt average` (checkpoint averaging) end to end on the
//! 20 real Multi30k pairs of the tiny models.

mod nmt_support;

use std::path::Path;

use nmt_support::*;

fn leak(x: &Path) -> &'static str {
    Box::leak(x.to_str().unwrap().to_string().into_boxed_str())
}

/// A tiny Transformer trained 12 updates, validated every 3, keeping 2 snapshots.
fn train_with_snapshots(dir: &Path) {
    let mut args = tiny_train_args(leak(dir), "transformer", "12");
    let i = args.iter().position(|x| *x == "--valid-every").unwrap();
    args[i + 1] = "3";
    args.extend(["--keep-snapshots", "2"]);
    mt_ok(&args);
}

fn decode(model: &Path, out: &Path) -> String {
    mt_ok(&[
        "decode",
        "--system",
        "nmt",
        "--model",
        leak(model),
        "--input",
        TINY_DE,
        "--beam-size",
        "1",
        "--threads",
        "1",
        "-o",
        leak(out),
    ]);
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn snapshots_are_kept_and_averaged() {
    let tmp = tempdir();
    let run = tmp.path().join("run");
    train_with_snapshots(&run);
    let mut names: Vec<String> = std::fs::read_dir(run.join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["update-0000009.safetensors", "update-0000012.safetensors"]);

    // The mean of the last two snapshots is a model that decodes every line.
    let avg = tmp.path().join("avg");
    mt_ok(&["average", "--model", leak(&run), "--out", leak(&avg), "--last", "2"]);
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        assert!(avg.join(f).is_file(), "{f} missing");
    }
    let averaged = decode(&avg, &tmp.path().join("avg.en"));
    assert_eq!(averaged.lines().count(), lines(TINY_DE).len());

    // Averaging one snapshot, or the same snapshot twice, gives back its model: the last
    // snapshot is also the final model (no dev set, so every validation saves it).
    let last = run.join("snapshots/update-0000012.safetensors");
    let final_out = decode(&run, &tmp.path().join("final.en"));
    let one = tmp.path().join("one");
    mt_ok(&["average", "--model", leak(&run), "--out", leak(&one), leak(&last)]);
    assert_eq!(decode(&one, &tmp.path().join("one.en")), final_out);
    let twice = tmp.path().join("twice");
    mt_ok(&["average", "--model", leak(&run), "--out", leak(&twice), leak(&last), leak(&last)]);
    assert_eq!(decode(&twice, &tmp.path().join("twice.en")), final_out);
    // Averaging two different snapshots changes the weights.
    let a = std::fs::read(avg.join("model.safetensors")).unwrap();
    let b = std::fs::read(one.join("model.safetensors")).unwrap();
    assert_ne!(a, b);
}

#[test]
fn bad_averaging_requests_are_clear_errors() {
    let tmp = tempdir();
    let run = tmp.path().join("run");
    train_with_snapshots(&run);
    let out = tmp.path().join("out");

    // More snapshots asked for than kept.
    let o = mt(&["average", "--model", leak(&run), "--out", leak(&out), "--last", "3"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("snapshots") && err.contains("--last 3"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!out.exists(), "nothing may be written on failure");

    // Weights of another model (an LSTM's) for this Transformer's configuration.
    let lstm = overfit_lstm().join("model.safetensors");
    let o = mt(&["average", "--model", leak(&run), "--out", leak(&out), leak(&lstm)]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("model.safetensors"), "{err}");
    assert!(!out.exists(), "nothing may be written on failure");

    // A missing weight file.
    let missing = tmp.path().join("nope.safetensors");
    let o = mt(&["average", "--model", leak(&run), "--out", leak(&out), leak(&missing)]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope.safetensors"));

    // --last and named weight files together.
    let last = run.join("snapshots/update-0000012.safetensors");
    let o =
        mt(&["average", "--model", leak(&run), "--out", leak(&out), "--last", "2", leak(&last)]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--last"));
    assert!(!out.exists(), "nothing may be written on failure");

    // The model directory itself as the output.
    let o = mt(&["average", "--model", leak(&run), "--out", leak(&run), "--last", "2"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("new directory"));

    // An output that is a file.
    let file = write(tmp.path(), "file", "x");
    let o = mt(&["average", "--model", leak(&run), "--out", leak(&file), "--last", "2"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a directory"));

    // An output that holds a model is kept unless --overwrite.
    mt_ok(&["average", "--model", leak(&run), "--out", leak(&out), "--last", "2"]);
    let o = mt(&["average", "--model", leak(&run), "--out", leak(&out), "--last", "1"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--overwrite"));
    mt_ok(&["average", "--model", leak(&run), "--out", leak(&out), "--last", "1", "--overwrite"]);
}
