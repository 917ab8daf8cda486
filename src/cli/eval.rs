//! `mt eval`: the scoring commands.
//!
//! `mt eval bleu|chrf|ter --ref R [--ref R2 ...] [HYP ...]` scores like sacreBLEU 2.6.0's
//! command line: the same numbers, signature and score line (`--json`: the schema in
//! [`crate::eval`]). Files are read as sacreBLEU reads them: a UTF-8 byte-order mark stays
//! part of the first line (with a warning; `--strip-bom` removes it), trailing whitespace
//! (`\r` included) is stripped, and invalid UTF-8 is an error naming the file and line.
//!
//! Differences from `sacrebleu`: text is the default output (sacreBLEU's default is JSON);
//! standard input holds one system (sacreBLEU splits a tab-separated stdin into several).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use crate::eval::bootstrap::{bootstrap_ci, paired_bootstrap, DEFAULT_SAMPLES, DEFAULT_SEED};
use crate::eval::python_str::py_rstrip;
use crate::eval::report::{number, Report};
use crate::eval::{
    Bleu, BleuConfig, BleuTokenizer, Chrf, ChrfConfig, CorpusStats, NumRefs, References, Smoothing,
    Ter, TerConfig,
};
use crate::text::{display_name, LineReader, ReadOptions};

/// Options of `mt eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The metric.
    #[command(subcommand)]
    pub metric: Metric,
}

/// The metrics `mt eval` computes.
#[derive(Debug, Subcommand)]
pub enum Metric {
    /// Alignment error rate, precision and recall against a gold alignment.
    Aer(super::aer::AerArgs),
    /// BLEU as sacreBLEU 2.6.0 computes it (13a tokenizer, exp smoothing by default).
    Bleu(BleuArgs),
    /// chrF2 as sacreBLEU 2.6.0 computes it; chrF++ with `--word-order 2`.
    Chrf(ChrfArgs),
    /// TER as sacreBLEU 2.6.0 computes it (Tercom's defaults: case-insensitive).
    Ter(TerArgs),
}

/// Options shared by `mt eval bleu|chrf|ter`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// A reference file; repeat for several references per segment.
    #[arg(long = "ref", short = 'r', value_name = "REF", required = true)]
    pub refs: Vec<PathBuf>,
    /// The reference file holds this many tab-separated references a line.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub num_refs: usize,
    /// Hypothesis file(s), one segment a line; none or `-` reads standard input.
    /// Several files score several systems (the first is the baseline of a paired test).
    #[arg(value_name = "HYP")]
    pub hyps: Vec<PathBuf>,
    /// Score every segment on its own (sentence BLEU uses effective order).
    #[arg(long)]
    pub sentence_level: bool,
    /// Write JSON (the schema is in the `mt::eval` documentation) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Paired bootstrap resampling of two or more systems against the first (Koehn 2004).
    #[arg(long)]
    pub paired_bootstrap: bool,
    /// Bootstrap confidence interval of a single system (sacreBLEU's `--confidence`).
    #[arg(long)]
    pub confidence: bool,
    /// Number of bootstrap resamples.
    #[arg(long, default_value_t = DEFAULT_SAMPLES, value_name = "N")]
    pub bootstrap_samples: usize,
    /// Seed of the resampling (sacreBLEU's default; NumPy's generator is reproduced).
    #[arg(long, default_value_t = DEFAULT_SEED, value_name = "SEED")]
    pub seed: u64,
    /// Decimals of the printed score (0 to 16).
    #[arg(long, short = 'w', default_value_t = 1, value_name = "N", value_parser = parse_width)]
    pub width: usize,
    /// Print the short form of the signature.
    #[arg(long)]
    pub short: bool,
    /// Print only the score.
    #[arg(long, short = 'b')]
    pub score_only: bool,
    /// Remove a UTF-8 byte-order mark at the start of a file (sacreBLEU keeps it).
    #[arg(long)]
    pub strip_bom: bool,
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    #[arg(long)]
    pub lossy_utf8: bool,
}

/// Options of `mt eval bleu`.
#[derive(Debug, Args)]
pub struct BleuArgs {
    /// Options shared by every metric.
    #[command(flatten)]
    pub common: ScoreArgs,
    /// Lower-case hypotheses and references first.
    #[arg(long, short = 'l')]
    pub lowercase: bool,
    /// Tokenizer: 13a, intl or none.
    #[arg(long, default_value = "13a", value_name = "TOK")]
    pub tokenize: BleuTokenizer,
    /// Smoothing: exp, floor, add-k or none.
    #[arg(long, default_value = "exp", value_name = "METHOD")]
    pub smooth_method: String,
    /// Value for floor (default 0.1) and add-k (default 1) smoothing, in [0, 1e6].
    #[arg(long, value_name = "X", value_parser = parse_smooth_value)]
    pub smooth_value: Option<f64>,
}

