//! Summaries of many runs: means over seeds with 90% bootstrap confidence intervals,
//! the area under the learning curve, and paired differences against uniform.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{CurvePoint, Run};
use crate::select::SelectorKind;

/// Bootstrap resamples behind every interval.
pub const RESAMPLES: usize = 2000;

/// Mean of `values` and the 5th and 95th percentiles of the mean over bootstrap
/// resamples (seeded, so summaries are reproducible).
pub fn bootstrap_mean(values: &[f64], seed: u64) -> (f64, [f64; 2]) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, [f64::NAN, f64::NAN]);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..RESAMPLES)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((q * (RESAMPLES - 1) as f64).round() as usize).min(RESAMPLES - 1)];
    (mean, [at(0.05), at(0.95)])
}

/// Area under the mean-success curve, normalised by the budget (so 1 is perfect from
/// the first demonstration): the trapezoid rule over the evaluated budgets.
pub fn auc(run: &Run) -> f64 {
    auc_of(&run.curve)
}

/// [`auc`] of a curve.
pub fn auc_of(c: &[CurvePoint]) -> f64 {
    let span = c.last().map_or(0, |p| p.demonstrations) as f64;
    if c.len() < 2 || span == 0.0 {
        return c.first().map_or(0.0, |p| p.mean_success);
    }
    c.windows(2)
        .map(|w| (w[1].demonstrations - w[0].demonstrations) as f64 * (w[0].mean_success + w[1].mean_success) / 2.0)
        .sum::<f64>()
        / span
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub mean: f64,
    pub ci90: [f64; 2],
}

