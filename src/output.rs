//! Output files that appear whole or not at all.
//!
//! Every command writes its result through [`AtomicOutput`]: the data goes to a
//! temporary file beside the destination and is renamed over it only on
//! [`AtomicOutput::commit`]. A run that fails part way leaves no half-written file.
//! The path `-` writes to standard output directly.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A buffered writer to a file (renamed into place on commit) or to stdout.
pub struct AtomicOutput {
    writer: Box<dyn Write>,
    target: Option<(PathBuf, PathBuf)>,
}

impl AtomicOutput {
    /// Creates the output; `-` is standard output.
    pub fn create(path: &Path) -> io::Result<Self> {
        if path == Path::new("-") {
            return Ok(Self {
                writer: Box::new(BufWriter::new(io::stdout().lock())),
                target: None,
            });
        }
        let tmp = temporary_path(path);
        let file = File::create(&tmp)?;
        Ok(Self {
            writer: Box::new(BufWriter::with_capacity(1 << 16, file)),
            target: Some((tmp, path.to_path_buf())),
        })
    }

    /// Flushes and moves the file into place.
    pub fn commit(mut self) -> io::Result<()> {
        self.writer.flush()?;
        if let Some((tmp, dest)) = self.target.take() {
            // Drop the writer first so the file is closed before the rename.
            self.writer = Box::new(io::sink());
            std::fs::rename(&tmp, &dest)?;
        }
        Ok(())
    }
}

impl Write for AtomicOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl Drop for AtomicOutput {
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.target.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// The temporary name used while `path` is being written: `.NAME.tmp.PID` beside it.
pub fn temporary_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = format!(".{name}.tmp.{}", std::process::id());
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(tmp),
        _ => PathBuf::from(tmp),
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut out = AtomicOutput::create(path)?;
    out.write_all(bytes)?;
    out.commit()
}

/// True when `a` and `b` name the same existing file (same device and inode on Unix,
/// the same canonical path elsewhere). `-` (stdin or stdout) is never the same file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    if a == Path::new("-") || b == Path::new("-") {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

/// An error when the output `output` is the same file as one of `inputs`: writing it
/// would replace an input (the message names both options).
pub fn refuse_overwriting_input(
    output: (&str, &Path),
    inputs: &[(&str, &Path)],
) -> Result<(), String> {
    for (option, input) in inputs {
        if same_file(output.1, input) {
            return Err(format!(
                "{} {} is the same file as {option} {}: refusing to overwrite an input",
                output.0,
                output.1.display(),
                input.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_left_without_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        {
            let mut out = AtomicOutput::create(&path).unwrap();
            out.write_all(b"half").unwrap();
        }
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_atomic(&path, b"whole").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"whole");
    }

    #[test]
    fn an_output_that_is_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        std::fs::write(&a, b"x").unwrap();
        let dotted = dir.path().join(".").join("a.txt");
        let other = dir.path().join("b.txt");
        assert!(same_file(&a, &dotted));
        assert!(!same_file(&a, &other));
        assert!(!same_file(Path::new("-"), Path::new("-")));
        let err = refuse_overwriting_input(("--output", &dotted), &[("--source", &a)]);
        assert!(err.unwrap_err().contains("refusing to overwrite"));
        assert!(refuse_overwriting_input(("--output", &other), &[("--source", &a)]).is_ok());
    }
}
