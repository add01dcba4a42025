//! Rehearsal of what pre-training taught: the pre-trained policy's own actions on the
//! states it visits in its pre-training tasks, trained on beside the demonstrations
//! (self-distillation, as Learning without Forgetting does, and as co-training with
//! the prior's data does in robot fine-tuning). The adaptive prior keeps a task
//! without demonstrations on the frozen prior, but a target that cannot be
//! demonstrated is served by the tuned network alone, which learns only what the
//! demonstrations show: people's uneven demonstrations of two tasks pulled it away from
//! the reaching it knew, and the undemonstrable targets fell (docs/results.md, "What
//! people's demonstrations carry to other tasks"). A round rehearses only where it
//! serves such targets (`round::RoundConfig::rehearsal`). Only the prior labels these
//! rows: no expert and no oracle.

use super::dataset::Dataset;
use super::eval::Actor;
use super::network::Policy;
use super::pretrain::PRETRAIN_TASKS;
use crate::tasks::{Episode, Observation};

/// Rehearsal episodes start at this seed, apart from evaluation's and collection's.
pub const REHEARSAL_FIRST_SEED: u64 = 2_000_000;

/// Episodes of each pre-training task rehearsed.
pub const REHEARSAL_EPISODES: u64 = 4;

/// The rows of `prior`'s own rollouts of every pre-training task, `episodes` of each
/// from [`REHEARSAL_FIRST_SEED`], each state labelled with the action `prior` took there
/// (its mean action). Deterministic for a given policy; the episodes run in lockstep so
/// that the policy acts on one batch a step.
pub fn rehearsal_rows(prior: &Policy, episodes: u64) -> Dataset {
    let mut running: Vec<Episode> = PRETRAIN_TASKS
        .iter()
        .flat_map(|&task| (0..episodes).map(move |e| Episode::new(task, REHEARSAL_FIRST_SEED + e)))
        .collect();
    let mut rows = Dataset::default();
    while !running.is_empty() {
        let observations: Vec<Observation> = running.iter().map(Episode::observation).collect();
        let actions = prior.act(&observations);
        for ((episode, observation), action) in running.iter_mut().zip(&observations).zip(&actions) {
            rows.push(observation, action);
            episode.step(*action);
        }
        running.retain(|episode| !episode.is_done());
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::shipped_prior;
    use crate::tasks::observation::{OBS_DIM, TASK_ONE_HOT};
    use crate::tasks::TaskId;

    #[test]
    fn rehearsal_rows_are_the_prior_acting_in_its_pre_training_tasks() {
        let prior = shipped_prior();
        let rows = rehearsal_rows(&prior, 2);
        assert_eq!(rows, rehearsal_rows(&prior, 2), "deterministic");
        // Every pre-training task is there and nothing else.
        let tasks: Vec<usize> = rows.observations.chunks(OBS_DIM).map(|o| o[TASK_ONE_HOT].iter().position(|&v| v == 1.0).unwrap()).collect();
        for task in TaskId::ALL {
            assert_eq!(tasks.contains(&task.index()), PRETRAIN_TASKS.contains(&task), "{task:?}");
        }
        // The labels are the prior's own actions on those states.
        let observations: Vec<Observation> = rows.observations.chunks(OBS_DIM).take(5).map(|o| Observation(o.try_into().unwrap())).collect();
        let again: Vec<f32> = prior.act(&observations).concat();
        assert!(rows.actions.iter().zip(&again).all(|(a, b)| (a - b).abs() < 1e-5), "{:?} against {again:?}", &rows.actions[..again.len()]);
        // Whole episodes: the first reach episode's rollout, step by step.
        let mut episode = Episode::new(TaskId::Reach, REHEARSAL_FIRST_SEED);
        assert_eq!(&rows.observations[..OBS_DIM], &episode.observation().0[..]);
        episode.step(prior.act(&[episode.observation()])[0]);
        let second_reach = tasks.iter().enumerate().filter(|(_, &t)| t == TaskId::Reach.index()).nth(2).map(|(i, _)| i).unwrap();
        assert_eq!(&rows.observations[second_reach * OBS_DIM..(second_reach + 1) * OBS_DIM], &episode.observation().0[..]);
    }
}
