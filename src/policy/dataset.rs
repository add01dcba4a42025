//! Behavioral-cloning data: observation and action rows, and collecting them from the
//! scripted experts.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::sim::{Action, ACTION_DIM};
use crate::tasks::observation::TASK_ONE_HOT;
use crate::tasks::{Episode, Observation, TaskId, NUM_TASKS, OBS_DIM};

/// Rows of (observation, action), stored flat and row-major, and optionally each row's
/// weight in training (how often minibatches draw it).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    pub observations: Vec<f32>,
    pub actions: Vec<f32>,
    /// One per row; empty: every row weighs 1.
    pub weights: Vec<f32>,
}

#[derive(Debug, Error, PartialEq)]
pub enum DatasetError {
    /// Training needs at least one row.
    #[error("the dataset is empty")]
    Empty,
    /// A value is NaN or infinite.
    #[error("row {row} holds a non-finite value")]
    NonFinite { row: usize },
    /// The weights are not one per row, one is negative or not finite, or all are 0.
    #[error("the rows' weights are not usable: {0}")]
    Weights(String),
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.actions.len() / ACTION_DIM
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    pub fn push(&mut self, obs: &Observation, action: &Action) {
        self.observations.extend_from_slice(&obs.0);
        self.actions.extend_from_slice(action);
        if !self.weights.is_empty() {
            self.weights.push(1.0);
        }
    }

    pub fn extend(&mut self, other: &Dataset) {
        self.extend_weighted(other, 1.0);
    }

    /// Appends `other`'s rows, each weighing `weight` times what it weighs in `other` (the
    /// hook by which a demonstration's quality weighs in training).
    pub fn extend_weighted(&mut self, other: &Dataset, weight: f32) {
        let plain = self.weights.is_empty() && other.weights.is_empty() && weight == 1.0;
        if !plain {
            self.weights.resize(self.len(), 1.0);
            match other.weights.is_empty() {
                true => self.weights.extend(std::iter::repeat_n(weight, other.len())),
                false => self.weights.extend(other.weights.iter().map(|w| w * weight)),
            }
        }
        self.observations.extend_from_slice(&other.observations);
        self.actions.extend_from_slice(&other.actions);
    }

    /// Each row's weight (1 where none are set).
    pub fn weight(&self, row: usize) -> f32 {
        self.weights.get(row).copied().unwrap_or(1.0)
    }

    /// Which tasks have at least one row (read from the observations' one-hot block).
    pub fn tasks_present(&self) -> [bool; NUM_TASKS] {
        let mut present = [false; NUM_TASKS];
        for row in self.observations.chunks_exact(OBS_DIM) {
            for (task, &flag) in row[TASK_ONE_HOT].iter().enumerate() {
                present[task] |= flag > 0.5;
            }
        }
        present
    }

    /// Checks the data can be trained on: not empty, all finite.
    pub fn validate(&self) -> Result<(), DatasetError> {
        if self.is_empty() {
            return Err(DatasetError::Empty);
        }
        let bad_obs = self.observations.iter().position(|x| !x.is_finite()).map(|i| i / OBS_DIM);
        let bad_action = self.actions.iter().position(|x| !x.is_finite()).map(|i| i / ACTION_DIM);
        if let Some(row) = bad_obs.into_iter().chain(bad_action).min() {
            return Err(DatasetError::NonFinite { row });
        }
        if !self.weights.is_empty() {
            if self.weights.len() != self.len() {
                return Err(DatasetError::Weights(format!("{} weights for {} rows", self.weights.len(), self.len())));
            }
            if let Some(row) = self.weights.iter().position(|w| !w.is_finite() || *w < 0.0) {
                return Err(DatasetError::Weights(format!("row {row} weighs {}", self.weights[row])));
            }
            if self.weights.iter().all(|&w| w == 0.0) {
                return Err(DatasetError::Weights("every row weighs 0".into()));
            }
        }
        Ok(())
    }
}

/// One episode of a task with the action labels a demonstrator gave at each state.
#[derive(Clone, Debug, PartialEq)]
pub struct Demonstration {
    pub task: TaskId,
    pub seed: u64,
    pub observations: Vec<Observation>,
    pub actions: Vec<Action>,
    pub success: bool,
}

