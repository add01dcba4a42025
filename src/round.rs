//! One round of active multi-task fine-tuning on the tabletop, the one step every loop
//! of this project runs: fine-tune from the pre-trained weights on every demonstration
//! so far, evaluate the result by rollouts, and let the selector choose the next batch.
//! Who demonstrates between rounds is the caller's business: a person in the page
//! ([`RoundJob`], run in the page's training worker), the scripted experts in the
//! runner's experiments and the page's live comparison (`experiment::tabletop`).
//!
//! Round `k` is the one after the `k`-th batch; round 0 only evaluates the pre-trained
//! policy and selects. Everything random in round `k` is seeded by the run's seed and
//! `k`, and the selector is built afresh for each round from them, so a round is a
//! pure function of its inputs wherever and whenever it runs (a page may resume a
//! session days later).

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

pub use crate::assessment::{assess, Assessment};
use crate::policy::{
    finetune_with_fallback, rehearsal_rows, BcConfig, BcError, Checkpointing, Dataset, Demonstration, FineTunedPolicy, Policy,
    PortableSnapshot, Predictive, PretrainConfig, Snapshot, TrainingProgress, PRETRAIN_TASKS, REHEARSAL_EPISODES,
};
pub use crate::curation::Reweighing;
use crate::record::{DemonstrationRecord, ReplayError};
use crate::select::tabletop::TabletopView;
use crate::select::{GpConfig, PoolSample, SelectError, Selection, SelectorKind};
use crate::tasks::{TaskId, NUM_TASKS};

/// Gradient steps of a fine-tuning round, in the page, the runner and the collection
/// service alike. Measured on the runner's tabletop comparison (10 seeds, paired by
/// seed, docs/results.md): 500 steps against the 1000 used before, AMF's final success
/// changed by +0.001 [-0.007, +0.012] and its AUC rose by +0.010 [+0.005, +0.016];
/// uniform's rose on both (fewer steps fit a few demonstrations less closely, so forget
/// less). At 300 steps AMF's final began to slip (-0.019 [-0.039, +0.002]). Half the
/// steps make a round half as long.
pub const ROUND_STEPS: usize = 500;

/// The share of a round's steps over which its learning rate falls to zero
/// ([`BcConfig::decay_share`]). A round keeps its last iterate, and with people's
/// demonstrations a constant rate left it wherever the last minibatches pushed it: a
/// round could undo what the last one taught. Measured on the runner's setting (a), 10
/// seeds, paired against a constant rate (docs/results.md, "A learning rate that falls
/// at the end"): the mixed crowd's final success with AMF +0.280 [+0.180, +0.372] and
/// every selector's AUC up with people; the scripted experts' final within -0.015 to
/// +0.012.
pub const ROUND_DECAY_SHARE: f64 = 0.3;

/// How the runner's and the service's rounds weigh their demonstrations
/// ([`Reweighing`]). By their agreement with the rest of the data: on the runner's
/// setting (a), 10 seeds, paired against as given (docs/results.md, "Weighing people's
/// demonstrations by their agreement"), typical people's final success with uniform
/// selection +0.185 [+0.130, +0.247] and with AMF +0.130 [+0.017, +0.243]; the scripted
/// experts' within the issue's -0.02. It trains each round twice, so the page's rounds,
/// which must stay under 4 s, do not use it ([`crate::session::SessionSettings`]).
pub const ROUND_REWEIGHING: Reweighing = Reweighing::Agreement;

/// How much a round that serves targets through related tasks rehearses what
/// pre-training taught ([`RoundConfig::rehearsal`]): the pre-trained policy's own actions
/// in its pre-training tasks ([`rehearsal_rows`]), their rows weighing together this
/// share of the demonstrations' weight. On the runner's setting (f), 10 seeds, paired
/// (docs/results.md, "What people's demonstrations carry to other tasks"): the mixed
/// crowd's final success with uniform selection +0.263 [+0.177, +0.348], with AMF
/// +0.025 [-0.045, +0.095].
pub const ROUND_REHEARSAL: f32 = 0.5;

