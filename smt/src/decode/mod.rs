//! The `decode` stage (being built).
