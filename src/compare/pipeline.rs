//! The steps of `mt compare`, in order.
//!
//! 1. Write the train/dev/test split (budget-limited) under `OUT/data/`.
//! 2. SMT: train (HMM alignment, phrase table, LM), tune with MERT when the budget says
//!    so, decode the test set (1-best) and the dev and test sets (n-best).
//! 3. NMT: train, decode the test set, score every SMT n-best entry.
//! 4. Hybrid: tune the NMT weight on the dev n-best lists, rescore the test n-best lists.
//! 5. Score all three (BLEU, chrF, TER, paired bootstrap against SMT), BLEU by source
//!    length, examples.
//! 6. Alignment: HMM grow-diag-final-and and NMT attention on the Hansards trial gold.
//! 7. Plots and the report files.
//!
//! Every training and decoding stage runs as a child `mt` process (see
//! [`super::stage`]) so that each is timed alone and logs to `OUT/logs/STAGE.log`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::budget::{Budget, BudgetSettings};
use super::data::{self, SplitFiles};
use super::hybrid;
use super::nbest;
use super::scoring;
use super::stage::{args, dir_bytes, StageRunner};
use crate::eval::aer;
use crate::eval::references::References;
use crate::report::document::{
    AerEntry, AlignmentReport, Example, LengthBucket, Report, SystemReport, SCHEMA_VERSION,
};
use crate::report::plot::{self, Heatmap, Series};
use crate::text::{read_lines, ReadOptions};

/// What `mt compare` runs on and where it writes.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// Directory with `NAME.LANG[.gz]` files.
    pub corpus: PathBuf,
    /// Source language code.
    pub src: String,
    /// Target language code.
    pub tgt: String,
    /// Split names inside the corpus: train, dev, test.
    pub splits: [String; 3],
    /// The report directory.
    pub out: PathBuf,
    /// Budget preset.
    pub budget: Budget,
    /// The `mt` executable for the child stages.
    pub exe: PathBuf,
    /// Worker threads for the child stages.
    pub threads: Option<usize>,
    /// Directory with the Hansards bitext and trial gold, for the AER section
    /// (`None` leaves the section out).
    pub hansards: Option<PathBuf>,
    /// A trained SMT model to load instead of training one.
    pub smt_model: Option<PathBuf>,
    /// A trained NMT model to load instead of training one.
    pub nmt_model: Option<PathBuf>,
    /// A trained Hansards NMT model for the attention AER instead of training one.
    pub hansards_nmt_model: Option<PathBuf>,
}

/// One translation system's outputs and costs.
struct SystemRun {
    name: String,
    model: PathBuf,
    description: String,
    hyps: Vec<String>,
    train_seconds: f64,
    decode_seconds: f64,
    model_bytes: u64,
}

fn p(path: &Path) -> OsString {
    path.as_os_str().to_owned()
}

fn threads(opts: &CompareOptions, a: &mut Vec<OsString>) {
    if let Some(t) = opts.threads {
        a.extend(args(["--threads".to_string(), t.to_string()]));
    }
}

