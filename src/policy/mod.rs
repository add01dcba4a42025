//! The multi-task policy `pi(s, c)`: a burn network trained by behavioral cloning,
//! pre-trained on some tasks and fine-tuned on demonstrations, with the adaptive prior
//! against forgetting, batched evaluation by rollouts, and checkpoints.
//!
//! Backends are chosen at run time from a burn `Device`: `Device::flex()` (pure-Rust
//! CPU, natively and in wasm) for inference, and its `.autodiff()` for training.

mod bc;
mod checkpoint;
mod dataset;
mod eval;
mod finetuned;
mod human;
mod network;
mod predict;
mod pretrain;
mod rehearsal;
mod transfer;

pub use bc::{
    finetune, finetune_on, finetune_with_fallback, squared_residuals, train_policy, BcConfig, Checkpointing, PortableSnapshot, PortableTensor, Regularizer, Snapshot,
    TrainingProgress, SNAPSHOT_EVERY,
};
pub use checkpoint::{Checkpoint, CheckpointError};
pub use dataset::{collect_expert_demonstrations, expert_demonstration, standard_normal, Dataset, DatasetError, Demonstration, Labels, STILL_MOTION};
pub use eval::{evaluate, roll_out, Actor, Evaluation, Evaluator, TaskSuccess};
pub use finetuned::FineTunedPolicy;
pub use human::{HumanDemonstration, HumanModel, MotionStats, People, Profile};
pub use network::{NormStats, Policy, PolicyConfig};
pub use predict::{Prediction, Predictive};
pub use transfer::{to_device_async, TransferError};
pub use pretrain::{pretrain, PretrainConfig, PRETRAIN_TASKS};
pub use rehearsal::{rehearsal_rows, REHEARSAL_EPISODES, REHEARSAL_FIRST_SEED};
pub use bc::BcError;
pub use checkpoint::{CheckpointHeader, CheckpointKind};

use burn::prelude::Device;

/// Evaluation seeds start here, far from the seeds demonstrations are collected on.
pub const EVAL_FIRST_SEED: u64 = 1_000_000;

/// The pre-trained policy the project ships (`www/policy.amfp`), for the unit tests.
#[cfg(test)]
pub(crate) fn shipped_prior() -> Policy {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/www/policy.amfp")).unwrap();
    match Checkpoint::from_bytes(&bytes).unwrap() {
        Checkpoint::Pretrained { policy, .. } => policy,
        _ => panic!("the shipped policy is pre-trained"),
    }
}

/// The CPU device used for inference.
pub fn cpu() -> Device {
    Device::flex()
}

/// The backend's random numbers are global to the process: seeding it and drawing a
/// model's initial weights happen under this lock, and so does any other draw of initial
/// weights (a checkpoint's skeleton), so that trainings that run at once (tests in
/// parallel, the service's job beside a checkpoint being loaded) each get the weights
/// their seed gives. burn draws a parameter's weights lazily, at its first use: every
/// parameter is touched here, under the lock, so none is drawn later beside another
/// draw.
pub(crate) fn drawing_initial_weights<M: burn::module::Module>(draw: impl FnOnce() -> M) -> M {
    use burn::module::{ModuleVisitor, Param};
    use burn::prelude::Tensor;
    struct Touch;
    impl ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    static DRAWING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _alone = DRAWING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let model = draw();
    model.visit(&mut Touch);
    model
}
