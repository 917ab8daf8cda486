//! The teacher-forced LSTM decoder with dot-product attention and input feeding (Luong,
//! Pham & Manning, 2015) over a whole target batch as one operation, and backpropagation
//! through time as its backward step.
//!
//! Composed from tensor operations each time step is about twenty operations (a join of the
//! step's input, the gate product, the cell, the attention scores, softmax and context,
//! another join, the combine product and its tanh, dropout), each a node of the autodiff
//! graph and most of them too small to spread over threads; the decoder's weights and the
//! attention memory collect one gradient per step, summed one after the other. Here groups
//! of rows run their whole recurrence as one parallel task, with the products of a step
//! on the task's own thread, and the weight gradients are one product over all steps.
//!
//! One step for one row, with the input feed `f` (zero at the first step) and the previous
//! state `h, c` (the initial `h` given, `c` zero):
//! `gates = [x_t; f; h]·W + b`, `(h, c) = cell(gates, c)`, `a = softmax(K·h)` over the
//! row's non-padding source positions, `ctx = aᵀV`, `f = tanh([ctx; h]·C) ⊙ drop_t`.
//! A row with no source position (an empty source) attends uniformly to every position,
//! as the attention softmax does.
//!
//! Layout: `x` `[B, T, E]`, `W` `[E + 2H, 4H]` (gates i, f, g, o), `b` `[4H]`, keys `K` and
//! values `V` `[B, S, H]`, `pad` `[B, S]` (non-zero at padding), initial state `[B, H]`,
//! `C` `[2H, H]`, dropout factors `drop` `[B, T, H]` (0 or 1/(1 − p)); the output, the
//! input feeds, `[B, T, H]`.

use rayon::prelude::*;

use super::affine::{column_sums, rows, serial_product, transposed_product, View};
use super::fast_math::{dot, exp, max, simd, sum, tanh};
use super::lstm_cell::{backward_row, forward_row};
use super::zeros;

/// Rows of the batch whose recurrence one parallel task runs. Fixed, so that the results
/// do not depend on the number of threads.
const ROWS_PER_TASK: usize = 32;

/// The sizes: batch, target steps, embedding, hidden, source positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    /// Rows of the batch (B).
    pub batch: usize,
    /// Target steps (T).
    pub steps: usize,
    /// Embedding size (E).
    pub emb: usize,
    /// Hidden size (H).
    pub hidden: usize,
    /// Source positions (S).
    pub src: usize,
}

impl Dims {
    /// Width of a step's input `[x; feed; h]`.
    fn input(&self) -> usize {
        self.emb + 2 * self.hidden
    }
}

/// The decoder's weights.
#[derive(Clone, Copy, Debug)]
pub struct Weights<'a> {
    /// Gate weights `[E + 2H, 4H]`.
    pub gates: &'a [f32],
    /// Gate bias `[4H]`.
    pub bias: &'a [f32],
    /// Combine weights `[2H, H]`.
    pub combine: &'a [f32],
}

/// What the encoder hands over, and the dropout factors of the feeds.
#[derive(Clone, Copy, Debug)]
pub struct Memory<'a> {
    /// Attention keys `[B, S, H]`.
    pub keys: &'a [f32],
    /// Attention values `[B, S, H]`.
    pub values: &'a [f32],
    /// `[B, S]`, non-zero at padding positions.
    pub pad: &'a [f32],
    /// Initial hidden state `[B, H]`.
    pub init: &'a [f32],
    /// Dropout factors of the feeds `[B, T, H]`.
    pub drop: &'a [f32],
}

/// What the forward pass keeps for the backward, per row and step (`[B, T, ·]`).
#[derive(Clone, Debug)]
pub struct Trace {
    /// Each step's input `[x; feed; h]` `[B, T, E + 2H]`.
    pub inputs: Vec<f32>,
    /// Gate pre-activations `[B, T, 4H]`.
    pub gates: Vec<f32>,
    /// Cell states `[B, T, H]`.
    pub cells: Vec<f32>,
    /// Attention weights `[B, T, S]`.
    pub attention: Vec<f32>,
    /// The combine layer's input `[ctx; h]` `[B, T, 2H]`.
    pub context: Vec<f32>,
    /// The combine layer's output (before dropout) `[B, T, H]`.
    pub combined: Vec<f32>,
    /// The output, the feeds `[B, T, H]`.
    pub output: Vec<f32>,
    /// The sizes.
    pub dims: Dims,
}