/// Runs the whole comparison and writes `report.json`, `report.md` and the plots.
pub fn run(opts: &CompareOptions, say: &mut dyn FnMut(&str)) -> anyhow::Result<Report> {
    let settings = opts.budget.settings();
    check_loaded_models(opts)?;
    let langs = (opts.src.as_str(), opts.tgt.as_str());
    // Every input is read and checked before anything is written or any stage runs.
    let train_split = data::read(&opts.corpus, &opts.splits[0], langs, settings.train_lines)?;
    let dev_split = data::read(&opts.corpus, &opts.splits[1], langs, settings.dev_lines)?;
    let test_split = data::read(&opts.corpus, &opts.splits[2], langs, settings.test_lines)?;
    let hansards = match &opts.hansards {
        Some(dir) => Some(read_hansards(dir, &settings)?),
        None => None,
    };
    check_training_data(opts, &train_split, hansards.as_ref())?;
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("creating {}", opts.out.display()))?;
    // A report of an earlier run must not stay beside this run's (maybe partial) outputs.
    for stale in ["report.json", "report.md"] {
        let path = opts.out.join(stale);
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("removing the earlier {}", path.display()))?;
        }
    }
    let runner = StageRunner { exe: opts.exe.clone(), log_dir: opts.out.join("logs") };
    let data_dir = opts.out.join("data");

    // Step 1: the split.
    say("writing the train/dev/test split");
    let train = data::write(&train_split, langs, &data_dir)?;
    let dev = data::write(&dev_split, langs, &data_dir)?;
    let test = data::write(&test_split, langs, &data_dir)?;
    drop((train_split, dev_split, test_split));
    let test_src = read_lines(&test.source, ReadOptions::default())?;
    let test_ref = read_lines(&test.target, ReadOptions::default())?;
    let dev_ref = read_lines(&dev.target, ReadOptions::default())?;

    // Step 2: SMT.
    say(match opts.smt_model {
        Some(_) => "loading the phrase-based system",
        None => "training the phrase-based system",
    });
    let smt = run_smt(opts, &settings, &runner, &train, &dev, &test)?;

    // Step 3: NMT.
    say(match opts.nmt_model {
        Some(_) => "loading the neural system",
        None => "training the neural system",
    });
    let nmt = run_nmt(opts, &settings, &runner, &train, &dev, &test)?;

    // Step 4: hybrid.
    say("rescoring the SMT n-best lists with the NMT model");
    let hybrid = run_hybrid(opts, &settings, &runner, &dev, &test, &dev_ref, &smt, &nmt)?;

    // Step 5: scores.
    say("scoring");
    let systems = [smt, nmt, hybrid];
    let refs = References::single(test_ref.clone());
    let names: Vec<String> = systems.iter().map(|s| s.name.clone()).collect();
    let outputs: Vec<Vec<String>> = systems.iter().map(|s| s.hyps.clone()).collect();
    let sig = scoring::significance(&names, &outputs, &refs)?;
    let mut reports = Vec::new();
    for (s, sig) in systems.iter().zip(sig) {
        let [bleu, chrf, ter] = scoring::corpus_metrics(&s.hyps, &refs)?;
        reports.push(SystemReport {
            name: s.name.clone(),
            description: s.description.clone(),
            bleu,
            chrf,
            ter,
            significance: sig,
            train_seconds: s.train_seconds,
            decode_seconds: s.decode_seconds,
            sentences_per_second: test.lines as f64 / s.decode_seconds.max(1e-9),
            model_bytes: s.model_bytes,
        });
    }
    let lengths: Vec<usize> = test_src.iter().map(|l| l.split_whitespace().count()).collect();
    let mut buckets = Vec::new();
    for (label, lo, hi, idx) in crate::report::document::length_buckets(&lengths, &[10, 15, 20]) {
        let mut bleu = std::collections::BTreeMap::new();
        for s in &systems {
            bleu.insert(s.name.clone(), scoring::subset_bleu(&s.hyps, &test_ref, &idx)?);
        }
        buckets.push(LengthBucket { label, min_len: lo, max_len: hi, sentences: idx.len(), bleu });
    }
    let examples = pick_examples(&test_src, &test_ref, &systems, 5);

    // Step 6: alignment quality.
    let mut plots = Vec::new();
    let alignment = match &hansards {
        Some(h) => {
            say("aligning the Hansards trial set (HMM and NMT attention)");
            Some(run_alignment(opts, &settings, &runner, h, &mut plots)?)
        }
        None => None,
    };

    // Step 7: plots and files.
    say("writing the report");
    let cats: Vec<String> = buckets.iter().map(|b| b.label.clone()).collect();
    let series: Vec<Series> = systems
        .iter()
        .map(|s| Series {
            name: s.name.clone(),
            points: buckets
                .iter()
                .enumerate()
                .map(|(i, b)| (i as f64, b.bleu.get(&s.name).copied().unwrap_or(0.0)))
                .collect(),
        })
        .collect();
    plot::grouped_bars(
        &opts.out.join("bleu_by_length"),
        "BLEU by source length",
        &cats,
        "BLEU",
        &series,
    )?;
    plots.extend(["bleu_by_length.png".to_string(), "bleu_by_length.svg".to_string()]);
    if let Some(curve) = learning_curve(&systems[1].model)? {
        plot::lines(
            &opts.out.join("nmt_learning_curve"),
            "NMT learning curve",
            "step",
            "loss",
            &curve,
        )?;
        plots.extend(["nmt_learning_curve.png".to_string(), "nmt_learning_curve.svg".to_string()]);
    }
    plots.sort();
    let report = Report {
        schema_version: SCHEMA_VERSION,
        corpus: opts.corpus.display().to_string(),
        pair: format!("{}-{}", opts.src, opts.tgt),
        budget: format!("{:?}", opts.budget).to_lowercase(),
        train_pairs: train.lines,
        dev_pairs: dev.lines,
        test_pairs: test.lines,
        systems: reports,
        length_buckets: buckets,
        examples,
        alignment,
        plots,
    };
    let json = serde_json::to_string_pretty(&report)?;
    crate::output::write_atomic(&opts.out.join("report.json"), json.as_bytes())
        .context("writing report.json")?;
    crate::output::write_atomic(&opts.out.join("report.md"), report.to_markdown().as_bytes())
        .context("writing report.md")?;
    Ok(report)
}

