//! The Gaussian-process posterior the selectors score with, in f64 (but for the data's
//! share of the covariance, one wide product taken in f32: see [`JointPosterior::given_data`]).
//!
//! The posterior covariance of a GP observed with noise depends only on where it was
//! observed, not on the observed values: `var_X(x) = k(x,x) - k(x,X) (K(X,X) + rho^2 I)^-1
//! k(X,x)`. So a demonstration can be scored before it exists. [`JointPosterior`] holds
//! the covariance of a set of query points (the proxies of target states and of
//! candidate demonstrations) given the demonstrations collected so far;
//! [`CandidatePosterior`] is the part of it that greedy batch selection reads, and
//! conditions on a candidate (a rank-k update) as each pick is made.

use std::ops::Range;

use nalgebra::DMatrix;
use thiserror::Error;

use super::blocked;

#[derive(Debug, Error, PartialEq)]
pub enum GpError {
    #[error("the kernel matrix is not positive definite even with jitter")]
    NotPositiveDefinite,
    #[error("the noise level must be positive and finite, got {0}")]
    BadNoise(f64),
    #[error("the kernel matrix holds a non-finite value")]
    NonFinite,
    #[error("every data point stands for at least one observation")]
    BadWeights,
}

/// The lower Cholesky factor of `m + noise * I`, retried with growing jitter if rounding
/// makes a positive semi-definite matrix look indefinite.
fn factor(m: DMatrix<f64>, noise: f64) -> Result<DMatrix<f64>, GpError> {
    factor_with(m, |_| noise)
}

/// The lower Cholesky factor of `m + diag(noise(i))`, as [`factor`].
fn factor_with(mut m: DMatrix<f64>, noise: impl Fn(usize) -> f64) -> Result<DMatrix<f64>, GpError> {
    let n = m.nrows();
    let scale = (0..n).map(|i| m[(i, i)].abs()).fold(0.0, f64::max).max(1.0);
    for i in 0..n {
        m[(i, i)] += noise(i);
    }
    let mut jitter = 0.0;
    for _ in 0..6 {
        let mut attempt = m.clone();
        for i in 0..n {
            attempt[(i, i)] += jitter;
        }
        if let Some(l) = blocked::cholesky(attempt) {
            return Ok(l);
        }
        jitter = if jitter == 0.0 { 1e-10 * scale } else { jitter * 100.0 };
    }
    Err(GpError::NotPositiveDefinite)
}

/// Posterior covariance of query points given noisy observations elsewhere.
#[derive(Clone, Debug)]
pub struct JointPosterior {
    covariance: DMatrix<f64>,
    noise: f64,
}

impl JointPosterior {
    /// The prior: `k_ss` is the kernel among the query points; `noise` is `rho^2`.
    pub fn prior(k_ss: DMatrix<f64>, noise: f64) -> Result<JointPosterior, GpError> {
        if !(noise > 0.0 && noise.is_finite()) {
            return Err(GpError::BadNoise(noise));
        }
        if k_ss.iter().any(|v| !v.is_finite()) {
            return Err(GpError::NonFinite);
        }
        Ok(JointPosterior { covariance: k_ss, noise })
    }

    /// The posterior given observations at data points: `k_dd` among the data, `k_sd`
    /// between query points (rows) and data (columns); data point `i` stands for
    /// `weights[i]` observations (its noise is `noise / weights[i]`, the noise of their
    /// mean; see [`super::PoolSample`]).
    pub fn given_data(k_ss: DMatrix<f64>, k_sd: &DMatrix<f64>, k_dd: DMatrix<f64>, weights: &[f64], noise: f64) -> Result<JointPosterior, GpError> {
        let mut posterior = JointPosterior::prior(k_ss, noise)?;
        if k_dd.nrows() == 0 {
            return Ok(posterior);
        }
        if k_sd.iter().chain(k_dd.iter()).chain(weights).any(|v| !v.is_finite()) {
            return Err(GpError::NonFinite);
        }
        if weights.len() != k_dd.nrows() || weights.iter().any(|&w| w < 1.0) {
            return Err(GpError::BadWeights);
        }
        let l = factor_with(k_dd, |i| noise / weights[i])?;
        // K_SD (K_DD + rho^2 I)^-1 K_DS = V^T V with V = L^-1 K_DS.
        let v = blocked::solve_lower(&l, &k_sd.transpose()).ok_or(GpError::NotPositiveDefinite)?;
        // A matrix product (blocked, vectorised) rather than gemm_tr (a dot product per
        // entry): measured 2x faster for the crowd's batches. Taken in f32, whose
        // matrixmultiply kernels are vectorised in wasm too (the f64 one is scalar
        // there): the entries of V are at most the kernel's scale, so the product's
        // rounding (about 1e-6 on a unit diagonal) is far below the noise rho^2 every
        // variance is compared with.
        let v32 = v.map(|x| x as f32);
        posterior.covariance -= (v32.transpose() * v32).map(f64::from);
        symmetrize(&mut posterior.covariance);
        Ok(posterior)
    }

