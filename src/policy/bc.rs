//! Behavioral cloning, explicitly: sample a minibatch, forward, loss, backward, Adam step.
//! The loss is the squared error of the mean action plus the Gaussian negative
//! log-likelihood that fits the standard deviation (with the mean held fixed), plus the
//! chosen regulariser against forgetting.

use burn::optim::{AdamConfig, GradientsParams};
use futures_lite::future::block_on;
use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::dataset::{Dataset, DatasetError, Labels};
use super::finetuned::FineTunedPolicy;
use super::network::{NormStats, Policy, PolicyConfig};
use crate::sim::ACTION_DIM;
use crate::tasks::{TaskId, OBS_DIM};

/// How fine-tuning resists forgetting what pre-training taught.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Regularizer {
    /// Plain fine-tuning.
    None,
    /// `weight * ||theta - theta_0||^2` added to the loss.
    L2 { weight: f32 },
    /// The adaptive prior: a per-task gate between the tuned and the frozen pre-trained
    /// policy, with `gate_penalty * sum_c alpha(c)` added to the loss, so a task's gate
    /// opens only where its demonstrations pay for it.
    AdaptivePrior { gate_penalty: f32 },
}

/// Training settings (defaults in the field docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BcConfig {
    /// Gradient steps (default: 2000).
    pub steps: usize,
    /// Rows per minibatch, drawn with replacement (default: 256).
    pub batch_size: usize,
    /// Adam's learning rate (default: 1e-3).
    pub learning_rate: f64,
    /// The share of the run, at its end, over which the learning rate falls linearly to
    /// zero (default 0: constant). A run's last iterate is what is kept, and with noisy
    /// labels a constant rate leaves it wherever the last minibatches pushed it.
    #[serde(default)]
    pub decay_share: f64,
    /// The share of the run, at its end, whose iterates are averaged into its result
    /// (tail averaging, as Polyak-Ruppert and SWA do; default 0: the last iterate). A
    /// run resumed inside that share averages from where it resumed. Rounds do not
    /// average by default: with people it lifted uniform selection's results, but it cost
    /// AMF with the scripted experts (docs/results.md, "Averaging a round's last
    /// iterates").
    #[serde(default)]
    pub average_share: f64,
    /// Seeds the initial weights and the minibatches (default: 0).
    pub seed: u64,
    /// Default: the adaptive prior with a gate penalty of 0.001.
    pub regularizer: Regularizer,
    /// Tasks the tuned network serves though they have no demonstrations (targets that
    /// cannot be demonstrated, learned only through related tasks): under the adaptive
    /// prior their gates start open instead of closed (default: none).
    #[serde(default)]
    pub transfer_to: Vec<TaskId>,
    /// How demonstrations' actions become labels when a round fine-tunes on them
    /// (default [`Labels::FOR_PEOPLE`]).
    #[serde(default)]
    pub labels: Labels,
}

impl Default for BcConfig {
    fn default() -> Self {
        BcConfig {
            steps: 2000,
            batch_size: 256,
            learning_rate: 1e-3,
            decay_share: 0.0,
            average_share: 0.0,
            seed: 0,
            regularizer: Regularizer::AdaptivePrior { gate_penalty: 0.001 },
            transfer_to: Vec::new(),
            labels: Labels::default(),
        }
    }
}

impl BcConfig {
    /// The learning rate of step `step` (from 0): constant, then falling linearly over
    /// the last `decay_share` of the steps to a last step that still moves a little.
    /// The first step (from 0) whose result joins the run's average, if it averages.
    pub fn averaging_from(&self) -> Option<usize> {
        let averaged = (self.average_share.clamp(0.0, 1.0) * self.steps as f64).round() as usize;
        (averaged > 0).then(|| self.steps - averaged)
    }

    pub fn learning_rate_at(&self, step: usize) -> f64 {
        let decaying = (self.decay_share.clamp(0.0, 1.0) * self.steps as f64).round() as usize;
        let left = self.steps.saturating_sub(step);
        if decaying == 0 || left > decaying {
            self.learning_rate
        } else {
            self.learning_rate * left as f64 / (decaying + 1) as f64
        }
    }
}

/// Reported after every gradient step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingProgress {
    pub step: usize,
    pub steps: usize,
    /// Squared error of the mean action on this minibatch.
    pub action_mse: f32,
    /// Everything minimised, regulariser included.
    pub total_loss: f32,
}

