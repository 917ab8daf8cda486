//! Numbers printed as KenLM prints them.
//!
//! KenLM writes every float through the double-conversion library's "shortest" mode: the
//! fewest decimal digits that read back to the same value, in plain decimal notation when
//! the decimal exponent lies in [-6, 21) and in exponent notation (`9.9e-7`, no `+`, no
//! padding) outside it. Rust's `Display` never switches to an exponent, so a backoff of
//! 1e-8 would come out as `0.00000001`; this module rebuilds the layout from the shortest
//! digits that Rust's `LowerExp` gives.

use std::fmt::Write as _;

/// Appends `x` to `out` as KenLM's `ToShortestSingle` prints a float.
pub fn push_f32(out: &mut Vec<u8>, x: f32) {
    let mut buf = StackStr::default();
    if x.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    let _ = write!(buf, "{:e}", x);
    layout(out, buf.as_bytes());
}

/// Appends `x` to `out` as KenLM's `ToShortest` prints a double.
pub fn push_f64(out: &mut Vec<u8>, x: f64) {
    let mut buf = StackStr::default();
    if x.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    let _ = write!(buf, "{:e}", x);
    layout(out, buf.as_bytes());
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

/// Turns Rust's shortest exponent form (`-3.9762668e-5`, `0e0`, `1e2`) into KenLM's layout.
fn layout(out: &mut Vec<u8>, exp_form: &[u8]) {
    let (negative, body) = match exp_form.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, exp_form),
    };
    let e_at = body.iter().position(|&b| b == b'e').unwrap_or(body.len());
    let mantissa = &body[..e_at];
    let exponent: i32 = std::str::from_utf8(&body[(e_at + 1).min(body.len())..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 48];
    let mut len = 0;
    for &b in mantissa {
        if b.is_ascii_digit() && len < digits.len() {
            digits[len] = b;
            len += 1;
        }
    }
    let digits = &digits[..len];
    if negative {
        out.push(b'-');
    }
    if digits == b"0" {
        out.push(b'0');
        return;
    }
    // value = 0.d1d2... * 10^point
    let point = exponent + 1;
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

/// A small fixed buffer for formatting without allocating.
struct StackStr {
    buf: [u8; 64],
    len: usize,
}

impl Default for StackStr {
    fn default() -> Self {
        Self { buf: [0; 64], len: 0 }
    }
}

impl StackStr {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let b = s.as_bytes();
        let end = self.len + b.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(b);
        self.len = end;
        Ok(())
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
    fn round_trips() {
        for &x in &[-0.124077894f32, -4.8943033, 1.2345e-7, -7.0e-10, 3.4e38] {
            let s = f32_string(x);
            assert_eq!(s.parse::<f32>().unwrap(), x, "{s}");
        }
    }
}
