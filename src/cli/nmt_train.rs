//! `mt train --system nmt`: learns the joint BPE vocabulary, then trains the network.

use std::path::Path;

use anyhow::{bail, Context};
use clap::ValueEnum;
use nmt::batch::Pair;
use nmt::bpe::SubwordVocab;
use nmt::checkpoint::{
    read_config, write_atomic, write_json, SavedConfig, TrainingData, CHECKPOINT_DIR, CONFIG_FILE,
    CURVE_FILE, LEGACY_WEIGHTS_FILE, TOKENIZER_FILE, WEIGHTS_FILE,
};
use nmt::config::{Arch, AttentionKind, ModelConfig};
use nmt::normalize::Normalization;
use nmt::train::{Observer, StepReport, TrainSettings, ValidReport};

use crate::text::{read_lines, ReadOptions};

/// Network architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArchOpt {
    /// Bidirectional LSTM encoder, attentional LSTM decoder.
    Lstm,
    /// Pre-norm Transformer.
    Transformer,
}

/// Attention scoring of the LSTM decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AttentionScore {
    /// Luong dot product.
    Dot,
    /// Luong general (bilinear).
    General,
    /// Bahdanau additive.
    Bahdanau,
}

/// Unicode normalization before BPE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NormalizeOpt {
    /// None: encoding then decoding returns the input byte for byte.
    None,
    /// Canonical composition (the default).
    Nfc,
    /// Compatibility composition (folds fullwidth and presentation forms; lossy).
    Nfkc,
}

/// Options of `mt train` that only the nmt system reads.
#[derive(Debug, clap::Args)]
pub struct NmtTrainOpts {
    /// [nmt] Network architecture.
    #[arg(long, value_enum, default_value_t = ArchOpt::Lstm)]
    pub arch: ArchOpt,
    /// [nmt] Embedding size (the model size of the Transformer).
    #[arg(long, default_value_t = 256)]
    pub emb_size: usize,
    /// [nmt] LSTM hidden size (per direction and decoder); Transformer feed-forward size.
    #[arg(long, default_value_t = 256)]
    pub hidden_size: usize,
    /// [nmt] Layers per stack (the LSTM supports 1).
    #[arg(long, default_value_t = 1)]
    pub layers: usize,
    /// [nmt] Transformer attention heads.
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// [nmt] Dropout probability.
    #[arg(long, default_value_t = 0.3)]
    pub dropout: f64,
    /// [nmt] LSTM attention scoring.
    #[arg(long, value_enum, default_value_t = AttentionScore::General)]
    pub attention_score: AttentionScore,
    /// [nmt] Share the target embedding with the output layer.
    #[arg(long)]
    pub tied_embeddings: bool,
    /// [nmt] Label-smoothing epsilon.
    #[arg(long, default_value_t = 0.1)]
    pub label_smoothing: f64,
    /// [nmt] Padded target tokens per batch.
    #[arg(long, default_value_t = 2048)]
    pub batch_tokens: usize,
    /// [nmt] Stop after this many updates.
    #[arg(long, default_value_t = 20000)]
    pub max_steps: usize,
    /// [nmt] Stop after this many epochs.
    #[arg(long, default_value_t = 1000)]
    pub max_epochs: usize,
    /// [nmt] Peak learning rate of Adam.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// [nmt] Linear warm-up updates (then inverse square-root decay).
    #[arg(long, default_value_t = 1000)]
    pub warmup_steps: usize,
    /// [nmt] Clip gradients to this global norm (0: off).
    #[arg(long, default_value_t = 1.0)]
    pub clip_norm: f64,
    /// [nmt] Joint BPE vocabulary size (specials included).
    #[arg(long, default_value_t = 8000)]
    pub vocab_size: usize,
    /// [nmt] Unicode normalization before BPE, saved with the model.
    #[arg(long, value_enum, default_value_t = NormalizeOpt::Nfc)]
    pub normalize: NormalizeOpt,
    /// [nmt] Training pairs with a side longer than this many subwords are skipped.
    #[arg(long, default_value_t = 100)]
    pub max_subwords: usize,
    /// [nmt] Validate (and checkpoint) every N updates.
    #[arg(long, default_value_t = 1000)]
    pub valid_every: usize,
    /// [nmt] Stop after N validations without improvement (0: never).
    #[arg(long, default_value_t = 5)]
    pub patience: usize,
    /// [nmt] Keep the weights of the last N validations in `OUT/snapshots/` for checkpoint
    /// averaging (`mt average`); 0 keeps none. May be changed on `--resume`.
    #[arg(long, default_value_t = 0)]
    pub keep_snapshots: usize,
    /// [nmt] Skip the validation BLEU (greedy decoding of the dev set at each validation);
    /// early stopping then follows the validation loss.
    #[arg(long)]
    pub no_valid_bleu: bool,
    /// [nmt] Continue the interrupted run in `--out` from its checkpoint. The model and
    /// training settings saved in `--out` are kept (only `--max-steps`, `--max-epochs` and
    /// `--keep-snapshots` may change); other options that differ from them are ignored
    /// with a warning.
    #[arg(long)]
    pub resume: bool,
    /// [nmt] Replace the model already in `--out` (without it, a `--out` holding a model
    /// is refused). Its files are removed only once every setting and input has been
    /// checked; a run that then fails before its first checkpoint leaves no model files.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// [nmt] Train on the CUDA GPU (build with `--features nmt/cuda`).
    #[arg(long)]
    pub gpu: bool,
}