/// `mt train --system SYSTEM` on the training split with the development split.
fn train_args(system: &str, train: &SplitFiles, dev: &SplitFiles, model: &Path) -> Vec<OsString> {
    let mut a = args(["train", "--system", system]);
    for (flag, path) in [
        ("--source", &train.source),
        ("--target", &train.target),
        ("--dev-source", &dev.source),
        ("--dev-target", &dev.target),
    ] {
        a.extend([flag.into(), p(path)]);
    }
    a.extend(["--out".into(), p(model)]);
    a
}

fn run_smt(
    opts: &CompareOptions,
    settings: &BudgetSettings,
    runner: &StageRunner,
    train: &SplitFiles,
    dev: &SplitFiles,
    test: &SplitFiles,
) -> anyhow::Result<SystemRun> {
    let (model, train_seconds, tuned) = match &opts.smt_model {
        Some(dir) => {
            let m = smt_manifest(dir)?;
            let w = crate::smt_model::WeightsFile::read(&dir.join("weights.json"))?;
            (dir.clone(), m.stage_seconds.iter().map(|s| s.1).sum::<f64>(), w.tuned)
        }
        None => {
            let model = opts.out.join("smt-model");
            let mut a = train_args("smt", train, dev, &model);
            a.extend(args(["--source-lang", &opts.src, "--target-lang", &opts.tgt]));
            threads(opts, &mut a);
            let mut train_seconds = runner.run("smt-train", &a, None)?;
            if settings.mert {
                let mut t = args(["tune", "--model"]);
                t.extend([p(&model), "--dev-source".into(), p(&dev.source)]);
                t.extend(["--dev-target".into(), p(&dev.target)]);
                threads(opts, &mut t);
                train_seconds += runner.run("smt-tune", &t, None)?;
            }
            (model, train_seconds, settings.mert)
        }
    };
    let model = model.as_path();
    let hyp_path = opts.out.join("hyp.smt.txt");
    let decode_seconds = decode(opts, runner, "smt", model, &test.source, &hyp_path, None)?;
    for (name, split) in [("dev", dev), ("test", test)] {
        let path = opts.out.join(format!("nbest.{name}.txt"));
        decode(opts, runner, "smt", model, &split.source, &path, Some(settings.nbest))?;
    }
    Ok(SystemRun {
        name: "smt".into(),
        description: "phrase-based: HMM alignment, grow-diag-final-and, phrases up to 7, \
                      Kneser-Ney LM, stack decoding"
            .to_string()
            + if tuned { ", MERT-tuned" } else { ", untuned Moses weights" }
            + &loaded_note(opts.smt_model.as_deref()),
        model: model.to_owned(),
        hyps: read_output(&hyp_path, test.lines)?,
        train_seconds,
        decode_seconds,
        model_bytes: dir_bytes(model),
    })
}

