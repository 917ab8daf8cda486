//! The training loop: teacher forcing, label-smoothed cross-entropy, Adam (Kingma & Ba,
//! 2015) with warm-up and inverse square-root decay, global-norm clipping, validation,
//! early stopping, checkpoints and exact resumption.
//!
//! Reproducibility: the initial weights come from the seeded device, the batch order of
//! epoch `e` from a generator seeded with (seed, e), and the dropout masks of update `k`
//! from the device re-seeded with (seed, k). A run resumed from a checkpoint therefore
//! replays the same batches with the same masks and continues the same loss curve.

use std::path::Path;
use std::time::Instant;

use burn::optim::GradientsParams;
use burn::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::adam::FusedAdam;
use crate::batch::{make_batches, Batch, Pair};
use crate::checkpoint::{
    load_weights, read_json, save_weights, snapshot_name, snapshots, write_atomic, write_json,
    CHECKPOINT_DIR, CURVE_FILE, SNAPSHOT_DIR, WEIGHTS_FILE,
};
use crate::clip::clip_global_norm;
use crate::config::ModelConfig;
use crate::error::{NmtError, Result};
use crate::loss::smoothed_cross_entropy;
use crate::model::Seq2Seq;
use crate::schedule::learning_rate;

/// Settings of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Padded tokens per batch.
    pub batch_tokens: usize,
    /// Stop after this many updates.
    pub max_steps: usize,
    /// Stop after this many passes over the data.
    pub max_epochs: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Updates of linear warm-up.
    pub warmup_steps: usize,
    /// Global gradient-norm threshold (0: no clipping).
    pub clip_norm: f64,
    /// Label-smoothing ε.
    pub label_smoothing: f64,
    /// Validate and checkpoint every this many updates (0: only at the end).
    pub valid_every: usize,
    /// Stop after this many validations without improvement (0: never).
    pub patience: usize,
    /// Random seed.
    pub seed: u64,
    /// Keep the weights of the last this many validations as `snapshots/update-N.safetensors`
    /// (0: none), for checkpoint averaging ([`crate::average`]).
    #[serde(default)]
    pub keep_snapshots: usize,
}

impl TrainSettings {
    /// Checks that every value is finite and in range.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(NmtError::InvalidSetting(m));
        if self.batch_tokens == 0 {
            return bad("--batch-tokens must be positive".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("--lr {} must be a positive finite number", self.lr));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return bad(format!("--label-smoothing {} is not in [0, 1)", self.label_smoothing));
        }
        if !(self.clip_norm.is_finite() && self.clip_norm >= 0.0) {
            return bad(format!(
                "--clip-norm {} must be a finite number >= 0 (0: off)",
                self.clip_norm
            ));
        }
        Ok(())
    }
}

/// One row of the learning curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveRow {
    /// Update number.
    pub step: usize,
    /// Epoch (from 0).
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Smoothed training loss of the batch.
    pub loss: f32,
    /// Training perplexity of the batch (from the plain likelihood).
    pub ppl: f32,
    /// Gradient norm before clipping.
    pub grad_norm: f64,
    /// Target tokens in the batch.
    pub tokens: usize,
    /// Validation loss, on validation steps.
    pub valid_loss: Option<f64>,
    /// Validation score from the observer (BLEU), on validation steps.
    pub valid_score: Option<f64>,
}

/// Progress of a run, saved in the checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainState {
    /// Updates done.
    pub step: usize,
    /// Current epoch.
    pub epoch: usize,
    /// Batches of the current epoch already used.
    pub batch_in_epoch: usize,
    /// Best validation score so far (higher is better).
    pub best: Option<f64>,
    /// Validations since the last improvement.
    pub bad_validations: usize,
    /// True once early stopping triggered.
    pub stopped: bool,
    /// Training seconds over all sessions.
    pub seconds: f64,
    /// The learning curve.
    pub curve: Vec<CurveRow>,
}

/// What the observer hears after each update.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The curve row of the update.
    pub row: CurveRow,
    /// Target tokens per second since this session started.
    pub tokens_per_sec: f64,
    /// Updates planned in all.
    pub max_steps: usize,
}

/// What the observer hears after each validation.
#[derive(Debug, Clone)]
pub struct ValidReport {
    /// Update number.
    pub step: usize,
    /// Validation cross-entropy per token.
    pub loss: f64,
    /// Its perplexity.
    pub ppl: f64,
    /// The observer's score, if it gave one.
    pub score: Option<f64>,
    /// True when this is the best model so far (saved as `model.safetensors`).
    pub improved: bool,
}

