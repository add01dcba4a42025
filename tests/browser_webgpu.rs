//! Proves, in headless Chromium's WebGPU (SwiftShader, software), that the policy's
//! forward pass on WebGPU agrees with the CPU backend, that fine-tuning runs on WebGPU
//! and comes back to the CPU. Chromium only: headless Firefox has no WebGPU. Needs
//! `--features webgpu`.
//!
//! Not here: a device destroyed mid-training. wgpu's browser backend then throws inside
//! an import that cannot report it, which traps the whole wasm instance, so the fallback
//! to the CPU has to cross a worker boundary (the worker posts snapshots; the page
//! resumes from the last one on the CPU).
#![cfg(all(target_arch = "wasm32", feature = "webgpu"))]

use amf_studio::policy::{
    collect_expert_demonstrations, cpu, finetune_with_fallback, Checkpointing, Actor, BcConfig, Checkpoint, Policy,
};
use amf_studio::tasks::{Episode, TaskId, OBS_DIM};
use amf_studio::web::gpu;
use burn::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn shipped() -> Policy {
    match Checkpoint::from_bytes(include_bytes!("../www/policy.amfp")).expect("the policy loads") {
        Checkpoint::Pretrained { policy, .. } => policy,
        Checkpoint::FineTuned { .. } => panic!("the shipped policy is fine-tuned"),
    }
}

fn observations() -> Vec<f32> {
    TaskId::ALL.iter().flat_map(|&t| Episode::new(t, 5).observation().0).collect()
}

#[wasm_bindgen_test]
async fn forward_pass_on_webgpu_matches_the_cpu() {
    let gpu = gpu::acquire().await.expect("headless Chromium offers WebGPU (SwiftShader)");
    let prior = shipped();
    let rows = TaskId::ALL.len();
    let on = |device: &Device| Tensor::<2>::from_data(TensorData::new(observations(), [rows, OBS_DIM]), device);
    let want: Vec<f32> = prior.forward(on(&cpu())).into_data().try_to_vec::<f32>().unwrap();
    let got: Vec<f32> = prior.clone().fork(&gpu.device).forward(on(&gpu.device)).into_data_async().await.unwrap().try_to_vec::<f32>().unwrap();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-4, "WebGPU {g} vs CPU {w} (adapter {})", gpu.adapter);
    }
}

#[wasm_bindgen_test]
async fn a_short_finetuning_round_runs_on_webgpu() {
    let gpu = gpu::acquire().await.expect("WebGPU");
    let prior = shipped();
    let data = collect_expert_demonstrations(TaskId::DrawerClose, 10_000, 2, 0.0);
    let bc = BcConfig { steps: 30, batch_size: 64, ..BcConfig::default() };
    let mut losses = Vec::new();
    let mut fell_back = false;
    let tuned = finetune_with_fallback(&gpu.device, &prior, &data, &bc, Checkpointing::default(), &mut |p| losses.push(p.action_mse), &mut |_, _| fell_back = true)
        .await
        .expect("fine-tuning runs on WebGPU");
    assert!(!fell_back);
    assert_eq!(losses.len(), 30);
    assert!(losses[25..].iter().sum::<f32>() < losses[..5].iter().sum::<f32>(), "loss did not fall: {losses:?}");
    // Back on the CPU, it acts, and differently from the prior where it was taught.
    let observation = [Episode::new(TaskId::DrawerClose, 3).observation()];
    assert_ne!(tuned.act(&observation), prior.act(&observation));
}
