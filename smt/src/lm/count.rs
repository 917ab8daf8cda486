//! Step 1 of estimation: words to ids and the counts of the highest-order n-grams.
//!
//! As lmplz does (lm/builder/corpus_count.cc), every sentence is padded with N−1 `<s>` on
//! the left and one `</s>` on the right, and only N-grams are counted; the lower orders
//! come from them in [`super::adjust`]. Ids follow lmplz: `<unk>` = 0, `<s>` = 1,
//! `</s>` = 2, then words in order of first appearance.
//!
//! An n-gram is packed into a `u128` key, its oldest word in the most significant bits, so
//! that sorting keys sorts n-grams and dropping the top word gives the suffix. Counting is
//! a radix sort of the keys followed by a run-length pass.

use rayon::prelude::*;

use super::LmError;
use crate::vocab::Vocab;

/// Id of `<unk>`.
pub const UNK: u32 = 0;
/// Id of `<s>`.
pub const BOS: u32 = 1;
/// Id of `</s>`.
pub const EOS: u32 = 2;

/// A literal special token met in training text (lmplz refuses those).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "special token {token} is not allowed in LM training text \
     (pass --skip-symbols to treat <s>, </s> and <unk> as whitespace)"
)]
pub struct SpecialTokenError {
    /// The token, `<s>`, `</s>` or `<unk>`.
    pub token: String,
}

/// The training text as word ids, each sentence followed by `</s>`.
#[derive(Debug, Clone)]
pub struct Corpus {
    vocab: Vocab,
    tokens: Vec<u32>,
    sentences: usize,
    skip_symbols: bool,
    skipped: u64,
}

impl Corpus {
    /// An empty corpus. With `skip_symbols`, literal `<s>`, `</s>` and `<unk>` are dropped
    /// (treated as whitespace) instead of being an error.
    pub fn new(skip_symbols: bool) -> Self {
        let mut vocab = Vocab::new();
        for special in ["<unk>", "<s>", "</s>"] {
            vocab.intern(special);
        }
        Self { vocab, tokens: Vec::new(), sentences: 0, skip_symbols, skipped: 0 }
    }

    /// Adds one sentence given as its tokens.
    pub fn add_sentence<'a, I>(&mut self, words: I) -> Result<(), SpecialTokenError>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let start = self.tokens.len();
        for word in words {
            let id = self.vocab.intern(word);
            if id <= EOS {
                if self.skip_symbols {
                    self.skipped += 1;
                    continue;
                }
                self.tokens.truncate(start);
                return Err(SpecialTokenError { token: word.to_owned() });
            }
            self.tokens.push(id);
        }
        self.tokens.push(EOS);
        self.sentences += 1;
        Ok(())
    }

    /// The vocabulary (ids as in the model).
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Number of sentences added.
    pub fn sentences(&self) -> usize {
        self.sentences
    }

    /// Number of words added, `</s>` not included.
    pub fn words(&self) -> usize {
        self.tokens.len() - self.sentences
    }

    /// How many literal special tokens were dropped under `skip_symbols`.
    pub fn skipped_symbols(&self) -> u64 {
        self.skipped
    }

    /// Counts the padded `order`-grams.
    pub fn count(&self, order: usize) -> Result<RawCounts, LmError> {
        if self.sentences == 0 {
            return Err(LmError::EmptyCorpus);
        }
        let bits = key_bits(self.vocab.len());
        if order == 0 || bits as usize * order > 128 {
            return Err(LmError::OrderTooLarge { order, vocab: self.vocab.len() });
        }
        let mask = key_mask(bits, order);
        let mut start_key = 0u128;
        for _ in 1..order {
            start_key = (start_key << bits) | BOS as u128;
        }
        // Cut the token stream into chunks at sentence ends, one rolling key per chunk.
        let chunk_len =
            (self.tokens.len() / (4 * rayon::current_num_threads()).max(1)).max(1 << 16);
        let mut bounds = vec![0usize];
        let mut at = 0;
        while at < self.tokens.len() {
            let mut end = (at + chunk_len).min(self.tokens.len());
            while self.tokens[end - 1] != EOS {
                end += 1;
            }
            bounds.push(end);
            at = end;
        }
        // Key i is the N-gram ending at token i: fill each chunk's slice in parallel.
        let mut keys = vec![0u128; self.tokens.len()];
        let mut pieces = Vec::with_capacity(bounds.len());
        let mut rest = &mut keys[..];
        for w in bounds.windows(2) {
            let (piece, tail) = rest.split_at_mut(w[1] - w[0]);
            pieces.push((&self.tokens[w[0]..w[1]], piece));
            rest = tail;
        }
        pieces.into_par_iter().for_each(|(tokens, out)| {
            let mut key = start_key;
            for (&t, slot) in tokens.iter().zip(out.iter_mut()) {
                let gram = ((key << bits) | t as u128) & mask;
                *slot = gram;
                key = if t == EOS { start_key } else { gram };
            }
        });
        super::radix_sort::sort_u128(&mut keys, bits * order as u32);
        let (keys, counts) = run_lengths(keys);
        Ok(RawCounts { order, bits, keys, counts })
    }
}

