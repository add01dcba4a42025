//! A session's first proposals, shipped beside the policy (`policy.openings.json`).
//!
//! A session's start (round 0) is a pure function of the pre-trained policy, its
//! assessment, the round's settings and the session's seed (which draws the states the
//! selector's GP looks at). Every visitor with the default settings would compute it
//! alike, in the training worker, whose module is most of the page's download. So `amf
//! assess` computes the start for a fixed list of seeds and writes it here, and the page
//! draws a new session's seed among them ([`Openings::seed_for`]): its first proposal is
//! then the selector's for that seed, read from a file of a few kilobytes as soon as the
//! policy's own file is there, and the worker loads meanwhile. Settings other than the
//! file's, or another policy, start in the worker as before.
//!
//! JSON (serde_json reads every float back exactly as written), keyed by the suite's
//! version and the policy file's SHA-256; the settings are written in full and compared
//! whole with a session's.

use futures_lite::future::block_on;
use serde::{Deserialize, Serialize};

use crate::assessment::{policy_digest, Assessment};
use crate::policy::{cpu, Policy};
use crate::record::hex;
use crate::round::{run_round, RoundConfig, RoundError, RoundInput};
use crate::select::Selection;
use crate::tasks::{NUM_TASKS, SUITE_VERSION};

/// The file's format; another is refused whole.
pub const FORMAT: u16 = 1;

/// Seeds `1..=DEFAULT_SEEDS` by default: 64 starts are about 100 KB of JSON, 20 KB
/// gzipped, and a session's seed is still one of 64.
pub const DEFAULT_SEEDS: u64 = 64;

/// Round 0 of sessions with one settings, for each of a list of seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Openings {
    pub format: u16,
    pub suite_version: u32,
    /// SHA-256 of the policy file the starts were computed with, in hex.
    pub policy_sha256: String,
    /// The round's settings the starts were computed with; a session's must be equal.
    pub config: RoundConfig,
    /// The policy's success per task (its assessment's): a session's first curve point.
    pub per_task: Vec<f64>,
    /// The starts, in the order a page draws them.
    pub openings: Vec<Opening>,
}

/// One seed's start: what the selector proposes first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Opening {
    pub seed: u64,
    pub selection: Selection,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OpeningsError {
    #[error("not an openings file ({0})")]
    Unreadable(String),
    #[error("openings file format {0}, this build reads {FORMAT}")]
    Format(u16),
    #[error("it opens suite {file}, this build runs suite {SUITE_VERSION}")]
    OtherSuite { file: u32 },
    #[error("it opens sessions of another policy")]
    OtherPolicy,
    #[error("it holds {0} tasks' success, this build has {NUM_TASKS} tasks")]
    Shape(usize),
    #[error("it holds no start")]
    Empty,
}

/// Just the format, read before the rest so that a newer file is told as such.
#[derive(Deserialize)]
struct Format {
    format: u16,
}

impl Openings {
    /// The starts of `openings` (each computed with `config` from `assessment` of the
    /// policy in `policy_file`).
    pub fn new(policy_file: &[u8], config: RoundConfig, assessment: &Assessment, openings: Vec<Opening>) -> Openings {
        Openings {
            format: FORMAT,
            suite_version: SUITE_VERSION,
            policy_sha256: hex(&policy_digest(policy_file)),
            config,
            per_task: assessment.per_task.clone(),
            openings,
        }
    }

    /// Computes the starts of sessions with `config` and each of `seeds` on the CPU, as
    /// the page's training worker would with `assessment` (the policy's shipped one).
    pub fn compute(policy_file: &[u8], prior: &Policy, config: RoundConfig, assessment: &Assessment, seeds: impl IntoIterator<Item = u64>) -> Result<Openings, RoundError> {
        let mut openings = Vec::new();
        for seed in seeds {
            let input = RoundInput { config: &config, demonstrations: &[], weights: &[], seed, round: 0, resume: None, prior_assessment: Some(assessment), prior_rehearsal: None };
            let output = block_on(run_round(&cpu(), prior, input, &|| 0.0, &mut |_| {}))?;
            let selection = output.selection.ok_or_else(|| RoundError::Settings("a budget of 0 has no first proposal".into()))?;
            openings.push(Opening { seed, selection });
        }
        Ok(Openings::new(policy_file, config, assessment, openings))
    }