/// The gradients of the operation's differentiable inputs.
#[derive(Clone, Debug)]
pub struct Grads {
    /// Of `x` `[B, T, E]`.
    pub x: Vec<f32>,
    /// Of the gate weights `[E + 2H, 4H]`.
    pub gates: Vec<f32>,
    /// Of the gate bias `[4H]`.
    pub bias: Vec<f32>,
    /// Of the keys `[B, S, H]`.
    pub keys: Vec<f32>,
    /// Of the values `[B, S, H]`.
    pub values: Vec<f32>,
    /// Of the initial hidden state `[B, H]`.
    pub init: Vec<f32>,
    /// Of the combine weights `[2H, H]`.
    pub combine: Vec<f32>,
}

/// `v` cut into the parts of consecutive tasks, `width` values per row and step.
fn parts(v: &mut [f32], per_row: usize) -> Vec<&mut [f32]> {
    v.chunks_mut((ROWS_PER_TASK * per_row).max(1)).collect()
}

/// One task's rows of the trace.
struct TraceRows<'a> {
    inputs: &'a mut [f32],
    gates: &'a mut [f32],
    cells: &'a mut [f32],
    attention: &'a mut [f32],
    context: &'a mut [f32],
    combined: &'a mut [f32],
    output: &'a mut [f32],
}

/// The attention weights of `query` over one row's `keys` `[S, H]` into `weights` `[S]`.
#[inline(always)]
fn attend(query: &[f32], keys: &[f32], pad: &[f32], weights: &mut [f32]) {
    let (s_len, h) = (weights.len(), query.len());
    if !pad.contains(&0.0) {
        weights.fill(1.0 / s_len as f32);
        return;
    }
    for (s, w) in weights.iter_mut().enumerate() {
        *w = if pad[s] == 0.0 { dot(&keys[s * h..(s + 1) * h], query) } else { f32::NEG_INFINITY };
    }
    let m = max(weights);
    weights.iter_mut().for_each(|v| *v = exp(*v - m));
    // exp clamps its argument at −87, so masked positions need zeroing.
    for (w, &p) in weights.iter_mut().zip(pad) {
        if p != 0.0 {
            *w = 0.0;
        }
    }
    let inv = 1.0 / sum(weights);
    weights.iter_mut().for_each(|v| *v *= inv);
}

/// Runs the decoder over the batch.
pub fn forward(x: &[f32], w: Weights<'_>, mem: Memory<'_>, dims: Dims) -> Trace {
    let Dims { batch: b, steps: t, emb: e, hidden: h, src: s } = dims;
    let din = dims.input();
    assert!(x.len() == b * t * e && w.gates.len() == din * 4 * h && w.bias.len() == 4 * h);
    assert!(w.combine.len() == 2 * h * h && mem.init.len() == b * h);
    assert!(mem.keys.len() == b * s * h && mem.values.len() == b * s * h);
    assert!(mem.pad.len() == b * s && mem.drop.len() == b * t * h);
    let mut trace = Trace {
        inputs: zeros(b * t * din),
        gates: zeros(b * t * 4 * h),
        cells: zeros(b * t * h),
        attention: zeros(b * t * s),
        context: zeros(b * t * 2 * h),
        combined: zeros(b * t * h),
        output: zeros(b * t * h),
        dims,
    };
    if b * t * h == 0 {
        return trace;
    }
    let tasks: Vec<TraceRows<'_>> =
        parts(&mut trace.inputs, t * din)
            .into_iter()
            .zip(parts(&mut trace.gates, t * 4 * h))
            .zip(parts(&mut trace.cells, t * h))
            .zip(parts(&mut trace.attention, t * s))
            .zip(parts(&mut trace.context, t * 2 * h))
            .zip(parts(&mut trace.combined, t * h))
            .zip(parts(&mut trace.output, t * h))
            .map(|((((((inputs, gates), cells), attention), context), combined), output)| {
                TraceRows { inputs, gates, cells, attention, context, combined, output }
            })
            .collect();
    tasks.into_par_iter().enumerate().for_each(|(task, rows)| {
        let first = task * ROWS_PER_TASK;
        let n = rows.cells.len() / (t * h);
        let of = |v, width| part(v, first, n, width);
        let row_mem = Memory {
            keys: of(mem.keys, s * h),
            values: of(mem.values, s * h),
            pad: of(mem.pad, s),
            init: of(mem.init, h),
            drop: of(mem.drop, t * h),
        };
        forward_rows(of(x, t * e), w, row_mem, rows, Dims { batch: n, ..dims });
    });
    trace
}

