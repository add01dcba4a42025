//! Which task to demonstrate next: the AMF selector and its baselines, behind one
//! interface.
//!
//! A selector sees the tasks, the target weights, the demonstrations collected so far
//! and, through a [`SelectionView`], the current policy; it returns the next batch of
//! tasks with a score per task and a reason a person can read. The view is where an
//! environment (the tabletop with its neural policy, the 2-D integrator with its exact
//! GP policy) turns states into kernel values; the selectors never see states.

mod amf;
mod blocked;
pub mod gp;
mod rebalancing;
mod round_robin;
pub mod sample;
pub mod tabletop;
mod uncertainty;
mod uniform;

use std::ops::Range;
use std::sync::Arc;

use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use amf::Amf;
pub use gp::{CandidatePosterior, GpError, JointPosterior};
pub use rebalancing::Rebalancing;
pub use round_robin::RoundRobin;
pub use sample::PoolSample;
pub use uncertainty::Uncertainty;
pub use uniform::Uniform;

#[derive(Debug, Error, PartialEq)]
pub enum SelectError {
    #[error("no task has a positive target weight")]
    NoTargets,
    #[error("the target weights must be finite and non-negative")]
    BadWeights,
    #[error("no task can be demonstrated")]
    NothingDemonstrable,
    #[error(transparent)]
    Gp(#[from] GpError),
}

/// Where the states standing in for a task's future demonstration came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proxy {
    /// States of demonstrations already collected for the task.
    Demonstrations,
    /// States the current policy visits when it attempts the task.
    Rollouts,
}

/// How a neural policy becomes a kernel (see the tabletop view).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Embedding {
    /// The penultimate activations with a constant 1 appended.
    LastLayer,
    /// The gradient of the cloning loss with respect to the last layer's weights.
    LossGradient,
    /// As `LossGradient`, with the penultimate activations centred on their mean over
    /// the proxy states of every task. ReLU activations are all positive, so uncentred
    /// ones make every two states alike and the kernel's cross-task part follows the
    /// gradient sizes (the uncertainty) alone; centred, two states correlate only as far
    /// as they differ alike from the suite's average state.
    CentredLossGradient,
}

impl Embedding {
    pub fn parse(name: &str) -> Option<Embedding> {
        match name {
            "last-layer" => Some(Embedding::LastLayer),
            "loss-gradient" => Some(Embedding::LossGradient),
            "centred-loss-gradient" => Some(Embedding::CentredLossGradient),
            _ => None,
        }
    }
}

/// The GP's settings and the subsample sizes that keep selection fast.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpConfig {
    /// `rho^2`, relative to the Gram matrix's mean diagonal (default 2; measured on the
    /// tabletop against 0.05 and 0.5, see docs/results.md).
    pub noise: f64,
    pub embedding: Embedding,
    /// States kept from each collected demonstration as GP data (default 16).
    pub states_per_demonstration: usize,
    /// Target states per task, `T(c)` (default 24).
    pub target_states: usize,
    /// States standing in for a new demonstration of a task, `X(c)` (default 24).
    pub candidate_states: usize,
    /// Loss-gradient embedding of the demonstrations' states (the GP's data): from the
    /// demonstrated actions' residuals (true) or, as every proxy, from the policy's
    /// predictive distribution (false, default; measured better, see docs/results.md).
    pub demonstrated_residuals: bool,
    /// Demonstrations of a task the GP conditions on at most: a pool's larger tasks are
    /// sampled, each kept demonstration standing for its share ([`PoolSample`]), so a
    /// selection's cost is bounded in the pool's size (default 8; 0: no bound).
    #[serde(default = "default_sampled_per_task")]
    pub sampled_per_task: usize,
}

/// Eight demonstrations a task: the GP's data stay under `16 * 8 * 16` states, and the
/// runner's experiments (40 demonstrations) rarely give a task more (docs/results.md).
pub const SAMPLED_PER_TASK: usize = 8;

fn default_sampled_per_task() -> usize {
    SAMPLED_PER_TASK
}

impl GpConfig {
    /// The demonstrations of a task the GP conditions on at most (`usize::MAX`: all).
    pub fn sample_bound(&self) -> usize {
        if self.sampled_per_task == 0 {
            usize::MAX
        } else {
            self.sampled_per_task
        }
    }
}

