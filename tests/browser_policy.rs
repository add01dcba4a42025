//! Proves, in headless Chromium and Firefox, that the shipped policy's forward pass on the
//! CPU backend matches the native one (within float tolerance), and that a short
//! fine-tuning round runs in the browser and changes the policy where it was taught.
#![cfg(target_arch = "wasm32")]

use amf_studio::policy::{collect_expert_demonstrations, finetune, Actor, BcConfig, Checkpoint, Policy};
use amf_studio::tasks::{Episode, TaskId};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn shipped() -> Policy {
    match Checkpoint::from_bytes(include_bytes!("../www/policy.amfp")).expect("the policy loads") {
        Checkpoint::Pretrained { policy, .. } => policy,
        Checkpoint::FineTuned { .. } => panic!("the shipped policy is fine-tuned"),
    }
}

#[wasm_bindgen_test]
fn forward_pass_matches_native() {
    let expected: Vec<[f32; 4]> = serde_json::from_str(include_str!("fixtures/policy_actions.json")).unwrap();
    let observations: Vec<_> = TaskId::ALL.iter().map(|&t| Episode::new(t, 5).observation()).collect();
    let actions = shipped().act(&observations);
    for (got, want) in actions.iter().zip(&expected) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "browser {got:?} vs native {want:?}");
        }
    }
}

#[wasm_bindgen_test]
fn a_short_finetuning_round_runs_in_the_browser() {
    let prior = shipped();
    let data = collect_expert_demonstrations(TaskId::DrawerClose, 10_000, 2, 0.0);
    let mut losses = Vec::new();
    let bc = BcConfig { steps: 30, batch_size: 64, ..BcConfig::default() };
    let tuned = finetune(&prior, &data, &bc, &mut |p| losses.push(p.action_mse)).expect("fine-tuning runs");
    assert_eq!(losses.len(), 30);
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses[25..].iter().sum::<f32>() < losses[..5].iter().sum::<f32>(), "loss did not fall: {losses:?}");
    let observation = [Episode::new(TaskId::DrawerClose, 3).observation()];
    assert_ne!(tuned.act(&observation), prior.act(&observation));
}
