//! `mt align`: train word-alignment models on a bitext and print its alignment.
//!
//! Output is one Pharaoh line per input line (`i-j`, source position first, 0-based),
//! an empty line for an empty pair. Training figures go to stderr.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context;
use indicatif::ProgressBar;
use smt::align::{
    Aligner, Decoding, Direction, Heuristic, IterationStats, Links, ModelKind, TrainConfig,
    TrainObserver,
};

use crate::bitext::{check_readable, read_bitext_into, BitextOptions, BitextSource, OnBadLine};
use crate::output::{refuse_overwriting_input, AtomicOutput};
use crate::progress;
use crate::text::ReadOptions;

/// The model families of `--model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelArg {
    /// IBM Model 1 with NULL (Brown et al. 1993).
    Ibm1,
    /// fast_align's diagonal Model 2 (Dyer et al. 2013).
    Ibm2,
    /// HMM alignment (Vogel et al. 1996) after Model 1, both directions trained by
    /// agreement (Liang et al. 2006) unless --independent.
    Hmm,
}

/// How links are read off the posteriors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DecodeArg {
    /// Most probable position per word, NULL included (Viterbi for ibm1/ibm2).
    Argmax,
    /// Every link whose posterior exceeds --threshold.
    Posterior,
}

/// Options of `mt align`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Reads --source/--target files, or one `src ||| tgt` file with \
    --input, or that format on stdin when neither is given. Every input may be gzipped.")]
pub struct AlignArgs {
    /// Source side, one sentence per line.
    #[arg(long, short = 's', value_name = "FILE", requires = "target", conflicts_with = "input")]
    pub source: Option<PathBuf>,
    /// Target side, line-parallel to --source.
    #[arg(long, short = 't', value_name = "FILE", requires = "source")]
    pub target: Option<PathBuf>,
    /// One file of `source ||| target` lines (fast_align's format); `-` is stdin.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Where the alignment goes (`-` is stdout).
    #[arg(long, short = 'o', value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
    /// The model to train.
    #[arg(long, value_enum, default_value_t = ModelArg::Hmm)]
    pub model: ModelArg,
    /// Align the other way: each source word picks a target word (fast_align -r). The
    /// output stays source-first.
    #[arg(long, conflicts_with = "symmetrize")]
    pub reverse: bool,
    /// Train both directions and combine them: an atools heuristic (intersect, union,
    /// grow-diag, grow-diag-final, grow-diag-final-and) over the two directional
    /// alignments, or `agreement`: link where the geometric mean of the two
    /// directions' posteriors exceeds --agreement-threshold.
    #[arg(long, value_name = "HOW", value_parser = parse_symmetrize)]
    pub symmetrize: Option<Symmetrize>,
    /// Train the two HMM directions independently. By default `--model hmm` trains them
    /// jointly, by agreement (Liang, Taskar and Klein 2006): each HMM iteration counts a
    /// link by the product of both directions' posteriors, so both directions are
    /// trained even when one is printed. ibm1 and ibm2 always train independently.
    #[arg(long, conflicts_with = "load_model")]
    pub independent: bool,
    /// Threshold of --symmetrize agreement (chosen on the Hansards trial set from a
    /// wide plateau, 0.05-0.25).
    #[arg(long, value_name = "P", default_value_t = 0.15)]
    pub agreement_threshold: f64,
    /// Model 1 iterations [default: 5 for ibm1 and hmm (GIZA++ m1=5), 0 for ibm2].
    #[arg(long, value_name = "N")]
    pub ibm1_iterations: Option<usize>,
    /// Model 2 EM updates; the default 4 matches fast_align's `-I 5`, whose last
    /// iteration only aligns.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub ibm2_iterations: usize,
    /// HMM iterations after Model 1 (GIZA++ in Moses: hmm=5).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub hmm_iterations: usize,
    /// Model 2 updates between Model 1 and the HMM (0: the HMM starts from Model 1).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub hmm_ibm2_iterations: usize,
    /// Model 2's NULL probability (fast_align -q).
    #[arg(long, value_name = "P", default_value_t = 0.08)]
    pub p_null: f64,
    /// Model 2's starting diagonal tension (fast_align -T).
    #[arg(long, value_name = "T", default_value_t = 4.0)]
    pub tension: f64,
    /// Keep the tension fixed (fast_align without -o).
    #[arg(long)]
    pub fixed_tension: bool,
    /// Model 2's Dirichlet prior on t (fast_align -v -a); 0 means plain EM.
    #[arg(long, value_name = "ALPHA", default_value_t = 0.01)]
    pub alpha: f64,
    /// HMM probability of a NULL state.
    #[arg(long, value_name = "P", default_value_t = 0.2)]
    pub hmm_p_null: f64,
    /// HMM jump widths with a class of their own (wider jumps share one class).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub hmm_max_jump: usize,
    /// HMM Dirichlet prior on t; 0 means plain EM.
    #[arg(long, value_name = "ALPHA", default_value_t = 0.0)]
    pub hmm_alpha: f64,
    /// How links are read off the posteriors [default: argmax for ibm1/ibm2, posterior
    /// for hmm].
    #[arg(long, value_enum)]
    pub decode: Option<DecodeArg>,
    /// Posterior threshold of --decode posterior.
    #[arg(long, value_name = "P", default_value_t = 0.5)]
    pub threshold: f64,
    /// Print link posteriors (`i-j:p`, those >= --posterior-min) instead of links; with
    /// --symmetrize, the mean of both directions.
    #[arg(long)]
    pub posteriors: bool,
    /// Smallest posterior printed by --posteriors.
    #[arg(long, value_name = "P", default_value_t = 0.01)]
    pub posterior_min: f64,
    /// After training, drop the t-table entries below max_p^4 of their row, as
    /// fast_align does when it exports its table; the pruned model is what aligns and
    /// what --save-model writes.
    #[arg(long)]
    pub prune_ttable: bool,
    /// Save the trained model in this directory (bincode).
    #[arg(long, value_name = "DIR")]
    pub save_model: Option<PathBuf>,
    /// Align with a saved model instead of training (force alignment).
    #[arg(long, value_name = "DIR", conflicts_with = "save_model")]
    pub load_model: Option<PathBuf>,
    /// Memory for the per-pair cache of t-table slots (4 bytes per source x target
    /// cell); the pairs past it hash every lookup (slower, same alignments)
    /// [default: a quarter of the available memory, between 512 and 4096 MB].
    #[arg(long, value_name = "MB")]
    pub cache_mb: Option<usize>,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Lowercase both sides before training.
    #[arg(long)]
    pub lowercase: bool,
    /// What to do with a line whose source or target side is empty.
    #[arg(long, value_enum, default_value_t = OnBadLine::Error)]
    pub on_bad_line: OnBadLine,
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    #[arg(long)]
    pub lossy_utf8: bool,
    /// No per-iteration figures on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// How two directions are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symmetrize {
    /// An atools heuristic over the two directional alignments.
    Heuristic(Heuristic),
    /// Thresholded geometric mean of the two directions' posteriors.
    Agreement,
}