impl Default for GpConfig {
    fn default() -> Self {
        GpConfig {
            noise: 2.0,
            embedding: Embedding::LossGradient,
            states_per_demonstration: 16,
            target_states: 24,
            candidate_states: 24,
            demonstrated_residuals: false,
            sampled_per_task: SAMPLED_PER_TASK,
        }
    }
}

/// The kernel among the GP's points: data points `D` (states already demonstrated) and
/// query points `S` (the proxies). Normalised so that its mean diagonal is 1.
#[derive(Clone, Debug)]
pub struct KernelProblem {
    pub k_ss: DMatrix<f64>,
    pub k_sd: DMatrix<f64>,
    pub k_dd: DMatrix<f64>,
    /// Per data point: how many observations it stands for (1, or a sampled
    /// demonstration's share of its task: its noise is `rho^2 / weight`).
    pub data_weights: Vec<f64>,
    /// Per task: target query points `T(c)` with weights summing to 1.
    pub targets: Vec<Vec<(usize, f64)>>,
    /// Per task: the query points a new demonstration would add, `X(c)`.
    pub candidates: Vec<Vec<usize>>,
    /// Per task: where its query points came from.
    pub proxies: Vec<Proxy>,
}

impl KernelProblem {
    /// Divides every kernel value by the mean diagonal over all points (a data point
    /// counted as often as it stands for), so the noise level is unitless.
    pub fn normalise(&mut self) {
        let n = self.k_ss.nrows() as f64 + self.data_weights.iter().sum::<f64>();
        let data_trace: f64 = self.data_weights.iter().enumerate().map(|(i, w)| w * self.k_dd[(i, i)]).sum();
        let trace = self.k_ss.trace() + data_trace;
        let scale = if n > 0.0 && trace > 0.0 { trace / n } else { 1.0 };
        self.k_ss /= scale;
        self.k_sd /= scale;
        self.k_dd /= scale;
    }

    /// The GP's data states and query states: what a selection's cost grows with (the
    /// kernel with their products, the factorisation with the cube of the data).
    pub fn size(&self) -> (usize, usize) {
        (self.k_dd.nrows(), self.k_ss.nrows())
    }

    /// The posterior over the query points given the data points.
    pub fn posterior(&self, noise: f64) -> Result<JointPosterior, GpError> {
        JointPosterior::given_data(self.k_ss.clone(), &self.k_sd, self.k_dd.clone(), &self.data_weights, noise)
    }
}

/// The part of a GP selection that does not depend on what is in flight: the kernel and
/// the posterior given the demonstrations (most of a selection's time). A crowd's
/// assignments between two versions of the shared policy share one.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub problem: KernelProblem,
    pub posterior: JointPosterior,
}

impl Prepared {
    pub fn new<V: SelectionView + ?Sized>(view: &V, config: &GpConfig) -> Result<Prepared, SelectError> {
        let problem = view.kernel_problem(config)?;
        let posterior = problem.posterior(config.noise)?;
        Ok(Prepared { problem, posterior })
    }
}

/// What a selector may look at.
pub trait SelectionView {
    fn num_tasks(&self) -> usize;
    fn task_name(&self, task: usize) -> String;
    /// `mu(c)`: how much the user cares about each task (zero: not a target).
    fn target_weights(&self) -> Vec<f64>;
    /// Demonstrations collected so far, per task.
    fn demonstrations_per_task(&self) -> Vec<usize>;
    /// Pre-training demonstrations per task: privileged, only the rebalancing baseline
    /// reads it.
    fn pretraining_per_task(&self) -> Vec<usize>;
    /// The GP's kernel over the demonstrations and the proxies.
    fn kernel_problem(&self, config: &GpConfig) -> Result<KernelProblem, SelectError>;
    /// Demonstrations asked for but not arrived yet, per task (a crowd's visitors still
    /// demonstrating). The GP's selectors condition on their proxies before choosing
    /// (the posterior variance does not depend on the values to come: GP-BUCB's
    /// hallucinated observations); the counting ones count them as demonstrated.
    fn pending_per_task(&self) -> Vec<usize> {
        vec![0; self.num_tasks()]
    }
    /// The kernel and the posterior given the data (a view that keeps them hands them out).
    fn prepared(&self, config: &GpConfig) -> Result<Arc<Prepared>, SelectError> {
        Ok(Arc::new(Prepared::new(self, config)?))
    }
    /// Which tasks a demonstrator can be asked for (default: all). A target outside
    /// them is learned only through the tasks that are.
    fn demonstrable(&self) -> Vec<bool> {
        vec![true; self.num_tasks()]
    }
}

