//! GELU, `x·Φ(x)` with Φ the standard normal distribution function (Hendrycks & Gimpel,
//! 2016, "Gaussian Error Linear Units"), forward and backward, vectorizable. Φ comes from
//! the complementary error function of Abramowitz & Stegun (1964), formula 7.1.26
//! (absolute error below 1.5e-7), taken as it is for negative arguments so that the left
//! tail keeps its relative accuracy; burn's own GELU calls a scalar `erf` per element.

use super::elementwise;
use super::fast_math::exp;

const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// 1 / √(2π).
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// Φ(x) and the normal density φ(x).
#[inline(always)]
pub fn cdf_pdf(x: f32) -> (f32, f32) {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_8, -1.453_152, 1.061_405_4];
    let z = x.abs() * FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + P * z);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let gauss = exp(-z * z); // e^(−x²/2)
    let half_erfc = 0.5 * poly * gauss;
    let cdf = if x < 0.0 { half_erfc } else { 1.0 - half_erfc };
    (cdf, FRAC_1_SQRT_2PI * gauss)
}

/// `out = x·Φ(x)` element-wise.
pub fn forward(x: &[f32], out: &mut [f32]) {
    elementwise::map(x, out, |x| x * cdf_pdf(x).0);
}

/// `d_x = grad·(Φ(x) + x·φ(x))` element-wise.
pub fn backward(x: &[f32], grad: &[f32], d_x: &mut [f32]) {
    elementwise::zip_map(x, grad, d_x, |x, g| {
        let (cdf, pdf) = cdf_pdf(x);
        g * (cdf + x * pdf)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Φ(x) in double precision: 1/2 + ∫₀ˣ φ by Simpson's rule on 4,000 intervals.
    fn exact_cdf(x: f64) -> f64 {
        let n = 4000;
        let h = x / n as f64;
        let phi = |t: f64| (-0.5 * t * t).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let inner: f64 =
            (1..n).map(|i| if i % 2 == 1 { 4.0 } else { 2.0 } * phi(i as f64 * h)).sum();
        0.5 + h / 3.0 * (phi(0.0) + inner + phi(x))
    }

    #[test]
    fn the_distribution_function_is_within_the_approximation_error() {
        for i in -800..=800 {
            let x = i as f32 * 0.01;
            let (cdf, pdf) = cdf_pdf(x);
            let exact = exact_cdf(x as f64);
            assert!((cdf as f64 - exact).abs() < 3e-7, "Φ({x}) = {cdf}, exact {exact}");
            let density = (-0.5 * (x as f64).powi(2)).exp() / (2.0 * std::f64::consts::PI).sqrt();
            assert!((pdf as f64 - density).abs() < 1e-7 + 1e-6 * density, "φ({x})");
        }
        assert!((cdf_pdf(0.0).0 - 0.5).abs() < 2e-7);
        assert_eq!(cdf_pdf(30.0).0, 1.0);
        assert!(cdf_pdf(-30.0).0 < 1e-30);
    }

    #[test]
    fn the_gradient_matches_finite_differences() {
        let x: Vec<f32> = (-500..500).map(|i| i as f32 * 0.013).collect();
        let grad: Vec<f32> = (0..x.len()).map(|i| 1.0 + (i % 3) as f32).collect();
        let mut d = vec![0.0; x.len()];
        backward(&x, &grad, &mut d);
        let gelu = |v: f64| v * exact_cdf(v);
        let h = 1e-3;
        for (i, &xv) in x.iter().enumerate().step_by(37) {
            let fd = (gelu(xv as f64 + h) - gelu(xv as f64 - h)) / (2.0 * h) * grad[i] as f64;
            assert!((d[i] as f64 - fd).abs() < 2e-5 * grad[i] as f64, "x = {xv}: {} vs {fd}", d[i]);
        }
        let mut out = vec![0.0; x.len()];
        forward(&x, &mut out);
        for (&o, &xv) in out.iter().zip(&x) {
            assert!((o as f64 - gelu(xv as f64)).abs() < 3e-7 * (1.0 + xv.abs() as f64));
        }
    }
}
