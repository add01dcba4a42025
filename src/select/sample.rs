//! What the selector conditions on when the pool is large: per task, how many
//! demonstrations there are and a bounded sample of them, kept whole.
//!
//! The GP's cost grows with its data (the kernel with the square, the factorisation with
//! the cube), and a crowd's pool grows without end. So the selector sees at most
//! [`GpConfig::sampled_per_task`](super::GpConfig) demonstrations of each task: those
//! with the smallest content fingerprints ([`crate::record::content_fingerprint`], a
//! SHA-256), which is a uniform sample that does not depend on the order of arrival,
//! is the same on every instance of a service (a database index finds it), and changes
//! only where a new demonstration's fingerprint is among the smallest. Each kept
//! demonstration stands for `count / kept` of its task's demonstrations: its states are
//! observed with the noise `rho^2 * kept / count` (the mean of that many observations),
//! so the posterior still narrows as a task's count grows. Where a task has no more
//! demonstrations than the budget, every one is kept with weight 1 and the GP is the
//! exact one.

use crate::policy::Demonstration;
use crate::record::content_fingerprint;
use crate::tasks::NUM_TASKS;

/// A pool's demonstrations as the selector sees them.
#[derive(Clone, Debug, Default)]
pub struct PoolSample<'a> {
    /// The kept demonstrations, in the pool's order.
    kept: Vec<&'a Demonstration>,
    /// Every demonstration of the pool, per task (indexed by `TaskId::index`).
    counts: Vec<usize>,
}

impl<'a> PoolSample<'a> {
    /// The sample of `demonstrations`: per task, the `per_task` with the smallest
    /// content fingerprints (every one where there are no more), in the pool's order.
    pub fn of(demonstrations: &'a [Demonstration], per_task: usize) -> PoolSample<'a> {
        let mut counts = vec![0; NUM_TASKS];
        for demonstration in demonstrations {
            counts[demonstration.task.index()] += 1;
        }
        let mut keep = vec![true; demonstrations.len()];
        for task in 0..NUM_TASKS {
            if counts[task] <= per_task {
                continue;
            }
            let mut ranked: Vec<(String, usize)> = demonstrations
                .iter()
                .enumerate()
                .filter(|(_, d)| d.task.index() == task)
                .map(|(i, d)| (content_fingerprint(d.task, d.seed, &d.actions), i))
                .collect();
            ranked.sort();
            for &(_, i) in &ranked[per_task..] {
                keep[i] = false;
            }
        }
        let kept = demonstrations.iter().zip(keep).filter(|(_, k)| *k).map(|(d, _)| d).collect();
        PoolSample { kept, counts }
    }

    /// A sample chosen elsewhere (a service's, from its database): `kept`, in the pool's
    /// order, out of `counts` demonstrations per task. A task's kept demonstrations are
    /// counted at least once each.
    pub fn from_parts(kept: Vec<&'a Demonstration>, counts: Vec<usize>) -> PoolSample<'a> {
        let mut counts = if counts.len() == NUM_TASKS { counts } else { vec![0; NUM_TASKS] };
        let mut seen = vec![0; NUM_TASKS];
        for demonstration in &kept {
            seen[demonstration.task.index()] += 1;
        }
        counts.iter_mut().zip(seen).for_each(|(c, s)| *c = (*c).max(s));
        PoolSample { kept, counts }
    }

    /// The kept demonstrations, in the pool's order.
    pub fn kept(&self) -> &[&'a Demonstration] {
        &self.kept
    }

    /// Every demonstration of the pool, per task.
    pub fn counts(&self) -> &[usize] {
        &self.counts
    }

    /// How many of the pool's demonstrations each kept one of `task` stands for (1 where
    /// every one is kept).
    pub fn weight_of(&self, task: usize) -> f64 {
        let kept = self.kept.iter().filter(|d| d.task.index() == task).count();
        if kept == 0 {
            return 1.0;
        }
        (self.counts[task] as f64 / kept as f64).max(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::TaskId;

    fn demonstration(task: TaskId, seed: u64) -> Demonstration {
        Demonstration { task, seed, observations: Vec::new(), actions: vec![[0.1, 0.0, 0.0, 0.0]; 3], success: true }
    }

    #[test]
    fn a_small_pool_is_kept_whole_and_a_large_task_is_cut_to_its_smallest_fingerprints() {
        let mut pool: Vec<Demonstration> = (0..10).map(|s| demonstration(TaskId::Push, s)).collect();
        pool.extend((0..3).map(|s| demonstration(TaskId::Reach, s)));
        let whole = PoolSample::of(&pool, 10);
        assert_eq!(whole.kept().len(), 13);
        assert_eq!(whole.weight_of(TaskId::Push.index()), 1.0);

        let cut = PoolSample::of(&pool, 4);
        assert_eq!(cut.counts()[TaskId::Push.index()], 10);
        let push: Vec<u64> = cut.kept().iter().filter(|d| d.task == TaskId::Push).map(|d| d.seed).collect();
        assert_eq!(push.len(), 4);
        assert!(push.windows(2).all(|w| w[0] < w[1]), "kept in the pool's order: {push:?}");
        assert_eq!(cut.weight_of(TaskId::Push.index()), 2.5);
        assert_eq!(cut.weight_of(TaskId::Reach.index()), 1.0, "a task under the budget keeps all");
        // The smallest fingerprints, whatever the order of arrival.
        let mut fingerprints: Vec<(String, u64)> =
            (0..10).map(|s| (content_fingerprint(TaskId::Push, s, &pool[0].actions), s)).collect();
        fingerprints.sort();
        let mut expected: Vec<u64> = fingerprints[..4].iter().map(|&(_, s)| s).collect();
        expected.sort();
        assert_eq!(push, expected);
        let mut reversed = pool.clone();
        reversed.reverse();
        let mut again: Vec<u64> = PoolSample::of(&reversed, 4).kept().iter().filter(|d| d.task == TaskId::Push).map(|d| d.seed).collect();
        again.sort();
        assert_eq!(again, expected);
    }

    #[test]
    fn a_sample_from_parts_counts_its_kept_demonstrations_at_least() {
        let pool = [demonstration(TaskId::Push, 1), demonstration(TaskId::Push, 2)];
        let mut counts = vec![0; NUM_TASKS];
        counts[TaskId::Push.index()] = 1;
        let sample = PoolSample::from_parts(pool.iter().collect(), counts);
        assert_eq!(sample.counts()[TaskId::Push.index()], 2);
        assert_eq!(sample.weight_of(TaskId::Push.index()), 1.0);
    }
}