/// Options of `mt eval chrf`.
#[derive(Debug, Args)]
pub struct ChrfArgs {
    /// Options shared by every metric.
    #[command(flatten)]
    pub common: ScoreArgs,
    /// Lower-case hypotheses and references first.
    #[arg(long, short = 'l')]
    pub lowercase: bool,
    /// Character n-gram order (1 to 6).
    #[arg(long, default_value_t = 6, value_name = "N")]
    pub char_order: usize,
    /// Word n-gram order: 0 for chrF, 2 for chrF++.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub word_order: usize,
    /// Weight of recall against precision.
    #[arg(long, default_value_t = 2, value_name = "B")]
    pub beta: u32,
    /// Keep whitespace inside character n-grams.
    #[arg(long)]
    pub whitespace: bool,
    /// Average per-order F-scores (chrF++.py, Moses, NLTK) instead of effective order.
    #[arg(long)]
    pub eps_smoothing: bool,
}

/// Options of `mt eval ter`.
#[derive(Debug, Args)]
pub struct TerArgs {
    /// Options shared by every metric.
    #[command(flatten)]
    pub common: ScoreArgs,
    /// Keep case (TER lower-cases by default).
    #[arg(long)]
    pub case_sensitive: bool,
    /// Tokenize punctuation and unescape XML entities (Tercom's normalization).
    #[arg(long)]
    pub normalized: bool,
    /// Remove punctuation.
    #[arg(long)]
    pub no_punct: bool,
}

/// The most decimals `--width` prints (f64 holds about 16 significant digits).
pub const MAX_WIDTH: usize = 16;

fn parse_width(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(w) if w <= MAX_WIDTH => Ok(w),
        Ok(_) => Err(format!("{s} decimals is too many (at most {MAX_WIDTH})")),
        Err(e) => Err(format!("`{s}` is not a number of decimals: {e}")),
    }
}

/// The largest `--smooth-value`: larger ones overflow BLEU's precisions to infinity.
pub const MAX_SMOOTH_VALUE: f64 = 1e6;

/// Parses `--smooth-value`: finite and in [0, 1e6] (sacreBLEU takes any float, and a
/// negative one makes it fail on the logarithm of a negative precision).
fn parse_smooth_value(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|e| format!("`{s}` is not a number: {e}"))?;
    if !x.is_finite() {
        return Err(format!("{s} is not a finite number"));
    }
    if !(0.0..=MAX_SMOOTH_VALUE).contains(&x) {
        return Err(format!("{s} is out of range: it must lie in [0, {MAX_SMOOTH_VALUE:e}]"));
    }
    Ok(x)
}

/// Runs `mt eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    match args.metric {
        Metric::Aer(a) => super::aer::run(a),
        Metric::Bleu(a) => {
            let smoothing = match (a.smooth_method.as_str(), a.smooth_value) {
                ("exp", _) => Smoothing::Exp,
                ("none", _) => Smoothing::None,
                ("floor", v) => Smoothing::Floor(v.unwrap_or(0.1)),
                ("add-k", v) => Smoothing::AddK(v.unwrap_or(1.0)),
                (m, _) => bail!("unknown smoothing method {m:?} (exp, floor, add-k or none)"),
            };
            let config = BleuConfig {
                lowercase: a.lowercase,
                tokenizer: a.tokenize,
                smoothing,
                effective_order: a.common.sentence_level,
            };
            score(&Scorer::Bleu(Bleu::new(config)), &a.common)
        }
        Metric::Chrf(a) => {
            let chrf = Chrf::new(ChrfConfig {
                char_order: a.char_order,
                word_order: a.word_order,
                beta: a.beta,
                lowercase: a.lowercase,
                whitespace: a.whitespace,
                eps_smoothing: a.eps_smoothing,
            })?;
            score(&Scorer::Chrf(chrf), &a.common)
        }
        Metric::Ter(a) => {
            let ter = Ter::new(TerConfig {
                normalized: a.normalized,
                no_punct: a.no_punct,
                case_sensitive: a.case_sensitive,
            });
            score(&Scorer::Ter(ter), &a.common)
        }
    }
}

/// The metric of one `mt eval` run.
enum Scorer {
    Bleu(Bleu),
    Chrf(Chrf),
    Ter(Ter),
}

impl Scorer {
    fn metric(&self) -> &dyn crate::eval::Metric {
        match self {
            Scorer::Bleu(m) => m,
            Scorer::Chrf(m) => m,
            Scorer::Ter(m) => m,
        }
    }