/// Padded N-grams (leading `<s>` repeated as lmplz pads) with their raw counts, sorted.
#[derive(Debug, Clone)]
pub struct RawCounts {
    /// The order N.
    pub order: usize,
    /// Bits per word in a key.
    pub bits: u32,
    /// Distinct keys, ascending.
    pub keys: Vec<u128>,
    /// Count of each key.
    pub counts: Vec<u64>,
}

/// Bits needed for a word id of a vocabulary of `size` words.
pub fn key_bits(size: usize) -> u32 {
    (usize::BITS - (size.max(2) - 1).leading_zeros()).max(1)
}

/// The mask of the low `order` words of a key.
pub fn key_mask(bits: u32, order: usize) -> u128 {
    let width = bits as usize * order;
    if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    }
}

/// Word `i` (0 = oldest) of an `n`-gram key.
pub fn key_word(key: u128, bits: u32, n: usize, i: usize) -> u32 {
    ((key >> (bits as usize * (n - 1 - i))) & ((1u128 << bits) - 1)) as u32
}

/// Collapses a sorted vector into distinct values and their multiplicities.
pub fn run_lengths(sorted: Vec<u128>) -> (Vec<u128>, Vec<u64>) {
    let mut keys = sorted;
    let mut counts = Vec::new();
    let mut w = 0;
    let mut r = 0;
    while r < keys.len() {
        let k = keys[r];
        let mut e = r + 1;
        while e < keys.len() && keys[e] == k {
            e += 1;
        }
        keys[w] = k;
        counts.push((e - r) as u64);
        w += 1;
        r = e;
    }
    keys.truncate(w);
    keys.shrink_to_fit();
    (keys, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_padding_follow_lmplz() {
        let mut c = Corpus::new(false);
        c.add_sentence("a a b a".split(' ')).unwrap();
        c.add_sentence("b a a b".split(' ')).unwrap();
        assert_eq!(c.vocab().get("a"), Some(3));
        assert_eq!(c.vocab().get("b"), Some(4));
        let raw = c.count(3).unwrap();
        // 5 positions per sentence, 10 in all.
        assert_eq!(raw.counts.iter().sum::<u64>(), 10);
        let bits = raw.bits;
        let bos_bos_a = (1u128 << (2 * bits)) | (1 << bits) | 3;
        let i = raw.keys.binary_search(&bos_bos_a).unwrap();
        assert_eq!(raw.counts[i], 1);
    }

    #[test]
    fn special_tokens_are_refused_or_skipped() {
        let mut c = Corpus::new(false);
        let err = c.add_sentence("the <unk> runs".split(' ')).unwrap_err();
        assert_eq!(err.token, "<unk>");
        assert_eq!(c.sentences(), 0);
        let mut c = Corpus::new(true);
        c.add_sentence("the <unk> runs".split(' ')).unwrap();
        assert_eq!(c.skipped_symbols(), 1);
        assert_eq!(c.words(), 2);
    }

    #[test]
    fn empty_corpus_is_an_error() {
        let c = Corpus::new(false);
        assert!(matches!(c.count(3), Err(LmError::EmptyCorpus)));
    }
}
