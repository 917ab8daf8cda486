//! `mt train --system smt`: tokenize, case, align both ways (HMM, grow-diag-final-and),
//! extract and score phrases, estimate the target LM, and write the model directory.

use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use flate2::write::GzEncoder;
use rayon::prelude::*;
use smt::align::{Aligner, Decoding, Direction, Heuristic, ModelKind, ParallelCorpus, TrainConfig};
use smt::decode::Weights;
use smt::lm::{Corpus, EstimateOptions, LanguageModel};
use smt::phrase::score::PhraseCounter;
use smt::tokenize::casing::{Casing, Truecaser};
use smt::tokenize::{Lang, TOKENIZER_VERSION};

use crate::output::AtomicOutput;
use crate::progress;
use crate::smt_model::{
    create_model_file, hash_file, prepare, write_model_file, Casings, CorpusRecord, Manifest,
    WeightsFile, FORMAT_VERSION,
};
use crate::text::{read_lines, ReadOptions};

/// How text is cased before training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CasingMode {
    /// Truecasing (Moses' default pipeline): the first word takes its usual casing.
    Truecase,
    /// Lowercase everything; output stays lowercase.
    Lowercase,
    /// Leave the casing as it is.
    Keep,
}

/// Reordering model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Reordering {
    /// Linear distortion only (Moses' default).
    Distance,
    /// Lexicalized msd-bidirectional-fe reordering (six more features).
    MsdBidirectionalFe,
}

/// Options of `mt train` that only the smt system reads.
#[derive(Debug, Args)]
pub struct SmtTrainOpts {
    /// Longest phrase extracted, in words on each side.
    #[arg(long, default_value_t = 7)]
    pub max_phrase_length: usize,
    /// Order of the target n-gram LM.
    #[arg(long, default_value_t = 3)]
    pub lm_order: usize,
    /// Reordering model.
    #[arg(long, value_enum, default_value_t = Reordering::Distance)]
    pub reordering: Reordering,
    /// HMM iterations of the word aligner, per direction (after 5 of Model 1).
    #[arg(long, default_value_t = 5)]
    pub align_iterations: usize,
    /// Casing of the training data and the input.
    #[arg(long, value_enum, default_value_t = CasingMode::Truecase)]
    pub casing: CasingMode,
    /// Source language code for tokenization (default: from the file name, `x.de.gz`).
    #[arg(long)]
    pub source_lang: Option<String>,
    /// Target language code (default: from the file name).
    #[arg(long)]
    pub target_lang: Option<String>,
    /// Sentence pairs with a side longer than this are left out of training.
    #[arg(long, default_value_t = 80)]
    pub max_sentence_length: usize,
}

/// The language code in a corpus file name: `train.de.gz` → `de`.
pub fn lang_from_path(p: &Path) -> String {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    name.rsplit_once('.').map(|(_, ext)| ext.to_owned()).unwrap_or_default()
}

fn read_side(path: &Path) -> Result<Vec<String>> {
    Ok(read_lines(path, ReadOptions::default())?)
}

struct Timer(Vec<(String, f64)>, Instant);

impl Timer {
    fn stage(&mut self, name: &str) {
        let now = Instant::now();
        let secs = (now - self.1).as_secs_f64();
        tracing::info!("{name}: {secs:.1} s");
        eprintln!("mt: {name} took {secs:.1} s");
        self.0.push((name.to_owned(), secs));
        self.1 = now;
    }
}

/// Word alignment of tokenized pairs: the HMM model in both directions (after Model 1),
/// symmetrized with grow-diag-final-and; links as (source, target).
pub fn word_alignment(
    pairs: &[(&[String], &[String])],
    hmm_iterations: usize,
) -> Result<Vec<Vec<(u16, u16)>>> {
    let mut corpus = ParallelCorpus::new();
    for (s, t) in pairs {
        corpus.push_pair(s.iter().map(String::as_str), t.iter().map(String::as_str));
    }
    let mut config = TrainConfig::new(ModelKind::Hmm);
    config.hmm_iterations = hmm_iterations;
    let aligner = Aligner::train(&corpus, &config, &[Direction::Forward, Direction::Reverse], &());
    let links = aligner
        .align_symmetric(&corpus, Decoding::Argmax, Heuristic::GrowDiagFinalAnd)?
        .symmetrized;
    Ok(links
        .into_iter()
        .map(|l| l.into_iter().map(|(i, j)| (i as u16, j as u16)).collect())
        .collect())
}

