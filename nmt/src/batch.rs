//! Training batches by token count over length-sorted buckets.

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::bpe::{BOS, EOS, PAD};
use crate::model::id_tensor;

/// One training pair in subword ids (no BOS/EOS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// Source ids.
    pub src: Vec<u32>,
    /// Target ids.
    pub tgt: Vec<u32>,
}

/// Groups pair indices into batches of at most `batch_tokens` padded tokens (the longer
/// side, EOS included, times the batch size). Pairs are shuffled, sorted by length so
/// that a batch holds similar lengths, and the batches come in random order.
pub fn make_batches(pairs: &[Pair], batch_tokens: usize, rng: &mut StdRng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.shuffle(rng);
    let len = |i: usize| pairs[i].src.len().max(pairs[i].tgt.len() + 1);
    order.sort_by_key(|&i| (pairs[i].tgt.len(), pairs[i].src.len()));
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut longest = 0;
    for i in order {
        let l = len(i).max(longest);
        if !current.is_empty() && l * (current.len() + 1) > batch_tokens {
            batches.push(std::mem::take(&mut current));
            longest = 0;
        }
        longest = longest.max(len(i));
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches.shuffle(rng);
    batches
}

/// A batch as the model consumes it.
pub struct Batch {
    /// Source ids per row.
    pub src: Vec<Vec<u32>>,
    /// Decoder input: BOS then the target `[B, T]`.
    pub tgt_in: Tensor<2, Int>,
    /// Decoder output: the target then EOS `[B, T]`, padded with PAD.
    pub tgt_out: Tensor<2, Int>,
    /// 1 at real output tokens, 0 at padding `[B, T]`.
    pub mask: Tensor<2>,
    /// Number of real output tokens.
    pub tokens: usize,
}

impl Batch {
    /// Builds the tensors of the pairs `idx`.
    pub fn new(pairs: &[Pair], idx: &[usize], device: &Device) -> Self {
        let src: Vec<Vec<u32>> = idx.iter().map(|&i| pairs[i].src.clone()).collect();
        let tgt: Vec<Vec<u32>> = idx.iter().map(|&i| pairs[i].tgt.clone()).collect();
        let out: Vec<Vec<u32>> =
            tgt.iter().map(|t| t.iter().copied().chain([EOS]).collect()).collect();
        let t = out.iter().map(Vec::len).max().unwrap_or(1);
        let mask: Vec<f32> = out
            .iter()
            .flat_map(|o| (0..t).map(move |k| if k < o.len() { 1.0 } else { 0.0 }))
            .collect();
        let tokens = out.iter().map(Vec::len).sum();
        debug_assert_eq!(PAD, 0);
        Batch {
            src,
            tgt_in: id_tensor(&tgt, Some(BOS), device),
            tgt_out: id_tensor(&out, None, device),
            mask: Tensor::from_data(TensorData::new(mask, [idx.len(), t]), device),
            tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn batches_cover_every_pair_once_within_the_token_budget() {
        let pairs: Vec<Pair> = (0..50)
            .map(|i| Pair { src: vec![5; 1 + i % 7], tgt: vec![6; 1 + (i * 3) % 11] })
            .collect();
        let mut rng = StdRng::seed_from_u64(1);
        let batches = make_batches(&pairs, 40, &mut rng);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, (0..50).collect::<Vec<_>>());
        for b in &batches {
            let longest = b.iter().map(|&i| pairs[i].src.len().max(pairs[i].tgt.len() + 1));
            assert!(longest.max().unwrap() * b.len() <= 40 || b.len() == 1);
        }
    }
}
