//! A policy's assessment (success per task and the states its rollouts visited) and its
//! file, `.amfa`: the shipped policy's assessment is shipped beside it, so that a
//! session's start in the page needs no rollouts of a policy every visitor would
//! evaluate identically.
//!
//! The file is keyed by what the rollouts depend on: the policy file's SHA-256, the
//! suite's version, the first evaluation seed and the episodes per task. A file whose key
//! differs from what a round would run is not used ([`AssessmentFile::for_rollouts`]); the
//! rollouts run as before. Layout, little-endian: `AMFA`, the format (u16), the suite's
//! version (u32), the policy's digest (32 bytes), the first seed (u64), episodes per task
//! (u32), tasks (u16), the observation's width (u16), success per task (f64 each), then per
//! task its visited states' count (u32) and each state without its task's one-hot
//! (which the task restores).

use sha2::{Digest, Sha256};

use crate::policy::{Evaluator, Predictive, EVAL_FIRST_SEED};
use crate::round::RoundEvent;
use crate::tasks::{observation::TASK_ONE_HOT, Observation, TaskId, NUM_TASKS, OBS_DIM, SUITE_VERSION};

/// A policy's evaluation: success per task and the states it visited on each (the
/// selector's proxies for tasks without demonstrations).
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    pub per_task: Vec<f64>,
    pub visited: Vec<Vec<Observation>>,
}

/// Rollouts per progress report while evaluating.
const EVAL_REPORT_EVERY: usize = 10;

/// Rolls `policy` out on the evaluation seeds of every task, reporting progress.
pub fn assess(policy: &dyn Predictive, episodes: usize, events: &mut dyn FnMut(RoundEvent)) -> Assessment {
    let mut evaluator = Evaluator::new(&TaskId::ALL, episodes, EVAL_FIRST_SEED);
    let mut advances = 0;
    while evaluator.advance(policy) {
        advances += 1;
        if advances % EVAL_REPORT_EVERY == 0 {
            events(RoundEvent::Evaluating(evaluator.progress()));
        }
    }
    let evaluation = evaluator.evaluation();
    let per_task = TaskId::ALL.iter().map(|&t| evaluation.success_of(t).unwrap_or(0.0)).collect();
    Assessment { per_task, visited: evaluator.visited_states().to_vec() }
}

const MAGIC: &[u8; 4] = b"AMFA";
const FORMAT: u16 = 1;
/// The floats of a state kept in the file: all but the task's one-hot.
const KEPT: usize = OBS_DIM - NUM_TASKS;
const _: () = assert!(TASK_ONE_HOT.end == OBS_DIM && TASK_ONE_HOT.start == KEPT);

