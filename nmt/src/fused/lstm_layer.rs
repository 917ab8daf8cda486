//! A whole LSTM layer over a batch of sequences as one operation: the forward recurrence,
//! and backpropagation through time (Werbos, 1990) as its backward step. The encoder's two
//! directions run this way. Composed per time step, each step slices its input
//! projection out of the `[B, T, 4H]` tensor, and the backward of each slice writes a
//! zero-filled `[B, T, 4H]` gradient that the next slice's is added to (T of them per
//! layer); here the gradient of the input projection is written once, and the gradient of
//! the recurrent weights is one product over all steps instead of one per step.
//!
//! Layout: the input projection `xw` `[B, T, 4H]` (bias included, gates i, f, g, o), the
//! recurrent weights `w` `[H, 4H]`, the output `[B, T, H]`; h and c start at zero.

use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::Flex;
use burn::prelude::TensorData;
use rayon::prelude::*;

use super::fast_math::simd;
use super::lstm_cell::{backward_row, forward_row};

/// What the forward pass keeps for the backward: every step's gate pre-activations
/// `[B, T, 4H]`, cell states and hidden states `[B, T, H]`.
#[derive(Clone, Debug)]
pub struct Trace {
    /// Gate pre-activations.
    pub gates: Vec<f32>,
    /// Cell states.
    pub cells: Vec<f32>,
    /// Hidden states (the layer's output).
    pub hidden: Vec<f32>,
    /// Batch size, steps and hidden size.
    pub dims: [usize; 3],
}

fn matmul(lhs: Vec<f32>, lhs_shape: [usize; 2], rhs: FlexTensor) -> FlexTensor {
    let lhs = FlexTensor::from_data(TensorData::new(lhs, lhs_shape.to_vec()));
    <Flex as FloatTensorOps<Flex>>::float_matmul(lhs, rhs)
}

fn contiguous(t: FlexTensor) -> Vec<f32> {
    let t = t.to_contiguous();
    t.as_slice::<f32>().expect("f32 tensor").to_vec()
}

/// Rows of the batch whose recurrence one parallel task runs. Fixed, so that the results
/// do not depend on the number of threads.
const ROWS_PER_TASK: usize = 32;

/// Runs the layer over `xw` `[b, t, 4h]` with recurrent weights `w` `[h, 4h]`. Rows are
/// independent, so groups of them run their recurrences in parallel.
pub fn forward(xw: &[f32], w: &FlexTensor, [b, t, h]: [usize; 3]) -> Trace {
    let mut trace = Trace {
        gates: xw.to_vec(),
        cells: vec![0.0; b * t * h],
        hidden: vec![0.0; b * t * h],
        dims: [b, t, h],
    };
    let rows = ROWS_PER_TASK;
    if b * t * h == 0 {
        return trace;
    }
    trace
        .gates
        .par_chunks_mut(rows * t * 4 * h)
        .zip(trace.cells.par_chunks_mut(rows * t * h))
        .zip(trace.hidden.par_chunks_mut(rows * t * h))
        .for_each(|((gates, cells), hidden)| {
            let n = cells.len() / (t * h);
            forward_rows(gates, cells, hidden, w, [n, t, h]);
        });
    trace
}

/// [`forward`] for `b` rows: `gates` holds their input projections on entry.
fn forward_rows(
    gates_all: &mut [f32],
    cells: &mut [f32],
    hidden: &mut [f32],
    w: &FlexTensor,
    [b, t, h]: [usize; 3],
) {
    let zeros = vec![0f32; h];
    let mut h_prev = vec![0f32; b * h];
    for step in 0..t {
        let hw = if step == 0 { None } else { Some(contiguous(matmul(h_prev, [b, h], w.clone()))) };
        let mut next = vec![0f32; b * h];
        simd(|| {
            for row in 0..b {
                let at = row * t + step;
                let gates = &mut gates_all[at * 4 * h..(at + 1) * 4 * h];
                if let Some(hw) = &hw {
                    for (g, r) in gates.iter_mut().zip(&hw[row * 4 * h..(row + 1) * 4 * h]) {
                        *g += r;
                    }
                }
                let (before, now) = cells.split_at_mut(at * h);
                let c_prev = if step == 0 { &zeros[..] } else { &before[(at - 1) * h..] };
                let h_out = &mut hidden[at * h..(at + 1) * h];
                forward_row(gates, c_prev, h_out, &mut now[..h]);
                next[row * h..(row + 1) * h].copy_from_slice(h_out);
            }
        });
        h_prev = next;
    }
}

