//! Modelled people demonstrating through the page's own controls, for the runner's
//! experiments, the crowd simulator and the tests beside the scripted experts.
//!
//! A person watches the gripper and knows where the task wants it (the guide shows the
//! way; the scripted expert's action at the state the person sees stands for that
//! knowledge). They act as a visitor does ([`crate::teleop`], the stage's input):
//!
//! - **The pointer.** The hand drags the mouse over the desktop stage (960 x 600 CSS
//!   pixels, the page's default camera); every pixel the pointer reaches is cast onto the
//!   gripper's plane with [`Teleop::drag_to`], in whole pixels as mouse events are. The
//!   hand moves at `speed` times the arm's top speed, and never leads the gripper by more
//!   than [`LEASH_M`] (a person watches the gripper, not the pointer).
//! - **The wheel.** Height changes in whole notches of [`HEIGHT_STEP_M`], one per frame
//!   at most, once the hand wants half a notch.
//! - **Intermittent control.** The person looks and decides where the gripper should go
//!   once per reaction time (`reaction_steps`): to the task's next point where it is
//!   within a step, else that way for as far as the hand goes before the next look. In
//!   between, the hand moves towards that goal.
//! - **The grip key.** Seeing that the fingers should close (or open) takes
//!   `reaction_steps`, spent holding still; then the key is pressed.
//! - **Tremor**: an AR(1) process added to the hand's motion
//!   (`e_t = 0.8 e_{t-1} + jitter n_t`, in the action's units).
//! - **Pauses**: now and then (`pause_chance` per step) the person stops to look, for
//!   `pause_steps` steps, the mouse at rest.
//! - **Detours**: now and then (`detour_chance` per step) the hand heads off in a wrong
//!   direction for half a second, mixed half and half with the intended motion.
//! - **Overshoot**: the hand's motion keeps `overshoot` of the last step's, so a hand that
//!   should stop runs on and comes back.
//! - **Failed attempts, retried**: an attempt that runs out of the person's time
//!   ([`TaskId::demonstration_limit`]) is thrown away, as the page does, and the person
//!   tries again on the same instance, up to `attempts` times; then they give up.
//!
//! The record is what the page records: the action [`Teleop::action`] makes of the
//! controls, frame by frame. Which parameters are measured and which are guesses is in
//! docs/people.md.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rapier3d::prelude::Vector;
use serde::{Deserialize, Serialize};

use super::dataset::{standard_normal, Demonstration};
use crate::sim::arm::clamp_to_workspace;
use crate::sim::{Action, ACTION_SCALE_M};
use crate::tasks::expert::CLOSED;
use crate::tasks::{Episode, Observation, TaskId};
use crate::teleop::{OrbitCamera, Teleop, HEIGHT_STEP_M};

/// A person's settings. [`HumanModel::reference`] is the first model's, kept as it was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HumanModel {
    /// Steps between seeing that the gripper should change and pressing the key.
    pub reaction_steps: usize,
    /// The hand's speed as a share of the arm's top speed.
    pub speed: f32,
    /// Standard deviation of the tremor's innovations, per axis, in the action's units.
    pub jitter: f32,
    /// Chance per step of stopping to look.
    pub pause_chance: f64,
    /// A pause's length in steps, drawn uniformly from this range (inclusive).
    #[serde(default = "reference_pause_steps")]
    pub pause_steps: [usize; 2],
    /// Chance per step of heading off the way.
    pub detour_chance: f64,
    /// The share of the hand's last motion that carries into the next step.
    #[serde(default)]
    pub overshoot: f32,
    /// Attempts before giving up.
    pub attempts: usize,
}

fn reference_pause_steps() -> [usize; 2] {
    [5, 20]
}

impl Default for HumanModel {
    fn default() -> Self {
        Profile::Typical.model()
    }
}