#[derive(Debug, Error, PartialEq)]
pub enum BcError {
    #[error("cannot train on this data: {0}")]
    Data(#[from] DatasetError),
    /// The loss became NaN or infinite; the weights from before are kept by the caller.
    #[error("training diverged at step {step}: the loss is {loss}")]
    Diverged { step: usize, loss: f32 },
    /// The device failed (a lost GPU, an out-of-memory error) while reading back.
    #[error("the training device failed at step {step}: {message}")]
    Device { step: usize, message: String },
}

/// Trains a fresh policy on `data` (pre-training); normalisation comes from the data.
pub fn train_policy(
    config: &PolicyConfig,
    data: &Dataset,
    bc: &BcConfig,
    progress: &mut dyn FnMut(TrainingProgress),
) -> Result<Policy, BcError> {
    data.validate()?;
    let stats = NormStats::from_observations(&data.observations);
    let (device, policy) = seeded(&super::cpu(), bc.seed, |device| Policy::new(config, &stats, device));
    let trained = block_on(fit(policy, 0, data, bc, &device, progress, 0, &mut |_| {}, |policy, obs, actions| {
        let log_std = policy.log_std(obs.clone());
        let (mse, nll) = cloning_losses(policy.forward(obs), log_std, actions);
        (mse.clone() + nll, mse)
    }))?;
    Ok(trained.valid())
}

/// Fine-tunes from `prior` on `data` with `bc.regularizer` on the CPU; the prior stays
/// unchanged.
pub fn finetune(
    prior: &Policy,
    data: &Dataset,
    bc: &BcConfig,
    progress: &mut dyn FnMut(TrainingProgress),
) -> Result<FineTunedPolicy, BcError> {
    block_on(finetune_on(&super::cpu(), prior, data, bc, progress))
}

/// Fine-tunes on `device` (any backend; autodiff is added here). The loss is read back
/// asynchronously, as a GPU in a browser requires; the result lives on `device` (see
/// [`super::to_device_async`] to bring it to the CPU there).
pub async fn finetune_on(
    device: &Device,
    prior: &Policy,
    data: &Dataset,
    bc: &BcConfig,
    progress: &mut dyn FnMut(TrainingProgress),
) -> Result<FineTunedPolicy, BcError> {
    Ok(finetune_from(device, prior, data, bc, None, progress, 0, &mut |_| {}).await?)
}

/// Steps between snapshots when training on a device that may fail.
pub const SNAPSHOT_EVERY: usize = 25;

/// Where a fine-tuning run starts and who hears of its snapshots: what lets a run go on
/// in another place (another worker) when its device dies with the place it ran in.
#[derive(Default)]
pub struct Checkpointing<'a> {
    /// Continue from this snapshot of an earlier run on the same data and settings.
    pub resume: Option<Snapshot>,
    /// Told of every snapshot the run takes (every [`SNAPSHOT_EVERY`] steps).
    pub on_snapshot: Option<&'a mut dyn FnMut(&Snapshot)>,
}

/// Fine-tunes on `device` and returns the policy on the CPU. If `device` fails (a lost
/// GPU), `on_fallback` is told and the run goes on on the CPU from its last snapshot,
/// so at most `SNAPSHOT_EVERY` steps are redone. Snapshots are taken only on a device
/// other than the CPU (the CPU does not get lost).
pub async fn finetune_with_fallback(
    device: &Device,
    prior: &Policy,
    data: &Dataset,
    bc: &BcConfig,
    checkpointing: Checkpointing<'_>,
    progress: &mut dyn FnMut(TrainingProgress),
    on_fallback: &mut dyn FnMut(&BcError, usize),
) -> Result<FineTunedPolicy, BcError> {
    let cpu = super::cpu();
    let Checkpointing { resume, mut on_snapshot } = checkpointing;
    let snapshot_every = if *device == cpu { 0 } else { SNAPSHOT_EVERY };
    let mut ignore = |_: &Snapshot| {};
    let observer: &mut dyn FnMut(&Snapshot) = match on_snapshot.as_mut() {
        Some(f) => *f,
        None => &mut ignore,
    };
    match finetune_from(device, prior, data, bc, resume.clone(), progress, snapshot_every, observer).await {
        Ok(model) => super::to_device_async(model, &cpu)
            .await
            .map_err(|e| BcError::Device { step: bc.steps, message: e.to_string() }),
        Err(Interrupted { error: error @ BcError::Device { .. }, snapshot }) => {
            let snapshot = snapshot.or(resume);
            on_fallback(&error, snapshot.as_ref().map_or(0, |s| s.step));
            Ok(finetune_from(&cpu, prior, data, bc, snapshot, progress, 0, &mut |_| {}).await?)
        }
        Err(other) => Err(other.error),
    }
}

