//! `mt compare`: both systems on one corpus, one report.

pub mod budget;
pub mod data;
pub mod hybrid;
pub mod nbest;
pub mod pipeline;
pub mod scoring;
pub mod stage;
