//! Alignment error rate, precision and recall (Och and Ney 2003, sec. 5).
//!
//! With A the hypothesis links, S the sure gold links and P the possible ones (every
//! sure link is also possible):
//!
//! - precision = |A ∩ P| / |A|, recall = |A ∩ S| / |S|,
//! - AER = 1 - (|A ∩ S| + |A ∩ P|) / (|A| + |S|),
//!
//! each count summed over the whole corpus before dividing (not averaged per sentence).
//! When a denominator is zero the ratio is taken as perfect (1 for precision and
//! recall, 0 for AER), so the result is never NaN.
//!
//! Gold files come in two formats, told apart automatically:
//! - NAACL/WPT (`.wa`): one link per line, `sentence source target [S|P] [confidence]`,
//!   all 1-based; a missing type means sure; position 0 (a NULL link) is ignored;
//! - Pharaoh: one sentence per line, `i-j` sure and `i?j` (or `ipj`) possible, 0-based.

use std::collections::HashSet;
use std::path::Path;

use serde::Serialize;

use crate::text::{display_name, read_lines, ReadOptions, TextError};

/// One sentence of gold links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoldSentence {
    /// Sure links `(source, target)`, 0-based.
    pub sure: HashSet<(u32, u32)>,
    /// Possible links, sure ones included.
    pub possible: HashSet<(u32, u32)>,
}

/// Which format a gold file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GoldFormat {
    /// Decide from the content: NAACL when every line is `n i j [S|P] [c]`.
    Auto,
    /// NAACL/WPT `.wa`, 1-based.
    Naacl,
    /// Pharaoh `i-j` / `i?j`, 0-based, one line per sentence.
    Pharaoh,
}

/// What went wrong while reading alignments.
#[derive(Debug, thiserror::Error)]
pub enum AerError {
    /// A file could not be read.
    #[error(transparent)]
    Text(#[from] TextError),
    /// A line is malformed.
    #[error("{path}:{line}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The hypothesis and the gold cover different numbers of sentences.
    #[error(
        "{hyp} has {hyp_lines} lines to score but {gold} has {gold_lines} sentences \
         (use --last N to score the tail of a train+test alignment)"
    )]
    Count {
        /// The hypothesis file.
        hyp: String,
        /// Lines scored.
        hyp_lines: usize,
        /// The gold file.
        gold: String,
        /// Gold sentences.
        gold_lines: usize,
    },
}

/// Corpus-level scores and the counts behind them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AerScore {
    /// Alignment error rate.
    pub aer: f64,
    /// |A ∩ P| / |A|.
    pub precision: f64,
    /// |A ∩ S| / |S|.
    pub recall: f64,
    /// |A|.
    pub hypothesis_links: usize,
    /// |S|.
    pub sure_links: usize,
    /// |P| (sure included).
    pub possible_links: usize,
    /// |A ∩ S|.
    pub hits_sure: usize,
    /// |A ∩ P|.
    pub hits_possible: usize,
    /// Sentences scored.
    pub sentences: usize,
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        1.0
    } else {
        num as f64 / den as f64
    }
}

/// Scores hypothesis links against the gold, sentence by sentence.
pub fn score(hyp: &[Vec<(u32, u32)>], gold: &[GoldSentence]) -> AerScore {
    let (mut a, mut s, mut p, mut a_s, mut a_p) = (0, 0, 0, 0, 0);
    for (h, g) in hyp.iter().zip(gold) {
        let h: HashSet<_> = h.iter().copied().collect();
        a += h.len();
        s += g.sure.len();
        p += g.possible.len();
        a_s += h.iter().filter(|l| g.sure.contains(l)).count();
        a_p += h.iter().filter(|l| g.possible.contains(l)).count();
    }
    AerScore {
        aer: 1.0 - ratio(a_s + a_p, a + s),
        precision: ratio(a_p, a),
        recall: ratio(a_s, s),
        hypothesis_links: a,
        sure_links: s,
        possible_links: p,
        hits_sure: a_s,
        hits_possible: a_p,
        sentences: hyp.len().min(gold.len()),
    }
}

fn syntax(path: &str, line: usize, message: String) -> AerError {
    AerError::Syntax { path: path.to_owned(), line, message }
}

fn parse_index(s: &str, path: &str, line: usize, tok: &str) -> Result<u32, AerError> {
    s.parse().map_err(|_| syntax(path, line, format!("bad link `{tok}` (expected i-j or i?j)")))
}

/// A link `(source, target)` and whether it is sure.
pub type TypedLink = ((u32, u32), bool);

/// Parses one Pharaoh line: `(link, sure)` per token; `sure_only` rejects `i?j`.
pub fn parse_pharaoh_line(
    text: &str,
    path: &str,
    line: usize,
    sure_only: bool,
) -> Result<Vec<TypedLink>, AerError> {
    let mut out = Vec::new();
    for tok in text.split_whitespace() {
        let (sep, sure) = if let Some(k) = tok.find('-') {
            (k, true)
        } else if let Some(k) = tok.find(['?', 'p']) {
            (k, false)
        } else {
            return Err(syntax(path, line, format!("bad link `{tok}` (expected i-j)")));
        };
        if sure_only && !sure {
            return Err(syntax(path, line, format!("bad link `{tok}` (expected i-j)")));
        }
        let i = parse_index(&tok[..sep], path, line, tok)?;
        let j = parse_index(&tok[sep + 1..], path, line, tok)?;
        out.push(((i, j), sure));
    }
    Ok(out)
}