/// Everything a round needs besides the pre-trained policy and the demonstrations
/// (defaults: the runner's tabletop experiment).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundConfig {
    /// Default: AMF.
    pub selector: SelectorKind,
    /// `mu(c)` per task (default: 1 for every task).
    pub target_weights: Vec<f64>,
    /// Which tasks can be demonstrated (default: all). A target outside them is learned
    /// only through the others: its gate of the adaptive prior starts open (see
    /// [`BcConfig::transfer_to`]).
    #[serde(default = "all_demonstrable")]
    pub demonstrable: Vec<bool>,
    /// Demonstrations in the whole run (default 40); the last batch is cut to fit.
    pub budget: usize,
    /// Demonstrations per round (default 10).
    pub batch: usize,
    /// Fine-tuning; `steps` per round (default [`ROUND_STEPS`], adaptive prior).
    pub bc: BcConfig,
    /// Evaluation rollouts per task after each round (default 10).
    pub eval_episodes: usize,
    pub gp: GpConfig,
    /// Pre-training episodes per pre-training task (read only by rebalancing; default
    /// what the shipped policy was pre-trained with).
    pub pretraining_episodes: usize,
    /// How the round weighs its demonstrations beyond the weights it is given (default:
    /// [`ROUND_REWEIGHING`]).
    #[serde(default)]
    pub reweighing: Reweighing,
    /// The weight of the rehearsal of what pre-training taught, as a share of the
    /// demonstrations' total weight (0: none; default [`ROUND_REHEARSAL`]), in a round
    /// with targets that cannot be demonstrated. Such a target is served by the tuned
    /// network alone, and rehearsal keeps what the network knew of reaching and grasping
    /// there. Where every target can be demonstrated, the frozen prior already acts on
    /// the tasks left alone, and rehearsal only took draws from the demonstrations: it
    /// cost AMF's final success with people in setting (a), so such a round does not
    /// rehearse.
    #[serde(default)]
    pub rehearsal: f32,
}

impl Default for RoundConfig {
    fn default() -> Self {
        RoundConfig {
            selector: SelectorKind::Amf,
            target_weights: vec![1.0; NUM_TASKS],
            demonstrable: all_demonstrable(),
            budget: 40,
            batch: 10,
            bc: BcConfig { steps: ROUND_STEPS, decay_share: ROUND_DECAY_SHARE, ..BcConfig::default() },
            eval_episodes: 10,
            gp: GpConfig::default(),
            pretraining_episodes: PretrainConfig::default().episodes_per_task,
            reweighing: ROUND_REWEIGHING,
            rehearsal: ROUND_REHEARSAL,
        }
    }
}

fn all_demonstrable() -> Vec<bool> {
    vec![true; NUM_TASKS]
}

impl RoundConfig {
    /// The targets that cannot be demonstrated.
    pub fn undemonstrable_targets(&self) -> Vec<TaskId> {
        TaskId::ALL
            .into_iter()
            .filter(|t| self.target_weights.get(t.index()).is_some_and(|&w| w > 0.0) && !self.demonstrable.get(t.index()).copied().unwrap_or(true))
            .collect()
    }

    /// Whether a round rehearses what pre-training taught: only where some targets
    /// cannot be demonstrated ([`RoundConfig::rehearsal`]).
    pub fn rehearses(&self) -> bool {
        self.rehearsal > 0.0 && !self.undemonstrable_targets().is_empty()
    }

    /// The size of the batch to select after `demonstrations` demonstrations (0 once the
    /// budget is spent).
    pub fn next_batch(&self, demonstrations: usize) -> usize {
        self.batch.max(1).min(self.budget.saturating_sub(demonstrations))
    }

    pub fn pretraining_per_task(&self) -> Vec<usize> {
        let mut counts = vec![0; NUM_TASKS];
        for task in PRETRAIN_TASKS {
            counts[task.index()] = self.pretraining_episodes;
        }
        counts
    }

