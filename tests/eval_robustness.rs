//! Regression tests for the evaluation cases of the robustness list (R20–R23) and for bad
//! input to `mt eval`: wrong shapes, empty references, short sentences, BOM and CR,
//! invalid UTF-8.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

fn mt(args: &[&str], files: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mt")).args(args).args(files).output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

const BLEU_SIG: &str = "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0";
const CHRF_SIG: &str = "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0";

#[test]
fn r20_reference_shape_and_length_mismatch() {
    let d = Dir::new();
    let hyp = d.file("hyp.txt", b"red green blue\n\none two three\n");
    let r = d.file("ref.txt", b"red green blue\ncat dog fox\none two three\n");
    let o = mt(&["eval", "chrf", "-w", "2", "-r"], &[&r, &hyp]);
    assert_eq!(stdout(&o), format!("{CHRF_SIG} = 77.87\n"));
    let o = mt(&["eval", "bleu", "-w", "2", "-r"], &[&r, &hyp]);
    assert_eq!(
        stdout(&o),
        format!(
            "{BLEU_SIG} = 0.00 100.0/100.0/100.0/0.0 (BP = 0.607 ratio = 0.667 hyp_len = 6 \
             ref_len = 9)\n"
        )
    );
    let short = d.file("ref2.txt", b"red green blue\ncat dog fox\n");
    for metric in ["bleu", "chrf", "ter"] {
        let o = mt(&["eval", metric, "-r"], &[&short, &hyp]);
        assert_eq!(o.status.code(), Some(2));
        assert!(o.stdout.is_empty());
        let err = stderr(&o);
        assert!(err.contains("3 hypotheses vs 2 reference lines"), "{err}");
        assert!(err.contains("hyp.txt") && err.contains("ref2.txt"), "{err}");
    }
    // A second reference stream of the wrong length is caught as well.
    let o = mt(&["eval", "bleu", "-r"], &[&r, Path::new("-r"), &short, &hyp]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("3 hypotheses vs 2 reference lines"));
}

#[test]
fn r21_empty_reference_lines() {
    let d = Dir::new();
    let hyp = d.file("hyp.txt", b"a small boat sails on the lake\ntwo dogs play\n");
    let r = d.file("ref.txt", b"a small boat sails on a lake\n\n");
    let o = mt(&["eval", "bleu", "-w", "2", "-r"], &[&r, &hyp]);
    assert_eq!(
        stdout(&o),
        format!(
            "{BLEU_SIG} = 52.33 60.0/50.0/50.0/50.0 (BP = 1.000 ratio = 1.429 hyp_len = 10 \
             ref_len = 7)\n"
        )
    );
    assert!(stderr(&o).contains("1 empty reference"), "{}", stderr(&o));
    let o = mt(&["eval", "chrf", "-w", "2", "-r"], &[&r, &hyp]);
    assert_eq!(stdout(&o), format!("{CHRF_SIG} = 80.47\n"));
}

#[test]
fn r22_short_sentences_and_sentence_bleu() {
    let d = Dir::new();
    let three = d.file("three.txt", b"one two three\nfour five six\n");
    let o = mt(&["eval", "bleu", "-w", "2", "-r"], &[&three, &three]);
    assert!(stdout(&o).starts_with(&format!("{BLEU_SIG} = 0.00 100.0/100.0/100.0/0.0 ")));
    let four = d.file("four.txt", b"one two three four\nfive six seven eight\n");
    let o = mt(&["eval", "bleu", "-w", "2", "-r"], &[&four, &four]);
    assert!(stdout(&o).starts_with(&format!("{BLEU_SIG} = 100.00 ")));

    let green = d.file("green.txt", b"green\na red kite\n");
    let blue = d.file("blue.txt", b"blue\na red kite flies\n");
    let o = mt(&["eval", "bleu", "--sentence-level", "-w", "2", "-b", "-r"], &[&blue, &green]);
    assert_eq!(stdout(&o), "0.00\n71.65\n");
    let o = mt(&["eval", "bleu", "--sentence-level", "-r"], &[&blue, &green]);
    let out = stdout(&o);
    assert!(out.lines().all(|l| l.contains("|eff:yes|")), "{out}");

    let h = d.file("h.txt", b"a red kite flies high over the hill .\n");
    let r = d.file("r.txt", b"a red kite flies high above the hill .\n");
    let o = mt(&["eval", "bleu", "-w", "2", "-r"], &[&r, &h]);
    assert!(stdout(&o).starts_with(&format!("{BLEU_SIG} = 59.69 88.9/75.0/57.1/33.3 ")));
    let o = mt(&["eval", "chrf", "-w", "2", "-r"], &[&r, &h]);
    assert_eq!(stdout(&o), format!("{CHRF_SIG} = 76.20\n"));
}

#[test]
fn r23_bom_and_cr() {
    let d = Dir::new();
    let hyp = d.file("hyp.txt", b"\xEF\xBB\xBFThe cat sat on the mat.\r\n");
    let r = d.file("ref.txt", b"The cat sat on the mat.\n");
    let o = mt(&["eval", "bleu", "-w", "2", "-b", "-r"], &[&r, &hyp]);
    assert_eq!(stdout(&o), "80.91\n");
    let err = stderr(&o);
    assert!(err.contains("hypothesis file starts with a UTF-8 BOM"), "{err}");
    let o = mt(&["eval", "chrf", "-w", "2", "-b", "-r"], &[&r, &hyp]);
    assert_eq!(stdout(&o), "98.71\n");
    let o = mt(&["eval", "bleu", "--strip-bom", "-w", "2", "-b", "-r"], &[&r, &hyp]);
    assert_eq!(stdout(&o), "100.00\n");
    assert!(!stderr(&o).contains("BOM"));
    // A CR before the newline, or a lone trailing one, never reaches a token.
    let cr = d.file("cr.txt", b"The cat sat on the mat .\r\n");
    let o = mt(&["eval", "bleu", "-w", "2", "-b", "-r"], &[&r, &cr]);
    assert_eq!(stdout(&o), "100.00\n");
    let o = mt(&["eval", "ter", "-w", "2", "-b", "-r"], &[&r, &r]);
    assert_eq!(stdout(&o), "0.00\n");
}

#[test]
fn invalid_utf8_names_file_and_line() {
    let d = Dir::new();
    let hyp = d.file("hyp.txt", b"ok\ncaf\xe9\n");
    let r = d.file("ref.txt", b"ok\ncafe\n");
    let o = mt(&["eval", "bleu", "-r"], &[&r, &hyp]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert!(err.contains("hyp.txt:2: invalid UTF-8"), "{err}");
    let o = mt(&["eval", "chrf", "-r"], &[&hyp, &r]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("hyp.txt:2: invalid UTF-8"));
    let o = mt(&["eval", "bleu", "--lossy-utf8", "-r"], &[&r, &hyp]);
    assert!(o.status.success());
}

#[test]
fn stdin_empty_files_and_bad_options() {
    let d = Dir::new();
    let r = d.file("ref.txt", b"The cat is on the mat.\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mt"))
        .args(["eval", "bleu", "-w", "2", "-r"])
        .arg(&r)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"The cat sat on the mat.\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(stdout(&o).starts_with(&format!("{BLEU_SIG} = 48.89 85.7/66.7/40.0/25.0 ")));

    let empty = d.file("empty.txt", b"");
    let o = mt(&["eval", "bleu", "-r"], &[&r, &empty]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no hypotheses"));
    let o = mt(&["eval", "bleu", "--paired-bootstrap", "-r"], &[&r, &r]);
    assert_eq!(o.status.code(), Some(2));
    let o = mt(&["eval", "chrf", "--char-order", "9", "-r"], &[&r, &r]);
    assert_eq!(o.status.code(), Some(2));
    let missing = d.0.path().join("missing.txt");
    let o = mt(&["eval", "ter", "-r"], &[&r, &missing]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.txt"));
}

#[test]
fn multiple_references_and_short_signature() {
    let d = Dir::new();
    let hyp = d.file("hyp.txt", b"a b c d e\n");
    let r1 = d.file("r1.txt", b"a b c d\n");
    let r2 = d.file("r2.txt", b"a b c d e f\n");
    let o = mt(&["eval", "bleu", "--short", "-w", "2", "-r"], &[&r1, Path::new("-r"), &r2, &hyp]);
    assert_eq!(
        stdout(&o),
        "BLEU|#:2|c:mixed|e:no|tok:13a|s:exp|v:2.6.0 = 100.00 100.0/100.0/100.0/100.0 \
         (BP = 1.000 ratio = 1.250 hyp_len = 5 ref_len = 4)\n"
    );
}

#[test]
fn several_systems_and_tokenized_input_warning() {
    let d = Dir::new();
    let r = d.file("ref.txt", b"The cat is on the mat.\n");
    let a = d.file("a.txt", b"The cat sat on the mat.\n");
    let o = mt(&["eval", "bleu", "-w", "2", "-b", "-r"], &[&r, &a, &r]);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].ends_with("a.txt: 48.89"), "{out}");
    assert!(lines[1].ends_with("ref.txt: 100.00"), "{out}");
    let o = mt(&["eval", "chrf", "--json", "-r"], &[&r, &a, &r]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert!(v[0]["system"].as_str().unwrap().ends_with("a.txt"));

    let tok = d.file("tok.txt", "the cat sat .\n".repeat(100).as_bytes());
    let o = mt(&["eval", "bleu", "-r"], &[&tok, &tok]);
    assert!(stderr(&o).contains("100 lines end in a tokenized period"), "{}", stderr(&o));
}

#[test]
fn tab_separated_references() {
    let d = Dir::new();
    let hyp = d.file("hyp.txt", b"a b c d e\n");
    let both = d.file("both.txt", b"a b c d\ta b c d e f\n");
    let o = mt(&["eval", "bleu", "--num-refs", "2", "-b", "-w", "2", "-r"], &[&both, &hyp]);
    assert_eq!(stdout(&o), "100.00\n");
    let o = mt(&["eval", "bleu", "--num-refs", "3", "-r"], &[&both, &hyp]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("both.txt:1: expected 3 tab-separated references, found 2"));
}

/// A one-line error with exit code 2 and nothing on stdout.
fn assert_usage_error(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("mt: error: ") && err.contains(needle), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn width_out_of_range_is_an_error_not_a_panic() {
    let d = Dir::new();
    let r = d.file("ref.txt", b"The cat is on the mat.\n");
    for metric in ["bleu", "chrf", "ter"] {
        let o = mt(&["eval", metric, "-w", "65536", "-r"], &[&r, &r]);
        assert_usage_error(&o, "--width");
        let o = mt(&["eval", metric, "-w", "16", "-r"], &[&r, &r]);
        let out = stdout(&o);
        let score = out.split(" = ").nth(1).unwrap().split_whitespace().next().unwrap();
        assert_eq!(score.split('.').nth(1).map(str::len), Some(16), "{out}");
    }
}

#[test]
fn smoothing_values_must_be_finite_and_non_negative() {
    let d = Dir::new();
    let r = d.file("ref.txt", b"The cat is on the mat.\n");
    let h = d.file("hyp.txt", b"The cat sat on the mat.\n");
    for (method, value) in
        [("add-k", "nan"), ("add-k", "1e308"), ("add-k", "-1"), ("floor", "-0.1"), ("floor", "inf")]
    {
        let arg = format!("--smooth-value={value}");
        let args = ["eval", "bleu", "--smooth-method", method, &arg, "--sentence-level", "-r"];
        assert_usage_error(&mt(&args, &[&r, &h]), "--smooth-value");
    }
    // Valid values score as before.
    let o =
        mt(&["eval", "bleu", "--smooth-method", "add-k", "--smooth-value", "1", "-r"], &[&r, &h]);
    let out = stdout(&o);
    assert!(out.contains("smooth:add-k[1.00]") && !out.to_lowercase().contains("nan"), "{out}");
}
