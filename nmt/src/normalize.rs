//! Unicode normalization applied to text before subword encoding.
//!
//! The mode is chosen when the model is trained and saved in its configuration, so
//! decoding normalizes its input exactly like the training data. The default is
//! [`Normalization::Nfc`]: canonical composition only, which never changes what a character
//! means (NFKC, in contrast, turns U+FE30 into `..` and `ŉ` into `ʼn`). With
//! [`Normalization::None`] the text reaches the byte-level tokenizer untouched, and encoding
//! then decoding returns it byte for byte.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// How source and target text are normalized before subword encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Normalization {
    /// Leave the text as it is.
    None,
    /// Unicode canonical composition (NFC). The default.
    #[default]
    Nfc,
    /// Unicode compatibility composition (NFKC): folds presentation forms and fullwidth
    /// characters, which is not reversible.
    Nfkc,
}

impl Normalization {
    /// Normalizes one line.
    pub fn apply(self, text: &str) -> String {
        match self {
            Normalization::None => text.to_string(),
            Normalization::Nfc => text.nfc().collect(),
            Normalization::Nfkc => text.nfkc().collect(),
        }
    }

    /// Parses `none`, `nfc` or `nfkc`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Normalization::None),
            "nfc" => Some(Normalization::Nfc),
            "nfkc" => Some(Normalization::Nfkc),
            _ => None,
        }
    }
}

/// True when a line holds nothing to translate: only whitespace and invisible format
/// characters (zero-width space, byte-order mark, joiners). Such a source is translated
/// as the empty line without running the model.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_whitespace() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}' | '\u{feff}')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfkc_folds_compatibility_characters_as_documented() {
        let input = "ratio\u{fe30}2 \u{149} \u{ff12}";
        assert_eq!(Normalization::Nfkc.apply(input), "ratio..2 \u{2bc}n 2");
        assert_eq!(Normalization::None.apply(input), input);
        assert_eq!(Normalization::Nfc.apply(input), input);
    }

    #[test]
    fn blank_lines_include_zero_width_space() {
        assert!(is_blank(""));
        assert!(is_blank(" \t"));
        assert!(is_blank("\u{200b}"));
        assert!(!is_blank("a"));
    }
}