/// The kinds of people the runner models (docs/people.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Slow and deliberate: looks often, rarely strays, never overshoots.
    Careful,
    /// A first-time visitor: every handicap at least the reference person's.
    Typical,
    /// Fast and sloppy: outruns the arm, shakes, strays and overshoots, gives up sooner.
    Hasty,
    /// The first model's parameters, kept as they were and never tuned on.
    Reference,
    /// A "worse" operator, as robomimic's mixed-skill data has them: slow to react,
    /// shaky, wandering and overshooting, and trying again until it passes. The weak
    /// profile the quality issue's crowd includes (docs/people.md).
    Novice,
}

impl Profile {
    pub const ALL: [Profile; 5] = [Profile::Careful, Profile::Typical, Profile::Hasty, Profile::Reference, Profile::Novice];

    pub fn name(self) -> &'static str {
        match self {
            Profile::Careful => "careful",
            Profile::Typical => "typical",
            Profile::Hasty => "hasty",
            Profile::Reference => "reference",
            Profile::Novice => "novice",
        }
    }

    pub fn from_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn model(self) -> HumanModel {
        match self {
            Profile::Careful => HumanModel {
                reaction_steps: 8,
                speed: 0.6,
                jitter: 0.06,
                pause_chance: 0.03,
                pause_steps: [5, 20],
                detour_chance: 0.005,
                overshoot: 0.0,
                attempts: 4,
            },
            Profile::Typical => HumanModel {
                reaction_steps: 6,
                speed: 0.75,
                jitter: 0.07,
                pause_chance: 0.02,
                pause_steps: [5, 20],
                detour_chance: 0.012,
                overshoot: 0.2,
                attempts: 3,
            },
            Profile::Hasty => HumanModel {
                reaction_steps: 4,
                speed: 1.2,
                jitter: 0.1,
                pause_chance: 0.01,
                pause_steps: [3, 10],
                detour_chance: 0.025,
                overshoot: 0.5,
                attempts: 2,
            },
            Profile::Reference => HumanModel {
                reaction_steps: 5,
                speed: 0.8,
                jitter: 0.06,
                pause_chance: 0.015,
                pause_steps: reference_pause_steps(),
                detour_chance: 0.01,
                overshoot: 0.0,
                attempts: 3,
            },
            Profile::Novice => HumanModel {
                reaction_steps: 8,
                speed: 0.7,
                jitter: 0.1,
                pause_chance: 0.03,
                pause_steps: [10, 30],
                detour_chance: 0.03,
                overshoot: 0.4,
                attempts: 5,
            },
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Who demonstrates when people do: one profile, or a mixed crowd in given shares. Each
/// demonstration's person is drawn by its instance's seed, so a run is reproducible.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct People {
    /// Profiles and their shares of the demonstrations (shares need not sum to one).
    pub members: Vec<(Profile, f64)>,
}

impl People {
    pub fn only(profile: Profile) -> People {
        People { members: vec![(profile, 1.0)] }
    }

    /// The mixed crowd: careful 30%, typical 40%, hasty 30%.
    pub fn mixed() -> People {
        People { members: vec![(Profile::Careful, 0.3), (Profile::Typical, 0.4), (Profile::Hasty, 0.3)] }
    }

    /// The mixed crowd with novices among them: careful 25%, typical 35%, hasty 25%,
    /// novice 15%. The crowd the quality issue judges curation with: one with weak
    /// demonstrations that a curation could leave out.
    pub fn mixed_with_novices() -> People {
        People { members: vec![(Profile::Careful, 0.25), (Profile::Typical, 0.35), (Profile::Hasty, 0.25), (Profile::Novice, 0.15)] }
    }

    /// `careful`, `typical`, `hasty`, `reference`, `novice`, `crowd` (the mixed crowd) or
    /// `crowd-novices` (the mixed crowd with novices).
    pub fn from_name(name: &str) -> Option<People> {
        match name {
            "crowd" => return Some(People::mixed()),
            "crowd-novices" => return Some(People::mixed_with_novices()),
            _ => {}
        }
        Profile::from_name(name).map(People::only)
    }

    /// Who demonstrates the instance `seed`.
    pub fn person(&self, seed: u64) -> Profile {
        let total: f64 = self.members.iter().map(|(_, share)| share.max(0.0)).sum();
        let mut draw = ChaCha8Rng::seed_from_u64(seed ^ 0x7065_6f70_6c65).random::<f64>() * total;
        for &(profile, share) in &self.members {
            draw -= share.max(0.0);
            if draw < 0.0 {
                return profile;
            }
        }
        self.members.last().map_or(Profile::Typical, |m| m.0)
    }

    /// A person drawn by `seed` demonstrating `task` on the instance `seed`.
    pub fn demonstrate(&self, task: TaskId, seed: u64) -> HumanDemonstration {
        self.demonstrate_by(task, seed, seed)
    }

    /// The person drawn by `hand` demonstrating `task` on the instance `instance`, their
    /// hand seeded by `hand` (two people given one instance act differently).
    pub fn demonstrate_by(&self, task: TaskId, instance: u64, hand: u64) -> HumanDemonstration {
        let profile = self.person(hand);
        HumanDemonstration { profile: Some(profile), ..profile.model().demonstrate_by(task, instance, hand) }
    }
}

/// Tremor's persistence from one step to the next.
const TREMOR_MEMORY: f32 = 0.8;
/// A detour's length in steps (0.5 s).
const DETOUR_STEPS: usize = 10;
/// How far the pointer may lead the gripper's target before the person waits for it.
pub const LEASH_M: f32 = 0.03;
/// The desktop stage in CSS pixels, where the pointer moves.
pub const STAGE_PX: (f32, f32) = (960.0, 600.0);

/// What a person's demonstration cost them, besides the record.
#[derive(Clone, Debug, PartialEq)]
pub struct HumanDemonstration {
    /// The successful attempt, or the last one if every attempt failed.
    pub demonstration: Demonstration,
    /// Attempts made (1 when the first succeeded).
    pub attempts: usize,
    /// Which profile demonstrated, when drawn from [`People`].
    pub profile: Option<Profile>,
}

/// The hand and the controls during one attempt.
struct Hand {
    teleop: Teleop,
    camera: OrbitCamera,
    /// Where the hand would put the gripper (continuous; the controls quantise it).
    wish: Vector,
    /// The pointer's last pixel, as the last mouse event reported it.
    pixel: (f32, f32),
    /// Where the person last decided the gripper should go, and the steps until they
    /// look again.
    goal: Vector,
    look_in: usize,
    motion: [f32; 3],
    tremor: [f32; 3],
    paused: usize,
    detour: (usize, [f32; 3]),
    /// Whether the hesitation before the next key press has been spent.
    hesitated: bool,
}

impl Hand {
    fn new(episode: &Episode) -> Hand {
        let teleop = Teleop::new(episode.tcp_target());
        let camera = OrbitCamera::default();
        // The drag starts with a press on the gripper.
        let pixel = camera.project(teleop.desired, STAGE_PX.0, STAGE_PX.1).map_or((0.0, 0.0), |(x, y)| (x.round(), y.round()));
        Hand { wish: teleop.desired, goal: teleop.desired, look_in: 0, teleop, camera, pixel, motion: [0.0; 3], tremor: [0.0; 3], paused: 0, detour: (0, [0.0; 3]), hesitated: false }
    }
}

impl HumanModel {
    /// The first model's parameters (reaction 5 steps, speed 0.8, tremor 0.06, pauses
    /// 1.5% of steps for 5-20 steps, detours 1% for 10 steps, 3 attempts).
    pub fn reference() -> HumanModel {
        Profile::Reference.model()
    }

    /// A person demonstrating `task` on the instance `seed`; their hand is seeded by
    /// `seed` too, so a run is reproducible.
    pub fn demonstrate(&self, task: TaskId, seed: u64) -> HumanDemonstration {
        self.demonstrate_by(task, seed, seed)
    }

    /// This person demonstrating `task` on the instance `instance`, their hand seeded by
    /// `hand`.
    pub fn demonstrate_by(&self, task: TaskId, instance: u64, hand: u64) -> HumanDemonstration {
        let mut rng = ChaCha8Rng::seed_from_u64(hand ^ 0x6875_6d61_6e);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let demonstration = self.attempt(task, instance, &mut rng);
            if demonstration.success || attempt >= self.attempts.max(1) {
                return HumanDemonstration { demonstration, attempts: attempt, profile: None };
            }
        }
    }

    fn attempt(&self, task: TaskId, seed: u64, rng: &mut ChaCha8Rng) -> Demonstration {
        let mut episode = Episode::new(task, seed);
        let mut hand = Hand::new(&episode);
        let (mut observations, mut actions): (Vec<Observation>, Vec<Action>) = (Vec::new(), Vec::new());
        while !episode.is_demonstration_over() {
            let obs = episode.observation();
            observations.push(obs);
            self.act(&mut hand, task.expert_action(&obs), obs.tcp(), episode.tcp_target(), rng);
            let action = hand.teleop.action(episode.tcp_target());
            actions.push(action);
            episode.step(action);
        }
        Demonstration { task, seed, observations, actions, success: episode.is_success() }
    }

    /// One frame of the person: what they do with the mouse, the wheel and the key.
    fn act(&self, hand: &mut Hand, intended: Action, tcp: Vector, target: Vector, rng: &mut ChaCha8Rng) {
        for e in hand.tremor.iter_mut() {
            *e = TREMOR_MEMORY * *e + self.jitter * standard_normal(rng);
        }
        let grip_wanted = intended[3] >= 0.5 * CLOSED;
        // Seeing that the fingers should close (or open) takes a reaction time, spent
        // holding still; so does deciding to stop and look.
        if hand.paused == 0 && grip_wanted != hand.teleop.gripping && !hand.hesitated {
            hand.paused = self.reaction_steps;
            hand.hesitated = true;
        }
        if hand.paused == 0 && rng.random_bool(self.pause_chance) {
            hand.paused = rng.random_range(self.pause_steps[0]..=self.pause_steps[1].max(self.pause_steps[0]));
        }
        if hand.detour.0 == 0 && rng.random_bool(self.detour_chance) {
            let direction = [standard_normal(rng), standard_normal(rng), 0.3 * standard_normal(rng)];
            let norm = direction.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
            hand.detour = (DETOUR_STEPS, direction.map(|v| v / norm));
        }
        if hand.paused > 0 {
            // The mouse at rest: no motion, no tremor, the key untouched.
            hand.paused -= 1;
            hand.motion = [0.0; 3];
            return;
        }
        if grip_wanted != hand.teleop.gripping {
            hand.teleop.toggle_grip();
            hand.hesitated = false;
        }
        // Intermittent control: the person looks and decides where the gripper should go
        // once per reaction time, and moves the hand towards it in between. Where the
        // task's next point is within a step they aim at it; otherwise they head its way
        // for as far as the hand goes before the next look.
        if hand.look_in == 0 {
            let period = self.reaction_steps.max(1);
            let largest = intended[..3].iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let reach = if largest < 1.0 { 1.0 } else { self.speed.max(0.1) * period as f32 };
            hand.goal = tcp + Vector::new(intended[0], intended[1], intended[2]) * (ACTION_SCALE_M * reach);
            hand.look_in = period;
        }
        hand.look_in -= 1;
        let toward = (hand.goal - hand.wish) / ACTION_SCALE_M;
        let largest = toward.abs().max_element();
        let aim = if largest > self.speed { toward * (self.speed / largest) } else { toward };
        for axis in 0..3 {
            let heading = if hand.detour.0 > 0 { 0.5 * aim[axis] + 0.5 * self.speed * hand.detour.1[axis] } else { aim[axis] };
            hand.motion[axis] = self.overshoot * hand.motion[axis] + (1.0 - self.overshoot) * heading;
        }
        hand.detour.0 = hand.detour.0.saturating_sub(1);
        let step = Vector::new(
            hand.motion[0] + hand.tremor[0],
            hand.motion[1] + hand.tremor[1],
            hand.motion[2] + hand.tremor[2],
        ) * ACTION_SCALE_M;
        let mut wish = clamp_to_workspace(hand.wish + step);
        // A person waits for a gripper that lags: the pointer stays within the leash.
        let lead = wish - target;
        if lead.length() > LEASH_M {
            wish = target + lead * (LEASH_M / lead.length());
        }
        hand.wish = wish;
        // The mouse: the pointer moves in whole pixels over the gripper's plane.
        let on_plane = Vector::new(wish.x, wish.y, hand.teleop.desired.z);
        if let Some((x, y)) = hand.camera.project(on_plane, STAGE_PX.0, STAGE_PX.1) {
            let pixel = (x.round(), y.round());
            if pixel != hand.pixel {
                hand.pixel = pixel;
                let (origin, direction) = hand.camera.ray(pixel.0, pixel.1, STAGE_PX.0, STAGE_PX.1);
                hand.teleop.drag_to(origin, direction);
            }
        }
        // The wheel: a notch once the hand wants half of one.
        let rise = wish.z - hand.teleop.desired.z;
        if rise.abs() >= 0.5 * HEIGHT_STEP_M {
            hand.teleop.nudge(Vector::Z * HEIGHT_STEP_M.copysign(rise));
        }
    }
}

