//! Reading text files the same way in every command.
//!
//! One policy for every reader in `mt`:
//! - a path of `-` is standard input; a file that starts with the gzip magic number is
//!   decompressed transparently, whatever its name;
//! - only `\n` ends a line, and a `\r` right before it is dropped, so U+2028 and U+0085
//!   are ordinary characters and CRLF files read like LF files;
//! - a missing final newline is not an extra or a missing line;
//! - a UTF-8 byte-order mark at the start of the file is removed unless the caller keeps
//!   it (`mt eval` keeps it, as sacreBLEU does);
//! - invalid UTF-8 is an error naming the file, the line and the byte offset, unless the
//!   caller asks for lossy decoding.
//!
//! Tokens are split by [`tokens`] under a [`SpacePolicy`].

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// What went wrong while reading a text input.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// The input could not be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The path as given.
        path: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// The path names a directory.
    #[error("{path} is a directory, not a text file")]
    Directory {
        /// The path as given.
        path: String,
    },
    /// Reading failed part way.
    #[error("{path}:{line}: read error: {source}")]
    Read {
        /// The path as given.
        path: String,
        /// 1-based line number.
        line: usize,
        /// The operating system's error.
        source: io::Error,
    },
    /// A line is not valid UTF-8.
    #[error("{path}:{line}: invalid UTF-8 at byte {offset} of the line ({hint})")]
    Utf8 {
        /// The path as given.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What to do about it.
        hint: &'static str,
        /// 0-based byte offset of the first invalid byte within the line.
        offset: usize,
    },
}

/// How a reader treats the bytes it reads.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Remove a UTF-8 byte-order mark at the start of the file.
    pub strip_bom: bool,
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    pub lossy_utf8: bool,
    /// The command has a `--lossy-utf8` option (the UTF-8 error then suggests it).
    pub offers_lossy: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { strip_bom: true, lossy_utf8: false, offers_lossy: false }
    }
}

/// Reads a text input line by line under the module's policy.
pub struct LineReader {
    name: String,
    inner: Box<dyn BufRead + Send>,
    opts: ReadOptions,
    line: usize,
    buf: Vec<u8>,
    started_with_bom: bool,
}

impl fmt::Debug for LineReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineReader").field("name", &self.name).field("line", &self.line).finish()
    }
}

/// The name a path is reported under: `<stdin>` for `-`.
pub fn display_name(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    }
}

/// Opens `path` (or stdin for `-`) as a byte stream, decompressing gzip when the file
/// starts with its magic number.
pub fn open_bytes(path: &Path) -> Result<Box<dyn BufRead + Send>, TextError> {
    let name = display_name(path);
    let raw: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(io::stdin())
    } else {
        let meta = std::fs::metadata(path)
            .map_err(|source| TextError::Open { path: name.clone(), source })?;
        if meta.is_dir() {
            return Err(TextError::Directory { path: name });
        }
        Box::new(File::open(path).map_err(|source| TextError::Open { path: name.clone(), source })?)
    };
    let mut reader = BufReader::with_capacity(1 << 16, raw);
    let head = reader.fill_buf().map_err(|source| TextError::Read {
        path: name.clone(),
        line: 1,
        source,
    })?;
    if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        Ok(Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(reader))))
    } else {
        Ok(Box::new(reader))
    }
}

impl LineReader {
    /// Opens `path` (`-` for stdin) for reading lines.
    pub fn open(path: &Path, opts: ReadOptions) -> Result<Self, TextError> {
        let inner = open_bytes(path)?;
        Ok(Self::from_reader(display_name(path), inner, opts))
    }

    /// Wraps an already open stream; `name` is used in error messages.
    pub fn from_reader(name: String, inner: Box<dyn BufRead + Send>, opts: ReadOptions) -> Self {
        Self { name, inner, opts, line: 0, buf: Vec::new(), started_with_bom: false }
    }

    /// The name used in error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 1-based number of the line returned last (0 before the first).
    pub fn line_number(&self) -> usize {
        self.line
    }

    /// True when the first line began with a UTF-8 byte-order mark (stripped or not).
    pub fn started_with_bom(&self) -> bool {
        self.started_with_bom
    }

