//! Progress bars on stderr for long work (training, alignment, decoding of files).
//!
//! Libraries report progress through callbacks; the CLI turns those into bars here.
//! Bars are hidden when stderr is not a terminal or when `MT_NO_PROGRESS` is set, so
//! logs and tests stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `len` steps labelled `what` (hidden where bars make no sense).
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target());
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// A spinner for work of unknown length.
pub fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target());
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} {spinner} {pos} {per_sec}").expect("static"),
    );
    bar.set_message(what.to_owned());
    bar
}

fn target() -> ProgressDrawTarget {
    if std::env::var_os("MT_NO_PROGRESS").is_some() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    }
}