impl Interval {
    /// The mean of `values` with its bootstrap interval ([`bootstrap_mean`]).
    pub fn of(values: &[f64], seed: u64) -> Interval {
        let (mean, ci90) = bootstrap_mean(values, seed);
        Interval { mean, ci90 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectorSummary {
    pub name: String,
    pub runs: usize,
    pub final_mean_success: f64,
    pub ci90: [f64; 2],
    pub auc: f64,
    pub auc_ci90: [f64; 2],
    /// The integrator's final mean distance to the goal.
    pub final_mean_error: Option<Interval>,
    /// Final mean success minus uniform's on the same seeds (paired), if uniform ran.
    pub difference_to_uniform: Option<Interval>,
    /// AMF's final mean success minus this selector's on the same seeds (paired), if AMF
    /// ran: where AMF must beat a baseline, not only uniform.
    #[serde(default)]
    pub amf_minus_final: Option<Interval>,
    /// The same for the area under the curve.
    #[serde(default)]
    pub amf_minus_auc: Option<Interval>,
    /// Demonstrations at which this selector's mean curve first reaches uniform's final
    /// mean success (linear between evaluated budgets), if uniform ran and it does.
    #[serde(default)]
    pub demonstrations_to_uniform_final: Option<f64>,
    /// Demonstrations asked for per task, summed over seeds.
    pub demonstrations_per_task: Vec<usize>,
    /// Mean wall-clock seconds per selection round.
    pub selection_seconds: f64,
}

fn final_of(run: &Run) -> f64 {
    run.curve.last().map_or(f64::NAN, |p| p.mean_success)
}

/// One summary per selector, in the order given.
pub fn summarise(runs: &[&Run], selectors: &[SelectorKind]) -> Vec<SelectorSummary> {
    let uniform: Vec<&Run> = runs.iter().copied().filter(|r| r.selector == SelectorKind::Uniform).collect();
    let amf: Vec<&Run> = runs.iter().copied().filter(|r| r.selector == SelectorKind::Amf).collect();
    let uniform_final = (!uniform.is_empty()).then(|| uniform.iter().map(|r| final_of(r)).sum::<f64>() / uniform.len() as f64);
    selectors
        .iter()
        .enumerate()
        .map(|(k, &selector)| {
            let mine: Vec<&Run> = runs.iter().copied().filter(|r| r.selector == selector).collect();
            let finals: Vec<f64> = mine.iter().map(|r| final_of(r)).collect();
            let (final_mean_success, ci90) = bootstrap_mean(&finals, 17 + k as u64);
            let aucs: Vec<f64> = mine.iter().map(|r| auc(r)).collect();
            let (auc_mean, auc_ci90) = bootstrap_mean(&aucs, 31 + k as u64);
            let errors: Vec<f64> = mine.iter().filter_map(|r| r.curve.last().and_then(|p| p.mean_error)).collect();
            let final_mean_error =
                (errors.len() == mine.len() && !errors.is_empty()).then(|| Interval::of(&errors, 43 + k as u64));
            let difference_to_uniform = paired(&mine, &uniform, |r, u| final_of(r) - final_of(u), 59 + k as u64);
            let is_amf = selector == SelectorKind::Amf;
            let amf_minus_final = if is_amf { None } else { paired(&mine, &amf, |r, a| final_of(a) - final_of(r), 71 + k as u64) };
            let amf_minus_auc = if is_amf { None } else { paired(&mine, &amf, |r, a| auc(a) - auc(r), 83 + k as u64) };
            let demonstrations_to_uniform_final = uniform_final.and_then(|level| first_reaching(&mean_curve(&mine, 0), level));
            let tasks = mine.first().map_or(0, |r| r.task_names.len());
            let mut demonstrations_per_task = vec![0; tasks];
            for r in &mine {
                for round in &r.rounds {
                    for &t in &round.picks {
                        demonstrations_per_task[t] += 1;
                    }
                }
            }
            let times: Vec<f64> = mine.iter().flat_map(|r| r.rounds.iter().map(|x| x.selection_seconds)).collect();
            SelectorSummary {
                name: selector.name().to_string(),
                runs: mine.len(),
                final_mean_success,
                ci90,
                auc: auc_mean,
                auc_ci90,
                final_mean_error,
                difference_to_uniform,
                amf_minus_final,
                amf_minus_auc,
                demonstrations_to_uniform_final,
                demonstrations_per_task,
                selection_seconds: times.iter().sum::<f64>() / times.len().max(1) as f64,
            }
        })
        .collect()
}

/// `difference(run, its twin)` for every run of `mine` that has a twin of the same seed in
/// `reference`, as a mean with its 90% interval (`None` without any pair).
fn paired(mine: &[&Run], reference: &[&Run], difference: impl Fn(&Run, &Run) -> f64, seed: u64) -> Option<Interval> {
    let differences: Vec<f64> =
        mine.iter().filter_map(|r| reference.iter().find(|t| t.seed == r.seed).map(|t| difference(r, t))).collect();
    (!differences.is_empty()).then(|| Interval::of(&differences, seed))
}

/// The first budget at which a mean curve reaches `level`, linear between evaluated
/// budgets (`None` if it never does).
pub fn first_reaching(curve: &[(usize, f64, [f64; 2])], level: f64) -> Option<f64> {
    let (first_x, first_y, _) = *curve.first()?;
    if first_y >= level {
        return Some(first_x as f64);
    }
    curve.windows(2).find(|w| w[1].1 >= level).map(|w| {
        let ((x0, y0), (x1, y1)) = ((w[0].0 as f64, w[0].1), (w[1].0 as f64, w[1].1));
        x0 + (x1 - x0) * (level - y0) / (y1 - y0)
    })
}

/// Mean success over seeds and its 90% interval at every evaluated budget.
pub fn mean_curve(runs: &[&Run], seed: u64) -> Vec<(usize, f64, [f64; 2])> {
    let Some(first) = runs.first() else { return Vec::new() };
    (0..first.curve.len())
        .map(|i| {
            let values: Vec<f64> = runs.iter().filter_map(|r| r.curve.get(i).map(|p| p.mean_success)).collect();
            let (mean, ci) = bootstrap_mean(&values, seed + i as u64);
            (first.curve[i].demonstrations, mean, ci)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curve_reaches_a_level_between_its_points_or_never() {
        let curve = [(0, 0.5, [0.0; 2]), (10, 0.7, [0.0; 2]), (20, 0.9, [0.0; 2])];
        assert_eq!(first_reaching(&curve, 0.4), Some(0.0));
        assert!((first_reaching(&curve, 0.8).unwrap() - 15.0).abs() < 1e-9);
        assert_eq!(first_reaching(&curve, 0.9), Some(20.0));
        assert_eq!(first_reaching(&curve, 0.95), None);
    }

    #[test]
    fn bootstrap_interval_brackets_the_mean_and_shrinks_with_agreement() {
        let spread = [0.1, 0.9, 0.2, 0.8, 0.5, 0.4, 0.6, 0.3, 0.7, 0.5];
        let (mean, ci) = bootstrap_mean(&spread, 1);
        assert!((mean - 0.5).abs() < 1e-12);
        assert!(ci[0] < mean && mean < ci[1]);
        let (_, tight) = bootstrap_mean(&[0.5; 10], 1);
        assert_eq!(tight, [0.5, 0.5]);
        assert!(ci[1] - ci[0] > 0.1);
    }
}
