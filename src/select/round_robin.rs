//! Round-robin: passes through the target tasks (those [`super::baseline_weights`] asks
//! for), each pass in its own shuffled order.
//! Stateless across rounds: pass `p` asks for the target tasks demonstrated fewer than
//! `p + 1` times, in pass `p`'s order, so it also fills in after a person chose tasks
//! of their own.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{baseline_weights, names, task_scores, SelectError, Selection, SelectionView, Selector, SelectorKind};

pub struct RoundRobin {
    /// The run's seed: pass `p`'s order is drawn from it and `p`.
    seed: u64,
}

impl RoundRobin {
    pub fn new(seed: u64) -> RoundRobin {
        RoundRobin { seed }
    }

    /// The target tasks in pass `pass`'s order.
    fn order(&self, targets: &[usize], pass: usize) -> Vec<usize> {
        let mut order = targets.to_vec();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(self.seed ^ 0x0_70b1 ^ (pass as u64) << 32));
        order
    }
}

impl Selector for RoundRobin {
    fn kind(&self) -> SelectorKind {
        SelectorKind::RoundRobin
    }

    fn select(&mut self, view: &dyn SelectionView, batch: usize) -> Result<Selection, SelectError> {
        let mu = baseline_weights(view)?;
        let targets: Vec<usize> = (0..mu.len()).filter(|&t| mu[t] > 0.0).collect();
        // What is on its way has had its turn.
        let mut counts: Vec<usize> = view.demonstrations_per_task().iter().zip(view.pending_per_task()).map(|(d, p)| d + p).collect();
        let mut picks = Vec::with_capacity(batch);
        for _ in 0..batch {
            // The pass under way is the fewest demonstrations of any target; its next
            // task is the first in its order that has not had its turn.
            let Some(pass) = targets.iter().map(|&t| counts[t]).min() else { break };
            let Some(pick) = self.order(&targets, pass).into_iter().find(|&t| counts[t] == pass) else { break };
            counts[pick] += 1;
            picks.push(pick);
        }
        let pass = targets.iter().map(|&t| counts[t]).min().unwrap_or(0);
        let waiting: Vec<f64> = (0..mu.len()).map(|t| if targets.contains(&t) && counts[t] == pass { 1.0 } else { 0.0 }).collect();
        let reason = format!("next in the cycle through the target tasks: {}", names(view, &picks));
        Ok(Selection { picks, scores: task_scores(view, &waiting, None), reason })
    }
}