fn parse_symmetrize(s: &str) -> Result<Symmetrize, String> {
    if s == "agreement" {
        return Ok(Symmetrize::Agreement);
    }
    s.parse().map(Symmetrize::Heuristic).map_err(|_| {
        let names: Vec<&str> = Heuristic::ALL.iter().map(|(_, n)| *n).collect();
        format!("unknown method `{s}` (expected one of: {}, agreement)", names.join(", "))
    })
}

impl AlignArgs {
    fn config(&self) -> TrainConfig {
        let model = match self.model {
            ModelArg::Ibm1 => ModelKind::Ibm1,
            ModelArg::Ibm2 => ModelKind::Ibm2,
            ModelArg::Hmm => ModelKind::Hmm,
        };
        let mut c = TrainConfig::new(model);
        if let Some(n) = self.ibm1_iterations {
            c.ibm1_iterations = n;
        }
        c.ibm2_iterations = self.ibm2_iterations;
        c.hmm_iterations = self.hmm_iterations;
        c.hmm_ibm2_iterations = self.hmm_ibm2_iterations;
        c.diagonal.p_null = self.p_null;
        c.diagonal.tension = self.tension;
        c.optimize_tension = !self.fixed_tension;
        c.ibm2_prior = (self.alpha > 0.0).then_some(self.alpha);
        c.hmm_prior = (self.hmm_alpha > 0.0).then_some(self.hmm_alpha);
        c.hmm_p_null = self.hmm_p_null;
        c.hmm_max_jump = self.hmm_max_jump;
        let mb = self.cache_mb.unwrap_or_else(default_cache_mb);
        c.slot_cache_cells = mb.saturating_mul(1 << 20) / 4;
        c
    }

