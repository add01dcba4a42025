//! Proves the policy's training and storage behave: cloning drives the loss far down on a
//! small dataset, training is deterministic for a seed, saved and loaded weights give
//! identical actions, the adaptive prior closes the gates of tasks without data, and bad
//! input (NaN data, malformed files) gives clear errors.

use amf_studio::policy::{
    collect_expert_demonstrations, finetune, train_policy, Actor, BcConfig, BcError, Checkpoint, CheckpointError, CheckpointKind,
    Dataset, DatasetError, PolicyConfig, Regularizer, TrainingProgress,
};
use amf_studio::tasks::{Episode, Observation, TaskId, SUITE_VERSION};

fn small_config() -> PolicyConfig {
    PolicyConfig { hidden: 64, ..PolicyConfig::default() }
}

fn observations() -> Vec<Observation> {
    TaskId::ALL.iter().map(|&t| Episode::new(t, 5).observation()).collect()
}

#[test]
fn cloning_overfits_a_small_dataset() {
    let data = collect_expert_demonstrations(TaskId::PickPlace, 0, 2, 0.0);
    let bc = BcConfig { steps: 400, batch_size: 64, regularizer: Regularizer::None, ..BcConfig::default() };
    let mut losses = Vec::new();
    train_policy(&small_config(), &data, &bc, &mut |p: TrainingProgress| losses.push(p.action_mse)).unwrap();
    let first: f32 = losses[..10].iter().sum::<f32>() / 10.0;
    let last: f32 = losses[losses.len() - 10..].iter().sum::<f32>() / 10.0;
    assert!(last < 0.1 * first, "loss fell only from {first} to {last}");
}

#[test]
fn training_is_deterministic_and_checkpoints_round_trip() {
    let data = collect_expert_demonstrations(TaskId::Reach, 0, 3, 0.1);
    let bc = BcConfig { steps: 60, batch_size: 32, regularizer: Regularizer::None, ..BcConfig::default() };
    let a = train_policy(&small_config(), &data, &bc, &mut |_| {}).unwrap();
    let b = train_policy(&small_config(), &data, &bc, &mut |_| {}).unwrap();
    let obs = observations();
    assert_eq!(a.act(&obs), b.act(&obs), "same seed, different weights");

    let bytes = Checkpoint::pretrained(a, small_config(), vec![TaskId::Reach]).to_bytes().unwrap();
    let Checkpoint::Pretrained { policy: loaded, header } = Checkpoint::from_bytes(&bytes).unwrap() else {
        panic!("a pre-trained checkpoint loaded as another kind");
    };
    assert_eq!(header.trained_on, vec![TaskId::Reach]);
    assert_eq!(loaded.act(&obs), b.act(&obs), "loaded weights act differently");

    let tuned = finetune(&loaded, &data, &BcConfig { steps: 20, batch_size: 32, ..BcConfig::default() }, &mut |_| {}).unwrap();
    let expected = tuned.act(&obs);
    let bytes = Checkpoint::finetuned(tuned, small_config(), vec![TaskId::Reach]).to_bytes().unwrap();
    // The page reads the header alone (its module has no network to load weights into).
    let (header, weights_at) = Checkpoint::read_header(&bytes).unwrap();
    assert_eq!(header.kind, CheckpointKind::FineTuned { gated: true });
    assert!(weights_at > 12 && weights_at < bytes.len());
    assert!(matches!(Checkpoint::read_header(&bytes[..weights_at - 1]), Err(CheckpointError::Truncated)));
    let Checkpoint::FineTuned { policy: reloaded, .. } = Checkpoint::from_bytes(&bytes).unwrap() else {
        panic!("a fine-tuned checkpoint loaded as another kind");
    };
    assert!(reloaded.is_gated());
    assert_eq!(reloaded.act(&obs), expected);
}

