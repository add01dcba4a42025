//! Which pooled demonstrations a version of the crowd's shared policy trains on. A
//! round is a fixed number of gradient steps ([`crate::round::ROUND_STEPS`] minibatches
//! of 256 rows: about 128,000 rows, some five hundred demonstrations' worth), so a
//! pool larger than that cannot all be seen by one version anyway; training on a
//! bounded sample keeps a version's replays, memory and time the same at 10,000
//! demonstrations as at 500.

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Demonstrations a version trains on at most (default).
pub const TRAINING_SAMPLE: usize = 512;

/// The ids a version trains on, out of the pool's `ids` (in increasing order, the order
/// of arrival): all of them up to `budget`; beyond, the newest half of the budget (every
/// demonstration is trained on while it is new, as the crowd waits for it to count) and
/// the other half drawn uniformly from the older rest, afresh for each `seed` (each
/// version), so that over versions the old ones are all revisited. In increasing order.
pub fn training_sample(ids: &[i64], budget: usize, seed: u64) -> Vec<i64> {
    if ids.len() <= budget {
        return ids.to_vec();
    }
    let newest = budget / 2;
    let (older, new) = ids.split_at(ids.len() - newest);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7261_696e);
    let mut picked: Vec<i64> = sample(&mut rng, older.len(), budget - newest).into_iter().map(|i| older[i]).collect();
    picked.sort_unstable();
    picked.extend_from_slice(new);
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_pool_is_trained_on_whole_and_a_large_one_on_its_newest_and_a_fresh_draw() {
        let small: Vec<i64> = (1..=40).collect();
        assert_eq!(training_sample(&small, 512, 1), small);

        let pool: Vec<i64> = (1..=10_000).collect();
        let first = training_sample(&pool, 512, 1);
        assert_eq!(first.len(), 512);
        assert!(first.windows(2).all(|w| w[0] < w[1]), "increasing, no repeats");
        assert_eq!(first[256..], pool[10_000 - 256..], "the newest half");
        let old = |s: &[i64]| s[..256].to_vec();
        assert!(old(&first).iter().all(|&id| id <= 10_000 - 256));
        assert!(old(&first).iter().any(|&id| id > 5_000) && old(&first).iter().any(|&id| id <= 5_000), "drawn across the older pool");
        // Another version draws other old ones; the same version the same.
        assert_eq!(training_sample(&pool, 512, 1), first);
        let second = training_sample(&pool, 512, 2);
        let shared = old(&second).iter().filter(|id| old(&first).contains(id)).count();
        assert!(shared < 64, "{shared} of 256 old ones drawn again");
    }
}