    /// The part of this posterior that greedy selection reads: see [`CandidatePosterior`].
    /// `candidates` and `targets` are query indices; the result's row `i` is
    /// `candidates[i]`, its column `j` is `candidates[j]` and then `targets[j -
    /// candidates.len()]` (a target that is also a candidate is a column twice, and both
    /// are updated alike).
    pub fn for_selection(&self, candidates: &[usize], targets: &[usize]) -> CandidatePosterior {
        let columns: Vec<usize> = candidates.iter().chain(targets).copied().collect();
        CandidatePosterior {
            rows: DMatrix::from_fn(candidates.len(), columns.len(), |i, j| self.covariance[(candidates[i], columns[j])] as f32),
            variance: columns.iter().map(|&i| self.covariance[(i, i)]).collect(),
            candidates: candidates.len(),
            noise: self.noise,
        }
    }

    pub fn len(&self) -> usize {
        self.covariance.nrows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Posterior variance of query point `i` (never below zero).
    pub fn variance(&self, i: usize) -> f64 {
        self.covariance[(i, i)].max(0.0)
    }
}

/// Averages a square matrix with its transpose, in place (rounding in the updates must
/// not make it drift from symmetric).
fn symmetrize(c: &mut DMatrix<f64>) {
    for j in 0..c.ncols() {
        for i in 0..j {
            let mean = 0.5 * (c[(i, j)] + c[(j, i)]);
            c[(i, j)] = mean;
            c[(j, i)] = mean;
        }
    }
}

/// What greedy selection reads of a [`JointPosterior`], and all that conditioning on a
/// candidate changes of it: the covariance between the candidate points (rows) and every
/// point read (columns: the candidates in the same order, then the targets), and each
/// column's variance. Exact: a rank-k update on candidates reads only candidate rows, so
/// it touches `candidates x columns` entries rather than every pair of query points (the
/// covariance among the targets, and of points neither candidate nor target, is never
/// read). A task's candidates are a range of rows, and the targets a range of columns, so
/// what a score reads is a block, not a gather.
///
/// The covariance is kept in f32, as the data's share in [`JointPosterior::given_data`]
/// and for the same reason: the rounding, about 1e-6 of a unit diagonal a pick, stays far
/// below the noise every variance is compared with, and f32's matrix products are twice
/// as fast. The variances are kept in f64.
#[derive(Clone, Debug)]
pub struct CandidatePosterior {
    rows: DMatrix<f32>,
    variance: Vec<f64>,
    candidates: usize,
    noise: f64,
}

impl CandidatePosterior {
    /// Posterior variance at column `j` (never below zero).
    pub fn variance(&self, j: usize) -> f64 {
        self.variance[j].max(0.0)
    }

