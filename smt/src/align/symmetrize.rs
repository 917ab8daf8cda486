//! Combining the two directional alignments of a sentence pair (Koehn, Och and Marcu
//! 2003), with exactly the semantics of fast_align's `atools`.
//!
//! Links are `(source position, target position)`. The steps, as `atools` runs them:
//!
//! 1. Start from the intersection of the forward and reverse links.
//! 2. *grow-diag*: walk the union's remaining points in sorted (i, j) order and add each
//!    point that has an unaligned word (source or target) and an accepted neighbour
//!    among its 8 neighbours; a point added in a pass counts for the points after it.
//!    Repeat passes until one adds nothing.
//! 3. *final*: one pass over the forward links, then one over the reverse links, each in
//!    sorted order, adding points where at least one of the two words is unaligned;
//!    *final-and* adds only points where both are unaligned.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A symmetrization heuristic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Heuristic {
    /// Links in both directions.
    Intersect,
    /// Links in either direction.
    Union,
    /// Intersection grown along the union's neighbours.
    GrowDiag,
    /// grow-diag, then links of unaligned words.
    GrowDiagFinal,
    /// grow-diag, then links between two unaligned words (the usual choice).
    GrowDiagFinalAnd,
}

impl Heuristic {
    /// Every heuristic with its command-line name.
    pub const ALL: [(Heuristic, &'static str); 5] = [
        (Heuristic::Intersect, "intersect"),
        (Heuristic::Union, "union"),
        (Heuristic::GrowDiag, "grow-diag"),
        (Heuristic::GrowDiagFinal, "grow-diag-final"),
        (Heuristic::GrowDiagFinalAnd, "grow-diag-final-and"),
    ];

    /// The command-line name (as `atools -c` spells it, with `intersect`).
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(h, _)| *h == self).map_or("", |(_, n)| n)
    }
}

impl fmt::Display for Heuristic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Heuristic {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(_, n)| *n == s || (s == "intersection" && *n == "intersect"))
            .map(|(h, _)| *h)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|(_, n)| *n).collect();
                format!("unknown heuristic `{s}` (expected one of: {})", names.join(", "))
            })
    }
}

struct Grid {
    width: usize,
    height: usize,
    cells: Vec<bool>,
    src_aligned: Vec<bool>,
    tgt_aligned: Vec<bool>,
}

impl Grid {
    fn get(&self, i: isize, j: isize) -> bool {
        i >= 0
            && j >= 0
            && (i as usize) < self.width
            && (j as usize) < self.height
            && self.cells[i as usize * self.height + j as usize]
    }

    fn add(&mut self, i: usize, j: usize) {
        self.cells[i * self.height + j] = true;
        self.src_aligned[i] = true;
        self.tgt_aligned[j] = true;
    }

    fn has_aligned_neighbour(&self, i: usize, j: usize) -> bool {
        const NEIGHBOURS: [(isize, isize); 8] =
            [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1)];
        NEIGHBOURS.iter().any(|&(di, dj)| self.get(i as isize + di, j as isize + dj))
    }

    fn one_unaligned(&self, i: usize, j: usize) -> bool {
        !(self.src_aligned[i] && self.tgt_aligned[j])
    }

    fn both_unaligned(&self, i: usize, j: usize) -> bool {
        !self.src_aligned[i] && !self.tgt_aligned[j]
    }
}

