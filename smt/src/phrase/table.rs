//! The phrase table: in memory, in the Moses text format, and in a binary form.
//!
//! Text format, one pair a line (gzip when written by [`PhraseTable::write_moses`]):
//! `source ||| target ||| φ(f|e) lex(f|e) φ(e|f) lex(e|f) ||| 0-0 1-1 ||| c(e) c(f) c(f,e)`.
//! The optional reordering table has `source ||| target ||| six probabilities`.
//! A `|` inside a token is written `&#124;` and `&` is written `&amp;`, so that a token
//! `|||` in the data never reads as a field separator and the round trip is lossless.

use std::io::{self, BufRead, Write};

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use crate::vocab::Vocab;

/// What went wrong while reading or writing a phrase table.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A line does not follow the format.
    #[error("{name}:{line}: malformed phrase-table line: {reason}")]
    Malformed {
        /// The file name as given.
        name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("{name}: {source}")]
    Io {
        /// The file name as given.
        name: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// The binary table is damaged or from another version.
    #[error("{name}: unreadable binary phrase table: {source}")]
    Binary {
        /// The file name as given.
        name: String,
        /// The decoder's error.
        source: bincode::Error,
    },
}

/// One translation of a source phrase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhraseEntry {
    /// Target words (ids of the table's target vocabulary).
    pub tgt: Vec<u32>,
    /// φ(f|e), lex(f|e), φ(e|f), lex(e|f) as probabilities.
    pub probs: [f32; 4],
    /// Word links inside the pair, (source, target) relative positions.
    pub align: Vec<(u8, u8)>,
    /// msd-bidirectional-fe probabilities: previous m, s, d, then next m, s, d.
    pub reordering: Option<[f32; 6]>,
    /// c(e), c(f), c(f, e) as in the Moses counts column.
    pub counts: [u32; 3],
}

/// Every translation of every source phrase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhraseTable {
    /// Source vocabulary.
    pub src_vocab: Vocab,
    /// Target vocabulary.
    pub tgt_vocab: Vocab,
    entries: HashMap<Box<[u32]>, Vec<PhraseEntry>>,
    has_reordering: bool,
    max_src_len: usize,
}

/// Writes a token with `&` and `|` escaped.
pub fn escape(tok: &str) -> String {
    if !tok.contains(['&', '|']) {
        return tok.to_owned();
    }
    let mut s = String::with_capacity(tok.len() + 8);
    for c in tok.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '|' => s.push_str("&#124;"),
            c => s.push(c),
        }
    }
    s
}

