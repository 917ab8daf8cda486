//! Evaluation metrics, one module per metric.

pub mod aer;
