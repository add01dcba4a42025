//! The selector's view of the tabletop: the neural policy turns states into kernel
//! values through an embedding, and demonstrations and rollouts supply the proxies.
//!
//! Proxies (*choices*, see the design notes): a task's target states `T(c)` and the
//! states a new demonstration would add `X(c)` are drawn, disjoint where there are
//! enough, from the states of the demonstrations already collected for it, weighted by
//! how likely the current policy is to produce each demonstration (the per-step
//! geometric mean of its action likelihoods, self-normalised over the task's
//! demonstrations); a task without a demonstration uses the states the current policy
//! visits when it attempts the task (the evaluation rollouts, which the loop has anyway).
//!
//! The demonstrations are a [`PoolSample`]: at most `GpConfig::sampled_per_task` of
//! each task's, each standing for its share of the task (see [`super::sample`]), so
//! the GP's size is bounded whatever the pool's: at most `16 * sampled_per_task *
//! states_per_demonstration` data states and `16 * (target_states + candidate_states)`
//! query states ([`KernelProblem::size`]).
//!
//! With the loss-gradient embedding, only the GP's data (the demonstrations' states)
//! use the demonstrated actions; proxies use the policy's predictive distribution (see
//! [`gradient_scale`]). Measured: with the fitted residuals as proxies' gradients, a
//! task looks learned after one demonstration and AMF degenerates into a round-robin.

use nalgebra::DMatrix;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Embedding, GpConfig, KernelProblem, PoolSample, Proxy, SelectError, SelectionView};
use crate::policy::{Demonstration, Prediction, Predictive};
use crate::sim::{Action, ACTION_DIM};
use crate::tasks::{Observation, TaskId, NUM_TASKS};

pub struct TabletopView<'a> {
    pub policy: &'a dyn Predictive,
    /// The demonstrations, as the GP sees them (every one, or a sample of a large pool).
    pub demonstrations: PoolSample<'a>,
    /// States the current policy visited on each task (indexed by `TaskId::index`).
    pub rollout_states: &'a [Vec<Observation>],
    /// `mu(c)` per task.
    pub target_weights: Vec<f64>,
    /// Pre-training demonstrations per task (privileged).
    pub pretraining: Vec<usize>,
    /// Which tasks can be demonstrated (indexed by `TaskId::index`).
    pub demonstrable: Vec<bool>,
    /// Seeds the subsampling and the action draws.
    pub seed: u64,
}

/// A GP point: a state, and the action demonstrated there if any.
#[derive(Clone, Copy)]
struct Point {
    observation: Observation,
    action: Option<Action>,
}

/// Evenly spaced picks of `k` out of `n` (all of them when `n <= k`).
fn evenly(n: usize, k: usize) -> Vec<usize> {
    if n <= k {
        return (0..n).collect();
    }
    (0..k).map(|i| i * n / k).collect()
}

/// Log-density of `action` under independent Gaussians.
fn log_likelihood(action: &[f32], mean: &[f32], std: &[f32]) -> f64 {
    action
        .iter()
        .zip(mean)
        .zip(std)
        .map(|((&a, &m), &s)| {
            let (s, z) = (f64::from(s).max(1e-6), f64::from(a - m) / f64::from(s).max(1e-6));
            -0.5 * z * z - s.ln() - 0.5 * std::f64::consts::TAU.ln()
        })
        .sum()
}

