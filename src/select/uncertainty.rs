//! Uncertainty sampling: the task whose own states have the largest posterior variance.
//! Not transductive: it ignores how much a demonstration informs the other tasks.

use super::{argmax, greedy_batch, names, normalised_targets, task_scores, GpConfig, SelectError, Selection, SelectionView, Selector, SelectorKind};

pub struct Uncertainty {
    config: GpConfig,
}

impl Uncertainty {
    pub fn new(config: GpConfig) -> Uncertainty {
        Uncertainty { config }
    }
}

impl Selector for Uncertainty {
    fn kind(&self) -> SelectorKind {
        SelectorKind::Uncertainty
    }

    fn select(&mut self, view: &dyn SelectionView, batch: usize) -> Result<Selection, SelectError> {
        let mu = normalised_targets(view)?;
        let problem = view.kernel_problem(&self.config)?;
        let posterior = problem.posterior(self.config.noise)?;
        // Only target tasks are candidates; the others score zero.
        let (first_scores, picks) = greedy_batch(&problem, posterior, &view.pending_per_task(), batch, |posterior| {
            Ok(problem
                .candidates
                .iter()
                .zip(&mu)
                .map(|(x, &m)| if m > 0.0 && !x.is_empty() { x.iter().map(|&i| posterior.variance(i)).sum::<f64>() / x.len() as f64 } else { 0.0 })
                .collect())
        })?;
        let most = argmax(&first_scores);
        let reason = format!("the policy is least certain on {}'s own states; batch: {}", view.task_name(most), names(view, &picks));
        Ok(Selection { picks, scores: task_scores(view, &first_scores, Some(&problem.proxies)), reason })
    }
}
