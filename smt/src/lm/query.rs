//! Scoring words with a backoff n-gram model (Katz 1987 backoff, as KenLM's probing model
//! scores it: Heafield 2011, "KenLM: Faster and Smaller Language Model Queries").
//!
//! p(w | h) is the probability of the longest n-gram `g` ending in `w` that the model holds,
//! times the backoffs of the contexts of h longer than g's. A [`State`] carries the
//! context words, most recent first, with their backoffs, and keeps only the words that can
//! still matter: a suffix that no longer n-gram extends and whose backoff is 0 is dropped,
//! so decoder hypotheses whose states compare equal score every continuation equally and
//! can be recombined. An order-1 model always has the empty state.
//!
//! [`LanguageModel::score_words`] scores a whole sentence at once with the same results,
//! faster, because it starts loading the table slots of the next word early.
//!
//! Storage: unigrams in an array indexed by word id; each higher order in a flat
//! open-addressing table (linear probing, load ≤ 2/3) of 64-bit hashes of the n-gram, built
//! from the predicted word back through its context so a query extends the hash one
//! context word at a time. Only the hash is stored, as KenLM's probing model does; two
//! n-grams with the same 64-bit hash would be reported as a duplicate when the model is
//! built.
//!
//! ```
//! use smt::lm::{LanguageModel, NgramModel, read_arpa};
//! let arpa = "\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1\t<unk>\t0\n\
//!             0\t<s>\t-0.3\n-0.6\t</s>\t0\n-0.5\ta\t-0.1\n\n\\2-grams:\n\
//!             -0.2\t<s> a\n-0.4\ta </s>\n\n\\end\\\n";
//! let model: NgramModel = read_arpa(arpa.as_bytes(), "example", &mut |_| {}).unwrap();
//! let lm = LanguageModel::from_ngrams(&model).unwrap();
//! let a = lm.vocab_id("a");
//! let start = lm.begin_sentence_state();
//! let (p_a, after_a) = lm.score_word(&start, a);
//! assert_eq!(p_a, -0.2);
//! let p_end = lm.score_end(&after_a);
//! assert_eq!(p_end, -0.4);
//! // An unknown word is <unk>; its state is empty, so what follows backs off fully.
//! let (p_unk, after_unk) = lm.score_word(&after_a, lm.vocab_id("zebra"));
//! assert!((p_unk - (-1.1)).abs() < 1e-6);
//! assert_eq!(after_unk, lm.null_context_state());
//! ```

use std::hash::{Hash, Hasher};
use std::path::Path;

use std::hash::BuildHasher;

use super::model::NgramModel;
use super::{LmError, LmWarning};

/// The highest order the query model supports (KenLM's default build has the same limit).
// LIMITATION: models above order 6 are refused by the query model (estimation has no such cap).
pub const MAX_ORDER: usize = 6;

/// The stored backoff of an n-gram that no longer n-gram extends and whose backoff is 0:
/// negative zero, which adds like 0 but marks "drop from the state".
const NO_EXTENSION: u32 = 0x8000_0000;

fn has_extension(backoff: f32) -> bool {
    backoff.to_bits() != NO_EXTENSION
}

/// The context a word is scored in: up to N−1 words, most recent first.
#[derive(Debug, Clone, Copy)]
pub struct State {
    words: [u32; MAX_ORDER - 1],
    backoff: [f32; MAX_ORDER - 1],
    len: u8,
}

impl State {
    const EMPTY: State = State { words: [0; MAX_ORDER - 1], backoff: [0.0; MAX_ORDER - 1], len: 0 };

    /// The context words, most recent first.
    pub fn words(&self) -> &[u32] {
        &self.words[..self.len as usize]
    }

    /// Number of context words kept.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True for the empty context.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl PartialEq for State {
    fn eq(&self, other: &Self) -> bool {
        self.words() == other.words()
    }
}

impl Eq for State {}

impl Hash for State {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.words().hash(state);
    }
}