/// The gradients of `xw` `[b, t, 4h]` and of `w` `[h, 4h]` from the gradient `grad`
/// `[b, t, h]` of the output.
pub fn backward(trace: &Trace, w: &FlexTensor, grad: &[f32]) -> (Vec<f32>, FlexTensor) {
    let [b, t, h] = trace.dims;
    let w_t = w.transpose(0, 1);
    let mut d_xw = vec![0f32; b * t * 4 * h];
    if b * t * h == 0 {
        return (d_xw, FlexTensor::zeros(vec![h, 4 * h].into(), burn::tensor::DType::F32));
    }
    let rows = ROWS_PER_TASK;
    d_xw.par_chunks_mut(rows * t * 4 * h)
        .zip(trace.gates.par_chunks(rows * t * 4 * h))
        .zip(trace.cells.par_chunks(rows * t * h))
        .zip(grad.par_chunks(rows * t * h))
        .for_each(|(((d_xw, gates), cells), grad)| {
            let n = cells.len() / (t * h);
            backward_rows(gates, cells, grad, &w_t, d_xw, [n, t, h]);
        });
    // dW = Σ_t h_{t−1}ᵀ · dgates_t, as one product of the shifted hidden states [h, b·t]
    // with the gate gradients [b·t, 4h].
    let mut shifted = vec![0f32; b * t * h];
    for row in 0..b {
        for step in 1..t {
            let at = row * t + step;
            shifted[at * h..(at + 1) * h].copy_from_slice(&trace.hidden[(at - 1) * h..at * h]);
        }
    }
    let shifted = FlexTensor::from_data(TensorData::new(shifted, vec![b * t, h])).transpose(0, 1);
    let dg_all = FlexTensor::from_data(TensorData::new(d_xw.clone(), vec![b * t, 4 * h]));
    let d_w = <Flex as FloatTensorOps<Flex>>::float_matmul(shifted, dg_all);
    (d_xw, d_w)
}

