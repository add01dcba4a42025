//! `?bench`: runs the simulation benchmarks in this browser and shows their JSON in
//! `#bench-results`, where `tests/e2e/bench.mjs` reads it and adds the peer engine's
//! figures from the same browser. Built only with the `bench-page` feature
//! (`scripts/bench.sh` builds it so): the page as shipped carries none of it.

use serde::Serialize;
use yew::prelude::*;

use crate::bench::{
    bench_selection, bench_sim, bench_training, physics_script, time_replay, PhysicsScript, SelectionBench, SimBench, TrainingBench, ROUND_STEPS_BEFORE,
};
use crate::round::ROUND_STEPS;
use super::views::policy::{fetch_policy_bytes, POLICY_URL};
use super::seconds_now;
use crate::policy::{Checkpoint, Policy};
use crate::tasks::TaskId;

#[derive(Serialize)]
struct BrowserBench {
    sim: SimBench,
    /// One expert episode per task, for the peer engine to repeat.
    scripts: Vec<PhysicsScript>,
    /// Seconds this build takes to replay each script (same order).
    replay_seconds: Vec<f64>,
    /// A fine-tuning round of 40 demonstrations on the CPU backend (flex), of
    /// [`crate::round::ROUND_STEPS`].
    training: Option<TrainingBench>,
    /// The same round as it was before (1000 steps), timed in the same run.
    training_before: Option<TrainingBench>,
    /// The same round on burn's ndarray backend (when built with it), against flex.
    ndarray_training: Option<TrainingBench>,
    /// AMF choosing a batch of 5 with the default sizes.
    selection: Option<SelectionBench>,
    /// Fine-tuning samples per second on WebGPU (a few steps: software WebGPU is slow
    /// here), or why there is none.
    webgpu: Option<WebGpuBench>,
}

#[derive(Serialize)]
struct WebGpuBench {
    adapter: Option<String>,
    samples_per_second: Option<f64>,
    error: Option<String>,
}

#[cfg(not(feature = "webgpu"))]
async fn bench_webgpu(_: &Policy) -> WebGpuBench {
    WebGpuBench { adapter: None, samples_per_second: None, error: Some("built without the webgpu feature".into()) }
}

#[cfg(feature = "webgpu")]
async fn bench_webgpu(policy: &Policy) -> WebGpuBench {
    let data = crate::bench::training_data(40);
    match super::gpu::acquire().await {
        Err(error) => WebGpuBench { adapter: None, samples_per_second: None, error: Some(error) },
        Ok(gpu) => match super::gpu::training_speed(&gpu.device, policy, &data, 5).await {
            Ok(speed) => WebGpuBench { adapter: Some(gpu.adapter), samples_per_second: Some(speed), error: None },
            Err(error) => WebGpuBench { adapter: Some(gpu.adapter), samples_per_second: None, error: Some(error) },
        },
    }
}

/// Fetches and loads the shipped pre-trained policy.
async fn fetch_policy() -> Result<Policy, String> {
    match Checkpoint::from_bytes(&fetch_policy_bytes().await?).map_err(|e| e.to_string())? {
        Checkpoint::Pretrained { policy, .. } => Ok(policy),
        Checkpoint::FineTuned { .. } => Err(format!("{POLICY_URL} is a fine-tuned policy, not the pre-trained one")),
    }
}

/// Replays a script until at least `MIN_SECONDS` have been timed; returns seconds per
/// replay (short episodes would otherwise be below the clock's resolution).
fn seconds_per_replay(script: &PhysicsScript) -> f64 {
    const MIN_SECONDS: f64 = 0.2;
    let (mut total, mut count) = (0.0, 0);
    while total < MIN_SECONDS {
        total += time_replay(script, &mut seconds_now);
        count += 1;
    }
    total / f64::from(count)
}

fn run(episodes: u64, policy: Option<&Policy>) -> BrowserBench {
    // Warm-up: let the engine tier the wasm up before anything is timed.
    bench_sim(1, &mut seconds_now);
    let sim = bench_sim(episodes, &mut seconds_now);
    let scripts: Vec<PhysicsScript> = TaskId::ALL.iter().map(|&t| physics_script(t, 0)).collect();
    let replay_seconds = scripts.iter().map(seconds_per_replay).collect();
    // The round now and before, timed in the order now, before, before, now, each the
    // mean of its two: whichever ran first would otherwise pay for the engine tiering
    // the code up (measured: 30k samples/s in the first round against 40k after).
    let (training, training_before) = match policy {
        Some(policy) => {
            let time = |steps| bench_training(policy, 40, steps, &mut seconds_now);
            let (now_1, before_1, before_2, now_2) = (time(ROUND_STEPS), time(ROUND_STEPS_BEFORE), time(ROUND_STEPS_BEFORE), time(ROUND_STEPS));
            (Some(now_1.mean_with(&now_2)), Some(before_1.mean_with(&before_2)))
        }
        None => (None, None),
    };
    // Deprecated in burn 0.22; built here only to measure it against flex.
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    let ndarray_training =
        policy.map(|policy| crate::bench::bench_training_on(&burn::prelude::Device::ndarray(), policy, 40, ROUND_STEPS, &mut seconds_now));
    #[cfg(not(feature = "ndarray"))]
    let ndarray_training = None;
    let selection = policy.map(|policy| bench_selection(policy, 20, &crate::select::GpConfig::default(), &mut seconds_now));
    BrowserBench { sim, scripts, replay_seconds, training, training_before, ndarray_training, selection, webgpu: None }
}

#[function_component(BenchPage)]
pub fn bench_page() -> Html {
    let results = use_state(|| None::<String>);
    {
        let results = results.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let policy = fetch_policy().await.ok();
                // Let the page paint "running" first.
                gloo::timers::future::TimeoutFuture::new(50).await;
                let mut report = run(3, policy.as_ref());
                if let Some(policy) = &policy {
                    report.webgpu = Some(bench_webgpu(policy).await);
                }
                results.set(Some(serde_json::to_string(&report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))));
            });
            || ()
        });
    }
    html! {
        <main class="bench">
            <h1>{ "Simulation benchmark" }</h1>
            if let Some(json) = (*results).clone() {
                <pre id="bench-results">{ json }</pre>
            } else {
                <p>{ "Running…" }</p>
            }
        </main>
    }
}