/// The score of one word.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WordScore {
    /// log10 p(word | context).
    pub log10p: f32,
    /// Length of the longest n-gram of the model that matched (1 = unigram).
    pub ngram_len: u8,
}

/// One slot of a probing table.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: u64,
    pub(crate) prob: f32,
    pub(crate) backoff: f32,
}

/// A flat open-addressing hash table from 64-bit n-gram hashes to (prob, backoff).
#[derive(Debug, Clone, Default)]
pub(crate) struct ProbingTable {
    pub(crate) slots: Vec<Entry>,
}

impl ProbingTable {
    fn with_entries(n: usize) -> Self {
        let cap = (n + n / 2 + 1).max(2);
        Self { slots: vec![Entry::default(); cap] }
    }

    #[inline]
    fn start(&self, key: u64) -> usize {
        ((key as u128 * self.slots.len() as u128) >> 64) as usize
    }

    /// Inserts; false when the key was already there.
    fn insert(&mut self, e: Entry) -> bool {
        let mut i = self.start(e.key);
        loop {
            let slot = &mut self.slots[i];
            if slot.key == 0 {
                *slot = e;
                return true;
            }
            if slot.key == e.key {
                return false;
            }
            i += 1;
            if i == self.slots.len() {
                i = 0;
            }
        }
    }

    #[inline]
    fn first_key(&self, key: u64) -> u64 {
        self.slots[self.start(key)].key
    }

    #[inline]
    fn first_slot(&self, key: u64) -> &Entry {
        &self.slots[self.start(key)]
    }

    #[inline]
    fn find(&self, key: u64) -> Option<&Entry> {
        let mut i = self.start(key);
        loop {
            let slot = &self.slots[i];
            if slot.key == key {
                return Some(slot);
            }
            if slot.key == 0 {
                return None;
            }
            i += 1;
            if i == self.slots.len() {
                i = 0;
            }
        }
    }

    fn find_mut(&mut self, key: u64) -> Option<&mut Entry> {
        let mut i = self.start(key);
        loop {
            if self.slots[i].key == key {
                return Some(&mut self.slots[i]);
            }
            if self.slots[i].key == 0 {
                return None;
            }
            i += 1;
            if i == self.slots.len() {
                i = 0;
            }
        }
    }
}