    /// Reads a file and checks it is for this suite and for the policy whose file has
    /// `digest` ([`policy_digest`]); refused whole otherwise.
    pub fn from_json(bytes: &[u8], digest: &[u8; 32]) -> Result<Openings, OpeningsError> {
        let unreadable = |error: serde_json::Error| OpeningsError::Unreadable(error.to_string());
        let Format { format } = serde_json::from_slice(bytes).map_err(unreadable)?;
        if format != FORMAT {
            return Err(OpeningsError::Format(format));
        }
        let file: Openings = serde_json::from_slice(bytes).map_err(unreadable)?;
        if file.suite_version != SUITE_VERSION {
            return Err(OpeningsError::OtherSuite { file: file.suite_version });
        }
        if file.policy_sha256 != hex(digest) {
            return Err(OpeningsError::OtherPolicy);
        }
        if file.per_task.len() != NUM_TASKS {
            return Err(OpeningsError::Shape(file.per_task.len()));
        }
        if file.openings.is_empty() {
            return Err(OpeningsError::Empty);
        }
        Ok(file)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("openings are plain data")
    }

    /// The seed of a new session with `config`: one of the file's, chosen by `draw` (a
    /// random number), or `None` if the file was made with other settings.
    pub fn seed_for(&self, config: &RoundConfig, draw: u64) -> Option<u64> {
        (&self.config == config && !self.openings.is_empty()).then(|| self.openings[(draw % self.openings.len() as u64) as usize].seed)
    }

    /// The start of a session with `config` and `seed`, if the file holds it: the
    /// policy's success per task and the first proposal.
    pub fn start_of(&self, config: &RoundConfig, seed: u64) -> Option<(Vec<f64>, Selection)> {
        if &self.config != config {
            return None;
        }
        let opening = self.openings.iter().find(|o| o.seed == seed)?;
        Some((self.per_task.clone(), opening.selection.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::TaskScore;

    fn openings() -> Openings {
        let assessment = Assessment { per_task: vec![0.5; NUM_TASKS], visited: vec![vec![]; NUM_TASKS] };
        let selection = |pick: usize| Selection {
            picks: vec![pick],
            scores: vec![TaskScore { task: pick, name: "a task".into(), score: 0.1 + pick as f64 / 3.0, proxy: None }],
            reason: "the largest gain".into(),
        };
        let starts = vec![Opening { seed: 1, selection: selection(3) }, Opening { seed: 2, selection: selection(5) }];
        Openings::new(b"a policy file", RoundConfig::default(), &assessment, starts)
    }

    #[test]
    fn a_file_reads_back_as_written_for_its_policy_only() {
        let file = openings();
        let json = file.to_json();
        assert_eq!(Openings::from_json(json.as_bytes(), &policy_digest(b"a policy file")), Ok(file));
        assert_eq!(Openings::from_json(json.as_bytes(), &policy_digest(b"another policy file")), Err(OpeningsError::OtherPolicy));
    }

    #[test]
    fn a_file_of_another_format_suite_or_shape_is_refused() {
        let digest = policy_digest(b"a policy file");
        let newer = openings().to_json().replacen("\"format\":1", "\"format\":2", 1);
        assert_eq!(Openings::from_json(newer.as_bytes(), &digest), Err(OpeningsError::Format(2)));
        let older = Openings { suite_version: SUITE_VERSION - 1, ..openings() };
        assert_eq!(Openings::from_json(older.to_json().as_bytes(), &digest), Err(OpeningsError::OtherSuite { file: SUITE_VERSION - 1 }));
        let short = Openings { per_task: vec![0.5; 3], ..openings() };
        assert_eq!(Openings::from_json(short.to_json().as_bytes(), &digest), Err(OpeningsError::Shape(3)));
        let empty = Openings { openings: vec![], ..openings() };
        assert_eq!(Openings::from_json(empty.to_json().as_bytes(), &digest), Err(OpeningsError::Empty));
        assert!(matches!(Openings::from_json(b"<html>not found</html>", &digest), Err(OpeningsError::Unreadable(_))));
    }

    #[test]
    fn a_session_opens_from_the_file_only_with_its_settings_and_one_of_its_seeds() {
        let file = openings();
        let config = RoundConfig::default();
        let seeds: Vec<u64> = (0..6).map(|draw| file.seed_for(&config, draw).unwrap()).collect();
        assert_eq!(seeds, [1, 2, 1, 2, 1, 2], "draws spread over the file's seeds");
        let (per_task, selection) = file.start_of(&config, 2).unwrap();
        assert_eq!((per_task, selection.picks), (vec![0.5; NUM_TASKS], vec![5]));
        assert_eq!(file.start_of(&config, 7), None, "a seed the file does not hold");
        let other = RoundConfig { batch: 3, ..RoundConfig::default() };
        assert_eq!(file.seed_for(&other, 0), None);
        assert_eq!(file.start_of(&other, 1), None);
    }
}
