//! Behavioral-cloning data: observation and action rows, and collecting them from the
//! scripted experts.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

use crate::sim::{Action, ACTION_DIM};
use crate::tasks::observation::TASK_ONE_HOT;
use crate::tasks::{Episode, Observation, TaskId, NUM_TASKS, OBS_DIM};

/// Rows of (observation, action), stored flat and row-major.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    pub observations: Vec<f32>,
    pub actions: Vec<f32>,
}

#[derive(Debug, Error, PartialEq)]
pub enum DatasetError {
    /// Training needs at least one row.
    #[error("the dataset is empty")]
    Empty,
    /// A value is NaN or infinite.
    #[error("row {row} holds a non-finite value")]
    NonFinite { row: usize },
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
    }

    pub fn extend(&mut self, other: &Dataset) {
        self.observations.extend_from_slice(&other.observations);
        self.actions.extend_from_slice(&other.actions);
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
        match bad_obs.into_iter().chain(bad_action).min() {
            Some(row) => Err(DatasetError::NonFinite { row }),
            None => Ok(()),
        }
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
    /// The episode's rows, for training.
    pub fn rows(&self) -> Dataset {
        let mut rows = Dataset::default();
        for (obs, action) in self.observations.iter().zip(&self.actions) {
            rows.push(obs, action);
        }
        rows
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
