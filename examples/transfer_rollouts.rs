//! What demonstrations of two tasks carry to targets that cannot be demonstrated, by the
//! scripted experts, typical people and the mixed crowd:
//! `cargo run --release --example transfer_rollouts -- [DEMOS] [EPISODES] [RUNS]`.
//! Setting (f)'s uniform selection in small: DEMOS demonstrations each of door_open and
//! lever_pull fine-tune the shipped policy, RUNS times with other demonstrations, and
//! EPISODES rollouts per target report success on door_open, lever_pull and the two
//! targets served through them (button_press_high, drawer_close_high), with the mean
//! commanded speed there. A diagnostic for docs/results.md, "What people's
//! demonstrations carry to other tasks".
//!
//! By default a round trains as the runner's does; `REHEARSAL=S` and `REWEIGHING=none`
//! change its rehearsal and reweighing. `PILOT=...` trains one pass without the round
//! (the pilots of that section): `plain`; `pace:Q`, each demonstration's motion divided by
//! its Q-quantile step; `keyframe`, steps weighed by how far their label is from the
//! gripper's observed velocity; `shift:XY,Z,N`, N copies of each row with the scene moved
//! by up to XY and Z metres; `lift:XY,Z,N`, the same with the scene only raised (by up to
//! Z); `waypoints:M`, each step labelled with the motion towards the end of its straight
//! stretch of the gripper's path (within M metres, as AWE extracts waypoints);
//! `rehearse:S`, the prior's rehearsal rows weighing S of the demonstrations;
//! `plain-rehearse:S`, the same without the adaptive prior; `no-prior`. `ALSO_REHEARSE=S`
//! adds the rehearsal to any pilot. `LOOKAHEAD=K` labels each step with the mean motion
//! of K steps (`Labels::lookahead`).
//!
//! `EXTRA=task:n,...` adds n demonstrations of each task named to every run (what AMF's
//! related tasks carry to the targets); `WHO=expert,careful,...` names the demonstrators
//! (default: expert, typical, crowd). `TRACE=1` prints two rollouts of button_press_high.

