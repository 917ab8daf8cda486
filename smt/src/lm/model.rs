//! The content of an ARPA file held in memory: every n-gram with its log10 probability and
//! log10 backoff, order by order.
//!
//! Estimation produces an [`NgramModel`]; the ARPA writer prints one, the ARPA reader
//! builds one, and the query model ([`super::query::LanguageModel`]) is compiled from one.

/// The n-grams of one order.
#[derive(Debug, Clone, Default)]
pub struct NgramOrder {
    /// The order `n` of every n-gram here.
    pub n: usize,
    /// Word ids, `n` per n-gram, oldest word first.
    pub words: Vec<u32>,
    /// log10 probability of each n-gram.
    pub prob: Vec<f32>,
    /// log10 backoff of each n-gram (0 where the ARPA line had none). Empty for the
    /// highest order, which has no backoff column.
    pub backoff: Vec<f32>,
    /// The 1-based line of the section's first n-gram in the ARPA file it was read from
    /// (0 when the section was not read from a file); n-gram `i` is on line
    /// `first_line + i`, since a section has no blank lines.
    pub first_line: usize,
}

/// Two sections are equal when they hold the same n-grams and values, wherever they
/// were read from ([`NgramOrder::first_line`] is not compared).
impl PartialEq for NgramOrder {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n
            && self.words == other.words
            && self.prob == other.prob
            && self.backoff == other.backoff
    }
}

impl NgramOrder {
    /// An empty section of order `n`.
    pub fn new(n: usize) -> Self {
        Self { n, ..Self::default() }
    }

    /// Number of n-grams.
    pub fn len(&self) -> usize {
        self.prob.len()
    }

    /// True when the section holds no n-gram.
    pub fn is_empty(&self) -> bool {
        self.prob.is_empty()
    }

    /// The word ids of the `i`-th n-gram.
    pub fn gram(&self, i: usize) -> &[u32] {
        &self.words[i * self.n..(i + 1) * self.n]
    }
}

/// A backoff n-gram language model as an ARPA file states it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NgramModel {
    /// The words; a word's id is its position. Unigram `i` of `orders[0]` is word `i`.
    pub vocab: Vec<String>,
    /// `orders[n - 1]` holds the n-grams of order `n`.
    pub orders: Vec<NgramOrder>,
}

impl NgramModel {
    /// The highest order.
    pub fn order(&self) -> usize {
        self.orders.len()
    }

    /// The id of `word`, by linear search (for tests and small tools; the query model has
    /// a hash table).
    pub fn find_word(&self, word: &str) -> Option<u32> {
        self.vocab.iter().position(|w| w == word).map(|i| i as u32)
    }
}
