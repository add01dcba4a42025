//! Evaluation by rollouts: many episodes stepped in lockstep, so the policy runs one
//! batched forward pass per control step for all of them.

use burn::prelude::*;
use serde::Serialize;

use super::finetuned::FineTunedPolicy;
use super::network::Policy;
use super::pretrain::PRETRAIN_TASKS;
use crate::sim::{Action, ACTION_DIM};
use crate::tasks::{Episode, Observation, RolloutSummary, TaskId, NUM_TASKS, OBS_DIM};

/// Anything that maps a batch of observations to actions.
pub trait Actor {
    fn act(&self, observations: &[Observation]) -> Vec<Action>;
}

pub(super) fn batch(observations: &[Observation]) -> Tensor<2> {
    let flat: Vec<f32> = observations.iter().flat_map(|o| o.0).collect();
    Tensor::from_data(TensorData::new(flat, [observations.len(), OBS_DIM]), &super::cpu())
}

fn unbatch(means: Tensor<2>) -> Vec<Action> {
    let flat: Vec<f32> = means.into_data().try_into_vec::<f32>().unwrap_or_default();
    flat.chunks_exact(ACTION_DIM).map(|c| [c[0], c[1], c[2], c[3]]).collect()
}

impl Actor for Policy {
    fn act(&self, observations: &[Observation]) -> Vec<Action> {
        unbatch(self.forward(batch(observations)))
    }
}

impl Actor for FineTunedPolicy {
    fn act(&self, observations: &[Observation]) -> Vec<Action> {
        unbatch(self.forward(batch(observations)))
    }
}

/// Plays `actor` on one episode of `task` from `seed`, to its first success or the
/// horizon: what the page shows when a person watches a policy (rolled out in a worker,
/// then played back on the stage like a recorded demonstration).
pub fn roll_out(actor: &dyn Actor, task: TaskId, seed: u64) -> RolloutSummary {
    Episode::new(task, seed).rollout(|observation| actor.act(std::slice::from_ref(observation))[0])
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskSuccess {
    pub name: &'static str,
    pub success_rate: f64,
    pub episodes: usize,
    pub pretrained_on: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    pub tasks: Vec<TaskSuccess>,
    pub mean_success: f64,
}

impl Evaluation {
    pub fn success_of(&self, task: TaskId) -> Option<f64> {
        self.tasks.iter().find(|t| t.name == task.name()).map(|t| t.success_rate)
    }
}

/// An evaluation in progress: every episode advances one control step per `advance`,
/// so a caller without threads (the page) can spread the work over many short slices.
pub struct Evaluator {
    tasks: Vec<TaskId>,
    running: Vec<Episode>,
    /// Every observation the policy acted on, per task (indexed by `TaskId::index`): the
    /// selector's proxies for the states a task visits.
    visited: Vec<Vec<Observation>>,
}

impl Evaluator {
    /// `episodes` seeds (from `first_seed`) of each task in `tasks`.
    pub fn new(tasks: &[TaskId], episodes: usize, first_seed: u64) -> Evaluator {
        let running = tasks
            .iter()
            .flat_map(|&task| (0..episodes as u64).map(move |k| Episode::new(task, first_seed + k)))
            .collect();
        Evaluator { tasks: tasks.to_vec(), running, visited: vec![Vec::new(); NUM_TASKS] }
    }

    /// One batched policy step for every unfinished episode; `false` once all are done.
    pub fn advance(&mut self, actor: &dyn Actor) -> bool {
        let active: Vec<usize> = (0..self.running.len()).filter(|&i| !self.running[i].is_done()).collect();
        if active.is_empty() {
            return false;
        }
        let observations: Vec<Observation> = active.iter().map(|&i| self.running[i].observation()).collect();
        let actions = actor.act(&observations);
        for (&i, obs) in active.iter().zip(&observations) {
            self.visited[self.running[i].task().index()].push(*obs);
        }
        step_all(&mut self.running, &active, &actions);
        true
    }

    /// Fraction of the work done, from the steps taken against the horizons.
    pub fn progress(&self) -> f32 {
        let (done, total) = self.running.iter().fold((0, 0), |(d, t), e| {
            let horizon = e.task().horizon();
            (d + if e.is_done() { horizon } else { e.steps() }, t + horizon)
        });
        done as f32 / total.max(1) as f32
    }

    /// The observations the policy acted on, per task (indexed by `TaskId::index`).
    pub fn visited_states(&self) -> &[Vec<Observation>] {
        &self.visited
    }

    /// Success rates so far (final once `advance` has returned `false`).
    pub fn evaluation(&self) -> Evaluation {
        let tasks: Vec<TaskSuccess> = self
            .tasks
            .iter()
            .map(|&task| {
                let mine: Vec<&Episode> = self.running.iter().filter(|e| e.task() == task).collect();
                let successes = mine.iter().filter(|e| e.is_success()).count();
                TaskSuccess {
                    name: task.name(),
                    success_rate: successes as f64 / mine.len().max(1) as f64,
                    episodes: mine.len(),
                    pretrained_on: PRETRAIN_TASKS.contains(&task),
                }
            })
            .collect();
        let mean_success = tasks.iter().map(|t| t.success_rate).sum::<f64>() / tasks.len().max(1) as f64;
        Evaluation { tasks, mean_success }
    }
}

/// Rolls `actor` out on `episodes` seeds (from `first_seed`) of each task in `tasks`.
pub fn evaluate(actor: &dyn Actor, tasks: &[TaskId], episodes: usize, first_seed: u64) -> Evaluation {
    let mut evaluator = Evaluator::new(tasks, episodes, first_seed);
    while evaluator.advance(actor) {}
    evaluator.evaluation()
}

#[cfg(not(target_arch = "wasm32"))]
fn step_all(running: &mut [Episode], active: &[usize], actions: &[Action]) {
    use rayon::prelude::*;
    let mut chosen: Vec<(&mut Episode, Action)> = Vec::with_capacity(active.len());
    let mut next = active.iter().zip(actions).peekable();
    for (i, episode) in running.iter_mut().enumerate() {
        if let Some(&(&j, &action)) = next.peek() {
            if i == j {
                chosen.push((episode, action));
                next.next();
            }
        }
    }
    chosen.into_par_iter().for_each(|(episode, action)| {
        episode.step(action);
    });
}

#[cfg(target_arch = "wasm32")]
fn step_all(running: &mut [Episode], active: &[usize], actions: &[Action]) {
    for (&i, &action) in active.iter().zip(actions) {
        running[i].step(action);
    }
}
