//! The `13a` tokenizer of sacreBLEU (mteval-v13a.pl, the WMT standard).
//!
//! Steps, in order: remove `<skipped>`, join `-` + newline, turn newlines into spaces,
//! unescape `&quot;`, `&amp;`, `&lt;`, `&gt;` (in that order, so `&amp;lt;` becomes `<`),
//! pad the line with a space on each side, then four replace-all rules:
//! 1. surround each of `` {|}~[\]^_`!"#$%&()*+:;<=>?@/ `` with spaces;
//! 2. a period or comma after a non-digit gets spaces on both sides;
//! 3. a period or comma before a non-digit gets spaces on both sides;
//! 4. a hyphen after a digit gets spaces on both sides;
//!
//! and finally collapse the whitespace (Python's `split` / `join`).
//!
//! Each rule is a leftmost, non-overlapping scan like a regex replace-all; rules 2–4 match
//! two characters, so a match consumes both and the scan resumes after them (`a.,b` keeps
//! `,b` joined after rule 2). The scans are written by hand for speed; the tests check them
//! against the regular expressions they stand for.

use super::python_str::py_collapse;

/// Tokenizes one segment with the 13a rules; the result has single spaces between tokens.
pub fn tokenize_13a(line: &str) -> String {
    let mut s = std::borrow::Cow::Borrowed(line);
    if s.contains("<skipped>") {
        s = s.replace("<skipped>", "").into();
    }
    if s.contains('\n') {
        s = s.replace("-\n", "").replace('\n', " ").into();
    }
    if s.contains('&') {
        s = s
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .into();
    }
    let mut padded = String::with_capacity(s.len() + 2);
    padded.push(' ');
    padded.push_str(&s);
    padded.push(' ');
    let s = split_symbols(&padded);
    let s = split_period_comma_after_non_digit(&s);
    let s = split_period_comma_before_non_digit(&s);
    let s = split_dash_after_digit(&s);
    py_collapse(&s)
}

/// True for the ASCII characters rule 1 surrounds with spaces (the space included).
#[inline]
pub(crate) fn is_13a_symbol(c: char) -> bool {
    matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/')
}

/// Rule 1: `([\{-\~\[-\` -\&\(-\+\:-\@\/])` → ` \1 `.
pub(crate) fn split_symbols(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    for c in s.chars() {
        if is_13a_symbol(c) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Replaces every leftmost non-overlapping pair `(a, b)` with `matches(a, b)` by `emit`.
fn replace_pairs(
    s: &str,
    matches: impl Fn(char, char) -> bool,
    emit: impl Fn(&mut String, char, char),
) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut it = s.chars().peekable();
    while let Some(a) = it.next() {
        match it.peek() {
            Some(&b) if matches(a, b) => {
                emit(&mut out, a, b);
                it.next();
            }
            _ => out.push(a),
        }
    }
    out
}

fn is_period_comma(c: char) -> bool {
    c == '.' || c == ','
}

/// Rule 2: `([^0-9])([\.,])` → `\1 \2 `.
pub(crate) fn split_period_comma_after_non_digit(s: &str) -> String {
    replace_pairs(
        s,
        |a, b| !a.is_ascii_digit() && is_period_comma(b),
        |o, a, b| {
            o.push(a);
            o.push(' ');
            o.push(b);
            o.push(' ');
        },
    )
}

/// Rule 3: `([\.,])([^0-9])` → ` \1 \2`.
pub(crate) fn split_period_comma_before_non_digit(s: &str) -> String {
    replace_pairs(
        s,
        |a, b| is_period_comma(a) && !b.is_ascii_digit(),
        |o, a, b| {
            o.push(' ');
            o.push(a);
            o.push(' ');
            o.push(b);
        },
    )
}

/// Rule 4: `([0-9])(-)` → `\1 \2 `.
pub(crate) fn split_dash_after_digit(s: &str) -> String {
    replace_pairs(
        s,
        |a, b| a.is_ascii_digit() && b == '-',
        |o, a, b| {
            o.push(a);
            o.push(' ');
            o.push(b);
            o.push(' ');
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    /// The four rules as the regular expressions sacreBLEU writes them.
    fn by_regex(rules: &[(Regex, &str)], s: &str) -> String {
        let mut s = format!(" {s} ");
        for (re, rep) in rules {
            s = re.replace_all(&s, *rep).into_owned();
        }
        py_collapse(&s)
    }

    #[test]
    fn reference_examples() {
        let cases = [
            ("don't stop-it", "don't stop-it"),
            ("3-4", "3 - 4"),
            ("-3", "-3"),
            ("1,000.5", "1,000.5"),
            ("a.b", "a . b"),
            ("U.S.A.", "U . S . A ."),
            ("e.g.", "e . g ."),
            ("$5", "$ 5"),
            ("(hi)", "( hi )"),
            ("a\tb", "a b"),
            ("&amp;lt;", "<"),
            ("x <skipped> y", "x y"),
            ("Hello,world!  x", "Hello , world ! x"),
        ];
        for (input, want) in cases {
            assert_eq!(tokenize_13a(input), want, "{input:?}");
        }
    }

    #[test]
    fn hand_written_rules_equal_the_regexes() {
        // Every string of length <= 4 over an alphabet that exercises all four rules.
        let rules: Vec<(Regex, &str)> = [
            (r"([\{-\~\[-\` -\&\(-\+\:-\@/])", " ${1} "),
            (r"([^0-9])([\.,])", "${1} ${2} "),
            (r"([\.,])([^0-9])", " ${1} ${2}"),
            (r"([0-9])(-)", "${1} ${2} "),
        ]
        .into_iter()
        .map(|(re, rep)| (Regex::new(re).unwrap(), rep))
        .collect();
        let alphabet = ['a', '1', '.', ',', '-', ' ', '$', 'é', '\u{a0}'];
        let mut words = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for w in &words {
                for c in alphabet {
                    next.push(format!("{w}{c}"));
                }
            }
            for w in &next {
                assert_eq!(tokenize_13a(w), by_regex(&rules, w), "{w:?}");
            }
            words = next;
        }
    }
}
