//! Helpers shared by the `mt lm` integration tests: running the binary, reading fixtures,
//! and an ARPA parser independent of the one under test.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The path of a file in `tests/fixtures/kenlm`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kenlm").join(name)
}

/// The text of a file, gunzipped when its name ends in `.gz`.
pub fn read_text(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_string(&mut s).unwrap();
        s
    } else {
        String::from_utf8(bytes).unwrap()
    }
}

#[path = "../cli_support/mod.rs"]
mod cli_support;
pub use cli_support::mt;

/// Runs `mt` and insists on success; returns stdout.
pub fn mt_ok(args: &[&str], stdin: &[u8]) -> (String, String) {
    let out = mt(args, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "mt {args:?} failed: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// One ARPA section: n-gram text -> (log10 prob, log10 backoff if present).
pub type Section = HashMap<String, (f64, Option<f64>)>;

/// Parses ARPA text into its declared counts and its sections (index = order - 1).
pub fn parse_arpa(text: &str) -> (Vec<usize>, Vec<Section>) {
    let mut counts = Vec::new();
    let mut sections: Vec<Section> = Vec::new();
    let mut in_section = false;
    for line in text.lines() {
        if let Some(c) = line.strip_prefix("ngram ") {
            counts.push(c.split('=').nth(1).unwrap().parse().unwrap());
        } else if line.starts_with('\\') && line.ends_with("-grams:") {
            sections.push(Section::new());
            in_section = true;
        } else if line == "\\end\\" {
            in_section = false;
        } else if in_section && !line.is_empty() {
            let f: Vec<&str> = line.split('\t').collect();
            let prob = f[0].parse().unwrap();
            let backoff = f.get(2).map(|b| b.parse().unwrap());
            let fresh =
                sections.last_mut().unwrap().insert(f[1].to_owned(), (prob, backoff)).is_none();
            assert!(fresh, "duplicate n-gram {line:?}");
        }
    }
    (counts, sections)
}

/// Asserts that `ours` holds every n-gram of `theirs` (and, when `complete`, no other),
/// each log10 value within `tol`. A missing backoff equals 0.
pub fn assert_sections_match(ours: &[Section], theirs: &[Section], tol: f64, complete: bool) {
    assert_eq!(ours.len(), theirs.len(), "number of orders");
    for (n, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if complete {
            assert_eq!(a.len(), b.len(), "number of {}-grams", n + 1);
        }
        for (gram, &(p, bo)) in b {
            let Some(&(q, bq)) = a.get(gram) else {
                panic!("{}-gram {gram:?} missing", n + 1);
            };
            assert!((p - q).abs() <= tol, "{gram:?}: prob {q} vs {p}");
            let (bo, bq) = (bo.unwrap_or(0.0), bq.unwrap_or(0.0));
            assert!((bo - bq).abs() <= tol, "{gram:?}: backoff {bq} vs {bo}");
        }
    }
}
