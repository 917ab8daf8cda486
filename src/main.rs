//! The `mt` command line: a thin layer over the `mt` library.
//!
//! Exit codes: 0 on success, 2 on any error (bad usage, unreadable or malformed input,
//! a failed computation). A closed stdout (as with `| head`) ends the run quietly.

fn main() {
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
