//! How each demonstration weighs in a round's training. Given weights come from a
//! demonstration's own quality, measured once on its replay ([`Curation`]); a judged
//! weight comes from the policy a round trains, so it is taken where training happens
//! and never stored ([`Reweighing`]). Both rank a demonstration only among its task's
//! ([`per_task_normalised`]). What each is worth was measured in docs/results.md, "The
//! quality of a crowd's data": none is the default.

use serde::{Deserialize, Serialize};

use crate::policy::{squared_residuals, Dataset, Demonstration, FineTunedPolicy};
use crate::quality::Quality;
use crate::tasks::{TaskId, NUM_TASKS};

/// How each demonstration weighs in training, from its quality (`quality::measure`,
/// as the service measures an upload): the curation the quality issue judges by the
/// policy it trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Curation {
    /// Every demonstration alike.
    #[default]
    None,
    /// Each weighs its quality score.
    Quality,
    /// Each weighs its length's ratio to the expert's alone (the control: most proposed
    /// quality metrics are the episode's length in disguise).
    Length,
    /// Those scoring under half their task's mean quality score are left out; the rest
    /// weigh alike.
    Filter,
}

impl Curation {
    /// The demonstrations' weights in training: each one's [`Curation::weight`], divided
    /// by the mean of its task's, so that a task's share of the training draws stays its
    /// share of the demonstrations and only its own demonstrations are ranked (a task
    /// that is harder to demonstrate well is not learned less for it).
    pub fn weights(self, demonstrations: &[Demonstration]) -> Vec<f32> {
        let raw: Vec<f32> = demonstrations.iter().map(|d| self.weight(d)).collect();
        self.normalised(demonstrations, &raw)
    }

    /// `raw` ([`Curation::weight`] of each of `demonstrations`) divided by its task's
    /// mean, or for the filter, 0 under half of it and 1 otherwise.
    pub fn normalised(self, demonstrations: &[Demonstration], raw: &[f32]) -> Vec<f32> {
        let tasks: Vec<TaskId> = demonstrations.iter().map(|d| d.task).collect();
        let relative = per_task_normalised(&tasks, raw);
        match self {
            Curation::Filter => relative.into_iter().map(|w| f32::from(u8::from(w >= 0.5))).collect(),
            _ => relative,
        }
    }

    /// `demonstration`'s weight in training, before its task's normalisation.
    pub fn weight(self, demonstration: &Demonstration) -> f32 {
        match self {
            Curation::None => 1.0,
            _ => self.weight_of(&crate::quality::measure(demonstration)),
        }
    }

    /// The weight of a demonstration whose quality is `quality`, before its task's
    /// normalisation.
    pub fn weight_of(self, quality: &Quality) -> f32 {
        match self {
            Curation::None => 1.0,
            Curation::Quality | Curation::Filter => quality.score as f32,
            Curation::Length => (quality.expert_steps as f32 / quality.steps.max(1) as f32).min(1.0),
        }
    }
}

/// How a round weighs each demonstration from the policy it trains, beyond the weights
/// it is given: what a demonstration is worth depends on the rest of the data and the
/// policy of the moment, so it is judged where training happens and never stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Reweighing {
    /// Every demonstration as given.
    #[default]
    None,
    /// By its agreement with the rest of the data. The round trains once, takes each
    /// demonstration's mean squared residual under that fit as its own label noise, and
    /// trains again from the prior with each weighing the inverse, divided by its task's
    /// mean (weighted least squares with the noise estimated, one iteration): a person
    /// whose hand shook and strayed counts less than one whose labels the policy can
    /// follow. A residual is floored at [`AGREEMENT_FLOOR`] of its task's median, so no
    /// demonstration weighs more than a few of its task's typical ones. It costs a
    /// second training.
    Agreement,
}

/// The floor of a demonstration's residual under [`Reweighing::Agreement`], as a share
/// of its task's median residual: a demonstration weighs at most 1 / this times the
/// median one before its task's normalisation.
pub const AGREEMENT_FLOOR: f32 = 0.25;

impl Reweighing {
    /// Each demonstration's weight from its rows' squared residuals (`residuals`,
    /// `rows[d]` of them for demonstration `d`, in order), normalised within `tasks[d]`.
    pub fn weights(self, tasks: &[TaskId], rows: &[usize], residuals: &[f32]) -> Vec<f32> {
        if self == Reweighing::None {
            return vec![1.0; tasks.len()];
        }
        let mut at = 0;
        let per_demo: Vec<f32> = rows
            .iter()
            .map(|&n| {
                let own = &residuals[at..at + n];
                at += n;
                own.iter().sum::<f32>() / n.max(1) as f32
            })
            .collect();
        let mut of_task: Vec<Vec<f32>> = vec![Vec::new(); NUM_TASKS];
        for (&r, task) in per_demo.iter().zip(tasks) {
            of_task[task.index()].push(r);
        }
        let medians: Vec<f32> = of_task
            .iter_mut()
            .map(|residuals| {
                residuals.sort_by(f32::total_cmp);
                residuals.get(residuals.len() / 2).copied().unwrap_or(0.0)
            })
            .collect();
        let raw: Vec<f32> = per_demo
            .iter()
            .zip(tasks)
            .map(|(&r, task)| 1.0 / r.max((AGREEMENT_FLOOR * medians[task.index()]).max(f32::MIN_POSITIVE)))
            .collect();
        per_task_normalised(tasks, &raw)
    }
}