/// Reverses [`escape`].
pub fn unescape(tok: &str) -> String {
    if !tok.contains('&') {
        return tok.to_owned();
    }
    let mut s = String::with_capacity(tok.len());
    let mut rest = tok;
    while let Some(i) = rest.find('&') {
        s.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(r) = rest.strip_prefix("&amp;") {
            s.push('&');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("&#124;") {
            s.push('|');
            rest = r;
        } else {
            s.push('&');
            rest = &rest[1..];
        }
    }
    s.push_str(rest);
    s
}

impl PhraseTable {
    /// An empty table over the given vocabularies.
    pub fn new(src_vocab: Vocab, tgt_vocab: Vocab, has_reordering: bool) -> Self {
        Self { src_vocab, tgt_vocab, entries: HashMap::new(), has_reordering, max_src_len: 0 }
    }

    /// Adds a translation of the source phrase `src` (ids).
    pub fn insert(&mut self, src: Vec<u32>, entry: PhraseEntry) {
        self.max_src_len = self.max_src_len.max(src.len());
        self.entries.entry(src.into_boxed_slice()).or_default().push(entry);
    }

    /// Orders the translations of each source phrase by φ(e|f), best first, ties by
    /// target ids, so that the table's content is independent of insertion order.
    pub fn sort_entries(&mut self) {
        for v in self.entries.values_mut() {
            v.sort_by(|a, b| b.probs[2].total_cmp(&a.probs[2]).then_with(|| a.tgt.cmp(&b.tgt)));
        }
    }

    /// Keeps at most `limit` translations per source phrase, the ones with the highest
    /// `key` (the decoder's table limit).
    pub fn prune<F: Fn(&PhraseEntry) -> f32>(&mut self, limit: usize, key: F) {
        for v in self.entries.values_mut() {
            if v.len() > limit {
                let mut keyed: Vec<(f32, PhraseEntry)> =
                    v.drain(..).map(|e| (key(&e), e)).collect();
                keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.tgt.cmp(&b.1.tgt)));
                keyed.truncate(limit);
                v.extend(keyed.into_iter().map(|(_, e)| e));
            }
        }
    }

    /// True when entries carry reordering probabilities.
    pub fn has_reordering(&self) -> bool {
        self.has_reordering
    }

    /// The longest source phrase in the table.
    pub fn max_src_len(&self) -> usize {
        self.max_src_len
    }

    /// Number of phrase pairs.
    pub fn len(&self) -> usize {
        self.entries.values().map(Vec::len).sum()
    }

    /// True when the table holds no pair.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The translations of a source phrase given as ids.
    pub fn lookup(&self, src: &[u32]) -> &[PhraseEntry] {
        self.entries.get(src).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The translations of a source phrase given as space-separated words.
    pub fn entries_for_text(&self, src: &str) -> &[PhraseEntry] {
        let ids: Option<Vec<u32>> = src.split(' ').map(|w| self.src_vocab.get(w)).collect();
        ids.map(|ids| self.lookup(&ids)).unwrap_or(&[])
    }

    /// The entry for a pair given as space-separated words.
    pub fn lookup_text(&self, src: &str, tgt: &str) -> Option<&PhraseEntry> {
        let t: Option<Vec<u32>> = tgt.split(' ').map(|w| self.tgt_vocab.get(w)).collect();
        let t = t?;
        self.entries_for_text(src).iter().find(|e| e.tgt == t)
    }

    /// Every (source phrase, entry), in no particular order.
    pub fn all_entries(&self) -> impl Iterator<Item = (&[u32], &PhraseEntry)> {
        self.entries.iter().flat_map(|(k, v)| v.iter().map(move |e| (&k[..], e)))
    }

    fn phrase_text(vocab: &Vocab, ids: &[u32]) -> String {
        ids.iter().map(|&i| escape(vocab.word(i))).collect::<Vec<_>>().join(" ")
    }

    /// Writes the table in the Moses text format, sorted by source phrase text, and the
    /// reordering table to `reordering` when given and the entries have one.
    pub fn write_moses<W: Write>(
        &self,
        out: &mut W,
        mut reordering: Option<&mut dyn Write>,
    ) -> io::Result<()> {
        let mut keys: Vec<(String, &Box<[u32]>)> =
            self.entries.keys().map(|k| (Self::phrase_text(&self.src_vocab, k), k)).collect();
        keys.sort();
        for (src, k) in keys {
            for e in &self.entries[k] {
                let tgt = Self::phrase_text(&self.tgt_vocab, &e.tgt);
                let align: Vec<String> = e.align.iter().map(|(s, t)| format!("{s}-{t}")).collect();
                let p = e.probs;
                writeln!(
                    out,
                    "{src} ||| {tgt} ||| {} {} {} {} ||| {} ||| {} {} {}",
                    p[0],
                    p[1],
                    p[2],
                    p[3],
                    align.join(" "),
                    e.counts[0],
                    e.counts[1],
                    e.counts[2]
                )?;
                if let (Some(w), Some(r)) = (reordering.as_deref_mut(), e.reordering) {
                    writeln!(
                        w,
                        "{src} ||| {tgt} ||| {} {} {} {} {} {}",
                        r[0], r[1], r[2], r[3], r[4], r[5]
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Reads a table in the Moses text format; `reordering` is the optional reordering
    /// table with the same pairs. Every line is checked; the first bad one is an error
    /// naming its line number.
    pub fn read_moses<R: BufRead>(
        input: R,
        name: &str,
        reordering: Option<(Box<dyn BufRead>, &str)>,
    ) -> Result<Self, TableError> {
        let mut table = PhraseTable::new(Vocab::new(), Vocab::new(), reordering.is_some());
        for (i, line) in input.lines().enumerate() {
            let line = line.map_err(|source| TableError::Io { name: name.to_owned(), source })?;
            let bad = |reason: String| TableError::Malformed {
                name: name.to_owned(),
                line: i + 1,
                reason,
            };
            let fields: Vec<&str> = line.split(" ||| ").collect();
            if fields.len() < 3 {
                return Err(bad(format!(
                    "expected at least 3 fields separated by ' ||| ', found {}",
                    fields.len()
                )));
            }
            let src: Vec<&str> = fields[0].split(' ').filter(|w| !w.is_empty()).collect();
            let tgt: Vec<&str> = fields[1].split(' ').filter(|w| !w.is_empty()).collect();
            if src.is_empty() || tgt.is_empty() {
                return Err(bad("empty source or target phrase".into()));
            }
            let scores: Vec<f32> = fields[2]
                .split_whitespace()
                .map(|s| s.parse::<f32>().map_err(|_| bad(format!("score {s:?} is not a number"))))
                .collect::<Result<_, _>>()?;
            if scores.len() != 4 {
                return Err(bad(format!("expected 4 scores, found {}", scores.len())));
            }
            if let Some(s) = scores.iter().find(|s| !(s.is_finite() && **s > 0.0 && **s <= 1.0)) {
                return Err(bad(format!("score {s} is not a probability in (0, 1]")));
            }
            let mut align = Vec::new();
            if let Some(a) = fields.get(3) {
                for link in a.split_whitespace() {
                    let parsed = link
                        .split_once('-')
                        .and_then(|(s, t)| Some((s.parse::<u8>().ok()?, t.parse::<u8>().ok()?)));
                    match parsed {
                        Some((s, t)) if (s as usize) < src.len() && (t as usize) < tgt.len() => {
                            align.push((s, t))
                        }
                        _ => return Err(bad(format!("bad alignment link {link:?}"))),
                    }
                }
            }
            let mut counts = [0u32; 3];
            if let Some(c) = fields.get(4) {
                for (k, v) in c.split_whitespace().take(3).enumerate() {
                    counts[k] =
                        v.parse::<f64>().map_err(|_| bad(format!("bad count {v:?}")))? as u32;
                }
            }
            let s: Vec<u32> = src.iter().map(|w| table.src_vocab.intern(&unescape(w))).collect();
            let t: Vec<u32> = tgt.iter().map(|w| table.tgt_vocab.intern(&unescape(w))).collect();
            table.insert(
                s,
                PhraseEntry {
                    tgt: t,
                    probs: [scores[0], scores[1], scores[2], scores[3]],
                    align,
                    reordering: None,
                    counts,
                },
            );
        }
        if let Some((r, rname)) = reordering {
            table.read_reordering(r, rname)?;
        }
        table.sort_entries();
        Ok(table)
    }

    fn read_reordering(&mut self, input: Box<dyn BufRead>, name: &str) -> Result<(), TableError> {
        for (i, line) in input.lines().enumerate() {
            let line = line.map_err(|source| TableError::Io { name: name.to_owned(), source })?;
            let bad = |reason: String| TableError::Malformed {
                name: name.to_owned(),
                line: i + 1,
                reason,
            };
            let fields: Vec<&str> = line.split(" ||| ").collect();
            if fields.len() != 3 {
                return Err(bad(format!("expected 3 fields, found {}", fields.len())));
            }
            let probs: Vec<f32> = fields[2]
                .split_whitespace()
                .map(|s| s.parse::<f32>().map_err(|_| bad(format!("{s:?} is not a number"))))
                .collect::<Result<_, _>>()?;
            if probs.len() != 6 || probs.iter().any(|p| !(p.is_finite() && (0.0..=1.0).contains(p)))
            {
                return Err(bad("expected 6 probabilities".into()));
            }
            let src: Option<Vec<u32>> =
                fields[0].split(' ').map(|w| self.src_vocab.get(&unescape(w))).collect();
            let tgt: Option<Vec<u32>> =
                fields[1].split(' ').map(|w| self.tgt_vocab.get(&unescape(w))).collect();
            let entry = match (src, tgt) {
                (Some(s), Some(t)) => {
                    self.entries.get_mut(&s[..]).and_then(|v| v.iter_mut().find(|e| e.tgt == t))
                }
                _ => None,
            };
            let Some(entry) = entry else {
                return Err(bad("pair is not in the phrase table".into()));
            };
            entry.reordering = Some([probs[0], probs[1], probs[2], probs[3], probs[4], probs[5]]);
        }
        if let Some((k, _)) = self.all_entries().find(|(_, e)| e.reordering.is_none()) {
            return Err(TableError::Malformed {
                name: name.to_owned(),
                line: 0,
                reason: format!("no reordering entry for source phrase {k:?}"),
            });
        }
        Ok(())
    }

    /// Writes the binary form.
    pub fn write_binary<W: Write>(&self, out: W, name: &str) -> Result<(), TableError> {
        bincode::serialize_into(out, self)
            .map_err(|source| TableError::Binary { name: name.to_owned(), source })
    }

    /// Reads the binary form written by [`PhraseTable::write_binary`].
    pub fn read_binary<R: io::Read>(input: R, name: &str) -> Result<Self, TableError> {
        let mut t: Self = bincode::deserialize_from(input)
            .map_err(|source| TableError::Binary { name: name.to_owned(), source })?;
        t.src_vocab.rebuild_index();
        t.tgt_vocab.rebuild_index();
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phrase::score::PhraseCounter;

    fn toy() -> PhraseTable {
        let mut c = PhraseCounter::new(7);
        let s: Vec<&str> = "a ||| b &amp; c".split(' ').collect();
        let t: Vec<&str> = "x | y & z".split(' ').collect();
        c.add(&s, &t, &[(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]);
        c.into_table(true)
    }

    #[test]
    fn escaping_round_trips() {
        for s in ["|||", "a|b", "&amp;", "&#124;", "&", "plain", "&&|"] {
            assert_eq!(unescape(&escape(s)), s);
            assert!(!escape(s).contains('|'));
        }
    }

    #[test]
    fn text_and_binary_round_trip() {
        let t = toy();
        let mut text = Vec::new();
        let mut reo = Vec::new();
        t.write_moses(&mut text, Some(&mut reo)).unwrap();
        let s = String::from_utf8(text.clone()).unwrap();
        assert!(s.contains("&#124;&#124;&#124; ||| &#124; |||"), "{s}");
        assert!(s.lines().all(|l| l.split(" ||| ").count() == 5));
        let back =
            PhraseTable::read_moses(&text[..], "pt", Some((Box::new(io::Cursor::new(reo)), "rt")))
                .unwrap();
        assert_eq!(back.len(), t.len());
        let e = back.lookup_text("|||", "|").expect("the ||| token survives");
        let orig = t.lookup_text("|||", "|").unwrap();
        assert_eq!((e.probs, e.reordering, e.counts), (orig.probs, orig.reordering, orig.counts));
        let mut bin = Vec::new();
        t.write_binary(&mut bin, "b").unwrap();
        let b = PhraseTable::read_binary(&bin[..], "b").unwrap();
        assert_eq!(b.lookup_text("b &amp; c", "y & z"), t.lookup_text("b &amp; c", "y & z"));
    }

    #[test]
    fn malformed_line_names_its_number() {
        let text = "a ||| x ||| 1 1 1 1\nb ||| y ||| 0.5 0.5 0.5\n";
        let err = PhraseTable::read_moses(text.as_bytes(), "pt.txt", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pt.txt:2: malformed phrase-table line: expected 4 scores, found 3"
        );
        let text = "a ||| x ||| 1 1 1 1\nc ||| z ||| 1 1 1 1\nb ||| y\n";
        let err = PhraseTable::read_moses(text.as_bytes(), "pt.txt", None).unwrap_err();
        assert!(err.to_string().starts_with("pt.txt:3:"), "{err}");
        let text = "a ||| x ||| 1 nan 1 1\n";
        assert!(PhraseTable::read_moses(text.as_bytes(), "p", None).is_err());
    }
}