    /// The curve's point for `per_task` after `demonstrations` demonstrations.
    pub fn curve_point(&self, demonstrations: usize, per_task: Vec<f64>) -> CurvePoint {
        CurvePoint { demonstrations, mean_success: weighted_mean(&per_task, &self.target_weights), per_task, mean_error: None }
    }
}

/// One evaluation of a run's policy, after `demonstrations` demonstrations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub demonstrations: usize,
    /// Success rate per task.
    pub per_task: Vec<f64>,
    /// Success averaged over the target tasks with their weights.
    pub mean_success: f64,
    /// The integrator's mean final distance to the goal over the targets (metres).
    pub mean_error: Option<f64>,
}

/// The `mu`-weighted mean of per-task values.
pub fn weighted_mean(values: &[f64], weights: &[f64]) -> f64 {
    let total: f64 = weights.iter().sum();
    values.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() / total.max(f64::MIN_POSITIVE)
}

/// The value below which a share `q` of `sorted` (ascending) lies, by nearest rank;
/// `None` for no values. The one percentile of the load tests' latencies, the
/// operator's quality review and the dataset card (here, below all three).
pub fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    Some(sorted[((sorted.len() as f64 * q) as usize).min(last)])
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

/// One round's inputs besides the device and the pre-trained policy.
pub struct RoundInput<'a> {
    pub config: &'a RoundConfig,
    /// Every demonstration so far, oldest first.
    pub demonstrations: &'a [Demonstration],
    /// Each demonstration's weight in training, in their order (empty: 1 each); what a
    /// judgement of a demonstration's quality feeds.
    pub weights: &'a [f32],
    /// The run's seed.
    pub seed: u64,
    /// This round's index (0: the start, no fine-tuning).
    pub round: usize,
    /// Go on from this snapshot of the same round (its device was lost elsewhere).
    pub resume: Option<Snapshot>,
    /// The pre-trained policy's assessment, if known already (round 0 skips its
    /// rollouts then: the runner assesses the prior once for all its runs).
    pub prior_assessment: Option<&'a Assessment>,
    /// The pre-trained policy's rehearsal rows ([`rehearsal_rows`] with
    /// [`REHEARSAL_EPISODES`]), if rolled out already: a run's rounds rehearse the same
    /// rows, so the runner rolls them out once a run. Read only where the round
    /// rehearses ([`RoundConfig::rehearses`]).
    pub prior_rehearsal: Option<&'a Dataset>,
}

