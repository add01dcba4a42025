//! Behavioral cloning, explicitly: sample a minibatch, forward, loss, backward, Adam step.
//! The loss is the squared error of the mean action plus the Gaussian negative
//! log-likelihood that fits the standard deviation (with the mean held fixed), plus the
//! chosen regulariser against forgetting.

use burn::optim::{AdamConfig, GradientsParams};
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
}

/// Trains a fresh policy on `data` (pre-training); normalisation comes from the data.
pub fn train_policy(
    config: &PolicyConfig,
    data: &Dataset,
    bc: &BcConfig,
    progress: &mut dyn FnMut(TrainingProgress),
) -> Result<Policy, BcError> {
    data.validate()?;
    let device = training_device(bc.seed);
    let policy = Policy::new(config, &NormStats::from_observations(&data.observations), &device);
    let trained = fit(policy, data, bc, &device, progress, |policy, obs, actions| {
        let log_std = policy.log_std(obs.clone());
        let (mse, nll) = cloning_losses(policy.forward(obs), log_std, actions);
        (mse.clone() + nll, mse)
    })?;
    Ok(trained.valid())
}

/// Fine-tunes from `prior` on `data` with `bc.regularizer`; the prior stays unchanged.
pub fn finetune(
    prior: &Policy,
    data: &Dataset,
    bc: &BcConfig,
    progress: &mut dyn FnMut(TrainingProgress),
) -> Result<FineTunedPolicy, BcError> {
    data.validate()?;
    let device = training_device(bc.seed);
    let gated = matches!(bc.regularizer, Regularizer::AdaptivePrior { .. });
    let model = FineTunedPolicy::new(&prior.clone().fork(&device).train(), gated, &device);
    let regularizer = bc.regularizer;
    let trained = fit(model, data, bc, &device, progress, move |model, obs, actions| {
        let log_std = model.tuned.log_std(obs.clone());
        let (mse, nll) = cloning_losses(model.forward(obs), log_std, actions);
        let total = mse.clone() + nll;
        let total = match regularizer {
            Regularizer::None => total,
            Regularizer::L2 { weight } => total + model.tuned.squared_distance(&model.prior) * weight,
            Regularizer::AdaptivePrior { gate_penalty } => total + model.alphas().sum() * gate_penalty,
        };
        (total, mse)
    })?;
    Ok(trained.valid())
}

/// The CPU backend with autodiff, seeded so initial weights are reproducible.
fn training_device(seed: u64) -> Device {
    let device = super::cpu().autodiff();
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

/// The shared loop: minibatches, forward and loss by `loss`, backward, Adam step.
fn fit<M: Module>(
    mut model: M,
    data: &Dataset,
    bc: &BcConfig,
    device: &Device,
    progress: &mut dyn FnMut(TrainingProgress),
    loss: impl Fn(&M, Tensor<2>, Tensor<2>) -> (Tensor<1>, Tensor<1>),
) -> Result<M, BcError> {
    let rows = data.len();
    let observations = Tensor::<2>::from_data(TensorData::new(data.observations.clone(), [rows, OBS_DIM]), device);
    let actions = Tensor::<2>::from_data(TensorData::new(data.actions.clone(), [rows, ACTION_DIM]), device);
    let mut optimizer = AdamConfig::new().init();
    let mut rng = ChaCha8Rng::seed_from_u64(bc.seed);
    for step in 0..bc.steps {
        let picks: Vec<i64> = (0..bc.batch_size).map(|_| rng.random_range(0..rows as i64)).collect();
        let picks = Tensor::<1, Int>::from_data(TensorData::new(picks, [bc.batch_size]), device);
        let (total, mse) = loss(&model, observations.clone().select(0, picks.clone()), actions.clone().select(0, picks));
        let total_value = total.clone().into_scalar::<f32>();
        if !total_value.is_finite() {
            return Err(BcError::Diverged { step, loss: total_value });
        }
        let gradients = GradientsParams::from_grads(total.backward(), &model);
        model = optimizer.step(bc.learning_rate, model, gradients);
        progress(TrainingProgress {
            step: step + 1,
            steps: bc.steps,
            action_mse: mse.into_scalar::<f32>(),
            total_loss: total_value,
        });
    }
    Ok(model)
}