/// A view with demonstrations pending: `inner` as it is, plus `pending` per task, and
/// `inner`'s prepared GP where the caller keeps one (it must be `inner`'s, for the
/// selectors' configuration).
pub struct WithPending<'a> {
    pub inner: &'a dyn SelectionView,
    pub pending: Vec<usize>,
    pub prepared: Option<Arc<Prepared>>,
}

impl SelectionView for WithPending<'_> {
    fn num_tasks(&self) -> usize {
        self.inner.num_tasks()
    }
    fn task_name(&self, task: usize) -> String {
        self.inner.task_name(task)
    }
    fn target_weights(&self) -> Vec<f64> {
        self.inner.target_weights()
    }
    fn demonstrations_per_task(&self) -> Vec<usize> {
        self.inner.demonstrations_per_task()
    }
    fn pretraining_per_task(&self) -> Vec<usize> {
        self.inner.pretraining_per_task()
    }
    fn kernel_problem(&self, config: &GpConfig) -> Result<KernelProblem, SelectError> {
        self.inner.kernel_problem(config)
    }
    fn pending_per_task(&self) -> Vec<usize> {
        self.pending.clone()
    }
    fn prepared(&self, config: &GpConfig) -> Result<Arc<Prepared>, SelectError> {
        match &self.prepared {
            Some(prepared) => Ok(prepared.clone()),
            None => self.inner.prepared(config),
        }
    }
    fn demonstrable(&self) -> Vec<bool> {
        self.inner.demonstrable()
    }
}

/// A task's score in a selection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskScore {
    pub task: usize,
    pub name: String,
    /// What the selector maximises (for AMF: the expected information gain on the
    /// targets, in nats), taken before the first pick of the batch.
    pub score: f64,
    pub proxy: Option<Proxy>,
}

/// The next batch of tasks to demonstrate, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    pub picks: Vec<usize>,
    pub scores: Vec<TaskScore>,
    pub reason: String,
}

pub trait Selector: Send {
    fn kind(&self) -> SelectorKind;
    fn select(&mut self, view: &dyn SelectionView, batch: usize) -> Result<Selection, SelectError>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SelectorKind {
    Amf,
    Uniform,
    RoundRobin,
    Uncertainty,
    Rebalancing,
}

impl SelectorKind {
    pub const ALL: [SelectorKind; 5] =
        [SelectorKind::Amf, SelectorKind::Uniform, SelectorKind::RoundRobin, SelectorKind::Uncertainty, SelectorKind::Rebalancing];

    pub fn name(self) -> &'static str {
        match self {
            SelectorKind::Amf => "amf",
            SelectorKind::Uniform => "uniform",
            SelectorKind::RoundRobin => "round-robin",
            SelectorKind::Uncertainty => "uncertainty",
            SelectorKind::Rebalancing => "rebalancing",
        }
    }

    pub fn parse(name: &str) -> Option<SelectorKind> {
        SelectorKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The selector of a run's round `round`; `seed` (the run's) and the round drive its
    /// random choices. Selectors hold no state across rounds: what they need of the past
    /// is in the view (the demonstrations so far), so a round is a pure function of its
    /// inputs wherever it runs (the page builds one per round, days apart if need be).
    pub fn build(self, seed: u64, round: usize, gp: &GpConfig) -> Box<dyn Selector> {
        let rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5e1e_c7 ^ ((round as u64) << 40));
        match self {
            SelectorKind::Amf => Box::new(Amf::new(gp.clone())),
            SelectorKind::Uniform => Box::new(Uniform::new(rng)),
            SelectorKind::RoundRobin => Box::new(RoundRobin::new(seed)),
            SelectorKind::Uncertainty => Box::new(Uncertainty::new(gp.clone())),
            SelectorKind::Rebalancing => Box::new(Rebalancing::new(rng)),
        }
    }
}

/// The target weights, checked and normalised to sum to 1.
fn normalised_targets(view: &dyn SelectionView) -> Result<Vec<f64>, SelectError> {
    let mu = view.target_weights();
    if mu.iter().any(|w| !w.is_finite() || *w < 0.0) {
        return Err(SelectError::BadWeights);
    }
    let total: f64 = mu.iter().sum();
    if total <= 0.0 {
        return Err(SelectError::NoTargets);
    }
    Ok(mu.iter().map(|w| w / total).collect())
}

