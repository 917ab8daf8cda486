//! The affine map `y = x·W + b` of the rows of `x` `[N, D]` and its backward step, as direct
//! calls of the `gemm` crate's matrix product (the one burn's CPU backend calls). burn's
//! product zero-fills its output and then copies it to realign it, and adds the bias as a
//! separate operation; here the bias is written first and the product added onto it, and
//! the two gradient products write into fresh buffers.
//!
//! Strides: `w` may be any 2-D view (the tied output layer multiplies by the transposed
//! embedding matrix); `x` and the gradient are contiguous.

use std::mem::MaybeUninit;

use gemm::Parallelism;
use rayon::prelude::*;

/// Products with at least this many multiply-adds use every thread (burn's threshold).
const PARALLEL_WORK: usize = 192 * 192 * 192;

/// A matrix view: the values, and the strides of a row and of a column.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// The values, from the view's first element.
    pub values: &'a [f32],
    /// Distance between rows.
    pub row_stride: usize,
    /// Distance between columns.
    pub col_stride: usize,
}

impl View<'_> {
    fn transposed(self) -> Self {
        View { values: self.values, row_stride: self.col_stride, col_stride: self.row_stride }
    }

    /// Whether a `rows` × `cols` matrix with these strides lies within the values.
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || (rows - 1) * self.row_stride + (cols - 1) * self.col_stride < self.values.len()
    }
}

/// A contiguous `[rows, cols]` matrix as a view.
pub fn rows(values: &[f32], cols: usize) -> View<'_> {
    View { values, row_stride: cols, col_stride: 1 }
}

fn parallelism(m: usize, n: usize, k: usize) -> Parallelism {
    if m.saturating_mul(n).saturating_mul(k) >= PARALLEL_WORK {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    }
}

/// Width of the column blocks of a product whose right operand is strided along its rows.
/// Fixed (not one block a thread) so that the sums do not depend on the number of threads.
const COLUMN_BLOCK: usize = 128;

/// Such an operand is split into column blocks from this many elements on (2 MiB): below
/// it, packing it on one thread costs less than the blocks' extra calls.
const SPLIT_OPERAND: usize = 1 << 19;

/// The output's first element, shared by the tasks that write disjoint column blocks.
struct Dst(*mut f32);

// SAFETY: the tasks holding it write disjoint elements and the caller waits for all of them.
unsafe impl Send for Dst {}
unsafe impl Sync for Dst {}

