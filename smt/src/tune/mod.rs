//! The `tune` stage (being built).
