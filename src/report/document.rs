//! The report document of `mt compare`: one serde structure written as `report.json`
//! and rendered as `report.md`.
//!
//! # JSON fields (schema version 1)
//! - `schema_version` (1), `corpus`, `pair` (`"de-en"`), `budget` (`"fast"` or `"full"`),
//!   `train_pairs`, `dev_pairs`, `test_pairs`: what was run.
//! - `systems`: one entry per system, in table order (the first is the baseline of the
//!   significance tests): `name`, `description`, `bleu`, `chrf`, `ter` (each a [`Metric`]:
//!   `score` and sacreBLEU-style `signature`), `significance` (paired bootstrap against the
//!   first system, absent for the first: `mean`, `ci_low`, `ci_high`, `p_value`),
//!   `train_seconds`, `decode_seconds`, `sentences_per_second`, `model_bytes`.
//! - `length_buckets`: BLEU per source-length bucket: `label`, `min_len`, `max_len`,
//!   `sentences`, `bleu` (system name to score).
//! - `examples`: `source`, `reference`, `hypotheses` (system name to output).
//! - `alignment`: AER on a gold word alignment, when measured: `gold`, `sentences`,
//!   `entries` (`system`, `aer`, `precision`, `recall`).
//! - `plots`: the plot files written beside the report, relative to it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The version of the JSON layout documented above.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole comparison.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The corpus directory.
    pub corpus: String,
    /// Source and target language, `src-tgt`.
    pub pair: String,
    /// The budget preset.
    pub budget: String,
    /// Training sentence pairs used.
    pub train_pairs: usize,
    /// Development pairs used for tuning and early stopping.
    pub dev_pairs: usize,
    /// Test pairs scored.
    pub test_pairs: usize,
    /// One entry per system; the first is the significance baseline.
    pub systems: Vec<SystemReport>,
    /// BLEU by source length.
    pub length_buckets: Vec<LengthBucket>,
    /// Translations side by side with the reference.
    pub examples: Vec<Example>,
    /// Alignment quality against a gold alignment.
    pub alignment: Option<AlignmentReport>,
    /// Plot files, relative to the report directory.
    pub plots: Vec<String>,
}

/// A score with the signature that says how it was computed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// The corpus score (0-100).
    pub score: f64,
    /// The sacreBLEU-style signature.
    pub signature: String,
}

/// Paired bootstrap resampling against the baseline (Koehn 2004).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Significance {
    /// The baseline system's name.
    pub baseline: String,
    /// Mean BLEU over the resamples.
    pub mean: f64,
    /// Lower end of the 95% confidence interval.
    pub ci_low: f64,
    /// Upper end of the 95% confidence interval.
    pub ci_high: f64,
    /// p-value of the difference to the baseline.
    pub p_value: f64,
}

/// One system's results and costs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SystemReport {
    /// Short name (`smt`, `nmt`, `hybrid`).
    pub name: String,
    /// What the system is, in a few words.
    pub description: String,
    /// Corpus BLEU.
    pub bleu: Metric,
    /// Corpus chrF2.
    pub chrf: Metric,
    /// Corpus TER.
    pub ter: Metric,
    /// Against the first system; `None` for the first.
    pub significance: Option<Significance>,
    /// Wall seconds to train (0 when loaded).
    pub train_seconds: f64,
    /// Wall seconds to decode the test set.
    pub decode_seconds: f64,
    /// Test sentences per second.
    pub sentences_per_second: f64,
    /// Bytes on disk of the model directory.
    pub model_bytes: u64,
}

/// BLEU of every system on the test sentences whose source length is in a range.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LengthBucket {
    /// Display label, e.g. `1-10`.
    pub label: String,
    /// Shortest source length in the bucket (tokens).
    pub min_len: usize,
    /// Longest source length in the bucket (tokens).
    pub max_len: usize,
    /// Sentences in the bucket.
    pub sentences: usize,
    /// System name to BLEU.
    pub bleu: BTreeMap<String, f64>,
}

/// One test sentence with every system's output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// The source sentence.
    pub source: String,
    /// The reference translation.
    pub reference: String,
    /// System name to translation.
    pub hypotheses: BTreeMap<String, String>,
}

