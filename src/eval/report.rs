//! The output of every `mt eval` command (and of `mt lm query`): one text line, or one
//! JSON object, per score. See the [module documentation](super) for the schema.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::signature::Signature;

/// One score as `mt eval` reports it.
#[derive(Debug, Clone)]
pub struct Report {
    system: Option<String>,
    name: String,
    score: f64,
    signature: Option<Signature>,
    short_signature: bool,
    verbose: Option<String>,
    confidence: Option<(f64, f64)>,
    exact: Vec<(String, Value)>,
    width: usize,
}

impl Report {
    /// A report of `score` under the metric `name` (`BLEU`, `AER`, `PPL`, ...).
    pub fn new(name: impl Into<String>, score: f64) -> Self {
        Self {
            system: None,
            name: name.into(),
            score,
            signature: None,
            short_signature: false,
            verbose: None,
            confidence: None,
            exact: Vec::new(),
            width: 1,
        }
    }

    /// Names the scored system (the hypothesis file); written first in JSON.
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// The system name, if one was set.
    pub fn system_name(&self) -> Option<&str> {
        self.system.as_deref()
    }

    /// Attaches the reproducibility signature (`short`: the abbreviated form in text).
    pub fn signature(mut self, sig: Signature, short: bool) -> Self {
        self.signature = Some(sig);
        self.short_signature = short;
        self
    }

    /// The text printed after the score (BLEU's precisions and brevity penalty).
    pub fn verbose(mut self, verbose: impl Into<String>) -> Self {
        self.verbose = Some(verbose.into());
        self
    }

    /// A bootstrap estimate: the mean of the resampled scores and the 95% half-interval,
    /// printed as `(μ = MEAN ± CI)` after the score.
    pub fn confidence(mut self, mean: f64, ci: f64) -> Self {
        self.confidence = Some((mean, ci));
        self
    }

    /// Adds an unrounded value to the `exact` object (in insertion order).
    pub fn exact(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.exact.push((key.to_owned(), value.into()));
        self
    }

    /// Decimals of the rounded score (`--width`, 1 by default as in sacreBLEU's CLI).
    pub fn width(mut self, width: usize) -> Self {
        self.width = width;
        self
    }

    /// The score line: `NAME|signature = SCORE verbose`, sacreBLEU's text format.
    pub fn line(&self) -> String {
        let mut s = self.name.clone();
        if let Some(sig) = &self.signature {
            s.push('|');
            s.push_str(&sig.format(self.short_signature));
        }
        s.push_str(&format!(" = {:.*}", self.width, self.score));
        if let Some(c) = self.confidence_text() {
            s.push_str(&format!(" ({c})"));
        }
        if let Some(v) = &self.verbose {
            s.push(' ');
            s.push_str(v);
        }
        s
    }

    fn confidence_text(&self) -> Option<String> {
        self.confidence.map(|(m, c)| format!("μ = {m:.w$} ± {c:.w$}", w = self.width))
    }

    fn round(&self, x: f64) -> f64 {
        format!("{:.*}", self.width, x).parse().unwrap_or(x)
    }

    /// The score rounded to `width` decimals, as sacreBLEU's JSON holds it.
    pub fn rounded(&self) -> f64 {
        format!("{:.*}", self.width, self.score).parse().unwrap_or(self.score)
    }

    /// The JSON object, indented by one space per level like sacreBLEU's.
    pub fn json(&self) -> String {
        to_json_pretty(self)
    }
}

/// Serializes `value` with sacreBLEU's layout (`json.dumps(indent=1)`).
pub fn to_json_pretty<T: Serialize + ?Sized>(value: &T) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // Serializing in-memory values of these types cannot fail.
    value.serialize(&mut ser).expect("JSON serialization");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// A JSON number, or `null` for NaN and infinities (which JSON cannot hold).
pub fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

struct Ordered<'a>(&'a [(String, Value)]);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(system) = &self.system {
            map.serialize_entry("system", system)?;
        }
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("score", &number(self.rounded()))?;
        let sig = self.signature.as_ref();
        map.serialize_entry("signature", &sig.map(|s| s.format(false)).unwrap_or_default())?;
        if let (Some((m, c)), Some(text)) = (self.confidence, self.confidence_text()) {
            map.serialize_entry("confidence_mean", &number(self.round(m)))?;
            map.serialize_entry("confidence_var", &number(self.round(c)))?;
            map.serialize_entry("confidence", &text)?;
        }
        if let Some(v) = &self.verbose {
            map.serialize_entry("verbose_score", v)?;
        }
        if let Some(sig) = sig {
            for (k, v) in sig.pairs(false) {
                map.serialize_entry(k, &v)?;
            }
        }
        let mut exact = vec![("score".to_owned(), number(self.score))];
        if let Some((m, c)) = self.confidence {
            exact.push(("mean".to_owned(), number(m)));
            exact.push(("ci".to_owned(), number(c)));
        }
        exact.extend(self.exact.iter().cloned());
        map.serialize_entry("exact", &Ordered(&exact))?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::signature::NumRefs;

    #[test]
    fn line_and_json_layout() {
        let sig = Signature::new(NumRefs::Fixed(1)).with("case", "c", "mixed");
        let r =
            Report::new("X", 48.8923).signature(sig, false).verbose("more").exact("n", 3).width(1);
        assert_eq!(r.line(), "X|nrefs:1|case:mixed|version:2.6.0 = 48.9 more");
        assert_eq!(
            r.json(),
            "{\n \"name\": \"X\",\n \"score\": 48.9,\n \"signature\": \
             \"nrefs:1|case:mixed|version:2.6.0\",\n \"verbose_score\": \"more\",\n \
             \"nrefs\": \"1\",\n \"case\": \"mixed\",\n \"version\": \"2.6.0\",\n \
             \"exact\": {\n  \"score\": 48.8923,\n  \"n\": 3\n }\n}"
        );
    }
}
