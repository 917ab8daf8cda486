//! The ARPA text format: a writer whose files KenLM loads, and a tolerant reader.
//!
//! The reader accepts what lmplz and SRILM write: `#` comments and blank lines before
//! `\data\`, a UTF-8 byte-order mark, CRLF line ends, lines without a backoff (meaning 0
//! and "no extension"), `-99` for `<s>`, and a missing `<unk>` (given log10 p = −100, with
//! a warning). Fields are separated by TAB or space only, as in KenLM: a vertical tab or
//! NBSP is part of a word. Malformed files (count lines out of sequence, a section shorter
//! than its count, a bad number, a NaN, a positive log-probability, a nonzero backoff on
//! the highest order, a missing section or `\end\`) are errors naming the line.

use std::io::{BufRead, Write};

use hashbrown::HashMap;
use rayon::prelude::*;

use super::float_text::{push_f32, FloatCache};
use super::model::{NgramModel, NgramOrder};
use super::{LmError, LmWarning};

/// log10 probability given to `<unk>` when an ARPA file has none (KenLM's default).
pub const MISSING_UNK_LOG10: f32 = -100.0;

/// Writes `model` as an ARPA file. A NaN or infinite value is an error, checked before
/// anything is written.
pub fn write_arpa<W: Write>(model: &NgramModel, out: &mut W) -> Result<(), LmError> {
    for o in &model.orders {
        if let Some(i) = o.prob.iter().position(|p| !p.is_finite()) {
            return Err(LmError::NotFinite {
                what: format!("log10 probability of {}-gram #{}", o.n, i + 1),
            });
        }
        if let Some(i) = o.backoff.iter().position(|p| !p.is_finite()) {
            return Err(LmError::NotFinite {
                what: format!("log10 backoff of {}-gram #{}", o.n, i + 1),
            });
        }
    }
    let io = |source| LmError::Write { source };
    let mut head = String::from("\\data\\\n");
    for o in &model.orders {
        head.push_str(&format!("ngram {}={}\n", o.n, o.len()));
    }
    out.write_all(head.as_bytes()).map_err(io)?;
    let top = model.order();
    let words = WordArena::new(&model.vocab);
    for o in &model.orders {
        write!(out, "\n\\{}-grams:\n", o.n).map_err(io)?;
        // Format batches of lines in parallel into buffers that are reused batch after
        // batch, then write them in order.
        let lines_per_buffer = 1 << 13;
        let batch = 2 * rayon::current_num_threads();
        let mut buffers: Vec<(Vec<u8>, FloatCache)> =
            (0..batch).map(|_| (Vec::new(), FloatCache::new())).collect();
        let mut first = 0;
        while first < o.len() {
            buffers.par_iter_mut().enumerate().for_each(|(b, (buf, cache))| {
                buf.clear();
                let start = first + b * lines_per_buffer;
                let end = (start + lines_per_buffer).min(o.len());
                for i in start..end {
                    push_f32(buf, o.prob[i]);
                    buf.push(b'\t');
                    for &w in o.gram(i) {
                        words.push_word_and_space(buf, w);
                    }
                    let last = buf.len() - 1;
                    if o.n < top {
                        buf[last] = b'\t';
                        cache.push(buf, o.backoff[i]);
                        buf.push(b'\n');
                    } else {
                        buf[last] = b'\n';
                    }
                }
            });
            for (buf, _) in &buffers {
                out.write_all(buf).map_err(io)?;
            }
            first += batch * lines_per_buffer;
        }
    }
    out.write_all(b"\n\\end\\\n").map_err(io)?;
    Ok(())
}

/// Every word followed by a space, padded so that a fixed 16-byte copy of a short word is
/// always in bounds (a fixed-size copy compiles to one vector move, not a `memcpy` call).
struct WordArena {
    bytes: Vec<u8>,
    start: Vec<usize>,
}

impl WordArena {
    fn new(vocab: &[String]) -> Self {
        let mut bytes = Vec::new();
        let mut start = Vec::with_capacity(vocab.len() + 1);
        for w in vocab {
            start.push(bytes.len());
            bytes.extend_from_slice(w.as_bytes());
            bytes.push(b' ');
        }
        start.push(bytes.len());
        bytes.resize(bytes.len() + 16, 0);
        Self { bytes, start }
    }

