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
    }
}

