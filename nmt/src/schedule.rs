//! Learning-rate schedule: linear warm-up, then inverse square-root decay (Vaswani et
//! al., 2017), peaking at the configured rate.

/// The learning rate of update `step` (counted from 1).
pub fn learning_rate(peak: f64, warmup: usize, step: usize) -> f64 {
    let step = step.max(1) as f64;
    if warmup == 0 {
        return peak;
    }
    let w = warmup as f64;
    peak * (step / w).min((w / step).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays() {
        assert!((learning_rate(1e-3, 100, 50) - 5e-4).abs() < 1e-12);
        assert!((learning_rate(1e-3, 100, 100) - 1e-3).abs() < 1e-12);
        assert!((learning_rate(1e-3, 100, 400) - 5e-4).abs() < 1e-12);
        assert_eq!(learning_rate(1e-3, 0, 7), 1e-3);
    }
}