    #[inline]
    fn push_word_and_space(&self, buf: &mut Vec<u8>, w: u32) {
        let (s, e) = (self.start[w as usize], self.start[w as usize + 1]);
        if e - s <= 16 {
            let chunk: &[u8; 16] = self.bytes[s..s + 16].try_into().expect("16 bytes");
            buf.extend_from_slice(chunk);
            buf.truncate(buf.len() - 16 + (e - s));
        } else {
            buf.extend_from_slice(&self.bytes[s..e]);
        }
    }
}

/// Reads an ARPA file from `input`; `name` is used in error messages, and warnings go to
/// `warn`.
pub fn read_arpa<R: BufRead>(
    mut input: R,
    name: &str,
    warn: &mut dyn FnMut(LmWarning),
) -> Result<NgramModel, LmError> {
    let mut lines = Lines { input: &mut input, name, number: 0, buf: Vec::new() };
    // Header: comments and blank lines, then \data\.
    loop {
        if !lines.advance()? {
            return Err(lines.error("no \\data\\ line: this is not an ARPA file"));
        }
        let line = lines.line();
        let line = if lines.number == 1 {
            line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
        } else {
            line
        };
        if lines.number == 1 && line.starts_with(b"mmap lm ") {
            return Err(lines.error(
                "this is a KenLM binary model; give the ARPA file, or a model written by mt",
            ));
        }
        if lines.number == 1 && line.starts_with(b"\x1f\x8b") {
            return Err(lines.error("this is gzip data inside gzip data"));
        }
        let trimmed = trim(line);
        if trimmed.is_empty() || trimmed.starts_with(b"#") {
            continue;
        }
        if trimmed == b"\\data\\" {
            break;
        }
        if trimmed.starts_with(b"iARPA") || trimmed.starts_with(b"qARPA") {
            return Err(lines.error("this is an IRSTLM file; convert it to ARPA first"));
        }
        return Err(lines
            .error(&format!("expected \\data\\ before the counts, found {:?}", lossy(trimmed))));
    }
    // Counts: "ngram n=count", n = 1, 2, ... consecutive.
    let mut counts: Vec<usize> = Vec::new();
    loop {
        if !lines.advance()? {
            return Err(lines.error("the file ends inside the \\data\\ section"));
        }
        let line = lines.line();
        let t = trim(line);
        if t.is_empty() {
            if counts.is_empty() {
                continue;
            }
            break;
        }
        let Some(rest) = t.strip_prefix(b"ngram ") else {
            if t.starts_with(b"\\") && !counts.is_empty() {
                return Err(lines.error("expected a blank line after the counts"));
            }
            return Err(lines.error(&format!("expected \"ngram N=COUNT\", found {:?}", lossy(t))));
        };
        let text = lossy(rest);
        let parsed = text.split_once('=').and_then(|(n, c)| {
            Some((n.trim().parse::<usize>().ok()?, c.trim().parse::<usize>().ok()?))
        });
        let Some((n, c)) = parsed else {
            return Err(lines.error(&format!("bad count line \"ngram {text}\"")));
        };
        if n != counts.len() + 1 {
            return Err(lines.error(&format!(
                "count lines must be consecutive from 1: expected ngram {}=, found ngram {n}=",
                counts.len() + 1
            )));
        }
        counts.push(c);
    }
    let order = counts.len();
    let mut vocab: Vec<String> = Vec::with_capacity(counts[0]);
    let mut ids: HashMap<String, u32> = HashMap::with_capacity(counts[0]);
    let mut orders: Vec<NgramOrder> = Vec::with_capacity(order);
    for (idx, &count) in counts.iter().enumerate() {
        let n = idx + 1;
        let header = format!("\\{n}-grams:");
        loop {
            if !lines.advance()? {
                return Err(lines.error(&format!("missing section {header}")));
            }
            let line = lines.line();
            let t = trim(line);
            if t.is_empty() {
                continue;
            }
            if t == header.as_bytes() {
                break;
            }
            return Err(lines.error(&format!(
                "expected {header}, found {:?} (is a count in \\data\\ too small?)",
                lossy(t)
            )));
        }
        let mut o = NgramOrder::new(n);
        o.first_line = lines.number + 1;
        o.words.reserve(count * n);
        o.prob.reserve(count);
        if n < order {
            o.backoff.reserve(count);
        }
        for _ in 0..count {
            if !lines.advance()? {
                return Err(lines.error(&format!(
                    "the file ends in {header}, which should have {count} lines"
                )));
            }
            let line = lines.line();
            let mut fields =
                line.split(|&b| b == b'\t' || b == b' ' || b == b'\r').filter(|f| !f.is_empty());
            let Some(first) = fields.next() else {
                return Err(lines.error(&format!(
                    "blank line in section {header} (fewer n-grams than the {count} in \\data\\)"
                )));
            };
            if first.starts_with(b"\\") {
                return Err(lines
                    .error(&format!("{header} has fewer n-grams than the {count} in \\data\\")));
            }
            let prob = lines.number_at(first, "log10 probability")?;
            if prob > 0.0 {
                return Err(lines.error(&format!(
                    "positive log10 probability {} (an IRSTLM bug?)",
                    lossy(first)
                )));
            }
            for _ in 0..n {
                let Some(word) = fields.next() else {
                    return Err(lines.error(&format!("an {n}-gram line needs {n} words")));
                };
                let word = std::str::from_utf8(word)
                    .map_err(|_| lines.error("a word is not valid UTF-8"))?;
                let id = if n == 1 {
                    if ids.contains_key(word) {
                        return Err(lines.error(&format!("duplicate unigram {word:?}")));
                    }
                    let id = vocab.len() as u32;
                    ids.insert(word.to_owned(), id);
                    vocab.push(word.to_owned());
                    id
                } else {
                    match ids.get(word) {
                        Some(&id) => id,
                        None => {
                            return Err(
                                lines.error(&format!("word {word:?} is not among the unigrams"))
                            )
                        }
                    }
                };
                o.words.push(id);
            }
            let backoff = match fields.next() {
                None => 0.0,
                Some(f) => lines.number_at(f, "log10 backoff")?,
            };
            if fields.next().is_some() {
                return Err(lines.error(&format!("too many fields for an {n}-gram")));
            }
            o.prob.push(prob);
            if n < order {
                o.backoff.push(backoff);
            } else if backoff != 0.0 {
                return Err(lines.error("a backoff on the highest order must be 0"));
            }
        }
        orders.push(o);
    }
    loop {
        if !lines.advance()? {
            return Err(lines.error("missing \\end\\"));
        }
        let line = lines.line();
        let t = trim(line);
        if t.is_empty() {
            continue;
        }
        if t == b"\\end\\" {
            break;
        }
        return Err(lines.error(&format!(
            "expected \\end\\, found {:?} (is a count in \\data\\ too small?)",
            lossy(t)
        )));
    }
    for special in ["<s>", "</s>"] {
        if !ids.contains_key(special) {
            return Err(LmError::Arpa {
                path: name.to_owned(),
                line: lines.number,
                message: format!("the model has no {special} unigram"),
            });
        }
    }
    if !ids.contains_key("<unk>") {
        warn(LmWarning::MissingUnk { path: name.to_owned() });
        vocab.push("<unk>".to_owned());
        orders[0].words.push((vocab.len() - 1) as u32);
        orders[0].prob.push(MISSING_UNK_LOG10);
        if order > 1 {
            orders[0].backoff.push(0.0);
        }
    }
    Ok(NgramModel { vocab, orders })
}

