//! Crowd-wide AMF: which task the next visitor is asked for. One selector decides for
//! the whole crowd over the pooled demonstrations and the shared policy, conditioning
//! on the assignments still in flight (leases a visitor has not demonstrated yet): in a
//! Gaussian process the posterior variance depends only on where data will be, so a
//! pending demonstration's proxy states are conditioned on before it arrives, as a
//! batch's earlier picks are (GP-BUCB). Without that, visitors asking at once are all
//! sent to the same task. A visitor who declined a task is asked for the best of the
//! others.

use serde::{Deserialize, Serialize};

use crate::policy::{Demonstration, Predictive};
use crate::round::{Assessment, RoundConfig};
use crate::select::tabletop::TabletopView;
use crate::select::{GpConfig, SelectError, SelectionView, SelectorKind, TaskScore, WithPending};
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
        }
    }
}

/// What the crowd has: the shared policy with its assessment, the pooled
/// demonstrations, and the assignments in flight per task.
pub struct CrowdState<'a> {
    pub policy: &'a dyn Predictive,
    pub assessment: &'a Assessment,
    pub demonstrations: &'a [Demonstration],
    pub pending: Vec<usize>,
}

/// What a visitor is asked for, and why: what the page's prompt shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub task: TaskId,
    /// The episode's seed.
    pub seed: u64,
    pub reason: String,
    /// Each task's score (for AMF, the expected information gain on the targets given
    /// what is in flight), before this assignment.
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
    let tabletop = TabletopView {
        policy: crowd.policy,
        demonstrations: crowd.demonstrations,
        rollout_states: &crowd.assessment.visited,
        target_weights: settings.target_weights.clone(),
        pretraining: settings.pretraining.clone(),
        // The proxies' subsampling follows the data, not the turn: while nothing
        // arrives, the same question gets the same answer.
        seed: crowd.demonstrations.len() as u64,
    };
    let pending = if settings.pending_aware { crowd.pending.clone() } else { vec![0; NUM_TASKS] };
    let view = WithPending { inner: &tabletop, pending };
    let mut selector = settings.selector.build(turn, 0, &settings.gp);
    let selection = selector.select(&view, 1)?;
    let allowed = |t: usize| settings.target_weights[t] > 0.0 && !declined.contains(&TaskId::ALL[t]);
    let (pick, reason) = if allowed(selection.picks[0]) || !(0..NUM_TASKS).any(allowed) {
        (selection.picks[0], selection.reason.clone())
    } else {
        // The best of the tasks not declined: by score where the score is a gain, else
        // the selector's next pick in order.
        let pick = match settings.selector {
            SelectorKind::Amf | SelectorKind::Uncertainty => {
                (0..NUM_TASKS).filter(|&t| allowed(t)).max_by(|&a, &b| selection.scores[a].score.total_cmp(&selection.scores[b].score)).expect("one is allowed")
            }
            _ => {
                let order = settings.selector.build(turn, 0, &settings.gp).select(&view, NUM_TASKS)?;
                order.picks.into_iter().find(|&t| allowed(t)).unwrap_or(selection.picks[0])
            }
        };
        (pick, format!("{} is the most useful of the tasks you have not declined", view.task_name(pick)))
    };
    Ok(Assignment {
        task: TaskId::ALL[pick],
        seed,
        reason,
        scores: selection.scores,
        success: crowd.assessment.per_task.clone(),
        demonstrations: view.demonstrations_per_task(),
        pending: crowd.pending.clone(),
    })
}