/// The fine-tuning run, from the prior or from `resume`.
#[allow(clippy::too_many_arguments)]
async fn finetune_from(
    device: &Device,
    prior: &Policy,
    data: &Dataset,
    bc: &BcConfig,
    resume: Option<Snapshot>,
    progress: &mut dyn FnMut(TrainingProgress),
    snapshot_every: usize,
    on_snapshot: &mut dyn FnMut(&Snapshot),
) -> Result<FineTunedPolicy, Interrupted> {
    let interrupted = |error: BcError| Interrupted { error, snapshot: None };
    data.validate().map_err(|e| interrupted(e.into()))?;
    let gated = matches!(bc.regularizer, Regularizer::AdaptivePrior { .. });
    let (device, mut model) = seeded(device, bc.seed, |device| FineTunedPolicy::new(&prior.clone().fork(device).train(), gated, device));
    if gated {
        model = model.set_gates(&data.tasks_present(), &bc.transfer_to);
    }
    let first_step = resume.as_ref().map_or(0, |s| s.step);
    if let Some(snapshot) = resume {
        model = super::transfer::with_parameters(model, snapshot.values, &device);
    }
    let regularizer = bc.regularizer;
    let trained = fit(model, first_step, data, bc, &device, progress, snapshot_every, on_snapshot, move |model, obs, actions| {
        let log_std = model.tuned.log_std(obs.clone());
        let (mse, nll) = cloning_losses(model.forward(obs), log_std, actions);
        let total = mse.clone() + nll;
        let total = match regularizer {
            Regularizer::None => total,
            Regularizer::L2 { weight } => total + model.tuned.squared_distance(&model.prior) * weight,
            Regularizer::AdaptivePrior { gate_penalty } => total + model.alphas().sum() * gate_penalty,
        };
        (total, mse)
    })
    .await?;
    Ok(trained.valid())
}

/// Draws a minibatch's rows with replacement: uniformly, or in proportion to the rows'
/// weights where the data has them.
fn minibatch_draw(data: &Dataset, batch_size: usize) -> impl Fn(&mut ChaCha8Rng) -> Vec<i64> {
    let rows = data.len();
    let cumulative: Vec<f64> = (!data.weights.is_empty())
        .then(|| data.weights.iter().scan(0.0f64, |total, &w| { *total += f64::from(w); Some(*total) }).collect())
        .unwrap_or_default();
    move |rng: &mut ChaCha8Rng| match cumulative.last() {
        None => (0..batch_size).map(|_| rng.random_range(0..rows as i64)).collect(),
        Some(&total) => (0..batch_size)
            .map(|_| {
                let at = rng.random::<f64>() * total;
                cumulative.partition_point(|&c| c <= at).min(rows - 1) as i64
            })
            .collect(),
    }
}

/// Each row's squared error of `policy`'s mean action against the row's label, averaged
/// over the action's components: what the cloning loss charges the row. Read on the CPU.
pub fn squared_residuals(policy: &FineTunedPolicy, data: &Dataset) -> Vec<f32> {
    let rows = data.len();
    if rows == 0 {
        return Vec::new();
    }
    let device = super::cpu();
    let observations = Tensor::<2>::from_data(TensorData::new(data.observations.clone(), [rows, OBS_DIM]), &device);
    let actions = Tensor::<2>::from_data(TensorData::new(data.actions.clone(), [rows, ACTION_DIM]), &device);
    let errors = (actions - policy.forward(observations)).square().mean_dim(1);
    errors.into_data().try_into_vec::<f32>().unwrap_or_default()
}

/// `device` with autodiff, seeded, and the model `init` builds on it: initial weights
/// that depend on `seed` alone.
fn seeded<M: burn::module::Module>(device: &Device, seed: u64, init: impl FnOnce(&Device) -> M) -> (Device, M) {
    let device = device.clone().autodiff();
    let model = super::drawing_initial_weights(|| {
        device.seed(seed);
        init(&device)
    });
    (device, model)
}

/// Squared error of the mean, and the Gaussian NLL of the actions under the learned
/// standard deviation around the (detached) mean.
fn cloning_losses(mean: Tensor<2>, log_std: Tensor<2>, actions: Tensor<2>) -> (Tensor<1>, Tensor<1>) {
    let error = actions - mean;
    let mse = error.clone().square().mean();
    let nll = (error.detach().square() * (log_std.clone() * -2.0).exp() * 0.5 + log_std).mean();
    (mse, nll)
}

