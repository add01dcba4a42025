//! A fine-tuned policy with the adaptive prior: a frozen copy of the pre-trained policy
//! and a per-task gate `alpha(c)` in [0, 1] mixing the two,
//! `pi(s, c) = alpha(c) * pi_theta(s, c) + (1 - alpha(c)) * pi_0(s, c)`.
//! Without the gate (plain or L2-regularised fine-tuning) `alpha` is 1 everywhere.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use super::network::Policy;
use crate::tasks::observation::TASK_ONE_HOT;
use crate::tasks::{TaskId, NUM_TASKS};

/// The gate parameter of a task with no demonstrations: `alpha = sigmoid(-10)`, about
/// 5e-5, so the prior alone acts there.
const CLOSED_GATE: f32 = -1.0;

/// The gate parameter of a task served through related tasks' demonstrations:
/// `alpha = sigmoid(10)`, the tuned network alone.
const OPEN_GATE: f32 = 1.0;

/// The gate's logits are this multiple of the trained parameter, so the gate moves at a
/// useful speed under Adam's step sizes, which are tuned for the network's weights.
const GATE_SCALE: f32 = 10.0;

#[derive(Module, Debug)]
pub struct FineTunedPolicy {
    pub tuned: Policy,
    /// The pre-trained policy; never trained (its parameters take no gradient).
    pub prior: Policy,
    /// `alpha(c) = sigmoid(GATE_SCALE * gate[c])`.
    gate: Param<Tensor<1>>,
    /// Whether the gate is in use; without it the output is the tuned network's alone.
    gated: bool,
}

impl FineTunedPolicy {
    /// Starts from `prior`: the tuned copy equals it, and the gate is half open.
    pub fn new(prior: &Policy, gated: bool, device: &Device) -> FineTunedPolicy {
        FineTunedPolicy {
            tuned: prior.clone(),
            prior: prior.clone().no_grad(),
            gate: Param::from_tensor(Tensor::zeros([NUM_TASKS], device)).set_require_grad(gated),
            gated,
        }
    }

    /// Sets where each gate starts. A `demonstrated` task's is half open. Every other
    /// task's is closed: with no demonstration there is nothing to pay for moving away
    /// from the prior, so the prior acts alone there from the first step (rather than
    /// only once the penalty has closed a half-open gate, which takes more steps than a
    /// short round has). But a task in `transfer_to` (a target that cannot be
    /// demonstrated) starts open: only the tuned network can carry to it what related
    /// tasks' demonstrations teach. Its gate is saturated, so the penalty's gradient
    /// there is tiny; Adam's normalised steps still move it, by at most the learning rate
    /// per step (500 steps: alpha from 0.99995 to about 0.993).
    pub fn set_gates(mut self, demonstrated: &[bool; NUM_TASKS], transfer_to: &[TaskId]) -> FineTunedPolicy {
        let device = self.gate.val().device();
        let values: Vec<f32> = demonstrated
            .iter()
            .zip(TaskId::ALL)
            .map(|(&d, task)| if d { 0.0 } else if transfer_to.contains(&task) { OPEN_GATE } else { CLOSED_GATE })
            .collect();
        self.gate = Param::from_tensor(Tensor::from_data(TensorData::new(values, [NUM_TASKS]), &device)).set_require_grad(self.gated);
        self
    }

    pub fn is_gated(&self) -> bool {
        self.gated
    }

    /// `alpha(c)` for every task, `[NUM_TASKS]`.
    pub fn alphas(&self) -> Tensor<1> {
        if self.gated {
            sigmoid(self.gate.val() * GATE_SCALE)
        } else {
            Tensor::ones([NUM_TASKS], &self.gate.val().device())
        }
    }

    /// Per-row `alpha`, `[n, 1]`, read from the observations' task one-hot.
    pub(super) fn row_alphas(&self, obs: &Tensor<2>) -> Tensor<2> {
        let [n, _] = obs.dims();
        let one_hot = obs.clone().slice([0..n, TASK_ONE_HOT]);
        one_hot.matmul(self.alphas().unsqueeze_dim::<2>(1))
    }

    /// Mean action, `[n, ACTION_DIM]`.
    pub fn forward(&self, obs: Tensor<2>) -> Tensor<2> {
        let embedding = self.tuned.embed(obs.clone());
        self.forward_from_embedding(obs, embedding)
    }

    /// [`FineTunedPolicy::forward`] given the tuned network's embedding of `obs`, for a
    /// caller that needs the embedding too (the selector): the tuned network's hidden
    /// layers then run once, not twice.
    pub fn forward_from_embedding(&self, obs: Tensor<2>, embedding: Tensor<2>) -> Tensor<2> {
        let tuned = self.tuned.mean_from_embedding(embedding);
        if !self.gated {
            return tuned;
        }
        let alpha = self.row_alphas(&obs);
        let prior = self.prior.forward(obs).detach();
        alpha.clone() * tuned + (alpha.neg() + 1.0) * prior
    }
}
