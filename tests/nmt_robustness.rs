//! Regression tests for the neural cases R14-R19 of the robustness list, plus long and
//! unknown input.

mod nmt_support;

use nmt::bpe::SubwordVocab;
use nmt::normalize::Normalization;
use nmt_support::*;

fn decode_lines(dir: &std::path::Path, input: &str, extra: &[&str]) -> Vec<String> {
    let tmp = tempdir();
    let inp = write(tmp.path(), "in.txt", input);
    let mut args = vec![
        "decode",
        "--system",
        "nmt",
        "--model",
        dir.to_str().unwrap(),
        "--input",
        inp.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    mt_ok(&args).split('\n').map(str::to_string).collect()
}

#[test]
fn r14_an_empty_line_gives_an_empty_output_line() {
    let dir = overfit_lstm();
    let out = decode_lines(dir, "ein hund läuft\n\nzwei katzen\n", &[]);
    // Three lines, then the split's empty tail.
    assert_eq!(out.len(), 4, "{out:?}");
    assert_eq!(out[1], "");
    assert_eq!(out[3], "");
}

fn r15_for(dir: &std::path::Path) {
    let batch = decode_lines(
        dir,
        "a dog runs\n\n\u{200b}\ntwo cats\n",
        &["--batch-size", "4", "--beam-size", "3"],
    );
    assert_eq!(batch.len(), 5, "{batch:?}");
    assert_eq!(batch[1], "");
    assert_eq!(batch[2], "");
    for (k, src) in [(0, "a dog runs"), (3, "two cats")] {
        let alone =
            decode_lines(dir, &format!("{src}\n"), &["--batch-size", "1", "--beam-size", "3"]);
        assert_eq!(batch[k], alone[0], "row {k}");
    }
    // Padding: a batch of different lengths gives the rows their single results.
    let mixed = decode_lines(
        dir,
        "Zwei Jungen schneiden Grimassen.\nEin Mädchen malt ein Bild.\n",
        &["--batch-size", "4"],
    );
    let one = decode_lines(dir, "Ein Mädchen malt ein Bild.\n", &["--batch-size", "1"]);
    assert_eq!(mixed[1], one[0]);
}

#[test]
fn r15_empty_sources_inside_a_batch_lstm() {
    r15_for(overfit_lstm());
}

#[test]
fn r15_empty_sources_inside_a_batch_transformer() {
    r15_for(small_transformer());
}

#[test]
fn r15_a_fully_masked_row_gives_no_nan() {
    let device = nmt::device(false, None);
    for dir in [overfit_lstm(), small_transformer()] {
        let loaded = nmt::checkpoint::load_model(dir, &device).unwrap();
        let sources = vec![vec![], loaded.vocab.encode("a dog").unwrap()];
        let tgt = nmt::model::id_tensor(&[vec![5], vec![5]], Some(nmt::bpe::BOS), &device);
        let logits = loaded.model.forward(&loaded.model.encode(&sources, &device), tgt);
        let v: Vec<f32> = logits.into_data().try_into_vec::<f32>().unwrap();
        assert!(v.iter().all(|x| x.is_finite()));
    }
}

#[test]
fn r17_an_untrained_model_at_max_length_returns_flagged_hypotheses() {
    let tmp = tempdir();
    let dir = tmp.path().join("untrained");
    let d: &'static str = Box::leak(dir.to_str().unwrap().to_string().into_boxed_str());
    mt_ok(&tiny_train_args(d, "lstm", "0"));
    let out = decode_lines(
        &dir,
        "a b c\n",
        &["--beam-size", "5", "--n-best", "3", "--max-output-length", "2"],
    );
    let hyps: Vec<&String> = out.iter().filter(|l| !l.is_empty()).collect();
    assert_eq!(hyps.len(), 3, "{out:?}");
    let device = nmt::device(false, None);
    let loaded = nmt::checkpoint::load_model(&dir, &device).unwrap();
    for h in hyps {
        let fields: Vec<&str> = h.split(" ||| ").collect();
        assert_eq!(fields[0], "0");
        assert!(loaded.vocab.encode(fields[1]).unwrap().len() <= 2, "{h}");
        assert!(fields[2].contains("Finished= 0"), "{h}");
    }
}

#[test]
fn r18_bpe_keeps_empty_lines_and_round_trips() {
    let vocab = SubwordVocab::learn(
        lines(TINY_DE).iter().chain(&lines(TINY_EN)).map(String::as_str),
        400,
        Normalization::Nfc,
    )
    .unwrap();
    let input = "ein hund\n\nein baum\n";
    let encoded: Vec<Vec<u32>> = input.lines().map(|l| vocab.encode(l).unwrap()).collect();
    assert_eq!(encoded.len(), 3);
    assert!(encoded[1].is_empty());
    let decoded: Vec<String> = encoded.iter().map(|ids| vocab.decode(ids).unwrap()).collect();
    assert_eq!(decoded.join("\n") + "\n", input);
}

#[test]
fn r19_normalization_is_saved_and_none_round_trips_bytes() {
    let text = "ratio\u{fe30}2 \u{149} \u{ff12}";
    let corpus: Vec<String> = lines(TINY_DE);
    let none =
        SubwordVocab::learn(corpus.iter().map(String::as_str), 400, Normalization::None).unwrap();
    assert_eq!(none.decode(&none.encode(text).unwrap()).unwrap().as_bytes(), text.as_bytes());
    let nfkc =
        SubwordVocab::learn(corpus.iter().map(String::as_str), 400, Normalization::Nfkc).unwrap();
    assert_eq!(nfkc.decode(&nfkc.encode(text).unwrap()).unwrap(), "ratio..2 \u{2bc}n 2");
    // The default (NFC) is what a trained model records.
    let config = std::fs::read_to_string(overfit_lstm().join("config.json")).unwrap();
    assert!(config.contains("\"normalization\": \"nfc\""), "{config}");
    // With --normalize none the model directory records it too.
    let tmp = tempdir();
    let dir = tmp.path().join("none");
    let d: &'static str = Box::leak(dir.to_str().unwrap().to_string().into_boxed_str());
    let mut args = tiny_train_args(d, "lstm", "0");
    args.extend_from_slice(&["--normalize", "none"]);
    mt_ok(&args);
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    assert!(config.contains("\"normalization\": \"none\""), "{config}");
}

#[test]
fn unknown_characters_and_long_sources_never_crash() {
    let dir = overfit_lstm();
    let long = vec!["Hund"; 400].join(" ");
    let tmp = tempdir();
    let inp = write(tmp.path(), "in.txt", &format!("😀 ☃ \u{fffd} ✈\n{long}\nEin Mädchen\n"));
    let out = mt(&[
        "decode",
        "--system",
        "nmt",
        "--model",
        dir.to_str().unwrap(),
        "--input",
        inp.to_str().unwrap(),
        "--beam-size",
        "2",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 3);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("truncated"), "{err}");
}

/// Trains a tiny model of `arch` with `extra` options replacing the defaults.
fn tiny_model(dir: &std::path::Path, arch: &str, steps: &str, extra: &[(&str, &str)]) {
    let d = dir.to_str().unwrap();
    let mut args = tiny_train_args(d, arch, steps);
    for (flag, value) in extra {
        match args.iter().position(|a| a == flag) {
            Some(i) => args[i + 1] = value,
            None => args.extend([*flag, *value]),
        }
    }
    mt_ok(&args);
}

#[test]
fn decoding_a_model_trained_with_dropout_is_deterministic() {
    let tmp = tempdir();
    for arch in ["lstm", "transformer"] {
        let dir = tmp.path().join(arch);
        tiny_model(&dir, arch, "30", &[("--dropout", "0.5")]);
        let runs: Vec<Vec<String>> = (0..3)
            .map(|_| decode_lines(&dir, &std::fs::read_to_string(TINY_DE).unwrap(), &[]))
            .collect();
        assert_eq!(runs[0], runs[1], "{arch}");
        assert_eq!(runs[0], runs[2], "{arch}");
    }
}

#[test]
fn a_transformer_stops_at_its_last_position() {
    let tmp = tempdir();
    let dir = tmp.path().join("t");
    tiny_model(&dir, "transformer", "5", &[("--max-subwords", "12")]);
    let long = vec!["Hund"; 40].join(" ");
    // Plain decoding: the default length cap (1.5 x source + 5) passes the 12 positions.
    let out = decode_lines(&dir, &format!("{long}\nEin Mädchen\n"), &["--beam-size", "2"]);
    assert_eq!(out.len(), 3, "{out:?}");
    // Forced decoding of a target longer than the positions: truncated, with a warning.
    let inp = write(tmp.path(), "src.txt", &format!("{long}\n"));
    let tgt = write(tmp.path(), "tgt.txt", &format!("{long}\n"));
    let res = mt(&[
        "decode",
        "--system",
        "nmt",
        "--model",
        dir.to_str().unwrap(),
        "--input",
        inp.to_str().unwrap(),
        "--force-target",
        tgt.to_str().unwrap(),
        "--alignments",
    ]);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("tgt.txt line 1: target of"), "{err}");
}

#[test]
fn attention_matrices_have_their_own_sentence_width() {
    let dir = overfit_lstm();
    let tmp = tempdir();
    let att = tmp.path().join("att.txt");
    // Sentences of different lengths in one batch.
    decode_lines(
        dir,
        "Ein Hund\nEin Mann in einem blauen Hemd steht auf einer Leiter\n",
        &["--attention", att.to_str().unwrap()],
    );
    let text = std::fs::read_to_string(&att).unwrap();
    let blocks: Vec<&str> = text.split("\n\n").filter(|b| !b.trim().is_empty()).collect();
    assert_eq!(blocks.len(), 2);
    for block in blocks {
        let mut rows = block.lines();
        let header = rows.next().unwrap();
        let width = header.split(" ||| ").nth(1).unwrap().split(' ').count();
        for row in rows {
            assert_eq!(row.split(' ').count(), width, "{header}: {row}");
        }
    }
}
