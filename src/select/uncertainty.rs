//! Uncertainty sampling: the task whose own states have the largest posterior variance.
//! Not transductive: it ignores how much a demonstration informs the other tasks.

use super::{argmax_among, greedy_batch, names, task_scores, Greedy, GpConfig, SelectError, Selection, SelectionView, Selector, SelectorKind};

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
        let mut greedy = Greedy::uncertainty(view, &self.config)?;
        let (first_scores, picks) = greedy_batch(&mut greedy, batch)?;
        let most = argmax_among(&first_scores, greedy.allowed());
        let reason = format!("{}; batch: {}", greedy.reason(view, most, first_scores[most]), names(view, &picks));
        Ok(Selection { picks, scores: task_scores(view, &first_scores, Some(greedy.proxies())), reason })
    }
}