impl Dst {
    /// The pointer (a method, so that closures capture the whole `Send` wrapper).
    fn at(&self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

/// `out` `[m, n]` (contiguous) `= a·b + (out if add)`, `a` `[m, k]`, `b` `[k, n]`; `out` must
/// be initialized when `add` is set (else it is only written).
fn product(
    m: usize,
    n: usize,
    k: usize,
    a: View<'_>,
    b: View<'_>,
    out: &mut [MaybeUninit<f32>],
    add: bool,
) {
    assert!(a.fits(m, k) && b.fits(k, n) && out.len() >= m * n, "matrix shapes disagree");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !add {
            out[..m * n].fill(MaybeUninit::new(0.0));
        }
        return;
    }
    let parallel = parallelism(m, n, k);
    let dst = Dst(out.as_mut_ptr().cast::<f32>());
    let split = b.col_stride != 1 && n > COLUMN_BLOCK && k * n >= SPLIT_OPERAND;
    if split && matches!(parallel, Parallelism::Rayon(_)) {
        // `gemm` would copy such a `b` into its packed layout on the calling thread alone
        // before the parallel part (the gradient of an affine map's input multiplies by the
        // transposed weights); blocks of columns, one task each, pack their own parts.
        (0..n.div_ceil(COLUMN_BLOCK)).into_par_iter().for_each(|block| {
            let first = block * COLUMN_BLOCK;
            let width = COLUMN_BLOCK.min(n - first);
            let b = View { values: &b.values[first * b.col_stride..], ..b };
            // SAFETY: `b` still holds a k×width matrix (checked above for k×n, from a
            // first column `first` columns further on); the block writes columns
            // first..first + width of the checked m×n output, which no other task writes.
            unsafe { gemm_into(dst.at(first), [m, width, k], n, a, b, add, Parallelism::None) };
        });
        return;
    }
    // SAFETY: the three views were just checked to hold an m×k, a k×n and an m×n matrix
    // with the given strides, and `out` is borrowed mutably, so it aliases neither input;
    // it is read only when `add` is set, when the caller has initialized it.
    unsafe { gemm_into(dst.at(0), [m, n, k], n, a, b, add, parallel) };
}

/// `gemm` of `a` `[m, k]` and `b` `[k, n]` into the `[m, n]` matrix at `dst` whose rows lie
/// `row_stride` apart (columns contiguous), added onto it when `add` is set.
///
/// # Safety
/// `a` and `b` must hold matrices of those shapes with their strides, and `dst` must be
/// valid for writes (and reads when `add` is set) of the m×n elements, aliasing neither.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_into(
    dst: *mut f32,
    [m, n, k]: [usize; 3],
    row_stride: usize,
    a: View<'_>,
    b: View<'_>,
    add: bool,
    parallelism: Parallelism,
) {
    // SAFETY: as the caller guarantees.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            row_stride as isize,
            add,
            a.values.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.values.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `out` `= a·b + (out if add)` on the calling thread alone, for `a` `[m, k]`, `b` `[k, n]`
/// and the `[m, n]` matrix at the start of `out` whose rows lie `out_row_stride` apart
/// (the rows of one time step inside a `[B, T, n]` buffer): the products inside tasks that
/// already run in parallel.
pub(super) fn serial_product(
    [m, n, k]: [usize; 3],
    a: View<'_>,
    b: View<'_>,
    out: &mut [f32],
    out_row_stride: usize,
    add: bool,
) {
    assert!(a.fits(m, k) && b.fits(k, n), "matrix shapes disagree");
    assert!(m == 0 || (out_row_stride >= n && out.len() >= (m - 1) * out_row_stride + n));
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !add {
            out.chunks_mut(out_row_stride).take(m).for_each(|r| r[..n].fill(0.0));
        }
        return;
    }
    // SAFETY: the views were checked to hold an m×k and a k×n matrix, and `out` (borrowed
    // mutably, so aliasing neither) an m×n one with rows `out_row_stride` apart; it is
    // initialized, as a slice of f32.
    unsafe { gemm_into(out.as_mut_ptr(), [m, n, k], out_row_stride, a, b, add, Parallelism::None) };
}

/// `aᵀ·b` `[d_a, d_b]` for `a` `[n, d_a]` and `b` `[n, d_b]` (contiguous rows): the
/// gradient of weights from the inputs and output gradients of every row.
pub(super) fn transposed_product(a: &[f32], d_a: usize, b: &[f32], d_b: usize) -> Vec<f32> {
    let n = a.len().checked_div(d_a).unwrap_or(0);
    product_new(d_a, d_b, n, rows(a, d_a).transposed(), rows(b, d_b))
}

/// `y` `[N, O]` `= x·w + bias` for `x` `[N, D]`, `w` `[D, O]`, `bias` `[O]`.
pub fn forward(x: &[f32], w: View<'_>, bias: &[f32], d: usize, n: usize) -> Vec<f32> {
    let o = bias.len();
    // Every row starts as the bias, written once (no zero fill) by every thread, then takes
    // the product.
    let mut y: Vec<f32> = Vec::with_capacity(n * o);
    if o > 0 {
        y.spare_capacity_mut()[..n * o].par_chunks_mut(o * 64).for_each(|rows| {
            for row in rows.chunks_mut(o) {
                row.iter_mut().zip(bias).for_each(|(r, &b)| *r = MaybeUninit::new(b));
            }
        });
    }
    // SAFETY: every one of the n·o elements was just written (none when o is 0).
    unsafe { y.set_len(n * o) };
    // SAFETY (of the cast): initialized values viewed as possibly uninitialized ones; the
    // product writes only initialized values.
    let out = unsafe { &mut *(y.as_mut_slice() as *mut [f32] as *mut [MaybeUninit<f32>]) };
    product(n, o, d, rows(x, d), w, out, true);
    y
}

