//! The integrator's policy: exact GP regression of the expert's commands on the input
//! (position, goal direction) with a squared-exponential kernel; its mean is the action.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use super::{Command, Input, Trajectory};
use crate::select::GpError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpPolicyConfig {
    /// Length scale of the squared-exponential kernel (default 0.4).
    pub length_scale: f64,
    /// Observation noise variance of the commands (default 0.01).
    pub noise: f64,
    /// Every how many steps of a trajectory a training point is kept (default 2).
    pub stride: usize,
}

impl Default for GpPolicyConfig {
    fn default() -> Self {
        GpPolicyConfig { length_scale: 0.4, noise: 0.01, stride: 2 }
    }
}

impl GpPolicyConfig {
    /// `k(x, x') = exp(-|x - x'|^2 / (2 l^2))`.
    pub fn kernel(&self, a: &Input, b: &Input) -> f64 {
        let d2: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        (-d2 / (2.0 * self.length_scale * self.length_scale)).exp()
    }

    /// The training inputs a trajectory contributes.
    pub fn points<'a>(&self, t: &'a Trajectory) -> impl Iterator<Item = (&'a Input, &'a Command)> + 'a {
        let stride = self.stride.max(1);
        t.inputs.iter().zip(&t.commands).step_by(stride)
    }
}

/// The posterior mean of the expert's commands given demonstrations.
#[derive(Clone, Debug)]
pub struct GpPolicy {
    pub config: GpPolicyConfig,
    inputs: Vec<Input>,
    /// `(K + noise I)^-1 Y`, one column per command component.
    weights: DMatrix<f64>,
}

impl GpPolicy {
    /// Fits to every point of `trajectories`; with none, the policy commands nothing.
    pub fn fit(config: &GpPolicyConfig, trajectories: &[&Trajectory]) -> Result<GpPolicy, GpError> {
        let (inputs, commands): (Vec<Input>, Vec<Command>) =
            trajectories.iter().flat_map(|t| config.points(t).map(|(x, c)| (*x, *c))).unzip();
        let n = inputs.len();
        let mut k = DMatrix::from_fn(n, n, |i, j| config.kernel(&inputs[i], &inputs[j]));
        for i in 0..n {
            k[(i, i)] += config.noise;
        }
        let y = DMatrix::from_fn(n, 2, |i, j| commands[i][j]);
        let weights = if n == 0 {
            y
        } else {
            let chol = nalgebra::Cholesky::new(k).ok_or(GpError::NotPositiveDefinite)?;
            chol.solve(&y)
        };
        Ok(GpPolicy { config: config.clone(), inputs, weights })
    }

    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    pub fn act(&self, x: &Input) -> Command {
        if self.inputs.is_empty() {
            return [0.0, 0.0];
        }
        let k = DVector::from_iterator(self.inputs.len(), self.inputs.iter().map(|xi| self.config.kernel(x, xi)));
        let mean = self.weights.transpose() * k;
        [mean[0], mean[1]]
    }
}

#[cfg(test)]
mod tests {
    use super::super::{demonstrate, evaluate};
    use super::*;

    #[test]
    fn the_gp_policy_imitates_its_demonstrations_and_not_elsewhere() {
        let demos: Vec<Trajectory> = (0..4).map(|s| demonstrate(0, s, 0.02)).collect();
        let refs: Vec<&Trajectory> = demos.iter().collect();
        let policy = GpPolicy::fit(&GpPolicyConfig::default(), &refs).unwrap();
        let evaluation = evaluate(&policy, 5, 1000);
        assert!(evaluation.success[0] >= 0.8, "demonstrated slot: {:?}", evaluation.success);
        // The opposite side of the circle is far from every demonstration.
        assert_eq!(evaluation.success[6], 0.0);
    }
}