    /// The report for summed statistics.
    fn report(&self, stats: &[f64], nrefs: NumRefs) -> Report {
        match self {
            Scorer::Bleu(m) => m.score_from(stats, nrefs).report(),
            Scorer::Chrf(m) => m.score_from(stats, nrefs).report(),
            Scorer::Ter(m) => m.score_from(stats, nrefs).report(),
        }
    }
}

/// Reads a whole file as sacreBLEU's command line does (every line right-stripped); warns
/// about a byte-order mark it keeps.
fn read_segments(path: &Path, what: &str, args: &ScoreArgs) -> anyhow::Result<Vec<String>> {
    let opts =
        ReadOptions { strip_bom: args.strip_bom, lossy_utf8: args.lossy_utf8, offers_lossy: true };
    let mut reader = LineReader::open(path, opts)?;
    let mut lines = Vec::new();
    for line in reader.by_ref() {
        // sacreBLEU's command line strips every line it reads (its API does not).
        let mut line = line?;
        line.truncate(py_rstrip(&line).len());
        lines.push(line);
    }
    if reader.started_with_bom() && !args.strip_bom {
        eprintln!(
            "mt: warning: {what} file starts with a UTF-8 BOM: {} (kept, as sacreBLEU does; \
             --strip-bom removes it)",
            display_name(path)
        );
    }
    Ok(lines)
}

/// `--num-refs N`: the one reference file holds N tab-separated references a line.
fn split_tab_references(
    streams: &[Vec<String>],
    paths: &[PathBuf],
    n: usize,
) -> anyhow::Result<Vec<Vec<String>>> {
    if streams.len() != 1 {
        bail!("--num-refs {n} reads one reference file with {n} tab-separated references a line");
    }
    let mut out = vec![Vec::with_capacity(streams[0].len()); n];
    for (i, line) in streams[0].iter().enumerate() {
        let fields: Vec<&str> = line.splitn(n, '\t').collect();
        if fields.len() != n {
            bail!(
                "{}:{}: expected {n} tab-separated references, found {}",
                display_name(&paths[0]),
                i + 1,
                fields.len()
            );
        }
        for (stream, f) in out.iter_mut().zip(fields) {
            stream.push(f.to_owned());
        }
    }
    Ok(out)
}

fn score(scorer: &Scorer, args: &ScoreArgs) -> anyhow::Result<()> {
    let hyp_paths: Vec<PathBuf> =
        if args.hyps.is_empty() { vec![PathBuf::from("-")] } else { args.hyps.clone() };
    if args.paired_bootstrap && hyp_paths.len() < 2 {
        bail!("--paired-bootstrap needs two or more hypothesis files (the first is the baseline)");
    }
    if args.sentence_level && (hyp_paths.len() > 1 || args.paired_bootstrap || args.confidence) {
        bail!("--sentence-level scores one system, without a statistical test");
    }
    if args.confidence && (hyp_paths.len() > 1 || args.paired_bootstrap) {
        bail!("--confidence is for one system; compare several with --paired-bootstrap");
    }
    let mut streams = Vec::with_capacity(args.refs.len());
    for path in &args.refs {
        streams.push(read_segments(path, "reference", args)?);
    }
    if args.num_refs > 1 {
        streams = split_tab_references(&streams, &args.refs, args.num_refs)?;
    }
    let mut systems = Vec::with_capacity(hyp_paths.len());
    for path in &hyp_paths {
        let hyps = read_segments(path, "hypothesis", args)?;
        if hyps.is_empty() {
            bail!("{}: no hypotheses (the file is empty)", display_name(path));
        }
        for (ref_path, stream) in args.refs.iter().zip(&streams) {
            if stream.len() != hyps.len() {
                bail!(
                    "{} hypotheses vs {} reference lines ({} vs {})",
                    hyps.len(),
                    stream.len(),
                    display_name(path),
                    display_name(ref_path)
                );
            }
        }
        systems.push(hyps);
    }
    let refs = References::new(streams)?;
    let empty = refs.empty_count();
    if empty > 0 {
        let s = if empty == 1 { "" } else { "s" };
        eprintln!(
            "mt: warning: {empty} empty reference{s} (scored as length 0, as sacreBLEU does)"
        );
    }
    if matches!(scorer, Scorer::Bleu(_)) {
        for (hyps, path) in systems.iter().zip(&hyp_paths) {
            let tokenized = hyps.iter().filter(|h| h.ends_with(" .")).count();
            if tokenized >= 100 {
                eprintln!(
                    "mt: warning: {}: {tokenized} lines end in a tokenized period (' .'); \
                     BLEU expects detokenized text",
                    display_name(path)
                );
            }
        }
    }
    let names: Vec<String> = hyp_paths.iter().map(|p| display_name(p)).collect();
    if args.sentence_level {
        return sentence_level(scorer, &systems[0], &refs, args);
    }
    if args.paired_bootstrap {
        return paired(scorer, &systems, &names, &refs, args);
    }
    let mut reports = Vec::with_capacity(systems.len());
    for (hyps, name) in systems.iter().zip(&names) {
        let stats = CorpusStats::compute(scorer.metric(), hyps, &refs)
            .with_context(|| format!("scoring {name}"))?;
        let nrefs = refs.num_refs();
        let mut r = scorer.report(&stats.sum(), nrefs).width(args.width);
        let mut sig = scorer.metric().signature(nrefs);
        if args.confidence {
            let n = args.bootstrap_samples;
            let (mean, ci) = bootstrap_ci(scorer.metric(), hyps, &refs, n, args.seed)?;
            r = r.confidence(mean, ci);
            sig = sig.with_bootstrap(n, &args.seed.to_string());
        }
        let mut r = r.signature(sig, args.short);
        if systems.len() > 1 {
            r = r.system(name.clone());
        }
        reports.push(r);
    }
    print_reports(&reports, args);
    Ok(())
}