    /// Whether training runs the HMM stage jointly over both directions.
    fn joint(&self) -> bool {
        self.model == ModelArg::Hmm && !self.independent
    }

    fn bitext_source(&self) -> BitextSource {
        match (&self.source, &self.target, &self.input) {
            (Some(s), Some(t), _) => BitextSource::Files { source: s.clone(), target: t.clone() },
            (_, _, Some(i)) => BitextSource::Joined(i.clone()),
            _ => BitextSource::Joined(PathBuf::from("-")),
        }
    }

    fn decoding(&self, kind: ModelKind) -> Decoding {
        let rule = self.decode.unwrap_or(if kind == ModelKind::Hmm {
            DecodeArg::Posterior
        } else {
            DecodeArg::Argmax
        });
        match rule {
            DecodeArg::Argmax => Decoding::Argmax,
            DecodeArg::Posterior => Decoding::Threshold(self.threshold),
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        let probability = |name: &str, p: f64, open_top: bool| {
            let ok = p.is_finite() && p >= 0.0 && if open_top { p < 1.0 } else { p <= 1.0 };
            anyhow::ensure!(ok, "--{name} must be a probability in [0, 1), got {p}");
            Ok(())
        };
        probability("p-null", self.p_null, true)?;
        probability("hmm-p-null", self.hmm_p_null, true)?;
        probability("threshold", self.threshold, false)?;
        probability("posterior-min", self.posterior_min, false)?;
        probability("agreement-threshold", self.agreement_threshold, false)?;
        anyhow::ensure!(
            self.tension.is_finite() && self.tension > 0.0,
            "--tension must be positive, got {}",
            self.tension
        );
        anyhow::ensure!(self.alpha.is_finite() && self.alpha >= 0.0, "--alpha must be >= 0");
        anyhow::ensure!(
            self.hmm_alpha.is_finite() && self.hmm_alpha >= 0.0,
            "--hmm-alpha must be >= 0"
        );
        anyhow::ensure!(self.threads != Some(0), "--threads must be at least 1");
        let mut inputs: Vec<(&str, &std::path::Path)> = Vec::new();
        for (option, path) in
            [("--source", &self.source), ("--target", &self.target), ("--input", &self.input)]
        {
            if let Some(p) = path {
                inputs.push((option, p));
            }
        }
        refuse_overwriting_input(("--output", &self.output), &inputs)
            .map_err(anyhow::Error::msg)?;

        Ok(())
    }
}

/// Draws a bar per pass and prints each iteration's figures.
struct Reporter {
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
    sentences: Mutex<(String, u64)>,
}

impl Reporter {
    fn finish(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.finish_and_clear();
        }
    }

    fn new_bar(&self) {
        let (label, len) = self.sentences.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut slot = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = slot.take() {
            b.finish_and_clear();
        }
        *slot = Some(progress::bar(len, &label));
    }
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Forward => "forward",
        Direction::Reverse => "reverse",
    }
}

impl TrainObserver for Reporter {
    fn stage_started(
        &self,
        d: Direction,
        stage: &'static str,
        iterations: usize,
        sentences: usize,
    ) {
        *self.sentences.lock().unwrap_or_else(|e| e.into_inner()) =
            (format!("{} {stage}", direction_name(d)), sentences as u64);
        if !self.quiet {
            eprintln!("mt align: {} {stage}: {iterations} iterations", direction_name(d));
        }
        self.new_bar();
    }

    fn sentences_done(&self, n: u64) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            b.inc(n);
        }
    }

    fn iteration_done(&self, s: &IterationStats) {
        self.new_bar();
        if self.quiet {
            return;
        }
        let tension = s.tension.map(|t| format!("  tension {t:.3}")).unwrap_or_default();
        let msg = format!(
            "mt align: {} {} iteration {}: log-likelihood {:.6e}  perplexity {:.3}  \
             NULL {:.4}{tension}  {:.2} s",
            direction_name(s.direction),
            s.stage,
            s.iteration,
            s.log_likelihood,
            s.perplexity,
            s.null_share,
            s.seconds
        );
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            b.suspend(|| eprintln!("{msg}"));
        } else {
            eprintln!("{msg}");
        }
    }
}

/// Runs `mt align`.
pub fn run(args: AlignArgs) -> anyhow::Result<()> {
    args.validate()?;
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting the worker threads")?;
    pool.install(|| run_in_pool(&args))
}

