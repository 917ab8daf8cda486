//! References as a list of streams, one stream per reference translation.
//!
//! sacreBLEU's API takes the same shape (`[[ref1 of every segment], [ref2 ...]]`) but pairs
//! it with the hypotheses through `zip`, so a stream of the wrong length silently
//! truncates the corpus (mjpost/sacrebleu#239). [`References`] checks every length instead:
//! building it fails when the streams differ, and every scorer fails when the hypotheses
//! and the streams differ.

use super::error::EvalError;
use super::signature::NumRefs;

/// The reference translations of a corpus: `streams[k][i]` is reference `k` of segment `i`.
///
/// A missing reference (`None`, as sacreBLEU allows through its API) is left out of that
/// segment, and the signature then says `nrefs:var`. An empty string is a reference of
/// length zero, and it still counts.
#[derive(Debug, Clone)]
pub struct References {
    streams: Vec<Vec<Option<String>>>,
    len: usize,
}

impl References {
    /// References where every segment has every stream's line.
    pub fn new(streams: Vec<Vec<String>>) -> Result<Self, EvalError> {
        Self::with_missing(streams.into_iter().map(|s| s.into_iter().map(Some).collect()).collect())
    }

    /// One stream holding the single reference of each segment.
    pub fn single(stream: Vec<String>) -> Self {
        let len = stream.len();
        Self { streams: vec![stream.into_iter().map(Some).collect()], len }
    }

    /// References where some segments lack some streams' lines (`None`).
    pub fn with_missing(streams: Vec<Vec<Option<String>>>) -> Result<Self, EvalError> {
        let first = streams.first().ok_or(EvalError::NoReferences)?;
        let len = first.len();
        for (k, s) in streams.iter().enumerate() {
            if s.len() != len {
                return Err(EvalError::RefStreamMismatch {
                    stream: k + 1,
                    got: s.len(),
                    expected: len,
                });
            }
        }
        Ok(Self { streams, len })
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no segments.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of streams.
    pub fn num_streams(&self) -> usize {
        self.streams.len()
    }

    /// The references of segment `i` (0-based) that are present, in stream order.
    pub fn segment(&self, i: usize) -> Vec<&str> {
        self.streams.iter().filter_map(|s| s[i].as_deref()).collect()
    }

    /// The `nrefs` field of the signature: the number of references per segment, or
    /// `var` when it varies (also for an empty corpus, as sacreBLEU does).
    pub fn num_refs(&self) -> NumRefs {
        let mut counts =
            (0..self.len).map(|i| self.streams.iter().filter(|s| s[i].is_some()).count());
        match counts.next() {
            None => NumRefs::Variable,
            Some(n) if counts.all(|m| m == n) => NumRefs::Fixed(n),
            Some(_) => NumRefs::Variable,
        }
    }

    /// How many present references are empty after Python's `rstrip()`.
    pub fn empty_count(&self) -> usize {
        self.streams
            .iter()
            .flatten()
            .flatten()
            .filter(|r| super::python_str::py_rstrip(r).is_empty())
            .count()
    }

    /// Checks that there are exactly `n_hyps` segments and that each has a reference.
    pub fn check(&self, n_hyps: usize) -> Result<(), EvalError> {
        if let Some((k, s)) = self.streams.iter().enumerate().find(|(_, s)| s.len() != n_hyps) {
            return Err(EvalError::LengthMismatch { hyps: n_hyps, refs: s.len(), stream: k + 1 });
        }
        if let Some(i) = (0..self.len).find(|&i| self.streams.iter().all(|s| s[i].is_none())) {
            return Err(EvalError::SegmentWithoutReference { segment: i + 1 });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lengths_are_checked_not_truncated() {
        let refs = References::new(vec![strings(&["a", "b"])]).unwrap();
        let err = refs.check(3).unwrap_err();
        assert_eq!(err.to_string(), "3 hypotheses vs 2 reference lines (reference stream 1)");
        assert!(refs.check(2).is_ok());
        let err = References::new(vec![strings(&["a", "b"]), strings(&["a"])]).unwrap_err();
        assert!(matches!(err, EvalError::RefStreamMismatch { stream: 2, .. }));
    }

    #[test]
    fn missing_and_empty_references() {
        let refs = References::with_missing(vec![
            vec![Some("x".into()), None],
            vec![Some("".into()), Some("y".into())],
        ])
        .unwrap();
        assert_eq!(refs.num_refs(), NumRefs::Variable);
        assert_eq!(refs.segment(0), vec!["x", ""]);
        assert_eq!(refs.segment(1), vec!["y"]);
        assert_eq!(refs.empty_count(), 1);
        let full = References::new(vec![strings(&["a", ""]), strings(&["b", "c"])]).unwrap();
        assert_eq!(full.num_refs(), NumRefs::Fixed(2));
        let none = References::with_missing(vec![vec![None]]).unwrap();
        assert!(matches!(none.check(1), Err(EvalError::SegmentWithoutReference { segment: 1 })));
    }
}