use amf_studio::policy::{
    expert_demonstration, finetune, rehearsal_rows, Actor, BcConfig, Checkpoint, Dataset, Demonstration, Labels, People, Regularizer, EVAL_FIRST_SEED,
    REHEARSAL_EPISODES,
};
use amf_studio::round::{run_round, Reweighing, RoundConfig, RoundInput};
use amf_studio::select::SelectorKind;
use amf_studio::tasks::observation::{GOAL, OBJECT_POSITION, OBS_DIM, TCP, TCP_VELOCITY};
use amf_studio::sim::ACTION_SCALE_M;
use amf_studio::tasks::{Episode, TaskId, NUM_TASKS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DEMONSTRATED: [TaskId; 2] = [TaskId::DoorOpen, TaskId::LeverPull];
const TARGETS: [TaskId; 4] = [TaskId::DoorOpen, TaskId::LeverPull, TaskId::ButtonPressHigh, TaskId::DrawerCloseHigh];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let demos: u64 = args.get(1).map_or(5, |s| s.parse().expect("DEMOS: a count"));
    let episodes: u64 = args.get(2).map_or(10, |s| s.parse().expect("EPISODES: a count"));
    let runs: u64 = args.get(3).map_or(3, |s| s.parse().expect("RUNS: a count"));
    let prior = match Checkpoint::from_bytes(&std::fs::read("www/policy.amfp").expect("the policy file")).expect("a policy file") {
        Checkpoint::Pretrained { policy, .. } => policy,
        Checkpoint::FineTuned { .. } => panic!("the shipped policy is pre-trained"),
    };
    let mut config = RoundConfig { selector: SelectorKind::Uniform, budget: 0, batch: 1, eval_episodes: 1, ..RoundConfig::default() };
    config.target_weights = TaskId::ALL.iter().map(|t| f64::from(u8::from(TARGETS.contains(t)))).collect();
    config.demonstrable = TaskId::ALL.iter().map(|t| !matches!(t, TaskId::ButtonPressHigh | TaskId::DrawerCloseHigh)).collect();
    if let Ok(share) = std::env::var("REHEARSAL") {
        config.rehearsal = share.parse().expect("REHEARSAL: a share");
    }
    if std::env::var("REWEIGHING").is_ok_and(|r| r == "none") {
        config.reweighing = Reweighing::None;
    }
    if let Ok(k) = std::env::var("LOOKAHEAD") {
        config.bc.labels.lookahead = k.parse().expect("LOOKAHEAD: a count");
    }
    let pilot = std::env::var("PILOT").unwrap_or_default();
    assert_eq!(config.target_weights.len(), NUM_TASKS);
    println!("success of {episodes} rollouts per task, {runs} runs of {demos} demonstrations each of door_open and lever_pull; mean commanded speed in brackets");
    println!("{:<8} {:>14} {:>14} {:>18} {:>18}", "who", "door_open", "lever_pull", "button_press_high", "drawer_close_high");
    let extra: Vec<(TaskId, u64)> = std::env::var("EXTRA")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (task, n) = s.split_once(':').expect("EXTRA=task:n,...");
            (task.parse().expect("a task"), n.parse().expect("a count"))
        })
        .collect();
    // The prior's rehearsal rows are the same for every run: rolled out once.
    let rehearsed = rehearsal_rows(&prior, REHEARSAL_EPISODES);
    let who_list = std::env::var("WHO").unwrap_or_else(|_| "expert,typical,crowd".into());
    for who in who_list.split(',') {
        let mut success = [0u64; 4];
        let mut speed = [0.0f32; 4];
        for run in 0..runs {
            let demonstrations: Vec<Demonstration> = DEMONSTRATED
                .iter()
                .flat_map(|&task| (0..demos).map(move |k| (task, 20_000 + 100 * run + k)))
                .chain(extra.iter().flat_map(|&(task, n)| (0..n).map(move |k| (task, 30_000 + 100 * run + k))))
                .map(|(task, seed)| match who {
                    "expert" => expert_demonstration(task, seed, 0.1),
                    _ => People::from_name(who).expect("a profile").demonstrate(task, seed).demonstration,
                })
                .filter(|d| d.success)
                .collect();
            let policy = if pilot.is_empty() {
                let input = RoundInput { config: &config, demonstrations: &demonstrations, weights: &[], seed: run, round: 0, resume: None, prior_assessment: None, prior_rehearsal: Some(&rehearsed) };
                let out = futures_lite::future::block_on(run_round(&amf_studio::policy::cpu(), &prior, input, &|| 0.0, &mut |_| {})).expect("a round");
                out.policy.expect("a tuned policy")
            } else {
                let mut bc = BcConfig { seed: run * 1000 + 1, transfer_to: config.undemonstrable_targets(), ..config.bc.clone() };
                let (kind, setting) = pilot.split_once(':').unwrap_or((&pilot, ""));
                let mut data = Dataset::default();
                for demonstration in &demonstrations {
                    data.extend(&pilot_rows(demonstration, &bc, kind, setting));
                }
                if kind.ends_with("rehearse") || std::env::var("ALSO_REHEARSE").is_ok() {
                    let share: f32 = std::env::var("ALSO_REHEARSE").map_or_else(|_| setting.parse().expect("a share"), |s| s.parse().expect("a share"));
                    data.extend_weighted(&rehearsed, share * data.len() as f32 / rehearsed.len() as f32);
                }
                if kind.starts_with("plain-") || kind == "no-prior" {
                    bc.regularizer = Regularizer::None;
                }
                finetune(&prior, &data, &bc, &mut |_| {}).expect("fine-tuning")
            };
            for (t, &task) in TARGETS.iter().enumerate() {
                let (wins, mean_speed) = roll_out(&policy, task, episodes);
                success[t] += wins;
                speed[t] += mean_speed / runs as f32;
            }
        }
        let cell = |t: usize| format!("{:.2} ({:.2})", success[t] as f32 / (runs * episodes) as f32, speed[t]);
        println!("{who:<8} {:>14} {:>14} {:>18} {:>18}", cell(0), cell(1), cell(2), cell(3));
    }
}

/// A demonstration's training rows as the pilot `kind` (with its `setting`) makes them.
fn pilot_rows(demonstration: &Demonstration, bc: &BcConfig, kind: &str, setting: &str) -> Dataset {
    let mut demonstration = demonstration.clone();
    if kind == "pace" {
        let quantile: f32 = setting.parse().expect("PILOT=pace:Q");
        let mut peaks: Vec<f32> = demonstration.actions.iter().map(|a| a[..3].iter().fold(0.0f32, |m, v| m.max(v.abs()))).filter(|&p| p >= 0.05).collect();
        peaks.sort_by(f32::total_cmp);
        let at = ((peaks.len() as f32 * quantile) as usize).min(peaks.len().saturating_sub(1));
        let pace = peaks.get(at).copied().unwrap_or(1.0).max(0.05);
        for action in &mut demonstration.actions {
            action[..3].iter_mut().for_each(|v| *v = (*v / pace).clamp(-1.0, 1.0));
        }
    }
    if kind == "waypoints" {
        let tolerance: f32 = setting.parse().expect("PILOT=waypoints:METRES");
        return waypoint_rows(&demonstration, &bc.labels, tolerance);
    }
    let mut rows = demonstration.training_rows(&bc.labels);
    if kind == "keyframe" {
        // A step whose label is far from the motion under way weighs more (a keyframe).
        let change: Vec<f32> = rows
            .actions
            .chunks(4)
            .zip(rows.observations.chunks(OBS_DIM))
            .map(|(a, o)| (0..3).map(|i| (a[i] - o[TCP_VELOCITY.start + i]).powi(2)).sum::<f32>())
            .collect();
        let mean = (change.iter().sum::<f32>() / change.len().max(1) as f32).max(1e-6);
        let raw: Vec<f32> = change.iter().map(|c| 1.0 + c / mean).collect();
        let norm = raw.iter().sum::<f32>() / raw.len().max(1) as f32;
        rows.weights = raw.iter().map(|w| w / norm).collect();
    }
    if kind == "shift" || kind == "lift" {
        let sizes: Vec<f32> = setting.split(',').map(|x| x.parse().expect("PILOT=shift:XY,Z,N")).collect();
        let (xy, z, copies) = (sizes[0], sizes[1], sizes[2] as usize);
        let mut rng = ChaCha8Rng::seed_from_u64(demonstration.seed);
        let original = rows.clone();
        for _ in 0..copies {
            let mut shifted = original.clone();
            for o in shifted.observations.chunks_mut(OBS_DIM) {
                let dz = if kind == "lift" { z * rng.random_range(0.0..1.0f32) } else { z * rng.random_range(-1.0..1.0f32) };
                let offset = [xy * rng.random_range(-1.0..1.0f32), xy * rng.random_range(-1.0..1.0f32), dz];
                for range in [TCP, OBJECT_POSITION, GOAL] {
                    o[range].iter_mut().zip(offset).for_each(|(v, d)| *v += d);
                }
            }
            rows.extend(&shifted);
        }
    }
    rows
}

