//! `mt lm train` reproduces KenLM's lmplz: same n-grams, every log10 probability and
//! backoff within 1e-6 (sections compared as sets, since line order differs).

mod lm_support;

use lm_support::{assert_sections_match, fixture, mt_ok, parse_arpa, read_text};

fn train(order: &str, text: &str, extra: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model.arpa");
    let text = fixture(text);
    let mut args = vec!["lm", "train", "--order", order, "--text"];
    args.push(text.to_str().unwrap());
    args.extend(["--arpa", out.to_str().unwrap()]);
    args.extend(extra);
    let (_, stderr) = mt_ok(&args, b"");
    (std::fs::read_to_string(&out).unwrap(), stderr)
}

fn assert_matches_fixture(ours: &str, fixture_name: &str) {
    let (our_counts, our_sections) = parse_arpa(ours);
    let (counts, sections) = parse_arpa(&read_text(&fixture(fixture_name)));
    assert_eq!(our_counts, counts);
    assert_sections_match(&our_sections, &sections, 1e-6, true);
}

#[test]
fn toy0_matches_kenlm_test_data() {
    let (arpa, stderr) = train("3", "toy0.txt", &["--discount-fallback"]);
    assert_matches_fixture(&arpa, "toy0.arpa");
    // One fallback warning per order.
    assert_eq!(stderr.matches("substituting fallback discounts").count(), 3);
    assert!(arpa.contains("-0.46943438\ta\t-0.30103\n"));
    assert!(arpa.contains("-0.14885087\t<s> a a\n"));
}

#[test]
fn toy1_matches_kenlm_test_data() {
    let (arpa, _) = train("3", "toy1.txt", &["--discount-fallback"]);
    assert_matches_fixture(&arpa, "toy1.arpa");
}

#[test]
fn multi30k_trigram_matches_lmplz() {
    let (arpa, stderr) = train("3", "multi30k-en.train.txt.gz", &[]);
    assert!(stderr.is_empty(), "{stderr}");
    assert_matches_fixture(&arpa, "multi30k-en.o3.arpa.gz");
}

#[test]
fn multi30k_5gram_matches_lmplz_on_a_quarter_of_its_ngrams() {
    let (arpa, _) = train("5", "multi30k-en.train.txt.gz", &[]);
    let (our_counts, ours) = parse_arpa(&arpa);
    let sample = read_text(&fixture("multi30k-en.o5.sample4.tsv.gz"));
    let mut lines = sample.lines();
    let counts: Vec<usize> = lines
        .next()
        .unwrap()
        .strip_prefix("# counts: ")
        .unwrap()
        .split(' ')
        .map(|c| c.parse().unwrap())
        .collect();
    assert_eq!(our_counts, counts);
    let mut theirs = vec![lm_support::Section::new(); 5];
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        let n: usize = f[0].parse().unwrap();
        let backoff = f.get(3).map(|b| b.parse().unwrap());
        theirs[n - 1].insert(f[2].to_owned(), (f[1].parse().unwrap(), backoff));
    }
    let sampled: usize = theirs.iter().map(|s| s.len()).sum();
    assert!(sampled > counts.iter().sum::<usize>() / 4 - 5, "{sampled}");
    assert_sections_match(&ours, &theirs, 1e-6, false);
}

#[test]
fn multi30k_trigram_discounts_match_lmplz() {
    let text = read_text(&fixture("multi30k-en.train.txt.gz"));
    let mut corpus = smt::lm::Corpus::new(false);
    for line in text.lines() {
        corpus.add_sentence(mt::text::tokens(line, mt::text::SpacePolicy::Kenlm)).unwrap();
    }
    let d = smt::lm::discounts(&corpus, 3).unwrap();
    let expected =
        [[0.606835, 0.933873, 1.54793], [0.750105, 1.08584, 1.45712], [0.817916, 1.08121, 1.27456]];
    for (n, e) in expected.iter().enumerate() {
        for (k, &want) in e.iter().enumerate() {
            assert!((d[n].d[k + 1] - want).abs() < 5e-6, "order {} D{}", n + 1, k + 1);
        }
    }
}
