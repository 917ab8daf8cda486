//! Alignment by agreement: the two directional HMMs trained together (Liang, Taskar and
//! Klein 2006, "Alignment by Agreement", NAACL).
//!
//! Each direction first trains its Model 1 (and Model 2, if asked) stages on its own.
//! Then every HMM iteration runs forward-backward in both directions on each pair and
//! replaces each direction's expected link counts by the product of the two
//! directions' link posteriors, p_fwd(a_ij) p_rev(a_ij): a link only earns lexical
//! counts where both models believe in it, which starves the garbage-collecting links of
//! rare words that only one direction makes. As in the paper this is the product
//! approximation of the joint E-step, so it maximizes no single likelihood exactly; the
//! quantity it drives up is the expected agreement, the sum of those products.
//! Transition, start and NULL counts come from each direction's own posteriors.

use std::time::Instant;

use super::corpus::{Direction, ParallelCorpus};
use super::estep::{accumulate, add_into};
use super::hmm::{self, HmmCounts, HmmParams, Lattice};
use super::model::TrainObserver;
use super::model::{train_lexical, DirectionalModel, ModelKind, Report, TrainConfig};
use super::ttable::{SlotCache, TTable};

/// The stage name joint HMM iterations report.
pub const STAGE: &str = "hmm-joint";

/// Expected counts of one joint E-step.
#[derive(Debug, Clone)]
pub struct JointCounts {
    /// The forward model's counts (lexical ones from the product of posteriors).
    pub forward: HmmCounts,
    /// The reverse model's counts.
    pub reverse: HmmCounts,
    /// The sum over every pair and cell of p_fwd(a_ij) p_rev(a_ij): the expected
    /// number of links the two directions agree on.
    pub agreement: f64,
}

/// One model's parameters while it trains.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    /// The lexical table.
    pub table: &'a TTable,
    /// The HMM transitions.
    pub params: &'a HmmParams,
    /// The slot cache of this direction's view, if any.
    pub cache: Option<&'a SlotCache>,
}

/// Per-thread state of the joint E-step.
struct Acc {
    forward: HmmCounts,
    reverse: HmmCounts,
    agreement: f64,
    lf: Lattice,
    lr: Lattice,
    pf: Vec<f64>,
    pr: Vec<f64>,
    qf: Vec<f64>,
    qr: Vec<f64>,
}

/// One joint E-step over every pair of `corpus` with both sides non-empty.
pub fn e_step(
    corpus: &ParallelCorpus,
    forward: Side<'_>,
    reverse: Side<'_>,
    progress: &(dyn Fn(u64) + Sync),
) -> JointCounts {
    let make = || Acc {
        forward: HmmCounts::zeros(forward.table.len(), forward.params.classes()),
        reverse: HmmCounts::zeros(reverse.table.len(), reverse.params.classes()),
        agreement: 0.0,
        lf: Lattice::default(),
        lr: Lattice::default(),
        pf: Vec::new(),
        pr: Vec::new(),
        qf: Vec::new(),
        qr: Vec::new(),
    };
    let accs = accumulate(
        corpus.len(),
        make,
        |acc, k| {
            let (src, tgt) = (corpus.source.get(k), corpus.target.get(k));
            if src.is_empty() || tgt.is_empty() {
                return;
            }
            let (ni, nj) = (src.len(), tgt.len());
            let Acc { forward: cf, reverse: cr, agreement, lf, lr, pf, pr, qf, qr } = acc;
            let fc = forward.cache.and_then(|c| c.pair(k));
            cf.log_likelihood += lf.run(forward.table, forward.params, src, tgt, fc);
            let rc = reverse.cache.and_then(|c| c.pair(k));
            cr.log_likelihood += lr.run(reverse.table, reverse.params, tgt, src, rc);
            // pf[j * ni + i]: target j from source i; pr[i * nj + j]: source i from target j.
            lf.link_posteriors(ni, nj, pf);
            lr.link_posteriors(nj, ni, pr);
            qf.resize(ni * nj, 0.0);
            qr.resize(ni * nj, 0.0);
            for j in 0..nj {
                for i in 0..ni {
                    let q = pf[j * ni + i] * pr[i * nj + j];
                    qf[j * ni + i] = q;
                    qr[i * nj + j] = q;
                    *agreement += q;
                }
            }
            lf.collect(forward.params, ni, nj, cf, Some(qf));
            lr.collect(reverse.params, nj, ni, cr, Some(qr));
        },
        &|k| 2 * (corpus.source.get(k).len() + 1) * (corpus.target.get(k).len() + 1),
        progress,
    );
    let mut accs: Vec<Acc> = accs;
    let Some(mut first) = accs.pop() else {
        return JointCounts {
            forward: HmmCounts::zeros(forward.table.len(), forward.params.classes()),
            reverse: HmmCounts::zeros(reverse.table.len(), reverse.params.classes()),
            agreement: 0.0,
        };
    };
    let others: Vec<&[f64]> = accs.iter().map(|a| &a.forward.counts[..]).collect();
    add_into(&mut first.forward.counts, &others);
    let others: Vec<&[f64]> = accs.iter().map(|a| &a.reverse.counts[..]).collect();
    add_into(&mut first.reverse.counts, &others);
    for a in &accs {
        first.forward.add_small(&a.forward);
        first.reverse.add_small(&a.reverse);
        first.agreement += a.agreement;
    }
    JointCounts { forward: first.forward, reverse: first.reverse, agreement: first.agreement }
}

