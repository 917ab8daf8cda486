//! A vocabulary: a two-way map between words and dense `u32` ids.
//!
//! Every model in the crate works on ids; the vocabulary is saved with the model so
//! that new text maps to the same ids.

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

/// Interns words as consecutive ids starting at 0, in order of first appearance.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Vocab {
    words: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, u32>,
}

impl Vocab {
    /// An empty vocabulary.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `word`, adding it when it is new.
    pub fn intern(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.index.get(word) {
            return id;
        }
        let id = self.words.len() as u32;
        self.words.push(word.to_owned());
        self.index.insert(word.to_owned(), id);
        id
    }

    /// The id of `word`, or `None` when it was never interned.
    pub fn get(&self, word: &str) -> Option<u32> {
        self.index.get(word).copied()
    }

    /// The word with id `id`.
    ///
    /// # Panics
    /// When `id` was not handed out by this vocabulary.
    pub fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }

    /// Number of distinct words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when no word has been interned.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Rebuilds the word-to-id index; call after deserializing.
    pub fn rebuild_index(&mut self) {
        self.index = self.words.iter().enumerate().map(|(i, w)| (w.clone(), i as u32)).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_and_stable() {
        let mut v = Vocab::new();
        assert_eq!(v.intern("a"), 0);
        assert_eq!(v.intern("b"), 1);
        assert_eq!(v.intern("a"), 0);
        assert_eq!(v.word(1), "b");
        assert_eq!(v.get("c"), None);
        let bytes = bincode::serialize(&v).unwrap();
        let mut back: Vocab = bincode::deserialize(&bytes).unwrap();
        back.rebuild_index();
        assert_eq!(back.get("b"), Some(1));
    }
}
