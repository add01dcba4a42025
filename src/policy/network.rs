//! The policy network: observation normalisation, two hidden layers with layer norm,
//! a mean head, and a learned log standard deviation per task (a Gaussian head, so the
//! selector can use the predictive distribution). The standard deviation is a table
//! indexed by the task one-hot rather than a function of the state: a task that
//! pre-training never saw keeps its initial, wide distribution instead of inheriting
//! the confidence learned on other tasks, which is what lets the selector see where
//! the policy does not know.

use burn::module::Param;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

use crate::sim::ACTION_DIM;
use crate::tasks::observation::TASK_ONE_HOT;
use crate::tasks::{TaskId, DESCRIPTOR_DIM, NUM_TASKS, OBS_DIM};

/// Shape of the network (defaults in the field docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyConfig {
    /// Width of both hidden layers (default: 256).
    pub hidden: usize,
    /// Initial log standard deviation of the action distribution (default: 0, a standard
    /// deviation as wide as the action range, since actions lie in [-1, 1]): what a
    /// task never trained on keeps.
    pub initial_log_std: f32,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig { hidden: 256, initial_log_std: 0.0 }
    }
}

/// Per-dimension observation mean and standard deviation. The task one-hot is left as it
/// is (mean 0, std 1): unseen tasks' bits are all zero in pre-training data (and the
/// network reads the task through its descriptor instead).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NormStats {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl NormStats {
    /// Statistics of `n` observations stored row-major in `obs`.
    pub fn from_observations(obs: &[f32]) -> NormStats {
        let n = (obs.len() / OBS_DIM).max(1) as f64;
        let mut mean = vec![0.0f64; OBS_DIM];
        let mut square = vec![0.0f64; OBS_DIM];
        for row in obs.chunks_exact(OBS_DIM) {
            for (i, &x) in row.iter().enumerate() {
                mean[i] += f64::from(x);
                square[i] += f64::from(x) * f64::from(x);
            }
        }
        let mut stats = NormStats { mean: vec![0.0; OBS_DIM], std: vec![1.0; OBS_DIM] };
        for i in 0..OBS_DIM {
            if TASK_ONE_HOT.contains(&i) {
                continue;
            }
            let m = mean[i] / n;
            stats.mean[i] = m as f32;
            stats.std[i] = ((square[i] / n - m * m).max(0.0).sqrt() as f32).max(1e-3);
        }
        stats
    }

    pub fn identity() -> NormStats {
        NormStats { mean: vec![0.0; OBS_DIM], std: vec![1.0; OBS_DIM] }
    }
}

#[derive(Module, Debug)]
pub struct Policy {
    /// Saved with the weights but never trained.
    obs_mean: Param<Tensor<1>>,
    obs_inv_std: Param<Tensor<1>>,
    /// Each task's descriptor (`TaskId::descriptor`), `[NUM_TASKS, DESCRIPTOR_DIM]`:
    /// the network reads the task through it, not through the one-hot. Saved, never
    /// trained.
    task_descriptors: Param<Tensor<2>>,
    hidden1: Linear,
    norm1: LayerNorm,
    hidden2: Linear,
    norm2: LayerNorm,
    mean_head: Linear,
    /// Log standard deviation per task and action component, `[NUM_TASKS, ACTION_DIM]`.
    task_log_std: Param<Tensor<2>>,
}

/// The first layer, over the normalised state and the task's descriptor. The
/// descriptor's weights start at zero, so a part of a descriptor that no training data
/// carried (a variant's "raised", an unseen mechanism) changes nothing: an untried
/// variant acts as its family's known task does until demonstrations of it teach the
/// difference, instead of as random weights would have it.
fn first_layer(hidden: usize, device: &Device) -> Linear {
    let state = TASK_ONE_HOT.start;
    let mut layer = LinearConfig::new(state + DESCRIPTOR_DIM, hidden).init(device);
    let weight = layer.weight.val().slice_assign([state..state + DESCRIPTOR_DIM, 0..hidden], Tensor::zeros([DESCRIPTOR_DIM, hidden], device));
    layer.weight = Param::from_tensor(weight.detach());
    layer
}

