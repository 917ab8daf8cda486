//! `mt eval` against sacreBLEU 2.6.0's own output on the seven fixture sets in
//! `tests/fixtures/bleu` (Multi30k test2016): every value within 1e-9, signatures equal.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bleu")
}

const SETS: [&str; 7] =
    ["copy-source", "empty-hyp-lines", "identity", "noisy-1", "noisy-3", "noisy-6", "one-word"];

/// Runs `mt eval METRIC --json ARGS -r ref hyp` on a fixture set and parses the output.
fn mt_json(set: &str, metric: &str, args: &[&str]) -> String {
    let dir = fixtures().join(set);
    let out = Command::new(env!("CARGO_BIN_EXE_mt"))
        .arg("eval")
        .arg(metric)
        .arg("--json")
        .args(args)
        .arg("-r")
        .arg(dir.join("ref.1.txt"))
        .arg(dir.join("hyp.txt"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn expected(set: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(set).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn close(got: &Value, want: &Value, what: &str) {
    let (g, w) = (got.as_f64().unwrap(), want.as_f64().unwrap());
    assert!((g - w).abs() <= 1e-9, "{what}: got {g}, sacreBLEU {w}");
}

fn close_arrays(got: &Value, want: &Value, what: &str) {
    let (g, w) = (got.as_array().unwrap(), want.as_array().unwrap());
    assert_eq!(g.len(), w.len(), "{what}");
    for (k, (a, b)) in g.iter().zip(w).enumerate() {
        close(a, b, &format!("{what}[{k}]"));
    }
}

#[test]
fn corpus_bleu_under_four_settings() {
    let settings: [(&str, &[&str]); 4] = [
        ("bleu", &[]),
        ("bleu_lc", &["--lowercase"]),
        ("bleu_intl", &["--tokenize", "intl"]),
        ("bleu_none", &["--tokenize", "none"]),
    ];
    for set in SETS {
        let exp = expected(set);
        for (key, args) in settings {
            let got: Value = serde_json::from_str(&mt_json(set, "bleu", args)).unwrap();
            let want = &exp[key];
            let exact = &got["exact"];
            let what = format!("{set} {key}");
            close(&exact["score"], &want["score"], &format!("{what} score"));
            close_arrays(&exact["counts"], &want["counts"], &format!("{what} counts"));
            close_arrays(&exact["totals"], &want["totals"], &format!("{what} totals"));
            close_arrays(&exact["precisions"], &want["precisions"], &format!("{what} precisions"));
            close(&exact["bp"], &want["bp"], &format!("{what} bp"));
            assert_eq!(exact["sys_len"], want["sys_len"], "{what} sys_len");
            assert_eq!(exact["ref_len"], want["ref_len"], "{what} ref_len");
            assert_eq!(got["signature"], want["signature"], "{what} signature");
        }
    }
}

#[test]
fn chrf_chrf_plus_plus_and_ter() {
    let settings: [(&str, &str, &[&str]); 3] =
        [("chrf", "chrf", &[]), ("chrf_pp", "chrf", &["--word-order", "2"]), ("ter", "ter", &[])];
    for set in SETS {
        let exp = expected(set);
        for (key, metric, args) in settings {
            let got: Value = serde_json::from_str(&mt_json(set, metric, args)).unwrap();
            let what = format!("{set} {key}");
            close(&got["exact"]["score"], &exp[key]["score"], &format!("{what} score"));
            assert_eq!(got["signature"], exp[key]["signature"], "{what} signature");
        }
    }
}

#[test]
fn sentence_bleu_of_the_first_fifty_lines() {
    for set in SETS {
        let exp = expected(set);
        let want = exp["sentence_bleu"].as_array().unwrap();
        let out = mt_json(set, "bleu", &["--sentence-level"]);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() >= want.len(), "{set}");
        for (k, (line, w)) in lines.iter().zip(want).enumerate() {
            let got: Value = serde_json::from_str(line).unwrap();
            close(&got["exact"]["score"], w, &format!("{set} sentence {}", k + 1));
            assert_eq!(
                got["signature"],
                "nrefs:1|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0"
            );
        }
    }
}

#[test]
fn text_output_is_sacrebleus_score_line() {
    let dir = fixtures().join("noisy-3");
    let out = Command::new(env!("CARGO_BIN_EXE_mt"))
        .args(["eval", "bleu", "-r"])
        .arg(dir.join("ref.1.txt"))
        .arg(dir.join("hyp.txt"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 57.3 \
         95.7/73.0/57.2/45.5 (BP = 0.877 ratio = 0.884 hyp_len = 11456 ref_len = 12955)\n"
    );
}

/// The numbers of one system row of sacreBLEU's `--paired-bs` table, per metric column:
/// score, mean, ci and (except for the baseline) the p-value.
fn parse_paired_table(text: &str) -> Vec<Vec<Vec<f64>>> {
    let num = |s: &str| -> Vec<f64> {
        s.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|t| !t.is_empty() && t != &".")
            .map(|t| t.parse().unwrap())
            .collect()
    };
    let mut rows: Vec<Vec<Vec<f64>>> = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('│')) {
        let cells: Vec<&str> = line.split('│').collect();
        let cells = &cells[1..cells.len() - 1];
        if cells[0].trim() == "System" {
            continue;
        }
        if cells[0].trim().is_empty() {
            let last = rows.last_mut().unwrap();
            for (col, cell) in last.iter_mut().zip(&cells[1..]) {
                col.extend(num(cell));
            }
        } else {
            rows.push(cells[1..].iter().map(|c| num(c)).collect());
        }
    }
    rows
}

#[test]
fn paired_bootstrap_equals_sacrebleu() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let table = std::fs::read_to_string(root.join("eval/paired-bs.txt")).unwrap();
    let want = parse_paired_table(&table);
    assert_eq!(want.len(), 3);
    for (col, metric) in ["bleu", "chrf", "ter"].into_iter().enumerate() {
        let out = Command::new(env!("CARGO_BIN_EXE_mt"))
            .args(["eval", metric, "--paired-bootstrap", "--json", "-r"])
            .arg(root.join("bleu/identity/ref.1.txt"))
            .arg(root.join("bleu/noisy-3/hyp.txt"))
            .arg(root.join("eval/close-better.txt"))
            .arg(root.join("eval/close-worse.txt"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        let got = got.as_array().unwrap();
        assert_eq!(got.len(), 3);
        for (sys, (g, w)) in got.iter().zip(&want).enumerate() {
            let w = &w[col];
            let e = &g["exact"];
            let r4 = |v: &Value| (v.as_f64().unwrap() * 1e4).round() / 1e4;
            let what = format!("{metric} system {}", sys + 1);
            assert_eq!(r4(&e["score"]), w[0], "{what} score");
            assert_eq!(r4(&e["mean"]), w[1], "{what} mean");
            assert_eq!(r4(&e["ci"]), w[2], "{what} ci");
            if sys == 0 {
                assert!(e["p_value"].is_null());
            } else {
                assert_eq!(r4(&e["p_value"]), w[3], "{what} p-value");
            }
            let sig = g["signature"].as_str().unwrap();
            assert!(sig.starts_with("nrefs:1|bs:1000|seed:12345|"), "{sig}");
        }
    }
}

#[test]
fn confidence_interval_equals_sacrebleu() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let want = std::fs::read_to_string(root.join("eval/confidence.txt")).unwrap();
    let want: Vec<&str> = want.lines().map(str::trim).collect();
    let dir = root.join("bleu/noisy-3");
    for (metric, want) in ["bleu", "chrf", "ter"].into_iter().zip(want) {
        let out = Command::new(env!("CARGO_BIN_EXE_mt"))
            .args(["eval", metric, "--confidence", "-w", "4", "-r"])
            .arg(dir.join("ref.1.txt"))
            .arg(dir.join("hyp.txt"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8(out.stdout).unwrap().trim_end(), want);
    }
}

fn mt_text(args: &[&str], set: &str) -> String {
    let dir = fixtures().join(set);
    let out = Command::new(env!("CARGO_BIN_EXE_mt"))
        .arg("eval")
        .args(args)
        .args(["-w", "12", "-r"])
        .arg(dir.join("ref.1.txt"))
        .arg(dir.join("hyp.txt"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn metric_options_equal_sacrebleu() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval");
    let table = std::fs::read_to_string(root.join("options.txt")).unwrap();
    let mut n = 0;
    for row in table.lines() {
        let f: Vec<&str> = row.split('\t').collect();
        let (set, metric, opts, want) = (f[0], f[1], f[2], f[3]);
        let mut args = vec![metric];
        args.extend(opts.split(' '));
        assert_eq!(mt_text(&args, set).trim_end(), want, "{set} {metric} {opts}");
        n += 1;
    }
    assert_eq!(n, 36);
}

#[test]
fn sentence_level_chrf_plus_plus_and_ter_equal_sacrebleu() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval");
    let cases: [(&str, &[&str]); 2] = [
        ("sentence-chrf-pp.txt", &["chrf", "--word-order", "2", "--sentence-level"]),
        ("sentence-ter.txt", &["ter", "--sentence-level"]),
    ];
    for (file, args) in cases {
        let want = std::fs::read_to_string(root.join(file)).unwrap();
        assert_eq!(mt_text(args, "empty-hyp-lines"), want, "{file}");
    }
}
