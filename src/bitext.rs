//! Reading parallel text: two line-parallel files, or one `source ||| target` file
//! (fast_align's format), or standard input in that format.
//!
//! Lines are read under the policy of [`crate::text`] (gzip, CRLF, BOM, UTF-8 errors
//! with file and line) and cut into tokens with [`SpacePolicy::Normalized`], so runs of
//! spaces, tabs, NBSP and control characters never make empty tokens. Pairs go straight
//! into a [`ParallelCorpus`] as word ids.
//!
//! A line with an empty side is an error by default; with `--on-bad-line warn|skip` it
//! is kept as an empty pair, so the line numbering of every output stays parallel to
//! the input. Such pairs never reach training.

use std::path::{Path, PathBuf};

use smt::align::ParallelCorpus;

use crate::text::{display_name, tokens, LineReader, ReadOptions, SpacePolicy, TextError};

// LIMITATION: NBSP and other Unicode spaces split tokens here but not in fast_align, so
// the two tools see different tokens on lines that contain them (44 in Multi30k de).

/// The separator of the one-file format, as a token.
pub const SEPARATOR: &str = "|||";

/// Where the sentence pairs come from.
#[derive(Debug, Clone)]
pub enum BitextSource {
    /// Two files with one sentence per line, line `k` of each forming pair `k`.
    Files {
        /// The source side.
        source: PathBuf,
        /// The target side.
        target: PathBuf,
    },
    /// One file (`-` for stdin) of `source ||| target` lines.
    Joined(PathBuf),
}

/// What to do with a line whose source or target side is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OnBadLine {
    /// Stop with an error naming the line (the default).
    #[default]
    Error,
    /// Keep the line as an empty pair and report it on stderr.
    Warn,
    /// Keep the line as an empty pair silently.
    Skip,
}

/// How a bitext is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct BitextOptions {
    /// Lowercase both sides (Unicode-aware) before tokenizing.
    pub lowercase: bool,
    /// The policy for empty sides.
    pub on_bad_line: OnBadLine,
    /// Byte-level reading options.
    pub read: ReadOptions,
}

/// What went wrong while reading a bitext.
#[derive(Debug, thiserror::Error)]
pub enum BitextError {
    /// A file could not be read.
    #[error(transparent)]
    Text(#[from] TextError),
    /// The two files do not have the same number of lines.
    #[error(
        "{source_path} and {target_path} are not parallel: \
         {source_lines} source lines vs {target_lines} target lines"
    )]
    LineCounts {
        /// The source file.
        source_path: String,
        /// The target file.
        target_path: String,
        /// Lines in the source file.
        source_lines: usize,
        /// Lines in the target file.
        target_lines: usize,
    },
    /// A line of a one-file bitext has no ` ||| ` separator.
    #[error("{path}:{line}: no separator ` ||| ` found{hint}")]
    NoSeparator {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// Where a glued `|||` is, if any.
        hint: String,
    },
    /// A line of a one-file bitext has more than one separator.
    #[error(
        "{path}:{line}: line {line} has {count} separators; `|||` may appear only once \
         per line (use --source/--target files when the text itself contains `|||`)"
    )]
    Separators {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// How many `|||` tokens the line has.
        count: usize,
    },
    /// Both sides of a two-file bitext are standard input.
    #[error(
        "--source and --target cannot both be `-` (stdin): give one side as a file, or \
         pipe `source ||| target` lines with --input -"
    )]
    BothStdin,
    /// A side of a pair is empty.
    #[error(
        "{path}:{line}: empty {side} side (pass --on-bad-line warn or skip to keep the \
         line as an empty pair)"
    )]
    EmptySide {
        /// The file (or the two files).
        path: String,
        /// 1-based line number.
        line: usize,
        /// `source`, `target` or `source and target`.
        side: &'static str,
    },
}

/// A bitext read into word ids.
#[derive(Debug, Default)]
pub struct Bitext {
    /// Every pair, empty ones included, in input order.
    pub corpus: ParallelCorpus,
    /// 1-based numbers of the lines kept as empty pairs, with a description.
    pub bad_lines: Vec<(usize, String)>,
}

/// Reads a bitext into a fresh corpus.
pub fn read_bitext(source: &BitextSource, opts: &BitextOptions) -> Result<Bitext, BitextError> {
    read_bitext_into(source, opts, ParallelCorpus::new())
}

/// Reads a bitext into `corpus` (whose vocabularies may come from a trained model).
pub fn read_bitext_into(
    source: &BitextSource,
    opts: &BitextOptions,
    corpus: ParallelCorpus,
) -> Result<Bitext, BitextError> {
    let mut out = Bitext { corpus, bad_lines: Vec::new() };
    match source {
        BitextSource::Files { source, target } => read_files(source, target, opts, &mut out)?,
        BitextSource::Joined(path) => read_joined(path, opts, &mut out)?,
    }
    Ok(out)
}

/// Opens every input of `source` without reading it, so a missing file is reported
/// before any work starts. Standard input is not opened here: its first bytes would be
/// lost to the probe.
pub fn check_readable(source: &BitextSource, read: ReadOptions) -> Result<(), BitextError> {
    let stdin = Path::new("-");
    match source {
        BitextSource::Files { source, target } => {
            if source == stdin && target == stdin {
                return Err(BitextError::BothStdin);
            }
            for path in [source, target] {
                if path != stdin {
                    LineReader::open(path, read)?;
                }
            }
        }
        BitextSource::Joined(path) if path != Path::new("-") => {
            LineReader::open(path, read)?;
        }
        BitextSource::Joined(_) => {}
    }
    Ok(())
}