/// Trains both directions of `corpus` with `config`, the HMM stage jointly; returns the
/// forward and the reverse model. A `config` whose model is not the HMM trains the two
/// directions independently (the product of posteriors is only used for the HMM).
// LIMITATION: Model 1 and Model 2 stages are trained per direction, not by agreement.
pub fn train_joint(
    corpus: &ParallelCorpus,
    config: &TrainConfig,
    observer: &dyn TrainObserver,
) -> (DirectionalModel, DirectionalModel) {
    // Both caches live at once, so each gets half of the budget.
    let budget = config.slot_cache_cells / 2;
    let mut models = Vec::with_capacity(2);
    let mut caches = Vec::with_capacity(2);
    for d in [Direction::Forward, Direction::Reverse] {
        let view = corpus.view(d);
        let table = TTable::from_cooccurrence(view);
        let cache = SlotCache::build(&table, view, budget);
        models.push(train_lexical(view, d, config, observer, table, Some(&cache)));
        caches.push(cache);
    }
    let mut reverse = models.pop().expect("two models");
    let mut forward = models.pop().expect("two models");
    if config.model != ModelKind::Hmm {
        return (forward, reverse);
    }
    let reports = [Direction::Forward, Direction::Reverse].map(|d| Report {
        observer,
        direction: d,
        words: corpus.view(d).trained_gen_words().max(1) as f64,
    });
    let progress = |n: u64| observer.sentences_done(n);
    let mut pf = HmmParams::uniform(config.hmm_p_null, config.hmm_max_jump);
    let mut pr = pf.clone();
    observer.stage_started(Direction::Forward, STAGE, config.hmm_iterations, corpus.len());
    for it in 1..=config.hmm_iterations {
        let start = Instant::now();
        let c = e_step(
            corpus,
            Side { table: &forward.table, params: &pf, cache: Some(&caches[0]) },
            Side { table: &reverse.table, params: &pr, cache: Some(&caches[1]) },
            &progress,
        );
        forward.table.normalize(&c.forward.counts, config.hmm_prior);
        hmm::update_transitions(&mut pf, &c.forward);
        reverse.table.normalize(&c.reverse.counts, config.hmm_prior);
        hmm::update_transitions(&mut pr, &c.reverse);
        for (r, counts) in reports.iter().zip([&c.forward, &c.reverse]) {
            r.done(STAGE, it, counts.log_likelihood, counts.null_count, None, start);
        }
    }
    for (m, p) in [(&mut forward, pf), (&mut reverse, pr)] {
        m.kind = ModelKind::Hmm;
        m.hmm = Some(p);
    }
    (forward, reverse)
}
