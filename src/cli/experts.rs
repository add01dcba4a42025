//! `amf experts`: scripted-expert success rates per task.

use clap::Args;
use rayon::prelude::*;
use serde::Serialize;

use crate::tasks::{run_expert, TaskId};

#[derive(Args)]
pub struct ExpertsArgs {
    /// Seeds per task (seeds 0..N).
    #[arg(long, default_value_t = 100)]
    episodes: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Only these tasks (comma-separated names); default: all.
    #[arg(long, value_delimiter = ',')]
    tasks: Vec<TaskId>,
}

#[derive(Serialize)]
struct TaskReport {
    name: &'static str,
    success_rate: f64,
    episodes: u64,
    mean_steps: f64,
    failed_seeds: Vec<u64>,
}

#[derive(Serialize)]
struct Report {
    tasks: Vec<TaskReport>,
}

pub fn run(args: ExpertsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.episodes > 0, "--episodes must be at least 1");
    let tasks = if args.tasks.is_empty() { TaskId::ALL.to_vec() } else { args.tasks };
    let jobs: Vec<(TaskId, u64)> =
        tasks.iter().flat_map(|&t| (0..args.episodes).map(move |s| (t, s))).collect();
    let outcomes: Vec<(TaskId, u64, bool, usize)> = jobs
        .par_iter()
        .map(|&(task, seed)| {
            let summary = run_expert(task, seed);
            (task, seed, summary.success, summary.steps)
        })
        .collect();
    let reports: Vec<TaskReport> = tasks
        .iter()
        .map(|&task| {
            let mine: Vec<_> = outcomes.iter().filter(|o| o.0 == task).collect();
            let successes = mine.iter().filter(|o| o.2).count();
            TaskReport {
                name: task.name(),
                success_rate: successes as f64 / mine.len() as f64,
                episodes: mine.len() as u64,
                mean_steps: mine.iter().map(|o| o.3 as f64).sum::<f64>() / mine.len() as f64,
                failed_seeds: mine.iter().filter(|o| !o.2).map(|o| o.1).collect(),
            }
        })
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&Report { tasks: reports })?);
    } else {
        println!("{:<18} {:>8} {:>10}  failed seeds", "task", "success", "mean steps");
        for r in &reports {
            let failed: Vec<String> = r.failed_seeds.iter().take(10).map(u64::to_string).collect();
            println!("{:<18} {:>7.0}% {:>10.1}  {}", r.name, 100.0 * r.success_rate, r.mean_steps, failed.join(" "));
        }
    }
    Ok(())
}
