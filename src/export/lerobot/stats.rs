//! The statistics LeRobot normalises with, computed as LeRobot's own writer computes
//! them: per episode, each feature's min, max, mean, population standard deviation,
//! count and the quantiles q01, q10, q50, q90, q99 (from a 5,000-bin histogram, as
//! LeRobot's `RunningQuantileStats`); over the dataset, LeRobot's aggregation of the
//! episodes' statistics as its released version (0.6.1) aggregates them: weighted mean,
//! pooled variance, and each quantile the count-weighted mean of the episodes'. That is
//! what LeRobot's own writer and its editing tools (delete, split, merge) write, so a
//! dataset reads the same before and after an edit. (LeRobot's main branch, unreleased,
//! keeps an envelope instead: the lowest lower and the highest upper quantile.) We
//! compute in f64 where LeRobot computes float32 features in float32: the values agree
//! to float32 rounding.

use serde_json::{json, Map, Value};

/// LeRobot's quantile levels and their keys.
pub const QUANTILES: [(f64, &str); 5] = [(0.01, "q01"), (0.10, "q10"), (0.50, "q50"), (0.90, "q90"), (0.99, "q99")];
/// The statistics' keys, in LeRobot's order.
pub const KEYS: [&str; 10] = ["min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"];
/// Bins of the histogram the quantiles are read from.
const BINS: usize = 5_000;
/// The histogram's range is widened by this much each side, as LeRobot's.
const MARGIN: f64 = 1e-10;

/// One feature's statistics, one value per component (the count is the frames').
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    pub min: Vec<f64>,
    pub max: Vec<f64>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub count: i64,
    /// In [`QUANTILES`]' order.
    pub quantiles: [Vec<f64>; 5],
}

impl Stats {
    /// The statistics of frames given component by component: `components[k][t]` is
    /// component `k` at frame `t`. Every component has the same, non-zero, length.
    pub fn of(components: &[Vec<f64>]) -> Stats {
        let n = components.first().map_or(0, Vec::len);
        assert!(n > 0 && components.iter().all(|c| c.len() == n), "statistics need frames");
        let per = |f: &dyn Fn(&[f64]) -> f64| components.iter().map(|c| f(c)).collect::<Vec<f64>>();
        let min = per(&|c| c.iter().copied().fold(f64::INFINITY, f64::min));
        let max = per(&|c| c.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        let mean = per(&|c| c.iter().sum::<f64>() / n as f64);
        let std: Vec<f64> = components
            .iter()
            .zip(&mean)
            .map(|(c, m)| (c.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n as f64).sqrt())
            .collect();
        let quantiles = QUANTILES.map(|(q, _)| {
            components.iter().enumerate().map(|(k, c)| if n == 1 { mean[k] } else { histogram_quantile(c, min[k], max[k], q) }).collect()
        });
        Stats { min, max, mean, std, count: n as i64, quantiles }
    }

    /// The statistics of several parts taken together, as LeRobot aggregates them.
    pub fn aggregate(parts: &[&Stats]) -> Stats {
        assert!(!parts.is_empty(), "nothing to aggregate");
        let dim = parts[0].mean.len();
        let count: i64 = parts.iter().map(|s| s.count).sum();
        let each = |f: &dyn Fn(&Stats, usize) -> f64, fold: fn(f64, f64) -> f64, start: f64| -> Vec<f64> {
            (0..dim).map(|k| parts.iter().map(|s| f(s, k)).fold(start, fold)).collect()
        };
        let mean = each(&|s, k| s.mean[k] * s.count as f64, |a, b| a + b, 0.0).into_iter().map(|v| v / count as f64).collect::<Vec<_>>();
        let std = (0..dim)
            .map(|k| (parts.iter().map(|s| (s.std[k].powi(2) + (s.mean[k] - mean[k]).powi(2)) * s.count as f64).sum::<f64>() / count as f64).sqrt())
            .collect();
        let quantiles = std::array::from_fn(|i| {
            each(&|s, k| s.quantiles[i][k] * s.count as f64, |a, b| a + b, 0.0).into_iter().map(|v| v / count as f64).collect()
        });
        Stats {
            min: each(&|s, k| s.min[k], f64::min, f64::INFINITY),
            max: each(&|s, k| s.max[k], f64::max, f64::NEG_INFINITY),
            mean,
            std,
            count,
            quantiles,
        }
    }

    /// A statistic by its key (the count as a float).
    pub fn get(&self, key: &str) -> Vec<f64> {
        match key {
            "min" => self.min.clone(),
            "max" => self.max.clone(),
            "mean" => self.mean.clone(),
            "std" => self.std.clone(),
            "count" => vec![self.count as f64],
            _ => {
                let i = QUANTILES.iter().position(|(_, name)| *name == key).unwrap_or_else(|| panic!("no statistic {key}"));
                self.quantiles[i].clone()
            }
        }
    }

    /// As `meta/stats.json` holds it.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        for key in KEYS {
            out.insert(key.into(), if key == "count" { json!([self.count]) } else { json!(self.get(key)) });
        }
        Value::Object(out)
    }

    /// Read back from `meta/stats.json`; `None` if a statistic is missing or malformed.
    pub fn from_json(value: &Value) -> Option<Stats> {
        let list = |key: &str| -> Option<Vec<f64>> { value.get(key)?.as_array()?.iter().map(Value::as_f64).collect() };
        let count = value.get("count")?.as_array()?.first()?.as_i64()?;
        let quantiles = [list("q01")?, list("q10")?, list("q50")?, list("q90")?, list("q99")?];
        Some(Stats { min: list("min")?, max: list("max")?, mean: list("mean")?, std: list("std")?, count, quantiles })
    }
}

