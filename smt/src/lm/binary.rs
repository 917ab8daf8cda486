//! The binary model file: the query model's arrays as they lie in memory, loaded by one
//! sequential read straight into those arrays, with no parsing of text and no rebuilding
//! of hash tables.
//!
//! Layout, all integers little-endian:
//! - the 8-byte magic `mtlmbin2` (the version changes with the n-gram hash function);
//! - u32 order, u32 vocabulary size, u32 ids of `<unk>`, `<s>`, `</s>`;
//! - each word: u32 byte length, then its UTF-8 bytes;
//! - per word id: f32 log10 probability, f32 log10 backoff;
//! - per order 2..=N: u64 slot count, then each slot: u64 key, f32 probability, f32 backoff.

use std::io::{Read, Write};

use super::query::{Entry, LanguageModel, ProbingTable, MAX_ORDER};
use super::LmError;

/// The first bytes of a binary model.
pub const MAGIC: &[u8; 8] = b"mtlmbin2";

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
    from_reader(&mut &bytes[..], name)
}

/// Reads a binary model from `input`, straight into the model's arrays (no copy of the
/// whole file is kept); `name` is used in error messages.
pub fn from_reader<R: Read>(input: &mut R, name: &str) -> Result<LanguageModel, LmError> {
    let corrupt = |what: &str| LmError::Binary { path: name.to_owned(), message: what.to_owned() };
    let mut r = Reader { input, name };
    if r.bytes(8)? != MAGIC[..] {
        return Err(corrupt("not an mt binary language model"));
    }
    let order = r.u32()? as usize;
    let vocab = r.u32()? as usize;
    let unk = r.u32()?;
    let bos = r.u32()?;
    let eos = r.u32()?;
    if order == 0 || order > MAX_ORDER {
        return Err(corrupt(&format!("unsupported order {order}")));
    }
    if [unk, bos, eos].iter().any(|&id| id as usize >= vocab) {
        return Err(corrupt("special word ids out of range"));
    }
    let mut words = Vec::with_capacity(vocab.min(1 << 24));
    for _ in 0..vocab {
        let len = r.u32()? as usize;
        let w =
            String::from_utf8(r.bytes(len)?).map_err(|_| corrupt("a word is not valid UTF-8"))?;
        words.push(w);
    }
    let raw = r.bytes(vocab * 8)?;
    let unigrams = raw.chunks_exact(8).map(|c| (f32_at(c, 0), f32_at(c, 4))).collect();
    let mut tables = Vec::with_capacity(order - 1);
    let mut chunk = vec![0u8; 16 << 16];
    for _ in 1..order {
        let n = r.u64()? as usize;
        if n == 0 || n > (1 << 40) {
            return Err(corrupt("a hash table has an impossible size"));
        }
        let mut slots = Vec::with_capacity(n);
        let mut left = n;
        while left > 0 {
            let take = left.min(1 << 16);
            r.fill(&mut chunk[..take * 16])?;
            slots.extend(chunk[..take * 16].chunks_exact(16).map(|c| Entry {
                key: u64::from_le_bytes(c[..8].try_into().expect("8 bytes")),
                prob: f32_at(c, 8),
                backoff: f32_at(c, 12),
            }));
            left -= take;
        }
        if slots.iter().all(|e| e.key != 0) {
            return Err(corrupt("a hash table has no empty slot"));
        }
        tables.push(ProbingTable { slots });
    }
    let mut extra = [0u8; 1];
    match r.input.read(&mut extra) {
        Ok(0) => {}
        Ok(_) => return Err(corrupt("trailing bytes after the model")),
        Err(source) => return Err(LmError::Read { path: name.to_owned(), source }),
    }
    let index = super::query::WordIndex::new(&words);
    Ok(LanguageModel { order, words, index, unigrams, tables, unk, bos, eos, warnings: Vec::new() })
}

fn f32_at(c: &[u8], at: usize) -> f32 {
    f32::from_bits(u32::from_le_bytes(c[at..at + 4].try_into().expect("4 bytes")))
}

struct Reader<'a, R> {
    input: &'a mut R,
    name: &'a str,
}

impl<R: Read> Reader<'_, R> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), LmError> {
        self.input.read_exact(buf).map_err(|source| {
            if source.kind() == std::io::ErrorKind::UnexpectedEof {
                LmError::Binary {
                    path: self.name.to_owned(),
                    message: "the file is truncated".to_owned(),
                }
            } else {
                LmError::Read { path: self.name.to_owned(), source }
            }
        })
    }

    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, LmError> {
        let mut v = vec![0u8; n.min(1 << 26)];
        if n > v.len() {
            return Err(LmError::Binary {
                path: self.name.to_owned(),
                message: "a length field is impossibly large".to_owned(),
            });
        }
        self.fill(&mut v)?;
        Ok(v)
    }

    fn u32(&mut self) -> Result<u32, LmError> {
        let mut b = [0u8; 4];
        self.fill(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, LmError> {
        let mut b = [0u8; 8];
        self.fill(&mut b)?;
        Ok(u64::from_le_bytes(b))
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
