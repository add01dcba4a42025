//! One demonstration, step by step: `cargo run --release --example trace_demo -- TASK WHO SEED`.
//! WHO is `expert` (the scripted expert with the runner's execution noise, 0.1) or a
//! people's name (`careful`, `typical`, `hasty`, `reference`, `novice`, `crowd`); every
//! sixth step prints the gripper, the object and the recorded action. A diagnostic for
//! docs/results.md ("Why AMF's related tasks hurt in (f)").

use amf_studio::policy::{expert_demonstration, People};
use amf_studio::tasks::observation::{OBJECT_POSITION, TCP};
use amf_studio::tasks::TaskId;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, task, who, seed] = args.as_slice() else {
        eprintln!("usage: trace_demo TASK WHO SEED");
        std::process::exit(2);
    };
    let task: TaskId = task.parse().expect("TASK: a task's name");
    let seed: u64 = seed.parse().expect("SEED: a number");
    let demonstration = if who == "expert" {
        expert_demonstration(task, seed, 0.1)
    } else {
        People::from_name(who).expect("WHO: expert or a people's name").demonstrate(task, seed).demonstration
    };
    println!("{} steps, success {}", demonstration.actions.len(), demonstration.success);
    for (step, (observation, action)) in demonstration.observations.iter().zip(&demonstration.actions).enumerate().step_by(6) {
        println!("{step:3} gripper {:.3?} object {:.3?} action {:.2?}", &observation.0[TCP], &observation.0[OBJECT_POSITION], action);
    }
}
