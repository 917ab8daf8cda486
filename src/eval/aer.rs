//! Alignment error rate (being built).
