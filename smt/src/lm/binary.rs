//! The binary model file: the query model's arrays as they lie in memory, loaded with one
//! read of the file and no parsing of text or rebuilding of hash tables.
//!
//! Layout, all integers little-endian:
//! - the 8-byte magic `mtlmbin1`;
//! - u32 order, u32 vocabulary size, u32 ids of `<unk>`, `<s>`, `</s>`;
//! - each word: u32 byte length, then its UTF-8 bytes;
//! - per word id: f32 log10 probability, f32 log10 backoff;
//! - per order 2..=N: u64 slot count, then each slot: u64 key, f32 probability, f32 backoff.

use std::io::Write;

use super::query::{Entry, LanguageModel, ProbingTable, MAX_ORDER};
use super::LmError;

/// The first bytes of a binary model.
pub const MAGIC: &[u8; 8] = b"mtlmbin1";

/// Writes `lm` in the binary format.
pub fn save<W: Write>(lm: &LanguageModel, out: &mut W) -> Result<(), LmError> {
    let slots: usize = lm.tables.iter().map(|t| t.slots.len()).sum();
    let mut buf = Vec::with_capacity(64 + lm.words.len() * 16 + slots * 16);
    buf.extend_from_slice(MAGIC);
    for v in [lm.order as u32, lm.words.len() as u32, lm.unk, lm.bos, lm.eos] {
        buf.extend_from_slice(&v.to_le_bytes());
    }
    for w in &lm.words {
        buf.extend_from_slice(&(w.len() as u32).to_le_bytes());
        buf.extend_from_slice(w.as_bytes());
    }
    for &(p, b) in &lm.unigrams {
        buf.extend_from_slice(&p.to_bits().to_le_bytes());
        buf.extend_from_slice(&b.to_bits().to_le_bytes());
    }
    for t in &lm.tables {
        buf.extend_from_slice(&(t.slots.len() as u64).to_le_bytes());
        for e in &t.slots {
            buf.extend_from_slice(&e.key.to_le_bytes());
            buf.extend_from_slice(&e.prob.to_bits().to_le_bytes());
            buf.extend_from_slice(&e.backoff.to_bits().to_le_bytes());
        }
    }
    out.write_all(&buf).map_err(|source| LmError::Write { source })
}

/// Rebuilds a model from the bytes of a binary file; `name` is used in error messages.
pub fn from_bytes(bytes: &[u8], name: &str) -> Result<LanguageModel, LmError> {
    let corrupt = |what: &str| LmError::Binary { path: name.to_owned(), message: what.to_owned() };
    let mut r = Reader { bytes, at: 0 };
    if r.take(8) != Some(&MAGIC[..]) {
        return Err(corrupt("not an mt binary language model"));
    }
    let short = || corrupt("the file is truncated");
    let order = r.u32().ok_or_else(short)? as usize;
    let vocab = r.u32().ok_or_else(short)? as usize;
    let unk = r.u32().ok_or_else(short)?;
    let bos = r.u32().ok_or_else(short)?;
    let eos = r.u32().ok_or_else(short)?;
    if order == 0 || order > MAX_ORDER {
        return Err(corrupt(&format!("unsupported order {order}")));
    }
    if [unk, bos, eos].iter().any(|&id| id as usize >= vocab) {
        return Err(corrupt("special word ids out of range"));
    }
    let mut words = Vec::with_capacity(vocab);
    for _ in 0..vocab {
        let len = r.u32().ok_or_else(short)? as usize;
        let w = r.take(len).ok_or_else(short)?;
        let w = std::str::from_utf8(w).map_err(|_| corrupt("a word is not valid UTF-8"))?;
        words.push(w.to_owned());
    }
    let raw = r.take(vocab * 8).ok_or_else(short)?;
    let unigrams = raw.chunks_exact(8).map(|c| (f32_at(c, 0), f32_at(c, 4))).collect();
    let mut tables = Vec::with_capacity(order - 1);
    for _ in 1..order {
        let n = r.u64().ok_or_else(short)? as usize;
        let raw = r.take(n.checked_mul(16).ok_or_else(short)?).ok_or_else(short)?;
        let slots: Vec<Entry> = raw
            .chunks_exact(16)
            .map(|c| Entry {
                key: u64::from_le_bytes(c[..8].try_into().expect("8 bytes")),
                prob: f32_at(c, 8),
                backoff: f32_at(c, 12),
            })
            .collect();
        if slots.is_empty() || slots.iter().all(|e| e.key != 0) {
            return Err(corrupt("a hash table has no empty slot"));
        }
        tables.push(ProbingTable { slots });
    }
    if r.at != bytes.len() {
        return Err(corrupt("trailing bytes after the model"));
    }
    let index = super::query::WordIndex::new(&words);
    Ok(LanguageModel { order, words, index, unigrams, tables, unk, bos, eos, warnings: Vec::new() })
}

fn f32_at(c: &[u8], at: usize) -> f32 {
    f32::from_bits(u32::from_le_bytes(c[at..at + 4].try_into().expect("4 bytes")))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::super::arpa::read_arpa;
    use super::*;

    #[test]
    fn binary_round_trip_scores_the_same() {
        let text = include_str!("../../../tests/fixtures/kenlm/toy1.arpa");
        let m = read_arpa(text.as_bytes(), "toy1", &mut |_| {}).unwrap();
        let lm = LanguageModel::from_ngrams(&m).unwrap();
        let mut bytes = Vec::new();
        save(&lm, &mut bytes).unwrap();
        let back = from_bytes(&bytes, "mem").unwrap();
        let ids: Vec<u32> = "a b b c x".split(' ').map(|w| lm.vocab_id(w)).collect();
        assert_eq!(lm.score_sentence(&ids), back.score_sentence(&ids));
        let err = from_bytes(&bytes[..bytes.len() - 3], "mem").unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}
