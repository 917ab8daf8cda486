//! The `lm` stage (being built).