/// Each demonstration's agreement with the rest of the data under `policy`: the weight
/// [`Reweighing::Agreement`] gives it, from its training rows `rows[d]` (of task
/// `tasks[d]`). Under 1, `policy` fits it worse than its task's typical demonstration.
/// One forward pass over the rows: what the shared policy's version tells the operator
/// of the demonstrations it trained on.
pub fn agreement(policy: &FineTunedPolicy, rows: &[Dataset], tasks: &[TaskId]) -> Vec<f32> {
    let mut data = Dataset::default();
    rows.iter().for_each(|r| data.extend(r));
    let counts: Vec<usize> = rows.iter().map(Dataset::len).collect();
    Reweighing::Agreement.weights(tasks, &counts, &squared_residuals(policy, &data))
}

/// `raw` divided by the mean of its task's (`tasks[i]` is `raw[i]`'s), so that a task's
/// share of the training draws stays its share of the demonstrations and a weighting
/// ranks only a task's own demonstrations. A task whose weights are all 0 weighs alike.
pub fn per_task_normalised(tasks: &[TaskId], raw: &[f32]) -> Vec<f32> {
    let mut sums = [0.0f32; NUM_TASKS];
    let mut counts = [0usize; NUM_TASKS];
    for (task, w) in tasks.iter().zip(raw) {
        sums[task.index()] += w;
        counts[task.index()] += 1;
    }
    tasks
        .iter()
        .zip(raw)
        .map(|(task, w)| {
            let mean = sums[task.index()] / counts[task.index()] as f32;
            if mean > 0.0 && mean.is_finite() {
                w / mean
            } else {
                1.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::expert_demonstration;

    #[test]
    fn curation_weighs_a_demonstration_by_its_quality_or_its_length() {
        let expert = expert_demonstration(TaskId::DrawerOpen, 5, 0.0);
        // The same run with 30 steps held still halfway: as long as a detour, but idle.
        let mut paused = expert.clone();
        let middle = paused.observations.len() / 2;
        paused.observations.splice(middle..middle, std::iter::repeat_n(paused.observations[middle], 30));
        paused.actions.splice(middle..middle, std::iter::repeat_n([0.0, 0.0, 0.0, paused.actions[middle][3]], 30));
        assert_eq!(Curation::None.weight(&paused), 1.0);
        assert_eq!((Curation::Quality.weight(&expert), Curation::Length.weight(&expert)), (1.0, 1.0));
        let length = Curation::Length.weight(&paused);
        assert!((length - expert.actions.len() as f32 / paused.actions.len() as f32).abs() < 1e-6);
        assert!(Curation::Quality.weight(&paused) < 1.0);
        // Normalised within each task: the expert's run outweighs the paused one, and a
        // task's weights average 1 whatever its demonstrations' quality.
        let other = expert_demonstration(TaskId::Reach, 2, 0.0);
        let weights = Curation::Quality.weights(&[expert.clone(), paused, other.clone()]);
        assert!(weights[0] > 1.0 && weights[1] < 1.0 && (weights[0] + weights[1] - 2.0).abs() < 1e-5, "{weights:?}");
        assert_eq!(weights[2], 1.0);
        let mut stalled = expert.clone();
        stalled.observations.splice(5..5, std::iter::repeat_n(stalled.observations[5], 1000));
        stalled.actions.splice(5..5, std::iter::repeat_n([0.0, 0.0, 0.0, stalled.actions[5][3]], 1000));
        assert_eq!(Curation::Filter.weights(&[expert.clone(), stalled, other]), vec![1.0, 0.0, 1.0]);
    }

    #[test]
    fn agreement_weighs_a_demonstration_by_the_inverse_of_its_residual_within_its_task() {
        use TaskId::{LeverPull, Reach};
        let tasks = [Reach, Reach, Reach, LeverPull];
        // Reach: mean residuals 0.1, 0.2 and 0.4 (two rows, one row, one row).
        let residuals = [0.05, 0.15, 0.2, 0.4, 7.0];
        let weights = Reweighing::Agreement.weights(&tasks, &[2, 1, 1, 1], &residuals);
        assert!(weights[0] > weights[1] && weights[1] > weights[2], "{weights:?}");
        assert!((weights[0] / weights[2] - 4.0).abs() < 1e-4, "inverse residuals: {weights:?}");
        assert!((weights[..3].iter().sum::<f32>() / 3.0 - 1.0).abs() < 1e-5, "a task's weights average 1: {weights:?}");
        assert_eq!(weights[3], 1.0, "a task's one demonstration is not ranked against others");
        // The floor: a demonstration that fits ten times better than its task's median
        // weighs only 1 / AGREEMENT_FLOOR times the median one.
        let floored = Reweighing::Agreement.weights(&[Reach; 3], &[1, 1, 1], &[0.01, 0.1, 0.1]);
        assert!((floored[0] / floored[1] - 1.0 / AGREEMENT_FLOOR).abs() < 1e-4, "{floored:?}");
        assert_eq!(Reweighing::None.weights(&tasks, &[2, 1, 1, 1], &residuals), vec![1.0; 4]);
    }
}