/// Hash of the 1-word sequence `w` (the predicted word): one multiplication, since the
/// table index is taken from the high bits of a further product (`start`).
#[inline]
fn hash_word(w: u32) -> u64 {
    (u64::from(w) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Extends a hash by one more context word to the left; never 0 (the empty slot). Short
/// on purpose: the probe cannot start before the hash is known.
#[inline]
fn extend_hash(h: u64, w: u32) -> u64 {
    let x = (h.rotate_left(29) ^ (u64::from(w) + 1)).wrapping_mul(0xd6e8_feb8_6659_fd93);
    let x = x ^ (x >> 32);
    x | u64::from(x == 0)
}

/// The hash of an n-gram given oldest word first.
fn hash_gram(words: &[u32]) -> u64 {
    let (last, context) = words.split_last().expect("non-empty n-gram");
    context.iter().rev().fold(hash_word(*last), |h, &w| extend_hash(h, w))
}

/// Word to id, as KenLM's probing vocabulary does it: a flat table of 64-bit hashes of the
/// words. Only the hash is compared, so an unknown word whose 64-bit hash equals a known
/// word's would take that word's id (odds about 1e-15 per lookup for 10^4 words).
#[derive(Debug, Clone)]
pub(crate) struct WordIndex {
    hasher: hashbrown::DefaultHashBuilder,
    slots: Vec<(u64, u32)>,
}

impl WordIndex {
    pub(crate) fn new(words: &[String]) -> Self {
        let hasher = hashbrown::DefaultHashBuilder::default();
        let mut slots = vec![(0u64, 0u32); (2 * words.len()).max(4)];
        for (id, w) in words.iter().enumerate() {
            let h = Self::hash_with(&hasher, w);
            let mut i = Self::start(h, slots.len());
            while slots[i].0 != 0 {
                i = if i + 1 == slots.len() { 0 } else { i + 1 };
            }
            slots[i] = (h, id as u32);
        }
        Self { hasher, slots }
    }

    #[inline]
    fn hash_with(hasher: &hashbrown::DefaultHashBuilder, word: &str) -> u64 {
        let h = hasher.hash_one(word.as_bytes());
        h | u64::from(h == 0)
    }

    #[inline]
    fn start(h: u64, len: usize) -> usize {
        ((u128::from(h) * len as u128) >> 64) as usize
    }

    #[inline]
    pub(crate) fn get(&self, word: &str) -> Option<u32> {
        let h = Self::hash_with(&self.hasher, word);
        let mut i = Self::start(h, self.slots.len());
        loop {
            let (k, id) = self.slots[i];
            if k == h {
                return Some(id);
            }
            if k == 0 {
                return None;
            }
            i = if i + 1 == self.slots.len() { 0 } else { i + 1 };
        }
    }
}

/// A language model ready for scoring.
#[derive(Debug, Clone)]
pub struct LanguageModel {
    pub(crate) order: usize,
    pub(crate) words: Vec<String>,
    pub(crate) index: WordIndex,
    /// (log10 prob, log10 backoff) per word id.
    pub(crate) unigrams: Vec<(f32, f32)>,
    /// `tables[k]` holds order k + 2.
    pub(crate) tables: Vec<ProbingTable>,
    pub(crate) unk: u32,
    pub(crate) bos: u32,
    pub(crate) eos: u32,
    pub(crate) warnings: Vec<LmWarning>,
}

impl LanguageModel {
    /// Loads an ARPA file (plain or gzipped) or a binary model written by
    /// [`super::binary::save`], telling them apart by content.
    pub fn load(path: &Path) -> Result<Self, LmError> {
        use std::io::BufRead;
        let name = path.display().to_string();
        let read_error = |source| LmError::Read { path: name.clone(), source };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut input = std::io::BufReader::with_capacity(1 << 16, file);
        let head = input.fill_buf().map_err(read_error)?;
        if head.starts_with(super::binary::MAGIC) {
            return super::binary::from_reader(&mut input, &name);
        }
        let gzipped = head.starts_with(b"\x1f\x8b");
        let mut warnings = Vec::new();
        let model = if gzipped {
            let gz = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(input));
            super::arpa::read_arpa(gz, &name, &mut |w| warnings.push(w))?
        } else {
            super::arpa::read_arpa(input, &name, &mut |w| warnings.push(w))?
        };
        let mut lm = Self::from_ngrams(&model).map_err(|e| match e {
            LmError::DuplicateNgram { gram, line } if line > 0 => LmError::Arpa {
                path: name.clone(),
                line,
                message: format!("duplicate {}-gram \"{}\"", gram.len(), gram.join(" ")),
            },
            other => other,
        })?;
        lm.warnings = warnings;
        Ok(lm)
    }

    /// Compiles an in-memory ARPA model for scoring.
    pub fn from_ngrams(model: &NgramModel) -> Result<Self, LmError> {
        let order = model.order();
        if order == 0 || order > MAX_ORDER {
            return Err(LmError::QueryOrder { order });
        }
        let find = |w: &str| model.find_word(w).ok_or(LmError::MissingSpecial { word: w.into() });
        let unk = find("<unk>")?;
        let bos = find("<s>")?;
        let eos = find("</s>")?;
        let uni = &model.orders[0];
        let mut unigrams = vec![(0.0f32, f32::from_bits(NO_EXTENSION)); model.vocab.len()];
        for i in 0..uni.len() {
            let b = if order > 1 { uni.backoff[i] } else { 0.0 };
            unigrams[uni.words[i] as usize] = (uni.prob[i], b);
        }
        let mut unigram_extends = vec![false; model.vocab.len()];
        let mut tables = Vec::new();
        for o in &model.orders[1..] {
            let mut t = ProbingTable::with_entries(o.len());
            for i in 0..o.len() {
                let g = o.gram(i);
                let backoff = if o.n < order { o.backoff[i] } else { 0.0 };
                let e = Entry { key: hash_gram(g), prob: o.prob[i], backoff };
                if !t.insert(e) {
                    return Err(LmError::DuplicateNgram {
                        gram: g.iter().map(|&w| model.vocab[w as usize].clone()).collect(),
                        line: if o.first_line > 0 { o.first_line + i } else { 0 },
                    });
                }
            }
            tables.push(t);
        }
        // Mark every n-gram that is the context (prefix) of a longer one.
        for o in &model.orders[1..] {
            for i in 0..o.len() {
                let g = o.gram(i);
                let prefix = &g[..g.len() - 1];
                if prefix.len() == 1 {
                    unigram_extends[prefix[0] as usize] = true;
                } else if let Some(e) = tables[prefix.len() - 2].find_mut(hash_gram(prefix)) {
                    mark(e);
                }
            }
        }
        for (w, u) in unigrams.iter_mut().enumerate() {
            if order == 1 || (!unigram_extends[w] && u.1 == 0.0) {
                u.1 = f32::from_bits(NO_EXTENSION);
            }
        }
        for (k, t) in tables.iter_mut().enumerate() {
            let top = k + 2 == order;
            for e in t.slots.iter_mut().filter(|e| e.key != 0) {
                finish(e, top);
            }
        }
        let index = WordIndex::new(&model.vocab);
        Ok(Self {
            order,
            words: model.vocab.clone(),
            index,
            unigrams,
            tables,
            unk,
            bos,
            eos,
            warnings: Vec::new(),
        })
    }

    /// The order N.
    pub fn order(&self) -> usize {
        self.order
    }

    /// Number of words, `<unk>`, `<s>` and `</s>` included.
    pub fn vocab_len(&self) -> usize {
        self.words.len()
    }

    /// The id of `word`, or the id of `<unk>` when the model does not know it.
    #[inline]
    pub fn vocab_id(&self, word: &str) -> u32 {
        self.index.get(word).unwrap_or(self.unk)
    }

    /// The id of `word`, or `None` when it is out of vocabulary.
    pub fn lookup(&self, word: &str) -> Option<u32> {
        self.index.get(word)
    }

    /// The word with id `id`.
    pub fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }

    /// The id of `<unk>`.
    pub fn unk_id(&self) -> u32 {
        self.unk
    }

    /// The id of `<s>`.
    pub fn begin_sentence_id(&self) -> u32 {
        self.bos
    }

    /// The id of `</s>`.
    pub fn end_sentence_id(&self) -> u32 {
        self.eos
    }

    /// Warnings met while loading (a missing `<unk>`).
    pub fn warnings(&self) -> &[LmWarning] {
        &self.warnings
    }

    /// The state at the start of a sentence: the context `<s>`.
    pub fn begin_sentence_state(&self) -> State {
        let mut s = State::EMPTY;
        if self.order > 1 {
            let b = self.unigrams[self.bos as usize].1;
            s.words[0] = self.bos;
            s.backoff[0] = b;
            s.len = u8::from(has_extension(b));
        }
        s
    }

    /// The empty context (no sentence start).
    pub fn null_context_state(&self) -> State {
        State::EMPTY
    }

    /// log10 p(word | state) and the state after the word.
    #[inline]
    pub fn score_word(&self, state: &State, word: u32) -> (f32, State) {
        let (s, next) = self.score_word_full(state, word);
        (s.log10p, next)
    }

    /// log10 p(`</s>` | state): the cost of ending the sentence here.
    pub fn score_end(&self, state: &State) -> f32 {
        self.score_word(state, self.eos).0
    }

    /// The score of `word` after `state` with the length of the n-gram that matched, and
    /// the state after the word.
    #[inline]
    pub fn score_word_full(&self, state: &State, word: u32) -> (WordScore, State) {
        let mut keys = [0u64; MAX_ORDER - 1];
        let mut h = hash_word(word);
        for (key, &w) in keys.iter_mut().zip(state.words()) {
            h = extend_hash(h, w);
            *key = h;
        }
        self.score_keyed(state, word, &keys)
    }

    /// [`Self::score_word_full`] given the hashes of `word` with 1, 2, ... words of the
    /// state's context (at least `state.len()` of them).
    #[inline]
    fn score_keyed(
        &self,
        state: &State,
        word: u32,
        keys: &[u64; MAX_ORDER - 1],
    ) -> (WordScore, State) {
        let (mut prob, b) = self.unigrams[word as usize];
        let mut out = State::EMPTY;
        out.words[0] = word;
        out.backoff[0] = b;
        let mut out_len = u8::from(self.order > 1 && has_extension(b));
        let mut matched = 1usize;
        // Hash every context length first and load each table's first slot before
        // probing: the loads do not depend on one another, so their cache misses overlap.
        let len = state.len as usize;
        let mut first = [0u64; MAX_ORDER - 1];
        for ((f, &key), table) in first.iter_mut().zip(&keys[..len]).zip(&self.tables) {
            *f = table.first_key(key);
        }
        // LIMITATION: the search stops at the first missing order, so an ARPA file that
        // holds an n-gram without its suffix (not written by lmplz or SRILM) loses it.
        for k in 0..len {
            let e = if first[k] == keys[k] {
                self.tables[k].first_slot(keys[k])
            } else if first[k] == 0 {
                break;
            } else {
                match self.tables[k].find(keys[k]) {
                    Some(e) => e,
                    None => break,
                }
            };
            prob = e.prob;
            matched = k + 2;
            if matched < self.order {
                out.words[k + 1] = state.words[k];
                out.backoff[k + 1] = e.backoff;
                if has_extension(e.backoff) {
                    out_len = matched as u8;
                }
            }
        }
        for &b in &state.backoff[matched - 1..state.len as usize] {
            prob += b;
        }
        out.len = out_len;
        (WordScore { log10p: prob, ngram_len: matched as u8 }, out)
    }

    /// Scores `words` one after the other from `state`, pushing each word's score onto
    /// `scores`, and returns the state after the last word. The result is exactly that of
    /// calling [`Self::score_word_full`] word by word, only faster: while one word is
    /// scored, the table slots the next word will probe are already being loaded.
    pub fn score_words(&self, state: &State, words: &[u32], scores: &mut Vec<WordScore>) -> State {
        let initial = *state;
        let mut state = initial;
        let mut keys = [0u64; MAX_ORDER - 1];
        if let Some(&w) = words.first() {
            keys = self.hash_contexts(w, &[], &initial);
        }
        for (i, &w) in words.iter().enumerate() {
            let next_keys = match words.get(i + 1) {
                Some(&next) => {
                    let k = self.hash_contexts(next, &words[..i + 1], &initial);
                    self.touch_slots(&k);
                    k
                }
                None => keys,
            };
            let (score, after) = self.score_keyed(&state, w, &keys);
            scores.push(score);
            state = after;
            keys = next_keys;
        }
        state
    }

    /// The hashes of `word` after 1, 2, ... words of its context: `before` (the sentence
    /// so far, most recent last), then the words of the sentence's initial `state`.
    #[inline]
    fn hash_contexts(&self, word: u32, before: &[u32], state: &State) -> [u64; MAX_ORDER - 1] {
        let mut keys = [0u64; MAX_ORDER - 1];
        let mut h = hash_word(word);
        let context = before.iter().rev().chain(state.words().iter());
        for (key, &w) in keys.iter_mut().take(self.order - 1).zip(context) {
            h = extend_hash(h, w);
            *key = h;
        }
        keys
    }

    /// Loads the first slot each table will be probed at for `keys`.
    #[inline]
    fn touch_slots(&self, keys: &[u64; MAX_ORDER - 1]) {
        let mut touched = 0;
        for (table, &key) in self.tables.iter().zip(keys) {
            if key != 0 {
                touched ^= table.first_key(key);
            }
        }
        std::hint::black_box(touched);
    }

    /// log10 probability of a whole sentence of ids, `</s>` included, from `<s>`.
    pub fn score_sentence(&self, words: &[u32]) -> f32 {
        let mut state = self.begin_sentence_state();
        let mut total = 0.0f32;
        for &w in words {
            let (p, next) = self.score_word(&state, w);
            total += p;
            state = next;
        }
        total + self.score_end(&state)
    }
}

