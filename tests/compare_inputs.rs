//! Regression tests: `mt compare` checks every input (corpus split, Hansards files,
//! loaded models and the data they were trained on) before any stage, and never leaves
//! an earlier run's report beside a failed run's outputs.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TINY_DE: &str = "tests/fixtures/nmt/tiny.de";
const TINY_EN: &str = "tests/fixtures/nmt/tiny.en";

fn mt<I: IntoIterator<Item = OsString>>(args: I) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mt")).args(args).env("MT_NO_PROGRESS", "1").output().unwrap()
}

fn os(items: &[&str]) -> Vec<OsString> {
    items.iter().map(OsString::from).collect()
}

/// `mt compare --budget tiny --threads 1 EXTRA --out OUT`.
fn compare(out: &Path, extra: &[OsString]) -> Output {
    let mut a = os(&["compare", "--budget", "tiny", "--threads", "1"]);
    a.extend(extra.iter().cloned());
    a.extend(["--out".into(), out.into()]);
    mt(a)
}

/// Expects a one-line error and no report directory; returns the line.
fn fails_at_once(out: &Path, extra: &[OsString]) -> String {
    let o = compare(out, extra);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("mt: error: "), "{err}");
    assert!(!out.exists(), "nothing is written before the inputs are checked: {err}");
    err
}

/// A corpus directory with the 20 tiny pairs as every split, the training split gzipped.
fn tiny_corpus(dir: &Path) -> PathBuf {
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for (lang, file) in [("de", TINY_DE), ("en", TINY_EN)] {
        let text = std::fs::read(file).unwrap();
        let gz = std::fs::File::create(corpus.join(format!("train.{lang}.gz"))).unwrap();
        let mut enc = flate2::write::GzEncoder::new(gz, flate2::Compression::default());
        enc.write_all(&text).unwrap();
        enc.finish().unwrap();
        for split in ["val", "test2016"] {
            std::fs::write(corpus.join(format!("{split}.{lang}")), &text).unwrap();
        }
    }
    corpus
}

fn train(system: &str, source: &Path, target: &Path, out: &Path, extra: &[&str]) {
    let mut a = os(&["train", "--system", system, "--threads", "1", "--source"]);
    a.extend([source.into(), "--target".into(), target.into(), "--out".into(), out.into()]);
    a.extend(os(extra));
    let o = mt(a);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

const SMT: &[&str] = &["--source-lang", "de", "--target-lang", "en"];
const NMT: &[&str] = &[
    "--emb-size",
    "16",
    "--hidden-size",
    "16",
    "--vocab-size",
    "300",
    "--max-steps",
    "3",
    "--valid-every",
    "0",
];

#[test]
fn missing_hansards_files_fail_before_any_stage() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rep");
    let err = fails_at_once(&out, &os(&["--hansards", "/nonexistent-hansards"]));
    assert!(err.contains("/nonexistent-hansards"), "{err}");
    // A directory without the trial gold.
    let h = tmp.path().join("hansards");
    std::fs::create_dir(&h).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora/hansards-enfr");
    for f in ["train.en.gz", "train.fr.gz", "trial.en", "trial.fr"] {
        std::fs::copy(root.join(f), h.join(f)).unwrap();
    }
    let err = fails_at_once(&out, &["--hansards".into(), h.clone().into()]);
    assert!(err.contains("trial.wa"), "{err}");
    // A missing split file of the pair.
    let err = fails_at_once(&out, &os(&["--hansards", "none", "--pair", "de-xx"]));
    assert!(err.contains(".xx"), "{err}");
}

#[test]
fn loaded_models_must_have_been_trained_on_the_training_split() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tiny_corpus(tmp.path());
    let (de, en) = (corpus.join("train.de.gz"), corpus.join("train.en.gz"));
    let (smt, nmt) = (tmp.path().join("smt"), tmp.path().join("nmt"));
    train("smt", &de, &en, &smt, SMT);
    train("nmt", &de, &en, &nmt, NMT);
    // On the shipped Multi30k (300 training pairs), both are refused before any stage.
    let out = tmp.path().join("rep");
    for (flag, dir) in [("--smt-model", &smt), ("--nmt-model", &nmt)] {
        let err =
            fails_at_once(&out, &["--hansards".into(), "none".into(), flag.into(), dir.into()]);
        assert!(err.contains("was not trained on the training split"), "{err}");
    }
    // On the tiny corpus, whose training split compare writes as plain text, they pass;
    // so does an SMT model whose manifest predates the recorded text digests (its
    // training files are read again).
    let manifest = smt.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    for c in m["corpora"].as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("text");
    }
    std::fs::write(&manifest, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let mut extra = vec!["--corpus".into(), corpus.into_os_string()];
    extra.extend(os(&["--hansards", "none"]));
    extra.extend(["--smt-model".into(), smt.into(), "--nmt-model".into(), nmt.into()]);
    let o = compare(&out, &extra);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("warning"), "{err}");
    assert!(out.join("report.json").exists());
}

#[test]
fn a_failed_run_leaves_no_earlier_report() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tiny_corpus(tmp.path());
    // A training split with no usable pair: the SMT training stage fails.
    for lang in ["de", "en"] {
        std::fs::remove_file(corpus.join(format!("train.{lang}.gz"))).unwrap();
        std::fs::write(corpus.join(format!("train.{lang}")), "\n\n\n").unwrap();
    }
    let out = tmp.path().join("rep");
    std::fs::create_dir(&out).unwrap();
    for f in ["report.md", "report.json"] {
        std::fs::write(out.join(f), "an earlier run's report").unwrap();
    }
    let mut extra = vec!["--corpus".into(), corpus.into_os_string()];
    extra.extend(os(&["--hansards", "none"]));
    let o = compare(&out, &extra);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("smt-train"), "{err}");
    assert!(!out.join("report.md").exists() && !out.join("report.json").exists());
}
