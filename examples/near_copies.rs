//! How far apart two genuine takes of one instance are, against a copy nudged: the
//! evidence for `record::NEAR_COPY_SHARE`. For every task of the suite and a few
//! instances, two modelled people of each profile (different hands) demonstrate the
//! same instance, and the scripted expert runs it without and with execution noise
//! (0.05, under the bar's 0.1: a copy with tremor added); each pair's share of differing
//! moving steps is summarised, and beside them copies with one action nudged, every
//! action nudged by 0.03, and four idle steps put first.
//!
//! Then what the rule costs an upload at its worst, against the replay that verifies it
//! (one run, so as a ratio): an instance with the service's 200 live takes already
//! (`NEAR_COPY_TAKES`), each compared with the upload after its actions are read from
//! their stored JSON, as `Db::store` does.
//!
//! `cargo run --release --example near_copies`

use amf_studio::crowd::upload::{verify, Upload};
use amf_studio::policy::{People, Profile};
use amf_studio::record::{DemonstrationRecord, NEAR_COPY_SHARE};
use amf_studio::tasks::TaskId;

fn main() {
    let instances = 0..4u64;
    let mut genuine: Vec<(String, f64)> = Vec::new();
    let mut experts: Vec<(String, f64)> = Vec::new();
    let mut copies: Vec<(String, f64)> = Vec::new();
    for task in TaskId::ALL {
        for seed in instances.clone() {
            for profile in [Profile::Careful, Profile::Typical, Profile::Hasty] {
                let people = People::only(profile);
                let take = |hand: u64| {
                    let demo = people.demonstrate_by(task, seed, hand).demonstration;
                    DemonstrationRecord::from_person(task, seed, demo.actions, demo.success, 0.0)
                };
                let (first, second) = (take(1), take(2));
                let share = first.differing_share(&second).expect("one instance");
                genuine.push((format!("{} {seed} {}", task.name(), profile.name()), share));

                let mut nudged = first.clone();
                if let Some(step) = nudged.actions.iter().position(|a| a[0].abs() > 0.3) {
                    nudged.actions[step][0] *= 0.5;
                }
                let mut shaken = first.clone();
                shaken.actions.iter_mut().for_each(|a| a[1] = (a[1] + 0.03).min(1.0));
                let mut delayed = first.clone();
                delayed.actions.splice(0..0, std::iter::repeat_n([0.0, 0.0, 0.0, first.actions[0][3]], 4));
                for (kind, copy) in [("one nudged", nudged), ("all shaken", shaken), ("delayed", delayed)] {
                    copies.push((format!("{} {seed} {} {kind}", task.name(), profile.name()), copy.differing_share(&first).unwrap()));
                }
            }
            let quiet = DemonstrationRecord::from_expert(task, seed, 0.0, 0.0);
            let noisy = DemonstrationRecord::from_expert(task, seed, 0.05, 0.0);
            experts.push((format!("{} {seed} expert, noise 0 and 0.05", task.name()), quiet.differing_share(&noisy).unwrap()));
        }
    }
    let summary = |name: &str, pairs: &mut Vec<(String, f64)>| {
        pairs.sort_by(|a, b| a.1.total_cmp(&b.1));
        let shares: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        let at = |q: f64| shares[((shares.len() - 1) as f64 * q).round() as usize];
        println!(
            "{name}: {} pairs; share of moving steps that differ: min {:.3} ({}), p10 {:.3}, median {:.3}, max {:.3} ({})",
            shares.len(),
            at(0.0),
            pairs[0].0,
            at(0.1),
            at(0.5),
            at(1.0),
            pairs[pairs.len() - 1].0
        );
        println!("  at or under the bar ({NEAR_COPY_SHARE}): {}", shares.iter().filter(|&&s| s <= NEAR_COPY_SHARE).count());
        for (pair, share) in pairs.iter().take_while(|p| p.1 <= 2.0 * NEAR_COPY_SHARE).take(12) {
            println!("    {share:.3} {pair}");
        }
    };
    summary("two people's takes", &mut genuine);
    summary("the scripted expert without and with execution noise", &mut experts);
    summary("copies", &mut copies);
    cost();
}

/// The near-copy rule's worst case against verification, timed over the same upload.
fn cost() {
    use std::time::Instant;
    let (task, seed, takes) = (TaskId::DoorOpen, 5u64, 200u64);
    let people = People::only(Profile::Typical);
    let record = |hand: u64| {
        let demo = people.demonstrate_by(task, seed, hand).demonstration;
        DemonstrationRecord::from_person(task, seed, demo.actions, demo.success, 1.7e12)
    };
    // The stored takes' actions as the database holds them: JSON text.
    let stored: Vec<String> = (1..=takes).map(|hand| serde_json::to_string(&record(hand).actions).unwrap()).collect();
    let upload = Upload { client_id: "cost-of-near-copies".into(), record: record(takes + 1) };
    let steps: usize = stored.iter().map(|s| serde_json::from_str::<Vec<[f32; 4]>>(s).unwrap().len()).sum();
    let rounds = 5;
    let (mut verifying, mut comparing) = (0.0, 0.0);
    for _ in 0..rounds {
        let started = Instant::now();
        verify(&upload).expect("a person's take that succeeded");
        verifying += started.elapsed().as_secs_f64();
        let started = Instant::now();
        let mut near = 0;
        for actions in &stored {
            let actions: Vec<[f32; 4]> = serde_json::from_str(actions).unwrap();
            let take = DemonstrationRecord { actions, ..upload.record.clone() };
            near += usize::from(upload.record.near_copy_of(&take));
        }
        comparing += started.elapsed().as_secs_f64();
        assert_eq!(near, 0, "genuine takes are not near-copies");
    }
    let (verifying, comparing) = (verifying / rounds as f64, comparing / rounds as f64);
    println!(
        "cost: verifying one upload of {} ({} steps) {:.1} ms; reading and comparing it with {takes} live takes of its instance ({steps} steps) {:.1} ms, {:.2} of the verification",
        task.name(),
        upload.record.actions.len(),
        verifying * 1e3,
        comparing * 1e3,
        comparing / verifying
    );
}