/// `a·b` `[m, n]` into a new buffer, written once by the product.
fn product_new(m: usize, n: usize, k: usize, a: View<'_>, b: View<'_>) -> Vec<f32> {
    if k == 0 {
        return vec![0f32; m * n];
    }
    let mut out: Vec<f32> = Vec::with_capacity(m * n);
    product(m, n, k, a, b, &mut out.spare_capacity_mut()[..m * n], false);
    // SAFETY: with k > 0 and `add` unset the product has written all m·n elements.
    unsafe { out.set_len(m * n) };
    out
}

/// The gradients of `x` `[N, D]`, `w` `[D, O]` and the bias `[O]` from that of `y`,
/// `grad` `[N, O]`.
pub fn backward(
    x: &[f32],
    w: View<'_>,
    grad: &[f32],
    dims: [usize; 3],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let [n, d, o] = dims;
    let d_x = product_new(n, d, o, rows(grad, o), w.transposed());
    let d_w = product_new(d, o, n, rows(x, d).transposed(), rows(grad, o));
    let d_b = column_sums(grad, o);
    (d_x, d_w, d_b)
}

/// The sums of the columns of `m` `[N, cols]`, in a fixed order of blocks of rows.
pub(super) fn column_sums(m: &[f32], cols: usize) -> Vec<f32> {
    const BLOCK: usize = 64;
    if cols == 0 {
        return Vec::new();
    }
    let partial: Vec<Vec<f32>> = m
        .par_chunks(cols * BLOCK)
        .map(|block| {
            let mut s = vec![0f32; cols];
            for row in block.chunks(cols) {
                s.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
            }
            s
        })
        .collect();
    let mut sums = vec![0f32; cols];
    for p in &partial {
        sums.iter_mut().zip(p).for_each(|(a, &v)| *a += v);
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f32], w: &[f32], bias: &[f32], d: usize) -> Vec<f32> {
        let o = bias.len();
        x.chunks(d)
            .flat_map(|row| {
                (0..o).map(move |j| bias[j] + (0..d).map(|i| row[i] * w[i * o + j]).sum::<f32>())
            })
            .collect()
    }

    fn data(len: usize, seed: usize) -> Vec<f32> {
        (0..len).map(|i| ((i * 7919 + seed * 104_729) % 97) as f32 / 48.0 - 1.0).collect()
    }

    #[test]
    fn forward_and_gradients_equal_the_naive_sums() {
        // Small (one thread) and large (every thread) products, and products with strided
        // operands large enough to run in column blocks (the last one).
        for (n, d, o) in [(5, 3, 4), (300, 200, 150), (40, 1100, 500)] {
            let x = data(n * d, 1);
            let w = data(d * o, 2);
            let bias = data(o, 3);
            let y = forward(&x, rows(&w, o), &bias, d, n);
            for (a, b) in y.iter().zip(naive(&x, &w, &bias, d)) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
            // The same weights stored transposed, [O, D], and viewed as [D, O].
            let wr = &w;
            let wt: Vec<f32> = (0..o).flat_map(|j| (0..d).map(move |i| wr[i * o + j])).collect();
            let wt_view = View { values: &wt, row_stride: 1, col_stride: d };
            let y2 = forward(&x, wt_view, &bias, d, n);
            for (a, b) in y.iter().zip(&y2) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
            let g = data(n * o, 4);
            // Both layouts: the transposed product of the row-major weights runs in column
            // blocks when it is large.
            for view in [wt_view, rows(&w, o)] {
                let (d_x, d_w, d_b) = backward(&x, view, &g, [n, d, o]);
                for r in [0, n / 2, n - 1] {
                    for i in 0..d {
                        let want: f32 = (0..o).map(|j| g[r * o + j] * w[i * o + j]).sum();
                        assert!((d_x[r * d + i] - want).abs() < 1e-4);
                    }
                }
                for i in [0, d - 1] {
                    for j in [0, o - 1] {
                        let want: f32 = (0..n).map(|r| x[r * d + i] * g[r * o + j]).sum();
                        assert!(
                            (d_w[i * o + j] - want).abs() < 1e-3,
                            "{} vs {want}",
                            d_w[i * o + j]
                        );
                    }
                }
                for j in 0..o {
                    let want: f32 = (0..n).map(|r| g[r * o + j]).sum();
                    assert!((d_b[j] - want).abs() < 1e-3);
                }
            }
        }
    }
}
