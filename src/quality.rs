//! A demonstration's quality, measured on the state trajectory of the replay that
//! verifies it (the service's, the import's and the runner's alike), against the
//! scripted expert's run of the same task from the same seed: the instance's reference
//! for how short a path and how few steps the task takes.
//!
//! Measures of states, not of actions alone: a person's pointer held still shows as
//! steps where the gripper did not move, tremor as the gripper's change of velocity,
//! a fumbled grasp as the fingers closing more often than the task needs. The score
//! folds them into one number in [0, 1] for filters; the measures stay beside it, so a
//! filter can use them apart. What a demonstration is worth to the *current* policy
//! depends on the policy, so it is not here (it is not stored once).
//!
//! Versioned ([`QUALITY_VERSION`]): a stored record of an older version is measured
//! again (`amf quality`), never compared with a newer one.

use serde::{Deserialize, Serialize};

use crate::policy::{expert_demonstration, Demonstration};
use crate::sim::CONTROL_HZ;

/// The measures' version; raised whenever a measure or the score changes.
pub const QUALITY_VERSION: u32 = 1;

/// A step in which the gripper moved less than this (metres) and the grip command stayed
/// as it was is idle: about a fifth of the arm's top speed for a step.
const IDLE_MOTION_M: f32 = 0.001;

/// A demonstration's measures and score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    pub version: u32,
    /// Control steps, and the scripted expert's on the same instance.
    pub steps: usize,
    pub expert_steps: usize,
    /// Share of the steps in which the gripper stayed within 1 mm and the grip command as
    /// it was, and the expert's.
    pub idle_share: f64,
    pub expert_idle_share: f64,
    /// The gripper's path (metres), and the expert's on the same instance.
    pub path_m: f64,
    pub expert_path_m: f64,
    /// Mean size of the gripper's change of velocity between steps (mm per step, per
    /// step): tremor and jerks; the expert's smooth motion is near zero.
    pub jerk_mm: f64,
    /// Times the grip was commanded closed, and the expert's: a grasp fumbled and tried
    /// again (the fingers' own gap shows a grasp badly: they stop on the object).
    pub closings: usize,
    pub expert_closings: usize,
    /// In [0, 1]: the geometric mean of the share of steps not idle beyond the expert's
    /// idle steps, the step ratio (expert / own, at most 1), the path ratio (likewise),
    /// and 1 / (1 + closings beyond the expert's). The expert's own run scores 1.
    pub score: f64,
}

/// Measures `demonstration` (its replay: the states before each action) against the
/// scripted expert's noise-free run of the same task and seed.
pub fn measure(demonstration: &Demonstration) -> Quality {
    let expert = expert_demonstration(demonstration.task, demonstration.seed, 0.0);
    measure_against(demonstration, &expert)
}

/// Measures `demonstration` against a reference run of the same instance.
pub fn measure_against(demonstration: &Demonstration, reference: &Demonstration) -> Quality {
    let own = Trajectory::of(demonstration);
    let expert = Trajectory::of(reference);
    let steps = demonstration.actions.len().max(1);
    let expert_steps = reference.actions.len().max(1);
    let idle_share = own.idle as f64 / steps as f64;
    let extra_idle = own.idle.saturating_sub(expert.idle) as f64 / steps as f64;
    let ratio = |reference: f64, own: f64| if own <= 0.0 { 1.0 } else { (reference / own).clamp(0.0, 1.0) };
    let extra_closings = own.closings.saturating_sub(expert.closings);
    let factors = [
        (1.0 - extra_idle).max(0.0),
        ratio(expert_steps as f64, steps as f64),
        ratio(expert.path_m, own.path_m),
        1.0 / (1.0 + extra_closings as f64),
    ];
    // A factor of 0 (a demonstration that is all idle) scores 0, not NaN.
    let score = if factors.iter().any(|&f| f <= 0.0) { 0.0 } else { (factors.iter().map(|f| f.ln()).sum::<f64>() / factors.len() as f64).exp() };
    Quality {
        version: QUALITY_VERSION,
        steps,
        expert_steps,
        idle_share,
        expert_idle_share: expert.idle as f64 / expert_steps as f64,
        path_m: own.path_m,
        expert_path_m: expert.path_m,
        jerk_mm: own.jerk_mm,
        closings: own.closings,
        expert_closings: expert.closings,
        score,
    }
}

/// A short, kind word on a demonstration for the person who made it: how it went and
/// how long it took beside the robot's own script.
pub fn feedback(quality: &Quality) -> String {
    let seconds = |steps: usize| steps as f64 / f64::from(CONTROL_HZ);
    let how = if quality.score >= 0.8 {
        "Smooth and direct"
    } else if quality.closings > quality.expert_closings {
        "Done, with another try at the grasp"
    } else if quality.idle_share > 0.25 {
        "Done, with a few pauses"
    } else if quality.expert_path_m < 0.6 * quality.path_m {
        "Done, the long way round"
    } else {
        "Well done"
    };
    format!("{how}: {:.0} s; the robot's script takes {:.0} s.", seconds(quality.steps), seconds(quality.expert_steps))
}