/// How a demonstration's motion reads: what the model is tuned against.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MotionStats {
    pub steps: usize,
    /// Mean distance between consecutive actions' motion (x, y, z).
    pub mean_change: f32,
    /// Share of steps with no motion commanded.
    pub still_share: f32,
}

impl MotionStats {
    pub fn of(actions: &[Action]) -> MotionStats {
        let steps = actions.len();
        let change: f32 = actions
            .windows(2)
            .map(|w| (0..3).map(|i| (w[1][i] - w[0][i]).powi(2)).sum::<f32>().sqrt())
            .sum::<f32>()
            / (steps.saturating_sub(1).max(1)) as f32;
        let still = actions.iter().filter(|a| a[..3].iter().all(|v| v.abs() < 1e-3)).count() as f32 / steps.max(1) as f32;
        MotionStats { steps, mean_change: change, still_share: still }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::expert_demonstration;

    #[test]
    fn every_profile_is_slower_and_shakier_than_the_expert_but_mostly_succeeds() {
        let seeds = 0..6u64;
        for profile in Profile::ALL {
            let model = profile.model();
            let (mut human_steps, mut expert_steps, mut successes) = (0, 0, 0);
            let (mut human_change, mut expert_change) = (0.0, 0.0);
            for seed in seeds.clone() {
                for task in [TaskId::Reach, TaskId::DoorOpen, TaskId::WindowClose] {
                    let person = model.demonstrate(task, seed);
                    let expert = expert_demonstration(task, seed, 0.0);
                    successes += usize::from(person.demonstration.success);
                    human_steps += person.demonstration.actions.len();
                    expert_steps += expert.actions.len();
                    human_change += MotionStats::of(&person.demonstration.actions).mean_change;
                    expert_change += MotionStats::of(&expert.actions).mean_change;
                    assert!(person.demonstration.actions.len() <= task.demonstration_limit());
                    assert_eq!(person.demonstration.observations.len(), person.demonstration.actions.len());
                }
            }
            let n = 3 * seeds.clone().count();
            assert!(successes * 10 >= n * 7, "{profile}: {successes} of {n} succeeded");
            assert!(human_steps > expert_steps, "{profile} takes longer: {human_steps} against {expert_steps} steps");
            assert!(human_change > 1.5 * expert_change, "{profile} moves less smoothly: {human_change} against {expert_change}");
        }
        // The same person on the same instance does the same: the runs are reproducible.
        let model = HumanModel::default();
        assert_eq!(model.demonstrate(TaskId::DoorOpen, 3), model.demonstrate(TaskId::DoorOpen, 3));
    }

    #[test]
    fn a_person_acts_through_the_page_controls() {
        // Every action is one the page's teleoperation makes: a move towards a desired
        // point and a grip that is fully open or fully closed.
        let person = Profile::Typical.model().demonstrate(TaskId::DrawerOpen, 2).demonstration;
        let mut episode = Episode::new(TaskId::DrawerOpen, 2);
        for action in &person.actions {
            assert!(action[3] == 1.0 || action[3] == -1.0, "{action:?}");
            assert!(action[..3].iter().all(|v| v.abs() <= 1.0 + 1e-6), "{action:?}");
            episode.step(*action);
        }
        assert_eq!(episode.is_success(), person.success);
    }

    #[test]
    fn the_typical_profile_is_no_kinder_than_the_reference() {
        let (typical, reference) = (Profile::Typical.model(), HumanModel::reference());
        assert!(typical.reaction_steps >= reference.reaction_steps);
        assert!(typical.speed <= reference.speed);
        assert!(typical.jitter >= reference.jitter);
        assert!(typical.pause_chance >= reference.pause_chance && typical.pause_steps[0] >= reference.pause_steps[0] && typical.pause_steps[1] >= reference.pause_steps[1]);
        assert!(typical.detour_chance >= reference.detour_chance);
        assert!(typical.overshoot >= reference.overshoot && typical.attempts <= reference.attempts);
    }

    #[test]
    fn the_novice_has_every_handicap_of_the_typical_person_and_more_tries() {
        let (novice, typical) = (Profile::Novice.model(), Profile::Typical.model());
        assert!(novice.reaction_steps > typical.reaction_steps && novice.speed < typical.speed && novice.jitter > typical.jitter);
        assert!(novice.pause_chance > typical.pause_chance && novice.pause_steps[0] > typical.pause_steps[0] && novice.pause_steps[1] > typical.pause_steps[1]);
        assert!(novice.detour_chance > typical.detour_chance && novice.overshoot > typical.overshoot);
        // More tries: a weak demonstration that passes in the end, not one thrown away.
        assert!(novice.attempts > typical.attempts);
    }

    #[test]
    fn a_mixed_crowd_draws_each_profile_in_its_share() {
        let crowd = People::mixed();
        let mut counts = std::collections::BTreeMap::new();
        for seed in 0..2000u64 {
            *counts.entry(crowd.person(seed)).or_insert(0usize) += 1;
        }
        assert_eq!(counts.len(), 3);
        for (profile, share) in &crowd.members {
            let seen = counts[profile] as f64 / 2000.0;
            assert!((seen - share).abs() < 0.04, "{profile}: {seen} against {share}");
        }
        assert_eq!(People::from_name("crowd"), Some(People::mixed()));
        assert_eq!(People::from_name("crowd-novices"), Some(People::mixed_with_novices()));
        assert!(People::mixed_with_novices().members.iter().any(|&(p, share)| p == Profile::Novice && share > 0.0));
        assert_eq!(People::from_name("novice"), Some(People::only(Profile::Novice)));
        assert_eq!(People::from_name("hasty"), Some(People::only(Profile::Hasty)));
        assert_eq!(People::from_name("nobody"), None);
    }

    #[test]
    fn a_person_who_cannot_finish_retries_then_gives_up() {
        // A hand so shaky it never gets there: every attempt runs out of time.
        let model = HumanModel { jitter: 3.0, pause_chance: 0.5, ..HumanModel::reference() };
        let person = model.demonstrate(TaskId::PickPlace, 1);
        assert!(!person.demonstration.success);
        assert_eq!(person.attempts, 3);
        assert_eq!(person.demonstration.actions.len(), TaskId::PickPlace.demonstration_limit());
    }
}
