//! Prints a scripted expert's episode step by step: `cargo run --example trace -- TASK SEED`.
//! A tool for tuning tasks and experts.

use amf_studio::tasks::{Episode, TaskId};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let task: TaskId = args.get(1).map(|s| s.parse().expect("task name")).unwrap_or(TaskId::Reach);
    let seed: u64 = args.get(2).map(|s| s.parse().expect("seed")).unwrap_or(0);
    let mut episode = Episode::new(task, seed);
    while !episode.is_done() {
        let obs = episode.observation();
        let action = episode.expert_action();
        let fmt = |v: rapier3d::prelude::Vector| format!("({:6.3} {:6.3} {:6.3})", v.x, v.y, v.z);
        println!(
            "{:3} tcp {} open {:.3} obj {} goal {} act [{:5.2} {:5.2} {:5.2} {:5.2}]",
            episode.steps(),
            fmt(obs.tcp()),
            obs.opening(),
            fmt(obs.object_position()),
            fmt(obs.goal()),
            action[0], action[1], action[2], action[3]
        );
        episode.step(action);
    }
    println!("success: {}", episode.is_success());
}
