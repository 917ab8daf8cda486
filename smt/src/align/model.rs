//! A trained directional model and the training pipeline that makes it.
//!
//! Stages run in order, each starting from the previous one's lexical table:
//! Model 1 (`ibm1_iterations`), then the diagonal Model 2 (`ibm2_iterations` for
//! [`ModelKind::Ibm2`]; `hmm_ibm2_iterations`, 0 by default, on the way to the HMM),
//! then the HMM (`hmm_iterations`, for [`ModelKind::Hmm`]).

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::corpus::{DirectedView, Direction};
use super::decoding::{decode, Decoding};
use super::hmm::{self, HmmParams};
use super::ibm1::{self, UniformPrior};
use super::ibm2::{DiagonalPrior, SizeCounts};
use super::ttable::{SlotCache, TTable};

/// Which model family a directional model is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelKind {
    /// IBM Model 1 with NULL (Brown et al. 1993).
    Ibm1,
    /// fast_align's diagonal Model 2 (Dyer et al. 2013).
    Ibm2,
    /// The HMM model (Vogel et al. 1996; Och and Ney 2003).
    Hmm,
}

/// Every training option, with the defaults documented per field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The final model.
    pub model: ModelKind,
    /// Model 1 iterations before the final stage (5 for `ibm1` and `hmm`, as GIZA++'s
    /// m1=5; 0 for `ibm2`, which fast_align trains from a uniform table).
    pub ibm1_iterations: usize,
    /// Model 2 parameter updates (4: fast_align's `-I 5` is 4 updates and a final
    /// pass that only aligns).
    pub ibm2_iterations: usize,
    /// HMM iterations (GIZA++ in Moses: hmm=5).
    pub hmm_iterations: usize,
    /// Model 2 updates between Model 1 and the HMM (0: the HMM starts from Model 1's
    /// table, as in Och and Ney 2003).
    pub hmm_ibm2_iterations: usize,
    /// The starting diagonal prior of Model 2 (fast_align: p_null 0.08, tension 4).
    pub diagonal: DiagonalPrior,
    /// Re-fit the tension after each Model 2 iteration (fast_align `-o`).
    pub optimize_tension: bool,
    /// Dirichlet prior of Model 2's lexical table (fast_align `-v -a 0.01`); `None` is
    /// plain EM.
    pub ibm2_prior: Option<f64>,
    /// Dirichlet prior of the HMM's lexical table; `None` is plain EM.
    pub hmm_prior: Option<f64>,
    /// HMM probability of a NULL state.
    pub hmm_p_null: f64,
    /// HMM jump widths with a class of their own.
    pub hmm_max_jump: usize,
    /// Most cells (4 bytes each) of the per-pair slot cache; the pairs past it hash their
    /// lookups instead (slower, but memory stays at the table's size).
    pub slot_cache_cells: usize,
}

impl TrainConfig {
    /// The defaults for `model`.
    pub fn new(model: ModelKind) -> Self {
        Self {
            model,
            ibm1_iterations: if model == ModelKind::Ibm2 { 0 } else { 5 },
            ibm2_iterations: 4,
            hmm_iterations: 5,
            hmm_ibm2_iterations: 0,
            diagonal: DiagonalPrior::default(),
            optimize_tension: true,
            ibm2_prior: Some(0.01),
            hmm_prior: None,
            hmm_p_null: 0.2,
            hmm_max_jump: 8,
            slot_cache_cells: 128 << 20,
        }
    }
}

/// Figures of one EM iteration, computed in its E-step (so under the parameters of the
/// previous iteration, as fast_align reports them).
#[derive(Debug, Clone, PartialEq)]
pub struct IterationStats {
    /// Which direction is being trained.
    pub direction: Direction,
    /// `ibm1`, `ibm2` or `hmm`.
    pub stage: &'static str,
    /// 1-based iteration number within the stage.
    pub iteration: usize,
    /// Natural-log likelihood of the generated side.
    pub log_likelihood: f64,
    /// exp(-log_likelihood / words).
    pub perplexity: f64,
    /// Share of generated words expected to come from NULL.
    pub null_share: f64,
    /// Model 2's tension after this iteration's update.
    pub tension: Option<f64>,
    /// Wall-clock seconds of the iteration.
    pub seconds: f64,
}

