//! The model directory: `config.json` (model and training settings), `tokenizer.json`
//! (the HF tokenizer), `model.bpk` (the weights of the best model, burnpack), the resume
//! checkpoint `checkpoint/` (last weights, Adam state, progress) and
//! `learning_curve.csv`. Every file is written to a temporary name and renamed, so an
//! interrupted run never leaves a half-written file.
//!
//! LIMITATION: weights are stored in burn's burnpack format, not safetensors, because
//! burnpack keeps the parameter ids that the saved Adam state is keyed by.

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
pub const WEIGHTS_FILE: &str = "model.bpk";
/// Name of the resume checkpoint directory.
pub const CHECKPOINT_DIR: &str = "checkpoint";
/// Name of the learning-curve file.
pub const CURVE_FILE: &str = "learning_curve.csv";

/// What `config.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedConfig {
    /// The model hyper-parameters.
    pub model: ModelConfig,
    /// The training settings the model was trained with.
    pub train: TrainSettings,
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

/// Saves module weights to a burnpack file (written atomically by burnpack).
pub fn save_weights(model: &Seq2Seq, path: &Path) -> Result<()> {
    model.clone().save_file(path).map_err(|e| NmtError::BadModel {
        path: path.to_path_buf(),
        message: format!("cannot write weights: {e:?}"),
    })
}

/// Loads weights from `path` into a model built from `cfg` on `device`.
pub fn load_weights(cfg: &ModelConfig, path: &Path, device: &Device) -> Result<Seq2Seq> {
    if !path.exists() {
        return Err(NmtError::BadModel {
            path: path.to_path_buf(),
            message: "no such file (was the model trained?)".into(),
        });
    }
    Seq2Seq::new(cfg, device).try_load_file(path).map_err(|e| NmtError::BadModel {
        path: path.to_path_buf(),
        message: format!("cannot load weights: {e:?}"),
    })
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
    let config: SavedConfig = read_json(&dir.join(CONFIG_FILE))?;
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
    let model = load_weights(&config.model, &dir.join(WEIGHTS_FILE), device)?;
    Ok(LoadedModel { config, vocab, model })
}
