//! `amf bench sim`: simulation speed in control steps per second, per task.

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
        #[arg(long, default_value_t = 1000)]
        steps: usize,
    },
}

pub fn run(which: BenchCommand) -> anyhow::Result<()> {
    match which {
        BenchCommand::Sim { episodes, json } => {
            let origin = Instant::now();
            let report = bench_sim(episodes, &mut || origin.elapsed().as_secs_f64());
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for t in &report.tasks {
                    println!("{:<14} {:>9.0} control steps/s", t.name, t.control_steps_per_second);
                }
                println!("{:<14} {:>9.0} control steps/s", "mean", report.mean_control_steps_per_second);
            }
            Ok(())
        }
        BenchCommand::Train { policy, demos, steps } => {
            let bytes = std::fs::read(&policy)?;
            let crate::policy::Checkpoint::Pretrained { policy, .. } = crate::policy::Checkpoint::from_bytes(&bytes)? else {
                anyhow::bail!("expected a pre-trained policy");
            };
            let origin = Instant::now();
            let report = crate::bench::bench_training(&policy, demos, steps, &mut || origin.elapsed().as_secs_f64());
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
    }
}

