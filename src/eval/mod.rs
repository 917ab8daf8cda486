//! Evaluation metrics (being built).
