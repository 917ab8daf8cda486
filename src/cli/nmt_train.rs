//! `mt train --system nmt`: learns the joint BPE vocabulary, then trains the network.

use std::path::Path;

use anyhow::{bail, Context};
use clap::ValueEnum;
use nmt::batch::Pair;
use nmt::bpe::SubwordVocab;
use nmt::checkpoint::{
    read_json, write_atomic, write_json, SavedConfig, CONFIG_FILE, TOKENIZER_FILE,
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
    /// [nmt] Skip the validation BLEU (greedy decoding of the dev set at each validation);
    /// early stopping then follows the validation loss.
    #[arg(long)]
    pub no_valid_bleu: bool,
    /// [nmt] Continue the interrupted run in `--out` from its checkpoint.
    #[arg(long)]
    pub resume: bool,
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

/// Runs `mt train --system nmt`.
pub fn run(common: &super::train::TrainArgs, opts: &NmtTrainOpts) -> anyhow::Result<()> {
    let out = &common.out;
    let device = nmt::device(opts.gpu, common.threads);
    let (src, tgt) = read_parallel(&common.source, &common.target)?;
    let dev = match (&common.dev_source, &common.dev_target) {
        (Some(s), Some(t)) => Some(read_parallel(s, t)?),
        (None, None) => None,
        _ => bail!("--dev-source and --dev-target go together"),
    };
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
    };
    let (config, vocab) = if opts.resume {
        let mut saved: SavedConfig = read_json(&out.join(CONFIG_FILE))?;
        let vocab = SubwordVocab::load(&out.join(TOKENIZER_FILE), saved.model.normalization)?;
        // The schedule may be extended on resume; the model itself cannot change.
        saved.train.max_steps = settings.max_steps;
        saved.train.max_epochs = settings.max_epochs;
        write_json(&out.join(CONFIG_FILE), &saved)?;
        (saved, vocab)
    } else {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let normalization = match opts.normalize {
            NormalizeOpt::None => Normalization::None,
            NormalizeOpt::Nfc => Normalization::Nfc,
            NormalizeOpt::Nfkc => Normalization::Nfkc,
        };
        let spinner = crate::progress::spinner("learning BPE");
        let lines = src.iter().chain(&tgt).map(String::as_str);
        let vocab = SubwordVocab::learn(lines, opts.vocab_size, normalization)?;
        spinner.finish_and_clear();
        let model = ModelConfig {
            arch: match opts.arch {
                ArchOpt::Lstm => Arch::Lstm,
                ArchOpt::Transformer => Arch::Transformer,
            },
            vocab_size: vocab.size(),
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
        model.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        write_atomic(&out.join(TOKENIZER_FILE), vocab.to_json()?.as_bytes())?;
        let saved = SavedConfig { model, train: settings.clone() };
        write_json(&out.join(CONFIG_FILE), &saved)?;
        (saved, vocab)
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
    eprintln!(
        "mt: trained {} updates in {:.0} s{}; model in {}",
        state.step,
        state.seconds,
        if state.stopped { " (early stop)" } else { "" },
        out.display()
    );
    Ok(())
}
