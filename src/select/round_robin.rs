//! Round-robin: a shuffled cycle through the target tasks, reshuffled after each pass.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{names, normalised_targets, task_scores, SelectError, Selection, SelectionView, Selector, SelectorKind};

pub struct RoundRobin {
    rng: ChaCha8Rng,
    /// What is left of the current pass, next last.
    queue: Vec<usize>,
}

impl RoundRobin {
    pub fn new(rng: ChaCha8Rng) -> RoundRobin {
        RoundRobin { rng, queue: Vec::new() }
    }
}

impl Selector for RoundRobin {
    fn kind(&self) -> SelectorKind {
        SelectorKind::RoundRobin
    }

    fn select(&mut self, view: &dyn SelectionView, batch: usize) -> Result<Selection, SelectError> {
        let mu = normalised_targets(view)?;
        let mut picks = Vec::with_capacity(batch);
        for _ in 0..batch {
            // Drop tasks that stopped being targets since the pass began.
            self.queue.retain(|&t| mu.get(t).is_some_and(|&w| w > 0.0));
            if self.queue.is_empty() {
                self.queue = (0..mu.len()).filter(|&t| mu[t] > 0.0).collect();
                self.queue.shuffle(&mut self.rng);
            }
            picks.extend(self.queue.pop());
        }
        let waiting: Vec<f64> = (0..mu.len()).map(|t| if self.queue.contains(&t) { 1.0 } else { 0.0 }).collect();
        let reason = format!("next in the cycle through the target tasks: {}", names(view, &picks));
        Ok(Selection { picks, scores: task_scores(view, &waiting, None), reason })
    }
}
