//! The selector's view of the integrator: the GP policy's own kernel and data, so the
//! selector reasons with exactly the model that acts ("AMF-GP"). The policy's data,
//! pre-training included, is the GP's data: the kernel knows where pre-training was.

use nalgebra::DMatrix;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{GpPolicy, Input, Trajectory, SLOTS};
use crate::select::{GpConfig, KernelProblem, Proxy, SelectError, SelectionView};

pub struct IntegratorView<'a> {
    pub policy: &'a GpPolicy,
    /// Demonstrations collected since pre-training.
    pub demonstrations: &'a [Trajectory],
    /// Inputs the current policy visited on each slot.
    pub rollouts: &'a [Vec<Input>],
    pub target_weights: Vec<f64>,
    /// Pre-training demonstrations per slot (privileged).
    pub pretraining: Vec<usize>,
    pub seed: u64,
}

impl SelectionView for IntegratorView<'_> {
    fn num_tasks(&self) -> usize {
        SLOTS
    }

    fn task_name(&self, task: usize) -> String {
        super::slot_name(task)
    }

    fn target_weights(&self) -> Vec<f64> {
        self.target_weights.clone()
    }

    fn demonstrations_per_task(&self) -> Vec<usize> {
        let mut counts = vec![0; SLOTS];
        for t in self.demonstrations {
            counts[t.instance.slot] += 1;
        }
        counts
    }

    fn pretraining_per_task(&self) -> Vec<usize> {
        self.pretraining.clone()
    }

    fn kernel_problem(&self, config: &GpConfig) -> Result<KernelProblem, SelectError> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x1a7e);
        let data: Vec<Input> = self.policy.inputs().to_vec();
        let mut query: Vec<Input> = Vec::new();
        let (mut targets, mut candidates, mut proxies) = (Vec::new(), Vec::new(), Vec::new());
        for slot in 0..SLOTS {
            let demos: Vec<&Trajectory> = self.demonstrations.iter().filter(|t| t.instance.slot == slot).collect();
            let mut pool: Vec<Input> = if demos.is_empty() {
                proxies.push(Proxy::Rollouts);
                self.rollouts[slot].clone()
            } else {
                proxies.push(Proxy::Demonstrations);
                demos.iter().flat_map(|t| t.inputs.iter().copied()).collect()
            };
            pool.shuffle(&mut rng);
            let wanted = config.target_states + config.candidate_states;
            let t: Vec<Input> = pool.iter().take(config.target_states).copied().collect();
            let x: Vec<Input> = if pool.len() >= wanted {
                pool[config.target_states..wanted].to_vec()
            } else {
                pool.iter().take(config.candidate_states).copied().collect()
            };
            let first = query.len();
            query.extend(&t);
            let n = t.len().max(1) as f64;
            targets.push((first..first + t.len()).map(|i| (i, 1.0 / n)).collect());
            let first = query.len();
            query.extend(&x);
            candidates.push((first..first + x.len()).collect());
        }
        let k = |a: &[Input], b: &[Input]| DMatrix::from_fn(a.len(), b.len(), |i, j| self.policy.config.kernel(&a[i], &b[j]));
        let data_weights = vec![1.0; data.len()];
        let mut problem = KernelProblem { k_ss: k(&query, &query), k_sd: k(&query, &data), k_dd: k(&data, &data), data_weights, targets, candidates, proxies };
        problem.normalise();
        Ok(problem)
    }
}