/// Receives progress while a model trains (the library itself never prints).
pub trait TrainObserver: Sync {
    /// A stage of `iterations` passes over `sentences` pairs begins.
    fn stage_started(
        &self,
        _direction: Direction,
        _stage: &'static str,
        _iterations: usize,
        _sentences: usize,
    ) {
    }
    /// `n` more sentence pairs were processed in the current pass.
    fn sentences_done(&self, _n: u64) {}
    /// An iteration finished.
    fn iteration_done(&self, _stats: &IterationStats) {}
}

/// An observer that ignores everything.
impl TrainObserver for () {}

/// A trained model for one direction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DirectionalModel {
    /// Which side is generated.
    pub direction: Direction,
    /// The model family.
    pub kind: ModelKind,
    /// t(generated word | conditioning word).
    pub table: TTable,
    /// Model 2's position prior.
    pub diagonal: Option<DiagonalPrior>,
    /// The HMM's transition parameters.
    pub hmm: Option<HmmParams>,
}

impl DirectionalModel {
    /// The link posteriors of one pair: `gen.len()` rows of `cond.len() + 1` values,
    /// NULL last in each row.
    pub fn posteriors(&self, cond: &[u32], gen: &[u32]) -> Vec<f64> {
        match (self.kind, &self.diagonal, &self.hmm) {
            (ModelKind::Hmm, _, Some(p)) => hmm::posteriors(&self.table, p, cond, gen),
            (ModelKind::Ibm2, Some(d), _) if !cond.is_empty() => {
                ibm1::posteriors(&self.table, cond, gen, d)
            }
            _ => ibm1::posteriors(&self.table, cond, gen, &UniformPrior),
        }
    }

    /// The links `(cond position, gen position)` of one pair.
    pub fn align_pair(&self, cond: &[u32], gen: &[u32], rule: Decoding) -> Vec<(u32, u32)> {
        if cond.is_empty() || gen.is_empty() {
            return Vec::new();
        }
        decode(&self.posteriors(cond, gen), cond.len(), gen.len(), rule)
    }

    /// Aligns every pair of `view` in parallel.
    pub fn align_all(&self, view: DirectedView<'_>, rule: Decoding) -> Vec<Vec<(u32, u32)>> {
        (0..view.len())
            .into_par_iter()
            .map(|k| {
                let (c, g) = view.pair(k);
                self.align_pair(c, g, rule)
            })
            .collect()
    }
}

/// Sends one iteration's figures to an observer.
pub(super) struct Report<'a> {
    /// Where the figures go.
    pub observer: &'a dyn TrainObserver,
    /// The direction being trained.
    pub direction: Direction,
    /// Generated words that EM explains (for perplexity and the NULL share).
    pub words: f64,
}

