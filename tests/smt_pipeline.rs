//! End to end on real data: `mt train --system smt` on a slice of Multi30k de-en,
//! `mt decode` (1-best, n-best, alignments, noisy channel), BLEU with `mt eval`, and a
//! short `mt tune`.

mod cli_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Output;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/multi30k");

fn mt(args: &[&str], stdin: &[u8]) -> Output {
    let out = cli_support::mt(args, stdin);
    assert!(out.status.success(), "mt {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn head_gz(src: &str, n: usize, dest: &Path) {
    let f = std::fs::File::open(src).unwrap();
    let r = BufReader::new(flate2::read::MultiGzDecoder::new(f));
    let lines: Vec<String> = r.lines().take(n).map(Result::unwrap).collect();
    std::fs::write(dest, lines.join("\n") + "\n").unwrap();
}

fn head(src: &str, n: usize, dest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(src).unwrap();
    let lines: Vec<String> = text.lines().take(n).map(str::to_owned).collect();
    std::fs::write(dest, lines.join("\n") + "\n").unwrap();
    lines
}

fn bleu(hyp: &Path, reference: &Path) -> f64 {
    let out = mt(
        &[
            "eval",
            "bleu",
            "--ref",
            reference.to_str().unwrap(),
            hyp.to_str().unwrap(),
            "-b",
            "-w",
            "2",
        ],
        b"",
    );
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    model: String,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    head_gz(&format!("{CORPUS}/train.de.gz"), 3000, &root.join("train.de"));
    head_gz(&format!("{CORPUS}/train.en.gz"), 3000, &root.join("train.en"));
    head(&format!("{CORPUS}/val.de"), 60, &root.join("dev.de"));
    head(&format!("{CORPUS}/val.en"), 60, &root.join("dev.en"));
    let model = root.join("model").display().to_string();
    let p = |n: &str| root.join(n).display().to_string();
    mt(
        &[
            "train",
            "--system",
            "smt",
            "--source",
            &p("train.de"),
            "--target",
            &p("train.en"),
            "--dev-source",
            &p("dev.de"),
            "--dev-target",
            &p("dev.en"),
            "--out",
            &model,
        ],
        b"",
    );
    Setup { _dir: dir, root, model }
}

#[test]
fn train_decode_tune_on_multi30k_slice() {
    let s = setup();
    let m = Path::new(&s.model);
    for f in ["manifest.json", "weights.json", "phrase-table.gz", "phrase-table.bin", "lm.bin"] {
        assert!(m.join(f).exists(), "{f} missing");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(m.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["training_pairs"], 3000);
    assert_eq!(manifest["max_phrase_length"], 7);
    assert!(manifest["tokenizer_version"].as_str().unwrap().starts_with("mt-moses"));

    // 1-best on the first 100 test sentences
    let test_src = head(&format!("{CORPUS}/test2016.de"), 100, &s.root.join("test.de"));
    head(&format!("{CORPUS}/test2016.en"), 100, &s.root.join("test.en"));
    let input = test_src.join("\n") + "\n";
    let out = mt(&["decode", "--system", "smt", "--model", &s.model], input.as_bytes());
    let hyp = String::from_utf8(out.stdout).unwrap();
    assert_eq!(hyp.lines().count(), 100);
    std::fs::write(s.root.join("hyp.en"), &hyp).unwrap();
    let b = bleu(&s.root.join("hyp.en"), &s.root.join("test.en"));
    // a 3000-pair model: far from the full-corpus figure, far above a copy of the input
    assert!(b > 8.0, "BLEU {b}");
    std::fs::write(s.root.join("copy.en"), &input).unwrap();
    assert!(b > bleu(&s.root.join("copy.en"), &s.root.join("test.en")) + 5.0);

    // noisy channel gives a different, lower-quality system
    let out = mt(
        &["decode", "--system", "smt", "--model", &s.model, "--noisy-channel"],
        input.as_bytes(),
    );
    std::fs::write(s.root.join("nc.en"), &out.stdout).unwrap();
    let nc = bleu(&s.root.join("nc.en"), &s.root.join("test.en"));
    assert!(nc > 1.0 && nc < b + 5.0, "noisy channel {nc} vs {b}");

    // n-best: sorted, totals are the weighted feature sums, first entry = 1-best
    let weights: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(m.join("weights.json")).unwrap()).unwrap();
    let w: Vec<f64> =
        weights["weights"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    let ten = test_src[..10].join("\n") + "\n";
    let out = mt(
        &["decode", "--system", "smt", "--model", &s.model, "--n-best", "20", "--alignments"],
        ten.as_bytes(),
    );
    let nbest = String::from_utf8(out.stdout).unwrap();
    let first_lines: Vec<&str> = hyp.lines().take(10).collect();
    let mut last: Option<(usize, f64)> = None;
    let mut firsts = Vec::new();
    for line in nbest.lines() {
        let f: Vec<&str> = line.split(" ||| ").collect();
        assert_eq!(f.len(), 5, "{line}");
        let id: usize = f[0].parse().unwrap();
        let total: f64 = f[3].parse().unwrap();
        if last.map_or(true, |(i, _)| i != id) {
            firsts.push(f[1].to_owned());
        } else {
            assert!(total <= last.unwrap().1 + 1e-4, "not sorted: {line}");
        }
        last = Some((id, total));
        // weighted sum of the feature groups, in the order of weights.json
        let vals: Vec<f64> = f[2]
            .split_whitespace()
            .filter(|t| !t.ends_with('='))
            .map(|t| t.parse().unwrap())
            .collect();
        // n-best order: Distortion LM WordPenalty PhrasePenalty TM×4 Unknown
        let order = [7usize, 4, 5, 6, 0, 1, 2, 3, 8];
        let sum: f64 = order.iter().zip(&vals).map(|(&k, v)| w[k] * v).sum();
        assert!((sum - total).abs() < 1e-2 * (1.0 + total.abs()), "{line}: {sum} vs {total}");
        for link in f[4].split_whitespace() {
            let (a, b) = link.split_once('-').unwrap();
            a.parse::<usize>().unwrap();
            b.parse::<usize>().unwrap();
        }
    }
    assert_eq!(firsts, first_lines);

    // MERT: two short iterations on the 60-sentence dev slice
    mt(
        &[
            "tune",
            "--model",
            &s.model,
            "--max-iterations",
            "2",
            "--restarts",
            "2",
            "--nbest-size",
            "20",
        ],
        b"",
    );
    let tuned: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(m.join("weights.json")).unwrap()).unwrap();
    assert_eq!(tuned["tuned"], true);
    let hist: Vec<f64> =
        tuned["history"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert!(!hist.is_empty());
    assert!(hist.iter().all(|b| b.is_finite()));
    // The manifest records the tuning time beside the training stages.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(m.join("manifest.json")).unwrap()).unwrap();
    let stages = manifest["stage_seconds"].as_array().unwrap();
    let tune = stages.iter().find(|s| s[0] == "tune (MERT)").expect("a tuning stage");
    assert!(tune[1].as_f64().unwrap() > 0.0);
    // untuned weights stay available
    let out = mt(&["decode", "--system", "smt", "--model", &s.model, "--untuned"], ten.as_bytes());
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().collect::<Vec<_>>(), first_lines);
}

/// A lexicalized-reordering model writes its six reordering features into n-best lists
/// (Moses' `LexicalReordering0=`), and each total is the weighted sum of all features.
#[test]
fn msd_nbest_lists_carry_the_reordering_features() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    head_gz(&format!("{CORPUS}/train.de.gz"), 1000, &root.join("train.de"));
    head_gz(&format!("{CORPUS}/train.en.gz"), 1000, &root.join("train.en"));
    let p = |n: &str| root.join(n).display().to_string();
    let model = p("model");
    let args = ["--source", &p("train.de"), "--target", &p("train.en"), "--out", &model];
    let mut train = vec!["train", "--system", "smt", "--reordering", "msd-bidirectional-fe"];
    train.extend(args);
    mt(&train, b"");
    let weights: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("model/weights.json")).unwrap())
            .unwrap();
    let w: Vec<f64> =
        weights["weights"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert!(w[9..15].iter().all(|&x| x > 0.0), "reordering weights in use: {w:?}");
    let src = head(&format!("{CORPUS}/test2016.de"), 5, &root.join("test.de")).join("\n") + "\n";
    let out =
        mt(&["decode", "--system", "smt", "--model", &model, "--n-best", "5"], src.as_bytes());
    let nbest = String::from_utf8(out.stdout).unwrap();
    assert!(nbest.lines().count() >= 5);
    let mut moved = false;
    for line in nbest.lines() {
        let f: Vec<&str> = line.split(" ||| ").collect();
        assert!(f[2].starts_with("LexicalReordering0= "), "{line}");
        let total: f64 = f[3].parse().unwrap();
        let vals: Vec<f64> = f[2]
            .split_whitespace()
            .filter(|t| !t.ends_with('='))
            .map(|t| t.parse().unwrap())
            .collect();
        assert_eq!(vals.len(), 15, "{line}");
        // n-best order: LexicalReordering×6 Distortion LM WordPenalty PhrasePenalty TM×4 Unknown
        let order = [9usize, 10, 11, 12, 13, 14, 7, 4, 5, 6, 0, 1, 2, 3, 8];
        let sum: f64 = order.iter().zip(&vals).map(|(&k, v)| w[k] * v).sum();
        assert!((sum - total).abs() < 1e-2 * (1.0 + total.abs()), "{line}: {sum} vs {total}");
        moved |= vals[..6].iter().any(|&x| x < 0.0);
    }
    assert!(moved, "no reordering score in any hypothesis:\n{nbest}");
}
