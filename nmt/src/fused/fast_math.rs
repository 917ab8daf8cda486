//! Branch-free `exp`, `sigmoid` and `tanh` in single precision, written so that loops over
//! slices vectorize (the standard library's `f32::exp` is a scalar call into libm).
//!
//! `exp` splits x = k·ln 2 + r with |r| ≤ ln 2 / 2 (Cody & Waite, 1980, "Software Manual
//! for the Elementary Functions") and evaluates e^r by its Taylor polynomial to degree 7
//! (truncation error below 8e-9 relative); 2^k is put into the exponent bits. `tanh`
//! goes through e^(2x) − 1, taken from its Taylor series near zero so that small
//! arguments keep their relative accuracy.

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split into a high part with nine trailing zero bits (so k·LN2_HI is exact for
/// |k| < 2^9) and the rest.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// Adding and subtracting 1.5·2^23 rounds an f32 of magnitude below 2^22 to an integer.
const ROUNDER: f32 = 12_582_912.0;

/// e^x, within 2e-7 relative of the exact value for x in [−87, 88]; inputs beyond are
/// clamped there (e^−87 ≈ 1.6e-38, e^88 ≈ 1.7e38), NaN gives NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let rounded = x * LOG2_E + ROUNDER;
    let k = rounded - ROUNDER;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // The low bits of `rounded` hold k + 2^22 (k in [−126, 127]): integer arithmetic on
    // them gives the biased exponent of 2^k without a float-to-int conversion, whose
    // saturating semantics would keep the loops that call this from vectorizing.
    let biased = rounded.to_bits().wrapping_sub(ROUNDER.to_bits()).wrapping_add(127);
    let scale = f32::from_bits(biased << 23);
    p * scale
}

/// The logistic function 1 / (1 + e^−x).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// e^y − 1 by its Taylor series, for |y| ≤ 0.5 (truncation error below 2e-8 relative).
#[inline(always)]
fn expm1_small(y: f32) -> f32 {
    y * (1.0
        + y * (0.5
            + y * (1.0 / 6.0
                + y * (1.0 / 24.0
                    + y * (1.0 / 120.0
                        + y * (1.0 / 720.0 + y * (1.0 / 5040.0 + y * (1.0 / 40320.0))))))))
}

/// The hyperbolic tangent, (e^2x − 1) / (e^2x + 1).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    // |x| ≥ 9 gives ±1 to f32 precision; the clamp keeps e^2x finite.
    let y = 2.0 * x.clamp(-9.0, 9.0);
    let small = expm1_small(y);
    let large = exp(y) - 1.0;
    let em1 = if y.abs() < 0.5 { small } else { large };
    em1 / (em1 + 2.0)
}

/// Runs `f` compiled for AVX2 when the CPU has it (8 lanes instead of SSE2's 4), else as
/// it is. Both give the same results: no fused multiply-add is enabled.
#[inline(always)]
pub fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the CPU was just found to support AVX2.
        return unsafe { avx2(f) };
    }
    f()
}

/// Lanes of the partial sums, so that reductions vectorize.
const LANES: usize = 8;

/// The largest value of `x` (−∞ for an empty slice; NaNs are skipped).
#[inline(always)]
pub fn max(x: &[f32]) -> f32 {
    let mut m = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            m[l] = if c[l] > m[l] { c[l] } else { m[l] };
        }
    }
    for (l, &v) in rest.iter().enumerate() {
        m[l] = if v > m[l] { v } else { m[l] };
    }
    m.iter().fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a })
}

/// The sum of `x`, in eight interleaved partial sums.
#[inline(always)]
pub fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    for (l, &v) in rest.iter().enumerate() {
        acc[l] += v;
    }
    acc.iter().sum()
}

/// The dot product of `a` and `b` (of equal length), in eight interleaved partial sums.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    for (l, (&x, &y)) in ra.iter().zip(rb).enumerate() {
        acc[l] += x * y;
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> impl Iterator<Item = f32> {
        (-20_000..=20_000).map(|i| i as f32 * 0.004_321)
    }

    #[test]
    fn exp_matches_the_exact_value() {
        let mut worst = 0f64;
        for x in grid().chain((-870..=880).map(|i| i as f32 * 0.1)) {
            let exact = (x as f64).exp();
            let rel = ((exp(x) as f64 - exact) / exact).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 2e-7, "worst relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(-1000.0) > 0.0 && exp(1000.0).is_finite());
    }

    #[test]
    fn sigmoid_and_tanh_match_the_exact_values() {
        let (mut worst_s, mut worst_t) = (0f64, 0f64);
        for x in grid().chain([1e-8, -1e-8, 1e-4, -3e-3, 0.2499, 0.25, 0.2501]) {
            let xd = x as f64;
            let s = 1.0 / (1.0 + (-xd).exp());
            worst_s = worst_s.max(((sigmoid(x) as f64 - s) / s).abs());
            let t = xd.tanh();
            let err = (tanh(x) as f64 - t).abs() / t.abs().max(1e-30);
            worst_t = worst_t.max(err);
        }
        assert!(worst_s < 4e-7, "sigmoid: worst relative error {worst_s}");
        assert!(worst_t < 4e-7, "tanh: worst relative error {worst_t}");
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(30.0), 1.0);
        assert_eq!(tanh(-30.0), -1.0);
    }
}
