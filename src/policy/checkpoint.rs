//! Policy files: a small header (magic, format version, JSON description) followed by
//! the weights as a burnpack record. The same bytes are written by the runner and
//! fetched or stored by the page.
//!
//! Layout: `b"AMFP"`, format version (u32, little-endian), header length (u32 LE), the
//! header as JSON, then the weights.

use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::eval::Actor;
use super::finetuned::FineTunedPolicy;
use super::network::{NormStats, Policy, PolicyConfig};
use crate::tasks::{TaskId, SUITE_VERSION};

const MAGIC: &[u8; 4] = b"AMFP";
/// Version of the file layout; bumped when old files can no longer be read
/// (2: the standard deviation became a per-task table).
pub const FORMAT_VERSION: u32 = 2;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointKind {
    Pretrained,
    /// A fine-tuned policy; `gated` says whether it carries the adaptive prior.
    FineTuned { gated: bool },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointHeader {
    pub kind: CheckpointKind,
    pub policy: PolicyConfig,
    pub suite_version: u32,
    /// Tasks whose demonstrations trained it.
    pub trained_on: Vec<TaskId>,
}

/// A loaded policy file.
#[derive(Debug)]
pub enum Checkpoint {
    Pretrained { header: CheckpointHeader, policy: Policy },
    FineTuned { header: CheckpointHeader, policy: FineTunedPolicy },
}

#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error("not a policy file (it does not start with AMFP)")]
    NotAPolicy,
    #[error("the file ends early")]
    Truncated,
    #[error("policy file format {found} is not the one this build reads ({FORMAT_VERSION})")]
    UnsupportedVersion { found: u32 },
    #[error("the policy was trained for task suite {found}, whose observation differs from this build's (suite {SUITE_VERSION}); train it again")]
    SuiteVersion { found: u32 },
    #[error("the policy file's header is malformed: {0}")]
    Header(#[from] serde_json::Error),
    #[error("the policy file's weights do not fit its header: {0}")]
    Weights(String),
}

impl Checkpoint {
    pub fn header(&self) -> &CheckpointHeader {
        match self {
            Checkpoint::Pretrained { header, .. } | Checkpoint::FineTuned { header, .. } => header,
        }
    }

    pub fn pretrained(policy: Policy, config: PolicyConfig, trained_on: Vec<TaskId>) -> Checkpoint {
        let header = CheckpointHeader { kind: CheckpointKind::Pretrained, policy: config, suite_version: SUITE_VERSION, trained_on };
        Checkpoint::Pretrained { header, policy }
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, CheckpointError> {
        let weights = match self {
            Checkpoint::Pretrained { policy, .. } => policy.clone().into_record().into_bytes(),
            Checkpoint::FineTuned { policy, .. } => policy.clone().into_record().into_bytes(),
        }
        .map_err(|e| CheckpointError::Weights(e.to_string()))?;
        let header = serde_json::to_vec(self.header())?;
        let mut bytes = Vec::with_capacity(12 + header.len() + weights.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(&weights);
        Ok(bytes)
    }

    /// Reads a policy file's header alone, without its weights: what the page checks of
    /// a file it only passes on (its module does not link the network; the workers read
    /// the weights). Returns the header and where the weights start.
    pub fn read_header(bytes: &[u8]) -> Result<(CheckpointHeader, usize), CheckpointError> {
        if bytes.len() < 4 || &bytes[..4] != MAGIC {
            return Err(CheckpointError::NotAPolicy);
        }
        let word = |at: usize| -> Result<u32, CheckpointError> {
            let slice = bytes.get(at..at + 4).ok_or(CheckpointError::Truncated)?;
            Ok(u32::from_le_bytes([slice[0], slice[1], slice[2], slice[3]]))
        };
        let version = word(4)?;
        if version != FORMAT_VERSION {
            return Err(CheckpointError::UnsupportedVersion { found: version });
        }
        let header_len = word(8)? as usize;
        let header_bytes = bytes.get(12..12 + header_len).ok_or(CheckpointError::Truncated)?;
        // A policy's input is the whole suite's observation (the one-hot names every
        // task), so unlike a demonstration it fits one suite only. The suite is read
        // first: a later suite's header names tasks this build does not know.
        #[derive(Deserialize)]
        struct Suite {
            suite_version: u32,
        }
        let Suite { suite_version } = serde_json::from_slice(header_bytes)?;
        if suite_version != SUITE_VERSION {
            return Err(CheckpointError::SuiteVersion { found: suite_version });
        }
        Ok((serde_json::from_slice(header_bytes)?, 12 + header_len))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
        let (header, weights_at) = Checkpoint::read_header(bytes)?;
        let weights = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes[weights_at..].to_vec()))
            .map_err(|e| CheckpointError::Weights(e.to_string()))?;
        let device = super::cpu();
        // The skeleton's random weights are overwritten, but drawing them takes numbers
        // from the backend's one generator, which a seeded training may be using.
        let skeleton = super::drawing_initial_weights(|| Policy::new(&header.policy, &NormStats::identity(), &device));
        Ok(match header.kind {
            CheckpointKind::Pretrained => {
                let policy = skeleton.try_load_record(weights).map_err(|e| CheckpointError::Weights(e.to_string()))?;
                Checkpoint::Pretrained { header, policy }
            }
            CheckpointKind::FineTuned { gated } => {
                let policy = super::drawing_initial_weights(|| FineTunedPolicy::new(&skeleton, gated, &device))
                    .try_load_record(weights)
                    .map_err(|e| CheckpointError::Weights(e.to_string()))?;
                Checkpoint::FineTuned { header, policy }
            }
        })
    }
}

impl Checkpoint {
    /// The file's policy, to act.
    pub fn actor(&self) -> &dyn Actor {
        match self {
            Checkpoint::Pretrained { policy, .. } => policy,
            Checkpoint::FineTuned { policy, .. } => policy,
        }
    }

    pub fn finetuned(policy: FineTunedPolicy, config: PolicyConfig, trained_on: Vec<TaskId>) -> Checkpoint {
        let header = CheckpointHeader {
            kind: CheckpointKind::FineTuned { gated: policy.is_gated() },
            policy: config,
            suite_version: SUITE_VERSION,
            trained_on,
        };
        Checkpoint::FineTuned { header, policy }
    }
}