/// The tasks a baseline that knows only the target weights asks for, weighted: the
/// targets that can be demonstrated, by `mu(c)`; where no target can be, every task that
/// can, alike (such a baseline has no notion of which tasks inform the targets).
fn baseline_weights(view: &dyn SelectionView) -> Result<Vec<f64>, SelectError> {
    let mu = normalised_targets(view)?;
    let demonstrable = demonstrable_tasks(view)?;
    let askable: Vec<f64> = mu.iter().zip(&demonstrable).map(|(&m, &d)| if d { m } else { 0.0 }).collect();
    let total: f64 = askable.iter().sum();
    if total > 0.0 {
        return Ok(askable.iter().map(|w| w / total).collect());
    }
    let count = demonstrable.iter().filter(|&&d| d).count() as f64;
    Ok(demonstrable.iter().map(|&d| if d { 1.0 / count } else { 0.0 }).collect())
}

/// The view's demonstrable tasks, at least one of them.
fn demonstrable_tasks(view: &dyn SelectionView) -> Result<Vec<bool>, SelectError> {
    let demonstrable = view.demonstrable();
    if demonstrable.len() != view.num_tasks() || !demonstrable.iter().any(|&d| d) {
        return Err(SelectError::NothingDemonstrable);
    }
    Ok(demonstrable)
}

/// What a GP selector scores a task by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Criterion {
    /// AMF's: the expected information gain on the targets.
    InformationGain,
    /// Uncertainty sampling's: the mean posterior variance of the task's own proxies,
    /// on the tasks [`baseline_weights`] asks for.
    Variance,
}

/// Greedy selection with a GP: the posterior given the data and every demonstration in
/// flight, scored, then conditioned on each pick's candidate states before the next is
/// scored, so a batch (or a crowd's visitors asking one after another) does not ask
/// twice for the same information, nor for what is on its way.
pub struct Greedy {
    prepared: Arc<Prepared>,
    /// The part of the posterior that scoring reads (every candidate's covariance with
    /// every candidate and weighted target): updating every query point's pair was most
    /// of a crowd batch's cost.
    posterior: CandidatePosterior,
    /// Per task: its candidate points, as rows of `posterior`.
    candidates: Vec<Range<usize>>,
    criterion: Criterion,
    /// Every weighted target point's weight `mu(c) * w`, one a target column of
    /// `posterior`.
    targets: Vec<f64>,
    /// The tasks that may be picked: the demonstrable ones (for uncertainty sampling,
    /// those [`baseline_weights`] asks for).
    allowed: Vec<bool>,
}

impl Greedy {
    /// AMF's greedy selection.
    pub fn information_gain(view: &dyn SelectionView, config: &GpConfig) -> Result<Greedy, SelectError> {
        Greedy::new(view, config, Criterion::InformationGain)
    }

    /// Uncertainty sampling's.
    pub fn uncertainty(view: &dyn SelectionView, config: &GpConfig) -> Result<Greedy, SelectError> {
        Greedy::new(view, config, Criterion::Variance)
    }

    fn new(view: &dyn SelectionView, config: &GpConfig, criterion: Criterion) -> Result<Greedy, SelectError> {
        let mu = normalised_targets(view)?;
        let allowed = match criterion {
            Criterion::InformationGain => demonstrable_tasks(view)?,
            Criterion::Variance => baseline_weights(view)?.iter().map(|&w| w > 0.0).collect(),
        };
        let prepared = view.prepared(config)?;
        let problem = &prepared.problem;
        let weighted_targets: Vec<(usize, f64)> = problem
            .targets
            .iter()
            .zip(&mu)
            .flat_map(|(points, &m)| points.iter().map(move |&(i, w)| (i, m * w)))
            .filter(|&(_, w)| w > 0.0)
            .collect();
        // Rows: every task's candidates, task by task (a task's own are a range); columns:
        // those, then the weighted targets.
        let rows: Vec<usize> = problem.candidates.iter().flatten().copied().collect();
        let mut candidates = Vec::with_capacity(problem.candidates.len());
        let mut start = 0;
        for points in &problem.candidates {
            candidates.push(start..start + points.len());
            start += points.len();
        }
        let target_points: Vec<usize> = weighted_targets.iter().map(|&(i, _)| i).collect();
        let targets = weighted_targets.iter().map(|&(_, w)| w).collect();
        let mut posterior = prepared.posterior.for_selection(&rows, &target_points);
        for (task, &count) in view.pending_per_task().iter().enumerate() {
            posterior.condition_on_repeated(candidates[task].clone(), count)?;
        }
        Ok(Greedy { prepared, posterior, candidates, criterion, targets, allowed })
    }

