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
    shapes: Vec<Vec<usize>>,
    sums: Vec<Vec<f64>>,
    count: usize,
}

/// The shapes of a module's float parameters, in visit order.
struct Shapes(Vec<Vec<usize>>);

impl ModuleVisitor for Shapes {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.val().dims().to_vec());
    }
}

fn shapes(model: &Seq2Seq) -> Vec<Vec<usize>> {
    let mut v = Shapes(Vec::new());
    model.visit(&mut v);
    v.0
}

/// Adds each float parameter to its running sum (the sums exist and the shapes match).
struct Accumulate<'a> {
    sums: &'a mut [Vec<f64>],
    index: usize,
}

impl ModuleVisitor for Accumulate<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let data = param.val().into_data().convert::<f32>();
        let values = data.as_slice::<f32>().expect("converted to f32");
        for (a, &v) in self.sums[self.index].iter_mut().zip(values) {
            *a += f64::from(v);
        }
        self.index += 1;
    }
}

/// Replaces each float parameter by its running sum divided by the count.
struct Replace<'a> {
    sum: &'a WeightSum,
    index: usize,
}

impl ModuleMapper for Replace<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let n = self.sum.count as f64;
        let mean: Vec<f32> = self.sum.sums[self.index].iter().map(|&a| (a / n) as f32).collect();
        let data = TensorData::new(mean, self.sum.shapes[self.index].clone());
        self.index += 1;
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

    /// Fails unless `model`'s parameters have the shapes of those summed.
    fn check(&self, model: &Seq2Seq) -> Result<()> {
        let found = shapes(model);
        if found.len() != self.shapes.len() {
            return Err(NmtError::InvalidSetting(format!(
                "cannot average: {} parameters, the first model has {}",
                found.len(),
                self.shapes.len()
            )));
        }
        match found.iter().zip(&self.shapes).position(|(a, b)| a != b) {
            Some(i) => Err(NmtError::InvalidSetting(format!(
                "cannot average: parameter {i} has shape {:?}, not {:?}",
                found[i], self.shapes[i]
            ))),
            None => Ok(()),
        }
    }

    /// Adds the weights of `model`; fails when its parameters differ in number or shape
    /// from those of the first model added.
    pub fn add(&mut self, model: &Seq2Seq) -> Result<()> {
        if self.count == 0 {
            self.shapes = shapes(model);
            self.sums = self.shapes.iter().map(|s| vec![0.0; s.iter().product()]).collect();
        } else {
            self.check(model)?;
        }
        model.visit(&mut Accumulate { sums: &mut self.sums, index: 0 });
        self.count += 1;
        Ok(())
    }

    /// The mean of the added weights, put into `base` (a model of the same
    /// configuration, e.g. the last one added).
    pub fn mean_into(&self, base: Seq2Seq) -> Result<Seq2Seq> {
        if self.count == 0 {
            return Err(NmtError::InvalidSetting("cannot average: no models".into()));
        }
        self.check(&base)?;
        Ok(base.map(&mut Replace { sum: self, index: 0 }))
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
        s.sums.into_iter().flatten().collect()
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
