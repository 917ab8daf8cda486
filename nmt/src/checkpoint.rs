//! The model directory: `config.json` (model and training settings), `tokenizer.json`
//! (the HF tokenizer), `model.safetensors` (the weights of the best model, readable by
//! any safetensors reader, tensor names are the module paths such as
//! `Lstm.enc_fwd.input.weight`), the resume checkpoint `checkpoint/` (last weights,
//! Adam state, progress), `learning_curve.csv` and, when asked for, `snapshots/` (the
//! weights of the last validations, for checkpoint averaging). Every file is written to a temporary
//! name and renamed, so an interrupted run never leaves a half-written file.
//!
//! The resume checkpoint keeps its weights in burn's burnpack format (`.bpk`), which
//! stores the parameter ids that the saved Adam state is keyed by; safetensors does not.
//! Model directories written before safetensors (a `model.bpk` and no
//! `model.safetensors`) still load.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bpe::SubwordVocab;
use crate::config::ModelConfig;
use crate::error::{NmtError, Result};
use crate::model::Seq2Seq;
use crate::train::TrainSettings;

/// Name of the configuration file.
pub const CONFIG_FILE: &str = "config.json";
/// Name of the tokenizer file.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// Name of the weights of the best model.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Name of the best model's weights in model directories written before safetensors.
pub const LEGACY_WEIGHTS_FILE: &str = "model.bpk";
/// Name of the resume checkpoint directory.
pub const CHECKPOINT_DIR: &str = "checkpoint";
/// Name of the directory of the weights kept at each validation for checkpoint averaging
/// (`mt train --keep-snapshots N`).
pub const SNAPSHOT_DIR: &str = "snapshots";
/// Name of the learning-curve file.
pub const CURVE_FILE: &str = "learning_curve.csv";

/// What `config.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedConfig {
    /// The model hyper-parameters.
    pub model: ModelConfig,
    /// The training settings the model was trained with.
    pub train: TrainSettings,
    /// What the model was trained on (absent in models written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<TrainingData>,
}

/// Line count and content hash of a text, independent of how the file was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextDigest {
    /// Number of lines.
    pub lines: usize,
    /// FNV-1a 64-bit hash (hexadecimal) of the lines, each followed by `\n`.
    pub fnv1a64: String,
}

/// The training bitext a model was trained on, as digests of its two sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingData {
    /// The source side.
    pub source: TextDigest,
    /// The target side.
    pub target: TextDigest,
}

/// Writes `bytes` to `path` through a temporary file in the same directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| NmtError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| NmtError::io(path, e))
}

/// Reads and parses a JSON file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| NmtError::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| NmtError::BadModel { path: path.to_path_buf(), message: e.to_string() })
}

/// Serializes `value` as pretty JSON into `path`, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("plain data serializes");
    write_atomic(path, text.as_bytes())
}

fn is_safetensors(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "safetensors")
}

/// Saves module weights: safetensors when `path` ends in `.safetensors` (written to a
/// temporary file and renamed), burnpack otherwise (written atomically by burnpack).
pub fn save_weights(model: &Seq2Seq, path: &Path) -> Result<()> {
    let bad = |e: String| NmtError::BadModel {
        path: path.to_path_buf(),
        message: format!("cannot write weights: {e}"),
    };
    if !is_safetensors(path) {
        return model.clone().save_file(path).map_err(|e| bad(format!("{e:?}")));
    }
    use burn::store::{ModuleSnapshot, SafetensorsStore};
    let tmp = path.with_extension("safetensors.tmp");
    let mut store = SafetensorsStore::from_file(&tmp)
        .metadata("producer", concat!("mt nmt ", env!("CARGO_PKG_VERSION")))
        .overwrite(true);
    model.save_into(&mut store).map_err(|e| bad(e.to_string()))?;
    // The store creates its file readable by the owner only; a model is meant to be shared
    // like the other files of its directory.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(&tmp, mode).map_err(|e| NmtError::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| NmtError::io(path, e))
}

/// Name of the file of the weights at update `step` in [`SNAPSHOT_DIR`].
pub fn snapshot_name(step: usize) -> String {
    format!("update-{step:07}.safetensors")
}

/// The snapshots in `dir`'s [`SNAPSHOT_DIR`], oldest first, with their update numbers.
pub fn snapshots(dir: &Path) -> Result<Vec<(usize, PathBuf)>> {
    let snap_dir = dir.join(SNAPSHOT_DIR);
    if !snap_dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(&snap_dir).map_err(|e| NmtError::io(&snap_dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| NmtError::io(&snap_dir, e))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let step = name
            .strip_prefix("update-")
            .and_then(|r| r.strip_suffix(".safetensors"))
            .and_then(|n| n.parse::<usize>().ok());
        if let Some(step) = step {
            found.push((step, path));
        }
    }
    found.sort();
    Ok(found)
}