fn decode(
    opts: &CompareOptions,
    runner: &StageRunner,
    system: &str,
    model: &Path,
    input: &Path,
    output: &Path,
    nbest: Option<usize>,
) -> anyhow::Result<f64> {
    let mut a = args(["decode", "--system", system]);
    a.extend(["--model".into(), p(model), "--input".into(), p(input)]);
    a.extend(["--output".into(), p(output)]);
    if let Some(k) = nbest {
        a.extend(args(["--n-best".to_string(), k.to_string()]));
    }
    threads(opts, &mut a);
    let stage = match nbest {
        Some(_) => format!("{system}-nbest-{}", stem(input)),
        None => format!("{system}-decode"),
    };
    runner.run(&stage, &a, None)
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

fn run_nmt(
    opts: &CompareOptions,
    settings: &BudgetSettings,
    runner: &StageRunner,
    train: &SplitFiles,
    dev: &SplitFiles,
    test: &SplitFiles,
) -> anyhow::Result<SystemRun> {
    let (model, train_seconds, description) = match &opts.nmt_model {
        Some(dir) => (
            dir.clone(),
            nmt_train_seconds(dir)?,
            format!("attention encoder-decoder ({})", nmt_summary(dir)?) + &loaded_note(Some(dir)),
        ),
        None => {
            let model = opts.out.join("nmt-model");
            let mut a = train_args("nmt", train, dev, &model);
            a.push("--overwrite".into()); // the model of an earlier run into this --out
            a.extend(settings.nmt_train.iter().map(OsString::from));
            threads(opts, &mut a);
            let train_seconds = runner.run("nmt-train", &a, None)?;
            let what = format!("attention encoder-decoder ({})", settings.nmt_train.join(" "));
            (model, train_seconds, what)
        }
    };
    let hyp_path = opts.out.join("hyp.nmt.txt");
    let decode_seconds = decode(opts, runner, "nmt", &model, &test.source, &hyp_path, None)?;
    Ok(SystemRun {
        name: "nmt".into(),
        description,
        hyps: read_output(&hyp_path, test.lines)?,
        train_seconds,
        decode_seconds,
        model_bytes: nmt_model_bytes(&model),
        model,
    })
}

/// `, loaded from DIR` for a model the run did not train.
fn loaded_note(dir: Option<&Path>) -> String {
    dir.map(|d| format!(", loaded from {}", d.display())).unwrap_or_default()
}

/// Training seconds of a trained NMT model, from its checkpoint's state (0 when the
/// directory has no checkpoint, e.g. a copy with only what decoding needs).
fn nmt_train_seconds(dir: &Path) -> anyhow::Result<f64> {
    let path = dir.join(nmt::checkpoint::CHECKPOINT_DIR).join("state.json");
    if !path.exists() {
        return Ok(0.0);
    }
    let state: nmt::train::TrainState = nmt::checkpoint::read_json(&path)?;
    Ok(state.seconds)
}

/// Reads `manifest.json` of an SMT model directory.
fn smt_manifest(dir: &Path) -> anyhow::Result<crate::smt_model::Manifest> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!("{} is not an smt model directory ({}: {e})", dir.display(), path.display())
    })?;
    serde_json::from_str(&text).with_context(|| format!("{}: malformed manifest", path.display()))
}

/// Checks the model directories given to load, before any stage runs.
fn check_loaded_models(opts: &CompareOptions) -> anyhow::Result<()> {
    if let Some(dir) = &opts.smt_model {
        let m = smt_manifest(dir)?;
        if (m.source_lang.as_str(), m.target_lang.as_str()) != (&opts.src[..], &opts.tgt[..]) {
            bail!(
                "--smt-model {} translates {}-{}, but --pair is {}-{}",
                dir.display(),
                m.source_lang,
                m.target_lang,
                opts.src,
                opts.tgt
            );
        }
        crate::smt_model::WeightsFile::read(&dir.join("weights.json"))?;
    }
    for (flag, dir) in
        [("--nmt-model", &opts.nmt_model), ("--hansards-nmt-model", &opts.hansards_nmt_model)]
    {
        let Some(dir) = dir else { continue };
        nmt_summary(dir).with_context(|| format!("{flag} {}", dir.display()))?;
        let weights = nmt::checkpoint::weights_path(dir);
        if !weights.exists() {
            bail!("{flag} {}: no {} (was the model trained?)", dir.display(), weights.display());
        }
    }
    if opts.hansards.is_none() && opts.hansards_nmt_model.is_some() {
        bail!("--hansards-nmt-model needs the alignment section, but --hansards is none");
    }
    Ok(())
}

/// The architecture line of a trained NMT model's `config.json`.
fn nmt_summary(dir: &Path) -> anyhow::Result<String> {
    let saved: nmt::checkpoint::SavedConfig = nmt::checkpoint::read_json(&dir.join("config.json"))
        .map_err(|e| anyhow::anyhow!("{} is not an nmt model directory: {e}", dir.display()))?;
    let m = &saved.model;
    let mut line = format!(
        "{:?}, embeddings {}, hidden {}, {} layer(s), vocabulary {}, dropout {}",
        m.arch, m.emb_size, m.hidden_size, m.layers, m.vocab_size, m.dropout
    );
    if m.tied_embeddings {
        line.push_str(", tied embeddings");
    }
    Ok(line.to_lowercase())
}