impl TabletopView<'_> {
    /// Self-normalised importance weights of `task`'s demonstrations under the policy.
    fn demonstration_weights(&self, demos: &[&Demonstration]) -> Vec<f64> {
        let log_weights: Vec<f64> = demos
            .iter()
            .map(|demo| {
                let prediction = self.policy.predict(&demo.observations);
                let total: f64 = (0..prediction.rows)
                    .map(|r| log_likelihood(&demo.actions[r], prediction.mean_of(r), prediction.std_of(r)))
                    .sum();
                total / prediction.rows.max(1) as f64
            })
            .collect();
        let top = log_weights.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = log_weights.iter().map(|l| (l - top).exp()).collect();
        let total: f64 = weights.iter().sum();
        weights.iter().map(|w| w / total).collect()
    }

    /// Kernel features of every point: `[h; 1]`, and for the loss-gradient embedding
    /// the per-component size of the cloning loss's gradient it is multiplied with
    /// (`k = (h.h') (g.g')`, see [`gradient_scale`]).
    /// With the centred embedding, the activations are centred on their mean over the
    /// `reference` points (the proxies: every task's alike, whatever was demonstrated).
    fn features(&self, points: &[Point], reference: &[usize], config: &GpConfig) -> (Vec<Vec<f32>>, Option<Vec<Vec<f64>>>) {
        let observations: Vec<Observation> = points.iter().map(|p| p.observation).collect();
        let prediction: Prediction = self.policy.predict(&observations);
        let mut centre = vec![0.0f32; prediction.hidden];
        if config.embedding == Embedding::CentredLossGradient && !reference.is_empty() {
            for &r in reference {
                centre.iter_mut().zip(prediction.embedding_of(r)).for_each(|(c, &x)| *c += x);
            }
            centre.iter_mut().for_each(|c| *c /= reference.len() as f32);
        }
        let h: Vec<Vec<f32>> = (0..points.len())
            .map(|r| prediction.embedding_of(r).iter().zip(&centre).map(|(&x, &c)| x - c).chain([1.0]).collect())
            .collect();
        if config.embedding == Embedding::LastLayer {
            return (h, None);
        }
        let g = points
            .iter()
            .enumerate()
            .map(|(r, point)| gradient_scale(&prediction, r, if config.demonstrated_residuals { point.action.as_ref() } else { None }))
            .collect();
        (h, Some(g))
    }
}

/// The loss-gradient embedding is `g (x) [h; 1]` with `g = mean - a` for the
/// squared-error loss. The adaptive prior's gate would scale `g` by `alpha(c)`, but the
/// gate opens wherever demonstrations arrive, so scaling by it would hide exactly the
/// tasks that have none yet; the embedding is taken with the gate open. Two more
/// choices make it usable where no action was demonstrated: such a state takes the
/// expected size of `g` when `a` is drawn from the policy's own Gaussian,
/// `std * sqrt(2 / pi)` per component; and every `g` enters by its
/// components' magnitudes, since a drawn action's error has no sign (with signs, the
/// expected kernel between a drawn action's state and any other is zero, and
/// rollout proxies would inform nothing).
fn gradient_scale(prediction: &Prediction, row: usize, action: Option<&Action>) -> Vec<f64> {
    let (mean, std) = (prediction.mean_of(row), prediction.std_of(row));
    (0..ACTION_DIM)
        .map(|j| match action {
            Some(a) => f64::from(mean[j] - a[j]).abs(),
            None => f64::from(std[j]) * std::f64::consts::FRAC_2_PI.sqrt(),
        })
        .collect()
}

/// The kernel between points `rows` and `cols`: `(h h') (e e')` for the loss-gradient
/// embedding, `h h'` for the last layer's. Two matrix products and an elementwise one
/// (measured: 10x faster than a dot product per entry; the kernel was half a selection's
/// time). The wide product `h h'` is taken in `f32`, the precision the network computed
/// `h` in: matrixmultiply's `f32` kernels are vectorised in wasm too (its `f64` kernel
/// is scalar there), and the GP's noise (rho^2 = 2 on a kernel of unit mean diagonal)
/// dwarfs the rounding.
fn kernel(rows: &[usize], cols: &[usize], h: &[Vec<f32>], e: &Option<Vec<Vec<f64>>>) -> DMatrix<f64> {
    fn gram<T: nalgebra::RealField + Copy>(features: &[Vec<T>], rows: &[usize], cols: &[usize]) -> DMatrix<T> {
        let width = features.first().map_or(0, Vec::len);
        let stack = |points: &[usize]| DMatrix::from_fn(points.len(), width, |i, j| features[points[i]][j]);
        stack(rows) * stack(cols).transpose()
    }
    let k = gram(h, rows, cols).map(f64::from);
    match e {
        Some(e) => k.component_mul(&gram(e, rows, cols)),
        None => k,
    }
}