    /// Information gain about noisy observations at the targets (with weights
    /// `target_weights`, one a target column) from noisy observations at the candidate
    /// rows `observed`: `sum_t w_t * 1/2 * log((var(t) + rho^2) / (var_{+observed}(t) +
    /// rho^2))`. The targets are the expert's actions, which are noisy: a state whose
    /// action is already known to within the noise has little left to learn, however
    /// small its variance still is relative to where it started.
    pub fn gain(&self, observed: Range<usize>, target_weights: &[f64]) -> Result<f64, GpError> {
        if observed.is_empty() || target_weights.is_empty() {
            return Ok(0.0);
        }
        let whitener = self.whitener(observed.clone(), self.noise)?;
        let reduction = whitener * self.rows.view((observed.start, self.candidates), (observed.len(), target_weights.len()));
        Ok(target_weights
            .iter()
            .enumerate()
            .zip(reduction.column_iter())
            .map(|((t, &w), r)| {
                let variance = self.variance(self.candidates + t);
                let before = variance + self.noise;
                let after = (variance - f64::from(r.norm_squared())).max(0.0) + self.noise;
                w * 0.5 * (before / after).ln()
            })
            .sum())
    }

    /// Conditions on noisy observations at the candidate rows `observed` (a rank-k
    /// update): what the next greedy pick is scored against.
    pub fn condition_on(&mut self, observed: Range<usize>) -> Result<(), GpError> {
        self.condition_on_repeated(observed, 1)
    }

    /// Conditions on `times` independent noisy observations at `observed` at once:
    /// their mean is one observation with noise `rho^2 / times`, and the posterior
    /// covariance is the same as conditioning `times` times (one factorisation instead of
    /// `times`: a crowd's many demonstrations in flight of one task).
    pub fn condition_on_repeated(&mut self, observed: Range<usize>, times: usize) -> Result<(), GpError> {
        if observed.is_empty() || times == 0 {
            return Ok(());
        }
        let whitener = self.whitener(observed.clone(), self.noise / times as f64)?;
        let v = whitener * self.rows.rows(observed.start, observed.len());
        for (variance, column) in self.variance.iter_mut().zip(v.column_iter()) {
            *variance -= f64::from(column.norm_squared());
        }
        // In place: a new matrix each pick was page faults and copies as much as
        // arithmetic. The square block is not made symmetric again: the factor reads
        // one triangle of it, and what rounding leaves between the two is f32's.
        let left = v.columns(0, self.candidates).transpose();
        self.rows.gemm(-1.0, &left, &v, 1.0);
        Ok(())
    }