struct Lines<'a, R> {
    input: &'a mut R,
    name: &'a str,
    number: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<'_, R> {
    /// Moves to the next line; false at the end of the input.
    fn advance(&mut self) -> Result<bool, LmError> {
        self.buf.clear();
        let read = self
            .input
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| LmError::Read { path: self.name.to_owned(), source })?;
        if read == 0 {
            return Ok(false);
        }
        self.number += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(true)
    }

    /// The current line without `\n` or `\r\n`.
    fn line(&self) -> &[u8] {
        &self.buf
    }

    fn error(&self, message: &str) -> LmError {
        LmError::Arpa { path: self.name.to_owned(), line: self.number, message: message.to_owned() }
    }

    fn number_at(&self, field: &[u8], what: &str) -> Result<f32, LmError> {
        let text = std::str::from_utf8(field).ok();
        let value = text.and_then(|s| s.parse::<f32>().ok());
        // A number written out (not `inf` or `nan`) that is not finite is too large.
        let special = text.is_some_and(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("inf") || s.contains("nan")
        });
        match value {
            Some(v) if v.is_finite() => Ok(v),
            Some(_) if !special => Err(self.error(&format!(
                "{what} {} is out of range (a 32-bit float holds at most about 3.4e38)",
                lossy(field)
            ))),
            Some(_) => Err(self.error(&format!("{what} {} is not finite", lossy(field)))),
            None => Err(self.error(&format!("bad {what} {:?}", lossy(field)))),
        }
    }
}

