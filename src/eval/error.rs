//! The errors of the evaluation library.

/// What can go wrong when scoring.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// A reference stream and the hypotheses differ in length; nothing is truncated.
    #[error("{hyps} hypotheses vs {refs} reference lines (reference stream {stream})")]
    LengthMismatch {
        /// Number of hypotheses.
        hyps: usize,
        /// Number of lines in the reference stream.
        refs: usize,
        /// 1-based index of the offending reference stream.
        stream: usize,
    },
    /// Two reference streams differ in length.
    #[error("reference stream {stream} has {got} lines vs {expected} in reference stream 1")]
    RefStreamMismatch {
        /// 1-based index of the offending stream.
        stream: usize,
        /// Its number of lines.
        got: usize,
        /// The number of lines of the first stream.
        expected: usize,
    },
    /// No reference stream was given.
    #[error("no reference stream given")]
    NoReferences,
    /// Every reference of a segment is missing.
    #[error("segment {segment} has no reference (every stream is missing it)")]
    SegmentWithoutReference {
        /// 1-based segment number.
        segment: usize,
    },
    /// Two systems compared by a paired test have different lengths.
    #[error("system {system} has {got} hypotheses vs {expected} in the baseline")]
    SystemLengthMismatch {
        /// 1-based index of the system (1 is the baseline).
        system: usize,
        /// Its number of hypotheses.
        got: usize,
        /// The baseline's number of hypotheses.
        expected: usize,
    },
    /// A paired test needs a baseline and at least one other system.
    #[error("a paired test needs at least two systems, got {0}")]
    TooFewSystems(usize),
    /// A parameter is out of the supported range.
    #[error("unsupported setting: {0}")]
    Unsupported(String),
}
