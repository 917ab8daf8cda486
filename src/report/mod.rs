//! The comparison report of `mt compare`: tables, plots and the JSON document.

pub mod document;
pub mod plot;