#[test]
fn the_adaptive_prior_keeps_untrained_tasks_on_the_prior() {
    let prior_data = collect_expert_demonstrations(TaskId::Reach, 0, 3, 0.1);
    let quick = BcConfig { steps: 60, batch_size: 32, regularizer: Regularizer::None, ..BcConfig::default() };
    let prior = train_policy(&small_config(), &prior_data, &quick, &mut |_| {}).unwrap();
    let demos = collect_expert_demonstrations(TaskId::DrawerClose, 100, 3, 0.0);
    let bc = BcConfig { steps: 300, batch_size: 64, ..BcConfig::default() };
    let tuned = finetune(&prior, &demos, &bc, &mut |_| {}).unwrap();
    let alphas: Vec<f32> = tuned.alphas().into_data().try_into_vec::<f32>().unwrap();
    let demonstrated = alphas[TaskId::DrawerClose.index()];
    for task in TaskId::ALL.into_iter().filter(|&t| t != TaskId::DrawerClose) {
        assert!(alphas[task.index()] < 0.1, "{task}: gate {} stayed open without data", alphas[task.index()]);
        assert!(alphas[task.index()] < demonstrated);
    }
    // On an undemonstrated task, the gated policy stays far closer to the prior than plain
    // fine-tuning on the same data does.
    let plain = finetune(&prior, &demos, &BcConfig { regularizer: Regularizer::None, ..bc }, &mut |_| {}).unwrap();
    let obs: Vec<_> = (0..8).map(|seed| Episode::new(TaskId::Push, seed).observation()).collect();
    let drift = |actions: Vec<[f32; 4]>| -> f32 {
        let reference = prior.act(&obs);
        actions.iter().zip(&reference).flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs())).sum()
    };
    let (gated_drift, plain_drift) = (drift(tuned.act(&obs)), drift(plain.act(&obs)));
    assert!(gated_drift < 0.2 * plain_drift, "push drift: gated {gated_drift}, plain {plain_drift}");
}

#[test]
fn bad_training_data_is_refused_with_the_row() {
    let mut data = collect_expert_demonstrations(TaskId::Reach, 0, 1, 0.0);
    data.actions[4 * 3 + 1] = f32::NAN;
    let error = train_policy(&small_config(), &data, &BcConfig::default(), &mut |_| {}).unwrap_err();
    assert_eq!(error, BcError::Data(DatasetError::NonFinite { row: 3 }));
    let error = train_policy(&small_config(), &Dataset::default(), &BcConfig::default(), &mut |_| {}).unwrap_err();
    assert_eq!(error, BcError::Data(DatasetError::Empty));
}

#[test]
fn malformed_policy_files_give_clear_errors() {
    assert!(matches!(Checkpoint::from_bytes(b"hello"), Err(CheckpointError::NotAPolicy)));
    assert!(matches!(Checkpoint::from_bytes(b"AMFP\x01\x00"), Err(CheckpointError::Truncated)));
    assert!(matches!(
        Checkpoint::from_bytes(b"AMFP\x09\x00\x00\x00\x00\x00\x00\x00"),
        Err(CheckpointError::UnsupportedVersion { found: 9 })
    ));
    let data = collect_expert_demonstrations(TaskId::Reach, 0, 1, 0.0);
    let bc = BcConfig { steps: 2, batch_size: 8, regularizer: Regularizer::None, ..BcConfig::default() };
    let policy = train_policy(&small_config(), &data, &bc, &mut |_| {}).unwrap();
    let mut bytes = Checkpoint::pretrained(policy, small_config(), vec![]).to_bytes().unwrap();
    // A policy of another suite sees another observation: refused by its header, with
    // a message saying so, before its weights are read into the wrong shapes.
    let mut older = bytes.clone();
    let at = older.windows(17).position(|w| w == format!("\"suite_version\":{SUITE_VERSION}").as_bytes()).expect("the header names its suite");
    older[at + 16] = b'1';
    let error = Checkpoint::from_bytes(&older).err().expect("an older suite's policy is refused");
    assert!(matches!(error, CheckpointError::SuiteVersion { found: 1 }), "{error}");
    assert!(error.to_string().contains("train it again"), "{error}");
    assert!(Checkpoint::read_header(&older).is_err(), "the page's header check refuses it too");
    bytes.truncate(bytes.len() / 2);
    assert!(matches!(Checkpoint::from_bytes(&bytes), Err(CheckpointError::Weights(_))));
}

#[test]
fn a_watched_policy_is_rolled_out_from_its_file_and_replays_exactly() {
    // What the page's worker does when a person watches the shipped policy: read the file,
    // roll out one episode; the stage then plays the actions back from the same seed.
    let checkpoint = Checkpoint::from_bytes(include_bytes!("../www/policy.amfp")).unwrap();
    let rollout = amf_studio::policy::roll_out(checkpoint.actor(), TaskId::Reach, 3);
    assert!(rollout.success, "the shipped policy fails to reach on seed 3");
    assert_eq!(rollout.steps, rollout.actions.len());
    assert!(rollout.steps < TaskId::Reach.horizon(), "a rollout stops at its first success");
    let replayed = Episode::replay(TaskId::Reach, 3, &rollout.actions);
    assert!(replayed.is_success());
    assert_eq!(replayed.state_hash(), rollout.final_state_hash);
}
