//! Pre-training with mismatch: the policy learns from scripted-expert demonstrations of
//! half the suite only, so the other half is what fine-tuning (and AMF) must add.

use serde::{Deserialize, Serialize};

use super::bc::{train_policy, BcConfig, BcError, Regularizer, TrainingProgress};
use super::dataset::{collect_expert_demonstrations, Dataset};
use super::network::{Policy, PolicyConfig};
use crate::tasks::TaskId;

/// The tasks pre-training sees: one of each skill family's members where the family
/// has two (drawer, window), so fine-tuning has related but unseen tasks to learn.
pub const PRETRAIN_TASKS: [TaskId; 5] =
    [TaskId::Reach, TaskId::Push, TaskId::PickPlace, TaskId::DrawerOpen, TaskId::WindowOpen];

/// Settings of `amf pretrain` (defaults in the field docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PretrainConfig {
    /// Expert episodes per pre-training task (default: 100).
    pub episodes_per_task: usize,
    /// Standard deviation of the noise on executed actions while collecting (default: 0.3).
    pub noise: f32,
    pub policy: PolicyConfig,
    /// Default: 6000 steps of plain cloning, seed 0.
    pub bc: BcConfig,
}

impl Default for PretrainConfig {
    fn default() -> Self {
        PretrainConfig {
            episodes_per_task: 100,
            noise: 0.3,
            policy: PolicyConfig::default(),
            bc: BcConfig { steps: 6000, regularizer: Regularizer::None, ..BcConfig::default() },
        }
    }
}

/// Collects the demonstrations of `PRETRAIN_TASKS` (seeds from 0) and trains on them.
/// Deterministic for a given config.
pub fn pretrain(config: &PretrainConfig, progress: &mut dyn FnMut(TrainingProgress)) -> Result<(Policy, Dataset), BcError> {
    let mut data = Dataset::default();
    for task in PRETRAIN_TASKS {
        data.extend(&collect_expert_demonstrations(task, 0, config.episodes_per_task, config.noise));
    }
    let policy = train_policy(&config.policy, &data, &config.bc, progress)?;
    Ok((policy, data))
}