/// Marks a table entry as the context of a longer n-gram (kept in the state).
fn mark(e: &mut Entry) {
    // The extension flag travels in the backoff: any value other than negative zero means
    // "keep". A zero backoff becomes positive zero here, and [`finish`] turns unmarked
    // zeros into negative zero.
    if e.backoff == 0.0 {
        e.backoff = f32::from_bits(MARKED_ZERO);
    }
}

/// A temporary bit pattern for "zero backoff, marked" used while building.
const MARKED_ZERO: u32 = 0x0000_0001;

fn finish(e: &mut Entry, top: bool) {
    if top {
        e.backoff = f32::from_bits(NO_EXTENSION);
    } else if e.backoff.to_bits() == MARKED_ZERO {
        e.backoff = 0.0;
    } else if e.backoff == 0.0 {
        e.backoff = f32::from_bits(NO_EXTENSION);
    }
}

#[cfg(test)]
// -0.30103 below is a value as KenLM prints it, not an approximation of log10(2).
#[allow(clippy::approx_constant)]
mod tests {
    use super::super::arpa::read_arpa;
    use super::*;

    const TOY0: &str = include_str!("../../../tests/fixtures/kenlm/toy0.arpa");

    fn toy0() -> LanguageModel {
        let m = read_arpa(TOY0.as_bytes(), "toy0", &mut |_| {}).unwrap();
        LanguageModel::from_ngrams(&m).unwrap()
    }

