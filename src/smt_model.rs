//! The phrase-based model directory written by `mt train --system smt` and read by
//! `mt decode --system smt` and `mt tune`.
//!
//! Files: `manifest.json` (configuration, corpus hashes, versions, stage times),
//! `weights.json` (the weights in use; tuned after `mt tune`), `weights.untuned.json`
//! (Moses' initial weights), `casing.bin` (the truecasers), `phrase-table.gz` (Moses
//! text format), `reordering-table.gz` (with lexicalized reordering),
//! `phrase-table.bin` (the same table in the binary form the decoder loads) and `lm.bin`
//! (the target language model). Decoding needs nothing outside the directory.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use smt::decode::options::{NUM_FEATURES, REORDERING};
use smt::decode::{TargetLm, Weights, UNKNOWN_WORD};
use smt::lm::{LanguageModel, State};
use smt::phrase::table::PhraseTable;
use smt::tokenize::casing::Casing;
use smt::tokenize::{detokenize, tokenize, Lang, TOKENIZER_VERSION};

use crate::output::write_atomic;

/// Version of the model directory layout.
pub const FORMAT_VERSION: u32 = 1;

/// Configuration and provenance of a trained model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The `mt` version that trained the model.
    pub mt_version: String,
    /// The tokenizer rules ([`TOKENIZER_VERSION`]).
    pub tokenizer_version: String,
    /// Source language code.
    pub source_lang: String,
    /// Target language code.
    pub target_lang: String,
    /// `truecase`, `lowercase` or `keep`.
    pub casing: String,
    /// Longest phrase extracted.
    pub max_phrase_length: usize,
    /// Order of the language model.
    pub lm_order: usize,
    /// `distance` or `msd-bidirectional-fe`.
    pub reordering: String,
    /// HMM iterations of the word aligner (per direction).
    pub align_iterations: usize,
    /// Longest sentence kept for training (Moses' clean-corpus-n limit).
    pub max_sentence_length: usize,
    /// The training and development files with their FNV-1a hashes.
    pub corpora: Vec<CorpusRecord>,
    /// Sentence pairs used to extract phrases.
    pub training_pairs: usize,
    /// Sentence pairs left out (empty side or too long).
    pub skipped_pairs: usize,
    /// Distinct phrase pairs in the table.
    pub phrase_pairs: usize,
    /// Wall time of each training stage in seconds.
    pub stage_seconds: Vec<(String, f64)>,
}

/// One input file of training.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CorpusRecord {
    /// Role: `source`, `target`, `dev-source`, `dev-target`.
    pub role: String,
    /// The path as given.
    pub path: String,
    /// FNV-1a 64-bit hash of the file's bytes, hexadecimal.
    pub fnv1a64: String,
    /// Number of lines.
    pub lines: usize,
    /// Line count and hash of the text as read (decompressed, without a byte-order mark
    /// or `\r`), for the training sides; absent in models written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<nmt::checkpoint::TextDigest>,
}

/// The weights file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WeightsFile {
    /// Feature names in vector order.
    pub names: Vec<String>,
    /// The weights (each at most [`MAX_WEIGHT`] in magnitude).
    #[serde(deserialize_with = "bounded_weights")]
    pub weights: Vec<f32>,
    /// True once `mt tune` has written them.
    pub tuned: bool,
    /// Development BLEU after each MERT iteration (empty when untuned).
    pub history: Vec<f64>,
}

/// The largest weight magnitude accepted: larger ones make model scores overflow to
/// infinity (MERT's weights are normalized to sum 1 in magnitude).
pub const MAX_WEIGHT: f64 = 1e6;

fn bounded_weights<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<f32>, D::Error> {
    let wide = Vec::<f64>::deserialize(d)?;
    if let Some(x) = wide.iter().find(|x| x.is_nan() || x.abs() > MAX_WEIGHT) {
        return Err(serde::de::Error::custom(format!(
            "weight {x:e} is out of range (at most {MAX_WEIGHT:e} in magnitude)"
        )));
    }
    Ok(wide.into_iter().map(|x| x as f32).collect())
}