    /// Every task's score now. Under AMF's criterion a task that may not be picked
    /// scores what it would, for the record; under uncertainty sampling's it scores 0
    /// (see [`Greedy::allowed`]).
    pub fn scores(&self) -> Result<Vec<f64>, SelectError> {
        let candidates = &self.candidates;
        match self.criterion {
            Criterion::InformationGain => candidates.iter().map(|x| Ok(self.posterior.gain(x.clone(), &self.targets)?)).collect(),
            // Only the tasks it may ask for are candidates; the others score zero.
            Criterion::Variance => Ok(candidates
                .iter()
                .zip(&self.allowed)
                .map(|(x, &a)| if a && !x.is_empty() { x.clone().map(|i| self.posterior.variance(i)).sum::<f64>() / x.len() as f64 } else { 0.0 })
                .collect()),
        }
    }

    /// A demonstration of `task` is on its way: condition on its candidate states.
    pub fn add(&mut self, task: usize) -> Result<(), SelectError> {
        self.posterior.condition_on(self.candidates[task].clone())?;
        Ok(())
    }

    /// Where each task's proxy states came from.
    pub fn proxies(&self) -> &[Proxy] {
        &self.prepared.problem.proxies
    }

    /// The tasks that may be picked.
    pub fn allowed(&self) -> &[bool] {
        &self.allowed
    }

    /// Why `task`, scored `score`, is the pick, in words a person can read: the one
    /// reason AMF, uncertainty sampling and the crowd's assignments give.
    pub fn reason(&self, view: &dyn SelectionView, task: usize, score: f64) -> String {
        match self.criterion {
            Criterion::InformationGain => format!(
                "{} is expected to tell the most about the target tasks ({score:.3} nats, from {} states)",
                view.task_name(task),
                match self.proxies()[task] {
                    Proxy::Demonstrations => "its demonstrations'",
                    Proxy::Rollouts => "the policy's own",
                }
            ),
            Criterion::Variance => format!("the policy is least certain on {}'s own states", view.task_name(task)),
        }
    }
}

/// Greedy batch selection: the best-scoring task, conditioned on, `batch` times.
/// Returns the scores before the first pick (pending ones accounted for), and the picks.
fn greedy_batch(greedy: &mut Greedy, batch: usize) -> Result<(Vec<f64>, Vec<usize>), SelectError> {
    let first = greedy.scores()?;
    let mut picks = Vec::with_capacity(batch);
    for k in 0..batch {
        let pick = argmax_among(&if k == 0 { first.clone() } else { greedy.scores()? }, greedy.allowed());
        picks.push(pick);
        if k + 1 < batch {
            greedy.add(pick)?;
        }
    }
    Ok((first, picks))
}

/// Index of the largest score (the lowest index among equals).
pub(crate) fn argmax(scores: &[f64]) -> usize {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best
}

/// Index of the largest score among the `allowed` tasks (the lowest index among equals;
/// 0 when none is allowed).
pub(crate) fn argmax_among(scores: &[f64], allowed: &[bool]) -> usize {
    let mut best: Option<usize> = None;
    for (i, &s) in scores.iter().enumerate() {
        if allowed.get(i).copied().unwrap_or(false) && best.is_none_or(|b| s > scores[b]) {
            best = Some(i);
        }
    }
    best.unwrap_or(0)
}

pub(crate) fn task_scores(view: &dyn SelectionView, scores: &[f64], proxies: Option<&[Proxy]>) -> Vec<TaskScore> {
    scores
        .iter()
        .enumerate()
        .map(|(task, &score)| TaskScore { task, name: view.task_name(task), score, proxy: proxies.map(|p| p[task]) })
        .collect()
}

fn names(view: &dyn SelectionView, picks: &[usize]) -> String {
    picks.iter().map(|&t| view.task_name(t)).collect::<Vec<_>>().join(", ")
}