/// Bytes of what decoding an NMT model needs (the resume checkpoint left out).
fn nmt_model_bytes(dir: &Path) -> u64 {
    dir_bytes(dir).saturating_sub(dir_bytes(&dir.join(nmt::checkpoint::CHECKPOINT_DIR)))
}

#[allow(clippy::too_many_arguments)]
fn run_hybrid(
    opts: &CompareOptions,
    settings: &BudgetSettings,
    runner: &StageRunner,
    dev: &SplitFiles,
    test: &SplitFiles,
    dev_ref: &[String],
    smt: &SystemRun,
    nmt: &SystemRun,
) -> anyhow::Result<SystemRun> {
    let nmt_model = &nmt.model;
    let mut lists = Vec::new();
    let mut score_seconds = 0.0;
    for (name, split) in [("dev", dev), ("test", test)] {
        let nbest_path = opts.out.join(format!("nbest.{name}.txt"));
        let scores_path = opts.out.join(format!("nbest.{name}.nmt-scores.txt"));
        let mut a = args(["decode", "--system", "nmt", "--model"]);
        a.extend([p(nmt_model), "--input".into(), p(&split.source)]);
        a.extend(["--score-nbest".into(), p(&nbest_path), "--output".into(), p(&scores_path)]);
        threads(opts, &mut a);
        score_seconds += runner.run(&format!("nmt-score-{name}"), &a, None)?;
        let list = nbest::read(&nbest_path, split.lines)?;
        let flat = read_lines(&scores_path, ReadOptions::default())?;
        let total: usize = list.iter().map(Vec::len).sum();
        if flat.len() != total {
            bail!(
                "{} has {} scores for {} n-best entries",
                scores_path.display(),
                flat.len(),
                total
            );
        }
        let mut it = flat.iter();
        let mut scores = Vec::new();
        for entries in &list {
            let mut row = Vec::with_capacity(entries.len());
            for _ in entries {
                let s = it.next().map(String::as_str).unwrap_or("");
                row.push(
                    s.trim()
                        .parse::<f64>()
                        .with_context(|| format!("{}: bad score {s:?}", scores_path.display()))?,
                );
            }
            scores.push(row);
        }
        lists.push((list, scores));
    }
    let (dev_list, dev_scores) = &lists[0];
    let dev_refs = References::single(dev_ref.to_vec());
    let (lambda, dev_bleu) = hybrid::tune_lambda(dev_list, dev_scores, |out| {
        crate::eval::bleu::corpus_bleu(out, &dev_refs).map(|b| b.score).unwrap_or(0.0)
    });
    let (test_list, test_scores) = &lists[1];
    let hyps = hybrid::rescore(test_list, test_scores, lambda);
    data::write_lines(&opts.out.join("hyp.hybrid.txt"), &hyps)?;
    Ok(SystemRun {
        name: "hybrid".into(),
        model: smt.model.clone(),
        description: format!(
            "SMT {}-best rescored with NMT log-probability, weight {lambda} tuned on dev \
             (dev BLEU {dev_bleu:.2})",
            settings.nbest
        ),
        hyps,
        train_seconds: smt.train_seconds + nmt.train_seconds,
        decode_seconds: smt.decode_seconds + score_seconds / 2.0,
        model_bytes: smt.model_bytes + nmt.model_bytes,
    })
}

fn read_output(path: &Path, expected: usize) -> anyhow::Result<Vec<String>> {
    let lines = read_lines(path, ReadOptions::default())?;
    if lines.len() != expected {
        bail!("{} has {} lines for {expected} inputs", path.display(), lines.len());
    }
    Ok(lines)
}

fn pick_examples(src: &[String], refs: &[String], systems: &[SystemRun], k: usize) -> Vec<Example> {
    if src.is_empty() {
        return Vec::new();
    }
    let step = (src.len() / k).max(1);
    (0..src.len())
        .step_by(step)
        .take(k)
        .map(|i| Example {
            source: src[i].clone(),
            reference: refs[i].clone(),
            hypotheses: systems.iter().map(|s| (s.name.clone(), s.hyps[i].clone())).collect(),
        })
        .collect()
}

