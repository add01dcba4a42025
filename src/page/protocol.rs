//! The messages between the page and its training workers, as plain serde data. The
//! web shell only moves them across (`web::worker`); what they mean is decided here and
//! in the page's reducer.

use serde::{Deserialize, Serialize};

use crate::experiment::tabletop::TabletopSettings;
use crate::experiment::CurvePoint;
use crate::record::DemonstrationRecord;
use crate::round::{RoundError, RoundEvent, RoundJob};
use crate::select::{Selection, SelectorKind};
use crate::session::{BackendChoice, BackendDecision};
use crate::sim::Action;
use crate::tasks::{RolloutSummary, TaskId};

/// The page's request to the LeRobot export worker: the dataset to write, zipped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportRequest {
    pub records: Vec<DemonstrationRecord>,
}

/// The export worker's messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ExportReply {
    /// The worker's module runs and listens.
    Loaded,
    /// The LeRobot dataset, zipped.
    Zipped(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Why there is none.
    Failed(String),
}

/// Page to worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    /// The pre-trained policy's file; sent once, first. With it, the file of its
    /// assessment shipped beside it, if the page has one: a session's start uses it
    /// instead of rolling the policy out (if it is the policy's, rolled out as many
    /// episodes as the session asks).
    Prior {
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        #[serde(with = "serde_bytes")]
        assessment: Option<Vec<u8>>,
    },
    /// Choose where rounds train (the WebGPU worker measures both for `Auto`); answered
    /// by [`FromWorker::Chosen`].
    Choose(BackendChoice),
    /// Run a round (or, without records, the session's start) where `Choose` decided
    /// (the CPU if it was never asked).
    Run(RoundJob),
    /// Read a demonstration file and replay each of its demonstrations (duplicates of
    /// `existing` are skipped); answered by `Imported` or `Failed(Import)`.
    Import {
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        existing: Vec<DemonstrationRecord>,
    },
    /// A whole autopilot run of one selector (the scripted expert demonstrates what it
    /// asks), reported round by round: one side of the live comparison.
    Compare { selector: SelectorKind, seed: u64, settings: TabletopSettings },
    /// Roll the policy in `policy` (a policy file, pre-trained or fine-tuned) out on
    /// `task` from `seed`, for the page to play back; answered by `RolledOut` or
    /// `Failed(BadPolicy)`. The page's module has no network: a policy acts here.
    Rollout {
        #[serde(with = "serde_bytes")]
        policy: Vec<u8>,
        task: TaskId,
        seed: u64,
    },
}

/// Worker to page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromWorker {
    /// The worker's module runs and listens: messages can be posted.
    Loaded,
    /// The prior is loaded.
    Ready,
    /// Where rounds train, and why (the answer to `Choose`).
    Chosen(BackendDecision),
    Event(RoundEvent),
    Done(RoundResult),
    /// The job failed; the worker stays usable.
    Failed(WorkerError),
    /// The demonstrations of an imported file that replayed and match, and one line per
    /// demonstration left out.
    Imported { accepted: Vec<DemonstrationRecord>, rejected: Vec<String> },
    /// A comparison run's evaluation: the pre-trained policy's (no picks), then one per
    /// round with the tasks the selector asked for.
    Compared { point: CurvePoint, picks: Vec<usize> },
    /// The comparison run is over.
    CompareDone { seconds: f64 },
    /// The policy's episode, to its first success or its horizon.
    RolledOut(PolicyRollout),
}

/// A policy's episode for the stage to play back: its actions from the task's reset on
/// `seed`, to its first success or the horizon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyRollout {
    pub task: TaskId,
    pub seed: u64,
    pub success: bool,
    pub actions: Vec<Action>,
}

impl From<RolloutSummary> for PolicyRollout {
    /// Leaves the final state's hash behind: a full u64 does not cross to JavaScript.
    fn from(rollout: RolloutSummary) -> Self {
        PolicyRollout { task: rollout.task, seed: rollout.seed, success: rollout.success, actions: rollout.actions }
    }
}

/// A finished round, as it crosses to the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundResult {
    /// The fine-tuned policy's file (none at the session's start).
    #[serde(with = "serde_bytes")]
    pub policy: Option<Vec<u8>>,
    pub per_task: Vec<f64>,
    /// The next batch (none once the budget is spent).
    pub selection: Option<Selection>,
    pub loss: Vec<f32>,
    pub fell_back: bool,
    pub train_seconds: f64,
    pub eval_seconds: f64,
    pub select_seconds: f64,
}

/// Why a worker's job failed, by kind, so the page can say what to do about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum WorkerError {
    #[error("the worker has no pre-trained policy yet")]
    NoPrior,
    #[error("the pre-trained policy cannot be read: {0}")]
    BadPrior(String),
    #[error("the policy to play cannot be read: {0}")]
    BadPolicy(String),
    #[error("the worker got a message it cannot read ({0})")]
    BadMessage(String),
    #[error("stored demonstration {} ({task}) does not replay: {reason}", index + 1)]
    Replay { index: usize, task: String, reason: String },
    #[error("the round's settings are not usable: {0}")]
    Settings(String),
    /// Training failed (a diverged loss, a device that failed without a fallback).
    #[error("fine-tuning failed: {0}")]
    Training(String),
    #[error("the selector failed: {0}")]
    Selection(String),
    #[error("the training snapshot to resume from is damaged: {0}")]
    Snapshot(String),
    /// The fine-tuned policy could not be written to bytes.
    #[error("the fine-tuned policy could not be saved: {0}")]
    Checkpoint(String),
    /// A demonstration file as a whole could not be read.
    #[error("{0}")]
    Import(String),
}

impl From<RoundError> for WorkerError {
    fn from(error: RoundError) -> Self {
        match error {
            RoundError::Settings(message) => WorkerError::Settings(message),
            RoundError::Replay { index, task, error } => WorkerError::Replay { index, task: task.into(), reason: error.to_string() },
            RoundError::Training(error) => WorkerError::Training(error.to_string()),
            RoundError::Select(error) => WorkerError::Selection(error.to_string()),
            RoundError::Snapshot(message) => WorkerError::Snapshot(message),
        }
    }
}