/// An assessment with what it was computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct AssessmentFile {
    pub suite_version: u32,
    /// SHA-256 of the assessed policy's file.
    pub policy_digest: [u8; 32],
    pub first_seed: u64,
    pub episodes: usize,
    pub assessment: Assessment,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AssessmentFileError {
    #[error("not an assessment file")]
    NotAssessment,
    #[error("assessment file format {0}, this build reads {FORMAT}")]
    Format(u16),
    #[error("the file ends early, at byte {0}")]
    Truncated(usize),
    #[error("{0} bytes after the end")]
    Trailing(usize),
    #[error("the file is for {tasks} tasks of {width} floats; this build has {NUM_TASKS} of {OBS_DIM}")]
    Shape { tasks: usize, width: usize },
    #[error("a visited state of {task} is not marked as that task's")]
    NotTheTasks { task: &'static str },
    #[error("it assesses another policy")]
    OtherPolicy,
    #[error("it assesses suite {file}, this build runs suite {SUITE_VERSION}")]
    OtherSuite { file: u32 },
    #[error("it was rolled out from seed {first_seed} for {episodes} episodes a task, not from {EVAL_FIRST_SEED} for {wanted}")]
    OtherRollouts { first_seed: u64, episodes: usize, wanted: usize },
}

/// SHA-256 of a policy file's bytes.
pub fn policy_digest(policy_file: &[u8]) -> [u8; 32] {
    Sha256::digest(policy_file).into()
}

impl AssessmentFile {
    /// `assessment` of the policy in `policy_file`, rolled out for `episodes` a task from
    /// the evaluation seeds.
    pub fn new(policy_file: &[u8], episodes: usize, assessment: Assessment) -> AssessmentFile {
        AssessmentFile { suite_version: SUITE_VERSION, policy_digest: policy_digest(policy_file), first_seed: EVAL_FIRST_SEED, episodes, assessment }
    }

    /// The assessment, if this file is of the policy whose file has `digest`
    /// ([`policy_digest`]), rolled out as a round with `episodes` a task would roll it out.
    pub fn for_rollouts(&self, digest: &[u8; 32], episodes: usize) -> Result<&Assessment, AssessmentFileError> {
        if self.suite_version != SUITE_VERSION {
            return Err(AssessmentFileError::OtherSuite { file: self.suite_version });
        }
        if &self.policy_digest != digest {
            return Err(AssessmentFileError::OtherPolicy);
        }
        if self.first_seed != EVAL_FIRST_SEED || self.episodes != episodes {
            return Err(AssessmentFileError::OtherRollouts { first_seed: self.first_seed, episodes: self.episodes, wanted: episodes });
        }
        Ok(&self.assessment)
    }

    /// The file's bytes; a visited state not marked as its task's is refused (the file
    /// leaves the one-hot out).
    pub fn to_bytes(&self) -> Result<Vec<u8>, AssessmentFileError> {
        let states: usize = self.assessment.visited.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(64 + 8 * NUM_TASKS + 4 * NUM_TASKS + 4 * KEPT * states);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        out.extend_from_slice(&self.suite_version.to_le_bytes());
        out.extend_from_slice(&self.policy_digest);
        out.extend_from_slice(&self.first_seed.to_le_bytes());
        out.extend_from_slice(&(self.episodes as u32).to_le_bytes());
        out.extend_from_slice(&(NUM_TASKS as u16).to_le_bytes());
        out.extend_from_slice(&(OBS_DIM as u16).to_le_bytes());
        for &success in &self.assessment.per_task {
            out.extend_from_slice(&success.to_le_bytes());
        }
        for (task, visited) in TaskId::ALL.iter().zip(&self.assessment.visited) {
            out.extend_from_slice(&(visited.len() as u32).to_le_bytes());
            for state in visited {
                if state.0[TASK_ONE_HOT] != one_hot(*task) {
                    return Err(AssessmentFileError::NotTheTasks { task: task.name() });
                }
                for value in &state.0[..KEPT] {
                    out.extend_from_slice(&value.to_le_bytes());
                }
            }
        }
        Ok(out)
    }

    /// Reads a file, refusing it whole if anything is off.
    pub fn from_bytes(bytes: &[u8]) -> Result<AssessmentFile, AssessmentFileError> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.take(4)? != MAGIC {
            return Err(AssessmentFileError::NotAssessment);
        }
        let format = u16::from_le_bytes(reader.array()?);
        if format != FORMAT {
            return Err(AssessmentFileError::Format(format));
        }
        let suite_version = u32::from_le_bytes(reader.array()?);
        let policy_digest = reader.array()?;
        let first_seed = u64::from_le_bytes(reader.array()?);
        let episodes = u32::from_le_bytes(reader.array()?) as usize;
        let tasks = u16::from_le_bytes(reader.array()?) as usize;
        let width = u16::from_le_bytes(reader.array()?) as usize;
        if tasks != NUM_TASKS || width != OBS_DIM {
            return Err(AssessmentFileError::Shape { tasks, width });
        }
        let per_task = (0..NUM_TASKS).map(|_| reader.array().map(f64::from_le_bytes)).collect::<Result<Vec<_>, _>>()?;
        let mut visited = Vec::with_capacity(NUM_TASKS);
        for task in TaskId::ALL {
            let count = u32::from_le_bytes(reader.array()?) as usize;
            // Checked before allocating: a count the rest of the file cannot hold is a
            // truncated (or forged) file, not a reason to reserve gigabytes.
            if count.saturating_mul(4 * KEPT) > reader.remaining() {
                return Err(AssessmentFileError::Truncated(bytes.len()));
            }
            let mut states = Vec::with_capacity(count);
            for _ in 0..count {
                let mut state = [0.0; OBS_DIM];
                for value in &mut state[..KEPT] {
                    *value = f32::from_le_bytes(reader.array()?);
                }
                state[TASK_ONE_HOT].copy_from_slice(&one_hot(task));
                states.push(Observation(state));
            }
            visited.push(states);
        }
        if reader.remaining() > 0 {
            return Err(AssessmentFileError::Trailing(reader.remaining()));
        }
        Ok(AssessmentFile { suite_version, policy_digest, first_seed, episodes, assessment: Assessment { per_task, visited } })
    }
}