/// Receives progress (the library never prints).
pub trait Observer {
    /// After each update.
    fn on_step(&mut self, _report: &StepReport) {}
    /// At each validation, with the model in evaluation mode: may return a score where
    /// higher is better (e.g. BLEU), which then decides early stopping instead of the loss.
    fn score(&mut self, _model: &Seq2Seq, _device: &Device) -> Option<f64> {
        None
    }
    /// After each validation.
    fn on_validation(&mut self, _report: &ValidReport) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

fn epoch_batches(pairs: &[Pair], s: &TrainSettings, epoch: usize) -> Vec<Vec<usize>> {
    let mut rng =
        StdRng::seed_from_u64(s.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    make_batches(pairs, s.batch_tokens, &mut rng)
}

/// Validation cross-entropy per token of `model` on `pairs`.
pub fn validation_loss(
    model: &Seq2Seq,
    pairs: &[Pair],
    batch_tokens: usize,
    device: &Device,
) -> f64 {
    let mut rng = StdRng::seed_from_u64(0);
    let mut nll = 0.0f64;
    let mut tokens = 0usize;
    for idx in make_batches(pairs, batch_tokens, &mut rng) {
        let batch = Batch::new(pairs, &idx, device);
        let mem = model.encode(&batch.src, device);
        let logits = model.forward(&mem, batch.tgt_in);
        let out = smoothed_cross_entropy(logits, batch.tgt_out, batch.mask, batch.tokens, 0.0);
        nll += f64::from(out.nll_sum.into_scalar::<f32>());
        tokens += batch.tokens;
    }
    nll / tokens.max(1) as f64
}

fn write_curve(dir: &Path, curve: &[CurveRow]) -> Result<()> {
    let mut csv = String::from("step,epoch,lr,loss,ppl,grad_norm,tokens,valid_loss,valid_score\n");
    let opt = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
    for r in curve {
        csv.push_str(&format!(
            "{},{},{:.8},{:.6},{:.4},{:.4},{},{},{}\n",
            r.step,
            r.epoch,
            r.lr,
            r.loss,
            r.ppl,
            r.grad_norm,
            r.tokens,
            opt(r.valid_loss),
            opt(r.valid_score)
        ));
    }
    write_atomic(&dir.join(CURVE_FILE), csv.as_bytes())
}

fn save_checkpoint(
    dir: &Path,
    model: &Seq2Seq,
    optim: &burn::optim::ModuleOptimizer,
    state: &TrainState,
) -> Result<()> {
    let final_dir = dir.join(CHECKPOINT_DIR);
    let tmp = dir.join(format!("{CHECKPOINT_DIR}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| NmtError::io(&tmp, e))?;
    save_weights(model, &tmp.join("model.bpk"))?;
    optim.save(tmp.join("optim.bpk")).map_err(|e| NmtError::BadModel {
        path: tmp.join("optim.bpk"),
        message: format!("cannot write the optimizer state: {e:?}"),
    })?;
    write_json(&tmp.join("state.json"), state)?;
    let _ = std::fs::remove_dir_all(&final_dir);
    std::fs::rename(&tmp, &final_dir).map_err(|e| NmtError::io(&final_dir, e))?;
    write_curve(dir, &state.curve)
}

/// Saves the weights of update `step` into `dir`'s [`SNAPSHOT_DIR`] and removes all but
/// the `keep` most recent snapshots.
fn save_snapshot(dir: &Path, model: &Seq2Seq, step: usize, keep: usize) -> Result<()> {
    let snap_dir = dir.join(SNAPSHOT_DIR);
    std::fs::create_dir_all(&snap_dir).map_err(|e| NmtError::io(&snap_dir, e))?;
    save_weights(model, &snap_dir.join(snapshot_name(step)))?;
    let all = snapshots(dir)?;
    for (_, path) in all.iter().take(all.len().saturating_sub(keep)) {
        std::fs::remove_file(path).map_err(|e| NmtError::io(path, e))?;
    }
    Ok(())
}

/// Trains `cfg` on `train` into the model directory `dir` (which must already hold
/// `config.json` and `tokenizer.json`); with `resume`, continues from its checkpoint.
#[allow(clippy::too_many_arguments)]
pub fn train(
    dir: &Path,
    cfg: &ModelConfig,
    s: &TrainSettings,
    train: &[Pair],
    valid: &[Pair],
    resume: bool,
    device: &Device,
    obs: &mut dyn Observer,
) -> Result<TrainState> {
    if train.is_empty() {
        return Err(NmtError::InvalidSetting("the training data is empty".into()));
    }
    s.validate()?;
    cfg.validate()?;
    // β₂ 0.98 and ε 1e-9 as in Vaswani et al. (2017).
    let mut optim = FusedAdam::new(0.9, 0.98, 1e-9).init();
    let (mut model, mut state) = if resume {
        let mut ck = dir.join(CHECKPOINT_DIR);
        if !ck.join("state.json").exists() {
            ck = dir.join(format!("{CHECKPOINT_DIR}.tmp"));
        }
        let state: TrainState = read_json(&ck.join("state.json"))?;
        let model = load_weights(cfg, &ck.join("model.bpk"), device)?;
        optim = optim.load(ck.join("optim.bpk")).map_err(|e| NmtError::BadModel {
            path: ck.join("optim.bpk"),
            message: format!("cannot load the optimizer state: {e:?}"),
        })?;
        (model, state)
    } else {
        device.seed(s.seed);
        (Seq2Seq::new(cfg, device), TrainState::default())
    };
    let start = Instant::now();
    let base_seconds = state.seconds;
    let mut session_tokens = 0usize;
    let mut validated_at = state.curve.last().filter(|r| r.valid_loss.is_some()).map(|r| r.step);
    while state.step < s.max_steps && state.epoch < s.max_epochs && !state.stopped {
        let batches = epoch_batches(train, s, state.epoch);
        while state.batch_in_epoch < batches.len() && state.step < s.max_steps {
            let step = state.step + 1;
            device.seed(s.seed.wrapping_mul(1_000_003).wrapping_add(step as u64));
            let batch = Batch::new(train, &batches[state.batch_in_epoch], device);
            let mem = model.encode(&batch.src, device);
            let logits = model.forward(&mem, batch.tgt_in);
            let out = smoothed_cross_entropy(
                logits,
                batch.tgt_out,
                batch.mask,
                batch.tokens,
                s.label_smoothing,
            );
            let nll: f32 = out.nll_sum.clone().into_scalar();
            let loss_value: f32 = out.loss.clone().into_scalar();
            if !loss_value.is_finite() {
                return Err(NmtError::Diverged { step, loss: loss_value });
            }
            let mut grads = GradientsParams::from_grads(out.loss.backward(), &model);
            let grad_norm = clip_global_norm(&model, &mut grads, s.clip_norm);
            let lr = learning_rate(s.lr, s.warmup_steps, step);
            model = optim.step(lr, model, grads);
            state.step = step;
            state.batch_in_epoch += 1;
            session_tokens += batch.tokens;
            let row = CurveRow {
                step,
                epoch: state.epoch,
                lr,
                loss: loss_value,
                ppl: (nll / batch.tokens.max(1) as f32).exp(),
                grad_norm,
                tokens: batch.tokens,
                valid_loss: None,
                valid_score: None,
            };
            state.curve.push(row.clone());
            let secs = start.elapsed().as_secs_f64();
            obs.on_step(&StepReport {
                row,
                tokens_per_sec: session_tokens as f64 / secs.max(1e-9),
                max_steps: s.max_steps,
            });
            if s.valid_every > 0 && step.is_multiple_of(s.valid_every) {
                state.seconds = base_seconds + start.elapsed().as_secs_f64();
                validate(dir, &model, &optim, &mut state, s, valid, device, obs)?;
                validated_at = Some(step);
                if state.stopped {
                    break;
                }
            }
        }
        if state.batch_in_epoch >= batches.len() {
            state.epoch += 1;
            state.batch_in_epoch = 0;
        }
    }
    if validated_at != Some(state.step) {
        state.seconds = base_seconds + start.elapsed().as_secs_f64();
        validate(dir, &model, &optim, &mut state, s, valid, device, obs)?;
    }
    Ok(state)
}

#[allow(clippy::too_many_arguments)]
fn validate(
    dir: &Path,
    model: &Seq2Seq,
    optim: &burn::optim::ModuleOptimizer,
    state: &mut TrainState,
    s: &TrainSettings,
    valid: &[Pair],
    device: &Device,
    obs: &mut dyn Observer,
) -> Result<()> {
    let eval_model = model.valid();
    let (loss, score, improved) = if valid.is_empty() {
        (f64::NAN, None, true)
    } else {
        let inner = device.clone().without_autodiff();
        let loss = validation_loss(&eval_model, valid, s.batch_tokens, &inner);
        let score = obs.score(&eval_model, &inner);
        let key = score.unwrap_or(-loss);
        let improved = state.best.is_none_or(|b| key > b);
        if improved {
            state.best = Some(key);
            state.bad_validations = 0;
        } else {
            state.bad_validations += 1;
            if s.patience > 0 && state.bad_validations >= s.patience {
                state.stopped = true;
            }
        }
        (loss, score, improved)
    };
    if let Some(row) = state.curve.last_mut() {
        row.valid_loss = loss.is_finite().then_some(loss);
        row.valid_score = score;
    }
    if improved {
        save_weights(model, &dir.join(WEIGHTS_FILE))?;
    }
    save_checkpoint(dir, model, optim, state)?;
    if s.keep_snapshots > 0 {
        save_snapshot(dir, model, state.step, s.keep_snapshots)?;
    }
    obs.on_validation(&ValidReport { step: state.step, loss, ppl: loss.exp(), score, improved });
    Ok(())
}
