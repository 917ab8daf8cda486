//! sacreBLEU's reproducibility signature: `nrefs:1|case:mixed|...|version:2.6.0`.
//!
//! The fields are written in the order they were added, each as `key:value`, joined by `|`,
//! with `version` always last. The short form replaces each key by its abbreviation
//! (`#:1|c:mixed|e:no|tok:13a|s:exp|v:2.6.0`).

use std::fmt;

/// The sacreBLEU release whose scores and signatures this module reproduces.
pub const SACREBLEU_VERSION: &str = "2.6.0";

/// How many references each segment has: a fixed number, or `var` when it varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumRefs {
    /// Every segment has this many references.
    Fixed(usize),
    /// Segments have different numbers of references (some were missing).
    Variable,
}

impl fmt::Display for NumRefs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumRefs::Fixed(n) => write!(f, "{n}"),
            NumRefs::Variable => f.write_str("var"),
        }
    }
}

/// An ordered list of signature fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    key: &'static str,
    short: &'static str,
    value: String,
}

impl Signature {
    /// A signature that starts with `nrefs`, as every sacreBLEU metric's does.
    pub fn new(nrefs: NumRefs) -> Self {
        let mut sig = Signature { fields: Vec::new() };
        sig.push("nrefs", "#", nrefs.to_string());
        sig
    }

    /// Appends (or replaces) a field; `short` is its abbreviation in the short form.
    pub fn push(&mut self, key: &'static str, short: &'static str, value: impl Into<String>) {
        let value = value.into();
        match self.fields.iter_mut().find(|f| f.key == key) {
            Some(f) => f.value = value,
            None => self.fields.push(Field { key, short, value }),
        }
    }

    /// Builder form of [`Signature::push`].
    pub fn with(
        mut self,
        key: &'static str,
        short: &'static str,
        value: impl Into<String>,
    ) -> Self {
        self.push(key, short, value);
        self
    }

    /// Adds the bootstrap fields `bs` (resamples) and `seed` where sacreBLEU puts them: right
    /// after `nrefs`, before the metric's own fields.
    pub fn with_bootstrap(mut self, n_samples: usize, seed: &str) -> Self {
        self.fields.retain(|f| f.key != "bs" && f.key != "seed");
        let at = 1.min(self.fields.len());
        let seed = Field { key: "seed", short: "rs", value: seed.to_owned() };
        let bs = Field { key: "bs", short: "bs", value: n_samples.to_string() };
        self.fields.insert(at, seed);
        self.fields.insert(at, bs);
        self
    }

    /// The `key:value` pairs in output order, `version` last.
    pub fn pairs(&self, short: bool) -> Vec<(&'static str, String)> {
        let mut out: Vec<_> = self
            .fields
            .iter()
            .map(|f| (if short { f.short } else { f.key }, f.value.clone()))
            .collect();
        out.push((if short { "v" } else { "version" }, SACREBLEU_VERSION.to_owned()));
        out
    }

    /// The signature string, long (`short = false`) or abbreviated.
    pub fn format(&self, short: bool) -> String {
        self.pairs(short).iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join("|")
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(false))
    }
}

/// `yes` or `no`, as sacreBLEU writes booleans.
pub fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_short_forms() {
        let sig = Signature::new(NumRefs::Fixed(1))
            .with("case", "c", "mixed")
            .with("eff", "e", yes_no(false))
            .with("tok", "tok", "13a")
            .with("smooth", "s", "exp");
        assert_eq!(sig.format(false), "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0");
        assert_eq!(sig.format(true), "#:1|c:mixed|e:no|tok:13a|s:exp|v:2.6.0");
        let var = Signature::new(NumRefs::Variable).with("seed", "rs", "12345");
        assert_eq!(var.format(false), "nrefs:var|seed:12345|version:2.6.0");
        let bs = sig.with_bootstrap(1000, "12345");
        assert_eq!(
            bs.format(false),
            "nrefs:1|bs:1000|seed:12345|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
        );
        assert_eq!(bs.format(true), "#:1|bs:1000|rs:12345|c:mixed|e:no|tok:13a|s:exp|v:2.6.0");
    }
}
