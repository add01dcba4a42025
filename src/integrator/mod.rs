//! The 2-D integrator, the paper's first experiment: a point mass starts near the origin
//! and must reach a goal on the unit circle. Tasks are slots of goal angles; the policy
//! is an exact Gaussian process over (position, goal direction), so the selector's GP
//! is the policy's own ("AMF-GP").
//!
//! Units: positions in metres, velocity commands in metres per second, `DT` seconds a
//! step. A task (slot `j` of `SLOTS`) draws its goal angle uniformly in
//! `[j, j + 1) * 2 pi / SLOTS`.

mod gp_policy;
pub mod view;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use gp_policy::{GpPolicy, GpPolicyConfig};

/// Goal slots around the circle: the tasks.
pub const SLOTS: usize = 12;
pub const DT: f64 = 0.1;
/// Steps per episode: the expert reaches the goal in about half of them.
pub const HORIZON: usize = 20;
/// The largest speed a command may ask for.
pub const MAX_SPEED: f64 = 2.0;
/// Gain of the scripted expert's proportional controller.
pub const EXPERT_GAIN: f64 = 3.0;
/// An episode succeeds if it ends closer than this to its goal.
pub const SUCCESS_RADIUS: f64 = 0.1;

/// A slot's name for people: its range of goal angles.
pub fn slot_name(slot: usize) -> String {
    let width = 360 / SLOTS;
    format!("goal {}-{} deg", slot * width, (slot + 1) * width)
}

/// The policy's input: position and goal direction.
pub type Input = [f64; 4];
pub type Command = [f64; 2];

/// One episode's setting: where it starts and which goal it must reach.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Instance {
    pub slot: usize,
    pub angle: f64,
    pub start: [f64; 2],
}

impl Instance {
    /// The seeded instance of `slot`: a goal angle inside the slot and a start within
    /// 5 cm of the origin.
    pub fn new(slot: usize, seed: u64) -> Instance {
        let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ slot as u64);
        let width = std::f64::consts::TAU / SLOTS as f64;
        let angle = (slot as f64 + rng.random_range(0.0..1.0)) * width;
        let start = [rng.random_range(-0.05..0.05), rng.random_range(-0.05..0.05)];
        Instance { slot, angle, start }
    }

    pub fn goal(&self) -> [f64; 2] {
        [self.angle.cos(), self.angle.sin()]
    }

    pub fn input(&self, position: [f64; 2]) -> Input {
        [position[0], position[1], self.angle.cos(), self.angle.sin()]
    }
}

/// The scripted expert: a proportional controller towards the goal, saturated.
pub fn expert(input: &Input) -> Command {
    clamp_speed([EXPERT_GAIN * (input[2] - input[0]), EXPERT_GAIN * (input[3] - input[1])])
}

fn clamp_speed(c: Command) -> Command {
    let speed = (c[0] * c[0] + c[1] * c[1]).sqrt();
    if speed > MAX_SPEED {
        [c[0] * MAX_SPEED / speed, c[1] * MAX_SPEED / speed]
    } else if speed.is_finite() {
        c
    } else {
        [0.0, 0.0]
    }
}

/// A rolled-out episode: the inputs seen, the commands labelled, and the end.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory {
    pub instance: Instance,
    pub inputs: Vec<Input>,
    pub commands: Vec<Command>,
    pub final_distance: f64,
}

/// Rolls out `policy` on `instance`. With `label` the recorded commands are the
/// expert's plus Gaussian noise of standard deviation `noise` (a demonstration), and
/// the executed ones too; otherwise the policy's own are recorded.
pub fn rollout(instance: &Instance, policy: &dyn Fn(&Input) -> Command, label: Option<(f64, &mut ChaCha8Rng)>) -> Trajectory {
    let mut position = instance.start;
    let (mut inputs, mut commands) = (Vec::with_capacity(HORIZON), Vec::with_capacity(HORIZON));
    let mut label = label;
    for _ in 0..HORIZON {
        let input = instance.input(position);
        let command = match label.as_mut() {
            Some((noise, rng)) => {
                let c = expert(&input);
                [c[0] + *noise * normal(rng), c[1] + *noise * normal(rng)]
            }
            None => policy(&input),
        };
        let moved = clamp_speed(command);
        position = [position[0] + DT * moved[0], position[1] + DT * moved[1]];
        inputs.push(input);
        commands.push(command);
    }
    let goal = instance.goal();
    let final_distance = ((position[0] - goal[0]).powi(2) + (position[1] - goal[1]).powi(2)).sqrt();
    Trajectory { instance: *instance, inputs, commands, final_distance }
}

/// A demonstration of `slot` on `seed`: the expert with label noise `noise`.
pub fn demonstrate(slot: usize, seed: u64, noise: f64) -> Trajectory {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xde30);
    rollout(&Instance::new(slot, seed), &expert, Some((noise, &mut rng)))
}

pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Per-slot evaluation: mean final distance and success rate over `episodes` seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct IntegratorEvaluation {
    pub final_distance: Vec<f64>,
    pub success: Vec<f64>,
    /// Inputs the policy visited, per slot (the selector's rollout proxies).
    pub visited: Vec<Vec<Input>>,
}

/// Rolls `policy` out on `episodes` seeds (from `first_seed`) of every slot.
pub fn evaluate(policy: &GpPolicy, episodes: usize, first_seed: u64) -> IntegratorEvaluation {
    let act = |x: &Input| policy.act(x);
    let mut evaluation = IntegratorEvaluation { final_distance: vec![], success: vec![], visited: vec![] };
    for slot in 0..SLOTS {
        let trajectories: Vec<Trajectory> =
            (0..episodes as u64).map(|k| rollout(&Instance::new(slot, first_seed + k), &act, None)).collect();
        let n = trajectories.len().max(1) as f64;
        evaluation.final_distance.push(trajectories.iter().map(|t| t.final_distance).sum::<f64>() / n);
        evaluation.success.push(trajectories.iter().filter(|t| t.final_distance < SUCCESS_RADIUS).count() as f64 / n);
        evaluation.visited.push(trajectories.iter().flat_map(|t| t.inputs.iter().copied()).collect());
    }
    evaluation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expert_reaches_every_slot() {
        for slot in 0..SLOTS {
            for seed in 0..5 {
                let t = demonstrate(slot, seed, 0.0);
                assert!(t.final_distance < 0.01, "slot {slot} seed {seed}: {}", t.final_distance);
            }
        }
    }

    #[test]
    fn instances_stay_in_their_slot() {
        let width = std::f64::consts::TAU / SLOTS as f64;
        for slot in 0..SLOTS {
            let i = Instance::new(slot, 7);
            assert!(i.angle >= slot as f64 * width && i.angle < (slot + 1) as f64 * width);
        }
    }
}
