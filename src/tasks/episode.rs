//! One episode of one task: reset from a seed, step with actions, observe, judge success.
//!
//! Invariant: a task, a seed and an action sequence determine the episode exactly, on
//! every platform (rapier's enhanced determinism, `libm` for trigonometry, ChaCha for
//! the reset distribution).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rapier3d::prelude::Vector;
use serde::{Deserialize, Serialize};

use super::{uniform, Observation, TaskId, TaskObjects};
use crate::sim::{Action, Scene, Visual, ACTION_SCALE_M};

/// A running episode.
pub struct Episode {
    task: TaskId,
    seed: u64,
    scene: Scene,
    objects: Box<dyn TaskObjects>,
    steps: usize,
    succeeded: bool,
    /// Where the TCP was before the last control step (its velocity is observed).
    previous_tcp: Vector,
}

/// What a finished rollout leaves behind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RolloutSummary {
    pub task: TaskId,
    pub seed: u64,
    pub success: bool,
    /// Control steps taken (the rollout stops at the first success).
    pub steps: usize,
    pub final_state_hash: u64,
    pub actions: Vec<Action>,
}

impl Episode {
    /// Resets `task` to the instance drawn from `seed`.
    pub fn new(task: TaskId, seed: u64) -> Episode {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let tcp = Vector::new(
            uniform(&mut rng, -0.05, 0.05),
            uniform(&mut rng, 0.35, 0.40),
            uniform(&mut rng, 0.20, 0.25),
        );
        let mut scene = Scene::new(tcp);
        let objects = task.build(&mut scene, &mut rng);
        let succeeded = objects.is_success(&scene);
        let previous_tcp = scene.arm.tcp(&scene.physics);
        Episode { task, seed, scene, objects, steps: 0, succeeded, previous_tcp }
    }

    pub fn task(&self) -> TaskId {
        self.task
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Control steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Whether the task's success predicate has held at some step of this episode.
    pub fn is_success(&self) -> bool {
        self.succeeded
    }

    /// Whether the success predicate holds in the current state.
    pub fn is_success_now(&self) -> bool {
        self.objects.is_success(&self.scene)
    }

    /// Whether a policy rollout is over: success, or the horizon reached.
    pub fn is_done(&self) -> bool {
        self.succeeded || self.steps >= self.task.horizon()
    }

    /// Whether a person's demonstration is over: success, or their time limit reached
    /// ([`TaskId::demonstration_limit`]).
    pub fn is_demonstration_over(&self) -> bool {
        self.succeeded || self.steps >= self.task.demonstration_limit()
    }

    /// Seconds left of a person's time to demonstrate.
    pub fn demonstration_seconds_left(&self) -> f32 {
        self.task.demonstration_limit().saturating_sub(self.steps) as f32 * crate::sim::CONTROL_DT
    }

    pub fn observation(&self) -> Observation {
        let physics = &self.scene.physics;
        let tcp = self.scene.arm.tcp(physics);
        Observation::new(
            self.task,
            tcp,
            (tcp - self.previous_tcp) / ACTION_SCALE_M,
            self.scene.arm.opening(physics),
            self.objects.object_pose(&self.scene),
            self.objects.goal(),
        )
    }

    /// Applies one action for one control step; returns whether the task succeeds now.
    pub fn step(&mut self, action: Action) -> bool {
        self.previous_tcp = self.scene.arm.tcp(&self.scene.physics);
        self.scene.step(action);
        self.steps += 1;
        let now = self.objects.is_success(&self.scene);
        self.succeeded |= now;
        now
    }

    /// The scripted expert's action in the current state.
    pub fn expert_action(&self) -> Action {
        self.task.expert_action(&self.observation())
    }

    /// The commanded TCP target, in metres (where teleoperation moves from).
    pub fn tcp_target(&self) -> Vector {
        self.scene.arm.target()
    }

    pub fn state_hash(&self) -> u64 {
        self.scene.state_hash()
    }

    pub fn visuals(&self) -> Vec<Visual> {
        self.scene.visuals()
    }

    pub fn scene(&self) -> &Scene {
        &self.scene
    }

    /// Runs `policy` from this state until success or the horizon.
    pub fn rollout(mut self, mut policy: impl FnMut(&Observation) -> Action) -> RolloutSummary {
        let mut actions = Vec::with_capacity(self.task.horizon());
        while !self.is_done() {
            let action = policy(&self.observation());
            actions.push(action);
            self.step(action);
        }
        RolloutSummary {
            task: self.task,
            seed: self.seed,
            success: self.succeeded,
            steps: self.steps,
            final_state_hash: self.state_hash(),
            actions,
        }
    }

    /// Replays a recorded action sequence (to its end, ignoring success), from the reset.
    pub fn replay(task: TaskId, seed: u64, actions: &[Action]) -> Episode {
        let mut episode = Episode::new(task, seed);
        for &action in actions {
            episode.step(action);
        }
        episode
    }
}

/// Rolls the scripted expert out on one seed of `task`.
pub fn run_expert(task: TaskId, seed: u64) -> RolloutSummary {
    Episode::new(task, seed).rollout(|obs| task.expert_action(obs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_observation_carries_the_grippers_move_over_the_last_step() {
        let mut episode = Episode::new(TaskId::Reach, 3);
        assert_eq!(episode.observation().velocity(), Vector::ZERO, "at rest after a reset");
        let before = episode.observation().tcp();
        episode.step([0.5, -0.25, 0.0, -1.0]);
        let after = episode.observation();
        assert!((after.velocity() - (after.tcp() - before) / ACTION_SCALE_M).length() < 1e-5);
        // The palm follows its commanded target within the step: the velocity reads as
        // the motion last commanded.
        assert!((after.velocity() - Vector::new(0.5, -0.25, 0.0)).length() < 0.02, "{:?}", after.velocity());
        episode.step([0.0, 0.0, 0.0, -1.0]);
        assert!(episode.observation().velocity().length() < 0.02, "held still: {:?}", episode.observation().velocity());
    }

    #[test]
    fn a_scene_at_rest_looks_the_same_and_a_moving_one_does_not() {
        let mut episode = Episode::new(TaskId::Push, 2);
        // Let it settle, holding still.
        for _ in 0..40 {
            episode.step([0.0, 0.0, 0.0, -1.0]);
        }
        let before = episode.visuals();
        episode.step([0.0, 0.0, 0.0, -1.0]);
        assert!(crate::sim::looks_the_same(&before, &episode.visuals(), 1e-4), "a scene at rest changed");
        episode.step([1.0, 0.0, 0.0, -1.0]);
        assert!(!crate::sim::looks_the_same(&before, &episode.visuals(), 1e-4), "a moving arm looked the same");
        assert!(!crate::sim::looks_the_same(&before, &before[1..], 1e-4));
    }
}
