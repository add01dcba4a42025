//! Uniform: tasks drawn at random from the target weights (see [`super::baseline_weights`]
//! for targets that cannot be demonstrated).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{baseline_weights, names, task_scores, SelectError, Selection, SelectionView, Selector, SelectorKind};

pub struct Uniform {
    rng: ChaCha8Rng,
}

impl Uniform {
    pub fn new(rng: ChaCha8Rng) -> Uniform {
        Uniform { rng }
    }
}

/// A draw from the distribution `weights` (summing to 1).
pub(super) fn draw(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let u: f64 = rng.random_range(0.0..1.0);
    let mut total = 0.0;
    for (i, &w) in weights.iter().enumerate() {
        total += w;
        if u < total {
            return i;
        }
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

impl Selector for Uniform {
    fn kind(&self) -> SelectorKind {
        SelectorKind::Uniform
    }

    fn select(&mut self, view: &dyn SelectionView, batch: usize) -> Result<Selection, SelectError> {
        let mu = baseline_weights(view)?;
        let picks: Vec<usize> = (0..batch).map(|_| draw(&mut self.rng, &mu)).collect();
        let reason = format!("drawn at random from the target tasks: {}", names(view, &picks));
        Ok(Selection { picks, scores: task_scores(view, &mu, None), reason })
    }
}