/// Loads weights from `path` into a model built from `cfg` on `device`.
pub fn load_weights(cfg: &ModelConfig, path: &Path, device: &Device) -> Result<Seq2Seq> {
    if !path.exists() {
        return Err(NmtError::BadModel {
            path: path.to_path_buf(),
            message: "no such file (was the model trained?)".into(),
        });
    }
    let bad = |message: String| NmtError::BadModel { path: path.to_path_buf(), message };
    if !is_safetensors(path) {
        return Seq2Seq::new(cfg, device).try_load_file(path).map_err(|e| {
            let text = format!("{e:?}");
            let mut first: String = text.lines().next().unwrap_or("").chars().take(300).collect();
            if first.len() < text.len() {
                first.push_str(" ...");
            }
            bad(format!("cannot load weights (not weights of this model?): {first}"))
        });
    }
    use burn::store::{ApplyError, ModuleSnapshot, SafetensorsStore};
    let mut model = Seq2Seq::new(cfg, device);
    // Partial, unvalidated loading returns every problem in the result instead of one
    // multi-line (or nameless) error: the first problem is then reported on one line.
    let mut store = SafetensorsStore::from_file(path).validate(false).allow_partial(true);
    let result = model.load_from(&mut store).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
        bad(format!("cannot load weights (not weights of this model?): {first}"))
    })?;
    let config = path.with_file_name(CONFIG_FILE);
    if let Some(e) = result.errors.first() {
        let what = match e {
            ApplyError::ShapeMismatch { path: name, expected, found } => format!(
                "tensor {name} has shape {:?}, but {} describes a model where it has {:?}",
                found.as_slice(),
                config.display(),
                expected.as_slice()
            ),
            other => other.to_string(),
        };
        return Err(bad(format!(
            "{what} ({} of the model's tensors do not fit)",
            result.errors.len()
        )));
    }
    if let Some((name, _)) = result.missing.first() {
        return Err(bad(format!(
            "tensor {name} missing ({} of the model's tensors absent; does {} belong to \
             these weights?)",
            result.missing.len(),
            config.display()
        )));
    }
    if let Some(name) = result.unused.first() {
        return Err(bad(format!(
            "tensor {name} is not part of the model {} describes",
            config.display()
        )));
    }
    Ok(model)
}

/// The best model's weights file in `dir`: `model.safetensors`, or `model.bpk` for a
/// directory written before safetensors.
pub fn weights_path(dir: &Path) -> PathBuf {
    let legacy = dir.join(LEGACY_WEIGHTS_FILE);
    if !dir.join(WEIGHTS_FILE).exists() && legacy.exists() {
        legacy
    } else {
        dir.join(WEIGHTS_FILE)
    }
}

/// Reads `config.json` of the model directory `dir` and checks its model settings.
pub fn read_config(dir: &Path) -> Result<SavedConfig> {
    let path = dir.join(CONFIG_FILE);
    let config: SavedConfig = read_json(&path)?;
    config.model.validate().map_err(|e| match e {
        NmtError::InvalidSetting(message) => NmtError::BadModel { path, message },
        other => other,
    })?;
    Ok(config)
}

/// A trained model ready for decoding.
pub struct LoadedModel {
    /// Settings from `config.json`.
    pub config: SavedConfig,
    /// The subword vocabulary.
    pub vocab: SubwordVocab,
    /// The network on the decoding device.
    pub model: Seq2Seq,
}

/// Loads the best model of the directory `dir` for decoding on `device`.
pub fn load_model(dir: &Path, device: &Device) -> Result<LoadedModel> {
    let config = read_config(dir)?;
    let vocab = SubwordVocab::load(&dir.join(TOKENIZER_FILE), config.model.normalization)?;
    if vocab.size() != config.model.vocab_size {
        return Err(NmtError::BadModel {
            path: dir.join(TOKENIZER_FILE),
            message: format!(
                "{} symbols, but the model was built for {}",
                vocab.size(),
                config.model.vocab_size
            ),
        });
    }
    // In evaluation mode: dropout off whatever the device.
    let model = load_weights(&config.model, &weights_path(dir), device)?.for_inference();
    Ok(LoadedModel { config, vocab, model })
}
