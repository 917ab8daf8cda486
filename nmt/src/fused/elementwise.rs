//! Element-wise maps over slices, in parallel chunks and compiled for AVX2 where the CPU
//! has it ([`simd`]), for the fused operations that are one function per element.

use rayon::prelude::*;

use super::fast_math::simd;

/// Elements handed to one parallel task.
const CHUNK: usize = 8192;

/// `out[i] = f(x[i])`.
pub fn map(x: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32 + Sync) {
    out.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK)).for_each(|(o, x)| {
        simd(|| o.iter_mut().zip(x).for_each(|(o, &x)| *o = f(x)));
    });
}

/// `out[i] = f(a[i], b[i])`.
pub fn zip_map(a: &[f32], b: &[f32], out: &mut [f32], f: impl Fn(f32, f32) -> f32 + Sync) {
    out.par_chunks_mut(CHUNK).zip(a.par_chunks(CHUNK)).zip(b.par_chunks(CHUNK)).for_each(
        |((o, a), b)| {
            simd(|| o.iter_mut().zip(a).zip(b).for_each(|((o, &a), &b)| *o = f(a, b)));
        },
    );
}