fn read_parallel(src: &Path, tgt: &Path) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let s = read_lines(src, ReadOptions::default())?;
    let t = read_lines(tgt, ReadOptions::default())?;
    if s.len() != t.len() {
        bail!(
            "{} has {} lines but {} has {}: the sides are not parallel",
            src.display(),
            s.len(),
            tgt.display(),
            t.len()
        );
    }
    Ok((s, t))
}

fn encode_pairs(
    vocab: &SubwordVocab,
    src: &[String],
    tgt: &[String],
    max: usize,
) -> anyhow::Result<(Vec<Pair>, usize)> {
    let mut pairs = Vec::with_capacity(src.len());
    let mut skipped = 0;
    for (s, t) in src.iter().zip(tgt) {
        let p = Pair { src: vocab.encode(s)?, tgt: vocab.encode(t)? };
        if p.src.is_empty() || p.tgt.is_empty() || p.src.len() > max || p.tgt.len() > max {
            skipped += 1;
        } else {
            pairs.push(p);
        }
    }
    Ok((pairs, skipped))
}

/// The vocabulary, the encoded dev sources and the dev references.
type BleuSet<'a> = (&'a SubwordVocab, Vec<Vec<u32>>, &'a [String]);

struct Progress<'a> {
    bar: indicatif::ProgressBar,
    /// Dev sources and references for BLEU (empty: no BLEU).
    bleu_set: Option<BleuSet<'a>>,
}

/// Corpus BLEU (sacreBLEU's defaults, via `mt eval`) of greedy translations of `sources`.
fn greedy_bleu(
    model: &nmt::model::Seq2Seq,
    device: &nmt::Device,
    vocab: &SubwordVocab,
    sources: &[Vec<u32>],
    refs: &[String],
) -> anyhow::Result<f64> {
    let mut hyps = vec![String::new(); sources.len()];
    let mut order: Vec<usize> = (0..sources.len()).filter(|&i| !sources[i].is_empty()).collect();
    order.sort_by_key(|&i| sources[i].len());
    for chunk in order.chunks(64) {
        let batch: Vec<Vec<u32>> = chunk.iter().map(|&i| sources[i].clone()).collect();
        let max_len: Vec<usize> = batch.iter().map(|s| s.len() * 3 / 2 + 5).collect();
        let out = nmt::search::greedy(&mut model.scorer(&batch, device), &max_len);
        for (&i, h) in chunk.iter().zip(out) {
            hyps[i] = vocab.decode(&h.tokens)?;
        }
    }
    let bleu = crate::eval::Bleu::new(crate::eval::BleuConfig::default());
    let refs = crate::eval::References::single(refs.to_vec());
    Ok(bleu.corpus_score(&hyps, &refs)?.score)
}