impl Demonstration {
    /// The episode's rows, for training, labelled with the actions as they were.
    pub fn rows(&self) -> Dataset {
        self.training_rows(&Labels::AS_RECORDED)
    }

    /// The episode's rows with the labels `labels` makes of its actions.
    pub fn training_rows(&self, labels: &Labels) -> Dataset {
        let kept = labels.kept_steps(&self.actions);
        let mut rows = Dataset::default();
        for (i, &step) in kept.iter().enumerate() {
            rows.push(&self.observations[step], &labels.label(&self.actions, &kept[i..]));
        }
        rows
    }
}

/// A step whose every motion component is below this commands no motion (the page's
/// pointer moves the gripper by about 0.2 per pixel; a pause commands exactly 0).
pub const STILL_MOTION: f32 = 0.05;

/// How a demonstration's actions become training labels. A person's pauses, reaction
/// times and slow, shaky hand are in their actions; cloned as they are, the policy learns
/// to stall and dawdle (docs/people.md). Only the demonstration's own actions are used:
/// nobody else relabels it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    /// Leave out the steps where the demonstrator held still: no motion commanded and
    /// the grip as it was the step before.
    pub drop_still: bool,
    /// Label each kept step with the mean motion of this many kept steps from it, up to
    /// the next change of grip (1: its own action), averaging out the hand's tremor; the
    /// grip stays the step's own. Tried and not used by default: it cost door opening
    /// most of its success (docs/results.md, "Learning from people").
    pub lookahead: usize,
    /// Also leave out the steps whose every motion component is under this (the grip
    /// as it was): a person's slow creeping between bursts (0: only still steps, as
    /// [`STILL_MOTION`] says). A measured option, not the default.
    #[serde(default)]
    pub slow_below: f32,
}

impl Default for Labels {
    fn default() -> Self {
        Labels::FOR_PEOPLE
    }
}

impl Labels {
    /// The actions as recorded, every step.
    pub const AS_RECORDED: Labels = Labels { drop_still: false, lookahead: 1, slow_below: 0.0 };
    /// What fine-tuning uses (measured in docs/results.md, "Learning from people").
    pub const FOR_PEOPLE: Labels = Labels { drop_still: true, lookahead: 1, slow_below: 0.0 };

    /// The steps of a demonstration with `actions` that become training rows, in order:
    /// every step, or those where the demonstrator did not hold still.
    pub fn kept_steps(&self, actions: &[Action]) -> Vec<usize> {
        let below = STILL_MOTION.max(self.slow_below);
        let still = |t: usize| {
            let a = &actions[t];
            a[..3].iter().all(|v| v.abs() < below) && t > 0 && actions[t - 1][3] == a[3]
        };
        (0..actions.len()).filter(|&t| !self.drop_still || !still(t)).collect()
    }

    /// The label of `ahead[0]`, the next kept steps being `ahead[1..]`.
    fn label(&self, actions: &[Action], ahead: &[usize]) -> Action {
        let own = actions[ahead[0]];
        if self.lookahead <= 1 {
            return own;
        }
        let mut motion = [0.0f32; 3];
        // The window ends where the grip changes: the motion after a grasp is not the
        // motion towards it.
        let window = ahead.iter().take(self.lookahead).take_while(|&&step| actions[step][3] == own[3]).count().max(1);
        for &step in &ahead[..window] {
            for (m, a) in motion.iter_mut().zip(&actions[step][..3]) {
                *m += a / window as f32;
            }
        }
        [motion[0], motion[1], motion[2], own[3]]
    }
}

