//! Regression tests of `mt train/decode --system smt` on bad and odd input
//! (cases R11–R14 of the project's robustness list), long sentences and a malformed
//! phrase table.

mod cli_support;

use std::io::Write;
use std::path::Path;
use std::process::Output;

use cli_support::mt;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

fn train(dir: &Path, src: &[u8], tgt: &[u8], extra: &[&str]) -> (String, Output) {
    let s = write(dir, "train.en", src);
    let t = write(dir, "train.de", tgt);
    let model = dir.join("model").display().to_string();
    let mut args =
        vec!["train", "--system", "smt", "--source", &s, "--target", &t, "--out", &model];
    args.extend_from_slice(extra);
    let out = mt(&args, b"");
    (model, out)
}

fn decode(model: &str, input: &[u8], extra: &[&str]) -> Output {
    let mut args = vec!["decode", "--system", "smt", "--model", model];
    args.extend_from_slice(extra);
    mt(&args, input)
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "mt failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn gunzip(path: &Path) -> String {
    use std::io::Read;
    let f = std::fs::File::open(path).unwrap();
    let mut s = String::new();
    flate2::read::GzDecoder::new(f).read_to_string(&mut s).unwrap();
    s
}

/// R11: double spaces and control characters are whitespace; invalid UTF-8 is an
/// error naming line 3 and the byte offset.
#[test]
fn r11_spaces_controls_and_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let (_, out) = train(
        dir.path(),
        b"the  big house\na\x0c small cat\ncaf\xc3\xa9\n",
        b"das  gro\xc3\x9fe haus\neine kleine katze\ncaf\xe9\n",
        &["--casing", "keep"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("train.de:3:") && err.contains("byte 3"), "{err}");
    assert!(!dir.path().join("model").join("manifest.json").exists());

    let (model, out) = train(
        dir.path(),
        b"the  big house\na\x0c small cat\n",
        b"das  gro\xc3\x9fe haus\neine kleine katze\n",
        &["--casing", "keep"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = gunzip(&Path::new(&model).join("phrase-table.gz"));
    assert!(
        table.lines().any(|l| l.starts_with("the big house ||| das große haus |||")),
        "{table}"
    );
    for line in table.lines() {
        let f: Vec<&str> = line.split(" ||| ").collect();
        assert!(!f[0].contains("  ") && !f[1].contains("  ") && !line.contains('\x0c'), "{line}");
        assert!(!f[0].starts_with(' ') && !f[0].ends_with(' '));
    }
    assert!(table.lines().any(|l| l.starts_with("a small cat ||| eine kleine katze |||")));
}

fn r12_model(dir: &Path) -> String {
    let (model, out) =
        train(dir, b"the house\nthe car\n", b"das haus\ndas auto\n", &["--casing", "lowercase"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    model
}

/// R12: an OOV-only sentence is copied through, an empty line stays empty, and
/// `--drop-unknown` drops unknown words; the OOV score carries two −100 penalties.
#[test]
fn r12_unknown_only_and_empty_lines() {
    let dir = tempfile::tempdir().unwrap();
    let model = r12_model(dir.path());
    let out = stdout(&decode(&model, b"zebra quokka\n\nthe house\n", &[]));
    assert_eq!(out, "zebra quokka\n\ndas haus\n");
    let out = stdout(&decode(&model, b"zebra quokka\n\nthe house\n", &["--drop-unknown"]));
    assert_eq!(out, "\n\ndas haus\n");
    let nbest = stdout(&decode(&model, b"zebra quokka\n", &["--n-best", "3"]));
    let first = nbest.lines().next().unwrap();
    assert!(first.starts_with("0 ||| zebra quokka |||"), "{first}");
    assert!(first.contains("UnknownWordPenalty0= -200"), "{first}");
    let lm: f32 = first.split("LM0= ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(lm < 0.0 && lm.is_finite());
}

/// R13: a `|||` in the data is ordinary text: the tokenizer splits it into `|` tokens,
/// the phrase table escapes them (`&#124;`) so that no line gains a field, and reading
/// the text table back gives the same translations as the binary one.
#[test]
fn r13_separator_token_in_text() {
    let dir = tempfile::tempdir().unwrap();
    let (model, out) =
        train(dir.path(), b"a ||| b\na b\n||| c\n", b"x | y\nx y\n| z\n", &["--casing", "keep"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = gunzip(&Path::new(&model).join("phrase-table.gz"));
    for line in table.lines() {
        assert_eq!(line.split(" ||| ").count(), 5, "{line}");
    }
    assert!(table.lines().any(|l| l.starts_with("&#124; &#124; &#124; ||| ")), "{table}");
    let input = b"a ||| b\n||| c\nc a b |||\n";
    let from_binary = stdout(&decode(&model, input, &[]));
    assert!(from_binary.contains('|'), "{from_binary}");
    std::fs::remove_file(Path::new(&model).join("phrase-table.bin")).unwrap();
    let from_text = stdout(&decode(&model, input, &[]));
    assert_eq!(from_text, from_binary);
}

/// R14: an empty line in the input gives an empty output line in its place.
#[test]
fn r14_empty_line_keeps_line_alignment() {
    let dir = tempfile::tempdir().unwrap();
    let model = r12_model(dir.path());
    let out = stdout(&decode(&model, b"the house\n\nthe car\n", &[]));
    assert_eq!(out, "das haus\n\ndas auto\n");
    let out =
        stdout(&decode(&model, b"the house\n   \n\xe2\x80\x8b\nthe car", &["--threads", "2"]));
    assert_eq!(out.lines().count(), 4, "{out}");
}

/// A 200-word sentence translates, and so does a 600-word one.
#[test]
fn long_sentences_translate() {
    let dir = tempfile::tempdir().unwrap();
    let model = r12_model(dir.path());
    let long: Vec<&str> =
        ["the", "house", "the", "car"].iter().cycle().take(200).copied().collect();
    let out = stdout(&decode(&model, (long.join(" ") + "\n").as_bytes(), &[]));
    assert_eq!(out.trim_end().split(' ').count(), 200);
    let longer: Vec<&str> = long.iter().cycle().take(600).copied().collect();
    let out =
        stdout(&decode(&model, (longer.join(" ") + "\n").as_bytes(), &["--stack-size", "10"]));
    assert_eq!(out.trim_end().split(' ').count(), 600);
}

/// A malformed line of the text phrase table is an error with its line number.
#[test]
fn malformed_phrase_table_line() {
    let dir = tempfile::tempdir().unwrap();
    let model = r12_model(dir.path());
    let m = Path::new(&model);
    std::fs::remove_file(m.join("phrase-table.bin")).unwrap();
    let text = gunzip(&m.join("phrase-table.gz"));
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert!(lines.len() >= 3);
    lines[1] = "the ||| das ||| 0.5 0.5 0.5".to_owned();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all((lines.join("\n") + "\n").as_bytes()).unwrap();
    std::fs::write(m.join("phrase-table.gz"), gz.finish().unwrap()).unwrap();
    let out = decode(&model, b"the house\n", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("phrase-table.gz:2: malformed phrase-table line"), "{err}");
    assert!(!err.contains("panicked"));
}

fn assert_one_line_error(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("mt: error: ") && err.contains(needle), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn decoder_and_tuner_options_out_of_range_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = r12_model(dir.path());
    for bad in ["2", "inf", "-1", "nan"] {
        let arg = format!("--beam-threshold={bad}");
        assert_one_line_error(&decode(&model, b"the house\n", &[&arg]), "--beam-threshold");
    }
    let out = decode(&model, b"the house\n", &["--beam-threshold", "1"]);
    assert!(!stdout(&out).trim().is_empty());
    assert_one_line_error(&decode(&model, b"the house\n", &["--n-best", "0"]), "--n-best");
    let weights = std::fs::read(Path::new(&model).join("weights.json")).unwrap();
    for (option, value) in [("--max-iterations", "0"), ("--nbest-size", "0")] {
        let o = mt(&["tune", "--model", &model, option, value], b"");
        assert_one_line_error(&o, option);
    }
    assert_eq!(std::fs::read(Path::new(&model).join("weights.json")).unwrap(), weights);
}

#[test]
fn huge_weights_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = r12_model(dir.path());
    let path = Path::new(&model).join("weights.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for w in json["weights"].as_array_mut().unwrap() {
        *w = serde_json::json!(3e38);
    }
    std::fs::write(&path, json.to_string()).unwrap();
    let o = decode(&model, b"the house\n", &["--n-best", "2"]);
    assert_one_line_error(&o, "weights.json");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("weight 3e38 is out of range"), "{err}");
}
