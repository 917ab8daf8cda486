//! Layer normalization (Ba, Kiros & Hinton, 2016, "Layer Normalization") of the rows of an
//! `[N, D]` matrix, forward and backward, each in one pass per row. Composed from tensor
//! operations the forward step is nine operations (two means, a difference, a square, a
//! square root, a quotient, the scale and the shift), each writing an `[N, D]` tensor, and
//! the backward step about twice as many.

use rayon::prelude::*;

use super::fast_math::{dot, simd, sum};

/// Rows handed to one parallel task (also the grouping of the partial sums of the γ and β
/// gradients, so that their order of summation does not depend on the thread count).
const ROWS_PER_TASK: usize = 32;

/// Per row of `x` `[N, D]`: `x̂ = (x − mean) / sqrt(var + ε)` (biased variance) into
/// `normed`, `1 / sqrt(var + ε)` into `rstd` `[N]`, and `x̂·γ + β` into `out`.
pub fn forward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    epsilon: f32,
    normed: &mut [f32],
    rstd: &mut [f32],
    out: &mut [f32],
) {
    let d = gamma.len();
    if d == 0 {
        return;
    }
    out.par_chunks_mut(d * ROWS_PER_TASK)
        .zip(normed.par_chunks_mut(d * ROWS_PER_TASK))
        .zip(rstd.par_chunks_mut(ROWS_PER_TASK))
        .enumerate()
        .for_each(|(task, ((out_rows, normed_rows), rstd_rows))| {
            let first = task * ROWS_PER_TASK;
            let rows = out_rows.chunks_mut(d).zip(normed_rows.chunks_mut(d)).zip(rstd_rows);
            for (i, ((o, n), r)) in rows.enumerate() {
                let row = &x[(first + i) * d..(first + i + 1) * d];
                simd(|| {
                    let mean = sum(row) / d as f32;
                    for (nv, &xv) in n.iter_mut().zip(row) {
                        *nv = xv - mean;
                    }
                    let inv = 1.0 / (dot(n, n) / d as f32 + epsilon).sqrt();
                    *r = inv;
                    for ((ov, nv), (&g, &b)) in
                        o.iter_mut().zip(n.iter_mut()).zip(gamma.iter().zip(beta))
                    {
                        *nv *= inv;
                        *ov = *nv * g + b;
                    }
                });
            }
        });
}

/// From the gradient `grad` `[N, D]` of the output: the input's gradient into `d_x`, and
/// the gradients of γ and β (summed over rows) into `d_gamma` and `d_beta`. `normed` and
/// `rstd` are those of the forward step.
pub fn backward(
    normed: &[f32],
    rstd: &[f32],
    gamma: &[f32],
    grad: &[f32],
    d_x: &mut [f32],
    d_gamma: &mut [f32],
    d_beta: &mut [f32],
) {
    let d = gamma.len();
    d_gamma.fill(0.0);
    d_beta.fill(0.0);
    if d == 0 {
        return;
    }
    let partials: Vec<(Vec<f32>, Vec<f32>)> = d_x
        .par_chunks_mut(d * ROWS_PER_TASK)
        .enumerate()
        .map(|(task, rows)| {
            let (mut dg, mut db, mut dn) = (vec![0f32; d], vec![0f32; d], vec![0f32; d]);
            for (i, dx) in rows.chunks_mut(d).enumerate() {
                let row = task * ROWS_PER_TASK + i;
                let n = &normed[row * d..(row + 1) * d];
                let g = &grad[row * d..(row + 1) * d];
                simd(|| {
                    for j in 0..d {
                        dn[j] = g[j] * gamma[j];
                        dg[j] += g[j] * n[j];
                        db[j] += g[j];
                    }
                    let mean_dn = sum(&dn) / d as f32;
                    let mean_dn_n = dot(&dn, n) / d as f32;
                    let inv = rstd[row];
                    for j in 0..d {
                        dx[j] = inv * (dn[j] - mean_dn - n[j] * mean_dn_n);
                    }
                });
            }
            (dg, db)
        })
        .collect();
    for (dg, db) in &partials {
        for j in 0..d {
            d_gamma[j] += dg[j];
            d_beta[j] += db[j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forward_alloc(x: &[f32], gamma: &[f32], beta: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (n, d) = (x.len() / gamma.len(), gamma.len());
        let (mut normed, mut rstd, mut out) = (vec![0.0; n * d], vec![0.0; n], vec![0.0; n * d]);
        forward(x, gamma, beta, 1e-5, &mut normed, &mut rstd, &mut out);
        (normed, rstd, out)
    }

    fn data(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 250.0 - 2.0)
            .collect()
    }

    #[test]
    fn rows_come_out_with_zero_mean_and_unit_variance() {
        let (n, d) = (70, 9);
        let x = data(n * d, 3);
        let (normed, _, out) = forward_alloc(&x, &vec![1.0; d], &vec![0.0; d]);
        assert_eq!(normed, out);
        for row in out.chunks(d) {
            let mean: f32 = row.iter().sum::<f32>() / d as f32;
            let var: f32 = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
            assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3, "{mean} {var}");
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        // 70 rows: three parallel tasks, the last one partial.
        let (n, d) = (70, 7);
        let x = data(n * d, 1);
        let gamma = data(d, 2);
        let beta = data(d, 5);
        let w = data(n * d, 9); // loss = Σ w·y
        let loss = |x: &[f32], gamma: &[f32], beta: &[f32]| -> f64 {
            let (_, _, out) = forward_alloc(x, gamma, beta);
            out.iter().zip(&w).map(|(&a, &b)| a as f64 * b as f64).sum()
        };
        let (normed, rstd, _) = forward_alloc(&x, &gamma, &beta);
        let (mut dx, mut dg, mut db) = (vec![0.0; n * d], vec![0.0; d], vec![0.0; d]);
        backward(&normed, &rstd, &gamma, &w, &mut dx, &mut dg, &mut db);
        let h = 1e-2f32;
        let numeric = |f: &dyn Fn(f32) -> f64| ((f(h) - f(-h)) / (2.0 * h as f64)) as f32;
        for i in [0, 5, 13, 300, n * d - 1] {
            let fd = numeric(&|e| {
                let mut xp = x.clone();
                xp[i] += e;
                loss(&xp, &gamma, &beta)
            });
            assert!((fd - dx[i]).abs() < 2e-3 * (1.0 + fd.abs()), "x[{i}]: {fd} vs {}", dx[i]);
        }
        for j in 0..d {
            let fg = numeric(&|e| {
                let mut gp = gamma.clone();
                gp[j] += e;
                loss(&x, &gp, &beta)
            });
            let fb = numeric(&|e| {
                let mut bp = beta.clone();
                bp[j] += e;
                loss(&x, &gamma, &bp)
            });
            assert!((fg - dg[j]).abs() < 2e-3 * (1.0 + fg.abs()), "γ[{j}]: {fg} vs {}", dg[j]);
            assert!((fb - db[j]).abs() < 2e-3 * (1.0 + fb.abs()), "β[{j}]: {fb} vs {}", db[j]);
        }
    }
}
