//! Steps 4 and 5 of estimation: uninterpolated probabilities, backoff weights and
//! interpolation with the lower order (Chen & Goodman 1998, eq. 17 and §3.3), in single
//! precision as lmplz computes them (lm/builder/initial_probabilities.cc, interpolate.cc).
//!
//! For a context c with adjusted counts a(c w):
//! - u(w|c) = (a(c w) − D(a(c w))) / Σ_w a(c w);
//! - γ(c) = (D1·N1(c) + D2·N2(c) + D3·N3+(c)) / Σ_w a(c w);
//! - p(w|c) = u(w|c) + γ(c)·p(w|c′), with c′ = c without its oldest word;
//! - p(w) = u(w) + γ(ε)/|V|, |V| counting `<unk>` and `</s>` but not `<s>`; `<unk>` has
//!   u = 0 (interpolated mass only) and `<s>` gets p = 1.
//!
//! The ARPA value of an n-gram is min(0, log10 p); its backoff is log10 γ of the n-gram as
//! a context, or 0 when it is the context of nothing.

use rayon::prelude::*;

use super::adjust::AdjustedCounts;
use super::count::{key_word, BOS, EOS, UNK};
use super::discount::Discount;
use super::model::{NgramModel, NgramOrder};

/// Builds the model's log10 probabilities and backoffs. `vocab[i]` is the word with id i.
pub fn interpolate(adj: &AdjustedCounts, discounts: &[Discount], vocab: &[String]) -> NgramModel {
    let order = adj.order;
    let bits = adj.bits;
    let uniform = 1.0f32 / (adj.orders[0].keys.len() - 1) as f32;
    // Interpolated probabilities of each order, and γ of each n-gram as a context.
    let mut probs: Vec<Vec<f32>> = Vec::with_capacity(order);
    let mut context_gamma: Vec<Vec<f32>> =
        adj.orders.iter().map(|o| vec![f32::NAN; o.keys.len()]).collect();
    for n in 1..=order {
        let o = &adj.orders[n - 1];
        let disc = &discounts[n - 1];
        let len = o.keys.len();
        // Groups of n-grams sharing a context: [start, end) and the context's γ and Σ a.
        let mut groups: Vec<(usize, usize, f32, f32)> = Vec::new();
        let mut start = 0;
        while start < len {
            let ctx = o.keys[start] >> bits;
            let mut end = start + 1;
            while end < len && (n == 1 || o.keys[end] >> bits == ctx) {
                end += 1;
            }
            let mut denominator = 0u64;
            let mut nk = [0u64; 4];
            for &c in &o.counts[start..end] {
                denominator += c;
                if c > 0 {
                    nk[c.min(3) as usize] += 1;
                }
            }
            let denominator = denominator as f32;
            let mut gamma = 0f32;
            for (k, &count) in nk.iter().enumerate().skip(1) {
                gamma += disc.get(k as u64) * count as f32;
            }
            gamma /= denominator;
            groups.push((start, end, gamma, denominator));
            start = end;
        }
        // The context of each group is an (n-1)-gram: record its γ there.
        if n >= 2 {
            let lower = &adj.orders[n - 2];
            let gammas = &mut context_gamma[n - 2];
            let mut j = 0;
            for &(s, _, gamma, _) in &groups {
                let ctx = o.keys[s] >> bits;
                while lower.keys[j] < ctx {
                    j += 1;
                }
                debug_assert_eq!(lower.keys[j], ctx);
                gammas[j] = gamma;
            }
        }
        let no_lower = Vec::new();
        let lower_probs: &[f32] = if n >= 2 { &probs[n - 2] } else { &no_lower };
        let mut p = vec![0f32; len];
        p.par_chunks_mut(4096).enumerate().for_each(|(chunk, out)| {
            let first = chunk * 4096;
            // Find the group of the chunk's first entry.
            let mut g = groups.partition_point(|&(_, e, _, _)| e <= first);
            for (k, slot) in out.iter_mut().enumerate() {
                let i = first + k;
                while groups[g].1 <= i {
                    g += 1;
                }
                let (_, _, gamma, denominator) = groups[g];
                let count = o.counts[i];
                let (u, gamma) = if n == 1 {
                    match o.keys[i] as u32 {
                        UNK => (0.0, gamma),
                        BOS => (1.0, 0.0),
                        _ => (disc.apply(count) / denominator, gamma),
                    }
                } else {
                    (disc.apply(count) / denominator, gamma)
                };
                let lower = if n == 1 { uniform } else { lower_probs[o.suffix[i] as usize] };
                *slot = u + gamma * lower;
            }
        });
        probs.push(p);
    }
    // Convert to the ARPA's log10 values.
    let orders = (1..=order)
        .into_par_iter()
        .map(|n| {
            let o = &adj.orders[n - 1];
            let mut out = NgramOrder::new(n);
            out.words = Vec::with_capacity(o.keys.len() * n);
            for &k in &o.keys {
                for i in 0..n {
                    out.words.push(key_word(k, bits, n, i));
                }
            }
            out.prob = probs[n - 1].iter().map(|&p| p.log10().min(0.0)).collect();
            if n < order {
                out.backoff = o
                    .keys
                    .iter()
                    .zip(&context_gamma[n - 1])
                    .map(|(&k, &g)| {
                        let last = (k & ((1u128 << bits) - 1)) as u32;
                        if g.is_nan() || last == UNK || last == EOS {
                            0.0
                        } else {
                            g.log10()
                        }
                    })
                    .collect();
            }
            out
        })
        .collect();
    NgramModel { vocab: vocab.to_vec(), orders }
}