/// The NMT learning curve (training and validation loss) from the model's
/// `learning_curve.csv`, when it has one.
fn learning_curve(model: &Path) -> anyhow::Result<Option<Vec<Series>>> {
    let path = model.join("learning_curve.csv");
    if !path.exists() {
        return Ok(None);
    }
    let lines = read_lines(&path, ReadOptions::default())?;
    let Some(header) = lines.first() else { return Ok(None) };
    let cols: Vec<&str> = header.split(',').collect();
    let find = |name: &str| cols.iter().position(|c| c.trim() == name);
    let Some(step) = find("step") else { return Ok(None) };
    let mut series = Vec::new();
    for name in ["loss", "valid_loss"] {
        let Some(c) = find(name) else { continue };
        let points: Vec<(f64, f64)> = lines[1..]
            .iter()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                Some((f.get(step)?.trim().parse().ok()?, f.get(c)?.trim().parse().ok()?))
            })
            .collect();
        if !points.is_empty() {
            let label = if name == "loss" { "training loss" } else { "validation loss" };
            series.push(Series { name: label.to_string(), points });
        }
    }
    Ok(if series.is_empty() { None } else { Some(series) })
}

/// The Hansards inputs of the alignment section, read and checked before any stage.
struct HansardsInput {
    /// The lowercased bitext (budget-limited) with the trial pairs appended.
    en: Vec<String>,
    /// French side of `en`.
    fr: Vec<String>,
    /// The lowercased trial pairs.
    trial_en: Vec<String>,
    /// French side of `trial_en`.
    trial_fr: Vec<String>,
    /// The gold alignment file.
    gold_path: PathBuf,
    /// Its sentences.
    gold: Vec<aer::GoldSentence>,
}

/// Reads the Hansards directory: `train.{en,fr}[.gz]`, `trial.{en,fr}` and `trial.wa`.
fn read_hansards(dir: &Path, settings: &BudgetSettings) -> anyhow::Result<HansardsInput> {
    let ro = ReadOptions::default();
    let context = || format!("--hansards {}", dir.display());
    if !dir.is_dir() {
        bail!(
            "--hansards {} is not a directory (use --hansards none to leave the alignment \
               section out)",
            dir.display()
        );
    }
    let lower = |v: Vec<String>| v.into_iter().map(|l| l.to_lowercase()).collect::<Vec<_>>();
    let mut en =
        lower(read_lines(&data::corpus_file(dir, "train", "en").with_context(context)?, ro)?);
    let mut fr =
        lower(read_lines(&data::corpus_file(dir, "train", "fr").with_context(context)?, ro)?);
    if en.len() != fr.len() {
        bail!("{}: train.en has {} lines but train.fr has {}", dir.display(), en.len(), fr.len());
    }
    if let Some(n) = settings.hansards_lines {
        en.truncate(n);
        fr.truncate(n);
    }
    let trial_en = lower(read_lines(&dir.join("trial.en"), ro)?);
    let trial_fr = lower(read_lines(&dir.join("trial.fr"), ro)?);
    if trial_en.is_empty() || trial_en.len() != trial_fr.len() {
        bail!(
            "{}: trial.en has {} lines and trial.fr {}: need the same positive number",
            dir.display(),
            trial_en.len(),
            trial_fr.len()
        );
    }
    let gold_path = dir.join("trial.wa");
    let gold = aer::read_gold(&gold_path, aer::GoldFormat::Auto, false)?;
    en.extend(trial_en.iter().cloned());
    fr.extend(trial_fr.iter().cloned());
    Ok(HansardsInput { en, fr, trial_en, trial_fr, gold_path, gold })
}

/// Where a digest of a loaded model's training side comes from.
enum Recorded {
    /// The model records it.
    Known(nmt::checkpoint::TextDigest),
    /// It cannot be known (why).
    Unknown(String),
}

/// The training sides an SMT model's manifest records: their text digests, or for a
/// model written before they were recorded, the digests of the recorded files when they
/// are still the files the model was trained on.
fn smt_training_data(dir: &Path) -> anyhow::Result<[Recorded; 2]> {
    let m = smt_manifest(dir)?;
    let side = |role: &str| -> Recorded {
        let Some(r) = m.corpora.iter().find(|c| c.role == role) else {
            return Recorded::Unknown(format!("its manifest records no {role} file"));
        };
        if let Some(t) = &r.text {
            return Recorded::Known(t.clone());
        }
        let path = Path::new(&r.path);
        match crate::smt_model::hash_file(path) {
            Ok((h, n)) if h == r.fnv1a64 && n == r.lines => {
                match read_lines(path, ReadOptions::default()) {
                    Ok(lines) => Recorded::Known(data::digest(&lines)),
                    Err(e) => Recorded::Unknown(format!("{e}")),
                }
            }
            Ok(_) => Recorded::Unknown(format!("{} changed since training", r.path)),
            Err(_) => Recorded::Unknown(format!("{} (its {role} file) is not readable", r.path)),
        }
    };
    Ok([side("source"), side("target")])
}