/// A run's parameters after `step` gradient steps, read back from its device, so that a
/// run whose device fails can go on elsewhere. (Adam's moments are not kept: the run
/// resumes with a fresh optimizer.)
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub step: usize,
    values: Vec<TensorData>,
}

/// A snapshot as plain bytes (little-endian `f32`s per parameter tensor), so it can
/// cross to another worker or be stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortableSnapshot {
    pub step: usize,
    pub tensors: Vec<PortableTensor>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortableTensor {
    pub shape: Vec<usize>,
    #[serde(with = "serde_bytes")]
    pub values: Vec<u8>,
}

impl Snapshot {
    pub fn to_portable(&self) -> Result<PortableSnapshot, String> {
        let tensors = self
            .values
            .iter()
            .map(|data| {
                let floats: Vec<f32> = data.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
                Ok(PortableTensor { shape: vec![floats.len()], values: floats.iter().flat_map(|v| v.to_le_bytes()).collect() })
            })
            .collect::<Result<_, String>>()?;
        Ok(PortableSnapshot { step: self.step, tensors })
    }

    pub fn from_portable(portable: &PortableSnapshot) -> Result<Snapshot, String> {
        let values = portable
            .tensors
            .iter()
            .map(|t| {
                let count: usize = t.shape.iter().product();
                if t.values.len() != 4 * count {
                    return Err(format!("a snapshot tensor of shape {:?} has {} bytes", t.shape, t.values.len()));
                }
                let floats: Vec<f32> = t.values.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
                Ok(TensorData::new(floats, t.shape.clone()))
            })
            .collect::<Result<_, String>>()?;
        Ok(Snapshot { step: portable.step, values })
    }
}

/// Why a run stopped early, and the last snapshot it took.
struct Interrupted {
    error: BcError,
    snapshot: Option<Snapshot>,
}

impl From<Interrupted> for BcError {
    fn from(i: Interrupted) -> BcError {
        i.error
    }
}