impl Observer for Progress<'_> {
    fn score(&mut self, model: &nmt::model::Seq2Seq, device: &nmt::Device) -> Option<f64> {
        let (vocab, sources, refs) = self.bleu_set.as_ref()?;
        match greedy_bleu(model, device, vocab, sources, refs) {
            Ok(b) => Some(b),
            Err(e) => {
                self.bar.suspend(|| eprintln!("mt: warning: validation BLEU failed: {e:#}"));
                None
            }
        }
    }

    fn on_step(&mut self, r: &StepReport) {
        self.bar.set_length(r.max_steps as u64);
        self.bar.set_position(r.row.step as u64);
        self.bar.set_message(format!(
            "loss {:.3} ppl {:.1} {:.0} tok/s lr {:.2e}",
            r.row.loss, r.row.ppl, r.tokens_per_sec, r.row.lr
        ));
    }
    fn on_validation(&mut self, r: &ValidReport) {
        if r.loss.is_nan() {
            return; // no validation set: only a checkpoint was written
        }
        self.bar.suspend(|| {
            eprintln!(
                "mt: step {}: validation loss {:.4} ppl {:.2}{}{}",
                r.step,
                r.loss,
                r.ppl,
                r.score.map(|b| format!(" BLEU {b:.2}")).unwrap_or_default(),
                if r.improved { " (best, saved)" } else { "" }
            )
        });
    }
}

/// The files `mt train --system nmt` writes into its model directory.
const MODEL_FILES: [&str; 7] = [
    CONFIG_FILE,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    LEGACY_WEIGHTS_FILE,
    CURVE_FILE,
    CHECKPOINT_DIR,
    "checkpoint.tmp",
];

/// The model files present in `dir`.
fn model_files_in(dir: &Path) -> Vec<&'static str> {
    MODEL_FILES.into_iter().filter(|f| dir.join(f).exists()).collect()
}

fn remove_model_files(dir: &Path) -> std::io::Result<()> {
    for f in model_files_in(dir) {
        let path = dir.join(f);
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Checks `--out` of a new (not resumed) run before anything is written.
fn check_new_out(out: &Path, overwrite: bool) -> anyhow::Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        bail!("--out {} exists and is not a directory", out.display());
    }
    let present = model_files_in(out);
    if !present.is_empty() && !overwrite {
        bail!(
            "--out {} already holds a model ({}): add --resume to continue its training or \
             --overwrite to replace it, or choose another directory",
            out.display(),
            present.join(", ")
        );
    }
    Ok(())
}

/// Removes what a new run wrote into its model directory if it fails before its first
/// checkpoint, so that no directory with a configuration but no (or other) weights stays.
struct NewModelDir<'a> {
    dir: &'a Path,
    created: bool,
    armed: bool,
}

impl Drop for NewModelDir<'_> {
    fn drop(&mut self) {
        if !self.armed || self.dir.join(CHECKPOINT_DIR).join("state.json").exists() {
            return;
        }
        let _ = remove_model_files(self.dir);
        if self.created {
            let _ = std::fs::remove_dir(self.dir); // only when nothing else is in it
        }
    }
}