/// AER of several aligners on one gold set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlignmentReport {
    /// The gold file.
    pub gold: String,
    /// Sentences scored.
    pub sentences: usize,
    /// One row per aligner.
    pub entries: Vec<AerEntry>,
}

/// One aligner's scores.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AerEntry {
    /// The aligner.
    pub system: String,
    /// Alignment error rate (Och & Ney 2003).
    pub aer: f64,
    /// Precision against the possible links.
    pub precision: f64,
    /// Recall of the sure links.
    pub recall: f64,
}

impl Report {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# mt compare: {} on {}\n", self.pair, self.corpus);
        let _ = writeln!(
            md,
            "Budget `{}`: {} training pairs, {} development pairs, {} test pairs.\n",
            self.budget, self.train_pairs, self.dev_pairs, self.test_pairs
        );
        md.push_str(concat!(
            "| system | BLEU | chrF2 | TER | vs first (p) ",
            "| train s | decode s | sent/s | model MB |\n"
        ));
        md.push_str("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |\n");
        for s in &self.systems {
            let sig = match &s.significance {
                // Identical outputs give sacreBLEU's smallest p-value too; say so instead.
                Some(_) if (s.bleu.score - self.systems[0].bleu.score).abs() < 1e-9 => {
                    "+0.00 (same BLEU)".to_owned()
                }
                Some(g) => format!(
                    "{:+.2} ({:.4}{})",
                    s.bleu.score - self.systems[0].bleu.score,
                    g.p_value,
                    if g.p_value < 0.05 { ", significant" } else { "" }
                ),
                None => "baseline".to_owned(),
            };
            let _ = writeln!(
                md,
                "| {} | {:.2} | {:.2} | {:.2} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                s.name,
                s.bleu.score,
                s.chrf.score,
                s.ter.score,
                sig,
                s.train_seconds,
                s.decode_seconds,
                s.sentences_per_second,
                s.model_bytes as f64 / 1e6
            );
        }
        md.push('\n');
        for s in &self.systems {
            let _ = writeln!(md, "- **{}**: {}", s.name, s.description);
            let _ = writeln!(md, "  - `{}`", s.bleu.signature);
            let _ = writeln!(md, "  - `{}`", s.chrf.signature);
            let _ = writeln!(md, "  - `{}`", s.ter.signature);
            if let Some(g) = &s.significance {
                let _ = writeln!(
                    md,
                    "  - paired bootstrap vs {}: mean {:.2}, 95% CI [{:.2}, {:.2}], p = {:.4}",
                    g.baseline, g.mean, g.ci_low, g.ci_high, g.p_value
                );
            }
        }
        if !self.length_buckets.is_empty() {
            md.push_str("\n## BLEU by source length\n\n| length | sentences |");
            let names: Vec<&String> = self.systems.iter().map(|s| &s.name).collect();
            for n in &names {
                let _ = write!(md, " {n} |");
            }
            md.push_str("\n| --- | ---: |");
            md.push_str(&" ---: |".repeat(names.len()));
            md.push('\n');
            for b in &self.length_buckets {
                let _ = write!(md, "| {} | {} |", b.label, b.sentences);
                for n in &names {
                    match b.bleu.get(*n) {
                        Some(v) => {
                            let _ = write!(md, " {v:.2} |");
                        }
                        None => md.push_str(" |"),
                    }
                }
                md.push('\n');
            }
        }
        if let Some(a) = &self.alignment {
            let _ =
                writeln!(md, "\n## Alignment error rate ({}, {} sentences)\n", a.gold, a.sentences);
            md.push_str("| aligner | AER | precision | recall |\n| --- | ---: | ---: | ---: |\n");
            for e in &a.entries {
                let _ = writeln!(
                    md,
                    "| {} | {:.4} | {:.4} | {:.4} |",
                    e.system, e.aer, e.precision, e.recall
                );
            }
        }
        if !self.examples.is_empty() {
            md.push_str("\n## Examples\n");
            for (i, ex) in self.examples.iter().enumerate() {
                let _ = writeln!(md, "\n{}. source: {}", i + 1, ex.source);
                let _ = writeln!(md, "   - reference: {}", ex.reference);
                for (name, hyp) in &ex.hypotheses {
                    let _ = writeln!(md, "   - {name}: {hyp}");
                }
            }
        }
        if !self.plots.is_empty() {
            md.push_str("\n## Plots\n\n");
            for p in self.plots.iter().filter(|p| p.ends_with(".png")) {
                let _ = writeln!(md, "![{p}]({p})");
            }
        }
        md
    }
}