fn print_reports(reports: &[Report], args: &ScoreArgs) {
    if args.json {
        if reports.len() == 1 {
            println!("{}", reports[0].json());
        } else {
            let all: Vec<String> = reports.iter().map(Report::json).collect();
            println!("[\n{}\n]", all.join(",\n"));
        }
        return;
    }
    for r in reports {
        let prefix = r.system_name().map(|s| format!("{s}: ")).unwrap_or_default();
        if args.score_only {
            println!("{prefix}{:.*}", args.width, r.rounded());
        } else {
            println!("{prefix}{}", r.line());
        }
    }
}

fn sentence_level(
    scorer: &Scorer,
    hyps: &[String],
    refs: &References,
    args: &ScoreArgs,
) -> anyhow::Result<()> {
    let stats = CorpusStats::compute(scorer.metric(), hyps, refs)?;
    let mut out = String::new();
    for i in 0..stats.len() {
        let nrefs = NumRefs::Fixed(refs.segment(i).len());
        let r = scorer.report(stats.row(i), nrefs).width(args.width);
        let sig = scorer.metric().signature(nrefs);
        let r = r.signature(sig, args.short);
        let line = if args.json {
            serde_json::to_string(&r).context("writing JSON")?
        } else if args.score_only {
            format!("{:.*}", args.width, r.rounded())
        } else {
            r.line()
        };
        out.push_str(&line);
        out.push('\n');
    }
    use std::io::Write;
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

fn paired(
    scorer: &Scorer,
    systems: &[Vec<String>],
    names: &[String],
    refs: &References,
    args: &ScoreArgs,
) -> anyhow::Result<()> {
    let metric = scorer.metric();
    let n = args.bootstrap_samples;
    let results = paired_bootstrap(metric, systems, refs, n, args.seed)?;
    let sig = metric.signature(refs.num_refs()).with_bootstrap(n, &args.seed.to_string());
    let name = metric.name();
    let w = args.width;
    if args.json {
        let reports: Vec<Report> = results
            .iter()
            .zip(names)
            .enumerate()
            .map(|(k, (r, system))| {
                let label = if k == 0 { format!("Baseline: {system}") } else { system.clone() };
                Report::new(name.clone(), r.score)
                    .system(label)
                    .signature(sig.clone(), false)
                    .width(w)
                    .exact("mean", number(r.mean))
                    .exact("ci", number(r.ci))
                    .exact("p_value", r.p_value.map_or(serde_json::Value::Null, number))
            })
            .collect();
        let all: Vec<String> = reports.iter().map(Report::json).collect();
        println!("[\n{}\n]", all.join(",\n"));
        return Ok(());
    }
    let labels: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(k, s)| if k == 0 { format!("Baseline: {s}") } else { s.clone() })
        .collect();
    let label_w = labels.iter().map(|l| l.chars().count()).max().unwrap_or(6).max(6);
    println!("{:>label_w$}  {name} (μ ± 95% CI)", "System");
    for (label, r) in labels.iter().zip(&results) {
        let mut cell = format!("{:.w$} ({:.w$} ± {:.w$})", r.score, r.mean, r.ci);
        if let Some(p) = r.p_value {
            cell.push_str(&format!(" (p = {p:.4})"));
            if p <= 0.05 {
                cell.push('*');
            }
        }
        println!("{label:>label_w$}  {cell}");
    }
    println!();
    println!("Paired bootstrap resampling test with {n} resampling trials; each system is");
    println!("compared to the baseline. p < 0.05 is marked with \"*\": the difference is unlikely");
    println!("to be due to chance (it does not say which system is better).");
    println!();
    println!("{name}|{}", sig.format(args.short));
    Ok(())
}