    /// `L^-1` for the factor `L` of the covariance among the rows `observed` plus
    /// `noise` (tens of rows): taken once and applied as one matrix product, which is
    /// blocked and vectorised where a triangular solve goes column by column.
    fn whitener(&self, observed: Range<usize>, noise: f64) -> Result<DMatrix<f32>, GpError> {
        let k = observed.len();
        let block = DMatrix::from_fn(k, k, |i, j| f64::from(self.rows[(observed.start + i, observed.start + j)]));
        let inverse = blocked::lower_inverse(&factor(block, noise)?).ok_or(GpError::NotPositiveDefinite)?;
        Ok(inverse.map(|x| x as f32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What selection reads is kept in f32 (see [`CandidatePosterior`]): its values
    /// agree with the f64 formulas to this.
    const F32: f64 = 1e-6;

    fn matrix(rows: usize, values: &[f64]) -> DMatrix<f64> {
        DMatrix::from_row_slice(rows, values.len() / rows, values)
    }

    #[test]
    fn one_observation_of_a_unit_variance_point() {
        // Prior var 1, one noisy observation of the same point: var = 1 - 1/(1+rho^2).
        let rho2 = 0.25;
        let mut p = JointPosterior::prior(matrix(1, &[1.0]), rho2).unwrap().for_selection(&[0], &[0]);
        let gain = p.gain(0..1, &[1.0]).unwrap();
        let after = 1.0 - 1.0 / (1.0 + rho2);
        assert!((gain - 0.5 * ((1.0 + rho2) / (after + rho2)).ln()).abs() < F32);
        p.condition_on(0..1).unwrap();
        assert!((p.variance(0) - after).abs() < F32);
    }

    #[test]
    fn correlated_points_closed_form() {
        // Two points with correlation c: observing the second leaves
        // var(first) = 1 - c^2 / (1 + rho^2).
        let (c, rho2) = (0.6, 0.1);
        let p = JointPosterior::prior(matrix(2, &[1.0, c, c, 1.0]), rho2).unwrap().for_selection(&[1], &[0]);
        let gain = p.gain(0..1, &[1.0]).unwrap();
        let after = 1.0 - c * c / (1.0 + rho2);
        assert!((gain - 0.5 * ((1.0 + rho2) / (after + rho2)).ln()).abs() < F32);
        // Uncorrelated points inform nothing.
        let q = JointPosterior::prior(matrix(2, &[1.0, 0.0, 0.0, 1.0]), rho2).unwrap().for_selection(&[1], &[0]);
        assert_eq!(q.gain(0..1, &[1.0]).unwrap(), 0.0);
    }

    #[test]
    fn data_posterior_equals_the_textbook_formula() {
        // Query point q and data point d with k(q,q)=2, k(q,d)=1, k(d,d)=1.5.
        let rho2 = 0.5;
        let p = JointPosterior::given_data(matrix(1, &[2.0]), &matrix(1, &[1.0]), matrix(1, &[1.5]), &[1.0], rho2).unwrap();
        // To f32's precision: the data's share is a product in f32 (see `given_data`).
        assert!((p.variance(0) - (2.0 - 1.0 / (1.5 + rho2))).abs() < 1e-6);
    }

    #[test]
    fn a_weighted_data_point_is_as_many_observations_of_it() {
        // Query q and two data points; the second weighted 3 equals it observed 3 times.
        let rho2 = 0.3;
        let k = matrix(3, &[2.0, 0.8, 0.5, 0.8, 1.5, 0.2, 0.5, 0.2, 1.0]);
        let k_ss = k.view((0, 0), (1, 1)).into_owned();
        let weighted = JointPosterior::given_data(k_ss.clone(), &k.view((0, 1), (1, 2)).into_owned(), k.view((1, 1), (2, 2)).into_owned(), &[1.0, 3.0], rho2).unwrap();
        let mut repeated = JointPosterior::prior(k.clone(), rho2).unwrap().for_selection(&[0, 1, 2], &[]);
        repeated.condition_on(1..2).unwrap();
        repeated.condition_on_repeated(2..3, 3).unwrap();
        assert!((weighted.variance(0) - repeated.variance(0)).abs() < 1e-6);
        // A weight below one is refused.
        let bad = JointPosterior::given_data(k_ss, &k.view((0, 1), (1, 2)).into_owned(), k.view((1, 1), (2, 2)).into_owned(), &[1.0, 0.5], rho2);
        assert_eq!(bad.unwrap_err(), GpError::BadWeights);
    }

    #[test]
    fn conditioning_on_a_point_removes_its_variance() {
        // With a tiny noise level, observing a point leaves (almost) no variance there,
        // and conditioning twice on it changes nothing more than the noise allows.
        let k = matrix(3, &[1.0, 0.5, 0.2, 0.5, 1.0, 0.3, 0.2, 0.3, 1.0]);
        let mut p = JointPosterior::prior(k, 1e-8).unwrap().for_selection(&[0, 1, 2], &[]);
        p.condition_on(1..2).unwrap();
        assert!(p.variance(1) < 1e-7);
        assert!((p.variance(0) - (1.0 - 0.25)).abs() < 1e-6);
    }

    #[test]
    fn batch_conditioning_equals_joint_observation() {
        // Conditioning on a then b equals conditioning on {a, b} at once.
        let k = matrix(3, &[1.0, 0.5, 0.2, 0.5, 1.0, 0.3, 0.2, 0.3, 1.0]);
        let rho2 = 0.1;
        let mut sequential = JointPosterior::prior(k.clone(), rho2).unwrap().for_selection(&[0, 1, 2], &[]);
        sequential.condition_on(0..1).unwrap();
        sequential.condition_on(1..2).unwrap();
        let mut joint = JointPosterior::prior(k, rho2).unwrap().for_selection(&[0, 1, 2], &[]);
        joint.condition_on(0..2).unwrap();
        assert!((sequential.variance(2) - joint.variance(2)).abs() < F32);
    }

    #[test]
    fn repeated_observations_at_once_equal_conditioning_again_and_again() {
        let k = matrix(3, &[1.0, 0.5, 0.2, 0.5, 1.0, 0.3, 0.2, 0.3, 1.0]);
        let rho2 = 0.4;
        let mut again = JointPosterior::prior(k.clone(), rho2).unwrap().for_selection(&[0, 1, 2], &[]);
        for _ in 0..5 {
            again.condition_on(0..2).unwrap();
        }
        let mut at_once = JointPosterior::prior(k, rho2).unwrap().for_selection(&[0, 1, 2], &[]);
        at_once.condition_on_repeated(0..2, 5).unwrap();
        for i in 0..3 {
            assert!((again.variance(i) - at_once.variance(i)).abs() < F32, "point {i}");
        }
        // The noise of later observations is still rho^2, not the mean's.
        assert_eq!(at_once.noise, rho2);
    }

    #[test]
    fn the_candidates_block_scores_and_conditions_as_the_whole_posterior_does() {
        // Five points: candidates 3 and 1 (in that order), targets 0, 4 and 3, and
        // point 2 never read. Every gain and variance read through the block, before and after
        // conditioning, equals the whole covariance's, conditioned the textbook way.
        let a = matrix(5, &[
            1.0, 0.3, -0.2, 0.5, 0.1, //
            0.2, 1.1, 0.4, -0.3, 0.6, //
            0.0, 0.5, 0.9, 0.2, -0.1, //
            0.4, -0.2, 0.3, 1.2, 0.2, //
            -0.1, 0.3, 0.2, 0.1, 0.8,
        ]);
        let k = &a * a.transpose();
        let rho2 = 0.3;
        let whole = |observed: &[usize], times: f64| -> DMatrix<f64> {
            if observed.is_empty() {
                return k.clone();
            }
            let mut k_oo = k.select_rows(observed).select_columns(observed);
            for i in 0..observed.len() {
                k_oo[(i, i)] += rho2 / times;
            }
            let k_o = k.select_rows(observed);
            &k - k_o.transpose() * k_oo.try_inverse().unwrap() * k_o
        };
        let gain = |c: &DMatrix<f64>, observed: &[usize], targets: &[(usize, f64)]| -> f64 {
            let after = {
                let mut k_oo = c.select_rows(observed).select_columns(observed);
                for i in 0..observed.len() {
                    k_oo[(i, i)] += rho2;
                }
                let c_o = c.select_rows(observed);
                c - c_o.transpose() * k_oo.try_inverse().unwrap() * c_o
            };
            targets.iter().map(|&(t, w)| w * 0.5 * ((c[(t, t)] + rho2) / (after[(t, t)] + rho2)).ln()).sum()
        };
        // Point 3 is a target too: its column appears twice and is updated alike.
        let mut block = JointPosterior::prior(k.clone(), rho2).unwrap().for_selection(&[3, 1], &[0, 4, 3]);
        let weights = [0.5, 0.3, 0.2];
        let targets = [(0, 0.5), (4, 0.3), (3, 0.2)];
        for (step, observed_whole) in [vec![], vec![3], vec![3, 3, 3]].iter().enumerate() {
            if step == 1 {
                block.condition_on(0..1).unwrap();
            } else if step == 2 {
                block.condition_on_repeated(0..1, 2).unwrap();
            }
            let c = whole(if observed_whole.is_empty() { &[] } else { &[3] }, observed_whole.len() as f64);
            for (j, &i) in [3, 1, 0, 4, 3].iter().enumerate() {
                assert!((block.variance(j) - c[(i, i)]).abs() < F32, "step {step}, column {j}");
            }
            for (rows, whole_index) in [(0..1, vec![3]), (1..2, vec![1]), (0..2, vec![3, 1])] {
                let expected = gain(&c, &whole_index, &targets);
                assert!((block.gain(rows, &weights).unwrap() - expected).abs() < F32, "step {step}, observing {whole_index:?}");
            }
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert_eq!(JointPosterior::prior(matrix(1, &[1.0]), 0.0).unwrap_err(), GpError::BadNoise(0.0));
        assert_eq!(JointPosterior::prior(matrix(1, &[f64::NAN]), 0.1).unwrap_err(), GpError::NonFinite);
    }
}
