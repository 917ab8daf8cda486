//! One LSTM cell update (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers,
//! Schmidhuber & Cummins, 2000) from its gate pre-activations, and its backward step, each
//! in one pass. Composed from tensor operations the cell is about ten operations forward
//! (a sigmoid, slices, a tanh, products and sums) and more backward, each allocating a new
//! tensor; per time step of a batch of 64 they cost more than their arithmetic.
//!
//! Layout: `gates` `[B, 4H]` in the order i, f, g, o; `c` `[B, H]`; the output `[B, 2H]`
//! holds the new hidden state h then the new cell state c in each row.

use rayon::prelude::*;

use super::fast_math::{sigmoid, simd, tanh};

/// Rows handed to one parallel task.
const ROWS_PER_TASK: usize = 16;

/// `c' = σ(f)·c + σ(i)·tanh(g)`, `h = σ(o)·tanh(c')`, row by row into `out` `[B, 2H]`.
pub fn forward(gates: &[f32], c: &[f32], hidden: usize, out: &mut [f32]) {
    let h = hidden;
    if h == 0 {
        return;
    }
    out.par_chunks_mut(2 * h * ROWS_PER_TASK).enumerate().for_each(|(task, rows)| {
        for (i, o) in rows.chunks_mut(2 * h).enumerate() {
            let b = task * ROWS_PER_TASK + i;
            let g = &gates[b * 4 * h..(b + 1) * 4 * h];
            let c_prev = &c[b * h..(b + 1) * h];
            let (h_out, c_out) = o.split_at_mut(h);
            simd(|| forward_row(g, c_prev, h_out, c_out));
        }
    });
}

/// The gradients of the gates `[B, 4H]` (written to `d_gates`) and of the previous cell
/// state `[B, H]` (written to `d_c`) from the gradient `grad` `[B, 2H]` of the output
/// (h then c). `out` is the forward output.
pub fn backward(
    gates: &[f32],
    c: &[f32],
    out: &[f32],
    grad: &[f32],
    hidden: usize,
    d_gates: &mut [f32],
    d_c: &mut [f32],
) {
    let h = hidden;
    if h == 0 {
        return;
    }
    d_gates
        .par_chunks_mut(4 * h * ROWS_PER_TASK)
        .zip(d_c.par_chunks_mut(h * ROWS_PER_TASK))
        .enumerate()
        .for_each(|(task, (dg_rows, dc_rows))| {
            for (i, (dg, dcp)) in dg_rows.chunks_mut(4 * h).zip(dc_rows.chunks_mut(h)).enumerate() {
                let b = task * ROWS_PER_TASK + i;
                let g = &gates[b * 4 * h..(b + 1) * 4 * h];
                let c_prev = &c[b * h..(b + 1) * h];
                let c_new = &out[b * 2 * h + h..(b + 1) * 2 * h];
                let (dh, dc_out) = grad[b * 2 * h..(b + 1) * 2 * h].split_at(h);
                simd(|| backward_row(g, c_prev, c_new, [dh, dc_out], dg, dcp));
            }
        });
}

/// The four gate blocks i, f, g, o of one row of `4n` gate values.
#[inline(always)]
fn split_gates(row: &[f32], n: usize) -> (&[f32], &[f32], &[f32], &[f32]) {
    (&row[..n], &row[n..2 * n], &row[2 * n..3 * n], &row[3 * n..4 * n])
}

/// One row of [`forward`]: the gate pre-activations `[4H]` (i, f, g, o) and the previous
/// cell state `[H]`.
#[inline(always)]
pub(super) fn forward_row(gates: &[f32], c_prev: &[f32], h_out: &mut [f32], c_out: &mut [f32]) {
    let n = c_prev.len();
    let (gi, gf, gg, go) = split_gates(gates, n);
    let (h_out, c_out) = (&mut h_out[..n], &mut c_out[..n]);
    for j in 0..n {
        let cn = sigmoid(gf[j]) * c_prev[j] + sigmoid(gi[j]) * tanh(gg[j]);
        c_out[j] = cn;
        h_out[j] = sigmoid(go[j]) * tanh(cn);
    }
}

