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

use super::dataset::{Dataset, DatasetError};
use super::finetuned::FineTunedPolicy;
use super::network::{NormStats, Policy, PolicyConfig};
use crate::sim::ACTION_DIM;
use crate::tasks::OBS_DIM;

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
    /// Seeds the initial weights and the minibatches (default: 0).
    pub seed: u64,
    /// Default: the adaptive prior with a gate penalty of 0.001.
    pub regularizer: Regularizer,
}

impl Default for BcConfig {
    fn default() -> Self {
        BcConfig {
            steps: 2000,
            batch_size: 256,
            learning_rate: 1e-3,
            seed: 0,
            regularizer: Regularizer::AdaptivePrior { gate_penalty: 0.001 },
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
    let device = training_device(&super::cpu(), bc.seed);
    let policy = Policy::new(config, &NormStats::from_observations(&data.observations), &device);
    let trained = block_on(fit(policy, 0, data, bc, &device, progress, 0, |policy, obs, actions| {
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
    Ok(finetune_from(device, prior, data, bc, None, progress, 0).await?)
}

/// Steps between snapshots when training on a device that may fail.
pub const SNAPSHOT_EVERY: usize = 25;

/// Fine-tunes on `device` and returns the policy on the CPU. If `device` fails (a lost
/// GPU), `on_fallback` is told and the run goes on on the CPU from its last snapshot,
/// so at most `SNAPSHOT_EVERY` steps are redone.
pub async fn finetune_with_fallback(
    device: &Device,
    prior: &Policy,
    data: &Dataset,
    bc: &BcConfig,
    progress: &mut dyn FnMut(TrainingProgress),
    on_fallback: &mut dyn FnMut(&BcError, usize),
) -> Result<FineTunedPolicy, BcError> {
    let cpu = super::cpu();
    match finetune_from(device, prior, data, bc, None, progress, SNAPSHOT_EVERY).await {
        Ok(model) => super::to_device_async(model, &cpu)
            .await
            .map_err(|e| BcError::Device { step: bc.steps, message: e.to_string() }),
        Err(Interrupted { error: error @ BcError::Device { .. }, snapshot }) => {
            on_fallback(&error, snapshot.as_ref().map_or(0, |s| s.step));
            Ok(finetune_from(&cpu, prior, data, bc, snapshot, progress, 0).await?)
        }
        Err(other) => Err(other.error),
    }
}

/// The fine-tuning run, from the prior or from `resume`.
async fn finetune_from(
    device: &Device,
    prior: &Policy,
    data: &Dataset,
    bc: &BcConfig,
    resume: Option<Snapshot>,
    progress: &mut dyn FnMut(TrainingProgress),
    snapshot_every: usize,
) -> Result<FineTunedPolicy, Interrupted> {
    let interrupted = |error: BcError| Interrupted { error, snapshot: None };
    data.validate().map_err(|e| interrupted(e.into()))?;
    let device = training_device(device, bc.seed);
    let gated = matches!(bc.regularizer, Regularizer::AdaptivePrior { .. });
    let mut model = FineTunedPolicy::new(&prior.clone().fork(&device).train(), gated, &device);
    if gated {
        model = model.close_undemonstrated(&data.tasks_present());
    }
    let first_step = resume.as_ref().map_or(0, |s| s.step);
    if let Some(snapshot) = resume {
        model = super::transfer::with_parameters(model, snapshot.values, &device);
    }
    let regularizer = bc.regularizer;
    let trained = fit(model, first_step, data, bc, &device, progress, snapshot_every, move |model, obs, actions| {
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

/// `device` with autodiff, seeded so initial weights are reproducible.
fn training_device(device: &Device, seed: u64) -> Device {
    let device = device.clone().autodiff();
    device.seed(seed);
    device
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
    loss: impl Fn(&M, Tensor<2>, Tensor<2>) -> (Tensor<1>, Tensor<1>),
) -> Result<M, Interrupted> {
    let rows = data.len();
    let observations = Tensor::<2>::from_data(TensorData::new(data.observations.clone(), [rows, OBS_DIM]), device);
    let actions = Tensor::<2>::from_data(TensorData::new(data.actions.clone(), [rows, ACTION_DIM]), device);
    let mut optimizer = AdamConfig::new().init();
    let mut rng = ChaCha8Rng::seed_from_u64(bc.seed);
    let draw = |rng: &mut ChaCha8Rng| -> Vec<i64> { (0..bc.batch_size).map(|_| rng.random_range(0..rows as i64)).collect() };
    for _ in 0..first_step {
        draw(&mut rng);
    }
    let mut snapshot: Option<Snapshot> = None;
    for step in first_step..bc.steps {
        if snapshot_every > 0 && step > first_step && step % snapshot_every == 0 {
            // A failed read-back here is the device failing: reported below.
            if let Ok(values) = super::transfer::read_parameters(&model).await {
                snapshot = Some(Snapshot { step, values });
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
        model = optimizer.step(bc.learning_rate, model, gradients);
        let action_mse = match mse.into_scalar_async::<f32>().await {
            Ok(v) => v,
            Err(e) => return Err(stop(device_failed(e), &snapshot)),
        };
        progress(TrainingProgress { step: step + 1, steps: bc.steps, action_mse, total_loss: total_value });
    }
    Ok(model)
}