/// The shared loop: minibatches, forward and loss by `loss`, backward, Adam step, from
/// step `first_step` (the minibatches are those an uninterrupted run would draw), with a
/// snapshot every `snapshot_every` steps (0: never).
#[allow(clippy::too_many_arguments)]
async fn fit<M: Module>(
    mut model: M,
    first_step: usize,
    data: &Dataset,
    bc: &BcConfig,
    device: &Device,
    progress: &mut dyn FnMut(TrainingProgress),
    snapshot_every: usize,
    on_snapshot: &mut dyn FnMut(&Snapshot),
    loss: impl Fn(&M, Tensor<2>, Tensor<2>) -> (Tensor<1>, Tensor<1>),
) -> Result<M, Interrupted> {
    let rows = data.len();
    let observations = Tensor::<2>::from_data(TensorData::new(data.observations.clone(), [rows, OBS_DIM]), device);
    let actions = Tensor::<2>::from_data(TensorData::new(data.actions.clone(), [rows, ACTION_DIM]), device);
    let mut optimizer = AdamConfig::new().init();
    let mut rng = ChaCha8Rng::seed_from_u64(bc.seed);
    let draw = minibatch_draw(data, bc.batch_size);
    for _ in 0..first_step {
        draw(&mut rng);
    }
    let mut snapshot: Option<Snapshot> = None;
    // The running sum of the averaged iterates, and how many.
    let averaging_from = bc.averaging_from();
    let mut averaged: Option<(Vec<Tensor<1>>, usize)> = None;
    for step in first_step..bc.steps {
        if snapshot_every > 0 && step > first_step && step % snapshot_every == 0 {
            // A failed read-back here is the device failing: reported below.
            if let Ok(values) = super::transfer::read_parameters(&model).await {
                let taken = Snapshot { step, values };
                on_snapshot(&taken);
                snapshot = Some(taken);
            }
        }
        let picks = Tensor::<1, Int>::from_data(TensorData::new(draw(&mut rng), [bc.batch_size]), device);
        let (total, mse) = loss(&model, observations.clone().select(0, picks.clone()), actions.clone().select(0, picks));
        let stop = |error: BcError, snapshot: &Option<Snapshot>| Interrupted { error, snapshot: snapshot.clone() };
        let device_failed = |e| BcError::Device { step, message: format!("{e:?}") };
        let total_value = match total.clone().into_scalar_async::<f32>().await {
            Ok(v) => v,
            Err(e) => return Err(stop(device_failed(e), &snapshot)),
        };
        if !total_value.is_finite() {
            return Err(stop(BcError::Diverged { step, loss: total_value }, &snapshot));
        }
        let gradients = GradientsParams::from_grads(total.backward(), &model);
        model = optimizer.step(bc.learning_rate_at(step), model, gradients);
        if averaging_from.is_some_and(|from| step >= from) {
            let now = super::transfer::detached_parameters(&model);
            averaged = Some(match averaged.take() {
                None => (now, 1),
                Some((sum, n)) => (sum.into_iter().zip(now).map(|(a, b)| a + b).collect(), n + 1),
            });
        }
        let action_mse = match mse.into_scalar_async::<f32>().await {
            Ok(v) => v,
            Err(e) => return Err(stop(device_failed(e), &snapshot)),
        };
        progress(TrainingProgress { step: step + 1, steps: bc.steps, action_mse, total_loss: total_value });
    }
    if let Some((sum, n)) = averaged {
        let mut values = Vec::with_capacity(sum.len());
        for total in sum {
            match (total / n as f32).into_data_async().await {
                Ok(data) => values.push(data),
                Err(e) => return Err(Interrupted { error: BcError::Device { step: bc.steps, message: format!("{e:?}") }, snapshot }),
            }
        }
        model = super::transfer::with_parameters(model, values, device);
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minibatches_draw_rows_in_proportion_to_their_weights() {
        let row = expert_demonstration(TaskId::Reach, 0, 0.0).rows();
        let mut data = Dataset::default();
        data.extend_weighted(&Dataset { observations: row.observations[..OBS_DIM].to_vec(), actions: row.actions[..ACTION_DIM].to_vec(), weights: vec![] }, 0.0);
        for weight in [1.0, 3.0] {
            data.extend_weighted(&Dataset { observations: row.observations[..OBS_DIM].to_vec(), actions: row.actions[..ACTION_DIM].to_vec(), weights: vec![] }, weight);
        }
        assert_eq!(data.weights, [0.0, 1.0, 3.0]);
        let draws = minibatch_draw(&data, 4000)(&mut ChaCha8Rng::seed_from_u64(1));
        let count = |row: i64| draws.iter().filter(|&&d| d == row).count();
        assert_eq!(count(0), 0, "a row weighing 0 is never drawn");
        assert!((2700..3300).contains(&count(2)), "{} of 4000 draws of the row weighing 3", count(2));
        // Unweighted data draws uniformly, as before.
        assert!(minibatch_draw(&row, 64)(&mut ChaCha8Rng::seed_from_u64(1)).iter().all(|&d| (d as usize) < row.len()));
        // Weights that cannot be trained with are refused.
        data.weights[1] = f32::NAN;
        assert!(matches!(data.validate(), Err(DatasetError::Weights(_))));
        data.weights = vec![0.0; 3];
        assert!(matches!(data.validate(), Err(DatasetError::Weights(_))));
    }
    #[test]
    fn the_learning_rate_falls_over_the_last_share_of_the_steps() {
        let constant = BcConfig { steps: 10, ..BcConfig::default() };
        assert!((0..10).all(|s| constant.learning_rate_at(s) == constant.learning_rate));
        let decaying = BcConfig { steps: 10, decay_share: 0.4, ..constant.clone() };
        let rates: Vec<f64> = (0..10).map(|s| decaying.learning_rate_at(s) / decaying.learning_rate).collect();
        assert!(rates[..6].iter().all(|&r| r == 1.0), "{rates:?}");
        assert!(rates[6..].windows(2).all(|w| w[1] < w[0]), "falls step by step: {rates:?}");
        assert!(rates[6] < 1.0 && rates[9] > 0.0, "every step still moves: {rates:?}");
    }

    /// Averaging the last two of three steps gives the mean of the second and third
    /// iterates, which the runs of two and three steps end on (their minibatches and
    /// Adam's moments are the same up to there).
    #[test]
    fn a_run_that_averages_ends_on_the_mean_of_its_last_iterates() {
        let (prior, data) = small_prior_and_data();
        let bc = |steps| BcConfig { steps, batch_size: 32, ..BcConfig::default() };
        let parameters = |bc: &BcConfig| {
            let tuned = finetune(&prior, &data, bc, &mut |_| {}).unwrap();
            let values = block_on(super::super::transfer::read_parameters(&tuned)).unwrap();
            values.into_iter().flat_map(|v| v.try_to_vec::<f32>().unwrap()).collect::<Vec<f32>>()
        };
        let averaging = BcConfig { average_share: 2.0 / 3.0, ..bc(3) };
        assert_eq!((averaging.averaging_from(), bc(3).averaging_from()), (Some(1), None));
        let (second, third, averaged) = (parameters(&bc(2)), parameters(&bc(3)), parameters(&averaging));
        let off = second.iter().zip(&third).zip(&averaged).map(|((a, b), m)| (m - (a + b) / 2.0).abs()).fold(0.0, f32::max);
        assert!(off < 1e-6, "the average is off by {off}");
        assert!(second.iter().zip(&third).any(|(a, b)| (a - b).abs() > 1e-4), "the iterates differ");
    }

    use crate::policy::{expert_demonstration, Actor};
    use crate::tasks::{Episode, TaskId};

    fn small_prior_and_data() -> (Policy, Dataset) {
        let mut data = Dataset::default();
        for seed in 0..2 {
            data.extend(&expert_demonstration(TaskId::Reach, seed, 0.0).rows());
        }
        let bc = BcConfig { steps: 30, batch_size: 32, regularizer: Regularizer::None, ..BcConfig::default() };
        (train_policy(&PolicyConfig::default(), &data, &bc, &mut |_| {}).unwrap(), data)
    }

    #[test]
    fn a_target_without_demonstrations_is_served_by_the_tuned_network_only_when_it_is_a_transfer_target() {
        let (prior, data) = small_prior_and_data();
        let bc = BcConfig { steps: 40, batch_size: 32, transfer_to: vec![TaskId::Push], ..BcConfig::default() };
        let tuned = finetune(&prior, &data, &bc, &mut |_| {}).unwrap();
        let gap = |task: TaskId| {
            let obs = [Episode::new(task, 3).observation()];
            let (a, b) = (tuned.act(&obs)[0], prior.act(&obs)[0]);
            a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
        };
        // Push had no demonstrations but is a transfer target: what fine-tuning on reach
        // changed in the shared network reaches it. Door opening, neither, stays the prior.
        assert!(gap(TaskId::Push) > 1e-3, "push: {}", gap(TaskId::Push));
        assert!(gap(TaskId::DoorOpen) < 0.01 * gap(TaskId::Push), "door_open: {}", gap(TaskId::DoorOpen));
    }

    #[test]
    fn a_run_resumes_from_a_portable_snapshot_where_it_stopped() {
        let (prior, data) = small_prior_and_data();
        let bc = BcConfig { steps: 40, batch_size: 32, ..BcConfig::default() };
        let tuned = finetune(&prior, &data, &bc, &mut |_| {}).unwrap();
        // A snapshot of the tuned policy's parameters "at step 30", through bytes.
        let values = block_on(super::super::transfer::read_parameters(&tuned)).unwrap();
        let portable = Snapshot { step: 30, values }.to_portable().unwrap();
        let snapshot = Snapshot::from_portable(&portable).unwrap();

        let mut steps = Vec::new();
        let checkpointing = Checkpointing { resume: Some(snapshot), on_snapshot: None };
        let resumed =
            block_on(finetune_with_fallback(&crate::policy::cpu(), &prior, &data, &bc, checkpointing, &mut |p| steps.push(p.step), &mut |_, _| {}))
                .unwrap();
        assert_eq!(steps, (31..=40).collect::<Vec<_>>(), "only the steps after the snapshot run");
        // It went on from the snapshot's weights, not from the prior's: ten more steps
        // leave it nearer where the snapshot was than where the prior is.
        let obs = [Episode::new(TaskId::Reach, 9).observation()];
        let gap = |a: [f32; 4], b: [f32; 4]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        let (from_snapshot, from_prior) = (tuned.act(&obs)[0], prior.act(&obs)[0]);
        let after = resumed.act(&obs)[0];
        let moved = gap(from_snapshot, from_prior);
        assert!(moved > 1e-3, "fine-tuning moved the policy away from the prior: {moved}");
        assert!(gap(after, from_snapshot) < gap(after, from_prior), "{after:?} {from_snapshot:?} {from_prior:?}");

        let mut broken = portable.clone();
        broken.tensors[0].values.pop();
        assert!(Snapshot::from_portable(&broken).is_err());
    }
}
