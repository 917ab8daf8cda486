//! The `phrase` stage (being built).