/// Rows `first..first + n` of `v`, `width` values each.
fn part(v: &[f32], first: usize, n: usize, width: usize) -> &[f32] {
    &v[first * width..(first + n) * width]
}

/// [`forward`] for the rows of one task.
fn forward_rows(x: &[f32], w: Weights<'_>, mem: Memory<'_>, tr: TraceRows<'_>, dims: Dims) {
    let Dims { batch: n, steps: t, emb: e, hidden: h, src: s } = dims;
    let din = dims.input();
    let zeros = vec![0f32; h];
    for step in 0..t {
        for row in 0..n {
            let at = row * t + step;
            let input = &mut tr.inputs[at * din..(at + 1) * din];
            input[..e].copy_from_slice(&x[at * e..(at + 1) * e]);
            if step == 0 {
                input[e..e + h].fill(0.0);
                input[e + h..].copy_from_slice(&mem.init[row * h..(row + 1) * h]);
            } else {
                input[e..e + h].copy_from_slice(&tr.output[(at - 1) * h..at * h]);
                let prev_h = &tr.context[(at - 1) * 2 * h + h..at * 2 * h];
                input[e + h..].copy_from_slice(prev_h);
            }
            tr.gates[at * 4 * h..(at + 1) * 4 * h].copy_from_slice(w.bias);
        }
        let step_inputs =
            View { values: &tr.inputs[step * din..], row_stride: t * din, col_stride: 1 };
        let gates_out = &mut tr.gates[step * 4 * h..];
        serial_product(
            [n, 4 * h, din],
            step_inputs,
            rows(w.gates, 4 * h),
            gates_out,
            t * 4 * h,
            true,
        );
        simd(|| {
            for row in 0..n {
                let at = row * t + step;
                let (before, now) = tr.cells.split_at_mut(at * h);
                let c_prev = if step == 0 { &zeros[..] } else { &before[(at - 1) * h..] };
                let (ctx, h_out) = tr.context[at * 2 * h..(at + 1) * 2 * h].split_at_mut(h);
                forward_row(&tr.gates[at * 4 * h..(at + 1) * 4 * h], c_prev, h_out, &mut now[..h]);
                ctx.fill(0.0);
                if s == 0 {
                    continue;
                }
                let weights = &mut tr.attention[at * s..(at + 1) * s];
                let keys = &mem.keys[row * s * h..(row + 1) * s * h];
                attend(h_out, keys, &mem.pad[row * s..(row + 1) * s], weights);
                let values = &mem.values[row * s * h..(row + 1) * s * h];
                for (&a, v) in weights.iter().zip(values.chunks_exact(h)) {
                    ctx.iter_mut().zip(v).for_each(|(c, &v)| *c += a * v);
                }
            }
        });
        let step_context =
            View { values: &tr.context[step * 2 * h..], row_stride: t * 2 * h, col_stride: 1 };
        let combined = &mut tr.combined[step * h..];
        serial_product([n, h, 2 * h], step_context, rows(w.combine, h), combined, t * h, false);
        simd(|| {
            for row in 0..n {
                let at = row * t + step;
                let range = at * h..(at + 1) * h;
                let out = tr.output[range.clone()].iter_mut();
                for ((o, c), &d) in out.zip(&mut tr.combined[range.clone()]).zip(&mem.drop[range]) {
                    *c = tanh(*c);
                    *o = *c * d;
                }
            }
        });
    }
}

/// `w` `[rows, cols]` transposed into a new contiguous `[cols, rows]` buffer.
fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; w.len()];
    for (r, row) in w.chunks_exact(cols.max(1)).enumerate().take(rows) {
        for (c, &v) in row.iter().enumerate() {
            out[c * rows + r] = v;
        }
    }
    out
}

