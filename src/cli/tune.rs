//! `mt tune`: minimum error rate training (Och 2003) of a phrase-based model's weights
//! on a development set, with BLEU as `mt eval` computes it.
//!
//! Each iteration decodes the development set into n-best lists with the current
//! weights, adds the new candidates to the pool of all earlier iterations, and lets the
//! optimizer of [`smt::tune`] pick new weights (line searches from the current point and
//! from random restarts, drawn in [0, 1] per weight as mert-moses.pl draws them). It
//! stops when an iteration brings no new candidate, when the weights stop changing, or
//! after `--max-iterations`. The weights that gave the best
//! decoded development BLEU are written to the model's `weights.json`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use hashbrown::HashSet;
use smt::decode::options::NUM_FEATURES;
use smt::decode::Weights;
use smt::tune::{optimize, Candidate, MertOptions, Metric};

use crate::eval::bleu::Bleu;
use crate::eval::metric::Metric as EvalMetric;
use crate::smt_model::{SmtModel, WeightsFile};
use crate::text::{read_lines, ReadOptions};

use super::smt_decode::{limited_table, translate_lines};

/// Options of `mt tune`.
#[derive(Debug, Args)]
pub struct TuneArgs {
    /// The model directory written by `mt train --system smt`.
    #[arg(long)]
    pub model: PathBuf,
    /// Development source side (default: the one recorded at training).
    #[arg(long)]
    pub dev_source: Option<PathBuf>,
    /// Development target side, the reference (default: the one recorded at training).
    #[arg(long)]
    pub dev_target: Option<PathBuf>,
    /// Most MERT iterations (decoding passes).
    #[arg(long, default_value_t = 25, value_parser = super::positive_count)]
    pub max_iterations: usize,
    /// Size of each n-best list.
    #[arg(long, default_value_t = 100, value_parser = super::positive_count)]
    pub nbest_size: usize,
    /// Random restarts of each optimization.
    #[arg(long, default_value_t = 20)]
    pub restarts: usize,
    /// Hypotheses kept per stack while tuning.
    #[arg(long, default_value_t = 200)]
    pub stack_size: usize,
    /// Start from Moses' initial weights instead of the model's current ones.
    #[arg(long)]
    pub from_untuned: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed of the random restarts.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

struct MertBleu(Bleu);

impl Metric for MertBleu {
    fn score(&self, stats: &[f64]) -> f64 {
        self.0.score_from_stats(stats)
    }
}

fn corpus_bleu(bleu: &Bleu, rows: &[Vec<f64>]) -> f64 {
    let width = bleu.stats_width();
    let mut sum = vec![0f64; width];
    for r in rows {
        for (s, x) in sum.iter_mut().zip(r) {
            *s += x;
        }
    }
    bleu.score_from_stats(&sum)
}

/// The manifest's name for the time `mt tune` took.
pub const TUNE_STAGE: &str = "tune (MERT)";

/// Runs `mt tune`.
pub fn run(args: TuneArgs) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    pool.install(|| tune(&args))
}

fn recorded(model: &SmtModel, role: &str) -> Option<PathBuf> {
    model.manifest.corpora.iter().find(|c| c.role == role).map(|c| PathBuf::from(&c.path))
}

