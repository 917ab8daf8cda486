//! The `mt` command line: a thin layer over the `mt` library.
//!
//! Exit codes: 0 on success, 2 on any error (bad usage, unreadable or malformed input,
//! a failed computation). A closed stdout (as with `| head`) ends the run quietly.

/// mimalloc instead of the system allocator: glibc's malloc gives large buffers back to the
/// OS when they are freed, so every NMT training step page-faults its tensors anew; mimalloc
/// with purging off keeps and reuses them (BENCHMARKS.md, neural MT section, has the
/// measured difference).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its index in the option enum of mimalloc.h, the same
/// in the v2 and v3 headers).
const MI_OPTION_PURGE_DELAY: std::os::raw::c_int = 15;

fn main() {
    // Never give freed pages back to the OS (the default purges them after 10 ms): the
    // process keeps its peak working set, and tensors of the same size reuse it. A
    // `MIMALLOC_PURGE_DELAY` in the environment (mimalloc's own setting) is left to rule.
    // Measured with purging off: 500 updates of the Multi30k Transformer peak at 817 MiB
    // (BENCHMARKS.md, neural MT, "Memory of training").
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting a mimalloc option has no precondition; it only affects later
        // purges.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
    let cli = match mt::cli::parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            eprintln!("mt: error: {}", mt::cli::usage_error_line(&e.to_string()));
            std::process::exit(2);
        }
    };
    if let Err(err) = mt::cli::run(cli) {
        if is_broken_pipe(&err) {
            std::process::exit(0);
        }
        eprintln!("mt: error: {}", mt::cli::error_line(&err));
        std::process::exit(2);
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