/// Quantile `q` of `values` read from a histogram of `BINS` equal bins over
/// `[min - MARGIN, max + MARGIN]`, interpolated inside the bin where the cumulative count
/// reaches `q * n` (LeRobot's method; below the first bin it answers the range's start).
fn histogram_quantile(values: &[f64], min: f64, max: f64, q: f64) -> f64 {
    let (start, stop) = (min - MARGIN, max + MARGIN);
    let step = (stop - start) / BINS as f64;
    let edge = |i: usize| if i == BINS { stop } else { start + i as f64 * step };
    let mut counts = vec![0.0f64; BINS];
    for &v in values {
        let mut bin = (((v - start) / step).floor().max(0.0) as usize).min(BINS - 1);
        // Half-open bins [edge(i), edge(i + 1)), the last one closed: correct rounding.
        if bin > 0 && v < edge(bin) {
            bin -= 1;
        } else if bin + 1 < BINS && v >= edge(bin + 1) {
            bin += 1;
        }
        counts[bin] += 1.0;
    }
    let target = q * values.len() as f64;
    let mut below = 0.0;
    for (i, &count) in counts.iter().enumerate() {
        if below + count >= target {
            if i == 0 {
                return start;
            }
            return edge(i) + (target - below) / count * (edge(i + 1) - edge(i));
        }
        below += count;
    }
    stop
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn quantiles_of_a_known_distribution_fall_where_they_should() {
        // 0, 1, ..., 999: the q-quantile of the histogram is about q * 1000.
        let values: Vec<f64> = (0..1000).map(f64::from).collect();
        let stats = Stats::of(&[values]);
        for (i, (q, key)) in QUANTILES.iter().enumerate() {
            assert!(close(stats.quantiles[i][0], q * 1000.0, 1.0), "{key}: {}", stats.quantiles[i][0]);
        }
        assert_eq!((stats.min[0], stats.max[0], stats.mean[0], stats.count), (0.0, 999.0, 499.5, 1000));
        assert!(close(stats.std[0], (999_999.0f64 / 12.0).sqrt(), 1e-9), "population std");
    }

    #[test]
    fn a_single_frame_and_a_constant_have_their_value_as_every_quantile() {
        let single = Stats::of(&[vec![0.25]]);
        assert!(single.quantiles.iter().all(|q| q[0] == 0.25) && single.std[0] == 0.0);
        let constant = Stats::of(&[vec![3.0; 50]]);
        assert!(constant.quantiles.iter().all(|q| close(q[0], 3.0, 1e-9)), "{:?}", constant.quantiles);
    }

    #[test]
    fn aggregation_pools_means_and_variances_exactly_and_weighs_the_quantiles_by_count() {
        let a: Vec<f64> = (0..30).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..70).map(|i| 2.0 + (i as f64 * 0.11).cos()).collect();
        let (sa, sb) = (Stats::of(&[a.clone()]), Stats::of(&[b.clone()]));
        let pooled = Stats::aggregate(&[&sa, &sb]);
        let whole = Stats::of(&[[a, b].concat()]);
        assert_eq!(pooled.count, 100);
        assert!(close(pooled.mean[0], whole.mean[0], 1e-12) && close(pooled.std[0], whole.std[0], 1e-12));
        assert_eq!((pooled.min[0], pooled.max[0]), (whole.min[0], whole.max[0]));
        for i in 0..QUANTILES.len() {
            let weighted = (sa.quantiles[i][0] * 30.0 + sb.quantiles[i][0] * 70.0) / 100.0;
            assert!(close(pooled.quantiles[i][0], weighted, 1e-12), "{}: {} against {weighted}", QUANTILES[i].1, pooled.quantiles[i][0]);
        }
        // Not the envelope LeRobot's unreleased main branch keeps.
        assert!(pooled.quantiles[0][0] > sa.quantiles[0][0].min(sb.quantiles[0][0]));
        assert_eq!(Stats::from_json(&pooled.to_json()), Some(pooled));
    }
}
