//! The BLEU tokenizers: `13a` (the default), `intl` and `none`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use super::tokenize_13a::tokenize_13a;
use super::tokenize_intl::tokenize_intl;

/// Which tokenizer BLEU applies before counting n-grams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BleuTokenizer {
    /// mteval-v13a.pl's rules ([`tokenize_13a`]).
    #[default]
    Thirteen,
    /// mteval-v14.pl's international rules ([`tokenize_intl`]).
    Intl,
    /// No tokenization: the segment is only split on whitespace.
    None,
}

impl BleuTokenizer {
    /// The name used on the command line and in the signature.
    pub fn name(self) -> &'static str {
        match self {
            BleuTokenizer::Thirteen => "13a",
            BleuTokenizer::Intl => "intl",
            BleuTokenizer::None => "none",
        }
    }

    /// Tokenizes one (already lower-cased and right-stripped) segment.
    pub fn tokenize(self, line: &str) -> Cow<'_, str> {
        match self {
            BleuTokenizer::Thirteen => tokenize_13a(line).into(),
            BleuTokenizer::Intl => tokenize_intl(line).into(),
            BleuTokenizer::None => line.into(),
        }
    }
}

impl fmt::Display for BleuTokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BleuTokenizer {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "13a" => Ok(BleuTokenizer::Thirteen),
            "intl" => Ok(BleuTokenizer::Intl),
            "none" => Ok(BleuTokenizer::None),
            _ => Err(format!("unknown tokenizer {s:?} (expected 13a, intl or none)")),
        }
    }
}
