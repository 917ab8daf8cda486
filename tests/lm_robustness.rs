//! Regression tests for the LM cases of the robustness list (R06-R10) and for bad input.

mod lm_support;

use lm_support::{fixture, mt, mt_ok, parse_arpa};

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

const R06_TEXT: &[u8] = b"the red fox runs\na red hen sits\nthe hen runs fast\na fox sits still\n";

#[test]
fn r06_tiny_corpus_names_the_failing_order_and_the_fallback_option() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r06.arpa");
    let args = ["lm", "train", "--order", "3", "--arpa", out.to_str().unwrap()];
    let res = mt(&args, R06_TEXT);
    assert_eq!(res.status.code(), Some(2));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("order 1"), "{err}");
    assert!(err.contains("adjusted count 3"), "{err}");
    assert!(err.contains("D3+"), "{err}");
    assert!(err.contains("count-of-counts 4 5 0 1"), "{err}");
    assert!(err.contains("--discount-fallback"), "{err}");
    assert!(!out.exists(), "no half-written model");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn r06_fallback_discounts_warn_once_per_order() {
    let args = ["lm", "train", "--order", "2", "--arpa", "-", "--discount-fallback"];
    let (arpa, stderr) = mt_ok(&args, R06_TEXT);
    assert!(arpa.contains("-1.0066307\tfox\t-0.30103\n"), "{arpa}");
    assert_eq!(stderr.matches("substituting fallback discounts").count(), 2);
    assert!(stderr.contains("order 1") && stderr.contains("order 2"), "{stderr}");
}

#[test]
fn r07_literal_special_tokens_are_refused_or_skipped() {
    let text = b"the <unk> runs\nthe dog <unk>\n<s> a dog\n";
    let res = mt(&["lm", "train", "--order", "2", "--arpa", "-"], text);
    assert_eq!(res.status.code(), Some(2));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("<stdin>:1:"), "{err}");
    assert!(err.contains("<unk> is not allowed"), "{err}");
    assert!(err.contains("--skip-symbols"), "{err}");
    assert!(res.stdout.is_empty());
    let args = ["lm", "train", "--order", "2", "--arpa", "-", "--skip-symbols"];
    let mut args = args.to_vec();
    args.push("--discount-fallback");
    let (arpa, stderr) = mt_ok(&args, text);
    assert_eq!(stderr.matches("treated as whitespace").count(), 1, "{stderr}");
    let (counts, sections) = parse_arpa(&arpa);
    // <unk> <s> </s> the runs dog a: the literal tokens were dropped.
    assert_eq!(counts[0], 7);
    assert!(sections[1].contains_key("the runs"));
    assert!(sections[1].contains_key("<s> a"));
}

const R08_TEXT: &[u8] = b"a b c d\nb c d\nc d\nd\n";

fn r08_arpa() -> String {
    mt_ok(&["lm", "train", "--order", "1", "--arpa", "-"], R08_TEXT).0
}