impl SelectionView for TabletopView<'_> {
    fn num_tasks(&self) -> usize {
        NUM_TASKS
    }

    fn task_name(&self, task: usize) -> String {
        TaskId::ALL[task].name().to_string()
    }

    fn target_weights(&self) -> Vec<f64> {
        self.target_weights.clone()
    }

    fn demonstrations_per_task(&self) -> Vec<usize> {
        self.demonstrations.counts().to_vec()
    }

    fn pretraining_per_task(&self) -> Vec<usize> {
        self.pretraining.clone()
    }

    fn demonstrable(&self) -> Vec<bool> {
        self.demonstrable.clone()
    }

    fn kernel_problem(&self, config: &GpConfig) -> Result<KernelProblem, SelectError> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x6b65_726e);
        let mut points: Vec<Point> = Vec::new();
        // Data: a few states of every kept demonstration, with the demonstrated actions,
        // each standing for its share of its task.
        let mut data_weights = Vec::new();
        for demo in self.demonstrations.kept() {
            let weight = self.demonstrations.weight_of(demo.task.index());
            for i in evenly(demo.observations.len(), config.states_per_demonstration) {
                points.push(Point { observation: demo.observations[i], action: Some(demo.actions[i]) });
                data_weights.push(weight);
            }
        }
        let data: Vec<usize> = (0..points.len()).collect();
        let mut targets = Vec::with_capacity(NUM_TASKS);
        let mut candidates = Vec::with_capacity(NUM_TASKS);
        let mut proxies = Vec::with_capacity(NUM_TASKS);
        let mut query: Vec<usize> = Vec::new();
        for task in TaskId::ALL {
            let demos: Vec<&Demonstration> = self.demonstrations.kept().iter().copied().filter(|d| d.task == task).collect();
            // The pool: (point, weight) pairs.
            let pool: Vec<(Point, f64)> = if demos.is_empty() {
                proxies.push(Proxy::Rollouts);
                let states = &self.rollout_states[task.index()];
                states.iter().map(|&observation| (Point { observation, action: None }, 1.0 / states.len() as f64)).collect()
            } else {
                proxies.push(Proxy::Demonstrations);
                let weights = self.demonstration_weights(&demos);
                demos
                    .iter()
                    .zip(weights)
                    .flat_map(|(demo, w)| {
                        let n = demo.observations.len();
                        // As proxies, the states stand for a future demonstration's, so
                        // they take the predictive gradient size, not the residual of a
                        // demonstration the policy was just fitted to (which is ~0).
                        (0..n).map(move |i| (Point { observation: demo.observations[i], action: None }, w / n as f64))
                    })
                    .collect()
            };
            let mut order: Vec<usize> = (0..pool.len()).collect();
            order.shuffle(&mut rng);
            // Disjoint target and candidate draws when the pool allows; from a small pool
            // the same states stand for both.
            let wanted = config.target_states + config.candidate_states;
            let shared = pool.len() < wanted;
            let mut place = |k: usize| -> (usize, f64) {
                let (point, w) = pool[k];
                points.push(point);
                query.push(points.len() - 1);
                (query.len() - 1, w)
            };
            let task_targets: Vec<(usize, f64)> =
                order[..config.target_states.min(pool.len())].iter().map(|&k| place(k)).collect();
            let task_candidates: Vec<usize> = if shared {
                task_targets.iter().take(config.candidate_states).map(|&(q, _)| q).collect()
            } else {
                order[config.target_states..wanted].iter().map(|&k| place(k).0).collect()
            };
            let total: f64 = task_targets.iter().map(|&(_, w)| w).sum();
            targets.push(task_targets.iter().map(|&(q, w)| (q, if total > 0.0 { w / total } else { 0.0 })).collect());
            candidates.push(task_candidates);
        }
        let (h, e) = self.features(&points, &query, config);
        let mut problem = KernelProblem {
            k_ss: kernel(&query, &query, &h, &e),
            k_sd: kernel(&query, &data, &h, &e),
            k_dd: kernel(&data, &data, &h, &e),
            data_weights,
            targets,
            candidates,
            proxies,
        };
        problem.normalise();
        Ok(problem)
    }
}