fn prepare(line: String, opts: &BitextOptions) -> String {
    if opts.lowercase {
        line.to_lowercase()
    } else {
        line
    }
}

fn add_pair(
    out: &mut Bitext,
    src: &str,
    tgt: &str,
    path: &str,
    line: usize,
    opts: &BitextOptions,
) -> Result<(), BitextError> {
    let s_empty = tokens(src, SpacePolicy::Normalized).next().is_none();
    let t_empty = tokens(tgt, SpacePolicy::Normalized).next().is_none();
    if s_empty || t_empty {
        let side = match (s_empty, t_empty) {
            (true, true) => "source and target",
            (true, false) => "source",
            _ => "target",
        };
        if opts.on_bad_line == OnBadLine::Error {
            return Err(BitextError::EmptySide { path: path.to_owned(), line, side });
        }
        out.bad_lines.push((line, format!("{path}:{line}: empty {side} side")));
        out.corpus.push_pair([], []);
        return Ok(());
    }
    out.corpus
        .push_pair(tokens(src, SpacePolicy::Normalized), tokens(tgt, SpacePolicy::Normalized));
    Ok(())
}

fn read_files(
    source: &Path,
    target: &Path,
    opts: &BitextOptions,
    out: &mut Bitext,
) -> Result<(), BitextError> {
    if source == Path::new("-") && target == Path::new("-") {
        return Err(BitextError::BothStdin);
    }
    let mut src = LineReader::open(source, opts.read)?;
    let mut tgt = LineReader::open(target, opts.read)?;
    let both = format!("{} / {}", display_name(source), display_name(target));
    loop {
        match (src.next_line(), tgt.next_line()) {
            (None, None) => return Ok(()),
            (Some(s), Some(t)) => {
                let s = prepare(s?, opts);
                let t = prepare(t?, opts);
                let line = src.line_number();
                add_pair(out, &s, &t, &both, line, opts)?;
            }
            (s, t) => {
                // A read error where one side seems to end (a gzip checksum, say) is that
                // error, not a line-count mismatch.
                if let Some(Err(e)) = s {
                    return Err(e.into());
                }
                if let Some(Err(e)) = t {
                    return Err(e.into());
                }
                // Count the rest of the longer file so the message gives both totals.
                let mut source_lines = src.line_number();
                let mut target_lines = tgt.line_number();
                if s.is_some() {
                    for l in src.by_ref() {
                        l?;
                    }
                    source_lines = src.line_number();
                }
                if t.is_some() {
                    for l in tgt.by_ref() {
                        l?;
                    }
                    target_lines = tgt.line_number();
                }
                return Err(BitextError::LineCounts {
                    source_path: display_name(source),
                    target_path: display_name(target),
                    source_lines,
                    target_lines,
                });
            }
        }
    }
}

fn read_joined(path: &Path, opts: &BitextOptions, out: &mut Bitext) -> Result<(), BitextError> {
    let mut reader = LineReader::open(path, opts.read)?;
    let name = display_name(path);
    while let Some(line) = reader.next_line() {
        let line = prepare(line?, opts);
        let n = reader.line_number();
        let (src, tgt) = split_joined(&line, &name, n)?;
        add_pair(out, src, tgt, &name, n, opts)?;
    }
    Ok(())
}

/// Splits one `source ||| target` line at its single separator token. A line that is
/// blank as a whole is an empty pair.
pub fn split_joined<'a>(
    line: &'a str,
    path: &str,
    n: usize,
) -> Result<(&'a str, &'a str), BitextError> {
    // `tokens` yields subslices of `line`, so a pointer difference is a byte offset.
    let seps: Vec<usize> = tokens(line, SpacePolicy::Normalized)
        .filter(|tok| *tok == SEPARATOR)
        .map(|tok| tok.as_ptr() as usize - line.as_ptr() as usize)
        .collect();
    match seps.len() {
        1 => Ok((&line[..seps[0]], &line[seps[0] + SEPARATOR.len()..])),
        0 if tokens(line, SpacePolicy::Normalized).next().is_none() => Ok(("", "")),
        0 => {
            let hint = match line.find(SEPARATOR) {
                Some(byte) => format!(
                    "; `|||` at column {} is glued to a word: the separator needs a \
                     space on both sides",
                    line[..byte].chars().count() + 1
                ),
                None => " (expected `source words ||| target words`)".to_owned(),
            };
            Err(BitextError::NoSeparator { path: path.to_owned(), line: n, hint })
        }
        count => Err(BitextError::Separators { path: path.to_owned(), line: n, count }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_lines_split_at_the_single_separator() {
        assert_eq!(split_joined("a b ||| c", "f", 1).unwrap(), ("a b ", " c"));
        assert_eq!(split_joined("a\t|||\tc", "f", 1).unwrap(), ("a\t", "\tc"));
        assert_eq!(split_joined("   ", "f", 1).unwrap(), ("", ""));
        let e = split_joined("small house||| kleines haus", "f", 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f:1: no separator ` ||| ` found; `|||` at column 12 is glued to a word: \
             the separator needs a space on both sides"
        );
        let e = split_joined("a ||| b ||| c", "f", 1).unwrap_err().to_string();
        assert!(e.contains("line 1 has 2 separators"), "{e}");
    }
}
