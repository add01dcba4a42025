//! Rebalancing (privileged): demonstrate the target tasks least covered so far,
//! counting the pre-training data, which a real user's selector could not see. Its
//! score is that count: the lowest goes first.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{argmax, baseline_weights, names, task_scores, SelectError, Selection, SelectionView, Selector, SelectorKind};

pub struct Rebalancing {
    rng: ChaCha8Rng,
}

impl Rebalancing {
    pub fn new(rng: ChaCha8Rng) -> Rebalancing {
        Rebalancing { rng }
    }
}

impl Selector for Rebalancing {
    fn kind(&self) -> SelectorKind {
        SelectorKind::Rebalancing
    }

    fn select(&mut self, view: &dyn SelectionView, batch: usize) -> Result<Selection, SelectError> {
        let mu = baseline_weights(view)?;
        let pretraining = view.pretraining_per_task();
        let pending = view.pending_per_task();
        let mut counts: Vec<f64> =
            view.demonstrations_per_task().iter().zip(&pretraining).zip(&pending).map(|((&d, &p), &q)| (d + p + q) as f64).collect();
        // Fewest demonstrations per unit of target weight first; a random tie-break so
        // equally covered tasks are not always taken in index order.
        let coverage = |counts: &[f64], rng: &mut ChaCha8Rng| -> Vec<f64> {
            counts
                .iter()
                .zip(&mu)
                .map(|(&n, &m)| if m > 0.0 { -(n / m) + rng.random_range(0.0..1e-6) } else { f64::NEG_INFINITY })
                .collect()
        };
        let initial = counts.clone();
        let mut picks = Vec::with_capacity(batch);
        for _ in 0..batch {
            let pick = argmax(&coverage(&counts, &mut self.rng));
            counts[pick] += 1.0;
            picks.push(pick);
        }
        let reason = format!("the least covered target tasks, pre-training included: {}", names(view, &picks));
        Ok(Selection { picks, scores: task_scores(view, &initial, None), reason })
    }
}
