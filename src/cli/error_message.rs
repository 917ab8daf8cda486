//! The one line an error prints: `mt: error: ` followed by what this module builds.

/// The error and its causes joined by `: `, on one line. A cause already quoted at the end
/// of the message before it (as `{path}: {source}` messages do) is not repeated, the
/// `mt: error: ` of a child `mt` process's message is dropped, and line breaks inside a
/// message become spaces.
pub fn error_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = one_line(&cause.to_string());
        let text = text.trim_start_matches("mt: error: ").to_string();
        if text.is_empty() || parts.last().is_some_and(|p| p.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

/// A command-line usage error of clap as one line: its first line without clap's
/// `error: `, then its pointer to `--help` when it has one.
pub fn usage_error_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim).skip_while(|l| l.is_empty());
    let first = lines.next().unwrap_or("bad arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // A first line that ends in `:` introduces a list (the missing arguments, say): the
    // lines up to the next blank one are part of the message.
    let mut first = first.to_string();
    if first.ends_with(':') {
        let items: Vec<&str> = lines.take_while(|l| !l.is_empty()).collect();
        if !items.is_empty() {
            first = format!("{first} {}", items.join(", "));
        }
    }
    match rendered.lines().map(str::trim).find(|l| l.starts_with("For more information")) {
        Some(help) => format!("{first} ({})", help.trim_end_matches('.').to_lowercase()),
        None => first.to_string(),
    }
}

fn one_line(text: &str) -> String {
    text.split(['\n', '\r']).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_quoted_by_its_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file (os error 2)");
        #[derive(Debug, thiserror::Error)]
        #[error("model/config.json: {source}")]
        struct Wrapped {
            source: std::io::Error,
        }
        let err = anyhow::Error::new(Wrapped { source: io }).context("loading the model");
        assert_eq!(
            error_line(&err),
            "loading the model: model/config.json: No such file (os error 2)"
        );
    }

    #[test]
    fn nested_mt_errors_and_line_breaks_collapse() {
        let err = anyhow::anyhow!("mt: error: bad line 3\n  detail").context("stage x failed");
        assert_eq!(error_line(&err), "stage x failed: bad line 3 detail");
    }

    #[test]
    fn a_list_of_missing_arguments_is_kept() {
        let rendered = "error: the following required arguments were not provided:\n  \
                        --target <FILE>\n\nUsage: mt align --source <FILE> --target <FILE>\n\n\
                        For more information, try '--help'.\n";
        assert_eq!(
            usage_error_line(rendered),
            "the following required arguments were not provided: --target <FILE> (for more \
             information, try '--help')"
        );
    }

    #[test]
    fn clap_errors_become_one_line() {
        let rendered = "error: unexpected argument '--bogus' found\n\n  tip: ...\n\nUsage: mt \
                        align [OPTIONS]\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_error_line(rendered),
            "unexpected argument '--bogus' found (for more information, try '--help')"
        );
    }
}
