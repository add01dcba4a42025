//! AMF: ask for the demonstration with the largest expected information gain about the
//! expert's actions at the states the expert visits on the target tasks,
//! `sum_c mu(c) * mean_{x in T(c)} 1/2 log(var_D(x) / var_{D u X(c')}(x))`,
//! greedily for a batch, conditioning the GP on each pick before the next.

use super::{argmax, greedy_batch, names, normalised_targets, task_scores, GpConfig, SelectError, Selection, SelectionView, Selector, SelectorKind};

pub struct Amf {
    config: GpConfig,
}

impl Amf {
    pub fn new(config: GpConfig) -> Amf {
        Amf { config }
    }
}

impl Selector for Amf {
    fn kind(&self) -> SelectorKind {
        SelectorKind::Amf
    }

    fn select(&mut self, view: &dyn SelectionView, batch: usize) -> Result<Selection, SelectError> {
        let mu = normalised_targets(view)?;
        let problem = view.kernel_problem(&self.config)?;
        let posterior = problem.posterior(self.config.noise)?;
        // All targets at once, each weighted by its task's mu and its own weight in T(c).
        let targets: Vec<(usize, f64)> = problem
            .targets
            .iter()
            .zip(&mu)
            .flat_map(|(points, &m)| points.iter().map(move |&(i, w)| (i, m * w)))
            .filter(|&(_, w)| w > 0.0)
            .collect();
        let (first_scores, picks) = greedy_batch(&problem, posterior, &view.pending_per_task(), batch, |posterior| {
            problem.candidates.iter().map(|x| Ok(posterior.gain(&targets, x)?)).collect()
        })?;
        let best = argmax(&first_scores);
        let reason = format!(
            "{} is expected to tell the most about the target tasks ({:.3} nats, from {} states); batch: {}",
            view.task_name(best),
            first_scores[best],
            match problem.proxies[best] {
                super::Proxy::Demonstrations => "its demonstrations'",
                super::Proxy::Rollouts => "the policy's own",
            },
            names(view, &picks)
        );
        Ok(Selection { picks, scores: task_scores(view, &first_scores, Some(&problem.proxies)), reason })
    }
}
