//! What the task selector reads from a policy: for a batch of inputs, the penultimate
//! activations, the predictive distribution of the action, and the gate.

use burn::prelude::*;

use super::eval::{batch, Actor};
use super::finetuned::FineTunedPolicy;
use super::network::Policy;
use crate::sim::ACTION_DIM;
use crate::tasks::Observation;

/// Per-row outputs of a policy, flat and row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub rows: usize,
    /// Width of the penultimate layer.
    pub hidden: usize,
    /// Penultimate activations `h(s, c)`, `rows x hidden`.
    pub embedding: Vec<f32>,
    /// Mean action, `rows x ACTION_DIM`.
    pub mean: Vec<f32>,
    /// Standard deviation of the action, `rows x ACTION_DIM`: the pre-trained policy's,
    /// which says what pre-training left uncertain (a fine-tuned network's own shrinks to
    /// the residuals of a handful of demonstrations and claims to know tasks it has
    /// seen twice).
    pub std: Vec<f32>,
    /// How much the output moves with the tuned network's last layer: the adaptive
    /// prior's gate `alpha(c)` of the row's task, 1 without a gate.
    pub last_layer_weight: Vec<f32>,
}

impl Prediction {
    pub fn embedding_of(&self, row: usize) -> &[f32] {
        &self.embedding[row * self.hidden..(row + 1) * self.hidden]
    }

    pub fn mean_of(&self, row: usize) -> &[f32] {
        &self.mean[row * ACTION_DIM..(row + 1) * ACTION_DIM]
    }

    pub fn std_of(&self, row: usize) -> &[f32] {
        &self.std[row * ACTION_DIM..(row + 1) * ACTION_DIM]
    }
}

/// A policy whose predictive distribution and embedding the selector can read.
pub trait Predictive: Actor {
    fn predict(&self, observations: &[Observation]) -> Prediction;
}

fn floats(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap_or_default()
}

/// The prediction given the network's embedding of `obs` (computed once: the mean is
/// taken from it by `mean_from`).
fn predict_with(
    network: &Policy,
    std_from: &Policy,
    mean_from: impl FnOnce(Tensor<2>) -> Tensor<2>,
    gate: Option<Tensor<2>>,
    obs: Tensor<2>,
) -> Prediction {
    let [rows, _] = obs.dims();
    let embedding = network.embed(obs.clone());
    let [_, hidden] = embedding.dims();
    let mean = mean_from(embedding.clone());
    let std = std_from.log_std(obs).exp();
    Prediction {
        rows,
        hidden,
        embedding: floats(embedding),
        mean: floats(mean),
        std: floats(std),
        last_layer_weight: gate.map(floats).unwrap_or_else(|| vec![1.0; rows]),
    }
}

impl Predictive for Policy {
    fn predict(&self, observations: &[Observation]) -> Prediction {
        let obs = batch(observations);
        predict_with(self, self, |embedding| self.mean_from_embedding(embedding), None, obs)
    }
}

impl Predictive for FineTunedPolicy {
    fn predict(&self, observations: &[Observation]) -> Prediction {
        let obs = batch(observations);
        let gate = self.is_gated().then(|| self.row_alphas(&obs));
        let rows = obs.clone();
        predict_with(&self.tuned, &self.prior, |embedding| self.forward_from_embedding(rows, embedding), gate, obs)
    }
}