/// Names of the features, in vector order.
pub fn feature_names() -> Vec<String> {
    let mut v: Vec<String> = ["tm.phi_f_e", "tm.lex_f_e", "tm.phi_e_f", "tm.lex_e_f"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for s in ["lm", "word_penalty", "phrase_penalty", "distortion", "unknown_word_penalty"] {
        v.push(s.to_owned());
    }
    for s in ["lr.prev_mono", "lr.prev_swap", "lr.prev_disc", "lr.next_mono", "lr.next_swap"] {
        v.push(s.to_owned());
    }
    v.push("lr.next_disc".to_owned());
    v
}

impl WeightsFile {
    /// Wraps weights.
    pub fn new(w: &Weights, tuned: bool, history: Vec<f64>) -> Self {
        Self { names: feature_names(), weights: w.0.to_vec(), tuned, history }
    }

    /// The weights as the decoder takes them.
    pub fn to_weights(&self, path: &Path) -> Result<Weights> {
        if self.weights.len() != NUM_FEATURES || self.names != feature_names() {
            bail!("{}: expected the {NUM_FEATURES} features {:?}", path.display(), feature_names());
        }
        if let Some(x) = self.weights.iter().find(|x| !x.is_finite()) {
            bail!("{}: weight {x} is not a finite number", path.display());
        }
        let mut w = [0f32; NUM_FEATURES];
        w.copy_from_slice(&self.weights);
        Ok(Weights(w))
    }

    /// Reads a weights file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a valid weights file", path.display()))
    }

    /// Writes a weights file atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        write_atomic(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// Source and target casing models.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Casings {
    /// Applied to source text.
    pub source: Casing,
    /// Applied to target text before training, undone on output.
    pub target: Casing,
}

/// FNV-1a 64-bit hash of a file's bytes and its line count.
pub fn hash_file(path: &Path) -> Result<(String, usize)> {
    let mut f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut lines = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let mut last = b'\n';
    loop {
        let n = f.read(&mut buf).with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
            if b == b'\n' {
                lines += 1;
            }
            last = b;
        }
    }
    if last != b'\n' {
        lines += 1;
    }
    Ok((format!("{h:016x}"), lines))
}

/// A language model seen through the decoder's interface: table target ids are mapped
/// to LM ids once, and log10 scores become natural logs (as Moses does).
pub struct LmAdapter<'a> {
    lm: &'a LanguageModel,
    ids: Vec<u32>,
}

const LN_10: f32 = std::f32::consts::LN_10;

impl<'a> LmAdapter<'a> {
    /// Maps every target word of `table` to its LM id.
    pub fn new(lm: &'a LanguageModel, table: &PhraseTable) -> Self {
        let v = &table.tgt_vocab;
        let ids = (0..v.len() as u32).map(|i| lm.vocab_id(v.word(i))).collect();
        Self { lm, ids }
    }

    fn id(&self, w: u32) -> u32 {
        if w == UNKNOWN_WORD {
            self.lm.unk_id()
        } else {
            self.ids.get(w as usize).copied().unwrap_or_else(|| self.lm.unk_id())
        }
    }
}

impl TargetLm for LmAdapter<'_> {
    type State = State;
    fn begin(&self) -> State {
        self.lm.begin_sentence_state()
    }
    fn null(&self) -> State {
        self.lm.null_context_state()
    }
    fn score(&self, s: &State, w: u32) -> (f32, State) {
        let (p, next) = self.lm.score_word(s, self.id(w));
        (p * LN_10, next)
    }
    fn end(&self, s: &State) -> f32 {
        self.lm.score_end(s) * LN_10
    }
}

/// A loaded model directory.
pub struct SmtModel {
    /// Where it was loaded from.
    pub dir: PathBuf,
    /// Configuration and provenance.
    pub manifest: Manifest,
    /// The full phrase table (no table limit applied).
    pub table: PhraseTable,
    /// The target language model.
    pub lm: LanguageModel,
    /// The weights in `weights.json`.
    pub weights: WeightsFile,
    /// The truecasers.
    pub casings: Casings,
}

