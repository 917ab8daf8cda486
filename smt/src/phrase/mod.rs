//! Phrase-based translation models: extraction of phrase pairs from word-aligned
//! sentence pairs, their scores, and the phrase table that stores them.
//!
//! - [`extract`]: every phrase pair consistent with the word alignment (Koehn, Och and
//!   Marcu 2003; Och and Ney 2004), with orientations for lexicalized reordering.
//! - [`score`]: relative frequencies and lexical weights (Koehn et al. 2003) in the four
//!   Moses columns, and msd-bidirectional-fe reordering probabilities (Koehn et al. 2005).
//! - [`table`]: the table in memory, the Moses text format (gzip) and a binary form.

pub mod extract;
pub mod score;
pub mod table;

/// A word alignment point: (source position, target position), both 0-based.
pub type AlignPoint = (u16, u16);