/// One row of [`backward`]; `grad` holds the gradients of h and of the new c, `d_gates`
/// `[4H]` receives the gradients of the gate pre-activations (i, f, g, o).
#[inline(always)]
pub(super) fn backward_row(
    gates: &[f32],
    c_prev: &[f32],
    c_new: &[f32],
    grad: [&[f32]; 2],
    d_gates: &mut [f32],
    d_c: &mut [f32],
) {
    let n = c_prev.len();
    let (gi, gf, gg, go) = split_gates(gates, n);
    let (c_new, dh, dc_out) = (&c_new[..n], &grad[0][..n], &grad[1][..n]);
    let (dg_i, rest) = d_gates[..4 * n].split_at_mut(n);
    let (dg_f, rest) = rest.split_at_mut(n);
    let (dg_g, dg_o) = rest.split_at_mut(n);
    let d_c = &mut d_c[..n];
    for j in 0..n {
        let (ig, fg) = (sigmoid(gi[j]), sigmoid(gf[j]));
        let (gt, og) = (tanh(gg[j]), sigmoid(go[j]));
        let tc = tanh(c_new[j]);
        let dc = dc_out[j] + dh[j] * og * (1.0 - tc * tc);
        dg_i[j] = dc * gt * ig * (1.0 - ig);
        dg_f[j] = dc * c_prev[j] * fg * (1.0 - fg);
        dg_g[j] = dc * ig * (1.0 - gt * gt);
        dg_o[j] = dh[j] * tc * og * (1.0 - og);
        d_c[j] = dc * fg;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cell in f64, for finite differences.
    fn cell64(g: &[f64], c: &[f64], h: usize) -> Vec<f64> {
        let s = |x: f64| 1.0 / (1.0 + (-x).exp());
        let mut out = vec![0.0; 2 * h];
        for j in 0..h {
            let cn = s(g[h + j]) * c[j] + s(g[j]) * g[2 * h + j].tanh();
            out[h + j] = cn;
            out[j] = s(g[3 * h + j]) * cn.tanh();
        }
        out
    }

    #[test]
    fn forward_and_backward_match_finite_differences() {
        let (b, h) = (19, 5);
        let gates: Vec<f32> = (0..b * 4 * h).map(|i| ((i * 37 % 29) as f32 - 14.0) / 5.0).collect();
        let c: Vec<f32> = (0..b * h).map(|i| ((i * 11 % 13) as f32 - 6.0) / 4.0).collect();
        let grad: Vec<f32> = (0..b * 2 * h).map(|i| ((i * 5 % 7) as f32 - 3.0) / 2.0).collect();
        let mut out = vec![0f32; b * 2 * h];
        forward(&gates, &c, h, &mut out);
        let mut d_gates = vec![0f32; b * 4 * h];
        let mut d_c = vec![0f32; b * h];
        backward(&gates, &c, &out, &grad, h, &mut d_gates, &mut d_c);
        let eps = 1e-6;
        for r in 0..b {
            let g: Vec<f64> = gates[r * 4 * h..(r + 1) * 4 * h].iter().map(|&x| x as f64).collect();
            let cp: Vec<f64> = c[r * h..(r + 1) * h].iter().map(|&x| x as f64).collect();
            let gr: Vec<f64> = grad[r * 2 * h..(r + 1) * 2 * h].iter().map(|&x| x as f64).collect();
            let exact = cell64(&g, &cp, h);
            for (k, e) in exact.iter().enumerate() {
                assert!((out[r * 2 * h + k] as f64 - e).abs() < 1e-6);
            }
            let objective = |g: &[f64], cp: &[f64]| -> f64 {
                cell64(g, cp, h).iter().zip(&gr).map(|(a, b)| a * b).sum()
            };
            for k in 0..4 * h {
                let (mut up, mut down) = (g.clone(), g.clone());
                up[k] += eps;
                down[k] -= eps;
                let fd = (objective(&up, &cp) - objective(&down, &cp)) / (2.0 * eps);
                assert!((d_gates[r * 4 * h + k] as f64 - fd).abs() < 1e-5, "gate {k}");
            }
            for k in 0..h {
                let (mut up, mut down) = (cp.clone(), cp.clone());
                up[k] += eps;
                down[k] -= eps;
                let fd = (objective(&g, &up) - objective(&g, &down)) / (2.0 * eps);
                assert!((d_c[r * h + k] as f64 - fd).abs() < 1e-5, "cell {k}");
            }
        }
    }
}