/// Warns (one line) about options given on the command line that `--resume` ignores
/// because they differ from the settings saved in the model directory.
fn warn_ignored_on_resume(
    common: &super::train::TrainArgs,
    opts: &NmtTrainOpts,
    saved: &SavedConfig,
    config_path: &Path,
) {
    let (m, t) = (&saved.model, &saved.train);
    let arch = match opts.arch {
        ArchOpt::Lstm => Arch::Lstm,
        ArchOpt::Transformer => Arch::Transformer,
    };
    let attention = match opts.attention_score {
        AttentionScore::Dot => AttentionKind::Dot,
        AttentionScore::General => AttentionKind::General,
        AttentionScore::Bahdanau => AttentionKind::Bahdanau,
    };
    let checks: [(&str, &str, String, String); 18] = [
        ("arch", "--arch", format!("{arch:?}"), format!("{:?}", m.arch)),
        ("emb_size", "--emb-size", opts.emb_size.to_string(), m.emb_size.to_string()),
        ("hidden_size", "--hidden-size", opts.hidden_size.to_string(), m.hidden_size.to_string()),
        ("layers", "--layers", opts.layers.to_string(), m.layers.to_string()),
        ("heads", "--heads", opts.heads.to_string(), m.heads.to_string()),
        ("dropout", "--dropout", opts.dropout.to_string(), m.dropout.to_string()),
        ("attention_score", "--attention-score", format!("{attention:?}"), {
            format!("{:?}", m.attention)
        }),
        ("tied_embeddings", "--tied-embeddings", "true".into(), m.tied_embeddings.to_string()),
        ("vocab_size", "--vocab-size", opts.vocab_size.to_string(), m.vocab_size.to_string()),
        ("normalize", "--normalize", format!("{:?}", opts.normalize), {
            format!("{:?}", m.normalization)
        }),
        ("max_subwords", "--max-subwords", opts.max_subwords.to_string(), {
            m.max_positions.to_string()
        }),
        ("batch_tokens", "--batch-tokens", opts.batch_tokens.to_string(), {
            t.batch_tokens.to_string()
        }),
        ("lr", "--lr", opts.lr.to_string(), t.lr.to_string()),
        ("warmup_steps", "--warmup-steps", opts.warmup_steps.to_string(), {
            t.warmup_steps.to_string()
        }),
        ("clip_norm", "--clip-norm", opts.clip_norm.to_string(), t.clip_norm.to_string()),
        ("label_smoothing", "--label-smoothing", opts.label_smoothing.to_string(), {
            t.label_smoothing.to_string()
        }),
        ("valid_every", "--valid-every", opts.valid_every.to_string(), {
            t.valid_every.to_string()
        }),
        ("patience", "--patience", opts.patience.to_string(), t.patience.to_string()),
    ];
    let mut ignored: Vec<String> = checks
        .iter()
        .filter(|(id, _, given, kept)| {
            common.given.iter().any(|g| g == id) && !given.eq_ignore_ascii_case(kept)
        })
        .map(|(_, flag, given, kept)| format!("{flag} {given} (saved: {kept})"))
        .collect();
    if common.given.iter().any(|g| g == "seed") && common.seed != t.seed {
        ignored.push(format!("--seed {} (saved: {})", common.seed, t.seed));
    }
    if !ignored.is_empty() {
        eprintln!(
            "mt: warning: --resume keeps the settings saved in {}; ignored: {}",
            config_path.display(),
            ignored.join(", ")
        );
    }
}

/// A setting error of the library as a one-line error naming the file it came from.
fn setting_error(e: nmt::error::NmtError, path: &Path) -> anyhow::Error {
    match e {
        nmt::error::NmtError::InvalidSetting(m) => anyhow::anyhow!("{}: {m}", path.display()),
        other => other.into(),
    }
}

/// Runs `mt train --system nmt`.
///
/// Every setting and input is checked before anything is written. A new run refuses a
/// `--out` that already holds a model (unless `--overwrite`), and if it fails before its
/// first checkpoint it removes the files it wrote.
pub fn run(common: &super::train::TrainArgs, opts: &NmtTrainOpts) -> anyhow::Result<()> {
    // On a thread of the CPU pool: its parallel operations start there (see `nmt::in_pool`).
    nmt::in_pool(common.threads, || run_in_pool(common, opts))
}

