//! `amf bench sim`: simulation speed in control steps per second, per task.

use std::time::Instant;

use clap::Subcommand;
use serde::Serialize;

use crate::sim::PHYSICS_SUBSTEPS;
use crate::tasks::{Episode, TaskId};

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

#[derive(Serialize)]
struct TaskSpeed {
    name: &'static str,
    control_steps: usize,
    seconds: f64,
    control_steps_per_second: f64,
    physics_steps_per_second: f64,
}

#[derive(Serialize)]
struct SimBench {
    physics_substeps: usize,
    tasks: Vec<TaskSpeed>,
    mean_control_steps_per_second: f64,
}

pub fn run(which: BenchCommand) -> anyhow::Result<()> {
    match which {
        BenchCommand::Sim { episodes, json } => {
            let report = bench_sim(episodes);
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

/// Steps every task's expert for `episodes` full horizons (continuing past success), on
/// one thread, and times only the simulation steps.
fn bench_sim(episodes: u64) -> SimBench {
    let tasks: Vec<TaskSpeed> = TaskId::ALL
        .iter()
        .map(|&task| {
            let mut seconds = 0.0;
            let mut control_steps = 0;
            for seed in 0..episodes {
                let mut episode = Episode::new(task, seed);
                for _ in 0..task.horizon() {
                    let action = episode.expert_action();
                    let start = Instant::now();
                    episode.step(action);
                    seconds += start.elapsed().as_secs_f64();
                    control_steps += 1;
                }
            }
            let rate = control_steps as f64 / seconds;
            TaskSpeed {
                name: task.name(),
                control_steps,
                seconds,
                control_steps_per_second: rate,
                physics_steps_per_second: rate * PHYSICS_SUBSTEPS as f64,
            }
        })
        .collect();
    let mean = tasks.iter().map(|t| t.control_steps_per_second).sum::<f64>() / tasks.len() as f64;
    SimBench { physics_substeps: PHYSICS_SUBSTEPS, tasks, mean_control_steps_per_second: mean }
}
