//! One round of the page's loop, as a pure function of its inputs: replay the stored
//! demonstrations (which checks them), fine-tune from the pre-trained weights on all of
//! them, evaluate the result by rollouts, and let the selector choose the next batch.
//! With no demonstrations it only evaluates the pre-trained policy and selects: the
//! session's start. The page runs it in a Web Worker; tests run it natively.

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

use super::{thin, SessionSettings};
use crate::policy::{
    finetune_with_fallback, BcConfig, BcError, Checkpointing, Dataset, Demonstration, Evaluator, FineTunedPolicy, Policy, Predictive,
    PortableSnapshot, Snapshot, TrainingProgress, EVAL_FIRST_SEED, PRETRAIN_TASKS,
};
use crate::record::{DemonstrationRecord, ReplayError};
use crate::select::tabletop::TabletopView;
use crate::select::{GpConfig, SelectError, Selection};
use crate::tasks::{TaskId, NUM_TASKS};

/// Everything a round needs besides the pre-trained policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundJob {
    /// Every demonstration of the session so far, oldest first.
    pub records: Vec<DemonstrationRecord>,
    pub settings: SessionSettings,
    pub seed: u64,
    /// Rounds finished before this one (0 for the session's start).
    pub round: usize,
    /// Go on from this snapshot of the same round (its device was lost elsewhere).
    pub resume: Option<PortableSnapshot>,
}

/// What a round reports while it works.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RoundEvent {
    Training(TrainingProgress),
    /// The training device failed; training goes on on the CPU from `step`.
    FellBack { step: usize, message: String },
    /// The run's parameters at a step, for going on elsewhere if this place dies.
    Snapshot(PortableSnapshot),
    /// Fraction of the evaluation rollouts done.
    Evaluating(f32),
    Selecting,
}