/// Splits sentence indices into source-length buckets of the given upper bounds
/// (e.g. `[10, 20, 30]` gives 1-10, 11-20, 21-30 and 31+); empty buckets are dropped.
pub fn length_buckets(
    lengths: &[usize],
    bounds: &[usize],
) -> Vec<(String, usize, usize, Vec<usize>)> {
    let mut out = Vec::new();
    let mut lo = 0;
    for (k, &hi) in bounds.iter().chain(std::iter::once(&usize::MAX)).enumerate() {
        let idx: Vec<usize> =
            (0..lengths.len()).filter(|&i| lengths[i] >= lo && lengths[i] <= hi).collect();
        let label = if hi == usize::MAX {
            format!("{}+", lo.max(1))
        } else if k == 0 {
            format!("0-{hi}")
        } else {
            format!("{lo}-{hi}")
        };
        if !idx.is_empty() {
            out.push((label, lo, hi.min(lengths.iter().copied().max().unwrap_or(0)), idx));
        }
        lo = hi.saturating_add(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(score: f64) -> Metric {
        Metric { score, signature: "sig".into() }
    }

    fn sample() -> Report {
        let sys = |name: &str, b: f64, sig: Option<Significance>| SystemReport {
            name: name.into(),
            description: "d".into(),
            bleu: metric(b),
            chrf: metric(50.0),
            ter: metric(60.0),
            significance: sig,
            train_seconds: 1.0,
            decode_seconds: 2.0,
            sentences_per_second: 3.0,
            model_bytes: 4_000_000,
        };
        let sig = Significance {
            baseline: "smt".into(),
            mean: 31.0,
            ci_low: 30.0,
            ci_high: 32.0,
            p_value: 0.001,
        };
        Report {
            schema_version: SCHEMA_VERSION,
            corpus: "corpora/multi30k".into(),
            pair: "de-en".into(),
            budget: "fast".into(),
            train_pairs: 10,
            dev_pairs: 2,
            test_pairs: 3,
            systems: vec![sys("smt", 30.0, None), sys("nmt", 31.0, Some(sig))],
            length_buckets: vec![LengthBucket {
                label: "0-10".into(),
                min_len: 0,
                max_len: 10,
                sentences: 3,
                bleu: [("smt".to_string(), 30.0), ("nmt".to_string(), 31.0)].into(),
            }],
            examples: vec![],
            alignment: None,
            plots: vec!["bleu_by_length.png".into()],
        }
    }

    #[test]
    fn json_round_trips_and_rejects_unknown_fields() {
        let r = sample();
        let json = serde_json::to_string(&r).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["surprise"] = serde_json::json!(1);
        assert!(serde_json::from_value::<Report>(v).is_err());
    }

    #[test]
    fn markdown_has_one_row_per_system() {
        let md = sample().to_markdown();
        assert!(md.contains("| smt | 30.00 | 50.00 | 60.00 | baseline |"));
        assert!(md.contains("| nmt | 31.00 | 50.00 | 60.00 | +1.00 (0.0010, significant) |"));
        assert!(md.contains("| 0-10 | 3 | 30.00 | 31.00 |"));
    }

    #[test]
    fn buckets_cover_every_sentence_once() {
        let lens = [3, 12, 25, 40, 10, 11];
        let b = length_buckets(&lens, &[10, 20, 30]);
        let labels: Vec<_> = b.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(labels, ["0-10", "11-20", "21-30", "31+"]);
        let total: usize = b.iter().map(|x| x.3.len()).sum();
        assert_eq!(total, lens.len());
        assert_eq!(b[0].3, vec![0, 4]);
    }
}
