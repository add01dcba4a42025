//! `amf people`: how each modelled person demonstrates, task by task, beside the scripted
//! expert: success within their attempts, attempts, steps and how smooth their motion is
//! (the figures docs/people.md calibrates against).

use clap::Args;
use rayon::prelude::*;
use serde::Serialize;

use crate::policy::{expert_demonstration, MotionStats, Profile};
use crate::tasks::TaskId;

#[derive(Args)]
pub struct PeopleArgs {
    /// Instances per task and profile (seeds 0..N).
    #[arg(long, default_value_t = 20)]
    episodes: u64,
    /// Only these tasks (comma-separated names); default: all.
    #[arg(long, value_delimiter = ',')]
    tasks: Vec<TaskId>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One demonstrator's figures over a set of tasks.
#[derive(Serialize, Default, Clone)]
struct Figures {
    demonstrator: String,
    task: String,
    success_rate: f64,
    mean_attempts: f64,
    mean_steps: f64,
    mean_change: f64,
    still_share: f64,
}

pub fn run(args: PeopleArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.episodes > 0, "--episodes must be at least 1");
    let tasks = if args.tasks.is_empty() { TaskId::ALL.to_vec() } else { args.tasks };
    let demonstrators: Vec<Option<Profile>> = std::iter::once(None).chain(Profile::ALL.into_iter().map(Some)).collect();
    let jobs: Vec<(Option<Profile>, TaskId, u64)> = demonstrators
        .iter()
        .flat_map(|&d| tasks.iter().flat_map(move |&t| (0..args.episodes).map(move |s| (d, t, s))))
        .collect();
    // (demonstrator, task, success, attempts, stats of the kept attempt)
    let outcomes: Vec<(Option<Profile>, TaskId, bool, usize, MotionStats)> = jobs
        .par_iter()
        .map(|&(who, task, seed)| match who {
            None => {
                let demo = expert_demonstration(task, seed, 0.0);
                (who, task, demo.success, 1, MotionStats::of(&demo.actions))
            }
            Some(profile) => {
                let person = profile.model().demonstrate(task, seed);
                (who, task, person.demonstration.success, person.attempts, MotionStats::of(&person.demonstration.actions))
            }
        })
        .collect();
    let name = |who: Option<Profile>| who.map_or("expert".to_string(), |p| p.name().to_string());
    let figures = |who: Option<Profile>, task: Option<TaskId>| {
        let mine: Vec<_> = outcomes.iter().filter(|o| o.0 == who && task.is_none_or(|t| o.1 == t)).collect();
        let n = mine.len().max(1) as f64;
        Figures {
            demonstrator: name(who),
            task: task.map_or("all".to_string(), |t| t.name().to_string()),
            success_rate: mine.iter().filter(|o| o.2).count() as f64 / n,
            mean_attempts: mine.iter().map(|o| o.3 as f64).sum::<f64>() / n,
            mean_steps: mine.iter().map(|o| o.4.steps as f64).sum::<f64>() / n,
            mean_change: mine.iter().map(|o| f64::from(o.4.mean_change)).sum::<f64>() / n,
            still_share: mine.iter().map(|o| f64::from(o.4.still_share)).sum::<f64>() / n,
        }
    };
    let mut rows = Vec::new();
    for &who in &demonstrators {
        rows.push(figures(who, None));
        rows.extend(tasks.iter().map(|&t| figures(who, Some(t))));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("{:<10} {:<18} {:>8} {:>9} {:>7} {:>7} {:>6}", "who", "task", "success", "attempts", "steps", "change", "still");
    for r in rows {
        println!(
            "{:<10} {:<18} {:>7.0}% {:>9.2} {:>7.1} {:>7.3} {:>5.0}%",
            r.demonstrator,
            r.task,
            100.0 * r.success_rate,
            r.mean_attempts,
            r.mean_steps,
            r.mean_change,
            100.0 * r.still_share
        );
    }
    Ok(())
}