/// One task's rows of the gradients written during the recurrence.
struct GradRows<'a> {
    x: &'a mut [f32],
    gates: &'a mut [f32],
    pre: &'a mut [f32],
    keys: &'a mut [f32],
    values: &'a mut [f32],
    init: &'a mut [f32],
}

/// The gradients of the inputs from the gradient `grad` `[B, T, H]` of the output.
pub fn backward(trace: &Trace, w: Weights<'_>, mem: Memory<'_>, grad: &[f32]) -> Grads {
    let dims = trace.dims;
    let Dims { batch: b, steps: t, emb: e, hidden: h, src: s } = dims;
    let din = dims.input();
    assert_eq!(grad.len(), b * t * h, "output gradient of the wrong size");
    let mut d_x = zeros(b * t * e);
    let mut d_gates = zeros(b * t * 4 * h);
    let mut d_pre = zeros(b * t * h);
    let mut d_keys = zeros(b * s * h);
    let mut d_values = zeros(b * s * h);
    let mut d_init = zeros(b * h);
    if b * t * h > 0 {
        let gates_t = transpose(w.gates, din, 4 * h);
        let combine_t = transpose(w.combine, 2 * h, h);
        let tasks: Vec<GradRows<'_>> = parts(&mut d_x, t * e)
            .into_iter()
            .zip(parts(&mut d_gates, t * 4 * h))
            .zip(parts(&mut d_pre, t * h))
            .zip(parts(&mut d_keys, s * h))
            .zip(parts(&mut d_values, s * h))
            .zip(parts(&mut d_init, h))
            .map(|(((((x, gates), pre), keys), values), init)| GradRows {
                x,
                gates,
                pre,
                keys,
                values,
                init,
            })
            .collect();
        tasks.into_par_iter().enumerate().for_each(|(task, out)| {
            let first = task * ROWS_PER_TASK;
            let n = out.init.len() / h;
            let range = |width: usize| first * width..(first + n) * width;
            let row_trace = TraceView {
                gates: &trace.gates[range(t * 4 * h)],
                cells: &trace.cells[range(t * h)],
                attention: &trace.attention[range(t * s)],
                context: &trace.context[range(t * 2 * h)],
                combined: &trace.combined[range(t * h)],
            };
            let row_mem = Memory {
                keys: &mem.keys[range(s * h)],
                values: &mem.values[range(s * h)],
                pad: &mem.pad[range(s)],
                init: &mem.init[range(h)],
                drop: &mem.drop[range(t * h)],
            };
            let transposed = [&gates_t[..], &combine_t[..]];
            let dims = Dims { batch: n, ..dims };
            backward_rows(row_trace, row_mem, transposed, &grad[range(t * h)], out, dims);
        });
    }
    Grads {
        gates: transposed_product(&trace.inputs, din, &d_gates, 4 * h),
        bias: column_sums(&d_gates, 4 * h),
        combine: transposed_product(&trace.context, 2 * h, &d_pre, h),
        x: d_x,
        keys: d_keys,
        values: d_values,
        init: d_init,
    }
}

/// One task's rows of the trace, read-only.
struct TraceView<'a> {
    gates: &'a [f32],
    cells: &'a [f32],
    attention: &'a [f32],
    context: &'a [f32],
    combined: &'a [f32],
}

