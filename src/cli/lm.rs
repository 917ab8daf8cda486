//! `mt lm`: estimate an n-gram language model (`train`), score text with one (`query`), and
//! turn an ARPA file into the binary format (`binarize`).
//!
//! Training reads text under the KenLM whitespace policy (only NUL, TAB, LF, CR and space
//! separate words; see [`crate::text::SpacePolicy::Kenlm`]) and estimates interpolated
//! modified Kneser-Ney exactly as KenLM's lmplz does. Literal `<s>`, `</s>` and `<unk>` in
//! the text are an error unless `--skip-symbols` drops them. A text too small or too
//! artificial for closed-form discounts is an error naming the order, unless
//! `--discount-fallback` is given.
//!
//! `query` prints what KenLM's `query` prints: per word `word=id ngram_length log10p`,
//! per sentence `Total: log10 OOV: count`, and at the end the perplexity including and
//! excluding OOVs (`--verbose sentence` or `summary` print less).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use smt::lm::{binary, discount::Discount, estimate, float_text, Corpus, EstimateOptions};
use smt::lm::{LanguageModel, LmError};

use crate::output::{refuse_overwriting_input, AtomicOutput};
use crate::text::{display_name, open_bytes, LineReader, ReadOptions};

/// Options of `mt lm`.
#[derive(Debug, Args)]
pub struct LmArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: LmCommand,
}

/// The subcommands of `mt lm`.
#[derive(Debug, Subcommand)]
pub enum LmCommand {
    /// Estimate an interpolated modified Kneser-Ney model (as KenLM's lmplz).
    Train(TrainArgs),
    /// Score text: log10 probability per word and sentence, perplexity at the end.
    Query(QueryArgs),
    /// Convert an ARPA file (plain or gzipped) into the binary model format.
    Binarize(BinarizeArgs),
}

/// Options of `mt lm train`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("out").required(true).multiple(true).args(["arpa", "model"])))]
pub struct TrainArgs {
    /// The order N of the model (lmplz -o).
    #[arg(long, short = 'o')]
    pub order: usize,
    /// Training text, one sentence a line (gzip is read transparently); `-` is stdin.
    #[arg(long, default_value = "-")]
    pub text: PathBuf,
    /// Write the model as an ARPA file (`-` for stdout).
    #[arg(long)]
    pub arpa: Option<PathBuf>,
    /// Write the model in the binary format that `mt lm query` and the decoder load fast.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// When an order's closed-form discounts do not exist (tiny or artificial text), use
    /// these discounts for adjusted counts 1, 2, 3+ instead of failing (default 0.5 1 1.5).
    #[arg(long, num_args = 0..=3, value_name = "D", default_missing_values = ["0.5", "1", "1.5"])]
    pub discount_fallback: Option<Vec<f32>>,
    /// Treat literal <s>, </s> and <unk> in the text as whitespace (with a warning)
    /// instead of stopping with an error.
    #[arg(long)]
    pub skip_symbols: bool,
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    #[arg(long)]
    pub lossy_utf8: bool,
}

/// How much `mt lm query` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Verbosity {
    /// Every word, every sentence total, and the summary (KenLM's default).
    Word,
    /// Sentence totals and the summary.
    Sentence,
    /// The summary only.
    Summary,
}

/// Options of `mt lm query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The model: an ARPA file (plain or gzipped) or a binary model.
    #[arg(long)]
    pub model: PathBuf,
    /// Text to score, one sentence a line; `-` is stdin.
    #[arg(long, default_value = "-")]
    pub text: PathBuf,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Verbosity::Word)]
    pub verbose: Verbosity,
    /// Score each line without <s> context and without </s> at its end.
    #[arg(long)]
    pub null_context: bool,
}

/// Options of `mt lm binarize`.
#[derive(Debug, Args)]
pub struct BinarizeArgs {
    /// The ARPA file to convert.
    #[arg(long)]
    pub arpa: PathBuf,
    /// The binary model to write.
    #[arg(long)]
    pub model: PathBuf,
}

/// Runs `mt lm`.
pub fn run(args: LmArgs) -> anyhow::Result<()> {
    match args.command {
        LmCommand::Train(a) => train(a),
        LmCommand::Query(a) => query(a),
        LmCommand::Binarize(a) => binarize(a),
    }
}

fn warn(message: impl std::fmt::Display) {
    eprintln!("mt: warning: {message}");
}

