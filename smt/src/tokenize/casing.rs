//! Casing of tokenized text: none, lowercasing, or truecasing.
//!
//! The truecaser learns, for each word, its most frequent spelling in positions that
//! are not the start of a sentence, as the Moses `train-truecaser.perl` does, and
//! rewrites the first word of a sentence (and unknown spellings of known words) to
//! it. [`Casing::restore`] uppercases the first letter of the output again.

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

/// A casing step for the training data and the decoder's input.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub enum Casing {
    /// Text is used as it is.
    #[default]
    Keep,
    /// Every token is lowercased (Unicode lowercase mapping).
    Lower,
    /// The first word of a sentence takes its most frequent casing.
    True(Truecaser),
}

/// A truecasing model: the best casing of each lowercased word.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Truecaser {
    best: HashMap<String, String>,
    known: hashbrown::HashSet<String>,
}

impl Truecaser {
    /// Learns the best casing of each word from tokenized sentences.
    pub fn train<'a, I>(sentences: I) -> Self
    where
        I: IntoIterator<Item = &'a [String]>,
    {
        let mut counts: HashMap<String, HashMap<String, u32>> = HashMap::new();
        for sent in sentences {
            for w in sent.iter().skip(1) {
                *counts.entry(w.to_lowercase()).or_default().entry(w.clone()).or_default() += 1;
            }
        }
        let mut best = HashMap::new();
        let mut known = hashbrown::HashSet::new();
        for (lower, forms) in counts {
            let top = forms
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(f, _)| f.clone())
                .expect("a counted word has at least one form");
            known.extend(forms.into_keys());
            best.insert(lower, top);
        }
        Self { best, known }
    }

    /// Rewrites one tokenized sentence.
    pub fn apply(&self, sent: &mut [String]) {
        let mut start = true;
        for w in sent.iter_mut() {
            let lower = w.to_lowercase();
            if start || !self.known.contains(w.as_str()) {
                if let Some(b) = self.best.get(&lower) {
                    *w = b.clone();
                }
            }
            start = false;
        }
    }
}

impl Casing {
    /// Applies the casing step to one tokenized sentence.
    pub fn apply(&self, sent: &mut [String]) {
        match self {
            Casing::Keep => {}
            Casing::Lower => {
                for w in sent.iter_mut() {
                    *w = w.to_lowercase();
                }
            }
            Casing::True(tc) => tc.apply(sent),
        }
    }

    /// Undoes the casing step on decoder output: uppercases the first letter of the
    /// first word (truecasing); lowercased text stays lowercase.
    pub fn restore(&self, sent: &mut [String]) {
        if let (Casing::True(_), Some(first)) = (self, sent.first_mut()) {
            let mut cs = first.chars();
            if let Some(c) = cs.next() {
                *first = c.to_uppercase().chain(cs).collect();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Vec<String> {
        x.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn truecaser_learns_inner_casing() {
        let data = [s("A dog sees the Dog ."), s("The man and the dog ."), s("Berlin is big .")];
        let tc = Truecaser::train(data.iter().map(|v| v.as_slice()));
        let mut x = s("The dog likes Berlin .");
        tc.apply(&mut x);
        assert_eq!(x.join(" "), "the dog likes Berlin .");
        let mut y = s("Berlin is here");
        tc.apply(&mut y);
        assert_eq!(y.join(" "), "Berlin is here"); // never seen inside: unchanged
        let casing = Casing::True(tc);
        casing.restore(&mut x);
        assert_eq!(x[0], "The");
    }
}
