//! Numbers printed as KenLM prints them.
//!
//! KenLM writes every float through the double-conversion library's "shortest" mode: the
//! fewest decimal digits that read back to the same value, in plain decimal notation when
//! the decimal exponent lies in [-6, 21) and in exponent notation (`9.9e-7`, no `+`, no
//! padding) outside it. Rust's `Display` never switches to an exponent, so a backoff of
//! 1e-8 would come out as `0.00000001`; this module rebuilds the layout from the shortest
//! digits, which the `ryu` crate finds (Adams 2018, "Ryū: fast float-to-string
//! conversion"); a test checks them against the standard library's.

use std::fmt::Write as _;

/// Appends `x` to `out` as KenLM's `ToShortestSingle` prints a float.
pub fn push_f32(out: &mut Vec<u8>, x: f32) {
    if x.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    let mut r = ryu::Buffer::new();
    push_shortest(out, r.format_finite(x).as_bytes());
}

/// Appends `x` to `out` as KenLM's `ToShortest` prints a double.
pub fn push_f64(out: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    let mut r = ryu::Buffer::new();
    push_shortest(out, r.format_finite(x).as_bytes());
}

/// A small direct-mapped cache of formatted floats, for values that repeat (an ARPA file's
/// backoffs take a few thousand distinct values over hundreds of thousands of lines).
pub struct FloatCache {
    bits: Vec<u32>,
    text: Vec<[u8; 16]>,
}

impl Default for FloatCache {
    fn default() -> Self {
        Self::new()
    }
}

impl FloatCache {
    const SLOTS: usize = 4096;
    /// A NaN pattern: never a key, since NaN is never formatted through the cache.
    const EMPTY: u32 = 0x7fc0_dead;

    /// An empty cache.
    pub fn new() -> Self {
        Self { bits: vec![Self::EMPTY; Self::SLOTS], text: vec![[0; 16]; Self::SLOTS] }
    }

    /// Appends `x` as [`push_f32`] does.
    #[inline]
    pub fn push(&mut self, out: &mut Vec<u8>, x: f32) {
        let bits = x.to_bits();
        let slot = (bits.wrapping_mul(0x9e37_79b1) >> 20) as usize;
        if self.bits[slot] == bits {
            let t = &self.text[slot];
            out.extend_from_slice(&t[..15]);
            out.truncate(out.len() - 15 + t[15] as usize);
            return;
        }
        let start = out.len();
        push_f32(out, x);
        let len = out.len() - start;
        if len <= 15 && !x.is_nan() {
            let mut t = [0u8; 16];
            t[..len].copy_from_slice(&out[start..]);
            t[15] = len as u8;
            self.bits[slot] = bits;
            self.text[slot] = t;
        }
    }
}

/// Copies ryu's text when it already is KenLM's: plain decimals (ryu writes those for
/// decimal exponents -6..=12, inside KenLM's -6..21) except that ryu ends integers with
/// `.0`. Anything with an exponent is laid out again.
#[inline]
fn push_shortest(out: &mut Vec<u8>, ryu_text: &[u8]) {
    if ryu_text.contains(&b'e') {
        layout(out, ryu_text);
    } else if let Some(integer) = ryu_text.strip_suffix(b".0") {
        out.extend_from_slice(integer);
    } else {
        out.extend_from_slice(ryu_text);
    }
}

/// `x` as KenLM prints a float, as a `String`.
pub fn f32_string(x: f32) -> String {
    let mut v = Vec::new();
    push_f32(&mut v, x);
    String::from_utf8(v).expect("ASCII")
}

/// `x` as KenLM prints a double, as a `String`.
pub fn f64_string(x: f64) -> String {
    let mut v = Vec::new();
    push_f64(&mut v, x);
    String::from_utf8(v).expect("ASCII")
}

