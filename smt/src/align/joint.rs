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
// LIMITATION: the product-of-posteriors E-step has no objective that EM provably increases.
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
// LIMITATION: Model 1 and 2 train per direction (a joint Model 1 scored worse on Hansards).
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

#[cfg(test)]
mod tests {
    use super::super::decoding::Decoding;
    use super::super::model::train;
    use super::*;

    /// Target = source words mapped one to one, with local swaps, an occasional extra
    /// function word and a rare word (seen once or twice) in some sentences.
    fn synthetic() -> ParallelCorpus {
        let mut c = ParallelCorpus::new();
        let mut state = 987654321u64;
        let mut next = |m: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) % m
        };
        for k in 0..300 {
            let len = 3 + next(8) as usize;
            let mut src: Vec<String> = (0..len).map(|_| format!("s{}", next(30))).collect();
            if k % 5 == 0 {
                src.push(format!("rare{}", k / 10));
            }
            let mut tgt: Vec<String> = src.iter().map(|w| w.replacen('s', "t", 1)).collect();
            if len > 3 && next(2) == 0 {
                let p = next(len as u64 - 1) as usize;
                tgt.swap(p, p + 1);
            }
            if next(3) == 0 {
                tgt.insert(next(len as u64) as usize, "de".to_owned());
            }
            c.push_pair(src.iter().map(String::as_str), tgt.iter().map(String::as_str));
        }
        c
    }

    fn expected_agreement(c: &ParallelCorpus, f: &DirectionalModel, r: &DirectionalModel) -> f64 {
        fn side(m: &DirectionalModel) -> Side<'_> {
            Side { table: &m.table, params: m.hmm.as_ref().unwrap(), cache: None }
        }
        e_step(c, side(f), side(r), &|_| {}).agreement
    }

    #[test]
    fn joint_counts_are_the_product_of_both_directions_posteriors() {
        let c = synthetic();
        let mut config = TrainConfig::new(ModelKind::Hmm);
        config.hmm_iterations = 2;
        let f = train(c.view(Direction::Forward), Direction::Forward, &config, &());
        let r = train(c.view(Direction::Reverse), Direction::Reverse, &config, &());
        let (pf, pr) = (f.hmm.clone().unwrap(), r.hmm.clone().unwrap());
        let cf = SlotCache::build(&f.table, c.view(Direction::Forward), usize::MAX);
        let joint = e_step(
            &c,
            Side { table: &f.table, params: &pf, cache: Some(&cf) },
            Side { table: &r.table, params: &pr, cache: None },
            &|_| {},
        );
        // Expected counts rebuilt pair by pair from the public posteriors.
        let mut counts = [vec![0.0; f.table.len()], vec![0.0; r.table.len()]];
        let mut agreement = 0.0;
        for k in 0..c.len() {
            let (src, tgt) = (c.source.get(k), c.target.get(k));
            let (ni, nj) = (src.len(), tgt.len());
            let postf = hmm::posteriors(&f.table, &pf, src, tgt);
            let postr = hmm::posteriors(&r.table, &pr, tgt, src);
            for row in postf.chunks(ni + 1).chain(postr.chunks(nj + 1)) {
                let s: f64 = row.iter().sum();
                assert!((s - 1.0).abs() < 1e-9, "posteriors sum to {s}");
            }
            for j in 0..nj {
                for i in 0..ni {
                    let q = postf[j * (ni + 1) + i] * postr[i * (nj + 1) + j];
                    agreement += q;
                    counts[0][f.table.slot(src[i], tgt[j]).unwrap() as usize] += q;
                    counts[1][r.table.slot(tgt[j], src[i]).unwrap() as usize] += q;
                }
            }
        }
        assert!((joint.agreement - agreement).abs() < 1e-9 * agreement, "{agreement}");
        for (m, (mine, theirs)) in
            [(&f, (&counts[0], &joint.forward)), (&r, (&counts[1], &joint.reverse))]
        {
            assert!(theirs.null_count > 0.0, "{:?}", m.direction);
            for (s, (a, b)) in mine.iter().zip(&theirs.counts).enumerate() {
                // NULL slots hold NULL posteriors, which only the joint counts have.
                if *a > 0.0 {
                    assert!((a - b).abs() < 1e-9 * (1.0 + a), "slot {s}: {a} vs {b}");
                }
            }
        }
        // Transitions, NULL counts and likelihoods are each direction's own.
        for (m, p, counts) in [(&f, &pf, &joint.forward), (&r, &pr, &joint.reverse)] {
            let own = hmm::e_step(&m.table, p, c.view(m.direction), None, &|_| {});
            assert!(
                (own.log_likelihood - counts.log_likelihood).abs()
                    < 1e-9 * own.log_likelihood.abs()
            );
            assert!((own.null_count - counts.null_count).abs() < 1e-9 * own.null_count);
            for (a, b) in own.jump.iter().zip(&counts.jump) {
                assert!((a - b).abs() < 1e-9 * (1.0 + a), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn joint_training_agrees_more_and_learns_the_mapping() {
        let c = synthetic();
        let config = TrainConfig::new(ModelKind::Hmm);
        let f = train(c.view(Direction::Forward), Direction::Forward, &config, &());
        let r = train(c.view(Direction::Reverse), Direction::Reverse, &config, &());
        let (jf, jr) = train_joint(&c, &config, &());
        let independent = expected_agreement(&c, &f, &r);
        let joint = expected_agreement(&c, &jf, &jr);
        assert!(joint > independent, "joint {joint} vs independent {independent}");
        for m in [&jf, &jr] {
            assert_eq!(m.kind, ModelKind::Hmm);
            for (_, row) in m.table.rows() {
                let sum: f64 = row.iter().map(|(_, p)| p).sum();
                assert!((sum - 1.0).abs() < 1e-9, "{sum}");
            }
        }
        // A fresh pair in the same pattern aligns on the diagonal both ways.
        let ids = |side: &crate::vocab::Vocab, ws: &[&str]| -> Vec<u32> {
            ws.iter().map(|w| side.get(w).unwrap()).collect()
        };
        let src = ids(&c.source_vocab, &["s1", "s2", "s3", "s4", "rare0"]);
        let tgt = ids(&c.target_vocab, &["t1", "t2", "t3", "t4", "rare0"]);
        let diagonal: Vec<(u32, u32)> = (0..5).map(|k| (k, k)).collect();
        assert_eq!(jf.align_pair(&src, &tgt, Decoding::Threshold(0.5)), diagonal);
        assert_eq!(jr.align_pair(&tgt, &src, Decoding::Threshold(0.5)), diagonal);
    }

    #[test]
    fn joint_training_is_the_same_on_every_run_and_with_or_without_a_cache() {
        let c = synthetic();
        let mut config = TrainConfig::new(ModelKind::Hmm);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let (f, r) = pool.install(|| train_joint(&c, &config, &()));
        for budget in [usize::MAX, 0] {
            config.slot_cache_cells = budget;
            let (f2, r2) = pool.install(|| train_joint(&c, &config, &()));
            for (a, b) in [(&f, &f2), (&r, &r2)] {
                assert_eq!(a.hmm, b.hmm);
                let (ra, rb): (Vec<_>, Vec<_>) =
                    (a.table.rows().collect(), b.table.rows().collect());
                assert_eq!(ra, rb);
            }
        }
    }
}