/// Backpropagation through time for `b` rows (their gates, cells and output gradients),
/// writing the gradient of their input projections into `d_xw`.
fn backward_rows(
    gates: &[f32],
    cells: &[f32],
    grad: &[f32],
    w_t: &FlexTensor,
    d_xw: &mut [f32],
    [b, t, h]: [usize; 3],
) {
    let zeros = vec![0f32; h];
    let mut dh_next: Option<Vec<f32>> = None;
    let mut dc_next = vec![0f32; b * h];
    for step in (0..t).rev() {
        let mut dc_prev = vec![0f32; b * h];
        let mut dg_step = vec![0f32; b * 4 * h];
        simd(|| {
            let mut dh = vec![0f32; h];
            for row in 0..b {
                let at = row * t + step;
                dh.copy_from_slice(&grad[at * h..(at + 1) * h]);
                if let Some(next) = &dh_next {
                    dh.iter_mut().zip(&next[row * h..(row + 1) * h]).for_each(|(a, n)| *a += n);
                }
                let g = &gates[at * 4 * h..(at + 1) * 4 * h];
                let c_prev = if step == 0 { &zeros[..] } else { &cells[(at - 1) * h..at * h] };
                let c_new = &cells[at * h..(at + 1) * h];
                let dg = &mut dg_step[row * 4 * h..(row + 1) * 4 * h];
                backward_row(
                    g,
                    c_prev,
                    c_new,
                    [&dh, &dc_next[row * h..(row + 1) * h]],
                    dg,
                    &mut dc_prev[row * h..(row + 1) * h],
                );
                d_xw[at * 4 * h..(at + 1) * 4 * h].copy_from_slice(dg);
            }
        });
        dc_next = dc_prev;
        if step > 0 {
            dh_next = Some(contiguous(matmul(dg_step, [b, 4 * h], w_t.clone())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layer in f64: every step's hidden state `[b, t, h]`.
    fn layer64(xw: &[f64], w: &[f64], [b, t, h]: [usize; 3]) -> Vec<f64> {
        let s = |x: f64| 1.0 / (1.0 + (-x).exp());
        let mut out = vec![0.0; b * t * h];
        for row in 0..b {
            let (mut hp, mut cp) = (vec![0.0; h], vec![0.0; h]);
            for step in 0..t {
                let at = row * t + step;
                let mut g = xw[at * 4 * h..(at + 1) * 4 * h].to_vec();
                for (k, gk) in g.iter_mut().enumerate() {
                    *gk += (0..h).map(|j| hp[j] * w[j * 4 * h + k]).sum::<f64>();
                }
                for j in 0..h {
                    cp[j] = s(g[h + j]) * cp[j] + s(g[j]) * g[2 * h + j].tanh();
                    hp[j] = s(g[3 * h + j]) * cp[j].tanh();
                }
                out[at * h..(at + 1) * h].copy_from_slice(&hp);
            }
        }
        out
    }

    #[test]
    fn forward_and_backward_match_finite_differences() {
        // 33 rows: two groups, the second of one row; 5 units, not a multiple of the lanes.
        for (b, t, h) in [(33, 4, 5), (33, 1, 5), (2, 3, 3)] {
            let xw: Vec<f32> =
                (0..b * t * 4 * h).map(|i| ((i * 37 % 29) as f32 - 14.0) / 7.0).collect();
            let w: Vec<f32> = (0..h * 4 * h).map(|i| ((i * 13 % 17) as f32 - 8.0) / 9.0).collect();
            let grad: Vec<f32> = (0..b * t * h).map(|i| ((i * 5 % 7) as f32 - 3.0) / 2.0).collect();
            let w_t = FlexTensor::from_data(TensorData::new(w.clone(), vec![h, 4 * h]));
            let trace = forward(&xw, &w_t, [b, t, h]);
            let (d_xw, d_w) = backward(&trace, &w_t, &grad);
            let d_w = contiguous(d_w);
            let xw64: Vec<f64> = xw.iter().map(|&x| x as f64).collect();
            let w64: Vec<f64> = w.iter().map(|&x| x as f64).collect();
            let exact = layer64(&xw64, &w64, [b, t, h]);
            for (a, e) in trace.hidden.iter().zip(&exact) {
                assert!((*a as f64 - e).abs() < 1e-5, "{a} vs {e}");
            }
            let objective = |xw: &[f64], w: &[f64]| -> f64 {
                let out = layer64(xw, w, [b, t, h]);
                out.iter().zip(&grad).map(|(o, g)| o * *g as f64).sum()
            };
            let eps = 1e-6;
            // Every weight, and the input projections of the first and the last row.
            for k in 0..h * 4 * h {
                let (mut up, mut down) = (w64.clone(), w64.clone());
                up[k] += eps;
                down[k] -= eps;
                let fd = (objective(&xw64, &up) - objective(&xw64, &down)) / (2.0 * eps);
                assert!((d_w[k] as f64 - fd).abs() < 1e-4 * fd.abs().max(1.0), "w {k}");
            }
            let last = (b - 1) * t * 4 * h;
            for k in (0..t * 4 * h).chain(last..last + t * 4 * h) {
                let (mut up, mut down) = (xw64.clone(), xw64.clone());
                up[k] += eps;
                down[k] -= eps;
                let fd = (objective(&up, &w64) - objective(&down, &w64)) / (2.0 * eps);
                assert!((d_xw[k] as f64 - fd).abs() < 1e-4 * fd.abs().max(1.0), "xw {k}");
            }
        }
    }
}
