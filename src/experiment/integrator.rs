//! One active fine-tuning run on the 2-D integrator: pre-training covers the first `k`
//! of the twelve goal slots; the targets are the whole circle.

use serde::{Deserialize, Serialize};

use super::{weighted_mean, CurvePoint, RoundRecord, Run};
use crate::integrator::view::IntegratorView;
use crate::integrator::{demonstrate, evaluate, slot_name, GpPolicy, GpPolicyConfig, Trajectory, SLOTS};
use crate::select::{GpConfig, SelectError, SelectorKind};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntegratorSettings {
    /// Slots covered by pre-training, from slot 0 (default 3: a quarter of the circle).
    pub covered_slots: usize,
    /// Pre-training demonstrations per covered slot (default 3).
    pub pretraining_per_slot: usize,
    /// Demonstrations in all (default 12).
    pub budget: usize,
    /// Demonstrations per round (default 2).
    pub batch: usize,
    /// Evaluation episodes per slot (default 10).
    pub eval_episodes: usize,
    /// Standard deviation of the demonstrator's label noise (default 0.05).
    pub demo_noise: f64,
    pub policy: GpPolicyConfig,
    /// Subsample sizes; its noise level is replaced by the policy's own.
    pub gp: GpConfig,
}

impl Default for IntegratorSettings {
    fn default() -> Self {
        IntegratorSettings {
            covered_slots: 3,
            pretraining_per_slot: 3,
            budget: 12,
            batch: 2,
            eval_episodes: 10,
            demo_noise: 0.05,
            policy: GpPolicyConfig::default(),
            gp: GpConfig::default(),
        }
    }
}

const EVAL_SEED: u64 = 1_000_000;

/// Runs `selector` on `seed`; `clock` (seconds) times the selections.
pub fn run(selector: SelectorKind, seed: u64, settings: &IntegratorSettings, clock: &dyn Fn() -> f64) -> Result<Run, SelectError> {
    let mu = vec![1.0; SLOTS];
    let covered = settings.covered_slots.min(SLOTS);
    let pretraining: Vec<Trajectory> = (0..covered)
        .flat_map(|slot| (0..settings.pretraining_per_slot as u64).map(move |k| demonstrate(slot, 500_000 + k * 31 + slot as u64, settings.demo_noise)))
        .collect();
    let pretraining_counts: Vec<usize> = (0..SLOTS).map(|s| if s < covered { settings.pretraining_per_slot } else { 0 }).collect();
    let gp = GpConfig { noise: settings.policy.noise, ..settings.gp.clone() };
    let mut demonstrations: Vec<Trajectory> = Vec::new();
    let fit = |demos: &[Trajectory]| -> Result<GpPolicy, SelectError> {
        let all: Vec<&Trajectory> = pretraining.iter().chain(demos).collect();
        Ok(GpPolicy::fit(&settings.policy, &all)?)
    };
    let mut policy = fit(&demonstrations)?;
    let mut evaluation = evaluate(&policy, settings.eval_episodes, EVAL_SEED);
    let point = |demos: usize, e: &crate::integrator::IntegratorEvaluation| CurvePoint {
        demonstrations: demos,
        per_task: e.success.clone(),
        mean_success: weighted_mean(&e.success, &mu),
        mean_error: Some(weighted_mean(&e.final_distance, &mu)),
    };
    let mut curve = vec![point(0, &evaluation)];
    let mut rounds = Vec::new();
    let mut round = 0u64;
    while demonstrations.len() < settings.budget {
        let batch = settings.batch.max(1).min(settings.budget - demonstrations.len());
        let view = IntegratorView {
            policy: &policy,
            demonstrations: &demonstrations,
            rollouts: &evaluation.visited,
            target_weights: mu.clone(),
            pretraining: pretraining_counts.clone(),
            seed: seed ^ (round << 32),
        };
        // A selector per round, as in the tabletop's rounds (see `crate::round`).
        let started = clock();
        let selection = selector.build(seed, round as usize, &gp).select(&view, batch)?;
        let selection_seconds = clock() - started;
        for &slot in &selection.picks {
            let index = demonstrations.len() as u64;
            demonstrations.push(demonstrate(slot, seed * 1_000 + index, settings.demo_noise));
        }
        rounds.push(RoundRecord { picks: selection.picks, reason: selection.reason, selection_seconds, attempts: None, given_up: None });
        policy = fit(&demonstrations)?;
        evaluation = evaluate(&policy, settings.eval_episodes, EVAL_SEED);
        curve.push(point(demonstrations.len(), &evaluation));
        round += 1;
    }
    Ok(Run { selector, seed, task_names: (0..SLOTS).map(slot_name).collect(), curve, rounds })
}
