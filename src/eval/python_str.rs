//! Python's `str` semantics that sacreBLEU relies on: `split()`, `rstrip()` and `lower()`.
//!
//! Python's `str.isspace` is true for every character Rust's [`char::is_whitespace`]
//! accepts plus the four information separators U+001C–U+001F; U+200B (zero-width space)
//! and U+FEFF (the byte-order mark) are whitespace in neither. Scores must not depend on the
//! difference, so every metric splits and strips with the functions here.

/// True for exactly the characters Python 3's `str.isspace` accepts.
#[inline]
pub fn is_py_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The words of `s` as Python's `s.split()` gives them: runs of whitespace separate,
/// and there are no empty words.
pub fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_py_whitespace).filter(|w| !w.is_empty())
}

/// `s.rstrip()`: `s` without its trailing Python whitespace.
pub fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_whitespace)
}

/// `" ".join(s.split())`: the words of `s` separated by single spaces.
pub fn py_collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in py_split(s) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// `s.lower()`: the full Unicode lower-case mapping, final sigma included.
///
// LIMITATION: the mapping follows the Unicode version of Rust's standard library, which can
// differ from the one of the Python that runs sacreBLEU for characters added since.
pub fn py_lower(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_matches_python() {
        // The set printed by `[c for c in range(0x110000) if chr(c).isspace()]`, Python 3.11.
        let python: Vec<u32> =
            [0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680]
                .into_iter()
                .chain(0x2000..=0x200a)
                .chain([0x2028, 0x2029, 0x202f, 0x205f, 0x3000])
                .collect();
        let ours: Vec<u32> = (0..=0x10ffffu32)
            .filter_map(char::from_u32)
            .filter(|&c| is_py_whitespace(c))
            .map(u32::from)
            .collect();
        assert_eq!(ours, python);
    }

    #[test]
    fn split_strip_and_lower() {
        let s = "\u{feff}a\u{1f}b\u{200b}c\u{a0} d \r";
        assert_eq!(py_split(s).collect::<Vec<_>>(), ["\u{feff}a", "b\u{200b}c", "d"]);
        assert_eq!(py_rstrip(s), "\u{feff}a\u{1f}b\u{200b}c\u{a0} d");
        assert_eq!(py_collapse("  x \t y  "), "x y");
        assert_eq!(py_lower("ΟΔΟΣ İ Straße"), "οδος i\u{307} straße");
    }
}
