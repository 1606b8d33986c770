//! Random draws for the generator. Everything comes from one ChaCha stream seeded from the
//! options, consumed in a deterministic order, so the same options give the same bytes. Stable
//! per-user attributes (name, device, role) come from `mix` instead, a pure hash of the seed and
//! the user number, so a user looks the same on every visit without being remembered.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub(crate) struct Random {
    stream: ChaCha8Rng,
}

impl Random {
    pub(crate) fn new(seed: u64) -> Random {
        Random {
            stream: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.stream.next_u64()
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        self.stream.gen::<f64>()
    }

    /// Uniform in [0, bound); 0 when the bound is 0.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        self.stream.gen_range(0..bound)
    }

    /// Uniform in [low, high]; `low` when the range is empty.
    pub(crate) fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        self.stream.gen_range(low..=high)
    }

    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// Standard normal draw (Box–Muller; one of the pair is dropped, which keeps the state simple).
    pub(crate) fn normal(&mut self) -> f64 {
        let first = 1.0 - self.unit(); // in (0, 1], so the logarithm is finite
        let second = self.unit();
        (-2.0 * first.ln()).sqrt() * (std::f64::consts::TAU * second).cos()
    }

    /// Log-normal draw given its median and the sigma of the underlying normal.
    pub(crate) fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Exponential draw with the given mean.
    pub(crate) fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// One element of a non-empty static table.
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let index = self.below(items.len() as u64) as usize;
        items[index.min(items.len().saturating_sub(1))]
    }

    /// One value of a weighted table; the last value when all weights are zero.
    pub(crate) fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|(_, weight)| *weight as u64).sum();
        let mut target = self.below(total);
        for (value, weight) in items {
            if target < *weight as u64 {
                return *value;
            }
            target -= *weight as u64;
        }
        items[items.len() - 1].0
    }
}

/// splitmix64 finalizer: a fast, well-mixed hash of one word.
pub(crate) fn splitmix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A stable pseudo-random word for (seed, subject, purpose): the same inputs always give the
/// same word, different purposes give unrelated words.
pub(crate) fn mix(seed: u64, subject: u64, purpose: u64) -> u64 {
    splitmix(seed ^ splitmix(subject ^ splitmix(purpose.wrapping_mul(0x2545_f491_4f6c_dd1d))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_the_same_stream() {
        let mut first = Random::new(11);
        let mut second = Random::new(11);
        let mut other = Random::new(12);
        let a: Vec<u64> = (0..8).map(|_| first.next_u64()).collect();
        let b: Vec<u64> = (0..8).map(|_| second.next_u64()).collect();
        let c: Vec<u64> = (0..8).map(|_| other.next_u64()).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn lognormal_median_is_close_to_the_requested_median() {
        let mut random = Random::new(3);
        let mut draws: Vec<f64> = (0..20_001).map(|_| random.lognormal(40.0, 0.7)).collect();
        draws.sort_by(|a, b| a.total_cmp(b));
        let median = draws[10_000];
        assert!((36.0..44.0).contains(&median), "median {median}");
    }

    #[test]
    fn weighted_choice_respects_zero_weights() {
        let mut random = Random::new(5);
        for _ in 0..1_000 {
            let value = random.weighted(&[('a', 0), ('b', 3), ('c', 0)]);
            assert_eq!(value, 'b');
        }
    }

    #[test]
    fn mix_is_stable_and_purpose_dependent() {
        assert_eq!(mix(1, 2, 3), mix(1, 2, 3));
        assert_ne!(mix(1, 2, 3), mix(1, 2, 4));
        assert_ne!(mix(1, 2, 3), mix(2, 2, 3));
    }
}
