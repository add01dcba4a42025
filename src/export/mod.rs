//! Demonstrations in the field's dataset formats: a LeRobot v3 dataset (Parquet; the
//! runner writes a folder, the page a .zip of it) and a robomimic HDF5 file (the runner,
//! in builds with the `hdf5` feature). Both are written from replays of the records, so
//! what they hold is what the simulation does with the recorded actions, checked as the
//! page's import checks a file.

pub mod lerobot;
#[cfg(all(not(target_arch = "wasm32"), feature = "hdf5"))]
pub mod robomimic;

use thiserror::Error;

use crate::record::{DemonstrationRecord, ReplayError};
use crate::sim::{Action, ACTION_DIM, CONTROL_HZ};
use crate::policy::Demonstration;
use crate::quality::{self, Quality};
use crate::tasks::{observation, Observation, TaskId};

/// Control steps per second: one frame of an exported episode per step.
pub const FPS: u32 = CONTROL_HZ as u32;

/// What the arm is, in the formats' metadata.
pub const ROBOT_TYPE: &str = "amf_studio_tabletop_arm";

/// The action's components, as the formats name them.
pub const ACTION_NAMES: [&str; ACTION_DIM] = ["dx", "dy", "dz", "grip"];

/// The observation's components, in order (named where its layout is defined).
pub fn observation_names() -> Vec<String> {
    observation::component_names()
}

/// One demonstration, replayed: everything the formats hold per step.
#[derive(Clone, Debug)]
pub struct ReplayedEpisode {
    pub record: DemonstrationRecord,
    /// The observation before each action, then the one after the last action: one
    /// more than there are actions.
    pub observations: Vec<Observation>,
    /// Whether the task is achieved right after each action.
    pub achieved: Vec<bool>,
    /// Who contributed it to a collection service (its anonymous id), where known.
    pub contributor: Option<String>,
}

impl ReplayedEpisode {
    pub fn actions(&self) -> &[Action] {
        &self.record.actions
    }

    pub fn len(&self) -> usize {
        self.record.actions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.record.actions.is_empty()
    }

    /// Its quality, measured on this replay (as the service measured it on its own).
    pub fn quality(&self) -> Quality {
        let replayed = Demonstration {
            task: self.record.task,
            seed: self.record.seed,
            observations: self.observations[..self.len()].to_vec(),
            actions: self.record.actions.clone(),
            success: self.record.success,
        };
        quality::measure(&replayed)
    }
}

#[derive(Debug, Error)]
pub enum ExportError {
    #[error("there are no demonstrations to export")]
    Empty,
    #[error("demonstration {index} ({task}) has no actions")]
    NoActions { index: usize, task: &'static str },
    #[error("demonstration {index} ({task}) does not replay: {why}")]
    Replay { index: usize, task: &'static str, why: ReplayError },
    #[error("cannot write {what}: {message}")]
    Write { what: String, message: String },
}

impl ExportError {
    pub(crate) fn write(what: impl Into<String>, error: impl std::fmt::Display) -> ExportError {
        ExportError::Write { what: what.into(), message: error.to_string() }
    }
}

/// Replays every record, refusing the lot if one does not replay as recorded (an
/// exported dataset should never hold a demonstration that the simulation contradicts).
pub fn replay_all(records: &[DemonstrationRecord]) -> Result<Vec<ReplayedEpisode>, ExportError> {
    if records.is_empty() {
        return Err(ExportError::Empty);
    }
    records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let task = record.task.name();
            if record.actions.is_empty() {
                return Err(ExportError::NoActions { index, task });
            }
            // Checks the suite version, the length, the actions' range and the success.
            let trace = record.trace().map_err(|why| ExportError::Replay { index, task, why })?;
            let mut observations = trace.demonstration.observations;
            observations.push(trace.last);
            Ok(ReplayedEpisode { record: record.clone(), observations, achieved: trace.achieved, contributor: None })
        })
        .collect()
}

/// The tasks that `episodes` demonstrate, in the suite's order: the formats' task table.
pub fn tasks_present(episodes: &[ReplayedEpisode]) -> Vec<TaskId> {
    TaskId::ALL.into_iter().filter(|t| episodes.iter().any(|e| e.record.task == *t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_keep_every_step_and_refuse_a_contradicted_record() {
        let records: Vec<DemonstrationRecord> =
            [TaskId::Reach, TaskId::DrawerOpen].iter().map(|&t| DemonstrationRecord::from_expert(t, 7, 0.0, 0.0)).collect();
        let episodes = replay_all(&records).unwrap();
        for (episode, record) in episodes.iter().zip(&records) {
            assert_eq!(episode.observations.len(), record.actions.len() + 1);
            assert_eq!(episode.achieved.len(), record.actions.len());
            assert_eq!(*episode.achieved.last().unwrap(), record.success, "expert episodes end when they succeed");
            assert_eq!(episode.observations[..record.actions.len()], record.replay().unwrap().observations[..]);
        }
        assert_eq!(tasks_present(&episodes), vec![TaskId::Reach, TaskId::DrawerOpen]);

        let mut stalled = records[1].clone();
        stalled.actions.iter_mut().for_each(|a| *a = [0.0; 4]);
        let error = replay_all(&[records[0].clone(), stalled]).unwrap_err();
        assert!(matches!(error, ExportError::Replay { index: 1, task: "drawer_open", .. }), "{error}");
        assert!(matches!(replay_all(&[]), Err(ExportError::Empty)));
        assert_eq!(observation_names().len(), crate::tasks::OBS_DIM);
    }
}