/// Reads hypothesis alignments: one Pharaoh line of `i-j` links per sentence.
pub fn read_hypothesis(path: &Path) -> Result<Vec<Vec<(u32, u32)>>, AerError> {
    let name = display_name(path);
    read_lines(path, ReadOptions::default())?
        .iter()
        .enumerate()
        .map(|(k, l)| {
            Ok(parse_pharaoh_line(l, &name, k + 1, true)?
                .into_iter()
                .map(|(link, _)| link)
                .collect())
        })
        .collect()
}

fn looks_naacl(lines: &[String]) -> bool {
    let mut any = false;
    for l in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        any = true;
        let numeric = f.len() >= 3 && f[..3].iter().all(|x| x.parse::<u32>().is_ok());
        let typed =
            f.len() < 4 || matches!(f[3], "S" | "P" | "s" | "p") || f[3].parse::<f64>().is_ok();
        if !(numeric && typed && f.len() <= 5) {
            return false;
        }
    }
    any
}

/// Reads a gold alignment; `swap` exchanges the two sides of every link.
pub fn read_gold(
    path: &Path,
    format: GoldFormat,
    swap: bool,
) -> Result<Vec<GoldSentence>, AerError> {
    let name = display_name(path);
    let lines = read_lines(path, ReadOptions::default())?;
    let naacl = match format {
        GoldFormat::Auto => looks_naacl(&lines),
        GoldFormat::Naacl => true,
        GoldFormat::Pharaoh => false,
    };
    let orient = |i: u32, j: u32| if swap { (j, i) } else { (i, j) };
    let mut gold: Vec<GoldSentence> = Vec::new();
    if naacl {
        for (k, l) in lines.iter().enumerate() {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.is_empty() {
                continue;
            }
            let bad = || syntax(&name, k + 1, format!("expected `sentence i j [S|P]`, got `{l}`"));
            if f.len() < 3 {
                return Err(bad());
            }
            let nums: Vec<u32> =
                f[..3].iter().map(|x| x.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
            let sure = match f.get(3) {
                None => true,
                Some(&("S" | "s")) => true,
                Some(&("P" | "p")) => false,
                Some(_) => return Err(bad()),
            };
            if nums[0] == 0 {
                return Err(syntax(&name, k + 1, "sentence numbers start at 1".into()));
            }
            let sent = nums[0] as usize;
            if gold.len() < sent {
                gold.resize(sent, GoldSentence::default());
            }
            if nums[1] == 0 || nums[2] == 0 {
                continue; // a NULL link
            }
            let link = orient(nums[1] - 1, nums[2] - 1);
            let g = &mut gold[sent - 1];
            g.possible.insert(link);
            if sure {
                g.sure.insert(link);
            }
        }
    } else {
        for (k, l) in lines.iter().enumerate() {
            let mut g = GoldSentence::default();
            for ((i, j), sure) in parse_pharaoh_line(l, &name, k + 1, false)? {
                let link = orient(i, j);
                g.possible.insert(link);
                if sure {
                    g.sure.insert(link);
                }
            }
            gold.push(g);
        }
    }
    Ok(gold)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gold(sure: &[(u32, u32)], possible: &[(u32, u32)]) -> GoldSentence {
        GoldSentence {
            sure: sure.iter().copied().collect(),
            possible: sure.iter().chain(possible).copied().collect(),
        }
    }

    #[test]
    fn aer_by_hand() {
        // S = {0-0, 1-1}, P = S + {1-2}; A = {0-0, 1-2, 2-2}.
        let g = vec![gold(&[(0, 0), (1, 1)], &[(1, 2)])];
        let s = score(&[vec![(0, 0), (1, 2), (2, 2)]], &g);
        assert_eq!((s.hits_sure, s.hits_possible), (1, 2));
        assert!((s.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.recall - 0.5).abs() < 1e-12);
        assert!((s.aer - (1.0 - 3.0 / 5.0)).abs() < 1e-12);
        let perfect = score(&[vec![]], &[GoldSentence::default()]);
        assert_eq!((perfect.aer, perfect.precision, perfect.recall), (0.0, 1.0, 1.0));
    }

    #[test]
    fn counts_are_summed_over_the_corpus() {
        let g = vec![gold(&[(0, 0)], &[]), gold(&[(0, 0), (1, 1), (2, 2)], &[])];
        let s = score(&[vec![(0, 0)], vec![(0, 1)]], &g);
        // Summed: |A|=2, |S|=4, |A∩S|=1: recall 1/4, not the per-sentence mean 1/2.
        assert!((s.recall - 0.25).abs() < 1e-12);
    }

    #[test]
    fn pharaoh_parsing() {
        let l = parse_pharaoh_line("0-0 1?2 3p4", "f", 1, false).unwrap();
        assert_eq!(l, vec![((0, 0), true), ((1, 2), false), ((3, 4), false)]);
        let e = parse_pharaoh_line("0-0 x", "f", 7, true).unwrap_err().to_string();
        assert_eq!(e, "f:7: bad link `x` (expected i-j)");
    }
}