/// A finished round.
pub struct RoundOutput {
    /// The fine-tuned policy on the CPU (`None` at the session's start).
    pub policy: Option<FineTunedPolicy>,
    /// Success rate per task (indexed by `TaskId::index`).
    pub per_task: Vec<f64>,
    pub selection: Selection,
    /// The action MSE along training, thinned to 100 points.
    pub loss: Vec<f32>,
    pub fell_back: bool,
    pub train_seconds: f64,
    pub eval_seconds: f64,
    pub select_seconds: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RoundError {
    #[error("the settings are not usable: {0}")]
    Settings(#[from] super::SettingsError),
    #[error("stored demonstration {index} ({task}) does not replay: {error}")]
    Replay { index: usize, task: &'static str, error: ReplayError },
    #[error("fine-tuning failed: {0}")]
    Training(#[from] BcError),
    #[error("the selector failed: {0}")]
    Select(#[from] SelectError),
    #[error("the training snapshot to resume from is damaged: {0}")]
    Snapshot(String),
}

/// Rollouts per progress report while evaluating.
const EVAL_REPORT_EVERY: usize = 10;

/// Runs one round on `device` (the CPU, or a GPU that falls back to the CPU on failure).
/// `clock` reads seconds (the caller's, so wasm and native time alike).
pub async fn run_round(
    device: &Device,
    prior: &Policy,
    job: &RoundJob,
    clock: &dyn Fn() -> f64,
    events: &mut dyn FnMut(RoundEvent),
) -> Result<RoundOutput, RoundError> {
    job.settings.validate()?;
    let demonstrations = job
        .records
        .iter()
        .enumerate()
        .map(|(index, record)| record.replay().map_err(|error| RoundError::Replay { index, task: record.task.name(), error }))
        .collect::<Result<Vec<Demonstration>, _>>()?;

    let started = clock();
    let mut losses = Vec::new();
    let mut fell_back = false;
    let tuned = if demonstrations.is_empty() {
        None
    } else {
        let mut data = Dataset::default();
        for demo in &demonstrations {
            data.extend(&demo.rows());
        }
        let bc = BcConfig { steps: job.settings.steps, seed: job.seed.wrapping_mul(1_000).wrapping_add(job.round as u64), ..BcConfig::default() };
        let resume = job.resume.as_ref().map(Snapshot::from_portable).transpose().map_err(RoundError::Snapshot)?;
        let mut fallback: Option<RoundEvent> = None;
        // Progress and snapshots both report through `events`.
        let events = std::cell::RefCell::new(&mut *events);
        let mut on_progress = |p: TrainingProgress| {
            losses.push(p.action_mse);
            (events.borrow_mut())(RoundEvent::Training(p));
        };
        let mut on_snapshot = |snapshot: &Snapshot| {
            if let Ok(portable) = snapshot.to_portable() {
                (events.borrow_mut())(RoundEvent::Snapshot(portable));
            }
        };
        let checkpointing = Checkpointing { resume, on_snapshot: Some(&mut on_snapshot) };
        let policy = finetune_with_fallback(device, prior, &data, &bc, checkpointing, &mut on_progress, &mut |error, step| {
            fallback = Some(RoundEvent::FellBack { step, message: error.to_string() });
        })
        .await?;
        if let Some(event) = fallback {
            fell_back = true;
            (events.borrow_mut())(event);
        }
        Some(policy)
    };
    let train_seconds = clock() - started;

    let started = clock();
    let policy: &dyn Predictive = match &tuned {
        Some(t) => t,
        None => prior,
    };
    let mut evaluator = Evaluator::new(&TaskId::ALL, job.settings.eval_episodes, EVAL_FIRST_SEED);
    let mut advances = 0;
    while evaluator.advance(policy) {
        advances += 1;
        if advances % EVAL_REPORT_EVERY == 0 {
            events(RoundEvent::Evaluating(evaluator.progress()));
        }
    }
    let evaluation = evaluator.evaluation();
    let per_task: Vec<f64> = TaskId::ALL.iter().map(|&t| evaluation.success_of(t).unwrap_or(0.0)).collect();
    let eval_seconds = clock() - started;

    events(RoundEvent::Selecting);
    let started = clock();
    let mut pretraining = vec![0; NUM_TASKS];
    for task in PRETRAIN_TASKS {
        pretraining[task.index()] = crate::policy::PretrainConfig::default().episodes_per_task;
    }
    let view = TabletopView {
        policy,
        demonstrations: &demonstrations,
        rollout_states: evaluator.visited_states(),
        target_weights: job.settings.target_weights.clone(),
        pretraining,
        seed: job.seed ^ ((job.round as u64) << 32),
    };
    // A fresh selector each round, seeded by the round: the page's rounds may be years
    // apart (a reload), so no selector state outlives one.
    let mut selector = job.settings.selector.build(job.seed.wrapping_add(job.round as u64), &GpConfig::default());
    let selection = selector.select(&view, job.settings.batch.min(job.settings.budget.saturating_sub(job.records.len())).max(1))?;
    let select_seconds = clock() - started;

    Ok(RoundOutput {
        policy: tuned,
        per_task,
        selection,
        loss: thin(&losses, 100),
        fell_back,
        train_seconds,
        eval_seconds,
        select_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{cpu, Actor, Checkpoint};
    use crate::tasks::Episode;
    use crate::select::SelectorKind;
    use futures_lite::future::block_on;

    fn shipped_prior() -> Policy {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/www/policy.amfp")).unwrap();
        match Checkpoint::from_bytes(&bytes).unwrap() {
            Checkpoint::Pretrained { policy, .. } => policy,
            _ => panic!("the shipped policy is pre-trained"),
        }
    }

    fn record(task: TaskId, seed: u64) -> DemonstrationRecord {
        DemonstrationRecord::from_expert(task, seed, 0.0, 0.0)
    }

    fn settings() -> SessionSettings {
        SessionSettings { steps: 60, eval_episodes: 2, batch: 1, ..SessionSettings::default() }
    }

    #[test]
    fn the_start_evaluates_the_prior_and_asks_for_an_unseen_task() {
        let prior = shipped_prior();
        let job = RoundJob { records: vec![], settings: settings(), seed: 7, round: 0, resume: None };
        let mut evaluating = 0;
        let out = block_on(run_round(&cpu(), &prior, &job, &|| 0.0, &mut |e| {
            if matches!(e, RoundEvent::Evaluating(_)) {
                evaluating += 1;
            }
        }))
        .unwrap();
        assert!(out.policy.is_none() && out.loss.is_empty());
        assert!(evaluating > 0, "evaluation reports its progress");
        assert!(out.per_task[TaskId::Reach.index()] > 0.5, "the prior reaches");
        assert_eq!(out.selection.picks.len(), 1);
        let pick = TaskId::ALL[out.selection.picks[0]];
        assert!(!PRETRAIN_TASKS.contains(&pick), "AMF starts with a task pre-training left out, not {}", pick.name());
    }

    #[test]
    fn a_round_trains_on_every_record_and_reports_its_loss() {
        let prior = shipped_prior();
        let job = RoundJob {
            records: vec![record(TaskId::LeverPull, 11), record(TaskId::LeverPull, 12)],
            settings: SessionSettings { selector: SelectorKind::Uniform, batch: 3, ..settings() },
            seed: 7,
            round: 1,
            resume: None,
        };
        let mut steps = 0;
        let out = block_on(run_round(&cpu(), &prior, &job, &|| 0.0, &mut |e| {
            if let RoundEvent::Training(p) = e {
                steps = p.step;
            }
        }))
        .unwrap();
        assert_eq!(steps, 60);
        assert!(out.policy.is_some() && !out.fell_back);
        assert_eq!(out.loss.len(), 60);
        assert!(out.loss[59] < out.loss[0], "the loss falls: {:?}", (out.loss[0], out.loss[59]));
        assert_eq!(out.selection.picks.len(), 3);

        // Tasks without a demonstration keep the prior's actions exactly (closed gates),
        // even after a short round; the demonstrated task's actions moved.
        let tuned = out.policy.unwrap();
        let reach = Episode::new(TaskId::Reach, 3).observation();
        let lever = Episode::new(TaskId::LeverPull, 3).observation();
        let (before, after) = (prior.act(&[reach, lever]), tuned.act(&[reach, lever]));
        let gap = |a: &[f32; 4], b: &[f32; 4]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        assert!(gap(&before[0], &after[0]) < 1e-3, "reach moved: {:?} -> {:?}", before[0], after[0]);
        assert!(gap(&before[1], &after[1]) > 1e-2, "lever pull did not move");
    }

    #[test]
    fn a_tampered_record_is_named_and_nothing_trains() {
        let prior = shipped_prior();
        let mut bad = record(TaskId::DrawerClose, 5);
        bad.actions.truncate(3);
        let job = RoundJob { records: vec![record(TaskId::Reach, 4), bad], settings: settings(), seed: 7, round: 1, resume: None };
        let mut trained = false;
        let error = block_on(run_round(&cpu(), &prior, &job, &|| 0.0, &mut |e| trained |= matches!(e, RoundEvent::Training(_))))
            .err()
            .unwrap();
        assert!(matches!(error, RoundError::Replay { index: 1, task: "drawer_close", .. }), "{error}");
        assert!(!trained);
    }
}