impl Report<'_> {
    /// One iteration of `stage` finished.
    pub fn done(
        &self,
        stage: &'static str,
        iteration: usize,
        log_likelihood: f64,
        null: f64,
        tension: Option<f64>,
        start: Instant,
    ) {
        self.observer.iteration_done(&IterationStats {
            direction: self.direction,
            stage,
            iteration,
            log_likelihood,
            perplexity: (-log_likelihood / self.words).exp(),
            null_share: null / self.words,
            tension,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
}

/// Trains one direction on `view` with `config`.
pub fn train(
    view: DirectedView<'_>,
    direction: Direction,
    config: &TrainConfig,
    observer: &dyn TrainObserver,
) -> DirectionalModel {
    let table = TTable::from_cooccurrence(view);
    let cache = SlotCache::build(&table, view, config.slot_cache_cells);
    let cache = Some(&cache);
    let mut model = train_lexical(view, direction, config, observer, table, cache);
    if config.model == ModelKind::Hmm {
        // Stage 3: the HMM.
        let report = Report { observer, direction, words: view.trained_gen_words().max(1) as f64 };
        let progress = |n: u64| observer.sentences_done(n);
        let mut params = HmmParams::uniform(config.hmm_p_null, config.hmm_max_jump);
        observer.stage_started(direction, "hmm", config.hmm_iterations, view.len());
        for it in 1..=config.hmm_iterations {
            let start = Instant::now();
            let c = hmm::e_step(&model.table, &params, view, cache, &progress);
            model.table.normalize(&c.counts, config.hmm_prior);
            hmm::update_transitions(&mut params, &c);
            report.done("hmm", it, c.log_likelihood, c.null_count, None, start);
        }
        model.kind = ModelKind::Hmm;
        model.hmm = Some(params);
    }
    model
}

/// The stages before the HMM: Model 1, then Model 2 where `config` asks for it, from
/// `table` (built by [`TTable::from_cooccurrence`] on `view`).
pub(super) fn train_lexical(
    view: DirectedView<'_>,
    direction: Direction,
    config: &TrainConfig,
    observer: &dyn TrainObserver,
    mut table: TTable,
    cache: Option<&SlotCache>,
) -> DirectionalModel {
    let words = view.trained_gen_words().max(1) as f64;
    let progress = |n: u64| observer.sentences_done(n);
    let report = Report { observer, direction, words };

    // Stage 1: Model 1.
    if config.ibm1_iterations > 0 {
        observer.stage_started(direction, "ibm1", config.ibm1_iterations, view.len());
    }
    for it in 1..=config.ibm1_iterations {
        let start = Instant::now();
        let c = ibm1::e_step(&table, view, cache, &UniformPrior, &progress);
        table.normalize(&c.counts, None);
        report.done("ibm1", it, c.log_likelihood, c.null_count, None, start);
    }
    let mut model =
        DirectionalModel { direction, kind: ModelKind::Ibm1, table, diagonal: None, hmm: None };
    let ibm2_iterations = match config.model {
        ModelKind::Ibm1 => 0,
        ModelKind::Ibm2 => config.ibm2_iterations,
        ModelKind::Hmm => config.hmm_ibm2_iterations,
    };
    if ibm2_iterations > 0 {
        // Stage 2: fast_align's Model 2.
        let sizes = SizeCounts::of(view);
        let mut prior = config.diagonal;
        observer.stage_started(direction, "ibm2", ibm2_iterations, view.len());
        for it in 1..=ibm2_iterations {
            let start = Instant::now();
            let c = ibm1::e_step(&model.table, view, cache, &prior, &progress);
            if config.optimize_tension && it > 1 {
                prior.optimize_tension(&sizes, c.feature / words);
            }
            model.table.normalize(&c.counts, config.ibm2_prior);
            let t = Some(prior.tension);
            report.done("ibm2", it, c.log_likelihood, c.null_count, t, start);
        }
        model.kind = ModelKind::Ibm2;
        model.diagonal = Some(prior);
    }
    model
}

#[cfg(test)]
mod tests {
    use super::super::corpus::ParallelCorpus;
    use super::*;
    use std::sync::Mutex;

    /// A synthetic bitext: target = source words mapped one to one, with local swaps
    /// and an occasional extra function word.
    fn synthetic() -> ParallelCorpus {
        let mut c = ParallelCorpus::new();
        let mut state = 12345u64;
        let mut next = |m: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) % m
        };
        for _ in 0..300 {
            let len = 3 + next(8) as usize;
            let src: Vec<String> = (0..len).map(|_| format!("s{}", next(30))).collect();
            let mut tgt: Vec<String> = src.iter().map(|w| w.replace('s', "t")).collect();
            if len > 3 && next(2) == 0 {
                let k = next(len as u64 - 1) as usize;
                tgt.swap(k, k + 1);
            }
            if next(3) == 0 {
                tgt.insert(next(len as u64) as usize, "de".to_owned());
            }
            c.push_pair(src.iter().map(String::as_str), tgt.iter().map(String::as_str));
        }
        c
    }

    struct Recorder(Mutex<Vec<IterationStats>>);

    impl TrainObserver for Recorder {
        fn iteration_done(&self, s: &IterationStats) {
            self.0.lock().unwrap().push(s.clone());
        }
    }

    fn run(config: &TrainConfig) -> (DirectionalModel, Vec<IterationStats>) {
        let c = synthetic();
        let rec = Recorder(Mutex::new(Vec::new()));
        let m = train(c.view(Direction::Forward), Direction::Forward, config, &rec);
        (m, rec.0.into_inner().unwrap())
    }

    fn assert_non_decreasing(stats: &[IterationStats], stage: &str) {
        let lls: Vec<f64> =
            stats.iter().filter(|s| s.stage == stage).map(|s| s.log_likelihood).collect();
        assert!(lls.len() > 3);
        for w in lls.windows(2) {
            assert!(w[1] >= w[0] - 1e-9 * w[0].abs(), "{stage}: {lls:?}");
        }
        assert!(stats.iter().all(|s| s.log_likelihood.is_finite() && s.perplexity.is_finite()));
    }

    fn assert_rows_sum_to_one(m: &DirectionalModel) {
        for (_, row) in m.table.rows() {
            let sum: f64 = row.iter().map(|(_, p)| p).sum();
            assert!((sum - 1.0).abs() < 1e-9, "{sum}");
        }
    }

    #[test]
    fn a_partial_or_absent_slot_cache_trains_the_same_model() {
        let c = synthetic();
        let cells: usize = (0..c.view(Direction::Forward).len())
            .map(|k| {
                let (cond, gen) = c.view(Direction::Forward).pair(k);
                (cond.len() + 1) * gen.len()
            })
            .sum();
        for kind in [ModelKind::Ibm2, ModelKind::Hmm] {
            let mut config = TrainConfig::new(kind);
            let (full, full_stats) = run(&config);
            for budget in [0, cells / 3] {
                config.slot_cache_cells = budget;
                let cache = SlotCache::build(
                    &TTable::from_cooccurrence(c.view(Direction::Forward)),
                    c.view(Direction::Forward),
                    budget,
                );
                assert!(cache.covered() < 300, "{budget}: {} pairs", cache.covered());
                assert_eq!(cache.pair(cache.covered()), None);
                let (m, stats) = run(&config);
                for (a, b) in full_stats.iter().zip(&stats) {
                    let d = (a.log_likelihood - b.log_likelihood).abs();
                    assert!(d <= 1e-9 * a.log_likelihood.abs(), "{kind:?} {budget}: {a:?} {b:?}");
                }
                for ((_, ra), (_, rb)) in full.table.rows().zip(m.table.rows()) {
                    for ((ga, pa), (gb, pb)) in ra.iter().zip(rb.iter()) {
                        assert_eq!(ga, gb);
                        assert!((pa - pb).abs() < 1e-12, "{kind:?} {budget}: {pa} vs {pb}");
                    }
                }
            }
        }
    }

    #[test]
    fn model2_em_never_decreases_the_likelihood_with_a_fixed_tension() {
        let mut config = TrainConfig::new(ModelKind::Ibm2);
        config.ibm2_iterations = 10;
        config.optimize_tension = false;
        config.ibm2_prior = None;
        let (m, stats) = run(&config);
        assert_non_decreasing(&stats, "ibm2");
        assert_rows_sum_to_one(&m);
    }

    #[test]
    fn hmm_em_never_decreases_the_likelihood_and_learns_the_mapping() {
        let mut config = TrainConfig::new(ModelKind::Hmm);
        config.hmm_iterations = 10;
        let (m, stats) = run(&config);
        assert_non_decreasing(&stats, "ibm1");
        assert_non_decreasing(&stats, "hmm");
        assert_rows_sum_to_one(&m);
        // Monotone jumps dominate the learnt transitions.
        let p = m.hmm.as_ref().unwrap();
        let plus_one = p.jump[p.max_jump + 2];
        assert!(p.jump.iter().all(|&w| w <= plus_one), "{:?}", p.jump);
        // A fresh pair in the same pattern aligns on the diagonal.
        let c = synthetic();
        let ids = |side: &crate::vocab::Vocab, ws: &[&str]| -> Vec<u32> {
            ws.iter().map(|w| side.get(w).unwrap()).collect()
        };
        let src = ids(&c.source_vocab, &["s1", "s2", "s3", "s4"]);
        let tgt = ids(&c.target_vocab, &["t1", "t2", "t3", "t4"]);
        let links = m.align_pair(&src, &tgt, Decoding::Threshold(0.5));
        assert_eq!(links, vec![(0, 0), (1, 1), (2, 2), (3, 3)]);
    }
}