fn train(args: TrainArgs) -> anyhow::Result<()> {
    let fallback = match &args.discount_fallback {
        None => None,
        Some(v) => Some(fallback_discounts(v)?),
    };
    for (option, out) in [("--arpa", &args.arpa), ("--model", &args.model)] {
        if let Some(out) = out {
            refuse_overwriting_input((option, out), &[("--text", &args.text)])
                .map_err(anyhow::Error::msg)?;
        }
    }
    let name = display_name(&args.text);
    let opts = ReadOptions { strip_bom: true, lossy_utf8: args.lossy_utf8, offers_lossy: true };
    let mut reader = LineReader::open(&args.text, opts)?;
    let mut corpus = Corpus::new(args.skip_symbols);
    let spinner = crate::progress::spinner("reading");
    let mut warned = false;
    while let Some(line) = reader.next_line() {
        let line = line?;
        let before = corpus.skipped_symbols();
        if let Err(e) = corpus.add_sentence(kenlm_words(&line)) {
            bail!("{name}:{}: {e}", reader.line_number());
        }
        if !warned && corpus.skipped_symbols() > before {
            warned = true;
            warn(format_args!(
                "{name}:{}: the text contains <s>, </s> or <unk>; every instance is \
                 treated as whitespace (--skip-symbols)",
                reader.line_number()
            ));
        }
        if reader.line_number() % 65536 == 0 {
            spinner.set_position(reader.line_number() as u64);
        }
    }
    spinner.finish_and_clear();
    if corpus.sentences() == 0 {
        bail!("{name}: the training text is empty: there is nothing to estimate");
    }
    let est = EstimateOptions { order: args.order, fallback };
    let model = estimate(&corpus, &est, &mut |w| warn(w))
        .with_context(|| format!("estimating an order-{} model from {name}", args.order))?;
    if let Some(path) = &args.arpa {
        let mut out = AtomicOutput::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        smt::lm::write_arpa(&model, &mut out)
            .with_context(|| format!("writing {}", display_name(path)))?;
        out.commit().with_context(|| format!("writing {}", display_name(path)))?;
    }
    if let Some(path) = &args.model {
        let lm = LanguageModel::from_ngrams(&model)?;
        write_binary(&lm, path)?;
    }
    Ok(())
}

fn fallback_discounts(v: &[f32]) -> anyhow::Result<Discount> {
    let mut d = smt::lm::discount::FALLBACK;
    for (k, &x) in v.iter().enumerate() {
        if !(x.is_finite() && x >= 0.0 && x <= (k + 1) as f32) {
            bail!("--discount-fallback: D{} = {x} must lie in [0, {}]", k + 1, k + 1);
        }
        d.d[k + 1] = x;
    }
    // lmplz repeats the last given value for the missing ones.
    for k in v.len().max(1)..3 {
        if !v.is_empty() {
            d.d[k + 1] = d.d[k];
        }
    }
    Ok(d)
}

fn write_binary(lm: &LanguageModel, path: &Path) -> anyhow::Result<()> {
    let mut out =
        AtomicOutput::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    binary::save(lm, &mut out).with_context(|| format!("writing {}", display_name(path)))?;
    out.commit().with_context(|| format!("writing {}", display_name(path)))?;
    Ok(())
}

fn load(path: &Path) -> anyhow::Result<LanguageModel> {
    let lm = LanguageModel::load(path).map_err(|e| match e {
        LmError::Read { path, source } => anyhow::anyhow!("cannot read {path}: {source}"),
        other => other.into(),
    })?;
    for w in lm.warnings() {
        warn(w);
    }
    Ok(lm)
}

fn binarize(args: BinarizeArgs) -> anyhow::Result<()> {
    refuse_overwriting_input(("--model", &args.model), &[("--arpa", &args.arpa)])
        .map_err(anyhow::Error::msg)?;
    let lm = load(&args.arpa)?;
    write_binary(&lm, &args.model)
}

