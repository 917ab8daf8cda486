//! Running one stage of the comparison as a child `mt` process.
//!
//! Each stage (training, decoding, alignment) runs the `mt` binary itself, so that its
//! wall time is measured alone and its diagnostics go to a log file of the report
//! directory instead of mixing with the comparison's own output.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};

/// How to run child stages.
#[derive(Debug, Clone)]
pub struct StageRunner {
    /// The `mt` executable.
    pub exe: PathBuf,
    /// Directory for one `<stage>.log` per stage.
    pub log_dir: PathBuf,
}

impl StageRunner {
    /// Runs `mt ARGS...`, with stdout to `stdout` (or discarded) and stderr to the log.
    /// Returns the wall seconds; fails, naming the stage and its log, on a non-zero exit.
    pub fn run(
        &self,
        stage: &str,
        args: &[OsString],
        stdout: Option<&Path>,
    ) -> anyhow::Result<f64> {
        std::fs::create_dir_all(&self.log_dir)
            .with_context(|| format!("creating {}", self.log_dir.display()))?;
        let log_path = self.log_dir.join(format!("{stage}.log"));
        let log =
            File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let out = match stdout {
            Some(p) => {
                Stdio::from(File::create(p).with_context(|| format!("creating {}", p.display()))?)
            }
            None => Stdio::null(),
        };
        let start = Instant::now();
        let status = Command::new(&self.exe)
            .args(args)
            .env("MT_NO_PROGRESS", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::from(log))
            .status()
            .with_context(|| format!("starting {} for stage {stage}", self.exe.display()))?;
        let secs = start.elapsed().as_secs_f64();
        if !status.success() {
            let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
            let last = tail.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
            bail!("stage {stage} failed ({status}); see {}: {last}", log_path.display());
        }
        Ok(secs)
    }
}

/// Builds an argument list from string-like pieces.
pub fn args<I, S>(items: I) -> Vec<OsString>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    items.into_iter().map(Into::into).collect()
}

/// Total size in bytes of the files under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
