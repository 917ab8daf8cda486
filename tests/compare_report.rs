//! End-to-end: `mt compare --budget tiny` on the shipped Multi30k and Hansards files
//! writes a complete, valid report.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use mt::report::document::Report;

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", path.display());
    let reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    assert!(reader.info().width > 100 && reader.info().height > 100);
}

fn assert_svg(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"), "{}", path.display());
}

/// Runs `mt compare --budget tiny` on the shipped corpora into `out`; returns its stdout.
fn tiny_compare(out: &Path, extra: &[OsString]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(env!("CARGO_BIN_EXE_mt"))
        .args(["compare", "--budget", "tiny", "--threads", "2"])
        .arg("--corpus")
        .arg(root.join("corpora/multi30k"))
        .arg("--hansards")
        .arg(root.join("corpora/hansards-enfr"))
        .args(extra)
        .arg("--out")
        .arg(out)
        .env("MT_NO_PROGRESS", "1")
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    String::from_utf8(status.stdout).unwrap()
}

#[test]
fn tiny_comparison_writes_a_valid_report() {
    let out = tempfile::tempdir().unwrap();
    let stdout = tiny_compare(out.path(), &[]);
    assert!(
        stdout.contains("| smt |") && stdout.contains("| nmt |") && stdout.contains("| hybrid |")
    );

    // The JSON validates against the documented fields (unknown fields are rejected).
    let json = std::fs::read_to_string(out.path().join("report.json")).unwrap();
    let report: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(report.schema_version, 1);
    assert_eq!(report.test_pairs, 20);
    let names: Vec<&str> = report.systems.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["smt", "nmt", "hybrid"]);
    for s in &report.systems {
        for m in [&s.bleu, &s.chrf] {
            assert!((0.0..=100.0).contains(&m.score), "{}: {}", s.name, m.score);
        }
        assert!(s.ter.score >= 0.0 && s.ter.score.is_finite());
        assert!(s.bleu.signature.starts_with("BLEU|nrefs:1|"));
        assert_eq!(s.significance.is_none(), s.name == "smt");
        assert!(s.model_bytes > 0);
    }
    // The SMT system, trained on 300 pairs, still gets a chrF well above zero.
    assert!(report.systems[0].chrf.score > 10.0, "{}", report.systems[0].chrf.score);
    let total: usize = report.length_buckets.iter().map(|b| b.sentences).sum();
    assert_eq!(total, 20);
    let alignment = report.alignment.as_ref().unwrap();
    assert_eq!(alignment.sentences, 37);
    for e in &alignment.entries {
        assert!((0.0..=1.0).contains(&e.aer), "{}: {}", e.system, e.aer);
    }
    for plot in &report.plots {
        let path = out.path().join(plot);
        if plot.ends_with(".png") {
            assert_png(&path);
        } else {
            assert_svg(&path);
        }
    }
    assert!(report.plots.iter().any(|p| p == "bleu_by_length.png"));
    assert!(report.plots.iter().any(|p| p == "alignment_matrix.svg"));
    assert!(report.plots.iter().any(|p| p == "nmt_learning_curve.png"));
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(md.contains("## BLEU by source length") && md.contains("## Alignment error rate"));

    // A second run loads the three trained models instead of training: no training stage
    // runs, and the same models give the same translations and scores.
    let again = tempfile::tempdir().unwrap();
    let model = |name: &str| out.path().join(name).into_os_string();
    tiny_compare(
        again.path(),
        &[
            "--smt-model".into(),
            model("smt-model"),
            "--nmt-model".into(),
            model("nmt-model"),
            "--hansards-nmt-model".into(),
            model("alignment/nmt-model"),
        ],
    );
    let logs: Vec<String> = std::fs::read_dir(again.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!logs.iter().any(|l| l.contains("train")), "{logs:?}");
    assert!(!again.path().join("smt-model").exists() && !again.path().join("nmt-model").exists());
    let json = std::fs::read_to_string(again.path().join("report.json")).unwrap();
    let loaded: Report = serde_json::from_str(&json).unwrap();
    for (a, b) in report.systems.iter().zip(&loaded.systems) {
        assert_eq!(a.bleu.score, b.bleu.score, "{}", a.name);
        assert_eq!(a.train_seconds > 0.0, b.train_seconds > 0.0, "{}", a.name);
    }
    assert!(loaded.systems[1].description.contains("loaded from"));
    let (x, y) = (report.alignment.unwrap(), loaded.alignment.unwrap());
    assert_eq!(x.entries[1].aer, y.entries[1].aer);

    // A model of another language pair is refused before any stage runs.
    let third = tempfile::tempdir().unwrap();
    let o = compare_fails(
        &third.path().join("r"),
        &["--pair".into(), "en-de".into(), "--smt-model".into(), model("smt-model")],
    );
    assert!(o.contains("translates de-en, but --pair is en-de"), "{o}");
}

/// Runs a tiny compare that must fail at once; returns its one-line error.
fn compare_fails(out: &Path, extra: &[OsString]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_mt"))
        .args(["compare", "--budget", "tiny"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .env("MT_NO_PROGRESS", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists(), "nothing is written before the models are checked");
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("mt: error: "), "{err}");
    err
}

#[test]
fn bad_model_directories_are_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let missing = tmp.path().join("no-such-model");
    for flag in ["--smt-model", "--nmt-model", "--hansards-nmt-model"] {
        let err = compare_fails(&out, &[flag.into(), missing.clone().into_os_string()]);
        assert!(err.contains("no-such-model"), "{flag}: {err}");
    }
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = compare_fails(&out, &["--nmt-model".into(), empty.into_os_string()]);
    assert!(err.contains("is not an nmt model directory"), "{err}");
    let err = compare_fails(
        &out,
        &["--hansards".into(), "none".into(), "--hansards-nmt-model".into(), missing.into()],
    );
    assert!(err.contains("no-such-model") || err.contains("--hansards is none"), "{err}");
}
