//! The crowd's shared policy: after every K verified demonstrations, a background job
//! fine-tunes the pre-trained policy on the pooled dataset (the adaptive prior, as the
//! page's rounds do; of a large pool, on a bounded sample read from the database,
//! [`crate::crowd::sample`]), evaluates it by rollouts and publishes it as a new version in the
//! database, with its evaluation. Versions are kept; assignments use the latest. It runs
//! on its own thread, so uploads and assignments go on while it trains; on PostgreSQL
//! one instance trains at a time (an advisory lock) and every instance picks the new
//! version up.

use std::sync::Arc;
use std::time::Duration;

use super::db::{now_ms, PolicyVersion};
use super::App;
use crate::crowd::sample::training_sample;
use crate::curation::Curation;
use crate::policy::{cpu, Checkpoint, CheckpointError, Demonstration, FineTunedPolicy};
use crate::round::{assess, run_round, Assessment, RoundConfig, RoundInput};
use crate::session::Engine;
use crate::tasks::TaskId;

/// The device the shared policy trains on, or why there is none. On the CPU, training
/// runs on a thread of its own at the lowest priority; on the GPU, evaluation rollouts
/// stay on the CPU.
pub fn device(engine: Engine) -> anyhow::Result<burn::prelude::Device> {
    match engine {
        Engine::Cpu => Ok(cpu()),
        #[cfg(feature = "gpu-training")]
        Engine::Gpu => Ok(burn::prelude::Device::wgpu(Default::default())),
        #[cfg(not(feature = "gpu-training"))]
        Engine::Gpu => anyhow::bail!("--train-on gpu: this build has no GPU backend (build with `--features gpu-training`)"),
    }
}

/// Checks at start that training can run on `engine`: a small computation on the device
/// (a machine without a usable GPU fails here, not at the first version).
pub fn check(engine: Engine) -> anyhow::Result<()> {
    let device = device(engine)?;
    let sum = std::panic::catch_unwind(|| {
        let ones = burn::prelude::Tensor::<1>::ones([4], &device);
        ones.sum().into_scalar::<f32>()
    });
    let name = engine.name();
    match sum {
        Ok(sum) if sum == 4.0 => Ok(()),
        Ok(sum) => anyhow::bail!("--train-on {name}: the device computed 1+1+1+1 = {sum}"),
        Err(_) => anyhow::bail!("--train-on {name}: the device does not work on this machine (no usable GPU?)"),
    }
}

/// The most the training waits for uploads' verification per step, in milliseconds.
const YIELD_MS: u32 = 20;

/// How often the job looks for new demonstrations and new versions.
const POLL: Duration = Duration::from_secs(2);

/// Runs until the service stops: trains when K new demonstrations arrived, and keeps
/// this instance's cache on the latest version.
pub async fn run(app: Arc<App>) {
    // The policy assignments use is loaded now, not when the first visitor asks (a
    // hundred rollouts they would wait for): the latest version, else the pre-trained
    // policy. Then the pre-trained policy's assessment, where the crowd's curve starts.
    if let Err(error) = super::crowd::ensure_policy(&app).await {
        tracing::error!("loading the shared policy: {error}");
    }
    let episodes = app.config.assignments.eval_episodes;
    let assessing = app.clone();
    if let Err(error) = tokio::task::spawn_blocking(move || assessing.crowd.prior_assessment(episodes)).await {
        tracing::error!("assessing the pre-trained policy: {error}");
    }
    loop {
        if let Err(error) = step(&app).await {
            tracing::error!("the shared policy's job: {error}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The latest shared policy, unless a build of another task suite trained it (the
/// service was upgraded): such a version fits no policy of this suite, so the service
/// trains anew from the prior, on every demonstration (they still replay).
pub async fn latest_of_this_suite(app: &App) -> Result<Option<PolicyVersion>, super::db::DbError> {
    let Some(version) = app.db.latest_version().await? else { return Ok(None) };
    // A version this service adopted was read already: no file to fetch on every poll.
    if app.crowd.version() >= version.id {
        return Ok(Some(version));
    }
    let bytes = app.db.version_weights(version.id).await?;
    Ok(match Checkpoint::read_header(&bytes) {
        Err(CheckpointError::SuiteVersion { .. }) => None,
        _ => Some(version),
    })
}

/// Loads `version` from the database, assesses it by rollouts, and assigns with it from
/// now on.
pub async fn adopt_version(app: &App, version: &PolicyVersion) -> anyhow::Result<()> {
    let bytes = app.db.version_weights(version.id).await?;
    let episodes = app.config.assignments.eval_episodes;
    let (policy, assessment) = tokio::task::spawn_blocking(move || -> anyhow::Result<(FineTunedPolicy, Assessment)> {
        let Checkpoint::FineTuned { policy, .. } = Checkpoint::from_bytes(&bytes)? else { anyhow::bail!("version is not a fine-tuned policy") };
        let assessment = assess(&policy, episodes, &mut |_| {});
        Ok((policy, assessment))
    })
    .await??;
    app.crowd.adopt(version.id, policy, assessment, version.last_demonstration_id);
    Ok(())
}

async fn step(app: &Arc<App>) -> anyhow::Result<()> {
    let latest = latest_of_this_suite(app).await?;
    // A version trained elsewhere (another instance): load and assess it here.
    if let Some(version) = &latest {
        if app.crowd.version() < version.id {
            adopt_version(app, version).await?;
        }
    }
    let every = app.config.retrain_every;
    if every == 0 || app.crowd.prior().is_none() {
        return Ok(());
    }
    let trained = latest.as_ref().map_or(0, |v| v.demonstrations);
    let (live, _) = app.db.counts().await?;
    if live < trained + every as i64 {
        return Ok(());
    }
    let Some(lock) = app.db.try_lock_training().await? else { return Ok(()) };
    app.crowd.training.store(true, std::sync::atomic::Ordering::Relaxed);
    let result = train(app).await;
    app.crowd.training.store(false, std::sync::atomic::Ordering::Relaxed);
    app.db.unlock(lock).await?;
    result
}

/// Runs `work` on a thread of its own at the lowest scheduling priority (nice 19): on a
/// machine of few cores, verification keeps the cores and training takes what is left.
async fn on_a_low_priority_thread<T: Send + 'static>(work: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> anyhow::Result<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name("amf-train".into()).spawn(move || {
        // On Linux, PRIO_PROCESS with 0 names the calling thread. Failing to lower it
        // only costs the uploads some speed.
        #[cfg(target_os = "linux")]
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, 0, 19);
        }
        let _ = done.send(work());
    })?;
    result.await.map_err(|_| anyhow::anyhow!("the training thread ended without a result"))?
}