fn one_hot(task: TaskId) -> [f32; NUM_TASKS] {
    let mut v = [0.0; NUM_TASKS];
    v[task.index()] = 1.0;
    v
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AssessmentFileError> {
        let slice = self.bytes.get(self.at..self.at + n).ok_or(AssessmentFileError::Truncated(self.bytes.len()))?;
        self.at += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], AssessmentFileError> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::shipped_prior;

    fn small() -> AssessmentFile {
        let assessment = assess(&shipped_prior(), 1, &mut |_| {});
        AssessmentFile::new(b"a policy file", 1, assessment)
    }

    #[test]
    fn a_file_reads_back_as_written() {
        let file = small();
        let bytes = file.to_bytes().unwrap();
        assert_eq!(AssessmentFile::from_bytes(&bytes).unwrap(), file);
    }

    #[test]
    fn a_damaged_file_is_refused_whole() {
        let bytes = small().to_bytes().unwrap();
        assert_eq!(AssessmentFile::from_bytes(&bytes[..bytes.len() - 1]), Err(AssessmentFileError::Truncated(bytes.len() - 1)));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(AssessmentFile::from_bytes(&longer), Err(AssessmentFileError::Trailing(1)));
        assert_eq!(AssessmentFile::from_bytes(b"AMFP...."), Err(AssessmentFileError::NotAssessment));
        let mut newer = bytes.clone();
        newer[4] = 9;
        assert_eq!(AssessmentFile::from_bytes(&newer), Err(AssessmentFileError::Format(9)));
        // A count no file could hold is refused before anything is allocated for it.
        let first_count = 4 + 2 + 4 + 32 + 8 + 4 + 2 + 2 + 8 * NUM_TASKS;
        let mut forged = bytes;
        forged[first_count..first_count + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(AssessmentFile::from_bytes(&forged), Err(AssessmentFileError::Truncated(_))));
    }

    #[test]
    fn a_file_serves_only_the_policy_and_rollouts_it_was_made_for() {
        let file = small();
        let digest = policy_digest(b"a policy file");
        assert_eq!(file.for_rollouts(&policy_digest(b"another policy file"), 1), Err(AssessmentFileError::OtherPolicy));
        assert!(matches!(file.for_rollouts(&digest, 10), Err(AssessmentFileError::OtherRollouts { episodes: 1, wanted: 10, .. })));
        assert_eq!(file.for_rollouts(&digest, 1), Ok(&file.assessment));
    }

    #[test]
    fn a_state_of_another_task_is_not_written() {
        let mut file = small();
        let stray = file.assessment.visited[1][0];
        file.assessment.visited[0].push(stray);
        assert_eq!(file.to_bytes(), Err(AssessmentFileError::NotTheTasks { task: TaskId::ALL[0].name() }));
    }
}
