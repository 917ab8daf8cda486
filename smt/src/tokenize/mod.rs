//! Moses-style tokenization, detokenization and casing for English, German and French.
//!
//! The rules follow the behaviour of the Moses `tokenizer.perl` with escaping off and
//! aggressive hyphen splitting off: punctuation other than `. , ' -` is split from
//! words, commas split unless between digits, a final period splits unless the word is
//! a known abbreviation, apostrophes split by language. The detokenizer undoes these
//! rules. Casing (lowercasing or truecasing) is a separate, optional step
//! ([`casing`]).

pub mod casing;

use serde::{Deserialize, Serialize};

/// The version of the tokenizer rules; saved in models so that a changed rule set is
/// detected at load time.
pub const TOKENIZER_VERSION: &str = "mt-moses-like-1";

/// The languages with their own apostrophe and abbreviation rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lang {
    /// English: `don't` → `don 't`.
    En,
    /// German: every apostrophe is its own token.
    De,
    /// French: `l'homme` → `l' homme`.
    Fr,
    /// Any other language: treated like German.
    Other,
}

impl Lang {
    /// The language for an ISO 639-1 code (`en`, `de`, `fr`), [`Lang::Other`] otherwise.
    pub fn from_code(code: &str) -> Self {
        match code.to_ascii_lowercase().as_str() {
            "en" => Lang::En,
            "de" => Lang::De,
            "fr" => Lang::Fr,
            _ => Lang::Other,
        }
    }
}

// LIMITATION: the abbreviation lists are short hand-written lists, not the full Moses
// nonbreaking-prefix files, so rarer abbreviations lose their period to a split.
const ABBREV_EN: &[&str] = &[
    "Mr", "Mrs", "Ms", "Dr", "Prof", "Sr", "Jr", "St", "vs", "etc", "e.g", "i.e", "Inc", "Ltd",
    "Co", "Corp", "No", "Nos", "Art", "Vol", "pp", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug",
    "Sep", "Sept", "Oct", "Nov", "Dec", "Gen", "Gov", "Sen", "Rep", "Mt", "approx",
];
const ABBREV_DE: &[&str] = &[
    "Dr", "Prof", "Nr", "bzw", "ca", "usw", "z.B", "d.h", "u.a", "vgl", "Str", "Hr", "Fr", "evtl",
    "ggf", "inkl", "bzgl", "Jh", "Mio", "Mrd", "St", "Abs", "Art", "Bd",
];
const ABBREV_FR: &[&str] = &[
    "M", "MM", "Mme", "Mmes", "Mlle", "Dr", "Pr", "St", "Ste", "etc", "cf", "p", "av", "bd", "art",
    "no", "vol",
];

fn abbreviations(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => ABBREV_EN,
        Lang::Fr => ABBREV_FR,
        Lang::De | Lang::Other => ABBREV_DE,
    }
}

/// Splits a line into Moses-style tokens.
pub fn tokenize(line: &str, lang: Lang) -> Vec<String> {
    // 1. Control characters and every Unicode space become one ASCII space.
    let mut spaced = String::with_capacity(line.len() * 2);
    let chars: Vec<char> = line.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_whitespace() || c.is_control() {
            spaced.push(' ');
            continue;
        }
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        let next = chars.get(i + 1).copied();
        let is_digit = |c: Option<char>| c.is_some_and(|c| c.is_numeric());
        let is_alpha = |c: Option<char>| c.is_some_and(|c| c.is_alphabetic());
        match c {
            c if c.is_alphanumeric() || c == '-' || c == '.' => spaced.push(c),
            ',' => {
                if is_digit(prev) && is_digit(next) {
                    spaced.push(',');
                } else {
                    spaced.push_str(" , ");
                }
            }
            '\'' => match lang {
                Lang::En => {
                    if (is_alpha(prev) && is_alpha(next)) || (is_digit(prev) && next == Some('s')) {
                        spaced.push_str(" '");
                    } else {
                        spaced.push_str(" ' ");
                    }
                }
                Lang::Fr => {
                    if is_alpha(prev) && is_alpha(next) {
                        spaced.push_str("' ");
                    } else {
                        spaced.push_str(" ' ");
                    }
                }
                Lang::De | Lang::Other => spaced.push_str(" ' "),
            },
            c => {
                spaced.push(' ');
                spaced.push(c);
                spaced.push(' ');
            }
        }
    }
    // 2. Periods: runs of dots are one token; a final period splits unless the word
    //    is an abbreviation, holds inner periods with letters, or the next word starts
    //    lowercase; a number followed by a period keeps it before another number.
    let words: Vec<&str> = spaced.split(' ').filter(|w| !w.is_empty()).collect();
    let abbrev = abbreviations(lang);
    let mut out = Vec::with_capacity(words.len() + 4);
    for (k, w) in words.iter().enumerate() {
        split_dots(w, k, &words, abbrev, &mut out);
    }
    out
}

