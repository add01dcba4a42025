//! Crowd-wide AMF: which task the next visitor is asked for. One selector decides for
//! the whole crowd over the pooled demonstrations and the shared policy, conditioning
//! on the assignments still in flight (leases a visitor has not demonstrated yet): in a
//! Gaussian process the posterior variance depends only on where data will be, so a
//! pending demonstration's proxy states are conditioned on before it arrives, as a
//! batch's earlier picks are (GP-BUCB). Without that, visitors asking at once are all
//! sent to the same task. A visitor who declined a task is asked for the best of the
//! others.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::policy::Predictive;
use crate::round::{Assessment, RoundConfig};
use crate::select::tabletop::TabletopView;
use crate::select::{argmax_among, task_scores, GpConfig, Greedy, PoolSample, Prepared, SelectError, SelectionView, SelectorKind, TaskScore, WithPending};
use crate::tasks::{TaskId, NUM_TASKS};

/// The operator's settings for assignments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssignmentSettings {
    pub selector: SelectorKind,
    /// `mu(c)` per task.
    pub target_weights: Vec<f64>,
    /// How long a visitor has to demonstrate before the assignment stops counting.
    pub lease_seconds: u64,
    /// Condition on assignments in flight (true: crowd AMF; false: each as if alone).
    pub pending_aware: bool,
    pub gp: GpConfig,
    /// Pre-training demonstrations per task (what the rebalancing baseline counts).
    pub pretraining: Vec<usize>,
    /// Rollouts per task when the shared policy is assessed.
    pub eval_episodes: usize,
    /// Demonstrations verified after the shared policy's version was trained: counted
    /// as in flight, through their task's proxies (true), or as the GP's data (false,
    /// default). Measured (docs/results.md): as data, crowd AMF ends higher (0.988
    /// against 0.962, 10 seeds), since repeated proxies of one task saturate and the
    /// selector then spreads to tasks already learned.
    pub arrivals_in_flight: bool,
}

impl Default for AssignmentSettings {
    fn default() -> Self {
        let round = RoundConfig::default();
        AssignmentSettings {
            selector: SelectorKind::Amf,
            target_weights: round.target_weights.clone(),
            lease_seconds: 180,
            pending_aware: true,
            gp: round.gp.clone(),
            pretraining: round.pretraining_per_task(),
            eval_episodes: round.eval_episodes,
            arrivals_in_flight: false,
        }
    }
}

/// What the crowd has: the shared policy with its assessment, the demonstrations it
/// was trained on, those verified since, and the assignments in flight per task.
pub struct CrowdState<'a> {
    pub policy: &'a dyn Predictive,
    pub assessment: &'a Assessment,
    /// The GP's data: every verified demonstration, or with `arrivals_in_flight` those
    /// the shared policy was trained on; of a large pool, a sample ([`PoolSample`]).
    pub trained_on: PoolSample<'a>,
    /// Verified demonstrations per task that are not in `trained_on`: with
    /// `arrivals_in_flight`, those that arrived after the shared policy was trained,
    /// conditioned on through their task's proxies as while they were in flight.
    pub arrived: Vec<usize>,
    /// Open leases per task.
    pub pending: Vec<usize>,
    /// The GP prepared for this policy and these data, if the caller keeps one (see
    /// [`CrowdState::prepare`]).
    pub prepared: Option<Arc<Prepared>>,
}

impl CrowdState<'_> {
    fn view(&self, settings: &AssignmentSettings) -> TabletopView<'_> {
        TabletopView {
            policy: self.policy,
            demonstrations: self.trained_on.clone(),
            rollout_states: &self.assessment.visited,
            target_weights: settings.target_weights.clone(),
            pretraining: settings.pretraining.clone(),
            demonstrable: vec![true; NUM_TASKS],
            // The proxies' subsampling follows the data, not the turn: while the policy
            // and its data stay, the same question gets the same answer.
            seed: self.trained_on.counts().iter().sum::<usize>() as u64,
        }
    }

    /// The GP for this policy and these data: the same for every assignment until the
    /// next version, so a service computes it once per version.
    pub fn prepare(&self, settings: &AssignmentSettings) -> Result<Arc<Prepared>, SelectError> {
        Ok(Arc::new(Prepared::new(&self.view(settings), &settings.gp)?))
    }
}

/// One visitor's request: the tasks they declined lately, or the task they chose
/// themself; the episode's seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub declined: Vec<TaskId>,
    pub chosen: Option<TaskId>,
    pub seed: u64,
}

/// What a visitor is asked for, and why: what the page's prompt shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub task: TaskId,
    /// The episode's seed.
    pub seed: u64,
    pub reason: String,
    /// Each task's score (for AMF, the expected information gain on the targets given
    /// what is in flight), before this assignment (none for a visitor's own choice).
    pub scores: Vec<TaskScore>,
    /// The shared policy's success per task now.
    pub success: Vec<f64>,
    /// Verified demonstrations per task so far.
    pub demonstrations: Vec<usize>,
    /// Assignments in flight per task, this one not counted.
    pub pending: Vec<usize>,
}

