//! The `tokenize` stage (being built).