/// Runs `mt train --system smt`.
pub fn run(common: &super::train::TrainArgs, opts: &SmtTrainOpts) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(common.threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    pool.install(|| train(common, opts))
}

fn train(common: &super::train::TrainArgs, opts: &SmtTrainOpts) -> Result<()> {
    if opts.max_phrase_length == 0 || opts.max_phrase_length > 255 {
        bail!("--max-phrase-length must be between 1 and 255");
    }
    if !(1..=6).contains(&opts.lm_order) {
        bail!("--lm-order must be between 1 and 6");
    }
    if common.out.exists() && !common.out.is_dir() {
        bail!("--out {} exists and is not a directory", common.out.display());
    }
    let mut timer = Timer(Vec::new(), Instant::now());
    let src_code = opts.source_lang.clone().unwrap_or_else(|| lang_from_path(&common.source));
    let tgt_code = opts.target_lang.clone().unwrap_or_else(|| lang_from_path(&common.target));
    let (src_lang, tgt_lang) = (Lang::from_code(&src_code), Lang::from_code(&tgt_code));
    let src_lines = read_side(&common.source)?;
    let tgt_lines = read_side(&common.target)?;
    if src_lines.len() != tgt_lines.len() {
        bail!(
            "{} has {} lines but {} has {}",
            common.source.display(),
            src_lines.len(),
            common.target.display(),
            tgt_lines.len()
        );
    }
    let mut corpora = Vec::new();
    let digests = [
        Some(crate::compare::data::digest(&src_lines)),
        Some(crate::compare::data::digest(&tgt_lines)),
        None,
        None,
    ];
    for ((role, p), text) in [("source", Some(&common.source)), ("target", Some(&common.target))]
        .into_iter()
        .chain([
            ("dev-source", common.dev_source.as_ref()),
            ("dev-target", common.dev_target.as_ref()),
        ])
        .zip(digests)
    {
        if let Some(p) = p {
            let (fnv1a64, lines) = hash_file(p)?;
            corpora.push(CorpusRecord {
                role: role.to_owned(),
                path: p.display().to_string(),
                fnv1a64,
                lines,
                text,
            });
        }
    }
    // tokenize
    let keep = Casing::Keep;
    let mut src_tok: Vec<Vec<String>> =
        src_lines.par_iter().map(|l| prepare(l, src_lang, &keep)).collect();
    let mut tgt_tok: Vec<Vec<String>> =
        tgt_lines.par_iter().map(|l| prepare(l, tgt_lang, &keep)).collect();
    drop((src_lines, tgt_lines));
    let casings = match opts.casing {
        CasingMode::Keep => Casings::default(),
        CasingMode::Lowercase => Casings { source: Casing::Lower, target: Casing::Lower },
        CasingMode::Truecase => Casings {
            source: Casing::True(Truecaser::train(src_tok.iter().map(|s| s.as_slice()))),
            target: Casing::True(Truecaser::train(tgt_tok.iter().map(|s| s.as_slice()))),
        },
    };
    src_tok.par_iter_mut().for_each(|s| casings.source.apply(s));
    tgt_tok.par_iter_mut().for_each(|s| casings.target.apply(s));
    timer.stage("tokenize and case");
    // clean: both sides non-empty and not too long
    let keep_pair: Vec<bool> = src_tok
        .iter()
        .zip(&tgt_tok)
        .map(|(s, t)| {
            !s.is_empty()
                && !t.is_empty()
                && s.len() <= opts.max_sentence_length
                && t.len() <= opts.max_sentence_length
        })
        .collect();
    let kept = keep_pair.iter().filter(|k| **k).count();
    if kept == 0 {
        bail!("no usable sentence pair in {}", common.source.display());
    }
    let pairs: Vec<(&[String], &[String])> = src_tok
        .iter()
        .zip(&tgt_tok)
        .zip(&keep_pair)
        .filter(|(_, k)| **k)
        .map(|((s, t), _)| (s.as_slice(), t.as_slice()))
        .collect();
    let spinner = progress::spinner("aligning (HMM, both directions)");
    let links = word_alignment(&pairs, opts.align_iterations)?;
    spinner.finish_and_clear();
    drop(pairs);
    timer.stage("word alignment");
    // phrases
    let mut counter = PhraseCounter::new(opts.max_phrase_length);
    let bar = progress::bar(kept as u64, "extracting phrases");
    let mut li = links.into_iter();
    for ((s, t), k) in src_tok.iter().zip(&tgt_tok).zip(&keep_pair) {
        if !*k {
            continue;
        }
        let a = li.next().expect("one alignment per kept pair");
        counter.add(s, t, &a);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let reordering = opts.reordering == Reordering::MsdBidirectionalFe;
    let table = counter.into_table(reordering);
    timer.stage("phrase extraction and scoring");
    // language model on the whole target side (the cleaning does not apply)
    let mut lm_corpus = Corpus::new(false);
    for t in &tgt_tok {
        lm_corpus
            .add_sentence(t.iter().map(String::as_str))
            .map_err(|e| anyhow::anyhow!("{}: {e}", common.target.display()))?;
    }
    let est = EstimateOptions { order: opts.lm_order, fallback: Some(smt::lm::discount::FALLBACK) };
    let ngrams = smt::lm::estimate(&lm_corpus, &est, &mut |w| tracing::warn!("lm: {w}"))?;
    let lm = LanguageModel::from_ngrams(&ngrams)?;
    drop(ngrams);
    timer.stage("language model");
    // write
    let dir = &common.out;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut lm_out = create_model_file(dir, "lm.bin")?;
    smt::lm::binary::save(&lm, &mut lm_out)?;
    lm_out.into_inner().map_err(|e| e.into_error())?.commit()?;
    // the encoder gets large writes: flate2 pays a buffer reset per write call
    let gz = |name: &str| -> Result<BufWriter<GzEncoder<_>>> {
        let enc = GzEncoder::new(create_model_file(dir, name)?, flate2::Compression::fast());
        Ok(BufWriter::with_capacity(1 << 20, enc))
    };
    let finish = |w: BufWriter<GzEncoder<BufWriter<AtomicOutput>>>| -> Result<()> {
        let enc = w.into_inner().map_err(|e| e.into_error())?;
        enc.finish()?.into_inner().map_err(|e| e.into_error())?.commit()?;
        Ok(())
    };
    let mut pt = gz("phrase-table.gz")?;
    if reordering {
        let mut rt = gz("reordering-table.gz")?;
        table.write_moses(&mut pt, Some(&mut rt))?;
        finish(rt)?;
    } else {
        table.write_moses(&mut pt, None)?;
    }
    finish(pt)?;
    let mut bin = create_model_file(dir, "phrase-table.bin")?;
    table.write_binary(&mut bin, "phrase-table.bin")?;
    bin.into_inner().map_err(|e| e.into_error())?.commit()?;
    write_model_file(dir, "casing.bin", &bincode::serialize(&casings)?)?;
    let w = WeightsFile::new(&Weights::moses_default(reordering), false, Vec::new());
    w.write(&dir.join("weights.untuned.json"))?;
    w.write(&dir.join("weights.json"))?;
    timer.stage("writing the model");
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        mt_version: env!("CARGO_PKG_VERSION").to_owned(),
        tokenizer_version: TOKENIZER_VERSION.to_owned(),
        source_lang: src_code,
        target_lang: tgt_code,
        casing: format!("{:?}", opts.casing).to_lowercase(),
        max_phrase_length: opts.max_phrase_length,
        lm_order: opts.lm_order,
        reordering: if reordering { "msd-bidirectional-fe" } else { "distance" }.to_owned(),
        align_iterations: opts.align_iterations,
        max_sentence_length: opts.max_sentence_length,
        corpora,
        training_pairs: kept,
        skipped_pairs: keep_pair.len() - kept,
        phrase_pairs: table.len(),
        stage_seconds: timer.0,
    };
    write_model_file(
        dir,
        "manifest.json",
        (serde_json::to_string_pretty(&manifest)? + "\n").as_bytes(),
    )?;
    eprintln!(
        "mt: wrote {} ({} phrase pairs from {} sentence pairs, {} skipped)",
        dir.display(),
        manifest.phrase_pairs,
        kept,
        manifest.skipped_pairs
    );
    Ok(())
}