    /// The next line without its line ending, or `None` at the end of the input.
    pub fn next_line(&mut self) -> Option<Result<String, TextError>> {
        self.buf.clear();
        match self.inner.read_until(b'\n', &mut self.buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(source) => {
                return Some(Err(TextError::Read {
                    path: self.name.clone(),
                    line: self.line + 1,
                    source,
                }))
            }
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        let mut start = 0;
        if self.line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            self.started_with_bom = true;
            if self.opts.strip_bom {
                start = 3;
            }
        }
        let bytes = &self.buf[start..];
        Some(match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) if self.opts.lossy_utf8 => Ok(String::from_utf8_lossy(bytes).into_owned()),
            Err(e) => Err(TextError::Utf8 {
                path: self.name.clone(),
                line: self.line,
                hint: if self.opts.offers_lossy {
                    "convert the file to UTF-8, or pass --lossy-utf8"
                } else {
                    "convert the file to UTF-8"
                },
                offset: start + e.valid_up_to(),
            }),
        })
    }
}

impl Iterator for LineReader {
    type Item = Result<String, TextError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_line()
    }
}

/// Reads every line of `path` (`-` for stdin).
pub fn read_lines(path: &Path, opts: ReadOptions) -> Result<Vec<String>, TextError> {
    LineReader::open(path, opts)?.collect()
}

/// How a line is cut into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpacePolicy {
    /// KenLM's rule (lmplz, and ARPA files): only NUL, TAB, LF, CR and space separate
    /// tokens; NBSP, vertical tab and other Unicode spaces stay inside tokens.
    Kenlm,
    /// The rule for bitexts and decoding (`--normalize-space`, on by default there):
    /// every Unicode whitespace character (NBSP, VT, FF, U+2028, ...) and every ASCII
    /// control character separates tokens, as Python's `str.split` does.
    #[default]
    Normalized,
}

/// The tokens of `line` under `policy`; runs of separators never give empty tokens.
pub fn tokens(line: &str, policy: SpacePolicy) -> impl Iterator<Item = &str> {
    let is_sep: fn(char) -> bool = match policy {
        SpacePolicy::Kenlm => |c| matches!(c, '\0' | '\t' | '\n' | '\r' | ' '),
        SpacePolicy::Normalized => |c| c.is_whitespace() || c.is_control(),
    };
    line.split(is_sep).filter(|t| !t.is_empty())
}

/// The path with `suffix` appended to its file name (`model` + `.tmp` = `model.tmp`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bytes: &'static [u8], opts: ReadOptions) -> LineReader {
        LineReader::from_reader("t".into(), Box::new(bytes), opts)
    }

    #[test]
    fn crlf_bom_and_missing_final_newline() {
        let lines: Vec<_> =
            reader(b"\xEF\xBB\xBFa b\r\nc\xE2\x80\xA8d\n\ne", ReadOptions::default())
                .map(Result::unwrap)
                .collect();
        assert_eq!(lines, vec!["a b", "c\u{2028}d", "", "e"]);
    }

    #[test]
    fn bom_kept_when_asked() {
        let opts = ReadOptions { strip_bom: false, ..Default::default() };
        let mut r = reader(b"\xEF\xBB\xBFx\n", opts);
        assert_eq!(r.next_line().unwrap().unwrap(), "\u{feff}x");
        assert!(r.started_with_bom());
    }

    #[test]
    fn invalid_utf8_names_line_and_offset() {
        let mut r = reader(b"ok\ncaf\xe9\n", ReadOptions::default());
        r.next_line().unwrap().unwrap();
        let err = r.next_line().unwrap().unwrap_err().to_string();
        assert_eq!(err, "t:2: invalid UTF-8 at byte 3 of the line (convert the file to UTF-8)");
        let offers = ReadOptions { offers_lossy: true, ..Default::default() };
        let mut r = reader(b"caf\xe9\n", offers);
        let err = r.next_line().unwrap().unwrap_err().to_string();
        assert!(err.ends_with("(convert the file to UTF-8, or pass --lossy-utf8)"), "{err}");
        let lossy = ReadOptions { lossy_utf8: true, ..Default::default() };
        let mut r = reader(b"caf\xe9\n", lossy);
        assert_eq!(r.next_line().unwrap().unwrap(), "caf\u{fffd}");
    }

    #[test]
    fn space_policies() {
        let line = "zwei\u{a0}Männer\tspielen\u{b}Fußball";
        let kenlm: Vec<_> = tokens(line, SpacePolicy::Kenlm).collect();
        assert_eq!(kenlm, vec!["zwei\u{a0}Männer", "spielen\u{b}Fußball"]);
        let norm: Vec<_> = tokens(line, SpacePolicy::Normalized).collect();
        assert_eq!(norm, vec!["zwei", "Männer", "spielen", "Fußball"]);
        let ctl: Vec<_> = tokens("a\x0c small  cat\x1f", SpacePolicy::Normalized).collect();
        assert_eq!(ctl, vec!["a", "small", "cat"]);
    }
}
