//! Forced scoring: the log-probability a model gives to a known translation.
//!
//! Used to rescore another system's n-best list (the hybrid of `mt compare`): each pair
//! gets `log P(target | source) = Σ_t log p(y_t | y_<t, x)` over the target subwords and
//! the final EOS, computed in one teacher-forced pass per batch.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::bpe::{BOS, EOS};
use crate::model::{id_tensor, Seq2Seq};

/// `log P(targets[i] | sources[i])` (natural log, EOS included) for every pair of the batch.
///
/// An empty source still gets a score (the encoder accepts empty rows); an empty target
/// scores the probability of emitting EOS first.
pub fn sequence_log_probs(
    model: &Seq2Seq,
    sources: &[Vec<u32>],
    targets: &[Vec<u32>],
    device: &Device,
) -> Vec<f32> {
    assert_eq!(sources.len(), targets.len(), "one target per source");
    if sources.is_empty() {
        return Vec::new();
    }
    let mem = model.encode(sources, device);
    let tgt_in = id_tensor(targets, Some(BOS), device);
    let [b, t] = tgt_in.dims();
    let lp = log_softmax(model.forward(&mem, tgt_in), 2);
    let mut gold = vec![0i64; b * t];
    for (r, row) in targets.iter().enumerate() {
        for (k, &id) in row.iter().enumerate() {
            gold[r * t + k] = id as i64;
        }
        gold[r * t + row.len()] = EOS as i64;
    }
    let gold = Tensor::<3, Int>::from_data(TensorData::new(gold, [b, t, 1]), device);
    let picked: Vec<f32> = lp
        .gather(2, gold)
        .reshape([b, t])
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_default();
    targets
        .iter()
        .enumerate()
        .map(|(r, row)| picked[r * t..r * t + row.len() + 1].iter().sum())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Arch, AttentionKind, ModelConfig};
    use crate::normalize::Normalization;
    use crate::search::greedy;

    #[test]
    fn forced_score_equals_the_greedy_search_log_probability() {
        let device = Device::flex();
        for arch in [Arch::Lstm, Arch::Transformer] {
            device.seed(7);
            let cfg = ModelConfig {
                arch,
                vocab_size: 13,
                emb_size: 8,
                hidden_size: 8,
                layers: 1,
                heads: 2,
                dropout: 0.0,
                attention: AttentionKind::General,
                tied_embeddings: false,
                normalization: Normalization::None,
                max_positions: 40,
            };
            let model = Seq2Seq::new(&cfg, &device);
            let sources = vec![vec![4, 5, 6], vec![7, 8]];
            let mut scorer = model.scorer(&sources, &device);
            let hyps = greedy(&mut scorer, &[6, 6]);
            let targets: Vec<Vec<u32>> = hyps.iter().map(|h| h.tokens.clone()).collect();
            let forced = sequence_log_probs(&model, &sources, &targets, &device);
            for (h, f) in hyps.iter().zip(&forced) {
                assert!(f.is_finite() && *f <= 0.0);
                if h.finished {
                    assert!((h.log_prob - f).abs() < 1e-3, "{arch:?}: {} vs {f}", h.log_prob);
                } else {
                    // Unfinished: the forced score adds the EOS the search never took.
                    assert!(*f < h.log_prob + 1e-3, "{arch:?}: {} vs {f}", h.log_prob);
                }
            }
        }
    }
}
