//! A trained aligner (both vocabularies and one or two directional models) and its
//! file format: `DIR/aligner.bin`, bincode, behind a magic line and a format version.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::corpus::{Direction, ParallelCorpus};
use super::decoding::Decoding;
use super::joint::train_joint;
use super::model::{train, DirectionalModel, TrainConfig, TrainObserver};
use super::symmetrize::{symmetrize, Heuristic};
use super::AlignError;
use crate::vocab::Vocab;

const MAGIC: &[u8] = b"mt-aligner\n";
const VERSION: u32 = 1;
const FILE_NAME: &str = "aligner.bin";

/// Links of one sentence pair as `(source position, target position)`, sorted.
pub type Links = Vec<(u32, u32)>;

/// Link posteriors of one sentence pair as `(source position, target position, p)`.
pub type LinkPosteriors = Vec<(u32, u32, f64)>;

/// Everything needed to align new sentence pairs the way training did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Aligner {
    /// Source words, in the ids the models use.
    pub source_vocab: Vocab,
    /// Target words.
    pub target_vocab: Vocab,
    /// The options the models were trained with.
    pub config: TrainConfig,
    /// The model generating target words from source words.
    pub forward: Option<DirectionalModel>,
    /// The model generating source words from target words.
    pub reverse: Option<DirectionalModel>,
}

impl Aligner {
    /// Trains the requested directions on `corpus` (one after the other, each using
    /// every thread of the current rayon pool).
    pub fn train(
        corpus: &ParallelCorpus,
        config: &TrainConfig,
        directions: &[Direction],
        observer: &dyn TrainObserver,
    ) -> Self {
        let mut aligner = Self {
            source_vocab: corpus.source_vocab.clone(),
            target_vocab: corpus.target_vocab.clone(),
            config: config.clone(),
            forward: None,
            reverse: None,
        };
        for &d in directions {
            let model = train(corpus.view(d), d, config, observer);
            match d {
                Direction::Forward => aligner.forward = Some(model),
                Direction::Reverse => aligner.reverse = Some(model),
            }
        }
        aligner
    }

    /// Trains both directions of `corpus`, the HMM stage by agreement (Liang, Taskar and
    /// Klein 2006; see [`super::joint`]). The models are ordinary directional models:
    /// they decode, symmetrize, save and load like independently trained ones.
    // LIMITATION: the saved config does not record that the training was joint.
    pub fn train_joint(
        corpus: &ParallelCorpus,
        config: &TrainConfig,
        observer: &dyn TrainObserver,
    ) -> Self {
        let (forward, reverse) = train_joint(corpus, config, observer);
        Self {
            source_vocab: corpus.source_vocab.clone(),
            target_vocab: corpus.target_vocab.clone(),
            config: config.clone(),
            forward: Some(forward),
            reverse: Some(reverse),
        }
    }

    /// The model of `direction`, if it was trained.
    pub fn model(&self, direction: Direction) -> Option<&DirectionalModel> {
        match direction {
            Direction::Forward => self.forward.as_ref(),
            Direction::Reverse => self.reverse.as_ref(),
        }
    }

    /// An empty corpus whose words map to this aligner's ids (unknown words get new
    /// ids, which no table entry matches).
    pub fn new_corpus(&self) -> ParallelCorpus {
        ParallelCorpus::with_vocabs(self.source_vocab.clone(), self.target_vocab.clone())
    }

    /// The links of every pair in one direction, as (source, target) positions.
    pub fn align(
        &self,
        corpus: &ParallelCorpus,
        direction: Direction,
        rule: Decoding,
    ) -> Result<Vec<Links>, AlignError> {
        let model = self.model(direction).ok_or(AlignError::MissingDirection(direction))?;
        let mut links = model.align_all(corpus.view(direction), rule);
        if direction == Direction::Reverse {
            links.par_iter_mut().for_each(flip);
        }
        Ok(links)
    }

    /// Both directions and their symmetrization under `heuristic`.
    pub fn align_symmetric(
        &self,
        corpus: &ParallelCorpus,
        rule: Decoding,
        heuristic: Heuristic,
    ) -> Result<SymmetricAlignment, AlignError> {
        let forward = self.align(corpus, Direction::Forward, rule)?;
        let reverse = self.align(corpus, Direction::Reverse, rule)?;
        let symmetrized =
            forward.par_iter().zip(&reverse).map(|(f, r)| symmetrize(f, r, heuristic)).collect();
        Ok(SymmetricAlignment { forward, reverse, symmetrized })
    }

    /// Link posteriors `(source, target, p)` with p >= `min`, for one direction, or the
    /// mean of both directions when `direction` is `None`.
    pub fn posteriors(
        &self,
        corpus: &ParallelCorpus,
        direction: Option<Direction>,
        min: f64,
    ) -> Result<Vec<LinkPosteriors>, AlignError> {
        let dirs: Vec<Direction> = match direction {
            Some(d) => vec![d],
            None => vec![Direction::Forward, Direction::Reverse],
        };
        let share = 1.0 / dirs.len() as f64;
        self.combine(corpus, &dirs, |grids| {
            let mut out = Vec::new();
            for (cell, p) in cells(grids, |ps| ps.iter().sum::<f64>() * share) {
                if p >= min && p > 0.0 {
                    out.push((cell.0, cell.1, p));
                }
            }
            out
        })
    }