/// Rolls out `task`'s scripted expert on `seed`, recording every (observation, expert
/// action) pair. With `noise > 0` the executed action is perturbed by Gaussian noise of
/// that standard deviation while the recorded label stays the expert's: the data then
/// covers the states a learner drifts into, and the expert shows how to recover (as in
/// DART). The noise is seeded by the episode's seed.
pub fn expert_demonstration(task: TaskId, seed: u64, noise: f32) -> Demonstration {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_da7a);
    let mut episode = Episode::new(task, seed);
    let (mut observations, mut actions) = (Vec::new(), Vec::new());
    while !episode.is_done() {
        let obs = episode.observation();
        let label = task.expert_action(&obs);
        let mut executed = label;
        if noise > 0.0 {
            for a in executed.iter_mut().take(3) {
                *a += noise * standard_normal(&mut rng);
            }
        }
        observations.push(obs);
        actions.push(label);
        episode.step(executed);
    }
    Demonstration { task, seed, observations, actions, success: episode.is_success() }
}

/// The rows of the successful ones among `episodes` expert demonstrations of `task` on
/// the seeds from `first_seed` (see [`expert_demonstration`]).
pub fn collect_expert_demonstrations(task: TaskId, first_seed: u64, episodes: usize, noise: f32) -> Dataset {
    let mut dataset = Dataset::default();
    for seed in first_seed..first_seed + episodes as u64 {
        let demo = expert_demonstration(task, seed, noise);
        if demo.success {
            dataset.extend(&demo.rows());
        }
    }
    dataset
}

/// A standard normal draw (Box-Muller), deterministic on every platform.
pub fn standard_normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random_range(0.0..1.0);
    (-2.0 * libm::logf(u1)).sqrt() * libm::cosf(std::f32::consts::TAU * u2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demonstration(actions: Vec<Action>) -> Demonstration {
        let episode = Episode::new(TaskId::Reach, 0);
        Demonstration { task: TaskId::Reach, seed: 0, observations: vec![episode.observation(); actions.len()], actions, success: true }
    }

    #[test]
    fn still_steps_are_left_out_but_a_change_of_grip_is_kept() {
        let demo = demonstration(vec![
            [0.0, 0.0, 0.0, -1.0], // the first step is kept whatever it is
            [0.0, 0.0, 0.0, -1.0], // holding still: dropped
            [0.5, 0.0, 0.0, -1.0],
            [0.01, 0.0, 0.0, -1.0], // below STILL_MOTION: dropped
            [0.0, 0.0, 0.0, 1.0],  // the grip closes: kept
            [0.0, 0.0, 0.0, 1.0],  // waiting: dropped
            [0.0, 0.0, 0.7, 1.0],
        ]);
        let rows = demo.training_rows(&Labels { drop_still: true, lookahead: 1, slow_below: 0.0 });
        assert_eq!(rows.actions, [[0.0, 0.0, 0.0, -1.0], [0.5, 0.0, 0.0, -1.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.7, 1.0]].concat());
        assert_eq!(rows.len() * OBS_DIM, rows.observations.len());
        // As recorded: every step, unchanged.
        assert_eq!(demo.training_rows(&Labels::AS_RECORDED), demo.rows());
        assert_eq!(demo.rows().len(), 7);
        // A demonstration that never moved keeps its first step.
        let still = demonstration(vec![[0.0, 0.0, 0.0, -1.0]; 4]);
        assert_eq!(still.training_rows(&Labels::FOR_PEOPLE).len(), 1);
        // Slow steps go too when asked: the 0.5 step stays, the grip's change stays.
        let rows = demo.training_rows(&Labels { slow_below: 0.6, ..Labels::FOR_PEOPLE });
        assert_eq!(rows.actions, [[0.0, 0.0, 0.0, -1.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.7, 1.0]].concat());
    }

    #[test]
    fn a_lookahead_averages_the_motion_up_to_the_next_change_of_grip() {
        let demo = demonstration(vec![[1.0, 0.0, 0.0, -1.0], [0.0, 1.0, 0.0, -1.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.5, 1.0]]);
        let rows = demo.training_rows(&Labels { drop_still: false, lookahead: 3, slow_below: 0.0 });
        let labels: Vec<&[f32]> = rows.actions.chunks(4).collect();
        assert_eq!(labels[0], [0.5, 0.5, 0.0, -1.0]);
        assert_eq!(labels[1], [0.0, 1.0, 0.0, -1.0]);
        assert_eq!(labels[2], [0.0, 0.0, 0.75, 1.0]);
        assert_eq!(labels[3], [0.0, 0.0, 0.5, 1.0]);
    }
}