/// Waypoint labels (as AWE, Shi et al. 2023, extracts them): the gripper's path split
/// greedily into straight segments that keep every position within `tolerance` metres
/// (and at every change of grip), each kept step labelled with the motion towards its
/// segment's end at up to full speed, its grip its own; only the steps `labels` keeps.
fn waypoint_rows(demonstration: &Demonstration, labels: &Labels, tolerance: f32) -> Dataset {
    let position = |t: usize| -> [f32; 3] { let o = &demonstration.observations[t].0[TCP]; [o[0], o[1], o[2]] };
    let last = demonstration.observations.len().saturating_sub(1);
    let grip_changes = |t: usize| t > 0 && demonstration.actions[t][3] != demonstration.actions[t - 1][3];
    let off_segment = |a: [f32; 3], b: [f32; 3], p: [f32; 3]| {
        let ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let ap = [p[0] - a[0], p[1] - a[1], p[2] - a[2]];
        let len2 = ab.iter().map(|v| v * v).sum::<f32>().max(1e-12);
        let u = (ap.iter().zip(&ab).map(|(x, y)| x * y).sum::<f32>() / len2).clamp(0.0, 1.0);
        (0..3).map(|i| (ap[i] - u * ab[i]).powi(2)).sum::<f32>().sqrt()
    };
    let mut next_waypoint = vec![last; demonstration.observations.len()];
    let mut start = 0;
    while start < last {
        let mut end = start + 1;
        while end < last && !grip_changes(end) {
            let candidate = end + 1;
            if (start + 1..candidate).all(|k| off_segment(position(start), position(candidate), position(k)) <= tolerance) {
                end = candidate;
            } else {
                break;
            }
        }
        for t in start..end {
            next_waypoint[t] = end;
        }
        start = end;
    }
    let mut rows = Dataset::default();
    for t in labels.kept_steps(&demonstration.actions) {
        let action = demonstration.actions[t];
        let (here, there) = (position(t), position(next_waypoint[t]));
        let label = [
            ((there[0] - here[0]) / ACTION_SCALE_M).clamp(-1.0, 1.0),
            ((there[1] - here[1]) / ACTION_SCALE_M).clamp(-1.0, 1.0),
            ((there[2] - here[2]) / ACTION_SCALE_M).clamp(-1.0, 1.0),
            action[3],
        ];
        rows.push(&demonstration.observations[t], &label);
    }
    rows
}

/// Successes of `episodes` rollouts of `task` within its horizon, and the mean commanded
/// speed over them.
fn roll_out(policy: &dyn Actor, task: TaskId, episodes: u64) -> (u64, f32) {
    let (mut wins, mut speed, mut acted) = (0, 0.0f32, 0usize);
    let trace = std::env::var("TRACE").is_ok();
    for e in 0..episodes {
        let mut episode = Episode::new(task, EVAL_FIRST_SEED + e);
        while !episode.is_success() && episode.steps() < task.horizon() {
            let observation = episode.observation();
            let action = policy.act(&[observation])[0];
            if trace && e < 2 && task == TaskId::ButtonPressHigh && episode.steps() % 8 == 0 {
                let v = &observation.0;
                println!("  rollout {e} step {:3} gripper {:.3?} object {:.3?} action {:.2?}", episode.steps(), &v[TCP], &v[OBJECT_POSITION], action);
            }
            speed += action[..3].iter().map(|v| v * v).sum::<f32>().sqrt();
            acted += 1;
            episode.step(action);
        }
        wins += u64::from(episode.is_success());
    }
    (wins, speed / acted.max(1) as f32)
}