/// A finished round.
pub struct RoundOutput {
    /// The fine-tuned policy on the CPU (`None` in round 0).
    pub policy: Option<FineTunedPolicy>,
    pub assessment: Assessment,
    /// The next batch (`None` once the budget is spent).
    pub selection: Option<Selection>,
    /// The action MSE along training, thinned to 100 points.
    pub loss: Vec<f32>,
    /// Each demonstration's weight as the round judged it ([`Reweighing`]), in their
    /// order: empty when it judged none.
    pub judged: Vec<f32>,
    pub fell_back: bool,
    pub train_seconds: f64,
    pub eval_seconds: f64,
    pub select_seconds: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RoundError {
    #[error("the settings are not usable: {0}")]
    Settings(String),
    #[error("stored demonstration {index} ({task}) does not replay: {error}")]
    Replay { index: usize, task: &'static str, error: ReplayError },
    #[error("fine-tuning failed: {0}")]
    Training(#[from] BcError),
    #[error("the selector failed: {0}")]
    Select(#[from] SelectError),
    #[error("the training snapshot to resume from is damaged: {0}")]
    Snapshot(String),
}

/// Seeds of round `round`'s fine-tuning.
fn training_seed(seed: u64, round: usize) -> u64 {
    seed.wrapping_mul(1_000).wrapping_add(round as u64)
}

/// Runs one round on `device` (the CPU, or a GPU that falls back to the CPU on failure).
/// `clock` reads seconds (the caller's: `performance.now()` in a browser, a monotonic
/// clock natively), for the timings the round reports.
pub async fn run_round(
    device: &Device,
    prior: &Policy,
    input: RoundInput<'_>,
    clock: &dyn Fn() -> f64,
    events: &mut dyn FnMut(RoundEvent),
) -> Result<RoundOutput, RoundError> {
    let RoundInput { config, demonstrations, weights, seed, round, resume, prior_assessment, prior_rehearsal } = input;
    let started = clock();
    let mut losses = Vec::new();
    let mut fell_back = false;
    let mut judged = Vec::new();
    let tuned = if demonstrations.is_empty() {
        None
    } else {
        if !weights.is_empty() && weights.len() != demonstrations.len() {
            return Err(RoundError::Settings(format!("{} weights for {} demonstrations", weights.len(), demonstrations.len())));
        }
        let rows: Vec<Dataset> = demonstrations.iter().map(|demo| demo.training_rows(&config.bc.labels)).collect();
        let given = |index: usize| weights.get(index).copied().unwrap_or(1.0);
        let bc = BcConfig { seed: training_seed(seed, round), transfer_to: config.undemonstrable_targets(), ..config.bc.clone() };
        let rolled_out: Dataset;
        let rehearsed: Option<&Dataset> = match (config.rehearses(), prior_rehearsal) {
            (false, _) => None,
            (true, Some(rows)) => Some(rows),
            (true, None) => {
                rolled_out = rehearsal_rows(prior, REHEARSAL_EPISODES);
                Some(&rolled_out)
            }
        };
        // The demonstrations, each weighing `weight(index)`, and the rehearsal beside them.
        let training_data = |weight: &dyn Fn(usize) -> f32| {
            let mut data = Dataset::default();
            let mut total = 0.0;
            for (index, own) in rows.iter().enumerate() {
                data.extend_weighted(own, weight(index));
                total += weight(index) * own.len() as f32;
            }
            if let Some(rehearsed) = rehearsed.filter(|r| !r.is_empty()) {
                data.extend_weighted(rehearsed, config.rehearsal * total / rehearsed.len() as f32);
            }
            data
        };
        let mut data = training_data(&given);
        let mut fallback: Option<RoundEvent> = None;
        // Progress and snapshots both report through `events`.
        let events = std::cell::RefCell::new(&mut *events);
        // A reweighing round trains twice; its progress reads as one run of both.
        let passes = if config.reweighing == Reweighing::None { 1 } else { 2 };
        let pass = std::cell::Cell::new(0);
        let mut on_progress = |p: TrainingProgress| {
            losses.push(p.action_mse);
            let p = TrainingProgress { step: pass.get() * p.steps + p.step, steps: passes * p.steps, ..p };
            (events.borrow_mut())(RoundEvent::Training(p));
        };
        let device_lost = std::cell::Cell::new(false);
        let mut on_fallback = |error: &BcError, step: usize| {
            device_lost.set(true);
            fallback = Some(RoundEvent::FellBack { step, message: error.to_string() });
        };
        let cpu = crate::policy::cpu();
        if passes == 2 {
            let first = finetune_with_fallback(device, prior, &data, &bc, Checkpointing::default(), &mut on_progress, &mut on_fallback).await?;
            let tasks: Vec<TaskId> = demonstrations.iter().map(|d| d.task).collect();
            judged = crate::curation::agreement(&first, &rows, &tasks);
            data = training_data(&|index| given(index) * judged[index]);
            pass.set(1);
        }
        // A device lost in the first pass is not tried again in the second.
        let device = if device_lost.get() { &cpu } else { device };
        let mut on_snapshot = |snapshot: &Snapshot| {
            if let Ok(portable) = snapshot.to_portable() {
                (events.borrow_mut())(RoundEvent::Snapshot(portable));
            }
        };
        let checkpointing = Checkpointing { resume, on_snapshot: Some(&mut on_snapshot) };
        let policy = finetune_with_fallback(device, prior, &data, &bc, checkpointing, &mut on_progress, &mut on_fallback).await?;
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
    let assessment = match (&tuned, prior_assessment) {
        (None, Some(known)) => known.clone(),
        _ => assess(policy, config.eval_episodes, events),
    };
    let eval_seconds = clock() - started;

    let started = clock();
    let batch = config.next_batch(demonstrations.len());
    let selection = if batch == 0 {
        None
    } else {
        events(RoundEvent::Selecting);
        let view = TabletopView {
            policy,
            demonstrations: PoolSample::of(demonstrations, config.gp.sample_bound()),
            rollout_states: &assessment.visited,
            target_weights: config.target_weights.clone(),
            pretraining: config.pretraining_per_task(),
            demonstrable: config.demonstrable.clone(),
            seed: seed ^ ((round as u64) << 32),
        };
        let mut selector = config.selector.build(seed, round, &config.gp);
        Some(selector.select(&view, batch)?)
    };
    let select_seconds = clock() - started;

    Ok(RoundOutput { policy: tuned, assessment, selection, loss: thin(&losses, 100), judged, fell_back, train_seconds, eval_seconds, select_seconds })
}

/// A round as the page's training worker receives it: stored demonstrations as records
/// (replayed first, which checks them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundJob {
    /// Every demonstration of the session so far, oldest first.
    pub records: Vec<DemonstrationRecord>,
    pub config: RoundConfig,
    pub seed: u64,
    /// This round's index (0: the session's start).
    pub round: usize,
    /// Go on from this snapshot of the same round (its device was lost elsewhere).
    pub resume: Option<PortableSnapshot>,
}

impl RoundJob {
    /// Replays the records, then runs the round; `prior_assessment`, the pre-trained
    /// policy's if known (the shipped one's file), spares the start its rollouts.
    pub async fn run(
        &self,
        device: &Device,
        prior: &Policy,
        prior_assessment: Option<&Assessment>,
        clock: &dyn Fn() -> f64,
        events: &mut dyn FnMut(RoundEvent),
    ) -> Result<RoundOutput, RoundError> {
        let demonstrations = self
            .records
            .iter()
            .enumerate()
            .map(|(index, record)| record.replay().map_err(|error| RoundError::Replay { index, task: record.task.name(), error }))
            .collect::<Result<Vec<Demonstration>, _>>()?;
        let resume = self.resume.as_ref().map(Snapshot::from_portable).transpose().map_err(RoundError::Snapshot)?;
        let input = RoundInput { config: &self.config, demonstrations: &demonstrations, weights: &[], seed: self.seed, round: self.round, resume, prior_assessment, prior_rehearsal: None };
        run_round(device, prior, input, clock, events).await
    }
}

/// Keeps at most `max` evenly spaced values of `values` (always the last).
pub fn thin(values: &[f32], max: usize) -> Vec<f32> {
    if values.len() <= max || max < 2 {
        return values.to_vec();
    }
    let stride = (values.len() - 1) as f64 / (max - 1) as f64;
    (0..max).map(|i| values[((i as f64 * stride).round() as usize).min(values.len() - 1)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{cpu, shipped_prior, Actor};
    use crate::tasks::Episode;
    use futures_lite::future::block_on;

    fn record(task: TaskId, seed: u64) -> DemonstrationRecord {
        DemonstrationRecord::from_expert(task, seed, 0.0, 0.0)
    }

    fn config() -> RoundConfig {
        // One training a round (the agreement's two are tested apart).
        RoundConfig { bc: BcConfig { steps: 60, ..RoundConfig::default().bc }, eval_episodes: 2, batch: 1, budget: 20, reweighing: Reweighing::None, ..RoundConfig::default() }
    }

    #[test]
    fn the_start_evaluates_the_prior_and_asks_for_an_unseen_task() {
        let prior = shipped_prior();
        let job = RoundJob { records: vec![], config: config(), seed: 7, round: 0, resume: None };
        let mut evaluating = 0;
        let ticks = std::cell::Cell::new(0.0);
        let clock = || {
            ticks.set(ticks.get() + 0.5);
            ticks.get()
        };
        let out = block_on(job.run(&cpu(), &prior, None, &clock, &mut |e| {
            if matches!(e, RoundEvent::Evaluating(_)) {
                evaluating += 1;
            }
        }))
        .unwrap();
        assert!(out.policy.is_none() && out.loss.is_empty());
        assert!(evaluating > 0, "evaluation reports its progress");
        assert_eq!((out.eval_seconds, out.select_seconds), (0.5, 0.5), "the round times itself with the clock it is given");
        assert!(out.assessment.per_task[TaskId::Reach.index()] > 0.5, "the prior reaches");
        let selection = out.selection.unwrap();
        assert_eq!(selection.picks.len(), 1);
        let pick = TaskId::ALL[selection.picks[0]];
        assert!(!PRETRAIN_TASKS.contains(&pick), "AMF starts with a task pre-training left out, not {}", pick.name());
    }

    #[test]
    fn a_round_trains_on_every_record_and_reports_its_loss() {
        let prior = shipped_prior();
        let job = RoundJob {
            records: vec![record(TaskId::LeverPull, 11), record(TaskId::LeverPull, 12)],
            config: RoundConfig { selector: SelectorKind::Uniform, batch: 3, ..config() },
            seed: 7,
            round: 1,
            resume: None,
        };
        let mut steps = 0;
        let out = block_on(job.run(&cpu(), &prior, None, &|| 0.0, &mut |e| {
            if let RoundEvent::Training(p) = e {
                steps = p.step;
            }
        }))
        .unwrap();
        assert_eq!(steps, 60);
        assert!(out.policy.is_some() && !out.fell_back);
        assert_eq!(out.loss.len(), 60);
        assert!(out.loss[59] < out.loss[0], "the loss falls: {:?}", (out.loss[0], out.loss[59]));
        assert_eq!(out.selection.unwrap().picks.len(), 3);

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
    fn the_last_round_of_the_budget_selects_nothing() {
        let prior = shipped_prior();
        let job = RoundJob { records: vec![record(TaskId::Reach, 4)], config: RoundConfig { budget: 1, ..config() }, seed: 3, round: 1, resume: None };
        let mut selecting = false;
        let out = block_on(job.run(&cpu(), &prior, None, &|| 0.0, &mut |e| selecting |= e == RoundEvent::Selecting)).unwrap();
        assert!(out.selection.is_none() && !selecting);
        assert!(out.policy.is_some());
    }

    #[test]
    fn a_tampered_record_is_named_and_nothing_trains() {
        let prior = shipped_prior();
        let mut bad = record(TaskId::DrawerClose, 5);
        bad.actions.truncate(3);
        let job = RoundJob { records: vec![record(TaskId::Reach, 4), bad], config: config(), seed: 7, round: 1, resume: None };
        let mut trained = false;
        let error = block_on(job.run(&cpu(), &prior, None, &|| 0.0, &mut |e| trained |= matches!(e, RoundEvent::Training(_)))).err().unwrap();
        assert!(matches!(error, RoundError::Replay { index: 1, task: "drawer_close", .. }), "{error}");
        assert!(!trained);
    }

    #[test]
    fn an_agreement_round_trains_twice_and_weighs_least_the_demonstration_that_disagrees() {
        let prior = shipped_prior();
        let mut demonstrations: Vec<Demonstration> = (21..24).map(|seed| crate::policy::expert_demonstration(TaskId::LeverPull, seed, 0.0)).collect();
        // A fourth whose actions are shuffled in time: nothing in its states says what
        // it did.
        let mut scrambled = crate::policy::expert_demonstration(TaskId::LeverPull, 24, 0.0);
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(5);
        rand::seq::SliceRandom::shuffle(scrambled.actions.as_mut_slice(), &mut rng);
        demonstrations.push(scrambled);
        let config = RoundConfig { selector: SelectorKind::Uniform, reweighing: Reweighing::Agreement, budget: 4, ..config() };
        let input = RoundInput { config: &config, demonstrations: &demonstrations, weights: &[], seed: 7, round: 1, resume: None, prior_assessment: None, prior_rehearsal: None };
        let mut last = None;
        let out = block_on(run_round(&cpu(), &prior, input, &|| 0.0, &mut |e| {
            if let RoundEvent::Training(p) = e {
                last = Some((p.step, p.steps));
            }
        }))
        .unwrap();
        assert_eq!(last, Some((120, 120)), "two passes of 60 steps read as one run");
        assert_eq!(out.judged.len(), 4);
        let least = out.judged.iter().copied().fold(f32::INFINITY, f32::min);
        assert_eq!(out.judged[3], least, "the scrambled demonstration weighs least: {:?}", out.judged);
        assert!(out.judged[3] < 0.5 * out.judged[0], "{:?}", out.judged);
    }

    #[test]
    fn rehearsal_keeps_the_tuned_network_acting_as_the_prior_did_where_targets_cannot_be_demonstrated() {
        let prior = shipped_prior();
        let people = crate::policy::People::only(crate::policy::Profile::Hasty);
        let demonstrations: Vec<Demonstration> = (31..34).map(|seed| people.demonstrate(TaskId::LeverPull, seed).demonstration).collect();
        // The tuned network's distance from the prior's own actions on states of its
        // pre-training tasks (other episodes than the rehearsed ones).
        let mut held_out = Vec::new();
        for task in PRETRAIN_TASKS {
            let mut episode = Episode::new(task, 77);
            while !episode.is_done() {
                held_out.push(episode.observation());
                episode.step(prior.act(&[episode.observation()])[0]);
            }
        }
        let expected = prior.act(&held_out);
        // button_press_high is a target that cannot be demonstrated: the round rehearses.
        let demonstrable: Vec<bool> = TaskId::ALL.iter().map(|&t| t != TaskId::ButtonPressHigh).collect();
        let drift_given = |rehearsal: f32, demonstrable: &[bool], prior_rehearsal: Option<&Dataset>| {
            let config =
                RoundConfig { selector: SelectorKind::Uniform, bc: BcConfig { steps: 200, ..config().bc }, rehearsal, demonstrable: demonstrable.to_vec(), budget: 3, ..config() };
            let input = RoundInput { config: &config, demonstrations: &demonstrations, weights: &[], seed: 7, round: 1, resume: None, prior_assessment: None, prior_rehearsal };
            let tuned = block_on(run_round(&cpu(), &prior, input, &|| 0.0, &mut |_| {})).unwrap().policy.unwrap().tuned;
            let acted = tuned.act(&held_out);
            acted.iter().zip(&expected).map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>()).sum::<f32>() / acted.len() as f32
        };
        let drift = |rehearsal: f32, demonstrable: &[bool]| drift_given(rehearsal, demonstrable, None);
        let (without, with) = (drift(0.0, &demonstrable), drift(ROUND_REHEARSAL, &demonstrable));
        assert!(with < 0.5 * without, "rehearsed {with}, not rehearsed {without}");
        // Rows rolled out once beforehand (as the runner does for a run's rounds) train
        // the same network as the round's own; rows of nothing rehearse nothing.
        let rolled_out = rehearsal_rows(&prior, REHEARSAL_EPISODES);
        assert_eq!(drift_given(ROUND_REHEARSAL, &demonstrable, Some(&rolled_out)), with);
        assert_eq!(drift_given(ROUND_REHEARSAL, &demonstrable, Some(&Dataset::default())), without);
        // Where every target can be demonstrated, the round does not rehearse.
        assert_eq!(drift(ROUND_REHEARSAL, &[true; NUM_TASKS]), drift(0.0, &[true; NUM_TASKS]));
        // A round message from before rehearsal has none.
        let mut old = serde_json::to_value(config()).unwrap();
        old.as_object_mut().unwrap().remove("rehearsal");
        assert_eq!(serde_json::from_value::<RoundConfig>(old).unwrap().rehearsal, 0.0);
    }

    #[test]
    fn thinning_keeps_the_ends_and_the_count() {
        let values: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let thinned = thin(&values, 100);
        assert_eq!(thinned.len(), 100);
        assert_eq!((thinned[0], thinned[99]), (0.0, 999.0));
        assert_eq!(thin(&values[..5], 100), values[..5].to_vec());
    }
}