/// Lays out a shortest representation (`-0.0001234`, `1.0`, `3.9762668e-5`, `1e22`) as
/// KenLM does.
fn layout(out: &mut Vec<u8>, shortest: &[u8]) {
    let (negative, body) = match shortest.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, shortest),
    };
    let mut digits = [0u8; 48];
    let mut len = 0;
    let mut dot = None;
    let mut exp10 = 0i32;
    for (i, &b) in body.iter().enumerate() {
        match b {
            b'0'..=b'9' if len < digits.len() => {
                digits[len] = b;
                len += 1;
            }
            b'.' => dot = Some(len),
            b'e' | b'E' => {
                exp10 = std::str::from_utf8(&body[i + 1..])
                    .ok()
                    .and_then(|e| e.parse().ok())
                    .unwrap_or(0);
                break;
            }
            _ => {}
        }
    }
    // value = 0.d1d2... * 10^point
    let mut point = dot.unwrap_or(len) as i32 + exp10;
    let mut first = 0;
    while first + 1 < len && digits[first] == b'0' {
        first += 1;
        point -= 1;
    }
    while len > first + 1 && digits[len - 1] == b'0' {
        len -= 1;
    }
    let digits = &digits[first..len];
    if negative {
        out.push(b'-');
    }
    if digits == b"0" {
        out.push(b'0');
        return;
    }
    let exponent = point - 1;
    if (-6..21).contains(&exponent) {
        if point <= 0 {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-point) as usize, b'0');
            out.extend_from_slice(digits);
        } else if point as usize >= digits.len() {
            out.extend_from_slice(digits);
            out.resize(out.len() + point as usize - digits.len(), b'0');
        } else {
            out.extend_from_slice(&digits[..point as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits[point as usize..]);
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        if exponent < 0 {
            out.push(b'-');
        }
        let _ = write!(StackAppend(out), "{}", exponent.unsigned_abs());
    }
}

struct StackAppend<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for StackAppend<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
// -0.30103 below is a value as KenLM prints it, not an approximation of log10(2).
#[allow(clippy::approx_constant)]
mod tests {
    use super::*;

    #[test]
    fn matches_kenlm_layout() {
        assert_eq!(f32_string(-0.46943438), "-0.46943438");
        assert_eq!(f32_string(0.0), "0");
        assert_eq!(f32_string(-0.0), "-0");
        assert_eq!(f32_string(-0.30103), "-0.30103");
        assert_eq!(f32_string(-1.0), "-1");
        assert_eq!(f32_string(-99.0), "-99");
        assert_eq!(f32_string(-100.0), "-100");
        assert_eq!(f32_string(-3.976_266_8e-5), "-0.000039762668");
        assert_eq!(f32_string(1e-6), "0.000001");
        assert_eq!(f32_string(-9.9e-7), "-9.9e-7");
        assert_eq!(f32_string(-1e-8), "-1e-8");
        assert_eq!(f32_string(1.5e22), "1.5e22");
        assert_eq!(f32_string(123.25), "123.25");
        assert_eq!(f64_string(37.03343519381648), "37.03343519381648");
    }

    #[test]
    fn digits_agree_with_the_standard_library() {
        // Rust's `{:e}` is also shortest round-trip: both must give the same digits, except
        // on exact ties (a float exactly halfway between two shortest candidates, such as
        // 245.578125), where ryu rounds to even as double-conversion does.
        let mut x = 0x9e37_79b9u32;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let f = f32::from_bits(x);
            if !f.is_finite() {
                continue;
            }
            let mut ours = Vec::new();
            push_f32(&mut ours, f);
            let mut std_form = Vec::new();
            layout(&mut std_form, format!("{f:e}").as_bytes());
            if ours != std_form {
                let (a, b) =
                    (String::from_utf8(ours).unwrap(), String::from_utf8(std_form).unwrap());
                assert_eq!(a.len(), b.len(), "{f:e}");
                assert_eq!(a.parse::<f32>().unwrap(), f, "{a}");
                assert_eq!(b.parse::<f32>().unwrap(), f, "{b}");
                let last = a.split('e').next().unwrap().as_bytes();
                assert_eq!((last[last.len() - 1] - b'0') % 2, 0, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn cache_gives_the_same_text() {
        let mut cache = FloatCache::new();
        let values = [-0.30103f32, -1.2345678e-9, 0.0, -0.30103, -99.0, -1.2345678e-9, -0.0];
        let mut a = Vec::new();
        let mut b = Vec::new();
        for _ in 0..3 {
            for &v in &values {
                cache.push(&mut a, v);
                push_f32(&mut b, v);
                a.push(b' ');
                b.push(b' ');
            }
        }
        assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
    }

    #[test]
    fn round_trips() {
        for &x in &[-0.124077894f32, -4.8943033, 1.2345e-7, -7.0e-10, 3.4e38] {
            let s = f32_string(x);
            assert_eq!(s.parse::<f32>().unwrap(), x, "{s}");
        }
    }
}