fn tune(args: &TuneArgs) -> Result<()> {
    let started = Instant::now();
    let model = SmtModel::load(&args.model)?;
    let dev_source = args.dev_source.clone().or_else(|| recorded(&model, "dev-source"));
    let dev_target = args.dev_target.clone().or_else(|| recorded(&model, "dev-target"));
    let (Some(dev_source), Some(dev_target)) = (dev_source, dev_target) else {
        bail!("no development set: pass --dev-source and --dev-target");
    };
    let src = read_lines(&dev_source, ReadOptions::default())?;
    let refs = read_lines(&dev_target, ReadOptions::default())?;
    if src.len() != refs.len() {
        bail!(
            "{} has {} lines but {} has {}",
            dev_source.display(),
            src.len(),
            dev_target.display(),
            refs.len()
        );
    }
    if src.is_empty() {
        bail!("{} is empty", dev_source.display());
    }
    let bleu = Bleu::default();
    let metric = MertBleu(bleu);
    let mut weights = if args.from_untuned {
        let p = model.dir.join("weights.untuned.json");
        WeightsFile::read(&p)?.to_weights(&p)?
    } else {
        model.weights.to_weights(&model.dir.join("weights.json"))?
    };
    let tunable = model.tunable();
    let mut pool: Vec<Vec<Candidate>> = vec![Vec::new(); src.len()];
    let mut seen: Vec<HashSet<[u32; NUM_FEATURES]>> = vec![HashSet::new(); src.len()];
    let mut history: Vec<f64> = Vec::new();
    let mut best: Option<(f64, Weights)> = None;
    let dopts = smt::decode::DecodeOptions {
        stack_size: args.stack_size.max(1),
        n_best: args.nbest_size,
        ..Default::default()
    };
    for it in 1..=args.max_iterations {
        let t0 = Instant::now();
        let table = limited_table(&model, &weights, dopts.table_limit);
        let bar = crate::progress::bar(src.len() as u64, &format!("MERT iteration {it}: decoding"));
        let lists = translate_lines(&model, &table, weights, dopts.clone(), &src, &|| bar.inc(1));
        bar.finish_and_clear();
        drop(table);
        let width = bleu.stats_width();
        let mut one_best = Vec::with_capacity(src.len());
        let mut added = 0usize;
        for (i, list) in lists.iter().enumerate() {
            for (k, (text, t)) in list.iter().enumerate() {
                let mut row = vec![0f64; width];
                bleu.segment_stats(text, &[refs[i].as_str()], &mut row);
                if k == 0 {
                    one_best.push(row.clone());
                }
                if seen[i].insert(t.features.map(f32::to_bits)) {
                    pool[i].push(Candidate { features: t.features.to_vec(), stats: row });
                    added += 1;
                }
            }
        }
        let dev_bleu = corpus_bleu(&bleu, &one_best);
        history.push(dev_bleu);
        if best.as_ref().map_or(true, |(b, _)| dev_bleu > *b) {
            best = Some((dev_bleu, weights));
        }
        eprintln!(
            "mt: MERT iteration {it}: dev BLEU {dev_bleu:.2}, {added} new candidates, \
             decoding took {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        // the best weights so far are saved after every iteration, so that a run cut
        // short still leaves tuned weights
        if let Some((_, w)) = &best {
            WeightsFile::new(w, true, history.clone()).write(&model.dir.join("weights.json"))?;
        }
        if added == 0 {
            break;
        }
        let t1 = Instant::now();
        let opts = MertOptions {
            restarts: args.restarts,
            seed: args.seed.wrapping_add(it as u64),
            tunable: tunable.clone(),
            // mert-moses.pl's default range for every feature's random starting value
            random_range: (0.0, 1.0),
        };
        let r = optimize(&pool, &weights.0, &metric, &opts);
        let mut next = [0f32; NUM_FEATURES];
        next.copy_from_slice(&r.weights);
        eprintln!(
            "mt: MERT iteration {it}: pool BLEU {:.2} -> {:.2}, optimization took {:.1} s",
            r.start_score,
            r.score,
            t1.elapsed().as_secs_f64()
        );
        let shown: Vec<String> = crate::smt_model::feature_names()
            .iter()
            .zip(&next)
            .zip(&tunable)
            .filter(|(_, t)| **t)
            .map(|((name, w), _)| format!("{name}={w:.4}"))
            .collect();
        eprintln!("mt: MERT iteration {it}: next weights {}", shown.join(" "));
        let change: f32 = next.iter().zip(&weights.0).map(|(a, b)| (a - b).abs()).sum();
        weights = Weights(next);
        if change < 1e-5 {
            break;
        }
    }
    let (best_bleu, best_weights) = best.expect("at least one iteration ran");
    WeightsFile::new(&best_weights, true, history).write(&model.dir.join("weights.json"))?;
    // The manifest records the tuning time beside the training stages.
    let mut manifest = model.manifest.clone();
    manifest.stage_seconds.retain(|(stage, _)| stage != TUNE_STAGE);
    manifest.stage_seconds.push((TUNE_STAGE.to_string(), started.elapsed().as_secs_f64()));
    crate::smt_model::write_model_file(
        &model.dir,
        "manifest.json",
        (serde_json::to_string_pretty(&manifest)? + "\n").as_bytes(),
    )?;
    eprintln!(
        "mt: tuned weights written to {} (dev BLEU {best_bleu:.2})",
        model.dir.join("weights.json").display()
    );
    Ok(())
}