fn split_dots(w: &str, k: usize, words: &[&str], abbrev: &[&str], out: &mut Vec<String>) {
    // Runs of two or more dots are split off as one token wherever they appear.
    if let Some(start) = w.find("..") {
        let end = start + w[start..].chars().take_while(|&c| c == '.').count();
        if start > 0 {
            split_dots(&w[..start], k, words, abbrev, out);
        }
        out.push(w[start..end].to_owned());
        if end < w.len() {
            split_dots(&w[end..], k, words, abbrev, out);
        }
        return;
    }
    if w.len() > 1 && w.ends_with('.') {
        let pre = &w[..w.len() - 1];
        let next = words.get(k + 1);
        let keep = (pre.contains('.') && pre.chars().any(|c| c.is_alphabetic()))
            || abbrev.contains(&pre)
            || (pre.chars().count() == 1 && pre.chars().all(|c| c.is_uppercase()))
            || next.is_some_and(|n| n.chars().next().is_some_and(|c| c.is_lowercase()));
        if !keep {
            out.push(pre.to_owned());
            out.push(".".to_owned());
            return;
        }
    }
    out.push(w.to_owned());
}

/// Joins Moses-style tokens back into running text.
pub fn detokenize(tokens: &[String], lang: Lang) -> String {
    let mut out = String::new();
    let mut glue_next = true; // no space before the first token
    let mut open_double_quote = false;
    let mut open_single_quote = false;
    for (i, tok) in tokens.iter().enumerate() {
        let t = tok.as_str();
        let mut attach_left = false;
        let mut attach_right = false;
        match t {
            "," | "." | "?" | "!" | ":" | ";" | "%" | ")" | "]" | "}" | "..." | ".." => {
                attach_left = true
            }
            "(" | "[" | "{" | "¿" | "¡" | "$" | "£" | "€" if t != "€" || lang != Lang::De => {
                attach_right = true
            }
            "\"" => {
                if open_double_quote {
                    attach_left = true;
                } else {
                    attach_right = true;
                }
                open_double_quote = !open_double_quote;
            }
            "'" if lang != Lang::Fr => {
                let prev_alpha =
                    i > 0 && tokens[i - 1].chars().last().is_some_and(|c| c.is_alphabetic());
                if prev_alpha && !open_single_quote {
                    // possessive or elision: "cats '" → "cats'"
                    attach_left = true;
                } else if open_single_quote {
                    attach_left = true;
                    open_single_quote = false;
                } else {
                    attach_right = true;
                    open_single_quote = true;
                }
            }
            _ => {
                if lang == Lang::En && t.starts_with('\'') && t.len() > 1 {
                    attach_left = true; // 's 're n't-style clitics
                }
                if lang == Lang::En && t == "n't" {
                    attach_left = true;
                }
            }
        }
        if lang == Lang::Fr && t.ends_with('\'') && t.len() > 1 {
            attach_right = true; // l' homme → l'homme
        }
        if !(glue_next || attach_left) {
            out.push(' ');
        }
        out.push_str(t);
        glue_next = attach_right;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(s: &str, lang: Lang) -> String {
        tokenize(s, lang).join(" ")
    }

    #[test]
    fn splits_punctuation_and_keeps_numbers() {
        assert_eq!(
            tok("Hello, world! It costs $1,000.50 (approx.).", Lang::En),
            "Hello , world ! It costs $ 1,000.50 ( approx. ) ."
        );
        assert_eq!(tok("A dog runs.", Lang::En), "A dog runs .");
        assert_eq!(tok("Mr. Smith is here.", Lang::En), "Mr. Smith is here .");
        assert_eq!(tok("Wait... what?", Lang::En), "Wait ... what ?");
        assert_eq!(tok("a  b\x0cc", Lang::En), "a b c");
    }

    #[test]
    fn apostrophes_follow_the_language() {
        assert_eq!(tok("I don't know.", Lang::En), "I don 't know .");
        assert_eq!(tok("l'homme est là.", Lang::Fr), "l' homme est là .");
        assert_eq!(tok("Geht's gut?", Lang::De), "Geht ' s gut ?");
    }

    #[test]
    fn hyphens_stay_inside_words() {
        assert_eq!(tok("a well-known T-shirt", Lang::En), "a well-known T-shirt");
    }

    #[test]
    fn detokenize_inverts_tokenize() {
        for (s, lang) in [
            ("Hello, world! It costs $1,000.50 (approx.).", Lang::En),
            ("I don't know what \"it\" is.", Lang::En),
            ("Ein Mann, der (auf einer Bank) sitzt.", Lang::De),
            ("l'homme est là: voilà!", Lang::Fr),
        ] {
            assert_eq!(detokenize(&tokenize(s, lang), lang), s, "{s}");
        }
    }
}