    #[test]
    fn scores_follow_backoff() {
        let lm = toy0();
        let (a, b) = (lm.vocab_id("a"), lm.vocab_id("b"));
        let s0 = lm.begin_sentence_state();
        let (p, s1) = lm.score_word_full(&s0, a);
        assert_eq!((p.log10p, p.ngram_len), (-0.37712017, 2));
        let (p, s2) = lm.score_word_full(&s1, a);
        assert_eq!((p.log10p, p.ngram_len), (-0.14885087, 3));
        // "a a a": no trigram "a a a", no bigram... "a a" exists: p(a|a) + bo(a a).
        let (p, _) = lm.score_word_full(&s2, a);
        assert_eq!(p.ngram_len, 2);
        assert!((p.log10p - (-0.37712017 + -0.30103)).abs() < 1e-6);
        let (p, _) = lm.score_word_full(&s2, b);
        assert_eq!(p.log10p, -0.20102891);
    }

    #[test]
    fn state_drops_what_cannot_matter() {
        let lm = toy0();
        let s0 = lm.begin_sentence_state();
        let (_, s) = lm.score_word(&s0, lm.eos);
        // `</s>` has no extension and backoff 0: the state is empty.
        assert!(s.is_empty());
        let (_, s) = lm.score_word(&s0, lm.vocab_id("a"));
        assert_eq!(s.words(), &[lm.vocab_id("a"), lm.bos]);
    }

    #[test]
    fn hashing_spreads_keys() {
        let mut t = ProbingTable::with_entries(1000);
        for a in 0..10u32 {
            for b in 0..100u32 {
                assert!(t.insert(Entry { key: hash_gram(&[a, b]), prob: -1.0, backoff: 0.0 }));
            }
        }
        assert!(t.find(hash_gram(&[3, 7])).is_some());
        assert!(t.find(hash_gram(&[7, 3, 1])).is_none());
    }
}
