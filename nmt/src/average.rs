//! Checkpoint averaging: the element-wise mean of the weights of several checkpoints of
//! one training run, used as the final model (Junczys-Dowmunt, Dwojak & Sennrich, 2016,
//! "The AMU-UEDIN Submission to the WMT16 News Translation Task"; Vaswani et al., 2017,
//! "Attention Is All You Need", §6.1, which averages the last 5 or 20 checkpoints). The
//! checkpoints must be of one model configuration; only their weights differ.

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

use crate::error::{NmtError, Result};
use crate::model::Seq2Seq;

/// Running sums of the float parameters of models of one configuration, in the order a
/// module visit meets them.
#[derive(Debug, Default)]
pub struct WeightSum {
    sums: Vec<(Vec<usize>, Vec<f64>)>,
    count: usize,
}

struct Collect<'a> {
    sum: &'a mut WeightSum,
    first: bool,
    index: usize,
    mismatch: Option<String>,
}

impl ModuleVisitor for Collect<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let shape = value.dims().to_vec();
        let data = value.into_data().convert::<f32>();
        let values = data.as_slice::<f32>().expect("converted to f32");
        if self.first {
            self.sum.sums.push((shape, values.iter().map(|&v| f64::from(v)).collect()));
        } else {
            match self.sum.sums.get_mut(self.index) {
                Some((s, acc)) if *s == shape => {
                    for (a, &v) in acc.iter_mut().zip(values) {
                        *a += f64::from(v);
                    }
                }
                Some((s, _)) => {
                    self.mismatch.get_or_insert_with(|| {
                        format!("parameter {} has shape {shape:?}, not {s:?}", self.index)
                    });
                }
                None => {
                    self.mismatch.get_or_insert_with(|| {
                        format!("more parameters than the first model's {}", self.sum.sums.len())
                    });
                }
            }
        }
        self.index += 1;
    }
}

struct Replace<'a> {
    sums: &'a [(Vec<usize>, Vec<f64>)],
    count: usize,
    index: usize,
}

impl ModuleMapper for Replace<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (shape, acc) = &self.sums[self.index];
        self.index += 1;
        let n = self.count as f64;
        let mean: Vec<f32> = acc.iter().map(|&a| (a / n) as f32).collect();
        let data = TensorData::new(mean, shape.clone());
        param.map(|t| {
            let device = t.device();
            Tensor::from_data(data, &device)
        })
    }
}

impl WeightSum {
    /// An empty sum.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of models added.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Adds the weights of `model`; fails when its parameters differ in number or shape
    /// from those of the first model added.
    pub fn add(&mut self, model: &Seq2Seq) -> Result<()> {
        let first = self.count == 0;
        let mut v = Collect { sum: self, first, index: 0, mismatch: None };
        model.visit(&mut v);
        let (index, mismatch) = (v.index, v.mismatch);
        if let Some(m) = mismatch {
            return Err(NmtError::InvalidSetting(format!("cannot average: {m}")));
        }
        if !first && index != self.sums.len() {
            return Err(NmtError::InvalidSetting(format!(
                "cannot average: {index} parameters, the first model has {}",
                self.sums.len()
            )));
        }
        self.count += 1;
        Ok(())
    }

    /// The mean of the added weights, put into `base` (a model of the same
    /// configuration, e.g. the last one added).
    pub fn mean_into(&self, base: Seq2Seq) -> Result<Seq2Seq> {
        if self.count == 0 {
            return Err(NmtError::InvalidSetting("cannot average: no models".into()));
        }
        // Checks that `base` has the same parameters before replacing them.
        let mut probe = WeightSum::new();
        probe.add(&base)?;
        let same = probe.sums.len() == self.sums.len()
            && probe.sums.iter().zip(&self.sums).all(|(a, b)| a.0 == b.0);
        if !same {
            return Err(NmtError::InvalidSetting(
                "cannot average: the base model differs from the averaged ones".into(),
            ));
        }
        let mut m = Replace { sums: &self.sums, count: self.count, index: 0 };
        Ok(base.map(&mut m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Arch, AttentionKind, ModelConfig};
    use crate::normalize::Normalization;

    fn tiny(arch: Arch, seed: u64) -> (ModelConfig, Seq2Seq) {
        let cfg = ModelConfig {
            arch,
            vocab_size: 13,
            emb_size: 8,
            hidden_size: 16,
            layers: 1,
            heads: 2,
            dropout: 0.0,
            attention: AttentionKind::General,
            tied_embeddings: true,
            normalization: Normalization::None,
            max_positions: 50,
        };
        let device = Device::flex();
        device.seed(seed);
        let model = Seq2Seq::new(&cfg, &device);
        (cfg, model)
    }

    fn flat(model: &Seq2Seq) -> Vec<f64> {
        let mut s = WeightSum::new();
        s.add(model).unwrap();
        s.sums.into_iter().flat_map(|(_, v)| v).collect()
    }

    #[test]
    fn the_mean_of_two_models_is_their_elementwise_mean() {
        for arch in [Arch::Lstm, Arch::Transformer] {
            let (_, a) = tiny(arch, 1);
            let (_, b) = tiny(arch, 2);
            let (fa, fb) = (flat(&a), flat(&b));
            assert!(fa.iter().zip(&fb).any(|(x, y)| x != y), "the two models must differ");
            let mut sum = WeightSum::new();
            sum.add(&a).unwrap();
            sum.add(&b).unwrap();
            let mean = sum.mean_into(b.clone()).unwrap();
            let fm = flat(&mean);
            assert_eq!(fm.len(), fa.len());
            for ((m, x), y) in fm.iter().zip(&fa).zip(&fb) {
                assert!((m - (x + y) / 2.0).abs() < 1e-6, "{m} vs mean of {x} and {y}");
            }
        }
    }

    #[test]
    fn averaging_one_model_gives_it_back() {
        let (_, a) = tiny(Arch::Transformer, 3);
        let mut sum = WeightSum::new();
        sum.add(&a).unwrap();
        assert_eq!(flat(&sum.mean_into(a.clone()).unwrap()), flat(&a));
    }

    #[test]
    fn models_of_different_shapes_are_refused() {
        let (_, a) = tiny(Arch::Lstm, 1);
        let (_, b) = tiny(Arch::Transformer, 1);
        let mut sum = WeightSum::new();
        sum.add(&a).unwrap();
        assert!(sum.add(&b).is_err());
        assert!(WeightSum::new().mean_into(a).is_err());
    }
}
