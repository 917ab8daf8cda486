//! The train/dev/test split of `mt compare`, written out once as plain text.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::output::AtomicOutput;
use crate::text::{read_lines, ReadOptions};

/// One side-by-side split: source and target files of equal length.
#[derive(Debug, Clone)]
pub struct SplitFiles {
    /// Source sentences, one per line.
    pub source: PathBuf,
    /// Target sentences, parallel to `source`.
    pub target: PathBuf,
    /// Number of sentence pairs.
    pub lines: usize,
}

/// Finds `DIR/NAME.LANG` or `DIR/NAME.LANG.gz`.
pub fn corpus_file(dir: &Path, name: &str, lang: &str) -> anyhow::Result<PathBuf> {
    let plain = dir.join(format!("{name}.{lang}"));
    if plain.is_file() {
        return Ok(plain);
    }
    let gz = dir.join(format!("{name}.{lang}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    bail!("neither {} nor {} exists", plain.display(), gz.display())
}

/// One split read into memory: the first `limit` pairs of `NAME.{src,tgt}`.
#[derive(Debug, Clone)]
pub struct Split {
    /// The split's name (the stem of the files written).
    pub name: String,
    /// Source sentences.
    pub source: Vec<String>,
    /// Target sentences, parallel to `source`.
    pub target: Vec<String>,
}

/// Reads split `name` of the corpus for `src`-`tgt` and keeps the first `limit` pairs.
pub fn read(
    corpus: &Path,
    name: &str,
    (src, tgt): (&str, &str),
    limit: Option<usize>,
) -> anyhow::Result<Split> {
    let opts = ReadOptions::default();
    let src_path = corpus_file(corpus, name, src)?;
    let tgt_path = corpus_file(corpus, name, tgt)?;
    let mut s = read_lines(&src_path, opts)?;
    let mut t = read_lines(&tgt_path, opts)?;
    if s.len() != t.len() {
        bail!(
            "{} has {} lines but {} has {}: the split is not parallel",
            src_path.display(),
            s.len(),
            tgt_path.display(),
            t.len()
        );
    }
    if let Some(n) = limit {
        s.truncate(n);
        t.truncate(n);
    }
    Ok(Split { name: name.to_owned(), source: s, target: t })
}

/// Writes `split` to `out_dir/NAME.{src,tgt}`.
pub fn write(
    split: &Split,
    (src, tgt): (&str, &str),
    out_dir: &Path,
) -> anyhow::Result<SplitFiles> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let source = out_dir.join(format!("{}.{src}", split.name));
    let target = out_dir.join(format!("{}.{tgt}", split.name));
    write_lines(&source, &split.source)?;
    write_lines(&target, &split.target)?;
    Ok(SplitFiles { source, target, lines: split.source.len() })
}

/// Reads split `name` of the corpus for `src`-`tgt`, keeps the first `limit` pairs and
/// writes them to `out_dir/NAME.{src,tgt}`.
pub fn prepare(
    corpus: &Path,
    name: &str,
    langs: (&str, &str),
    limit: Option<usize>,
    out_dir: &Path,
) -> anyhow::Result<SplitFiles> {
    write(&read(corpus, name, langs, limit)?, langs, out_dir)
}

/// Writes `lines` to `path`, one per line, atomically.
pub fn write_lines(path: &Path, lines: &[String]) -> anyhow::Result<()> {
    let mut out =
        AtomicOutput::create(path).with_context(|| format!("creating {}", path.display()))?;
    for l in lines {
        writeln!(out, "{l}").with_context(|| format!("writing {}", path.display()))?;
    }
    out.commit().with_context(|| format!("writing {}", path.display()))
}

/// Line count and FNV-1a 64-bit hash of `lines` (each followed by `\n`): the content of a
/// text as [`read_lines`] returns it, the same for a plain and a gzipped copy.
pub fn digest(lines: &[String]) -> nmt::checkpoint::TextDigest {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for l in lines {
        for &b in l.as_bytes().iter().chain(b"\n") {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    nmt::checkpoint::TextDigest { lines: lines.len(), fnv1a64: format!("{h:016x}") }
}