impl Policy {
    pub fn new(config: &PolicyConfig, stats: &NormStats, device: &Device) -> Policy {
        let constant = |values: Vec<f32>| {
            let n = values.len();
            Param::from_tensor(Tensor::from_data(TensorData::new(values, [n]), device)).set_require_grad(false)
        };
        Policy {
            obs_mean: constant(stats.mean.clone()),
            obs_inv_std: constant(stats.std.iter().map(|s| 1.0 / s).collect()),
            task_descriptors: Param::from_tensor(Tensor::from_data(
                TensorData::new(TaskId::ALL.iter().flat_map(|t| t.descriptor()).collect::<Vec<f32>>(), [NUM_TASKS, DESCRIPTOR_DIM]),
                device,
            ))
            .set_require_grad(false),
            hidden1: first_layer(config.hidden, device),
            norm1: LayerNormConfig::new(config.hidden).init(device),
            hidden2: LinearConfig::new(config.hidden, config.hidden).init(device),
            norm2: LayerNormConfig::new(config.hidden).init(device),
            mean_head: LinearConfig::new(config.hidden, ACTION_DIM).init(device),
            task_log_std: Param::from_tensor(Tensor::full([NUM_TASKS, ACTION_DIM], config.initial_log_std, device)),
        }
    }

    /// The penultimate activations `h(s, c)`, `[n, hidden]`: the selector's embedding.
    /// The first layer sees the normalised state and the task's descriptor.
    pub fn embed(&self, obs: Tensor<2>) -> Tensor<2> {
        let [n, _] = obs.dims();
        let task = obs.clone().slice([0..n, TASK_ONE_HOT]).matmul(self.task_descriptors.val());
        let x = (obs - self.obs_mean.val().unsqueeze::<2>()) * self.obs_inv_std.val().unsqueeze::<2>();
        let state = x.slice([0..n, 0..TASK_ONE_HOT.start]);
        let x = Tensor::cat(vec![state, task], 1);
        let x = relu(self.norm1.forward(self.hidden1.forward(x)));
        relu(self.norm2.forward(self.hidden2.forward(x)))
    }

    /// Mean action, `[n, ACTION_DIM]`.
    pub fn forward(&self, obs: Tensor<2>) -> Tensor<2> {
        self.mean_from_embedding(self.embed(obs))
    }

    /// Mean action from [`Policy::embed`]'s output (what `forward` computes after it).
    pub fn mean_from_embedding(&self, embedding: Tensor<2>) -> Tensor<2> {
        self.mean_head.forward(embedding)
    }

    /// Log standard deviation of each row's action components, `[n, ACTION_DIM]`, looked
    /// up by the observations' task one-hot.
    pub fn log_std(&self, obs: Tensor<2>) -> Tensor<2> {
        let [n, _] = obs.dims();
        obs.slice([0..n, TASK_ONE_HOT]).matmul(self.task_log_std.val())
    }

    /// The mean head's weights `[hidden, ACTION_DIM]` and bias `[ACTION_DIM]` (the
    /// selector's loss-gradient embedding is taken with respect to them).
    pub fn mean_head(&self) -> (Tensor<2>, Option<Tensor<1>>) {
        (self.mean_head.weight.val(), self.mean_head.bias.as_ref().map(|b| b.val()))
    }

    /// Squared distance of the trainable weights from `other`'s (for the L2 pull).
    pub fn squared_distance(&self, other: &Policy) -> Tensor<1> {
        let linear = |a: &Linear, b: &Linear| {
            let mut d = (a.weight.val() - b.weight.val()).square().sum();
            if let (Some(x), Some(y)) = (&a.bias, &b.bias) {
                d = d + (x.val() - y.val()).square().sum();
            }
            d
        };
        let norm = |a: &LayerNorm, b: &LayerNorm| {
            let mut d = (a.gamma.val() - b.gamma.val()).square().sum();
            if let (Some(x), Some(y)) = (&a.beta, &b.beta) {
                d = d + (x.val() - y.val()).square().sum();
            }
            d
        };
        linear(&self.hidden1, &other.hidden1)
            + norm(&self.norm1, &other.norm1)
            + linear(&self.hidden2, &other.hidden2)
            + norm(&self.norm2, &other.norm2)
            + linear(&self.mean_head, &other.mean_head)
            + (self.task_log_std.val() - other.task_log_std.val()).square().sum()
    }
}
