//! `mt decode --system nmt`: greedy or beam search with a trained neural model.
//!
//! Every input line gives exactly one output line (or `K` n-best lines). A blank source
//! (only whitespace or zero-width characters) translates to the empty line without
//! running the model. A source longer than the model's maximum (`max_positions`
//! subwords) is truncated to it, with a warning naming the line. The output may have up
//! to `--max-length-ratio` × source subwords + 5 subwords; a hypothesis that reaches that
//! length unfinished is still returned (flagged `Finished= 0` in n-best output);
//! `--max-output-length` caps that length absolutely, and a Transformer's outputs stop at
//! its `max_positions` (forced targets are truncated there, with a warning).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use nmt::bpe::SubwordVocab;
use nmt::checkpoint::load_model;
use nmt::normalize::is_blank;
use nmt::search::{beam_search, forced, greedy, Hypothesis, SearchConfig};

use crate::output::AtomicOutput;
use crate::text::{read_lines, ReadOptions};

/// Options of `mt decode` that only the nmt system reads.
#[derive(Debug, clap::Args)]
pub struct NmtDecodeOpts {
    /// [nmt] Beam size (1: greedy search).
    #[arg(long, default_value_t = 5)]
    pub beam_size: usize,
    /// [nmt] Length-penalty exponent alpha of GNMT's ((5+L)/6)^alpha (0: none).
    #[arg(long, default_value_t = 1.0)]
    pub length_penalty: f32,
    /// [nmt] Maximum output length as a multiple of the source length (plus 5).
    #[arg(long, default_value_t = 1.5)]
    pub max_length_ratio: f32,
    /// [nmt] Absolute cap on the output length in subwords.
    #[arg(long, value_name = "N")]
    pub max_output_length: Option<usize>,
    /// [nmt] Sentences decoded together.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// [nmt] Write each sentence's attention matrix (target subwords × source subwords).
    #[arg(long, value_name = "FILE")]
    pub attention: Option<PathBuf>,
    /// [nmt] Align this reference translation instead of translating (with --alignments).
    #[arg(long, value_name = "FILE")]
    pub force_target: Option<PathBuf>,
    /// [nmt] Score an n-best list (Moses format, sentence ids into the input) instead of
    /// translating: one log P(hypothesis | source) per n-best line, in file order.
    #[arg(long, value_name = "FILE", conflicts_with = "force_target")]
    pub score_nbest: Option<PathBuf>,
    /// [nmt] Decode on the CUDA GPU (build with `--features nmt/cuda`).
    #[arg(long)]
    pub gpu: bool,
}

/// Word alignment from subword attention: each target word is linked to the source word
/// that receives the most attention, summed over the subwords of both words.
fn word_alignment(
    vocab: &SubwordVocab,
    src: &[u32],
    tgt: &[u32],
    attention: &[Vec<f32>],
) -> String {
    if src.is_empty() || tgt.is_empty() || attention.is_empty() {
        return String::new();
    }
    let sw = vocab.word_index(src);
    let tw = vocab.word_index(tgt);
    let n_src = sw.last().map_or(0, |w| w + 1);
    let n_tgt = tw.last().map_or(0, |w| w + 1);
    let mut mass = vec![vec![0f32; n_src]; n_tgt];
    for (t, row) in attention.iter().take(tgt.len()).enumerate() {
        for (s, &a) in row.iter().take(src.len()).enumerate() {
            mass[tw[t]][sw[s]] += a;
        }
    }
    let links: Vec<String> = mass
        .iter()
        .enumerate()
        .map(|(j, row)| {
            let i = (0..n_src).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0);
            format!("{i}-{j}")
        })
        .collect();
    links.join(" ")
}

/// Checks the search options before the model is loaded.
fn check_options(opts: &NmtDecodeOpts) -> anyhow::Result<()> {
    if opts.beam_size == 0 {
        anyhow::bail!("--beam-size must be at least 1 (1: greedy search)");
    }
    if !(opts.length_penalty.is_finite() && opts.length_penalty >= 0.0) {
        anyhow::bail!(
            "--length-penalty {} must be a finite number >= 0 (0: none)",
            opts.length_penalty
        );
    }
    if !(opts.max_length_ratio.is_finite() && opts.max_length_ratio > 0.0) {
        anyhow::bail!(
            "--max-length-ratio {} must be a positive finite number",
            opts.max_length_ratio
        );
    }
    if opts.max_output_length == Some(0) {
        anyhow::bail!("--max-output-length must be at least 1");
    }
    if opts.batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }
    Ok(())
}