/// What the measures read off a run's states.
struct Trajectory {
    idle: usize,
    path_m: f64,
    jerk_mm: f64,
    closings: usize,
}

impl Trajectory {
    /// The steps' measures: the states before each action, the action's grip command.
    fn of(run: &Demonstration) -> Trajectory {
        let (mut idle, mut path_m, mut closings) = (0, 0.0, 0);
        let (mut jerk_sum, mut jerks) = (0.0, 0usize);
        let mut last_velocity: Option<rapier3d::prelude::Vector> = None;
        let closes = |grip: f32| grip > 0.0;
        for (step, pair) in run.observations.windows(2).enumerate() {
            let velocity = pair[1].tcp() - pair[0].tcp();
            let moved = velocity.length();
            path_m += f64::from(moved);
            let grip = run.actions[step][3];
            let grip_before = if step == 0 { -1.0 } else { run.actions[step - 1][3] };
            if moved < IDLE_MOTION_M && closes(grip) == closes(grip_before) {
                idle += 1;
            }
            if closes(grip) && !closes(grip_before) {
                closings += 1;
            }
            if let Some(last) = last_velocity {
                jerk_sum += f64::from((velocity - last).length()) * 1000.0;
                jerks += 1;
            }
            last_velocity = Some(velocity);
        }
        Trajectory { idle, path_m, jerk_mm: if jerks > 0 { jerk_sum / jerks as f64 } else { 0.0 }, closings }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Profile;
    use crate::tasks::TaskId;

    #[test]
    fn the_experts_own_run_scores_one() {
        let expert = expert_demonstration(TaskId::PickPlace, 3, 0.0);
        let quality = measure(&expert);
        assert_eq!(quality.score, 1.0, "{quality:?}");
        assert_eq!((quality.steps, quality.closings), (quality.expert_steps, quality.expert_closings));
        assert!(quality.closings >= 1, "a pick closes the fingers");
    }

    #[test]
    fn pauses_and_detours_lower_the_score_and_show_in_their_measures() {
        let expert = expert_demonstration(TaskId::DrawerOpen, 5, 0.0);
        // The same run with the person holding still for 30 steps halfway.
        let mut paused = expert.clone();
        let middle = paused.observations.len() / 2;
        let still = paused.observations[middle];
        paused.observations.splice(middle..middle, std::iter::repeat_n(still, 30));
        paused.actions.splice(middle..middle, std::iter::repeat_n([0.0, 0.0, 0.0, paused.actions[middle][3]], 30));
        let quality = measure_against(&paused, &expert);
        assert!(quality.idle_share > 0.2, "{quality:?}");
        assert!(quality.score < 0.9, "{quality:?}");
        assert_eq!(quality.path_m, quality.expert_path_m);
    }

    #[test]
    fn a_modelled_person_scores_below_the_expert_and_is_measured_in_range() {
        let task = TaskId::ButtonPress;
        let person = (0..10)
            .map(|seed| Profile::Typical.model().demonstrate(task, seed).demonstration)
            .find(|d| d.success)
            .expect("a typical person presses the button on one of ten instances");
        let quality = measure(&person);
        assert!(quality.score > 0.0 && quality.score < 1.0, "{quality:?}");
        assert!((0.0..=1.0).contains(&quality.idle_share));
        assert!(quality.jerk_mm > measure(&expert_demonstration(task, person.seed, 0.0)).jerk_mm);
    }

    #[test]
    fn the_feedback_names_what_went_wrong_and_the_times() {
        let expert = expert_demonstration(TaskId::PickPlace, 3, 0.0);
        let quality = measure(&expert);
        let steps = quality.steps;
        assert_eq!(feedback(&quality), format!("Smooth and direct: {:.0} s; the robot's script takes {:.0} s.", steps as f64 / 20.0, steps as f64 / 20.0));
        let fumbled = Quality { score: 0.5, closings: quality.expert_closings + 1, ..quality.clone() };
        assert!(feedback(&fumbled).starts_with("Done, with another try at the grasp"));
        let paused = Quality { score: 0.5, idle_share: 0.4, steps: 400, ..quality };
        assert!(feedback(&paused).starts_with("Done, with a few pauses: 20 s;"), "{}", feedback(&paused));
    }

    #[test]
    fn a_run_that_holds_still_scores_low_and_a_number() {
        let expert = expert_demonstration(TaskId::Reach, 1, 0.0);
        let still = Demonstration { observations: vec![expert.observations[0]; 50], actions: vec![[0.0, 0.0, 0.0, -1.0]; 50], ..expert.clone() };
        let quality = measure_against(&still, &expert);
        assert!(quality.score.is_finite() && quality.score < 0.4, "{quality:?}");
        assert!(quality.idle_share > 0.9);
        let empty = Demonstration { observations: vec![], actions: vec![], ..expert.clone() };
        assert!(measure_against(&empty, &expert).score.is_finite());
    }
}
