//! How a policy fine-tuned on people's demonstrations acts, against one fine-tuned on
//! the experts': `cargo run --release --example people_rollouts -- [DEMOS] [EPISODES] [POLICY]`.
//! For each task of setting (a), DEMOS demonstrations by the scripted experts (execution
//! noise 0.1, as the runner's) and by typical people fine-tune the policy (default: the
//! shipped one); EPISODES rollouts then report success within the horizon and within
//! three, the steps to success and the policy's mean commanded speed. `TRACE=typical`
//! (or `expert`) prints a demonstration and two rollouts. A diagnostic for
//! docs/results.md, "Learning from people": it showed policies taught by people coming
//! to rest short of the goal.

use amf_studio::policy::{expert_demonstration, finetune, Actor, BcConfig, Checkpoint, Dataset, Demonstration, People, Profile, EVAL_FIRST_SEED};
use amf_studio::tasks::{Episode, Observation, TaskId};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let demos: u64 = args.get(1).map_or(7, |s| s.parse().expect("DEMOS: a count"));
    let episodes: u64 = args.get(2).map_or(20, |s| s.parse().expect("EPISODES: a count"));
    let path = args.get(3).map_or("www/policy.amfp", String::as_str);
    let prior = match Checkpoint::from_bytes(&std::fs::read(path).expect("the policy file")).expect("a policy file") {
        Checkpoint::Pretrained { policy, .. } => policy,
        Checkpoint::FineTuned { .. } => panic!("{path} is fine-tuned; give a pre-trained policy"),
    };
    let trace = std::env::var("TRACE").unwrap_or_default();
    let people = People::only(Profile::Typical);
    for task in [TaskId::ButtonPress, TaskId::DoorOpen, TaskId::LeverPull] {
        for who in ["expert", "typical"] {
            let mut data = Dataset::default();
            let mut lengths = Vec::new();
            for k in 0..demos {
                let seed = 10_000 + k;
                let demo = match who {
                    "expert" => expert_demonstration(task, seed, 0.1),
                    _ => people.demonstrate(task, seed).demonstration,
                };
                if !demo.success {
                    continue;
                }
                if trace == who && lengths.is_empty() {
                    print_demonstration(&demo);
                }
                lengths.push(demo.actions.len());
                data.extend(&demo.training_rows(&BcConfig::default().labels));
            }
            let tuned = finetune(&prior, &data, &BcConfig::default(), &mut |_| {}).expect("fine-tuning");
            let (mut within, mut late, mut steps, mut speed, mut acted) = (0, 0, 0usize, 0.0f32, 0usize);
            for e in 0..episodes {
                let mut episode = Episode::new(task, EVAL_FIRST_SEED + e);
                while !episode.is_success() && episode.steps() < 3 * task.horizon() {
                    let observation = episode.observation();
                    let action = tuned.act(&[observation])[0];
                    if trace == who && e < 2 && episode.steps() % 10 == 0 && episode.steps() < task.horizon() {
                        println!("  rollout {e} step {:3} {}", episode.steps(), describe(&observation, action));
                    }
                    speed += action[..3].iter().map(|v| v * v).sum::<f32>().sqrt();
                    acted += 1;
                    episode.step(action);
                }
                if episode.is_success() {
                    steps += episode.steps();
                    if episode.steps() <= task.horizon() {
                        within += 1;
                    } else {
                        late += 1;
                    }
                }
            }
            println!(
                "{:12} {:8} {:2} demonstrations, {:4.0} steps each | success {within:2}/{episodes} in the horizon, {late:2} later | {:4.0} steps to success | speed {:.2}",
                task.name(),
                who,
                lengths.len(),
                lengths.iter().sum::<usize>() as f32 / lengths.len().max(1) as f32,
                steps as f32 / (within + late).max(1) as f32,
                speed / acted.max(1) as f32
            );
        }
    }
}

fn print_demonstration(demo: &Demonstration) {
    for (step, (observation, &action)) in demo.observations.iter().zip(&demo.actions).enumerate().step_by(5) {
        println!("  demonstration step {step:3} {}", describe(observation, action));
    }
}

fn describe(observation: &Observation, action: [f32; 4]) -> String {
    let (tcp, object) = (observation.tcp(), observation.object_position());
    format!(
        "tcp ({:6.3} {:6.3} {:6.3}) gap {:.3} object ({:6.3} {:6.3} {:6.3}) action [{:5.2} {:5.2} {:5.2} {:5.2}]",
        tcp.x, tcp.y, tcp.z, observation.opening(), object.x, object.y, object.z, action[0], action[1], action[2], action[3]
    )
}
