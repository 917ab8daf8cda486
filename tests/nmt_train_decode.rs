//! `mt train --system nmt` and `mt decode --system nmt` end to end on 20 real Multi30k
//! pairs: overfitting, search, checkpoints and resumption.

mod nmt_support;

use std::path::Path;

use nmt_support::*;

/// Measured (2026-12-05, with the fused LSTM decoder, gradients clipped at 0.5): the tiny
/// LSTM's smoothing-free training loss falls below 0.1 after 261 updates at seed 7, spikes
/// to 0.68 at updates 407-409 and is 0.0087 at update 500 (before the fused decoder,
/// whose sums run in another order: 233 updates, below 0.004 over 400-500, 0.0011). At
/// this learning rate the runs are chaotic: they agree to six digits for 17 updates and
/// then part, and seeds 1 and 3 end at 0.047 and 0.18 (0.0074 and 0.047 before).
const OVERFIT_LOSS_BOUND: f64 = 0.1;

#[test]
fn tiny_lstm_overfits_twenty_pairs() {
    let dir = overfit_lstm();
    let curve = curve_losses(dir);
    assert_eq!(curve.len(), 500);
    let (first, last) = (curve[0].1, curve[499].1);
    assert!(first > 3.0, "an untrained model starts near log V, got {first}");
    assert!(last < OVERFIT_LOSS_BOUND, "final loss {last}");
    let out = mt_ok(&[
        "decode",
        "--system",
        "nmt",
        "--model",
        dir.to_str().unwrap(),
        "--input",
        TINY_DE,
        "--beam-size",
        "1",
    ]);
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got, lines(TINY_EN));
}

#[test]
fn beam_search_finds_the_memorized_targets_too() {
    let dir = overfit_lstm();
    let out = mt_ok(&[
        "decode",
        "--system",
        "nmt",
        "--model",
        dir.to_str().unwrap(),
        "--input",
        TINY_DE,
        "--beam-size",
        "4",
    ]);
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got, lines(TINY_EN));
}

#[test]
fn beam_one_equals_greedy_on_a_real_model() {
    let dir = overfit_lstm();
    let device = nmt::device(false, None);
    let loaded = nmt::checkpoint::load_model(dir, &device).unwrap();
    // A barely trained model makes the comparison non-trivial: take the source side of the
    // other language so that outputs are not memorized sentences.
    let sources: Vec<Vec<u32>> =
        lines(TINY_EN).iter().map(|l| loaded.vocab.encode(l).unwrap()).collect();
    let max_len: Vec<usize> = sources.iter().map(|s| s.len() + 5).collect();
    let greedy = nmt::search::greedy(&mut loaded.model.scorer(&sources, &device), &max_len);
    let cfg = nmt::search::SearchConfig { beam: 1, n_best: 1, alpha: 0.0, max_len };
    let beam = nmt::search::beam_search(&mut loaded.model.scorer(&sources, &device), &cfg);
    for (g, b) in greedy.iter().zip(&beam) {
        assert_eq!(g.tokens, b[0].tokens);
        assert_eq!(g.finished, b[0].finished);
        assert!((g.log_prob - b[0].log_prob).abs() < 1e-4);
    }
}

#[test]
fn saved_and_loaded_weights_give_identical_output() {
    let dir = overfit_lstm();
    let device = nmt::device(false, None);
    let loaded = nmt::checkpoint::load_model(dir, &device).unwrap();
    let tmp = tempdir();
    // The model directory's weights are a safetensors file: an 8-byte little-endian header
    // length, then a JSON header naming every tensor with its dtype and shape.
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    // Readable by group and others, like the directory's other files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("model.safetensors")).unwrap().permissions().mode();
        assert_eq!(mode & 0o044, 0o044, "mode {mode:o}");
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let tensors = header.as_object().unwrap();
    assert!(tensors.keys().any(|k| k.starts_with("Lstm.enc_fwd.")), "{:?}", tensors.keys());
    assert!(tensors.values().filter(|v| v.get("dtype").is_some()).all(|v| v["dtype"] == "F32"));
    // Saved again (both formats) and reloaded, the weights give the same scores.
    let copy = tmp.path().join("copy.safetensors");
    nmt::checkpoint::save_weights(&loaded.model, &copy).unwrap();
    let again = nmt::checkpoint::load_weights(&loaded.config.model, &copy, &device).unwrap();
    let legacy = tmp.path().join("copy.bpk");
    nmt::checkpoint::save_weights(&again, &legacy).unwrap();
    // Both in evaluation mode, as `load_model` returns the best model.
    let again = nmt::checkpoint::load_weights(&loaded.config.model, &legacy, &device)
        .unwrap()
        .for_inference();
    let sources: Vec<Vec<u32>> =
        lines(TINY_DE).iter().map(|l| loaded.vocab.encode(l).unwrap()).collect();
    let tgt = nmt::model::id_tensor(&sources, Some(nmt::bpe::BOS), &device);
    let a = loaded.model.forward(&loaded.model.encode(&sources, &device), tgt.clone());
    let b = again.forward(&again.encode(&sources, &device), tgt);
    let a: Vec<f32> = a.into_data().try_into_vec::<f32>().unwrap();
    let b: Vec<f32> = b.into_data().try_into_vec::<f32>().unwrap();
    assert_eq!(a, b);
    // And two decoding processes agree byte for byte.
    let run = || {
        mt_ok(&[
            "decode",
            "--system",
            "nmt",
            "--model",
            dir.to_str().unwrap(),
            "--input",
            TINY_EN,
            "--beam-size",
            "3",
            "--n-best",
            "2",
        ])
    };
    assert_eq!(run(), run());
}

