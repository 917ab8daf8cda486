//! Running the `mt` binary from the integration tests, with input on stdin.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `mt ARGS` in `dir` (the test's own directory when `None`) with progress bars off,
/// feeding `stdin`, and returns its output whatever its exit status.
pub fn mt_in(dir: Option<&Path>, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mt"));
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd
        .args(args)
        .env("MT_NO_PROGRESS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mt runs");
    // A run that fails on its arguments may exit before reading stdin: a broken pipe then
    // is not the test's failure.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing stdin: {e}");
    }
    child.wait_with_output().unwrap()
}

/// [`mt_in`] in the test's own directory.
pub fn mt(args: &[&str], stdin: &[u8]) -> Output {
    mt_in(None, args, stdin)
}
