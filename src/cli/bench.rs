//! `amf bench sim|train|select|upload|crowd|pool`: simulation, fine-tuning and selection speed, and
//! the collection service under load.

use std::time::Instant;

use clap::Subcommand;

use crate::bench::bench_sim;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Control steps per second of every task's simulation, driven by its scripted expert.
    Sim {
        /// Episodes per task.
        #[arg(long, default_value_t = 10)]
        episodes: u64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Fine-tuning speed: one round on scripted demonstrations, from a policy file.
    Train {
        #[arg(long, default_value = "www/policy.amfp")]
        policy: std::path::PathBuf,
        /// Demonstrations in the round.
        #[arg(long, default_value_t = 40)]
        demos: usize,
        /// Gradient steps in the round.
        #[arg(long, default_value_t = crate::round::ROUND_STEPS)]
        steps: usize,
        /// CPU backend: flex, or ndarray (needs the `ndarray` feature).
        #[arg(long, default_value = "flex")]
        backend: String,
        /// Also write the round's data as JSON here, for the TensorFlow.js peer
        /// (`tests/e2e/tfjs_peer.mjs`) to train on the same rows.
        #[arg(long)]
        dump_data: Option<std::path::PathBuf>,
    },
    /// A bounded load test of running collection services on loopback (see
    /// scripts/bench-service.sh).
    #[cfg(feature = "tools")]
    Upload(super::bench_upload::UploadBenchArgs),
    /// The crowd's figures on a running service: assignment latency with many visitors,
    /// uploads while the shared policy trains, time to a published version (see
    /// scripts/bench-crowd.sh).
    #[cfg(feature = "tools")]
    Crowd(super::bench_crowd::CrowdBenchArgs),
    /// Fills a service's database with a pool of verified demonstrations (see
    /// scripts/bench-pool.sh).
    #[cfg(feature = "service")]
    Pool(super::bench_pool::PoolBenchArgs),
    /// Selection speed: AMF picking a batch with the default sizes, from a policy file.
    Select {
        #[arg(long, default_value = "www/policy.amfp")]
        policy: std::path::PathBuf,
        /// Demonstrations collected before the timed later round.
        #[arg(long, default_value_t = 20)]
        demos: usize,
        /// Demonstrations of a task the GP conditions on at most (0: all of them).
        #[arg(long, default_value_t = crate::select::GpConfig::default().sampled_per_task)]
        sampled_per_task: usize,
    },
}


pub fn run(which: BenchCommand) -> anyhow::Result<()> {
    match which {
        #[cfg(feature = "tools")]
        BenchCommand::Upload(args) => super::bench_upload::run(args),
        #[cfg(feature = "tools")]
        BenchCommand::Crowd(args) => super::bench_crowd::run(args),
        #[cfg(feature = "service")]
        BenchCommand::Pool(args) => super::bench_pool::run(args),
        BenchCommand::Sim { episodes, json } => {
            let origin = Instant::now();
            let report = bench_sim(episodes, &mut || origin.elapsed().as_secs_f64());
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for t in &report.tasks {
                    println!("{:<18} {:>9.0} control steps/s", t.name, t.control_steps_per_second);
                }
                println!("{:<18} {:>9.0} control steps/s", "mean", report.mean_control_steps_per_second);
            }
            Ok(())
        }
        BenchCommand::Train { policy, demos, steps, backend, dump_data } => {
            let device = match backend.as_str() {
                "flex" => crate::policy::cpu(),
                // Deprecated in burn 0.22; built here only to measure it against flex.
                #[cfg(feature = "ndarray")]
                #[allow(deprecated)]
                "ndarray" => burn::prelude::Device::ndarray(),
                other => anyhow::bail!("--backend {other}: this build has flex{}", if cfg!(feature = "ndarray") { " and ndarray" } else { " (build with --features ndarray for ndarray)" }),
            };
            let (_, policy) = super::load_pretrained(&policy)?;
            if let Some(path) = dump_data {
                let data = crate::bench::training_data(demos);
                let json = serde_json::json!({
                    "rows": data.len(),
                    "obs_dim": crate::tasks::OBS_DIM,
                    "one_hot_start": crate::tasks::observation::TASK_ONE_HOT.start,
                    "action_dim": crate::sim::ACTION_DIM,
                    "observations": data.observations,
                    "actions": data.actions,
                    // The network reads the task through these (rows in one-hot order).
                    "task_descriptors": crate::tasks::TaskId::ALL.iter().map(|t| t.descriptor().to_vec()).collect::<Vec<_>>(),
                });
                std::fs::write(&path, json.to_string())?;
            }
            let origin = Instant::now();
            let report = crate::bench::bench_training_on(&device, &policy, demos, steps, &mut || origin.elapsed().as_secs_f64());
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        BenchCommand::Select { policy, demos, sampled_per_task } => {
            let (_, policy) = super::load_pretrained(&policy)?;
            let origin = Instant::now();
            let gp = crate::select::GpConfig { sampled_per_task, ..Default::default() };
            let report = crate::bench::bench_selection(&policy, demos, &gp, &mut || origin.elapsed().as_secs_f64());
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
    }
}

