//! The test vectors of the evaluation reference (§5.3) and robustness cases R20–R22
//! through the library API, against sacreBLEU 2.6.0's exact values
//! (`tests/fixtures/eval/sacrebleu-vectors.json`, made with its Python API).

use std::path::Path;

use mt::eval::{Bleu, BleuConfig, Chrf, ChrfConfig, Metric, References, Ter};
use serde_json::Value;

fn vectors() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval/sacrebleu-vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(got: f64, want: &Value, what: &str) {
    let want = want.as_f64().unwrap();
    assert!((got - want).abs() <= 1e-9, "{what}: got {got}, sacreBLEU {want}");
}

fn inputs(case: &Value) -> (Vec<String>, References) {
    let hyps = case["hyps"].as_array().unwrap();
    let hyps: Vec<String> = hyps.iter().map(|h| h.as_str().unwrap().to_owned()).collect();
    let streams = case["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_array().unwrap().iter().map(|r| r.as_str().map(str::to_owned)).collect())
        .collect();
    (hyps, References::with_missing(streams).unwrap())
}

#[test]
fn corpus_vectors() {
    let v = vectors();
    let mut n = 0;
    for (name, case) in v.as_object().unwrap() {
        if case.get("hyps").is_none() {
            continue;
        }
        n += 1;
        let (hyps, refs) = inputs(case);
        let b = Bleu::default().corpus_score(&hyps, &refs).unwrap();
        let want = &case["bleu"];
        close(b.score, &want["score"], &format!("{name} BLEU"));
        close(b.bp, &want["bp"], &format!("{name} BP"));
        for k in 0..4 {
            close(b.counts[k], &want["counts"][k], &format!("{name} counts[{k}]"));
            close(b.totals[k], &want["totals"][k], &format!("{name} totals[{k}]"));
            close(b.precisions[k], &want["precisions"][k], &format!("{name} precisions[{k}]"));
        }
        assert_eq!(b.sys_len, want["sys_len"].as_u64().unwrap(), "{name}");
        assert_eq!(b.ref_len, want["ref_len"].as_u64().unwrap(), "{name}");
        assert_eq!(b.signature.to_string(), want["signature"], "{name}");

        let chrf = Chrf::new(ChrfConfig::default()).unwrap().corpus_score(&hyps, &refs).unwrap();
        close(chrf.score, &case["chrf"], &format!("{name} chrF"));
        assert_eq!(chrf.signature.to_string(), case["chrf_sig"], "{name}");
        let pp = ChrfConfig { word_order: 2, ..Default::default() };
        let pp = Chrf::new(pp).unwrap().corpus_score(&hyps, &refs).unwrap();
        close(pp.score, &case["chrfpp"], &format!("{name} chrF++"));

        let ter = Ter::default().corpus_score(&hyps, &refs).unwrap();
        close(ter.score, &case["ter"], &format!("{name} TER"));
        assert_eq!(ter.signature.to_string(), case["ter_sig"], "{name}");
    }
    assert_eq!(n, 24);
}

#[test]
fn sentence_vectors() {
    let v = vectors();
    let eff = Bleu::new(BleuConfig { effective_order: true, ..Default::default() });
    let plain = Bleu::default();
    let chrf = Chrf::new(ChrfConfig::default()).unwrap();
    for (key, case) in v["sentence"].as_object().unwrap() {
        let r = case["ref"].as_str().unwrap();
        if let Some(h) = key.strip_prefix("bleu:") {
            close(eff.sentence_score(h, &[r]).score, &case["eff"], key);
            close(plain.sentence_score(h, &[r]).score, &case["noeff"], key);
        } else {
            let h = key.strip_prefix("chrf:").unwrap();
            close(chrf.sentence_score(h, &[r]).score, &case["score"], key);
        }
    }
}

#[test]
fn references_in_the_wrong_shape_are_an_error() {
    // R20: sacreBLEU's API takes [[r1], [r2], [r3]] as three one-line streams, silently
    // scores only the first hypothesis and returns chrF2 = 100. Here it is an error.
    let v = vectors();
    assert_eq!(v["r20_misshaped_chrf"].as_f64(), Some(100.0));
    let hyps = ["red green blue", "", "one two three"];
    let one = |s: &str| vec![s.to_owned()];
    let misshaped =
        References::new(vec![one("red green blue"), one("cat dog fox"), one("one two three")])
            .unwrap();
    let err = Bleu::default().corpus_score(&hyps, &misshaped).unwrap_err();
    assert_eq!(err.to_string(), "3 hypotheses vs 1 reference lines (reference stream 1)");
    let chrf = Chrf::new(ChrfConfig::default()).unwrap();
    assert!(chrf.corpus_score(&hyps, &misshaped).is_err());
    assert!(Ter::default().corpus_score(&hyps, &misshaped).is_err());
    let two = References::single(vec!["red green blue".into(), "cat dog fox".into()]);
    let err = chrf.corpus_score(&hyps, &two).unwrap_err();
    assert_eq!(err.to_string(), "3 hypotheses vs 2 reference lines (reference stream 1)");
}

#[test]
fn summed_statistics_give_the_corpus_score() {
    // The Metric contract that bootstrap resampling relies on.
    let v = vectors();
    let (hyps, refs) = inputs(&v["readme"]);
    let bleu = Bleu::default();
    let stats = mt::eval::CorpusStats::compute(&bleu, &hyps, &refs).unwrap();
    assert_eq!(stats.len(), 3);
    close(bleu.score_from_stats(&stats.sum()), &v["readme"]["bleu"]["score"], "readme");
}

#[test]
fn ter_edge_cases() {
    // 290 sentence pairs scored by sacreBLEU 2.6.0's TER (tests/fixtures/eval/ter-cases.json):
    // repeated words (many shift candidates), block moves, lengths so different that the
    // beam widens, and long shuffles that hit the limit of 1,000 shift candidates.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval/ter-cases.json");
    let cases: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let ter = Ter::default();
    for (k, case) in cases.as_array().unwrap().iter().enumerate() {
        let (h, r) = (case["hyp"].as_str().unwrap(), case["ref"].as_str().unwrap());
        let got = ter.sentence_score(h, &[r]);
        assert_eq!(got.num_edits, case["edits"].as_f64().unwrap(), "case {k}: {h:?} vs {r:?}");
        close(got.ref_length, &case["ref_length"], &format!("case {k} ref length"));
        close(got.score, &case["score"], &format!("case {k} TER"));
    }
}
