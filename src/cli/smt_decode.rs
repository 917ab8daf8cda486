//! `mt decode --system smt`: translate with a phrase-based model directory.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use rayon::prelude::*;
use smt::decode::nbest::moses_line;
use smt::decode::{apply_table_limit, DecodeOptions, Decoder, Translation, Weights};
use smt::phrase::table::PhraseTable;

use crate::output::AtomicOutput;
use crate::smt_model::{LmAdapter, SmtModel, WeightsFile};
use crate::text::{read_lines, ReadOptions};

/// Options of `mt decode` that only the smt system reads.
#[derive(Debug, Args)]
pub struct SmtDecodeOpts {
    /// Hypotheses kept per stack (histogram pruning).
    #[arg(long, default_value_t = 200)]
    pub stack_size: usize,
    /// Largest jump over source words; a negative value means unlimited.
    #[arg(long, default_value_t = 6, allow_negative_numbers = true)]
    pub distortion_limit: i64,
    /// Relative threshold pruning (a probability ratio in [0, 1]: hypotheses less
    /// probable than this times the best of their stack are dropped; 0 turns it off).
    #[arg(long, default_value_t = 1e-5, value_name = "RATIO", value_parser = parse_ratio)]
    pub beam_threshold: f32,
    /// Translations kept per source phrase.
    #[arg(long, default_value_t = 20)]
    pub table_limit: usize,
    /// Score with log P(f|e) + log P(e) only (the noisy-channel model).
    #[arg(long)]
    pub noisy_channel: bool,
    /// Leave unknown words out of the output instead of copying them.
    #[arg(long)]
    pub drop_unknown: bool,
    /// Use Moses' initial weights even when the model has been tuned.
    #[arg(long, conflicts_with = "noisy_channel")]
    pub untuned: bool,
    /// Read the weights from this JSON file instead of the model's `weights.json`.
    #[arg(long, conflicts_with_all = ["noisy_channel", "untuned"])]
    pub weights_file: Option<PathBuf>,
}

impl SmtDecodeOpts {
    /// The search settings these options describe.
    pub fn decode_options(&self, n_best: usize) -> DecodeOptions {
        DecodeOptions {
            stack_size: self.stack_size.max(1),
            beam_threshold: self.beam_threshold,
            distortion_limit: usize::try_from(self.distortion_limit).ok(),
            table_limit: self.table_limit.max(1),
            drop_unknown: self.drop_unknown,
            n_best,
        }
    }
}

/// Parses `--beam-threshold`: a probability ratio in [0, 1] (above 1 even the best
/// hypothesis of a stack would be pruned).
fn parse_ratio(s: &str) -> Result<f32, String> {
    let x: f32 = s.parse().map_err(|e| format!("`{s}` is not a number: {e}"))?;
    if !(0.0..=1.0).contains(&x) {
        return Err(format!("{s} is not a probability ratio in [0, 1]"));
    }
    Ok(x)
}

/// The weights a decode run uses.
pub fn select_weights(model: &SmtModel, opts: &SmtDecodeOpts) -> Result<Weights> {
    if opts.noisy_channel {
        return Ok(Weights::noisy_channel());
    }
    if let Some(p) = &opts.weights_file {
        return WeightsFile::read(p)?.to_weights(p);
    }
    if opts.untuned {
        let p = model.dir.join("weights.untuned.json");
        return WeightsFile::read(&p)?.to_weights(&p);
    }
    model.weights.to_weights(&model.dir.join("weights.json"))
}

/// The model's table with the table limit applied under `weights`.
pub fn limited_table(model: &SmtModel, weights: &Weights, limit: usize) -> PhraseTable {
    let mut t = model.table.clone();
    let lm = LmAdapter::new(&model.lm, &t);
    apply_table_limit(&mut t, &lm, weights, limit);
    t
}

/// Translates raw source lines (tokenizing and casing them first); each result is the
/// n-best list with the detokenized text of every entry. Runs on the current rayon pool.
pub fn translate_lines(
    model: &SmtModel,
    table: &PhraseTable,
    weights: Weights,
    opts: DecodeOptions,
    lines: &[String],
    on_done: &(dyn Fn() + Sync),
) -> Vec<Vec<(String, Translation)>> {
    let lm = LmAdapter::new(&model.lm, table);
    let decoder = Decoder::new(table, &lm, weights, opts);
    lines
        .par_iter()
        .map(|line| {
            let src = model.prepare_source(line);
            let out = decoder
                .translate(&src)
                .into_iter()
                .map(|t| (model.finish_output(&t.words), t))
                .collect();
            on_done();
            out
        })
        .collect()
}

fn alignment_text(t: &Translation) -> String {
    t.alignment.iter().map(|(s, j)| format!("{s}-{j}")).collect::<Vec<_>>().join(" ")
}

/// Runs `mt decode --system smt`.
pub fn run(common: &super::decode::DecodeArgs, opts: &SmtDecodeOpts) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(common.threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    let t0 = Instant::now();
    let mut model = SmtModel::load(&common.model)?;
    let weights = select_weights(&model, opts)?;
    let n_best = common.n_best.unwrap_or(0);
    let dopts = opts.decode_options(n_best);
    // the table limit is applied in place: decoding never needs the full table
    let mut table = std::mem::replace(
        &mut model.table,
        PhraseTable::new(Default::default(), Default::default(), false),
    );
    let lm = LmAdapter::new(&model.lm, &table);
    pool.install(|| apply_table_limit(&mut table, &lm, &weights, dopts.table_limit));
    let lines = read_lines(&common.input, ReadOptions::default())?;
    let loaded = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let bar = crate::progress::bar(lines.len() as u64, "decoding");
    let results =
        pool.install(|| translate_lines(&model, &table, weights, dopts, &lines, &|| bar.inc(1)));
    bar.finish_and_clear();
    let secs = t1.elapsed().as_secs_f64();
    let mut out = AtomicOutput::create(&common.output)
        .with_context(|| format!("cannot create {}", common.output.display()))?;
    let reordering = table.has_reordering();
    for (id, list) in results.iter().enumerate() {
        if n_best > 0 {
            for (text, t) in list {
                let align = common.alignments.then(|| alignment_text(t));
                let line = moses_line(id, text, &t.features, t.total, reordering, align.as_deref());
                writeln!(out, "{line}")?;
            }
        } else {
            let (text, t) = &list[0];
            if common.alignments {
                writeln!(out, "{text} ||| {}", alignment_text(t))?;
            } else {
                writeln!(out, "{text}")?;
            }
        }
    }
    out.commit().with_context(|| format!("cannot write {}", common.output.display()))?;
    let rate = if secs > 0.0 { lines.len() as f64 / secs } else { f64::INFINITY };
    eprintln!(
        "mt: decoded {} sentences in {secs:.2} s ({rate:.1} sentences/s); \
         loading took {loaded:.2} s",
        lines.len()
    );
    Ok(())
}
