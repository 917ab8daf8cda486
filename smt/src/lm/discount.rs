//! Step 3 of estimation: the three modified Kneser-Ney discounts of each order, from its
//! count-of-counts (Chen & Goodman 1998, eq. 26).
//!
//! With t_k the number of n-grams of adjusted count k, Y = t1 / (t1 + 2·t2) and
//! D_k = k − (k+1)·Y·t_{k+1}/t_k for k = 1, 2, 3 (D_3 serves every count ≥ 3). As in lmplz
//! (lm/builder/adjust_counts.cc) the arithmetic is single precision, and an order whose
//! t1, t2 or t3 is zero, or whose D_k falls outside [0, k], has no closed-form discounts:
//! that is an error unless fallback discounts are given.

/// The discounts of one order: `d[k]` for adjusted count k (`d[0]` = 0, `d[3]` for 3+).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Discount {
    /// `d[0]` = 0, then D1, D2, D3+.
    pub d: [f32; 4],
}

/// lmplz's default fallback discounts (D1, D2, D3+) = (0.5, 1, 1.5).
pub const FALLBACK: Discount = Discount { d: [0.0, 0.5, 1.0, 1.5] };

/// Why the closed-form discounts of an order do not exist.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BadDiscount {
    /// No n-gram of the order has adjusted count `count`.
    #[error(
        "cannot estimate the Kneser-Ney discounts of order {order} ({order}-grams): no \
         {order}-gram has adjusted count {count}, so {needed} is undefined \
         (count-of-counts {t1} {t2} {t3} {t4} for counts 1 2 3 4); this happens on tiny, \
         deduplicated or artificial text: train on more text, or pass --discount-fallback \
         to use D1=0.5 D2=1 D3+=1.5 for such orders"
    )]
    Missing {
        /// The order.
        order: usize,
        /// The adjusted count that was never seen (1, 2 or 3).
        count: usize,
        /// Which discount is undefined.
        needed: &'static str,
        /// t1.
        t1: u64,
        /// t2.
        t2: u64,
        /// t3.
        t3: u64,
        /// t4.
        t4: u64,
    },
    /// A discount falls outside [0, k].
    #[error(
        "the Kneser-Ney discount D{k} of order {order} ({order}-grams) is {value}, outside \
         [0, {k}]: modified Kneser-Ney finds this text unusual (tiny, deduplicated or \
         artificial); train on more text, or pass --discount-fallback to use \
         D1=0.5 D2=1 D3+=1.5 for such orders"
    )]
    OutOfRange {
        /// The order.
        order: usize,
        /// Which discount (1, 2 or 3).
        k: usize,
        /// Its value.
        value: f32,
    },
}

impl Discount {
    /// The discount for adjusted count `count`.
    pub fn get(&self, count: u64) -> f32 {
        self.d[count.min(3) as usize]
    }

    /// `count` minus its discount, in single precision.
    pub fn apply(&self, count: u64) -> f32 {
        count as f32 - self.get(count)
    }

    /// The closed-form discounts of order `order` from its count-of-counts `t` (t[1..=4]).
    pub fn estimate(order: usize, t: &[u64; 5]) -> Result<Discount, BadDiscount> {
        for k in 1..4 {
            if t[k] == 0 {
                return Err(BadDiscount::Missing {
                    order,
                    count: k,
                    needed: ["", "D1", "D2", "D3+"][k],
                    t1: t[1],
                    t2: t[2],
                    t3: t[3],
                    t4: t[4],
                });
            }
        }
        let y = t[1] as f32 / (t[1] as f64 + 2.0 * t[2] as f64) as f32;
        let mut d = [0f32; 4];
        for k in 1..4 {
            d[k] = k as f32 - (k + 1) as f32 * y * t[k + 1] as f32 / t[k] as f32;
            if d[k] < 0.0 || d[k] > k as f32 {
                return Err(BadDiscount::OutOfRange { order, k, value: d[k] });
            }
        }
        Ok(Discount { d })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chen_goodman_eq_26() {
        // t = 1, 1, 1, 2: Y = 1/3, D = 1/3, 1, 1/3 (the order-1 case of R08).
        let d = Discount::estimate(1, &[0, 1, 1, 1, 2]).unwrap();
        assert!((d.d[1] - 1.0 / 3.0).abs() < 1e-6);
        assert!((d.d[2] - 1.0).abs() < 1e-6);
        assert!((d.d[3] - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(d.apply(5), 5.0 - d.d[3]);
    }

    #[test]
    fn missing_count_names_order_and_remedy() {
        let err = Discount::estimate(1, &[0, 4, 5, 0, 1]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("order 1"), "{msg}");
        assert!(msg.contains("adjusted count 3"), "{msg}");
        assert!(msg.contains("D3+"), "{msg}");
        assert!(msg.contains("--discount-fallback"), "{msg}");
    }

    #[test]
    fn out_of_range_discount() {
        // t = 1, 1, 3, 1: Y = 1/3 and D2 = 2 - 3 * (1/3) * 3 = -1.
        let err = Discount::estimate(2, &[0, 1, 1, 3, 1]).unwrap_err();
        match err {
            BadDiscount::OutOfRange { order, k, value } => {
                assert_eq!((order, k), (2, 2));
                assert!((value + 1.0).abs() < 1e-6);
            }
            other => panic!("{other}"),
        }
    }
}
