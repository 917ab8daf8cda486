//! The joint subword vocabulary: byte-level BPE (Sennrich et al., 2016, "Neural Machine
//! Translation of Rare Words with Subword Units"; byte-level variant of Radford et al.,
//! 2019) learned on both sides of the training text with HF `tokenizers`.
//!
//! Byte-level BPE has no unknown token: every input byte maps to one of 256 base symbols,
//! so no character can crash encoding, and decoding inverts encoding exactly. An empty
//! line encodes to no tokens and decodes back to the empty line.

use std::path::Path;

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{NmtError, Result};
use crate::normalize::Normalization;

/// Id of the padding symbol.
pub const PAD: u32 = 0;
/// Id of the begin-of-sentence symbol (first decoder input).
pub const BOS: u32 = 1;
/// Id of the end-of-sentence symbol.
pub const EOS: u32 = 2;
/// The special symbols, in id order.
pub const SPECIALS: [&str; 3] = ["<pad>", "<s>", "</s>"];

/// A learned joint subword vocabulary plus the normalization applied before it.
pub struct SubwordVocab {
    tokenizer: Tokenizer,
    normalization: Normalization,
}

fn tok_err(e: impl std::fmt::Display) -> NmtError {
    NmtError::Tokenizer(e.to_string())
}

fn byte_level() -> ByteLevel {
    ByteLevel::default().add_prefix_space(false).trim_offsets(false)
}

impl SubwordVocab {
    /// Learns a vocabulary of at most `vocab_size` symbols (specials included) from
    /// `lines`, which are normalized first.
    pub fn learn<'a>(
        lines: impl Iterator<Item = &'a str>,
        vocab_size: usize,
        normalization: Normalization,
    ) -> Result<Self> {
        if vocab_size < 256 + SPECIALS.len() + 1 {
            return Err(NmtError::InvalidSetting(format!(
                "vocabulary size {vocab_size} is below the 260 symbols byte-level BPE needs"
            )));
        }
        let mut tokenizer = Tokenizer::new(BPE::default());
        tokenizer.with_pre_tokenizer(Some(byte_level()));
        tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
        let specials = SPECIALS.iter().map(|s| AddedToken::from(s.to_string(), true)).collect();
        let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
            .vocab_size(vocab_size)
            .min_frequency(2)
            .show_progress(false)
            .special_tokens(specials)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build()
            .into();
        let normalized: Vec<String> = lines.map(|l| normalization.apply(l)).collect();
        tokenizer.train(&mut trainer, normalized.iter()).map_err(tok_err)?;
        for (id, name) in SPECIALS.iter().enumerate() {
            if tokenizer.token_to_id(name) != Some(id as u32) {
                return Err(NmtError::Tokenizer(format!("special symbol {name} is not id {id}")));
            }
        }
        Ok(SubwordVocab { tokenizer, normalization })
    }

    /// Loads `tokenizer.json` written by [`SubwordVocab::to_json`].
    pub fn load(path: &Path, normalization: Normalization) -> Result<Self> {
        let tokenizer = Tokenizer::from_file(path)
            .map_err(|e| NmtError::BadModel { path: path.to_path_buf(), message: e.to_string() })?;
        Ok(SubwordVocab { tokenizer, normalization })
    }

    /// The tokenizer in HF `tokenizer.json` form.
    pub fn to_json(&self) -> Result<String> {
        self.tokenizer.to_string(true).map_err(tok_err)
    }

    /// The number of symbols.
    pub fn size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// The normalization applied before encoding.
    pub fn normalization(&self) -> Normalization {
        self.normalization
    }

    /// Normalizes and encodes one line into subword ids (no BOS/EOS added).
    pub fn encode(&self, line: &str) -> Result<Vec<u32>> {
        let text = self.normalization.apply(line);
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let enc = self.tokenizer.encode(text.as_str(), false).map_err(tok_err)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Decodes subword ids into text, dropping special symbols.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        let ids: Vec<u32> = ids.iter().copied().filter(|&i| i >= SPECIALS.len() as u32).collect();
        if ids.is_empty() {
            return Ok(String::new());
        }
        self.tokenizer.decode(&ids, true).map_err(tok_err)
    }

    /// The subword strings of `ids` (for attention and alignment output).
    pub fn pieces(&self, ids: &[u32]) -> Vec<String> {
        ids.iter().map(|&i| self.tokenizer.id_to_token(i).unwrap_or_default()).collect()
    }

    /// For each subword of the encoding of `line`, the index of the whitespace-separated
    /// word it belongs to (used to turn subword attention into word alignments).
    pub fn word_index(&self, ids: &[u32]) -> Vec<usize> {
        let mut word = 0usize;
        let mut out = Vec::with_capacity(ids.len());
        for (k, piece) in self.pieces(ids).iter().enumerate() {
            // 'Ġ' is the byte-level symbol of a space: a new word starts with it.
            if k > 0 && piece.starts_with('\u{120}') {
                word += 1;
            }
            out.push(word);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> SubwordVocab {
        let lines = ["ein hund läuft", "zwei katzen", "ein baum", "a dog runs"];
        SubwordVocab::learn(lines.iter().copied(), 300, Normalization::None).unwrap()
    }

    #[test]
    fn round_trip_is_exact_even_for_unseen_characters() {
        let v = toy();
        for line in ["ein hund", "", "  two  spaces ", "ratio\u{fe30}2 \u{149} \u{ff12}", "😀\t×"]
        {
            let ids = v.encode(line).unwrap();
            assert_eq!(v.decode(&ids).unwrap(), line);
        }
        assert!(v.encode("").unwrap().is_empty());
    }

    #[test]
    fn word_index_follows_spaces() {
        let v = toy();
        let ids = v.encode("ein hund läuft").unwrap();
        let w = v.word_index(&ids);
        assert_eq!(w.first(), Some(&0));
        assert_eq!(w.last(), Some(&2));
    }
}