#[test]
fn r08_order_one_model_is_written_loaded_and_scored() {
    let arpa = r08_arpa();
    let (counts, sections) = parse_arpa(&arpa);
    assert_eq!(counts, vec![7]);
    assert!(!arpa.contains("\\2-grams:"));
    let expected = [
        ("</s>", -0.538078),
        ("<s>", 0.0),
        ("<unk>", -1.5563),
        ("a", -1.12265),
        ("b", -1.00346),
        ("c", -0.661038),
        ("d", -0.538078),
    ];
    for (w, p) in expected {
        let (q, backoff) = sections[0][w];
        assert!((q - p).abs() < 5e-6, "{w}: {q} vs {p}");
        assert_eq!(backoff, None, "no backoff column in an order-1 file");
    }
    let dir = tempfile::tempdir().unwrap();
    let model = write(&dir, "r08.arpa", arpa.as_bytes());
    let (out, _) = mt_ok(&["lm", "query", "--model", &model], b"a b\n");
    let total: f32 =
        out.split("Total: ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let sum = sections[0]["a"].0 + sections[0]["b"].0 + sections[0]["</s>"].0;
    assert!((f64::from(total) - sum).abs() < 1e-5, "{total} vs {sum}");
    // The library state of an order-1 model is always empty.
    let lm = smt::lm::LanguageModel::load(std::path::Path::new(&model)).unwrap();
    assert!(lm.begin_sentence_state().is_empty());
    let (_, s) = lm.score_word(&lm.begin_sentence_state(), lm.vocab_id("a"));
    assert!(s.is_empty());
}

#[test]
fn r09_crlf_and_bom_arpa_score_exactly_like_lf() {
    let arpa = r08_arpa();
    let dir = tempfile::tempdir().unwrap();
    let lf = write(&dir, "lf.arpa", arpa.as_bytes());
    let crlf = write(&dir, "crlf.arpa", arpa.replace('\n', "\r\n").as_bytes());
    let bom = write(&dir, "bom.arpa", format!("\u{feff}{arpa}").as_bytes());
    let input = b"a b c\r\nd d x\n";
    let reference = mt_ok(&["lm", "query", "--model", &lf], input).0;
    assert!(!reference.contains('\r'), "a CR is never part of a word");
    for model in [crlf, bom] {
        assert_eq!(mt_ok(&["lm", "query", "--model", &model], input).0, reference);
    }
}

#[test]
fn r10_only_kenlm_whitespace_splits_lm_tokens() {
    let line = "zwei\u{a0}Männer\tspielen\u{b}Fußball\n";
    let args = ["lm", "train", "--order", "2", "--arpa", "-", "--discount-fallback"];
    let (arpa, _) = mt_ok(&args, line.as_bytes());
    let (counts, sections) = parse_arpa(&arpa);
    assert_eq!(counts, vec![5, 3]);
    assert!(sections[0].contains_key("zwei\u{a0}Männer"));
    assert!(sections[0].contains_key("spielen\u{b}Fußball"));
    assert!(sections[1].contains_key("zwei\u{a0}Männer spielen\u{b}Fußball"));
    for section in &sections {
        for gram in section.keys() {
            for word in gram.split(' ') {
                assert!(!word.is_empty() && !word.contains(['\t', '\r', '\n']), "{gram:?}");
            }
        }
    }
}

#[test]
fn srilm_style_files_load_with_a_warning_for_missing_unk() {
    let five = fixture("srilm-style-5gram.arpa");
    let (out, stderr) = mt_ok(
        &["lm", "query", "--model", five.to_str().unwrap(), "--verbose", "sentence"],
        b"a little higher\n",
    );
    assert!(stderr.is_empty(), "{stderr}");
    assert!(out.starts_with("Total: -"), "{out}");
    let nounk = fixture("srilm-style-nounk.arpa");
    let (out, stderr) = mt_ok(&["lm", "query", "--model", nounk.to_str().unwrap()], b"a zebra\n");
    assert!(stderr.contains("no <unk>") && stderr.contains("-100"), "{stderr}");
    assert!(out.contains("zebra="), "{out}");
    assert!(out.contains("OOVs:\t1\n"), "{out}");
}

#[test]
fn malformed_arpa_is_an_error_with_its_line() {
    let good = r08_arpa();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (good.replace("ngram 1=7", "ngram 1=8"), 12, "fewer n-grams"),
        (good.replace("-1.1226469\ta", "-1.12x\ta"), 8, "bad log10 probability"),
        (good.replace("\\1-grams:", "\\2-grams:"), 4, "expected \\1-grams:"),
        (good.replace("\\end\\\n", ""), 12, "missing \\end\\"),
    ];
    for (i, (text, line, needle)) in cases.into_iter().enumerate() {
        let path = write(&dir, &format!("bad{i}.arpa"), text.as_bytes());
        let res = mt(&["lm", "query", "--model", &path], b"a\n");
        assert_eq!(res.status.code(), Some(2));
        let err = String::from_utf8_lossy(&res.stderr);
        assert!(err.contains(&format!("bad{i}.arpa:{line}:")), "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn empty_training_text_is_a_clear_error() {
    let res = mt(&["lm", "train", "--order", "3", "--arpa", "-"], b"");
    assert_eq!(res.status.code(), Some(2));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("<stdin>: the training text is empty"), "{err}");
}

#[test]
fn perplexity_over_no_words_is_not_nan() {
    let model = fixture("toy0.arpa");
    let model = model.to_str().unwrap();
    let (out, _) = mt_ok(&["lm", "query", "--model", model, "--text", "-"], b"");
    assert!(out.contains("Perplexity including OOVs:\tundefined (no words)"), "{out}");
    assert!(!out.to_lowercase().contains("nan"), "{out}");
    let args = ["lm", "query", "--model", model, "--null-context", "--text", "-"];
    let (out, _) = mt_ok(&args, b"\n\n");
    assert!(out.contains("Perplexity excluding OOVs:\tundefined (no words)"), "{out}");
    assert!(out.contains("Tokens:\t0"), "{out}");
    assert!(!out.to_lowercase().contains("nan"), "{out}");
}

const SMALL_ARPA: &str = "\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1\t<unk>\t0\n\
    -99\t<s>\t-0.5\n-0.5\t</s>\n-0.3\ta\t-0.2\n\n\\2-grams:\n-0.1\t<s> a\n-0.2\ta </s>\n\n\
    \\end\\\n";

fn query_error(dir: &tempfile::TempDir, name: &str, arpa: &str) -> String {
    let path = write(dir, name, arpa.as_bytes());
    let out = mt(&["lm", "query", "--model", &path, "--text", "-"], b"a a\n");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn arpa_errors_name_file_line_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let dup = SMALL_ARPA
        .replace("ngram 2=2", "ngram 2=3")
        .replace("\n\n\\end", "\n-0.2\ta </s>\n\n\\end");
    let err = query_error(&dir, "dup.arpa", &dup);
    assert!(err.contains("dup.arpa:14: duplicate 2-gram \"a </s>\""), "{err}");
    let big = SMALL_ARPA.replace("-0.3\ta", "-1e39\ta");
    let err = query_error(&dir, "big.arpa", &big);
    assert!(err.contains("big.arpa:9: log10 probability -1e39 is out of range"), "{err}");
    let inf = SMALL_ARPA.replace("-0.3\ta", "-inf\ta");
    let err = query_error(&dir, "inf.arpa", &inf);
    assert!(err.contains("inf.arpa:9: log10 probability -inf is not finite"), "{err}");
}

#[test]
fn binarize_refuses_to_overwrite_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let arpa = write(&dir, "lm.arpa", SMALL_ARPA.as_bytes());
    let out = mt(&["lm", "binarize", "--arpa", &arpa, "--model", &arpa], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to overwrite"), "{err}");
    assert_eq!(std::fs::read_to_string(&arpa).unwrap(), SMALL_ARPA);
    let text = write(&dir, "text.txt", b"a a\n");
    let out = mt(&["lm", "train", "--order", "2", "--text", &text, "--arpa", &text], b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "a a\n");
}