fn trim(line: &[u8]) -> &[u8] {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r');
    let start = line.iter().position(|b| !is_space(b)).unwrap_or(line.len());
    let end = line.iter().rposition(|b| !is_space(b)).map_or(start, |e| e + 1);
    &line[start..end]
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "# made by hand\n\n\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n\
        -1\t<unk>\t0\n-99\t<s>\t-0.5\n-0.5\t</s>\n-0.3\ta\t-0.2\n\n\\2-grams:\n\
        -0.1\t<s> a\n-0.2\ta </s>\n\n\\end\\\n";

    fn read(text: &str) -> Result<NgramModel, LmError> {
        read_arpa(text.as_bytes(), "t.arpa", &mut |_| {})
    }

    #[test]
    fn reads_comments_missing_backoffs_and_minus_99() {
        let m = read(SMALL).unwrap();
        assert_eq!(m.order(), 2);
        assert_eq!(m.vocab, vec!["<unk>", "<s>", "</s>", "a"]);
        assert_eq!(m.orders[0].prob[1], -99.0);
        assert_eq!(m.orders[0].backoff[2], 0.0);
        assert_eq!(m.orders[1].gram(0), &[1, 3]);
    }

    #[test]
    fn crlf_and_bom_read_the_same() {
        let crlf = format!("\u{feff}{}", SMALL.replace('\n', "\r\n"));
        assert_eq!(read(&crlf).unwrap(), read(SMALL).unwrap());
    }

    #[test]
    fn write_then_read_is_identity() {
        let m = read(SMALL).unwrap();
        let mut out = Vec::new();
        write_arpa(&m, &mut out).unwrap();
        assert_eq!(read(std::str::from_utf8(&out).unwrap()).unwrap(), m);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            (SMALL.replace("ngram 2=2", "ngram 3=2"), 5, "consecutive"),
            (SMALL.replace("-0.3\ta", "-0.x\ta"), 11, "bad log10 probability"),
            (SMALL.replace("-0.3\ta", "nan\ta"), 11, "not finite"),
            (SMALL.replace("-0.3\ta", "0.3\ta"), 11, "positive"),
            (SMALL.replace("ngram 1=4", "ngram 1=5"), 12, "fewer n-grams"),
            (SMALL.replace("ngram 1=4", "ngram 1=3"), 11, "expected \\2-grams:"),
            (SMALL.replace("-0.2\ta </s>", "-0.2\ta </s>\t-0.1"), 15, "highest order"),
            (SMALL.replace("\\end\\\n", ""), 16, "missing \\end\\"),
        ];
        for (text, line, needle) in cases {
            let err = read(&text).unwrap_err().to_string();
            assert!(err.contains(&format!("t.arpa:{line}:")), "{err}");
            assert!(err.contains(needle), "{err}");
        }
        let err = read("\\data\\\nngram 1=1\n\n\\1-grams:\n-1\t<s>\n\n\\end\\\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no </s>"), "{err}");
    }

    #[test]
    fn missing_unk_gets_minus_100_and_a_warning() {
        let text = SMALL.replace("ngram 1=4", "ngram 1=3").replace("-1\t<unk>\t0\n", "");
        let mut warnings = Vec::new();
        let m = read_arpa(text.as_bytes(), "t", &mut |w| warnings.push(w)).unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(m.find_word("<unk>"), Some(3));
        assert_eq!(m.orders[0].prob[3], MISSING_UNK_LOG10);
    }

    #[test]
    fn nan_never_reaches_a_file() {
        let mut m = read(SMALL).unwrap();
        m.orders[1].prob[0] = f32::NAN;
        let mut out = Vec::new();
        let err = write_arpa(&m, &mut out).unwrap_err();
        assert!(err.to_string().contains("non-finite"), "{err}");
        assert!(out.is_empty());
    }

    #[test]
    fn vertical_tab_stays_in_a_word() {
        let text = SMALL
            .replace("\ta\t", "\ta\u{b}b\t")
            .replace("<s> a", "<s> a\u{b}b")
            .replace("\ta </s>", "\ta\u{b}b </s>");
        let m = read(&text).unwrap();
        assert_eq!(m.vocab[3], "a\u{b}b");
    }
}
