//! One active fine-tuning run on the tabletop with the scripted experts as
//! demonstrators, starting from the pre-trained policy each round.

use serde::{Deserialize, Serialize};

use super::{now_seconds, weighted_mean, CurvePoint, RoundRecord, Run};
use crate::policy::{
    expert_demonstration, finetune, BcConfig, BcError, Dataset, Demonstration, Evaluator, FineTunedPolicy, Policy, Predictive,
    EVAL_FIRST_SEED, PRETRAIN_TASKS,
};
use crate::select::tabletop::TabletopView;
use crate::select::{GpConfig, SelectError, SelectorKind};
use crate::tasks::{Observation, TaskId, NUM_TASKS};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TabletopSettings {
    /// Demonstrations in all (default 40).
    pub budget: usize,
    /// Demonstrations per round (default 10).
    pub batch: usize,
    /// Fine-tuning settings; `steps` per round (default 1000, adaptive prior).
    pub bc: BcConfig,
    /// Evaluation episodes per task after each round (default 10).
    pub eval_episodes: usize,
    /// Execution noise of the scripted demonstrator (DART; default 0.1).
    pub demo_noise: f32,
    /// `mu(c)` per task (default: uniform over all ten).
    pub target_weights: Vec<f64>,
    /// Pre-training episodes per pre-training task (read only by rebalancing).
    pub pretraining_episodes: usize,
    pub gp: GpConfig,
}

impl Default for TabletopSettings {
    fn default() -> Self {
        TabletopSettings {
            budget: 40,
            batch: 10,
            bc: BcConfig { steps: 1000, ..BcConfig::default() },
            eval_episodes: 10,
            demo_noise: 0.1,
            target_weights: vec![1.0; NUM_TASKS],
            pretraining_episodes: crate::policy::PretrainConfig::default().episodes_per_task,
            gp: GpConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("selection failed: {0}")]
    Select(#[from] SelectError),
    #[error("fine-tuning failed: {0}")]
    Training(#[from] BcError),
}

/// The evaluation of a policy: success per task and the states it visited.
pub struct Assessment {
    pub per_task: Vec<f64>,
    pub visited: Vec<Vec<Observation>>,
}

/// Rolls `policy` out on the evaluation seeds of every task.
pub fn assess(policy: &dyn Predictive, episodes: usize) -> Assessment {
    let mut evaluator = Evaluator::new(&TaskId::ALL, episodes, EVAL_FIRST_SEED);
    while evaluator.advance(policy) {}
    let evaluation = evaluator.evaluation();
    let per_task = TaskId::ALL.iter().map(|&t| evaluation.success_of(t).unwrap_or(0.0)).collect();
    Assessment { per_task, visited: evaluator.visited_states().to_vec() }
}

/// Seeds of a run's demonstrations: apart from evaluation seeds and from other runs'.
fn demo_seed(run_seed: u64, index: usize) -> u64 {
    10_000 + run_seed * 1_000 + index as u64
}

/// Runs `selector` on `seed`; `prior_assessment` is the pre-trained policy's (the same
/// for every run, so computed once by the caller).
pub fn run(
    selector: SelectorKind,
    seed: u64,
    prior: &Policy,
    prior_assessment: &Assessment,
    settings: &TabletopSettings,
) -> Result<Run, RunError> {
    run_reporting(selector, seed, prior, prior_assessment, settings, &mut |_, _| {})
}

/// [`run`], telling `on_round` each round's choice and the evaluation after it (the
/// page's live comparison draws its curves from these).
pub fn run_reporting(
    selector: SelectorKind,
    seed: u64,
    prior: &Policy,
    prior_assessment: &Assessment,
    settings: &TabletopSettings,
    on_round: &mut dyn FnMut(&RoundRecord, &CurvePoint),
) -> Result<Run, RunError> {
    let mu = &settings.target_weights;
    let mut pretraining = vec![0; NUM_TASKS];
    for task in PRETRAIN_TASKS {
        pretraining[task.index()] = settings.pretraining_episodes;
    }
    let mut chooser = selector.build(seed, &settings.gp);
    let mut demonstrations: Vec<Demonstration> = Vec::new();
    let mut tuned: Option<FineTunedPolicy> = None;
    let mut visited = prior_assessment.visited.clone();
    let point = |demos: usize, per_task: Vec<f64>| CurvePoint {
        demonstrations: demos,
        mean_success: weighted_mean(&per_task, mu),
        per_task,
        mean_error: None,
    };
    let mut curve = vec![point(0, prior_assessment.per_task.clone())];
    let mut rounds = Vec::new();
    let mut round = 0u64;
    while demonstrations.len() < settings.budget {
        let batch = settings.batch.max(1).min(settings.budget - demonstrations.len());
        let policy: &dyn Predictive = match &tuned {
            Some(t) => t,
            None => prior,
        };
        let view = TabletopView {
            policy,
            demonstrations: &demonstrations,
            rollout_states: &visited,
            target_weights: mu.clone(),
            pretraining: pretraining.clone(),
            seed: seed ^ (round << 32),
        };
        let started = now_seconds();
        let selection = chooser.select(&view, batch)?;
        let selection_seconds = now_seconds() - started;
        for &task in &selection.picks {
            let index = demonstrations.len();
            demonstrations.push(expert_demonstration(TaskId::ALL[task], demo_seed(seed, index), settings.demo_noise));
        }
        rounds.push(RoundRecord { picks: selection.picks, reason: selection.reason, selection_seconds });
        let mut data = Dataset::default();
        for demo in &demonstrations {
            data.extend(&demo.rows());
        }
        let bc = BcConfig { seed: seed * 1_000 + round, ..settings.bc.clone() };
        let policy = finetune(prior, &data, &bc, &mut |_| {})?;
        let assessment = assess(&policy, settings.eval_episodes);
        visited = assessment.visited;
        curve.push(point(demonstrations.len(), assessment.per_task));
        if let (Some(choice), Some(evaluated)) = (rounds.last(), curve.last()) {
            on_round(choice, evaluated);
        }
        tuned = Some(policy);
        round += 1;
    }
    Ok(Run {
        selector,
        seed,
        task_names: TaskId::ALL.iter().map(|t| t.name().to_string()).collect(),
        curve,
        rounds,
    })
}