fn run_in_pool(common: &super::train::TrainArgs, opts: &NmtTrainOpts) -> anyhow::Result<()> {
    let out = &common.out;
    let settings = TrainSettings {
        batch_tokens: opts.batch_tokens,
        max_steps: opts.max_steps,
        max_epochs: opts.max_epochs,
        lr: opts.lr,
        warmup_steps: opts.warmup_steps,
        clip_norm: opts.clip_norm,
        label_smoothing: opts.label_smoothing,
        valid_every: opts.valid_every,
        patience: opts.patience,
        seed: common.seed,
        keep_snapshots: opts.keep_snapshots,
    };
    let normalization = match opts.normalize {
        NormalizeOpt::None => Normalization::None,
        NormalizeOpt::Nfc => Normalization::Nfc,
        NormalizeOpt::Nfkc => Normalization::Nfkc,
    };
    let requested = ModelConfig {
        arch: match opts.arch {
            ArchOpt::Lstm => Arch::Lstm,
            ArchOpt::Transformer => Arch::Transformer,
        },
        vocab_size: opts.vocab_size,
        emb_size: opts.emb_size,
        hidden_size: opts.hidden_size,
        layers: opts.layers,
        heads: opts.heads,
        dropout: opts.dropout,
        attention: match opts.attention_score {
            AttentionScore::Dot => AttentionKind::Dot,
            AttentionScore::General => AttentionKind::General,
            AttentionScore::Bahdanau => AttentionKind::Bahdanau,
        },
        tied_embeddings: opts.tied_embeddings,
        normalization,
        max_positions: opts.max_subwords,
    };
    let config_path = out.join(CONFIG_FILE);
    let resumed = if opts.resume {
        let mut saved = read_config(out)?;
        warn_ignored_on_resume(common, opts, &saved, &config_path);
        // The schedule may be extended on resume; the model itself cannot change.
        saved.train.max_steps = settings.max_steps;
        saved.train.max_epochs = settings.max_epochs;
        saved.train.keep_snapshots = settings.keep_snapshots;
        saved.train.validate().map_err(|e| setting_error(e, &config_path))?;
        let vocab = SubwordVocab::load(&out.join(TOKENIZER_FILE), saved.model.normalization)?;
        if vocab.size() != saved.model.vocab_size {
            bail!(
                "{}: {} symbols, but {} says {}",
                out.join(TOKENIZER_FILE).display(),
                vocab.size(),
                config_path.display(),
                saved.model.vocab_size
            );
        }
        Some((saved, vocab))
    } else {
        settings.validate()?;
        requested.validate()?;
        check_new_out(out, opts.overwrite)?;
        None
    };
    let device = nmt::device(opts.gpu, common.threads);
    let (src, tgt) = read_parallel(&common.source, &common.target)?;
    let dev = match (&common.dev_source, &common.dev_target) {
        (Some(s), Some(t)) => Some(read_parallel(s, t)?),
        (None, None) => None,
        _ => bail!("--dev-source and --dev-target go together"),
    };
    let mut guard = NewModelDir { dir: out, created: false, armed: false };
    let (config, vocab) = match resumed {
        Some((saved, vocab)) => {
            write_json(&config_path, &saved)?;
            (saved, vocab)
        }
        None => {
            let spinner = crate::progress::spinner("learning BPE");
            let lines = src.iter().chain(&tgt).map(String::as_str);
            let vocab = SubwordVocab::learn(lines, opts.vocab_size, normalization)?;
            spinner.finish_and_clear();
            let model = ModelConfig { vocab_size: vocab.size(), ..requested };
            model.validate()?;
            let data = Some(TrainingData {
                source: crate::compare::data::digest(&src),
                target: crate::compare::data::digest(&tgt),
            });
            let saved = SavedConfig { model, train: settings.clone(), data };
            if out.exists() {
                remove_model_files(out)
                    .with_context(|| format!("cannot remove the old model in {}", out.display()))?;
            } else {
                guard.created = true;
            }
            guard.armed = true;
            std::fs::create_dir_all(out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            write_atomic(&out.join(TOKENIZER_FILE), vocab.to_json()?.as_bytes())?;
            write_json(&config_path, &saved)?;
            (saved, vocab)
        }
    };
    let (train_pairs, skipped) = encode_pairs(&vocab, &src, &tgt, config.model.max_positions)?;
    if skipped > 0 {
        eprintln!(
            "mt: skipped {skipped} of {} training pairs (a side empty or over {} subwords)",
            src.len(),
            config.model.max_positions
        );
    }
    let valid_pairs = match &dev {
        Some((s, t)) => encode_pairs(&vocab, s, t, config.model.max_positions)?.0,
        None => Vec::new(),
    };
    let params = nmt::model::Seq2Seq::new(&config.model, &device.clone().without_autodiff())
        .parameter_count();
    eprintln!(
        "mt: {:?} model, {params} parameters, vocabulary {}, {} training pairs",
        config.model.arch,
        vocab.size(),
        train_pairs.len()
    );
    let bleu_set = match &dev {
        Some((s, t)) if !opts.no_valid_bleu => {
            let mut sources = Vec::with_capacity(s.len());
            for line in s {
                let mut ids = vocab.encode(line)?;
                ids.truncate(config.model.max_positions);
                sources.push(ids);
            }
            Some((&vocab, sources, t.as_slice()))
        }
        _ => None,
    };
    let mut progress =
        Progress { bar: crate::progress::bar(settings.max_steps as u64, "training"), bleu_set };
    progress.bar.set_style(
        indicatif::ProgressStyle::with_template("{pos}/{len} [{bar:30}] {msg} eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let state = nmt::train::train(
        out,
        &config.model,
        &config.train,
        &train_pairs,
        &valid_pairs,
        opts.resume,
        &device.autodiff(),
        &mut progress,
    )?;
    progress.bar.finish_and_clear();
    guard.armed = false;
    eprintln!(
        "mt: trained {} updates in {:.0} s{}; model in {}",
        state.step,
        state.seconds,
        if state.stopped { " (early stop)" } else { "" },
        out.display()
    );
    Ok(())
}
