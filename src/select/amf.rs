//! AMF: ask for the demonstration with the largest expected information gain about the
//! expert's actions at the states the expert visits on the target tasks,
//! `sum_c mu(c) * mean_{x in T(c)} 1/2 log(var_D(x) / var_{D u X(c')}(x))`,
//! greedily for a batch, conditioning the GP on each pick before the next.

use super::{argmax_among, greedy_batch, names, task_scores, Greedy, GpConfig, SelectError, Selection, SelectionView, Selector, SelectorKind};

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
        let mut greedy = Greedy::information_gain(view, &self.config)?;
        let (first_scores, picks) = greedy_batch(&mut greedy, batch)?;
        let best = argmax_among(&first_scores, greedy.allowed());
        let reason = format!("{}; batch: {}", greedy.reason(view, best, first_scores[best]), names(view, &picks));
        Ok(Selection { picks, scores: task_scores(view, &first_scores, Some(greedy.proxies())), reason })
    }
}