#[test]
fn resume_continues_the_same_loss_curve() {
    let tmp = tempdir();
    let straight = tmp.path().join("straight");
    let resumed = tmp.path().join("resumed");
    let (s, r) = (straight.to_str().unwrap(), resumed.to_str().unwrap());
    let with_dropout = |mut a: Vec<&'static str>| {
        // Dropout on, so the per-update seeding of the masks is exercised.
        let i = a.iter().position(|x| *x == "--dropout").unwrap();
        a[i + 1] = "0.2";
        a
    };
    let leak = |x: &str| -> &'static str { Box::leak(x.to_string().into_boxed_str()) };
    mt_ok(&with_dropout(tiny_train_args(leak(s), "lstm", "16")));
    mt_ok(&with_dropout(tiny_train_args(leak(r), "lstm", "8")));
    let mut args = with_dropout(tiny_train_args(leak(r), "lstm", "16"));
    args.push("--resume");
    mt_ok(&args);
    let a = curve_losses(&straight);
    let b = curve_losses(&resumed);
    assert_eq!(a.len(), 16);
    assert_eq!(b.len(), 16);
    for ((sa, la), (sb, lb)) in a.iter().zip(&b) {
        assert_eq!(sa, sb);
        assert!((la - lb).abs() < 1e-4, "step {sa}: {la} vs {lb}");
    }
}

#[test]
fn same_seed_gives_the_same_run() {
    let tmp = tempdir();
    let leak = |x: &str| -> &'static str { Box::leak(x.to_string().into_boxed_str()) };
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    mt_ok(&tiny_train_args(leak(a.to_str().unwrap()), "transformer", "5"));
    mt_ok(&tiny_train_args(leak(b.to_str().unwrap()), "transformer", "5"));
    assert_eq!(curve_losses(&a), curve_losses(&b));
}

#[test]
fn transformer_learns_and_decodes() {
    let dir = small_transformer();
    let curve = curve_losses(dir);
    assert!(curve.last().unwrap().1 < curve[0].1 * 0.5, "{curve:?}");
    let out = mt_ok(&[
        "decode",
        "--system",
        "nmt",
        "--model",
        dir.to_str().unwrap(),
        "--input",
        TINY_DE,
        "--beam-size",
        "3",
    ]);
    assert_eq!(out.lines().count(), 20);
}

fn check_forced_attention(dir: &Path) {
    let tmp = tempdir();
    let att = tmp.path().join("att.txt");
    let out = mt_ok(&[
        "decode",
        "--system",
        "nmt",
        "--model",
        dir.to_str().unwrap(),
        "--input",
        TINY_DE,
        "--force-target",
        TINY_EN,
        "--alignments",
        "--attention",
        att.to_str().unwrap(),
    ]);
    let refs = lines(TINY_EN);
    let srcs = lines(TINY_DE);
    assert_eq!(out.lines().count(), 20);
    for ((line, r), s) in out.lines().zip(&refs).zip(&srcs) {
        let links: Vec<(usize, usize)> = line
            .split_whitespace()
            .map(|l| {
                let (i, j) = l.split_once('-').unwrap();
                (i.parse().unwrap(), j.parse().unwrap())
            })
            .collect();
        assert_eq!(links.len(), r.split(' ').count());
        assert!(links.iter().all(|&(i, _)| i < s.split(' ').count()));
    }
    let att = std::fs::read_to_string(att).unwrap();
    let first: Vec<&str> = att.split("\n\n").next().unwrap().lines().collect();
    // Header, then one row per target subword plus EOS; each row sums to one.
    for row in &first[1..] {
        let sum: f32 = row.split(' ').map(|x| x.parse::<f32>().unwrap()).sum();
        assert!((sum - 1.0).abs() < 0.01, "{row}");
    }
}

#[test]
fn forced_attention_gives_one_link_per_target_word() {
    check_forced_attention(overfit_lstm());
}

#[test]
fn transformer_cross_attention_gives_one_link_per_target_word() {
    check_forced_attention(small_transformer());
}

#[test]
fn non_parallel_training_data_is_a_clear_error() {
    let tmp = tempdir();
    let short = write(tmp.path(), "short.en", "one line\n");
    let out_dir = tmp.path().join("m");
    let out = mt(&[
        "train",
        "--system",
        "nmt",
        "--source",
        TINY_DE,
        "--target",
        short.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not parallel") && err.contains("short.en"), "{err}");
}

#[test]
fn a_missing_model_is_a_clear_error() {
    let tmp = tempdir();
    let out = mt(&[
        "decode",
        "--system",
        "nmt",
        "--model",
        tmp.path().to_str().unwrap(),
        "--input",
        TINY_DE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.json"));
}
