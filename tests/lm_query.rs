//! `mt lm query` scores like KenLM's `query`: the same per-word values, sentence totals and
//! perplexities on Multi30k test2016, from ARPA and from the binary model.

mod lm_support;

use lm_support::{fixture, mt_ok, read_text};

fn perplexities(output: &str) -> (f64, f64, u64, u64) {
    let value = |key: &str| -> String {
        output
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in output"))
            .trim()
            .to_owned()
    };
    (
        value("Perplexity including OOVs:").parse().unwrap(),
        value("Perplexity excluding OOVs:").parse().unwrap(),
        value("OOVs:").parse().unwrap(),
        value("Tokens:").parse().unwrap(),
    )
}

fn test_text() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test2016.txt");
    std::fs::write(&path, read_text(&fixture("multi30k-en.test2016.txt.gz"))).unwrap();
    (dir, path)
}

#[test]
fn trigram_query_equals_kenlm_word_for_word() {
    let (dir, text) = test_text();
    let arpa = fixture("multi30k-en.o3.arpa.gz");
    let expected = read_text(&fixture("multi30k-en.o3.test2016-query.txt.gz"));
    let (out, _) = mt_ok(
        &["lm", "query", "--model", arpa.to_str().unwrap(), "--text", text.to_str().unwrap()],
        b"",
    );
    assert_eq!(out, expected);
    // Our own model, written in the binary format, prints exactly the same.
    let bin = dir.path().join("o3.bin");
    let train = fixture("multi30k-en.train.txt.gz");
    mt_ok(
        &["lm", "train", "--order", "3", "--text", train.to_str().unwrap()]
            .into_iter()
            .chain(["--model", bin.to_str().unwrap()])
            .collect::<Vec<_>>(),
        b"",
    );
    let (out, _) = mt_ok(
        &["lm", "query", "--model", bin.to_str().unwrap(), "--text", text.to_str().unwrap()],
        b"",
    );
    assert_eq!(out, expected);
    let (incl, excl, oov, tokens) = perplexities(&out);
    assert!((incl - 37.03343519381648).abs() < 5e-5);
    assert!((excl - 33.588101974314306).abs() < 5e-5);
    assert_eq!((oov, tokens), (144, 13968));
}

#[test]
fn fivegram_perplexity_equals_kenlm() {
    let (dir, text) = test_text();
    let bin = dir.path().join("o5.bin");
    let train = fixture("multi30k-en.train.txt.gz");
    let args = ["lm", "train", "--order", "5", "--text", train.to_str().unwrap()];
    let mut args = args.to_vec();
    args.extend(["--model", bin.to_str().unwrap()]);
    mt_ok(&args, b"");
    let query = ["lm", "query", "--verbose", "summary", "--model", bin.to_str().unwrap()];
    let input = std::fs::read(&text).unwrap();
    let (out, _) = mt_ok(&query, &input);
    let (incl, excl, oov, tokens) = perplexities(&out);
    assert!((incl - 35.80276442875366).abs() < 5e-5, "{incl}");
    assert!((excl - 32.448302296088826).abs() < 5e-5, "{excl}");
    assert_eq!((oov, tokens), (144, 13968));
    assert_eq!(out.lines().count(), 4, "summary only: {out}");
}

#[test]
fn library_state_api_gives_kenlm_sentence_totals() {
    let lm = smt::lm::LanguageModel::load(&fixture("multi30k-en.o3.arpa.gz")).unwrap();
    assert_eq!(lm.order(), 3);
    let expected = read_text(&fixture("multi30k-en.o3.test2016-query.txt.gz"));
    let totals: Vec<f32> = expected
        .lines()
        .filter_map(|l| l.split("Total: ").nth(1))
        .map(|t| t.split(' ').next().unwrap().parse().unwrap())
        .collect();
    let text = read_text(&fixture("multi30k-en.test2016.txt.gz"));
    let mut states = std::collections::HashSet::new();
    for (line, &total) in text.lines().zip(&totals) {
        let ids: Vec<u32> = line.split(' ').map(|w| lm.vocab_id(w)).collect();
        let mut state = lm.begin_sentence_state();
        let mut sum = 0f32;
        for &w in &ids {
            let (p, next) = lm.score_word(&state, w);
            assert!(next.len() <= 2);
            sum += p;
            state = next;
            states.insert(state);
        }
        sum += lm.score_end(&state);
        assert_eq!(sum, total, "{line}");
        assert_eq!(lm.score_sentence(&ids), total);
    }
    assert_eq!(totals.len(), 1000);
    // States are compared by the words they keep: far fewer than the positions scored.
    assert!(states.len() < 13000);
}