/// Backpropagation through time for the rows of one task; `transposed` holds the gate
/// weights `[4H, E + 2H]` and the combine weights `[H, 2H]`, transposed.
fn backward_rows(
    tr: TraceView<'_>,
    mem: Memory<'_>,
    [gates_t, combine_t]: [&[f32]; 2],
    grad: &[f32],
    out: GradRows<'_>,
    dims: Dims,
) {
    let Dims { batch: n, steps: t, emb: e, hidden: h, src: s } = dims;
    let din = dims.input();
    let zeros = vec![0f32; h];
    // Gradients flowing into the previous step: its h (through the gates), its c and its
    // output (through the next input's feed).
    let mut dh_next = vec![0f32; n * h];
    let mut dc_next = vec![0f32; n * h];
    let mut dfeed_next = vec![0f32; n * h];
    let mut dc_prev = vec![0f32; n * h];
    let mut d_context = vec![0f32; n * 2 * h];
    let mut d_input = vec![0f32; n * din];
    let mut dh = vec![0f32; h];
    let mut d_weights = vec![0f32; s];
    for step in (0..t).rev() {
        simd(|| {
            for row in 0..n {
                let at = row * t + step;
                let range = at * h..(at + 1) * h;
                let feed = &dfeed_next[row * h..(row + 1) * h];
                let pre = out.pre[range.clone()].iter_mut().zip(&tr.combined[range.clone()]);
                for (((p, &c), &d), (&g, &f)) in
                    pre.zip(&mem.drop[range.clone()]).zip(grad[range].iter().zip(feed))
                {
                    *p = (g + f) * d * (1.0 - c * c);
                }
            }
        });
        let step_pre = View { values: &out.pre[step * h..], row_stride: t * h, col_stride: 1 };
        serial_product(
            [n, 2 * h, h],
            step_pre,
            rows(combine_t, 2 * h),
            &mut d_context,
            2 * h,
            false,
        );
        simd(|| {
            for row in 0..n {
                let at = row * t + step;
                let (d_ctx, d_h_comb) = d_context[row * 2 * h..(row + 1) * 2 * h].split_at(h);
                for ((d, &a), &b) in
                    dh.iter_mut().zip(d_h_comb).zip(&dh_next[row * h..(row + 1) * h])
                {
                    *d = a + b;
                }
                let h_t = &tr.context[at * 2 * h + h..(at + 1) * 2 * h];
                if s > 0 {
                    let weights = &tr.attention[at * s..(at + 1) * s];
                    let keys = &mem.keys[row * s * h..(row + 1) * s * h];
                    let values = &mem.values[row * s * h..(row + 1) * s * h];
                    let d_keys = &mut out.keys[row * s * h..(row + 1) * s * h];
                    let d_values = &mut out.values[row * s * h..(row + 1) * s * h];
                    for (dw, v) in d_weights.iter_mut().zip(values.chunks_exact(h)) {
                        *dw = dot(d_ctx, v);
                    }
                    for (&a, dv) in weights.iter().zip(d_values.chunks_exact_mut(h)) {
                        dv.iter_mut().zip(d_ctx).for_each(|(x, &g)| *x += a * g);
                    }
                    if mem.pad[row * s..(row + 1) * s].contains(&0.0) {
                        let wg = dot(weights, &d_weights);
                        for (j, (&a, &dw)) in weights.iter().zip(d_weights.iter()).enumerate() {
                            let d_score = a * (dw - wg);
                            let k = &keys[j * h..(j + 1) * h];
                            dh.iter_mut().zip(k).for_each(|(x, &kv)| *x += d_score * kv);
                            let dk = &mut d_keys[j * h..(j + 1) * h];
                            dk.iter_mut().zip(h_t).for_each(|(x, &hv)| *x += d_score * hv);
                        }
                    }
                }
                let c_prev = if step == 0 { &zeros[..] } else { &tr.cells[(at - 1) * h..at * h] };
                backward_row(
                    &tr.gates[at * 4 * h..(at + 1) * 4 * h],
                    c_prev,
                    &tr.cells[at * h..(at + 1) * h],
                    [&dh, &dc_next[row * h..(row + 1) * h]],
                    &mut out.gates[at * 4 * h..(at + 1) * 4 * h],
                    &mut dc_prev[row * h..(row + 1) * h],
                );
            }
        });
        std::mem::swap(&mut dc_next, &mut dc_prev);
        let step_gates =
            View { values: &out.gates[step * 4 * h..], row_stride: t * 4 * h, col_stride: 1 };
        serial_product([n, din, 4 * h], step_gates, rows(gates_t, din), &mut d_input, din, false);
        for row in 0..n {
            let at = row * t + step;
            let d = &d_input[row * din..(row + 1) * din];
            out.x[at * e..(at + 1) * e].copy_from_slice(&d[..e]);
            dfeed_next[row * h..(row + 1) * h].copy_from_slice(&d[e..e + h]);
            dh_next[row * h..(row + 1) * h].copy_from_slice(&d[e + h..]);
        }
    }
    out.init.copy_from_slice(&dh_next);
}