fn query(args: QueryArgs) -> anyhow::Result<()> {
    let lm = load(&args.model)?;
    let name = display_name(&args.text);
    let mut input = open_bytes(&args.text)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut buf = Vec::with_capacity(1 << 16);
    let mut line = Vec::new();
    let mut number = 0usize;
    let (mut ids, mut known, mut scores) = (Vec::new(), Vec::new(), Vec::new());
    let (mut corpus_total, mut corpus_oov_total) = (0f64, 0f64);
    let (mut corpus_oov, mut corpus_tokens) = (0u64, 0u64);
    let words = args.verbose == Verbosity::Word;
    let lines = args.verbose != Verbosity::Summary;
    loop {
        line.clear();
        let n = input.read_until(b'\n', &mut line).with_context(|| format!("reading {name}"))?;
        if n == 0 {
            break;
        }
        number += 1;
        // A missing final newline is not a missing line (the project's reading policy;
        // KenLM's query would drop that line's </s>).
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let mut text = &line[..];
        if number == 1 {
            text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        }
        let text = std::str::from_utf8(text).map_err(|e| {
            anyhow::anyhow!(
                "{name}:{number}: invalid UTF-8 at byte {} of the line",
                e.valid_up_to()
            )
        })?;
        let state =
            if args.null_context { lm.null_context_state() } else { lm.begin_sentence_state() };
        let mut total = 0f32;
        let mut oov = 0u64;
        ids.clear();
        known.clear();
        for word in kenlm_words(text) {
            let id = lm.lookup(word);
            known.push(id.is_some());
            ids.push(id.unwrap_or(lm.unk_id()));
        }
        scores.clear();
        let state = lm.score_words(&state, &ids, &mut scores);
        let surface: Vec<&str> = if words { kenlm_words(text).collect() } else { Vec::new() };
        for (i, (score, &in_vocab)) in scores.iter().zip(&known).enumerate() {
            if !in_vocab {
                oov += 1;
                corpus_oov_total += f64::from(score.log10p);
            }
            total += score.log10p;
            corpus_tokens += 1;
            if words {
                push_word(&mut buf, surface[i], ids[i], score.ngram_len, score.log10p);
            }
        }
        if !args.null_context {
            let (score, _) = lm.score_word_full(&state, lm.end_sentence_id());
            total += score.log10p;
            corpus_tokens += 1;
            if words {
                push_word(&mut buf, "</s>", lm.end_sentence_id(), score.ngram_len, score.log10p);
            }
        }
        if lines {
            buf.extend_from_slice(b"Total: ");
            float_text::push_f32(&mut buf, total);
            buf.extend_from_slice(b" OOV: ");
            buf.extend_from_slice(oov.to_string().as_bytes());
            buf.push(b'\n');
        }
        corpus_total += f64::from(total);
        corpus_oov += oov;
        if buf.len() >= 1 << 15 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    // KenLM prints nan for a perplexity over no tokens; say so instead.
    let ppl = |buf: &mut Vec<u8>, total: f64, tokens: u64| {
        if tokens == 0 {
            buf.extend_from_slice(b"undefined (no words)");
        } else {
            float_text::push_f64(buf, 10f64.powf(-(total / tokens as f64)));
        }
    };
    buf.extend_from_slice(b"Perplexity including OOVs:\t");
    ppl(&mut buf, corpus_total, corpus_tokens);
    buf.extend_from_slice(b"\nPerplexity excluding OOVs:\t");
    ppl(&mut buf, corpus_total - corpus_oov_total, corpus_tokens - corpus_oov);
    buf.extend_from_slice(format!("\nOOVs:\t{corpus_oov}\nTokens:\t{corpus_tokens}\n").as_bytes());
    out.write_all(&buf)?;
    out.flush()?;
    Ok(())
}

/// The words of `line` under [`crate::text::SpacePolicy::Kenlm`], split on bytes rather
/// than chars: the five separators are ASCII, so this equals [`crate::text::tokens`] (a test
/// checks it) and is faster on training and query input.
fn kenlm_words(line: &str) -> impl Iterator<Item = &str> {
    let bytes = line.as_bytes();
    let is_sep = |b: u8| matches!(b, 0 | b'\t' | b'\n' | b'\r' | b' ');
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() && is_sep(bytes[i]) {
            i += 1;
        }
        if i == bytes.len() {
            return None;
        }
        let start = i;
        while i < bytes.len() && !is_sep(bytes[i]) {
            i += 1;
        }
        // ASCII separators always sit on char boundaries.
        Some(&line[start..i])
    })
}

fn push_word(buf: &mut Vec<u8>, word: &str, id: u32, len: u8, log10p: f32) {
    buf.extend_from_slice(word.as_bytes());
    buf.push(b'=');
    buf.extend_from_slice(id.to_string().as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(len.to_string().as_bytes());
    buf.push(b' ');
    float_text::push_f32(buf, log10p);
    buf.push(b'\t');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{tokens, SpacePolicy};

    #[test]
    fn byte_split_equals_the_kenlm_policy() {
        let line = "  zwei\u{a0}Männer\tspielen\u{b}Fußball\r\0x  y\u{2028}z ";
        let ours: Vec<_> = kenlm_words(line).collect();
        let policy: Vec<_> = tokens(line, SpacePolicy::Kenlm).collect();
        assert_eq!(ours, policy);
        assert_eq!(ours.len(), 4);
    }
}
