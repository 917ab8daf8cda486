//! N-best lists: extraction from the recombination lattice and the Moses text format.
//!
//! A recombined hypothesis shares every continuation with the one that beat it, so
//! swapping it into a derivation changes the total by exactly the difference of their
//! scores. The k best derivations are enumerated lazily by such swaps, each allowed
//! only at or before (closer to the start than) the previous swap, so that no
//! derivation is produced twice (the scheme of Moses' `TrellisPath`).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::hypothesis::Hypothesis;
use super::options::{feature_groups, Features, NUM_FEATURES};

struct Path {
    /// Hypotheses from the last to the first (the root excluded).
    nodes: Vec<u32>,
    /// First position where a further swap may happen.
    from: usize,
    features: Features,
    total: f32,
}

impl PartialEq for Path {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Path {}
impl PartialOrd for Path {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Path {
    fn cmp(&self, o: &Self) -> Ordering {
        self.total.total_cmp(&o.total).then_with(|| o.nodes.cmp(&self.nodes))
    }
}

fn chain<S>(arena: &[Hypothesis<S>], mut id: u32, out: &mut Vec<u32>) {
    while let Some(back) = arena[id as usize].back {
        out.push(id);
        id = back;
    }
}

/// The `n` best derivations ending in `finals`: each as the hypotheses from first to
/// last (root excluded) with its feature values.
pub(crate) fn extract<S>(
    arena: &[Hypothesis<S>],
    finals: &[u32],
    n: usize,
) -> Vec<(Vec<u32>, Features)> {
    let mut heap = BinaryHeap::new();
    for &f in finals {
        let mut nodes = Vec::new();
        chain(arena, f, &mut nodes);
        let h = &arena[f as usize];
        heap.push(Path { nodes, from: 0, features: h.features, total: h.score });
    }
    let mut out = Vec::new();
    while let Some(p) = heap.pop() {
        for k in p.from..p.nodes.len() {
            let node = &arena[p.nodes[k] as usize];
            for &alt in &node.recombined {
                let a = &arena[alt as usize];
                let mut nodes = p.nodes[..k].to_vec();
                chain(arena, alt, &mut nodes);
                let mut features = p.features;
                for ((x, a), b) in features.iter_mut().zip(&a.features).zip(&node.features) {
                    *x += a - b;
                }
                let total = p.total + a.score - node.score;
                heap.push(Path { nodes, from: k + 1, features, total });
            }
        }
        let mut nodes = p.nodes;
        nodes.reverse();
        out.push((nodes, p.features));
        if out.len() >= n {
            break;
        }
    }
    if out.is_empty() {
        out.push((Vec::new(), [0.0; NUM_FEATURES]));
    }
    out
}

/// One line of a Moses n-best list:
/// `id ||| translation ||| Name0= v v ... ||| total`, plus ` ||| alignment` when given.
pub fn moses_line(
    id: usize,
    text: &str,
    features: &Features,
    total: f32,
    reordering: bool,
    alignment: Option<&str>,
) -> String {
    let mut s = format!("{id} ||| {text} |||");
    for (name, range) in feature_groups(reordering) {
        s.push(' ');
        s.push_str(name);
        s.push('=');
        for i in range {
            s.push_str(&format!(" {}", features[i]));
        }
    }
    s.push_str(&format!(" ||| {total}"));
    if let Some(a) = alignment {
        s.push_str(" ||| ");
        s.push_str(a);
    }
    s
}

/// Parses the feature field of a Moses n-best line written by [`moses_line`].
pub fn parse_features(field: &str, reordering: bool) -> Option<Features> {
    let mut f = [0.0; NUM_FEATURES];
    let groups = feature_groups(reordering);
    let mut toks = field.split_whitespace().peekable();
    while let Some(name) = toks.next() {
        let name = name.strip_suffix('=')?;
        let (_, range) = groups.iter().find(|(n, _)| *n == name)?;
        for i in range.clone() {
            f[i] = toks.next()?.parse().ok()?;
        }
    }
    Some(f)
}