impl SmtModel {
    /// Loads a model directory.
    pub fn load(dir: &Path) -> Result<Self> {
        let manifest_path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&manifest_path).with_context(|| {
            format!("{} is not an smt model directory (no manifest.json)", dir.display())
        })?;
        let manifest: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("{}: malformed manifest", manifest_path.display()))?;
        if manifest.format_version != FORMAT_VERSION {
            bail!(
                "{}: model format {} (this mt reads {FORMAT_VERSION})",
                manifest_path.display(),
                manifest.format_version
            );
        }
        if manifest.tokenizer_version != TOKENIZER_VERSION {
            bail!(
                "{}: trained with tokenizer {} but this mt has {TOKENIZER_VERSION}",
                manifest_path.display(),
                manifest.tokenizer_version
            );
        }
        let table = load_table(dir, manifest.reordering == "msd-bidirectional-fe")?;
        let lm_path = dir.join("lm.bin");
        let lm = LanguageModel::load(&lm_path)?;
        let weights = WeightsFile::read(&dir.join("weights.json"))?;
        let cp = dir.join("casing.bin");
        let bytes = std::fs::read(&cp).with_context(|| format!("cannot read {}", cp.display()))?;
        let casings: Casings = bincode::deserialize(&bytes)
            .with_context(|| format!("{}: unreadable casing model", cp.display()))?;
        Ok(Self { dir: dir.to_owned(), manifest, table, lm, weights, casings })
    }

    /// True when the table carries lexicalized reordering.
    pub fn has_reordering(&self) -> bool {
        self.table.has_reordering()
    }

    /// Which weights MERT may change: everything but the unknown-word penalty, and the
    /// reordering weights only when the model has them.
    pub fn tunable(&self) -> Vec<bool> {
        (0..NUM_FEATURES)
            .map(|k| {
                k != smt::decode::options::UNKNOWN && (k < REORDERING || self.has_reordering())
            })
            .collect()
    }

    /// Tokenizes and cases one source line.
    pub fn prepare_source(&self, line: &str) -> Vec<String> {
        prepare(line, Lang::from_code(&self.manifest.source_lang), &self.casings.source)
    }

    /// Restores casing and detokenizes decoder output.
    pub fn finish_output(&self, words: &[String]) -> String {
        let mut w = words.to_vec();
        self.casings.target.restore(&mut w);
        detokenize(&w, Lang::from_code(&self.manifest.target_lang))
    }
}

/// The phrase table of a model directory: `phrase-table.bin` when present, else the
/// Moses text files `phrase-table.gz` (and `reordering-table.gz`), which a user may edit.
pub fn load_table(dir: &Path, reordering: bool) -> Result<PhraseTable> {
    let bin = dir.join("phrase-table.bin");
    if bin.exists() {
        let f = File::open(&bin).with_context(|| format!("cannot open {}", bin.display()))?;
        let name = bin.display().to_string();
        return Ok(PhraseTable::read_binary(BufReader::with_capacity(1 << 20, f), &name)?);
    }
    let text = dir.join("phrase-table.gz");
    let input = crate::text::open_bytes(&text)?;
    let rpath = dir.join("reordering-table.gz");
    let rname = rpath.display().to_string();
    let reo =
        if reordering { Some((crate::text::open_bytes(&rpath)?, rname.as_str())) } else { None };
    let reo = reo.map(|(r, n)| (Box::new(r) as Box<dyn std::io::BufRead>, n));
    Ok(PhraseTable::read_moses(input, &text.display().to_string(), reo)?)
}

/// Tokenizes and cases one line.
pub fn prepare(line: &str, lang: Lang, casing: &Casing) -> Vec<String> {
    let mut t = tokenize(line, lang);
    casing.apply(&mut t);
    t
}

/// Writes `bytes` of a model file, naming the file on failure.
pub fn write_model_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let p = dir.join(name);
    write_atomic(&p, bytes).with_context(|| format!("cannot write {}", p.display()))
}

/// Opens a buffered atomic writer for a model file.
pub fn create_model_file(dir: &Path, name: &str) -> Result<BufWriter<crate::output::AtomicOutput>> {
    let p = dir.join(name);
    let out = crate::output::AtomicOutput::create(&p)
        .with_context(|| format!("cannot create {}", p.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, out))
}