/// Chooses the next visitor's task. `declined`: tasks this visitor declined lately;
/// `turn` seeds the selector's random choices (a counter of assignments), `seed` is the
/// episode's.
pub fn assign(settings: &AssignmentSettings, crowd: &CrowdState, declined: &[TaskId], turn: u64, seed: u64) -> Result<Assignment, SelectError> {
    let request = Request { declined: declined.to_vec(), chosen: None, seed };
    Ok(assign_batch(settings, crowd, &[request], turn)?.remove(0))
}

/// Answers visitors who asked at once, in order, each as if the ones before had asked
/// first: the GP is conditioned on each assignment before the next (one greedy batch,
/// with each visitor's declined tasks left out of their own pick). A visitor's own
/// choice is recorded as in flight like any assignment. `turn` seeds the random
/// selectors (the i-th request uses `turn + i`).
pub fn assign_batch(settings: &AssignmentSettings, crowd: &CrowdState, requests: &[Request], turn: u64) -> Result<Vec<Assignment>, SelectError> {
    let tabletop = crowd.view(settings);
    let demonstrations: Vec<usize> = tabletop.demonstrations_per_task().iter().zip(&crowd.arrived).map(|(d, a)| d + a).collect();
    // What the selector conditions on: what arrived since the policy was trained, and,
    // for crowd AMF, the leases in flight and this batch's assignments as they are made.
    let mut pending = crowd.pending.clone();
    let in_flight = |pending: &[usize]| -> Vec<usize> {
        if settings.pending_aware {
            pending.iter().zip(&crowd.arrived).map(|(p, a)| p + a).collect()
        } else {
            crowd.arrived.clone()
        }
    };
    let first = WithPending { inner: &tabletop, pending: in_flight(&pending), prepared: crowd.prepared.clone() };
    let mut greedy = match settings.selector {
        SelectorKind::Amf => Some(Greedy::information_gain(&first, &settings.gp)?),
        SelectorKind::Uncertainty => Some(Greedy::uncertainty(&first, &settings.gp)?),
        _ => None,
    };
    let mut assignments = Vec::with_capacity(requests.len());
    for (i, request) in requests.iter().enumerate() {
        let allowed = |t: usize| !request.declined.contains(&TaskId::ALL[t]);
        let any_allowed = (0..NUM_TASKS).any(allowed);
        let not_declined = |name: &str| format!("{name} is the most useful of the tasks you have not declined");
        let (task, reason, scores) = if let Some(task) = request.chosen {
            (task.index(), format!("you chose {}", task.name()), Vec::new())
        } else if let Some(greedy) = &greedy {
            let scores = greedy.scores()?;
            let best = argmax_among(&scores, greedy.allowed());
            let (pick, reason) = if allowed(best) || !any_allowed {
                let counted = in_flight(&pending).iter().sum::<usize>();
                let because = greedy.reason(&tabletop, best, scores[best]);
                (best, if counted > 0 { format!("{because}, counting the {counted} demonstrations on their way") } else { because })
            } else {
                let askable = |t: usize| allowed(t) && greedy.allowed()[t];
                let pick = (0..NUM_TASKS).filter(|&t| askable(t)).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap_or(best);
                (pick, not_declined(&tabletop.task_name(pick)))
            };
            (pick, reason, task_scores(&tabletop, &scores, Some(greedy.proxies())))
        } else {
            let view = WithPending { inner: &tabletop, pending: in_flight(&pending), prepared: None };
            let seed = turn.wrapping_add(i as u64);
            let selection = settings.selector.build(seed, 0, &settings.gp).select(&view, 1)?;
            let (pick, reason) = if allowed(selection.picks[0]) || !any_allowed {
                (selection.picks[0], selection.reason.clone())
            } else {
                // The selector's next pick in order that the visitor has not declined.
                let order = settings.selector.build(seed, 0, &settings.gp).select(&view, NUM_TASKS)?;
                let pick = order.picks.into_iter().find(|&t| allowed(t)).unwrap_or(selection.picks[0]);
                (pick, not_declined(&tabletop.task_name(pick)))
            };
            (pick, reason, selection.scores)
        };
        assignments.push(Assignment {
            task: TaskId::ALL[task],
            seed: request.seed,
            reason,
            scores,
            success: crowd.assessment.per_task.clone(),
            demonstrations: demonstrations.clone(),
            pending: pending.clone(),
        });
        pending[task] += 1;
        // Conditioned on for the next visitor (the last one's would go unused: a rank-k
        // update of every query state, as long as the scoring).
        if settings.pending_aware && i + 1 < requests.len() {
            if let Some(greedy) = &mut greedy {
                greedy.add(task)?;
            }
        }
    }
    Ok(assignments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{expert_demonstration, shipped_prior};
    use crate::round::assess;

    fn ask(seed: u64) -> Request {
        Request { declined: Vec::new(), chosen: None, seed }
    }

    fn scores(assignment: &Assignment) -> Vec<f64> {
        assignment.scores.iter().map(|s| s.score).collect()
    }

    /// Scores of the same posterior conditioned in another order: the selector's
    /// covariance is kept in f32 (`select::gp::CandidatePosterior`), so they agree to
    /// about 1e-9 nats, where tasks' scores differ by 1e-5 and more.
    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-7 * (1.0 + x.abs()))
    }

    /// One batch answers as the same requests made one after another would be, each
    /// conditioned on the ones before; a visitor's own choice and what arrived since the
    /// policy was trained count as in flight; a prepared GP changes nothing.
    #[test]
    fn a_batch_is_the_same_assignments_made_one_after_another() {
        let prior = shipped_prior();
        let assessment = assess(&prior, 2, &mut |_| {});
        let trained_on = [expert_demonstration(TaskId::Push, 11, 0.0)];
        let settings = AssignmentSettings::default();
        let state = |arrived: Vec<usize>, pending: Vec<usize>| CrowdState {
            policy: &prior,
            assessment: &assessment,
            trained_on: PoolSample::of(&trained_on, usize::MAX),
            arrived,
            pending,
            prepared: None,
        };
        let none = vec![0; NUM_TASKS];
        let lever = TaskId::LeverPull.index();
        let requests = [ask(1), Request { declined: Vec::new(), chosen: Some(TaskId::LeverPull), seed: 2 }, ask(3), ask(4)];
        let mut arrived = none.clone();
        arrived[TaskId::ButtonPress.index()] = 1;
        let batch = assign_batch(&settings, &state(arrived.clone(), none.clone()), &requests, 9).unwrap();
        assert_eq!(batch[1].task, TaskId::LeverPull);
        assert_eq!(batch[1].reason, "you chose lever_pull");

        // One at a time, the pending counts carrying the ones before; an arrival is a
        // demonstration in flight.
        let mut pending = none.clone();
        pending[TaskId::ButtonPress.index()] = 1;
        let first = assign(&settings, &state(none.clone(), pending.clone()), &[], 9, 1).unwrap();
        assert_eq!((first.task, scores(&first).len()), (batch[0].task, NUM_TASKS));
        assert!(close(&scores(&first), &scores(&batch[0])));
        pending[first.task.index()] += 1;
        pending[lever] += 1;
        let third = assign(&settings, &state(none.clone(), pending.clone()), &[], 11, 3).unwrap();
        assert_eq!(third.task, batch[2].task);
        assert!(close(&scores(&third), &scores(&batch[2])));
        // The batch's assignments spread: the first's task scores lower for the next.
        let gain = |a: &Assignment, t: TaskId| a.scores[t.index()].score;
        assert!(gain(&batch[2], batch[0].task) < gain(&batch[0], batch[0].task));
        assert!(gain(&batch[2], TaskId::LeverPull) < gain(&batch[0], TaskId::LeverPull));
        // The demonstrations counted are the trained ones and the arrivals.
        assert_eq!(batch[0].demonstrations.iter().sum::<usize>(), 2);
        assert_eq!(batch[3].pending.iter().sum::<usize>(), 3, "the batch's earlier assignments are in flight");

        // The same with the GP prepared beforehand.
        let mut prepared = state(arrived, none.clone());
        prepared.prepared = Some(prepared.prepare(&settings).unwrap());
        let again = assign_batch(&settings, &prepared, &requests, 9).unwrap();
        assert_eq!(again, batch);
    }

    #[test]
    fn a_declined_task_is_not_asked_again_and_ignoring_pending_asks_the_same() {
        let prior = shipped_prior();
        let assessment = assess(&prior, 2, &mut |_| {});
        let crowd = CrowdState { policy: &prior, assessment: &assessment, trained_on: PoolSample::default(), arrived: vec![0; NUM_TASKS], pending: vec![0; NUM_TASKS], prepared: None };
        let settings = AssignmentSettings::default();
        let best = assign(&settings, &crowd, &[], 1, 1).unwrap();
        let next = assign(&settings, &crowd, &[best.task], 1, 1).unwrap();
        assert_ne!(next.task, best.task);
        assert!(next.reason.contains("not declined"), "{}", next.reason);
        // Of the others, the best by score.
        let others = best.scores.iter().filter(|s| s.task != best.task.index()).max_by(|a, b| a.score.total_cmp(&b.score)).unwrap();
        assert_eq!(next.task.index(), others.task);

        let alone = AssignmentSettings { pending_aware: false, ..AssignmentSettings::default() };
        let batch = assign_batch(&alone, &crowd, &[ask(1), ask(2), ask(3)], 1).unwrap();
        assert!(batch.iter().all(|a| a.task == best.task), "each asked as if alone gets the same task");
        let spread = assign_batch(&settings, &crowd, &[ask(1), ask(2), ask(3)], 1).unwrap();
        assert!(spread.iter().map(|a| a.task).collect::<std::collections::HashSet<_>>().len() > 1);
    }
}