/// Runs `mt decode --system nmt`.
pub fn run(common: &super::decode::DecodeArgs, opts: &NmtDecodeOpts) -> anyhow::Result<()> {
    // On a thread of the CPU pool: its parallel operations start there (see `nmt::in_pool`).
    nmt::in_pool(common.threads, || run_in_pool(common, opts))
}

fn run_in_pool(common: &super::decode::DecodeArgs, opts: &NmtDecodeOpts) -> anyhow::Result<()> {
    check_options(opts)?;
    let device = nmt::device(opts.gpu, common.threads);
    let loaded = load_model(&common.model, &device)?;
    let vocab = &loaded.vocab;
    let max_pos = loaded.config.model.max_positions;
    let lines = read_lines(&common.input, ReadOptions::default())?;
    if opts.force_target.is_some() && !common.alignments && opts.attention.is_none() {
        anyhow::bail!("--force-target aligns a given translation: add --alignments or --attention");
    }
    let forced_targets = match &opts.force_target {
        Some(p) => {
            let t = read_lines(p, ReadOptions::default())?;
            if t.len() != lines.len() {
                anyhow::bail!(
                    "{} has {} lines but the input has {}",
                    p.display(),
                    t.len(),
                    lines.len()
                );
            }
            Some(t)
        }
        None => None,
    };
    if let Some(nbest) = &opts.score_nbest {
        return score_nbest(common, opts, &loaded, &lines, nbest, &device);
    }
    let n_best = common.n_best.unwrap_or(1).max(1);
    if n_best > opts.beam_size.max(1) {
        anyhow::bail!("--n-best {n_best} exceeds --beam-size {}", opts.beam_size);
    }
    let mut sources: Vec<Vec<u32>> = Vec::with_capacity(lines.len());
    for (k, line) in lines.iter().enumerate() {
        let mut ids = if is_blank(line) { Vec::new() } else { vocab.encode(line)? };
        if ids.len() > max_pos {
            eprintln!(
                "mt: warning: {} line {}: source of {} subwords truncated to {max_pos}",
                common.input.display(),
                k + 1,
                ids.len()
            );
            ids.truncate(max_pos);
        }
        sources.push(ids);
    }
    // The Transformer's positions end at `max_positions`: its outputs stop there.
    let out_cap = match loaded.config.model.arch {
        nmt::config::Arch::Transformer => max_pos,
        nmt::config::Arch::Lstm => usize::MAX,
    };
    let targets: Option<Vec<Vec<u32>>> = match (&forced_targets, &opts.force_target) {
        (Some(t), Some(path)) => {
            let mut ids = Vec::with_capacity(t.len());
            for (k, l) in t.iter().enumerate() {
                let mut v = vocab.encode(l)?;
                if v.len() > out_cap {
                    eprintln!(
                        "mt: warning: {} line {}: target of {} subwords truncated to {out_cap}",
                        path.display(),
                        k + 1,
                        v.len()
                    );
                    v.truncate(out_cap);
                }
                ids.push(v);
            }
            Some(ids)
        }
        _ => None,
    };
    // Decode by length so that batches hold similar lengths; output keeps input order.
    let mut order: Vec<usize> = (0..sources.len()).filter(|&i| !sources[i].is_empty()).collect();
    order.sort_by_key(|&i| sources[i].len());
    let mut results: Vec<Vec<Hypothesis>> = vec![Vec::new(); sources.len()];
    let bar = crate::progress::bar(order.len() as u64, "decoding");
    for chunk in order.chunks(opts.batch_size.max(1)) {
        let batch: Vec<Vec<u32>> = chunk.iter().map(|&i| sources[i].clone()).collect();
        let mut scorer = loaded.model.scorer(&batch, &device);
        let hyps: Vec<Vec<Hypothesis>> = if let Some(t) = &targets {
            let tb: Vec<Vec<u32>> = chunk.iter().map(|&i| t[i].clone()).collect();
            forced(&mut scorer, &tb).into_iter().map(|h| vec![h]).collect()
        } else {
            let max_len: Vec<usize> = batch
                .iter()
                .map(|s| {
                    let by_ratio = (opts.max_length_ratio * s.len() as f32).ceil() as usize + 5;
                    by_ratio.min(opts.max_output_length.unwrap_or(usize::MAX)).min(out_cap)
                })
                .collect();
            if opts.beam_size <= 1 {
                greedy(&mut scorer, &max_len).into_iter().map(|h| vec![h]).collect()
            } else {
                let cfg = SearchConfig {
                    beam: opts.beam_size,
                    n_best,
                    alpha: opts.length_penalty,
                    max_len,
                };
                beam_search(&mut scorer, &cfg)
            }
        };
        for (&i, h) in chunk.iter().zip(hyps) {
            results[i] = h;
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();

    let mut out = AtomicOutput::create(&common.output)
        .with_context(|| format!("cannot write {}", common.output.display()))?;
    let mut att_out = match &opts.attention {
        Some(p) => {
            Some(AtomicOutput::create(p).with_context(|| format!("cannot write {}", p.display()))?)
        }
        None => None,
    };
    for (k, hyps) in results.iter().enumerate() {
        let empty = Hypothesis {
            tokens: Vec::new(),
            log_prob: 0.0,
            score: 0.0,
            finished: true,
            attention: Vec::new(),
        };
        let shown: Vec<&Hypothesis> =
            if hyps.is_empty() { vec![&empty] } else { hyps.iter().collect() };
        for h in if common.n_best.is_some() { &shown[..] } else { &shown[..1] } {
            let text = vocab.decode(&h.tokens)?;
            let align = word_alignment(vocab, &sources[k], &h.tokens, &h.attention);
            let text = if opts.force_target.is_some() {
                forced_targets.as_ref().map(|t| t[k].clone()).unwrap_or_default()
            } else {
                text
            };
            if common.n_best.is_some() {
                write!(
                    out,
                    "{k} ||| {text} ||| LogProb= {:.4} Finished= {} ||| {:.4}",
                    h.log_prob,
                    u8::from(h.finished),
                    h.score
                )?;
                if common.alignments {
                    write!(out, " ||| {align}")?;
                }
                writeln!(out)?;
            } else if common.alignments && opts.force_target.is_some() {
                writeln!(out, "{align}")?;
            } else if common.alignments {
                writeln!(out, "{text} ||| {align}")?;
            } else {
                writeln!(out, "{text}")?;
            }
        }
        if let Some(a) = att_out.as_mut() {
            let h = shown[0];
            writeln!(
                a,
                "{k} ||| {} ||| {}",
                vocab.pieces(&sources[k]).join(" "),
                vocab.pieces(&h.tokens).join(" ")
            )?;
            for row in &h.attention {
                // Rows carry the batch's padding columns: keep this sentence's own.
                let cells: Vec<String> =
                    row.iter().take(sources[k].len()).map(|x| format!("{x:.4}")).collect();
                writeln!(a, "{}", cells.join(" "))?;
            }
            writeln!(a)?;
        }
    }
    out.commit().with_context(|| format!("cannot write {}", common.output.display()))?;
    if let Some(a) = att_out {
        a.commit()?;
    }
    Ok(())
}

/// `--score-nbest`: the model's log-probability of every entry of an n-best list.
fn score_nbest(
    common: &super::decode::DecodeArgs,
    opts: &NmtDecodeOpts,
    loaded: &nmt::checkpoint::LoadedModel,
    lines: &[String],
    nbest_path: &std::path::Path,
    device: &nmt::Device,
) -> anyhow::Result<()> {
    let entries = read_lines(nbest_path, ReadOptions::default())?;
    let max_pos = loaded.config.model.max_positions;
    let mut pairs: Vec<(Vec<u32>, Vec<u32>)> = Vec::with_capacity(entries.len());
    for (k, line) in entries.iter().enumerate() {
        let where_ = format!("{}:{}", nbest_path.display(), k + 1);
        let entry = crate::compare::nbest::parse_line(line, &where_)?;
        let src = lines.get(entry.sentence).with_context(|| {
            format!("{where_}: sentence id {} but the input has {}", entry.sentence, lines.len())
        })?;
        let mut s = if is_blank(src) { Vec::new() } else { loaded.vocab.encode(src)? };
        let mut t =
            if is_blank(&entry.text) { Vec::new() } else { loaded.vocab.encode(&entry.text)? };
        s.truncate(max_pos);
        t.truncate(max_pos.saturating_sub(1));
        pairs.push((s, t));
    }
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by_key(|&i| (pairs[i].0.len(), pairs[i].1.len()));
    let mut scores = vec![0f32; pairs.len()];
    let bar = crate::progress::bar(order.len() as u64, "scoring");
    for chunk in order.chunks(opts.batch_size.max(1)) {
        let src: Vec<Vec<u32>> = chunk.iter().map(|&i| pairs[i].0.clone()).collect();
        let tgt: Vec<Vec<u32>> = chunk.iter().map(|&i| pairs[i].1.clone()).collect();
        let lp = nmt::score::sequence_log_probs(&loaded.model, &src, &tgt, device);
        for (&i, v) in chunk.iter().zip(lp) {
            scores[i] = v;
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let mut out = AtomicOutput::create(&common.output)
        .with_context(|| format!("creating {}", common.output.display()))?;
    for v in &scores {
        writeln!(out, "{v}")?;
    }
    out.commit().with_context(|| format!("writing {}", common.output.display()))
}