    /// Alignment by agreement at decoding time: a link wherever the geometric mean of
    /// the two directions' posteriors exceeds `threshold` (the product-of-posteriors
    /// decoding of Liang, Taskar and Klein 2006, on independently trained models).
    pub fn align_agreement(
        &self,
        corpus: &ParallelCorpus,
        threshold: f64,
    ) -> Result<Vec<Links>, AlignError> {
        let dirs = [Direction::Forward, Direction::Reverse];
        self.combine(corpus, &dirs, |grids| {
            cells(grids, |ps| ps.iter().product::<f64>().sqrt())
                .filter(|&(_, p)| p > threshold)
                .map(|(cell, _)| cell)
                .collect()
        })
    }

    /// Runs `f` on the source x target posterior grids of `dirs` for every pair.
    fn combine<T: Send>(
        &self,
        corpus: &ParallelCorpus,
        dirs: &[Direction],
        f: impl Fn(&Grids) -> T + Sync,
    ) -> Result<Vec<T>, AlignError> {
        let models = dirs
            .iter()
            .map(|&d| self.model(d).ok_or(AlignError::MissingDirection(d)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((0..corpus.len())
            .into_par_iter()
            .map(|k| {
                let (src, tgt) = (corpus.source.get(k), corpus.target.get(k));
                let mut grids = Grids { width: src.len(), height: tgt.len(), values: Vec::new() };
                for m in &models {
                    let mut grid = vec![0.0; src.len() * tgt.len()];
                    let (cond, gen) = corpus.view(m.direction).pair(k);
                    if !cond.is_empty() && !gen.is_empty() {
                        let post = m.posteriors(cond, gen);
                        for j in 0..gen.len() {
                            for i in 0..cond.len() {
                                let (s, t) = match m.direction {
                                    Direction::Forward => (i, j),
                                    Direction::Reverse => (j, i),
                                };
                                grid[s * tgt.len() + t] = post[j * (cond.len() + 1) + i];
                            }
                        }
                    }
                    grids.values.push(grid);
                }
                f(&grids)
            })
            .collect())
    }

    /// Writes the aligner to `dir/aligner.bin` (creating `dir`); the file appears whole
    /// or not at all.
    pub fn save(&self, dir: &Path) -> Result<(), AlignError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| AlignError::Io { path, source }
        };
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(FILE_NAME);
        let tmp = dir.join(format!(".{FILE_NAME}.tmp.{}", std::process::id()));
        let write = || -> io::Result<()> {
            let mut w = io::BufWriter::new(fs::File::create(&tmp)?);
            w.write_all(MAGIC)?;
            w.write_all(&VERSION.to_le_bytes())?;
            bincode::serialize_into(&mut w, self).map_err(io::Error::other)?;
            w.flush()
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(&path)(e));
        }
        fs::rename(&tmp, &path).map_err(io_err(&path))
    }

    /// Reads an aligner written by [`Aligner::save`].
    pub fn load(dir: &Path) -> Result<Self, AlignError> {
        let path: PathBuf = dir.join(FILE_NAME);
        let bytes =
            fs::read(&path).map_err(|source| AlignError::Io { path: path.clone(), source })?;
        let bad = |message: String| AlignError::Format { path: path.clone(), message };
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| bad("not an mt aligner file (bad magic line)".into()))?;
        if rest.len() < 4 {
            return Err(bad("truncated header".into()));
        }
        let version = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        if version != VERSION {
            return Err(bad(format!("format version {version}, expected {VERSION}")));
        }
        let mut aligner: Aligner =
            bincode::deserialize(&rest[4..]).map_err(|e| bad(corrupt_model_message(&e)))?;
        aligner.source_vocab.rebuild_index();
        aligner.target_vocab.rebuild_index();
        for m in [&mut aligner.forward, &mut aligner.reverse].into_iter().flatten() {
            m.table.rebuild_index();
        }
        Ok(aligner)
    }
}

/// What is wrong with a model file that bincode cannot read. bincode reports a file that
/// ends early as an I/O error with an empty message.
fn corrupt_model_message(e: &bincode::Error) -> String {
    match &**e {
        bincode::ErrorKind::Io(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            "corrupt model: the file is truncated (it ends inside the model data)".into()
        }
        bincode::ErrorKind::Io(io) => format!("corrupt model: read error: {io}"),
        other => format!("corrupt model: {other}"),
    }
}

/// Posterior grids of one pair, one per direction, indexed `source * height + target`.
struct Grids {
    width: usize,
    height: usize,
    values: Vec<Vec<f64>>,
}

/// Every (source, target) cell in sorted order with `combine` of its posteriors.
fn cells<'a>(
    grids: &'a Grids,
    combine: impl Fn(&[f64]) -> f64 + 'a,
) -> impl Iterator<Item = ((u32, u32), f64)> + 'a {
    let mut buf = Vec::with_capacity(grids.values.len());
    (0..grids.width * grids.height).map(move |c| {
        buf.clear();
        buf.extend(grids.values.iter().map(|g| g[c]));
        let cell = ((c / grids.height) as u32, (c % grids.height) as u32);
        (cell, combine(&buf))
    })
}

fn flip(links: &mut Links) {
    for l in links.iter_mut() {
        *l = (l.1, l.0);
    }
    links.sort_unstable();
}

/// Both directional alignments of a corpus and their symmetrization.
#[derive(Debug, Clone, Default)]
pub struct SymmetricAlignment {
    /// Forward links, as (source, target).
    pub forward: Vec<Links>,
    /// Reverse links, as (source, target).
    pub reverse: Vec<Links>,
    /// The symmetrized links.
    pub symmetrized: Vec<Links>,
}
