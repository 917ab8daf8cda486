//! NumPy's default random generator, bit for bit, so that bootstrap resampling draws the
//! same segments as sacreBLEU (`numpy.random.default_rng(seed).choice(n, size=(k, n))`).
//!
//! Three pieces, re-implemented from their published descriptions:
//! - `SeedSequence` (O'Neill's seed_seq design as NumPy adopted it): the seed's 32-bit
//!   words are hashed into a pool of four words, which then generate the state words;
//! - PCG64 (O'Neill, 2014, "PCG: a family of simple fast space-efficient statistically good
//!   algorithms for random number generation"): a 128-bit LCG with the XSL-RR output;
//!   32-bit draws use the low half of a 64-bit output, then its high half;
//! - Lemire's nearly divisionless bounded integers (Lemire, 2019, "Fast random integer
//!   generation in an interval"), 32-bit variant, which NumPy uses for ranges below 2^32.

const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;
const POOL_SIZE: usize = 4;
const PCG_MULT: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

fn hashmix(value: u32, hash_const: &mut u32) -> u32 {
    let mut v = value ^ *hash_const;
    *hash_const = hash_const.wrapping_mul(MULT_A);
    v = v.wrapping_mul(*hash_const);
    v ^ (v >> XSHIFT)
}

fn mix(x: u32, y: u32) -> u32 {
    let r = MIX_MULT_L.wrapping_mul(x).wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    r ^ (r >> XSHIFT)
}

/// The entropy pool NumPy's `SeedSequence(seed)` builds for a non-negative integer seed.
fn seed_pool(seed: u64) -> [u32; POOL_SIZE] {
    let mut entropy = vec![seed as u32];
    if seed >> 32 != 0 {
        entropy.push((seed >> 32) as u32);
    }
    let mut pool = [0u32; POOL_SIZE];
    let mut hash_const = INIT_A;
    for (i, p) in pool.iter_mut().enumerate() {
        *p = hashmix(entropy.get(i).copied().unwrap_or(0), &mut hash_const);
    }
    for src in 0..POOL_SIZE {
        for dst in 0..POOL_SIZE {
            if src != dst {
                let h = hashmix(pool[src], &mut hash_const);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    for &e in entropy.iter().skip(POOL_SIZE) {
        for p in pool.iter_mut() {
            let h = hashmix(e, &mut hash_const);
            *p = mix(*p, h);
        }
    }
    pool
}

/// `SeedSequence.generate_state(n_words, uint32)`.
fn generate_state(pool: &[u32; POOL_SIZE], n_words: usize) -> Vec<u32> {
    let mut hash_const = INIT_B;
    (0..n_words)
        .map(|i| {
            let mut v = pool[i % POOL_SIZE] ^ hash_const;
            hash_const = hash_const.wrapping_mul(MULT_B);
            v = v.wrapping_mul(hash_const);
            v ^ (v >> XSHIFT)
        })
        .collect()
}

/// NumPy's `PCG64` bit generator seeded through `SeedSequence`.
#[derive(Debug, Clone)]
pub struct Pcg64 {
    state: u128,
    inc: u128,
    spare32: Option<u32>,
}

impl Pcg64 {
    /// The generator `numpy.random.default_rng(seed)` uses.
    pub fn from_seed(seed: u64) -> Self {
        let words = generate_state(&seed_pool(seed), 8);
        let w64 = |k: usize| u64::from(words[2 * k]) | (u64::from(words[2 * k + 1]) << 32);
        let initstate = (u128::from(w64(0)) << 64) | u128::from(w64(1));
        let initseq = (u128::from(w64(2)) << 64) | u128::from(w64(3));
        let mut rng = Pcg64 { state: 0, inc: (initseq << 1) | 1, spare32: None };
        rng.step();
        rng.state = rng.state.wrapping_add(initstate);
        rng.step();
        rng
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let s = self.state;
        let x = ((s >> 64) as u64) ^ (s as u64);
        x.rotate_right((s >> 122) as u32)
    }

    /// The next 32-bit output: the low half of a 64-bit output, then its high half.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(v) = self.spare32.take() {
            return v;
        }
        let v = self.next_u64();
        self.spare32 = Some((v >> 32) as u32);
        v as u32
    }

    /// A uniform integer in `0..n` (`n` between 1 and 2^32), as `Generator.integers`.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!((1..=1 << 32).contains(&n));
        if n == 1 {
            return 0;
        }
        if n == 1 << 32 {
            return u64::from(self.next_u32());
        }
        let n32 = n as u32;
        let mut m = u64::from(self.next_u32()) * n;
        let mut leftover = m as u32;
        if leftover < n32 {
            let threshold = n32.wrapping_neg() % n32;
            while leftover < threshold {
                m = u64::from(self.next_u32()) * n;
                leftover = m as u32;
            }
        }
        m >> 32
    }
}

/// `default_rng(seed).choice(n, size=(rows, n), replace=True)`: `rows` resamples of `n`
/// segment indices each.
pub fn bootstrap_indices(seed: u64, rows: usize, n: usize) -> Vec<Vec<usize>> {
    let mut rng = Pcg64::from_seed(seed);
    (0..rows).map(|_| (0..n).map(|_| rng.below(n as u64) as usize).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy() {
        // numpy 2.4: np.random.default_rng(12345).choice(7, size=(2, 7), replace=True)
        let idx = bootstrap_indices(12345, 2, 7);
        assert_eq!(idx, vec![vec![4, 1, 5, 2, 1, 5, 4], vec![4, 6, 2, 5, 2, 3, 4]]);
    }
}