/// Fine-tunes on the pool (a bounded sample of it), evaluates, publishes.
async fn train(app: &Arc<App>) -> anyhow::Result<()> {
    // Another instance may have trained while this one waited for the lock.
    let latest = latest_of_this_suite(app).await?;
    let ids = app.db.live_ids().await?;
    let trained = latest.as_ref().map_or(0, |v| v.demonstrations);
    if (ids.len() as i64) < trained + app.config.retrain_every as i64 {
        return Ok(());
    }
    let pool = ids.len();
    let last_id = ids.last().copied().unwrap_or(0);
    let round = latest.as_ref().map_or(1, |v| v.id as usize + 1);
    let settings = app.config.assignments.clone();
    let steps = app.config.train_steps;
    let device = device(app.config.train_on)?;
    let (curation, reweighing) = (app.config.train_curation, app.config.train_reweighing);
    let busy = app.verifier.busy();
    let (prior, prior_config) = app.crowd.prior().expect("checked by the caller");
    let started = std::time::Instant::now();
    let records = app.db.records_by_ids(&training_sample(&ids, app.config.train_sample, round as u64)).await?;
    drop(ids);
    let (bytes, assessment, policy, demonstrations, agreement) = on_a_low_priority_thread(move || -> anyhow::Result<_> {
        let (trained_ids, demonstrations): (Vec<i64>, Vec<Demonstration>) = records.iter().filter_map(|(id, r)| Some((*id, r.replay().ok()?))).unzip();
        let defaults = RoundConfig::default();
        let config = RoundConfig {
            selector: settings.selector,
            target_weights: settings.target_weights.clone(),
            // The budget is what there is: the round trains and evaluates, nothing to select.
            budget: demonstrations.len(),
            batch: demonstrations.len().max(1),
            bc: crate::policy::BcConfig { steps, ..defaults.bc.clone() },
            eval_episodes: settings.eval_episodes,
            gp: settings.gp.clone(),
            pretraining_episodes: defaults.pretraining_episodes,
            reweighing,
            ..defaults
        };
        // A curation measures each demonstration again (its replay and the scripted
        // expert's run of its instance): the stored record is not read back with it.
        let weights = if curation == Curation::None { Vec::new() } else { curation.weights(&demonstrations) };
        let input = RoundInput { config: &config, demonstrations: &demonstrations, weights: &weights, seed: 0x5_4a2e_d, round, resume: None, prior_assessment: None, prior_rehearsal: None };
        let clock = || 0.0;
        // Uploads first: between training steps (and evaluation slices), the job waits
        // while uploads are being verified, up to YIELD_MS a step. The lowest priority
        // alone left uploads 1.3-1.8x slower while training on two cores (a
        // low-priority thread still runs whenever a core idles, and shares it).
        let mut yield_to_uploads = |_| {
            let mut waited = 0;
            while busy.now() && waited < YIELD_MS {
                std::thread::sleep(Duration::from_millis(1));
                waited += 1;
            }
        };
        let output = futures_lite::future::block_on(run_round(&device, &prior, input, &clock, &mut yield_to_uploads))?;
        let policy = output.policy.ok_or_else(|| anyhow::anyhow!("nothing was trained"))?;
        let trained_on: Vec<TaskId> = TaskId::ALL.into_iter().filter(|t| demonstrations.iter().any(|d| d.task == *t)).collect();
        let bytes = Checkpoint::finetuned(policy.clone(), prior_config, trained_on).to_bytes()?;
        // What the version makes of each demonstration it trained on, for the operator.
        let rows: Vec<_> = demonstrations.iter().map(|d| d.training_rows(&config.bc.labels)).collect();
        let tasks: Vec<TaskId> = demonstrations.iter().map(|d| d.task).collect();
        let agreement: Vec<(i64, f32)> = trained_ids.into_iter().zip(crate::curation::agreement(&policy, &rows, &tasks)).collect();
        Ok((bytes, output.assessment, policy, demonstrations.len(), agreement))
    })
    .await?;
    let mean = crate::experiment::weighted_mean(&assessment.per_task, &app.config.assignments.target_weights);
    let version = PolicyVersion {
        id: 0,
        created_ms: now_ms(),
        demonstrations: pool as i64,
        last_demonstration_id: last_id,
        success: assessment.per_task.clone(),
        mean_success: mean,
        train_seconds: started.elapsed().as_secs_f64(),
    };
    let id = app.db.add_version(&version, &bytes).await?;
    tracing::info!("shared policy version {id}: {pool} demonstrations (trained on {demonstrations} of them), mean success {mean:.2}");
    app.crowd.adopt(id, policy, assessment, last_id);
    app.crowd.judged(id, agreement);
    Ok(())
}
