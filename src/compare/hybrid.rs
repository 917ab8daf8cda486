//! The hybrid system: the SMT n-best list rescored with the NMT model's log-probability.
//!
//! Each hypothesis `e` of source `f` gets `score(e) = smt_total(e) + λ · log P_nmt(e | f)`
//! and the best one is output. λ is chosen on the development set by a grid search that
//! maximises corpus BLEU (the same BLEU `mt eval` reports); λ = 0 is the SMT system, so
//! the tuned hybrid is never worse than SMT on the development set.

use super::nbest::NbestEntry;

/// The λ values tried on the development set.
pub const LAMBDA_GRID: [f64; 12] = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0];

/// The best hypothesis per sentence under weight `lambda`; `nmt[s][k]` is the NMT
/// log-probability of `nbest[s][k]`. A sentence without hypotheses gives "".
pub fn rescore(nbest: &[Vec<NbestEntry>], nmt: &[Vec<f64>], lambda: f64) -> Vec<String> {
    nbest
        .iter()
        .zip(nmt)
        .map(|(entries, scores)| {
            entries
                .iter()
                .zip(scores)
                .map(|(e, &s)| (e.total + lambda * s, e))
                .fold(None::<(f64, &NbestEntry)>, |best, (v, e)| match best {
                    Some((bv, _)) if bv >= v => best,
                    _ => Some((v, e)),
                })
                .map(|(_, e)| e.text.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// Picks λ from [`LAMBDA_GRID`] maximising `bleu(outputs)` on the development set;
/// ties go to the smaller λ. Returns `(λ, dev BLEU)`.
pub fn tune_lambda<F>(nbest: &[Vec<NbestEntry>], nmt: &[Vec<f64>], mut bleu: F) -> (f64, f64)
where
    F: FnMut(&[String]) -> f64,
{
    let mut best = (0.0, f64::NEG_INFINITY);
    for &lambda in &LAMBDA_GRID {
        let b = bleu(&rescore(nbest, nmt, lambda));
        if b > best.1 + 1e-12 {
            best = (lambda, b);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(s: usize, text: &str, total: f64) -> NbestEntry {
        NbestEntry { sentence: s, text: text.into(), features: vec![], total }
    }

    #[test]
    fn lambda_zero_is_the_smt_one_best_and_large_lambda_follows_nmt() {
        let nbest = vec![vec![entry(0, "a", -1.0), entry(0, "b", -2.0)], vec![]];
        let nmt = vec![vec![-10.0, -1.0], vec![]];
        assert_eq!(rescore(&nbest, &nmt, 0.0), vec!["a".to_string(), String::new()]);
        assert_eq!(rescore(&nbest, &nmt, 1.0), vec!["b".to_string(), String::new()]);
    }

    #[test]
    fn tuning_picks_the_weight_with_the_best_dev_score() {
        let nbest = vec![vec![entry(0, "a", -1.0), entry(0, "b", -2.0)]];
        let nmt = vec![vec![-10.0, -1.0]];
        let (lambda, score) =
            tune_lambda(&nbest, &nmt, |out| if out[0] == "b" { 1.0 } else { 0.0 });
        assert_eq!(score, 1.0);
        // -1 + λ(-10) < -2 + λ(-1) once λ > 1/9: the first grid point past it is 0.2.
        assert_eq!(lambda, 0.2);
    }
}
