//! The `intl` tokenizer of sacreBLEU (mteval-v14.pl's international tokenization).
//!
//! Three replace-all rules over Unicode general categories, then whitespace collapsing:
//! 1. `(\P{N})(\p{P})` → `\1 \2 `: punctuation after a non-number is split off;
//! 2. `(\p{P})(\P{N})` → ` \1 \2`: punctuation before a non-number is split off;
//! 3. `(\p{S})` → ` \1 `: every symbol is split off.
//!
//! Unlike 13a the line is not padded first, so a sentence-final `2019.` keeps its period,
//! as in mteval-v14.pl.

use std::sync::LazyLock;

use regex::Regex;

use super::python_str::py_collapse;

static RULES: LazyLock<[(Regex, &'static str); 3]> = LazyLock::new(|| {
    [
        (Regex::new(r"(\P{N})(\p{P})").unwrap(), "${1} ${2} "),
        (Regex::new(r"(\p{P})(\P{N})").unwrap(), " ${1} ${2}"),
        (Regex::new(r"(\p{S})").unwrap(), " ${1} "),
    ]
});

/// Tokenizes one segment with the intl rules; single spaces between tokens.
///
// LIMITATION: the Unicode categories are those of the `regex` crate's tables, which can
// lag or lead the Python `regex` module sacreBLEU uses for newly assigned characters.
pub fn tokenize_intl(line: &str) -> String {
    let mut s = std::borrow::Cow::Borrowed(line);
    for (re, rep) in RULES.iter() {
        if let std::borrow::Cow::Owned(o) = re.replace_all(&s, *rep) {
            s = o.into();
        }
    }
    py_collapse(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories() {
        assert_eq!(
            tokenize_intl("Hello, world! It costs 1,000.50€ in 2019."),
            "Hello , world ! It costs 1,000.50 € in 2019."
        );
        assert_eq!(tokenize_intl("«Ja»—sagte er…"), "« Ja » — sagte er …");
        assert_eq!(tokenize_intl("a+b=c"), "a + b = c");
    }
}
