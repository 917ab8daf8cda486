//! Scoring the systems of a comparison with the metrics of `mt eval`.

use crate::eval::bleu::{corpus_bleu, Bleu};
use crate::eval::bootstrap::{paired_bootstrap, DEFAULT_SAMPLES, DEFAULT_SEED};
use crate::eval::chrf::corpus_chrf;
use crate::eval::references::References;
use crate::eval::ter::corpus_ter;
use crate::report::document::{Metric, Significance};

/// BLEU, chrF2 and TER of one system, each with its signature.
pub fn corpus_metrics(hyps: &[String], refs: &References) -> anyhow::Result<[Metric; 3]> {
    let bleu = corpus_bleu(hyps, refs)?;
    let chrf = corpus_chrf(hyps, refs)?;
    let ter = corpus_ter(hyps, refs)?;
    Ok([
        Metric { score: bleu.score, signature: format!("BLEU|{}", bleu.signature) },
        Metric { score: chrf.score, signature: format!("{}|{}", chrf.name, chrf.signature) },
        Metric { score: ter.score, signature: format!("TER|{}", ter.signature) },
    ])
}

/// Paired bootstrap BLEU of every system against `systems[0]` (sacreBLEU's defaults:
/// 1000 resamples, seed 12345); `None` for the baseline itself.
pub fn significance(
    names: &[String],
    systems: &[Vec<String>],
    refs: &References,
) -> anyhow::Result<Vec<Option<Significance>>> {
    if systems.len() < 2 {
        return Ok(vec![None; systems.len()]);
    }
    let results = paired_bootstrap(&Bleu::default(), systems, refs, DEFAULT_SAMPLES, DEFAULT_SEED)?;
    Ok(results
        .iter()
        .map(|r| {
            r.p_value.map(|p| Significance {
                baseline: names[0].clone(),
                mean: r.mean,
                ci_low: r.mean - r.ci,
                ci_high: r.mean + r.ci,
                p_value: p,
            })
        })
        .collect())
}

/// Corpus BLEU of the segments `idx` only.
pub fn subset_bleu(hyps: &[String], refs: &[String], idx: &[usize]) -> anyhow::Result<f64> {
    let h: Vec<&str> = idx.iter().map(|&i| hyps[i].as_str()).collect();
    let r = References::single(idx.iter().map(|&i| refs[i].clone()).collect());
    Ok(corpus_bleu(&h, &r)?.score)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_and_significance_of_a_small_corpus() {
        let refs: Vec<String> =
            ["the cat sat on the mat .", "a dog runs in the park today"].map(String::from).into();
        let r = References::single(refs.clone());
        let good = refs.clone();
        let bad: Vec<String> = ["the cat", "a dog"].map(String::from).into();
        let [bleu, chrf, ter] = corpus_metrics(&good, &r).unwrap();
        assert!((bleu.score - 100.0).abs() < 1e-9 && (chrf.score - 100.0).abs() < 1e-9);
        assert_eq!(ter.score, 0.0);
        assert!(bleu.signature.starts_with("BLEU|nrefs:1|"), "{}", bleu.signature);
        let names = vec!["a".to_string(), "b".to_string()];
        let sig = significance(&names, &[good, bad.clone()], &r).unwrap();
        assert!(sig[0].is_none());
        let s = sig[1].as_ref().unwrap();
        assert!(s.p_value > 0.0 && s.p_value <= 1.0 && s.ci_low <= s.ci_high);
        assert_eq!(subset_bleu(&bad, &refs, &[0]).unwrap(), 0.0);
    }
}
