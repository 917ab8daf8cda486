//! Turning link posteriors into an alignment.
//!
//! Every directional model gives, for each generated word j, a posterior over the
//! conditioning positions and NULL (see [`super::model::DirectionalModel::posteriors`]).
//! Two rules read an alignment off it.

use serde::{Deserialize, Serialize};

/// How a directional alignment is read off the posteriors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Decoding {
    /// Each generated word goes to its most probable position, or stays unaligned when
    /// NULL is the most probable. For Models 1 and 2 this is the Viterbi alignment
    /// (what fast_align prints); for the HMM it is maximum-marginal decoding.
    Argmax,
    /// Every cell whose posterior exceeds the threshold is a link (posterior decoding,
    /// Liang et al. 2006); with a threshold of 0.5 or more a word gets at most one link.
    Threshold(f64),
}

/// The links `(cond position, gen position)` of one pair from its posterior matrix
/// (`gen_len` rows of `cond_len + 1`, NULL last), sorted by conditioning position.
pub fn decode(post: &[f64], cond_len: usize, gen_len: usize, rule: Decoding) -> Vec<(u32, u32)> {
    let mut links = Vec::new();
    if cond_len == 0 {
        return links;
    }
    for j in 0..gen_len {
        let row = &post[j * (cond_len + 1)..(j + 1) * (cond_len + 1)];
        match rule {
            Decoding::Argmax => {
                // NULL wins ties, as in fast_align (it is compared first).
                let mut best = cond_len;
                let mut best_p = row[cond_len];
                for (i, &p) in row[..cond_len].iter().enumerate() {
                    if p > best_p {
                        best = i;
                        best_p = p;
                    }
                }
                if best < cond_len {
                    links.push((best as u32, j as u32));
                }
            }
            Decoding::Threshold(t) => {
                for (i, &p) in row[..cond_len].iter().enumerate() {
                    if p > t {
                        links.push((i as u32, j as u32));
                    }
                }
            }
        }
    }
    links.sort_unstable();
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_and_threshold() {
        // Two generated words over two positions + NULL.
        let post = [0.6, 0.3, 0.1, 0.2, 0.3, 0.5];
        assert_eq!(decode(&post, 2, 2, Decoding::Argmax), vec![(0, 0)]);
        assert_eq!(decode(&post, 2, 2, Decoding::Threshold(0.25)), vec![(0, 0), (1, 0), (1, 1)]);
        assert!(decode(&[], 0, 3, Decoding::Argmax).is_empty());
    }
}