/// Symmetrizes one sentence pair. Both inputs are `(source, target)` links; the result
/// is sorted by (i, j). Positions only need to be consistent with each other: the grid
/// spans the largest index seen, as in `atools`.
pub fn symmetrize(forward: &[(u32, u32)], reverse: &[(u32, u32)], h: Heuristic) -> Vec<(u32, u32)> {
    let fwd: BTreeSet<(u32, u32)> = forward.iter().copied().collect();
    let rev: BTreeSet<(u32, u32)> = reverse.iter().copied().collect();
    match h {
        Heuristic::Intersect => return fwd.intersection(&rev).copied().collect(),
        Heuristic::Union => return fwd.union(&rev).copied().collect(),
        _ => {}
    }
    let width = fwd.iter().chain(&rev).map(|l| l.0 as usize + 1).max().unwrap_or(0);
    let height = fwd.iter().chain(&rev).map(|l| l.1 as usize + 1).max().unwrap_or(0);
    let mut grid = Grid {
        width,
        height,
        cells: vec![false; width * height],
        src_aligned: vec![false; width],
        tgt_aligned: vec![false; height],
    };
    for &(i, j) in fwd.intersection(&rev) {
        grid.add(i as usize, j as usize);
    }
    // Step 2: grow-diag over the union's points not yet accepted, in sorted order.
    let mut pending: Vec<(usize, usize)> = fwd
        .union(&rev)
        .map(|&(i, j)| (i as usize, j as usize))
        .filter(|&(i, j)| !grid.get(i as isize, j as isize))
        .collect();
    loop {
        let mut added = false;
        pending.retain(|&(i, j)| {
            if grid.one_unaligned(i, j) && grid.has_aligned_neighbour(i, j) {
                grid.add(i, j);
                added = true;
                false
            } else {
                true
            }
        });
        if !added {
            break;
        }
    }
    // Step 3: the final passes, forward first.
    if matches!(h, Heuristic::GrowDiagFinal | Heuristic::GrowDiagFinalAnd) {
        for set in [&fwd, &rev] {
            for &(i, j) in set {
                let (i, j) = (i as usize, j as usize);
                let ok = if h == Heuristic::GrowDiagFinal {
                    grid.one_unaligned(i, j)
                } else {
                    grid.both_unaligned(i, j)
                };
                if !grid.get(i as isize, j as isize) && ok {
                    grid.add(i, j);
                }
            }
        }
    }
    let mut out = Vec::new();
    for i in 0..width {
        for j in 0..height {
            if grid.cells[i * height + j] {
                out.push((i as u32, j as u32));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: &[(u32, u32)], r: &[(u32, u32)], h: &str) -> Vec<(u32, u32)> {
        symmetrize(f, r, h.parse().unwrap())
    }

    #[test]
    fn robustness_case_r04_matches_atools() {
        let f = [(0, 0), (2, 2)];
        let r = [(0, 0), (2, 1)];
        assert_eq!(run(&f, &r, "intersect"), vec![(0, 0)]);
        assert_eq!(run(&f, &r, "union"), vec![(0, 0), (2, 1), (2, 2)]);
        assert_eq!(run(&f, &r, "grow-diag"), vec![(0, 0)]);
        assert_eq!(run(&f, &r, "grow-diag-final"), vec![(0, 0), (2, 1), (2, 2)]);
        assert_eq!(run(&f, &r, "grow-diag-final-and"), vec![(0, 0), (2, 2)]);
    }

    #[test]
    fn growth_within_a_pass_enables_later_points() {
        // (1,1) is a diagonal neighbour of (0,0); (2,2) then neighbours (1,1).
        let f = [(0, 0), (1, 1), (2, 2)];
        let r = [(0, 0)];
        assert_eq!(run(&f, &r, "grow-diag"), vec![(0, 0), (1, 1), (2, 2)]);
        // (0,1) has both words aligned once (0,0) and (1,1) are in: refused.
        let f = [(0, 0), (0, 1), (1, 1)];
        let r = [(0, 0), (1, 1)];
        assert_eq!(run(&f, &r, "grow-diag"), vec![(0, 0), (1, 1)]);
        assert_eq!(run(&f, &r, "grow-diag-final"), vec![(0, 0), (1, 1)]);
    }

    #[test]
    fn names_parse() {
        for (h, n) in Heuristic::ALL {
            assert_eq!(n.parse::<Heuristic>().unwrap(), h);
        }
        assert!("gdfa".parse::<Heuristic>().is_err());
    }
}