fn run_in_pool(args: &AlignArgs) -> anyhow::Result<()> {
    let read =
        ReadOptions { lossy_utf8: args.lossy_utf8, offers_lossy: true, ..ReadOptions::default() };
    let source = args.bitext_source();
    // Every input must open before any work (a wrong path is not a warning).
    check_readable(&source, read)?;
    let loaded = match &args.load_model {
        Some(dir) => Some(Aligner::load(dir).context("loading the model")?),
        None => None,
    };
    let opts = BitextOptions { lowercase: args.lowercase, on_bad_line: args.on_bad_line, read };
    let start = loaded.as_ref().map(Aligner::new_corpus).unwrap_or_default();
    let bitext = read_bitext_into(&source, &opts, start)?;
    if args.on_bad_line == OnBadLine::Warn {
        for (_, msg) in bitext.bad_lines.iter().take(10) {
            eprintln!("mt align: warning: {msg}; kept as an empty pair");
        }
        if bitext.bad_lines.len() > 10 {
            eprintln!(
                "mt align: warning: {} lines with an empty side in all",
                bitext.bad_lines.len()
            );
        }
    }
    let corpus = bitext.corpus;
    let directions: Vec<Direction> = match (args.symmetrize, args.reverse) {
        (Some(_), _) => vec![Direction::Forward, Direction::Reverse],
        (None, true) => vec![Direction::Reverse],
        (None, false) => vec![Direction::Forward],
    };
    let aligner = match loaded {
        Some(a) => a,
        None => {
            let config = args.config();
            if !args.quiet {
                eprintln!(
                    "mt align: {} pairs, {} source / {} target words; {} training; {config:?}",
                    corpus.len(),
                    corpus.source_vocab.len(),
                    corpus.target_vocab.len(),
                    if args.joint() { "joint (agreement)" } else { "independent" }
                );
            }
            let reporter = Reporter {
                quiet: args.quiet,
                bar: Mutex::new(None),
                sentences: Mutex::new((String::new(), 0)),
            };
            let mut a = if args.joint() {
                Aligner::train_joint(&corpus, &config, &reporter)
            } else {
                Aligner::train(&corpus, &config, &directions, &reporter)
            };
            reporter.finish();
            if args.prune_ttable {
                for m in [&mut a.forward, &mut a.reverse].into_iter().flatten() {
                    m.table.prune_like_fast_align();
                }
            }
            a
        }
    };
    if let Some(dir) = &args.save_model {
        aligner.save(dir).context("saving the model")?;
    }
    let rule = args.decoding(aligner.config.model);
    let mut out = AtomicOutput::create(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    if args.posteriors {
        let dir = if args.symmetrize.is_some() { None } else { Some(directions[0]) };
        for line in aligner.posteriors(&corpus, dir, args.posterior_min)? {
            let cells: Vec<String> =
                line.iter().map(|(i, j, p)| format!("{i}-{j}:{p:.4}")).collect();
            writeln!(out, "{}", cells.join(" "))?;
        }
    } else {
        let links: Vec<Links> = match args.symmetrize {
            Some(Symmetrize::Heuristic(h)) => {
                aligner.align_symmetric(&corpus, rule, h)?.symmetrized
            }
            Some(Symmetrize::Agreement) => {
                aligner.align_agreement(&corpus, args.agreement_threshold)?
            }
            None => aligner.align(&corpus, directions[0], rule)?,
        };
        write_links(&mut out, &links)?;
    }
    out.commit().with_context(|| format!("cannot write {}", args.output.display()))?;
    Ok(())
}

/// Writes one Pharaoh line per sentence.
pub fn write_links(out: &mut impl Write, links: &[Links]) -> std::io::Result<()> {
    let mut line = String::new();
    for l in links {
        line.clear();
        for (k, (i, j)) in l.iter().enumerate() {
            if k > 0 {
                line.push(' ');
            }
            line.push_str(&i.to_string());
            line.push('-');
            line.push_str(&j.to_string());
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// The default slot-cache budget: a quarter of `MemAvailable` in `/proc/meminfo`, kept
/// between 512 and 4096 MB (512 where the file cannot be read).
fn default_cache_mb() -> usize {
    let available_kb = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
    });
    available_kb.map_or(512, |kb| (kb / 1024 / 4).clamp(512, 4096))
}
