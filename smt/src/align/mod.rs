//! The `align` stage (being built).