/// The training sides an NMT model's `config.json` records.
fn nmt_training_data(dir: &Path) -> anyhow::Result<[Recorded; 2]> {
    let saved: nmt::checkpoint::SavedConfig = nmt::checkpoint::read_json(&dir.join("config.json"))?;
    Ok(match saved.data {
        Some(d) => [Recorded::Known(d.source), Recorded::Known(d.target)],
        None => {
            let why = "its config.json does not record its training data (an older model)";
            [Recorded::Unknown(why.into()), Recorded::Unknown(why.into())]
        }
    })
}

/// Checks that each loaded model was trained on the bitext this run would train it on:
/// an error when the recorded content differs, a warning when it is not recorded.
/// One loaded model's training-data check: the flag, the model directory, what the model
/// recorded, what this run expects, and what the expected text is.
type DataCheck<'a> = (&'a str, &'a Path, [Recorded; 2], [nmt::checkpoint::TextDigest; 2], &'a str);

fn check_training_data(
    opts: &CompareOptions,
    train: &data::Split,
    hansards: Option<&HansardsInput>,
) -> anyhow::Result<()> {
    let split = [data::digest(&train.source), data::digest(&train.target)];
    let mut checks: Vec<DataCheck> = Vec::new();
    let what = "the training split";
    if let Some(dir) = &opts.smt_model {
        checks.push(("--smt-model", dir, smt_training_data(dir)?, split.clone(), what));
    }
    if let Some(dir) = &opts.nmt_model {
        checks.push(("--nmt-model", dir, nmt_training_data(dir)?, split.clone(), what));
    }
    if let (Some(dir), Some(h)) = (&opts.hansards_nmt_model, hansards) {
        let bitext = [data::digest(&h.en), data::digest(&h.fr)];
        let what = "the lowercased Hansards bitext with the trial pairs";
        checks.push(("--hansards-nmt-model", dir, nmt_training_data(dir)?, bitext, what));
    }
    for (flag, dir, recorded, expected, what) in checks {
        for ((rec, exp), side) in recorded.iter().zip(&expected).zip(["source", "target"]) {
            match rec {
                Recorded::Known(d) if d != exp => bail!(
                    "{flag} {} was not trained on {what} of this run: its {side} side had {} \
                     lines (hash {}), this run's has {} (hash {})",
                    dir.display(),
                    d.lines,
                    d.fnv1a64,
                    exp.lines,
                    exp.fnv1a64
                ),
                Recorded::Known(_) => {}
                Recorded::Unknown(why) => {
                    eprintln!(
                        "mt: warning: cannot check that {flag} {} was trained on {what}: {why}",
                        dir.display()
                    );
                    break;
                }
            }
        }
    }
    Ok(())
}

