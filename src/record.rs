//! A demonstration as the page stores it and files carry it: the task, the seed, the
//! suite version and the actions, with how it went and where it came from. The states
//! follow by replay (the simulation is deterministic), so a record is small, and
//! replaying it checks it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::policy::Demonstration;
use crate::sim::Action;
use crate::tasks::{Episode, Observation, TaskId, SUITE_VERSION};

/// Who demonstrated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A person with the mouse or keyboard.
    Person,
    /// The task's scripted expert.
    ScriptedExpert,
}

impl Source {
    /// The name the files use (as serde writes it).
    pub fn name(self) -> &'static str {
        match self {
            Source::Person => "person",
            Source::ScriptedExpert => "scripted_expert",
        }
    }

    pub fn from_name(name: &str) -> Option<Source> {
        [Source::Person, Source::ScriptedExpert].into_iter().find(|s| s.name() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemonstrationRecord {
    pub task: TaskId,
    pub seed: u64,
    pub suite_version: u32,
    /// One action per control step.
    pub actions: Vec<Action>,
    /// Whether the episode succeeded, as recorded.
    pub success: bool,
    pub source: Source,
    /// Wall-clock seconds the demonstrator took.
    pub duration_seconds: f64,
    /// When it was recorded, in milliseconds since the Unix epoch.
    pub recorded_at_ms: f64,
}

/// What a record's replay saw ([`DemonstrationRecord::trace`]).
#[derive(Clone, Debug)]
pub struct Trace {
    /// The demonstration, with the state before each action.
    pub demonstration: Demonstration,
    /// The state after the last action.
    pub last: Observation,
    /// Whether the task was achieved right after each action.
    pub achieved: Vec<bool>,
}

/// Why a replay refused a record. Its kinds ([`ReplayErrorKind`], without the details)
/// are what the service's refusal codes are derived from.
#[derive(Clone, Debug, Error, PartialEq, strum::EnumDiscriminants)]
#[strum_discriminants(name(ReplayErrorKind), derive(strum::EnumIter))]
pub enum ReplayError {
    #[error("recorded with task suite version {found}; this build replays {task} as recorded in versions {from} to {SUITE_VERSION}")]
    SuiteVersion { task: TaskId, found: u32, from: u32 },
    #[error("it has {actions} actions, more than a demonstration's limit of {limit}")]
    TooLong { actions: usize, limit: usize },
    #[error("action {step} holds a value outside [-1, 1] or not a number")]
    BadAction { step: usize },
    #[error("it is recorded as {recorded}, but its replay {replayed}")]
    SuccessMismatch { recorded: &'static str, replayed: &'static str },
}

impl DemonstrationRecord {
    /// The scripted expert demonstrating `task` from `seed`, as a record of the actions
    /// it executed. With `noise > 0` each executed action is the expert's perturbed by
    /// Gaussian noise (seeded by the episode's seed) and clamped to the action range, so
    /// the record replays exactly; unlike `policy::expert_demonstration`, which keeps
    /// the expert's clean labels for training, this keeps what happened.
    pub fn from_expert(task: TaskId, seed: u64, noise: f32, recorded_at_ms: f64) -> DemonstrationRecord {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_da7a);
        let mut episode = Episode::new(task, seed);
        let mut actions = Vec::new();
        while !episode.is_done() {
            let mut action = task.expert_action(&episode.observation());
            if noise > 0.0 {
                for a in action.iter_mut().take(3) {
                    *a = (*a + noise * crate::policy::standard_normal(&mut rng)).clamp(-1.0, 1.0);
                }
            }
            actions.push(action);
            episode.step(action);
        }
        DemonstrationRecord::of_actions(task, seed, actions, episode.is_success(), Source::ScriptedExpert, recorded_at_ms)
    }

    /// A person's demonstration as the page records it: their actions, the time they
    /// took at the control rate.
    pub fn from_person(task: TaskId, seed: u64, actions: Vec<Action>, success: bool, recorded_at_ms: f64) -> DemonstrationRecord {
        DemonstrationRecord::of_actions(task, seed, actions, success, Source::Person, recorded_at_ms)
    }

    fn of_actions(task: TaskId, seed: u64, actions: Vec<Action>, success: bool, source: Source, recorded_at_ms: f64) -> DemonstrationRecord {
        DemonstrationRecord {
            task,
            seed,
            suite_version: SUITE_VERSION,
            duration_seconds: actions.len() as f64 * f64::from(crate::sim::CONTROL_DT),
            actions,
            success,
            source,
            recorded_at_ms,
        }
    }

    /// Replays the actions from the seed and returns the demonstration with its states,
    /// checking that the record is consistent (suite version, length, actions, success).
    /// A record of an older suite replays if its task has not changed since
    /// ([`TaskId::replays_from`]).
    pub fn replay(&self) -> Result<Demonstration, ReplayError> {
        Ok(self.trace()?.demonstration)
    }

    /// [`DemonstrationRecord::replay`], with what the exports also keep: the state after
    /// the last action and whether the task was achieved right after each action. One
    /// replay serves verification and export alike.
    pub fn trace(&self) -> Result<Trace, ReplayError> {
        if !self.task.replays_from(self.suite_version) {
            return Err(ReplayError::SuiteVersion { task: self.task, found: self.suite_version, from: self.task.changed_in() });
        }
        let limit = self.task.demonstration_limit();
        if self.actions.len() > limit {
            return Err(ReplayError::TooLong { actions: self.actions.len(), limit });
        }
        if let Some(step) = self.actions.iter().position(|a| a.iter().any(|v| !(-1.0..=1.0).contains(v))) {
            return Err(ReplayError::BadAction { step });
        }
        let mut episode = Episode::new(self.task, self.seed);
        let mut observations = Vec::with_capacity(self.actions.len());
        let mut achieved = Vec::with_capacity(self.actions.len());
        for &action in &self.actions {
            observations.push(episode.observation());
            achieved.push(episode.step(action));
        }
        let replayed = episode.is_success();
        if replayed != self.success {
            let word = |s: bool| if s { "succeeds" } else { "fails" };
            return Err(ReplayError::SuccessMismatch {
                recorded: if self.success { "a success" } else { "a failure" },
                replayed: word(replayed),
            });
        }
        let demonstration = Demonstration { task: self.task, seed: self.seed, observations, actions: self.actions.clone(), success: replayed };
        Ok(Trace { demonstration, last: episode.observation(), achieved })
    }

    /// Its content's fingerprint ([`content_fingerprint`]): the one identity by which
    /// uploads and imports alike find a demonstration they hold already.
    pub fn fingerprint(&self) -> String {
        content_fingerprint(self.task, self.seed, &self.actions)
    }
}

/// Two actions this close in every component are alike: half of what one pixel of the
/// page's pointer commands (about 0.2 of the arm's step), far under a person's tremor.
pub const ALIKE_ACTION: f32 = 0.1;
/// Two takes of one instance whose moving steps differ in at most this share are one
/// demonstration nudged, not two.
pub const NEAR_COPY_SHARE: f64 = 0.1;
/// The shifts in time (steps) under which two takes are compared: a copy with a few
/// idle steps put in front is still a copy.
pub const NEAR_COPY_SHIFT: usize = 5;

impl DemonstrationRecord {
    /// Whether `self` is `other` nudged: the same task and instance, and, at the best of
    /// a few shifts in time, at most [`NEAR_COPY_SHARE`] of the steps where either takes
    /// commands motion differ by more than [`ALIKE_ACTION`] or in the grip. Steps where
    /// both hold still are not counted, so two genuine takes that both wait a long time
    /// are not made alike by their waiting. Uploads and imports use this one rule beside
    /// the fingerprint (which finds exact copies).
    pub fn near_copy_of(&self, other: &DemonstrationRecord) -> bool {
        self.differing_share(other).is_some_and(|share| share <= NEAR_COPY_SHARE)
    }

    /// The share of moving steps in which two takes of one instance differ, at the best
    /// of the shifts [`DemonstrationRecord::near_copy_of`] tries; `None` for takes of two
    /// instances.
    pub fn differing_share(&self, other: &DemonstrationRecord) -> Option<f64> {
        if self.task != other.task || self.seed != other.seed {
            return None;
        }
        let still = |a: &Action| a[..3].iter().all(|v| v.abs() < crate::policy::STILL_MOTION);
        let alike = |a: &Action, b: &Action| a[3] == b[3] && a[..3].iter().zip(&b[..3]).all(|(x, y)| (x - y).abs() <= ALIKE_ACTION);
        let differing_share = |ahead: &[Action], behind: &[Action], shift: usize| {
            let idle = [0.0, 0.0, 0.0, behind.first().map_or(0.0, |a| a[3])];
            let (mut moving, mut differing) = (0usize, 0usize);
            for t in 0..ahead.len().max(behind.len() + shift) {
                let a = ahead.get(t);
                // `behind` starts `shift` steps late, holding still until then.
                let b = if t < shift { Some(&idle) } else { behind.get(t - shift) };
                match (a, b) {
                    (Some(a), Some(b)) if still(a) && still(b) && a[3] == b[3] => {}
                    (Some(a), Some(b)) => {
                        moving += 1;
                        differing += usize::from(!alike(a, b));
                    }
                    (Some(x), None) | (None, Some(x)) if still(x) => {}
                    _ => {
                        moving += 1;
                        differing += 1;
                    }
                }
            }
            if moving == 0 { 0.0 } else { differing as f64 / moving as f64 }
        };
        let best = (0..=NEAR_COPY_SHIFT)
            .flat_map(|shift| [differing_share(&self.actions, &other.actions, shift), differing_share(&other.actions, &self.actions, shift)])
            .fold(f64::INFINITY, f64::min);
        Some(best)
    }
}

/// The fingerprint of a demonstration's content (task, seed, actions' exact bits), by which
/// the service stores it once: a replayed demonstration has the same one as
/// the record it came from (the selector's sample of a pool is chosen by it).
pub fn content_fingerprint(task: TaskId, seed: u64, actions: &[Action]) -> String {
    let mut hash = Sha256::new();
    hash.update(task.name().as_bytes());
    hash.update(seed.to_le_bytes());
    for action in actions {
        for value in action {
            hash.update(value.to_bits().to_le_bytes());
        }
    }
    hex(&hash.finalize())
}

/// Bytes as lower-case hex (digests: fingerprints, hashed tokens).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::expert_demonstration;

    fn record_of(demo: &Demonstration) -> DemonstrationRecord {
        DemonstrationRecord {
            task: demo.task,
            seed: demo.seed,
            suite_version: SUITE_VERSION,
            actions: demo.actions.clone(),
            success: demo.success,
            source: Source::ScriptedExpert,
            duration_seconds: 5.0,
            recorded_at_ms: 0.0,
        }
    }

    #[test]
    fn a_nudged_or_delayed_copy_is_near_and_two_peoples_takes_of_one_instance_are_not() {
        use crate::policy::{People, Profile};
        let task = TaskId::ButtonPress;
        let people = People::only(Profile::Typical);
        let take = |hand: u64| {
            let demo = people.demonstrate_by(task, 7, hand).demonstration;
            DemonstrationRecord::from_person(task, 7, demo.actions, demo.success, 0.0)
        };
        let first = take(1);
        assert!(first.near_copy_of(&first));
        // One action nudged, every action nudged a little, a few idle steps put first.
        let mut nudged = first.clone();
        let moving = nudged.actions.iter().position(|a| a[0].abs() > 0.3).unwrap();
        nudged.actions[moving][0] = -nudged.actions[moving][0];
        assert!(nudged.near_copy_of(&first) && first.near_copy_of(&nudged));
        let mut shaken = first.clone();
        shaken.actions.iter_mut().for_each(|a| a[1] = (a[1] + 0.03).min(1.0));
        assert!(shaken.near_copy_of(&first));
        let mut delayed = first.clone();
        delayed.actions.splice(0..0, std::iter::repeat_n([0.0, 0.0, 0.0, first.actions[0][3]], 4));
        assert!(delayed.near_copy_of(&first) && first.near_copy_of(&delayed));
        // Another person's take of the same instance, or the same actions on another
        // instance, is a demonstration of its own.
        for hand in 2..6 {
            assert!(!take(hand).near_copy_of(&first), "hand {hand}");
        }
        let elsewhere = DemonstrationRecord { seed: 8, ..first.clone() };
        assert!(!elsewhere.near_copy_of(&first));
        // The scripted expert's takes under different execution noise differ too.
        let expert = |noise: f32| DemonstrationRecord::from_expert(task, 7, noise, 0.0);
        assert!(!expert(0.05).near_copy_of(&expert(0.0)));
    }

    #[test]
    fn source_names_are_the_serialised_ones() {
        for source in [Source::Person, Source::ScriptedExpert] {
            assert_eq!(serde_json::to_string(&source).unwrap(), format!("\"{}\"", source.name()));
        }
    }

    #[test]
    fn a_record_replays_to_its_states_and_a_tampered_one_is_caught() {
        let demo = expert_demonstration(TaskId::DrawerOpen, 3, 0.0);
        assert!(demo.success);
        let record = record_of(&demo);
        let json = serde_json::to_string(&record).unwrap();
        let back: DemonstrationRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back.replay().unwrap(), demo);

        let mut stalled = record.clone();
        for a in stalled.actions.iter_mut() {
            *a = [0.0; 4];
        }
        assert!(matches!(stalled.replay(), Err(ReplayError::SuccessMismatch { .. })));
        let mut wild = record.clone();
        wild.actions[4][1] = f32::NAN;
        assert_eq!(wild.replay(), Err(ReplayError::BadAction { step: 4 }));
        let mut old = record.clone();
        old.suite_version = 0;
        assert_eq!(old.replay(), Err(ReplayError::SuiteVersion { task: TaskId::DrawerOpen, found: 0, from: 1 }));
        let mut future = record;
        future.suite_version = SUITE_VERSION + 1;
        assert!(matches!(future.replay(), Err(ReplayError::SuiteVersion { .. })));
    }

    #[test]
    fn a_task_unchanged_since_an_older_suite_replays_its_records_and_a_new_task_does_not_claim_one() {
        // drawer_open is unchanged since suite 1: its records of suite 1 still replay.
        let mut first = record_of(&expert_demonstration(TaskId::DrawerOpen, 4, 0.0));
        first.suite_version = 1;
        assert!(first.replay().unwrap().success);
        // drawer_open_high came with suite 2: a record claiming suite 1 cannot be real.
        let mut variant = record_of(&expert_demonstration(TaskId::DrawerOpenHigh, 4, 0.0));
        assert!(variant.replay().unwrap().success);
        variant.suite_version = 1;
        let error = variant.replay().unwrap_err();
        assert_eq!(error, ReplayError::SuiteVersion { task: TaskId::DrawerOpenHigh, found: 1, from: 2 });
        assert!(error.to_string().contains("drawer_open_high as recorded in versions 2 to"), "{error}");
    }

    #[test]
    fn a_person_may_take_longer_than_a_policy_but_not_forever() {
        // A slow person: 14 s of hesitation (the arm held still), then the expert's way.
        let task = TaskId::WindowOpen;
        let mut episode = crate::tasks::Episode::new(task, 5);
        let mut actions = Vec::new();
        while !episode.is_demonstration_over() {
            let action = if actions.len() < 280 { [0.0; 4] } else { episode.expert_action() };
            episode.step(action);
            actions.push(action);
        }
        assert!(episode.is_success(), "the expert's way still works after waiting");
        let mut slow = record_of(&expert_demonstration(task, 5, 0.0));
        slow.actions = actions;
        slow.success = true;
        assert!(slow.actions.len() > task.horizon() && slow.actions.len() <= task.demonstration_limit());
        let replayed = slow.replay().unwrap();
        assert_eq!(replayed.observations.len(), slow.actions.len());
        let mut endless = slow;
        endless.actions.resize(task.demonstration_limit() + 1, [0.0; 4]);
        assert_eq!(endless.replay(), Err(ReplayError::TooLong { actions: task.demonstration_limit() + 1, limit: task.demonstration_limit() }));
    }
}
