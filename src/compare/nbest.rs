//! Reading n-best lists in the Moses format.
//!
//! One hypothesis per line: `ID ||| TEXT ||| NAME= v1 v2 ... NAME2= v ... ||| TOTAL`,
//! sentence ids starting at 0, each sentence's hypotheses together and best first.

use std::path::Path;

use anyhow::{bail, Context};

use crate::text::{LineReader, ReadOptions};

/// One entry of an n-best list.
#[derive(Debug, Clone, PartialEq)]
pub struct NbestEntry {
    /// 0-based sentence number.
    pub sentence: usize,
    /// The translation.
    pub text: String,
    /// Feature values in file order, each with the name of the feature group.
    pub features: Vec<(String, f64)>,
    /// The model score written by the decoder.
    pub total: f64,
}

/// Parses one n-best line; `where_` names the file and line for errors.
pub fn parse_line(line: &str, where_: &str) -> anyhow::Result<NbestEntry> {
    let fields: Vec<&str> = line.split(" ||| ").collect();
    if fields.len() < 4 {
        bail!(
            "{where_}: an n-best line needs 4 fields separated by ' ||| ', found {}",
            fields.len()
        );
    }
    let sentence = fields[0]
        .trim()
        .parse::<usize>()
        .with_context(|| format!("{where_}: bad sentence id {:?}", fields[0]))?;
    let mut features = Vec::new();
    let mut group = String::new();
    for tok in fields[2].split_whitespace() {
        if let Some(name) = tok.strip_suffix('=') {
            group = name.to_owned();
        } else {
            let v: f64 =
                tok.parse().with_context(|| format!("{where_}: bad feature value {tok:?}"))?;
            features.push((group.clone(), v));
        }
    }
    let total: f64 = fields[3]
        .trim()
        .parse()
        .with_context(|| format!("{where_}: bad total score {:?}", fields[3]))?;
    Ok(NbestEntry { sentence, text: fields[1].to_owned(), features, total })
}

/// Reads an n-best file for `sentences` input sentences: entry lists per sentence.
///
/// A sentence without any entry gets an empty list (the decoder had nothing to say).
pub fn read(path: &Path, sentences: usize) -> anyhow::Result<Vec<Vec<NbestEntry>>> {
    let mut out: Vec<Vec<NbestEntry>> = vec![Vec::new(); sentences];
    let mut reader = LineReader::open(path, ReadOptions::default())?;
    while let Some(line) = reader.next_line() {
        let line = line?;
        let where_ = format!("{}:{}", reader.name(), reader.line_number());
        let entry = parse_line(&line, &where_)?;
        if entry.sentence >= sentences {
            bail!("{where_}: sentence id {} but only {sentences} inputs", entry.sentence);
        }
        out[entry.sentence].push(entry);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_moses_nbest_line() {
        let e =
            parse_line("3 ||| a house ||| LM0= -4.5 TM0= -1 -2 WordPenalty0= -2 ||| -7.25", "f:1")
                .unwrap();
        assert_eq!(e.sentence, 3);
        assert_eq!(e.text, "a house");
        assert_eq!(e.features.len(), 4);
        assert_eq!(e.features[2], ("TM0".to_string(), -2.0));
        assert_eq!(e.total, -7.25);
        let err = parse_line("0 ||| x", "f:9").unwrap_err().to_string();
        assert!(err.starts_with("f:9:"), "{err}");
    }
}