fn run_alignment(
    opts: &CompareOptions,
    settings: &BudgetSettings,
    runner: &StageRunner,
    h: &HansardsInput,
    plots: &mut Vec<String>,
) -> anyhow::Result<AlignmentReport> {
    let ro = ReadOptions::default();
    let (en, fr, trial_en, trial_fr) = (&h.en, &h.fr, &h.trial_en, &h.trial_fr);
    let n_trial = trial_en.len();
    let adir = opts.out.join("alignment");
    let (en_path, fr_path) = (adir.join("hansards.en"), adir.join("hansards.fr"));
    std::fs::create_dir_all(&adir)?;
    data::write_lines(&en_path, en)?;
    data::write_lines(&fr_path, fr)?;
    let gold_path = &h.gold_path;

    // HMM, both directions, grow-diag-final-and.
    let hmm_out = adir.join("hmm.gdfa.txt");
    let mut a = args(["align", "--model", "hmm", "--symmetrize", "grow-diag-final-and"]);
    a.extend(["--source".into(), p(&en_path), "--target".into(), p(&fr_path)]);
    threads(opts, &mut a);
    runner.run("hmm-align", &a, Some(&hmm_out))?;

    // NMT trained on the same bitext, attention argmax on the trial pairs.
    let nmt_model = match &opts.hansards_nmt_model {
        Some(dir) => dir.clone(),
        None => {
            let nmt_model = adir.join("nmt-model");
            let mut t = args(["train", "--system", "nmt"]);
            t.extend(["--source".into(), p(&en_path), "--target".into(), p(&fr_path)]);
            t.extend(["--out".into(), p(&nmt_model), "--overwrite".into()]);
            t.extend(settings.hansards_nmt_train.iter().map(OsString::from));
            threads(opts, &mut t);
            runner.run("nmt-train-hansards", &t, None)?;
            nmt_model
        }
    };
    let (trial_en_path, trial_fr_path) = (adir.join("trial.en"), adir.join("trial.fr"));
    data::write_lines(&trial_en_path, trial_en)?;
    data::write_lines(&trial_fr_path, trial_fr)?;
    let nmt_out = adir.join("nmt.attention-align.txt");
    let attn_out = adir.join("nmt.attention.txt");
    let mut d = args(["decode", "--system", "nmt", "--model"]);
    d.extend([p(&nmt_model), "--input".into(), p(&trial_en_path)]);
    d.extend(["--force-target".into(), p(&trial_fr_path), "--alignments".into()]);
    d.extend(["--attention".into(), p(&attn_out), "--output".into(), p(&nmt_out)]);
    threads(opts, &mut d);
    runner.run("nmt-force-align", &d, None)?;

    let gold = &h.gold;
    let hmm_links = read_lines(&hmm_out, ro)?;
    let hmm_tail = &hmm_links[hmm_links.len().saturating_sub(n_trial)..];
    let nmt_links = read_lines(&nmt_out, ro)?;
    let mut entries = Vec::new();
    for (system, lines) in [("hmm grow-diag-final-and", hmm_tail), ("nmt attention", &nmt_links)] {
        let name = format!("{system} alignments");
        let links = lines
            .iter()
            .enumerate()
            .map(|(k, l)| {
                Ok(aer::parse_pharaoh_line(l, &name, k + 1, true)?
                    .into_iter()
                    .map(|x| x.0)
                    .collect())
            })
            .collect::<Result<Vec<_>, aer::AerError>>()?;
        let s = aer::score(&links, gold);
        entries.push(AerEntry {
            system: system.to_string(),
            aer: s.aer,
            precision: s.precision,
            recall: s.recall,
        });
    }

    // One trial sentence: the HMM links beside the NMT attention.
    let k = 2.min(n_trial.saturating_sub(1));
    let src: Vec<String> = trial_en[k].split_whitespace().map(String::from).collect();
    let tgt: Vec<String> = trial_fr[k].split_whitespace().map(String::from).collect();
    let mut links = vec![vec![0.0; src.len()]; tgt.len()];
    for l in hmm_tail[k].split_whitespace() {
        if let Some((i, j)) = l.split_once('-') {
            if let (Ok(i), Ok(j)) = (i.parse::<usize>(), j.parse::<usize>()) {
                if i < src.len() && j < tgt.len() {
                    links[j][i] = 1.0;
                }
            }
        }
    }
    let attention = read_attention(&attn_out, k, tgt.len(), src.len())?;
    plot::heatmaps(
        &opts.out.join("alignment_matrix"),
        &format!("Hansards trial sentence {}", k + 1),
        &[
            Heatmap {
                title: "HMM grow-diag-final-and".into(),
                rows: tgt.clone(),
                cols: src.clone(),
                values: links,
            },
            Heatmap { title: "NMT attention".into(), rows: tgt, cols: src, values: attention },
        ],
    )?;
    plots.extend(["alignment_matrix.png".to_string(), "alignment_matrix.svg".to_string()]);
    Ok(AlignmentReport { gold: gold_path.display().to_string(), sentences: n_trial, entries })
}

/// Sentence `k`'s attention matrix from an `--attention` file: blocks separated by empty
/// lines, one row of space-separated weights per target word.
fn read_attention(
    path: &Path,
    k: usize,
    rows: usize,
    cols: usize,
) -> anyhow::Result<Vec<Vec<f64>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let block = text.split("\n\n").nth(k).unwrap_or("");
    let mut m: Vec<Vec<f64>> = block
        .lines()
        .map(|l| l.split_whitespace().filter_map(|v| v.parse().ok()).collect())
        .collect();
    m.resize(rows, vec![0.0; cols]);
    for r in &mut m {
        r.resize(cols, 0.0);
    }
    Ok(m)
}
