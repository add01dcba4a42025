//! Proves that a seed and an action sequence determine an episode exactly: rerunning,
//! replaying, and the stored fixture (which the wasm tests replay in browsers) agree.

use amf_studio::sim::Action;
use amf_studio::tasks::{run_expert, Episode, TaskId, SUITE_VERSION};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct FixtureEpisode {
    task: TaskId,
    seed: u64,
    actions: Vec<Action>,
    /// Hexadecimal, as JSON numbers lose precision above 2^53.
    final_state_hash: String,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Fixture {
    suite_version: u32,
    episodes: Vec<FixtureEpisode>,
}

const FIXTURE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/episodes.json");
const FIXTURE_SEED: u64 = 7;

fn fresh_fixture() -> Fixture {
    let episodes = TaskId::ALL
        .iter()
        .map(|&task| {
            let summary = run_expert(task, FIXTURE_SEED);
            FixtureEpisode {
                task,
                seed: FIXTURE_SEED,
                actions: summary.actions,
                final_state_hash: format!("{:016x}", summary.final_state_hash),
            }
        })
        .collect();
    Fixture { suite_version: SUITE_VERSION, episodes }
}

#[test]
fn rerunning_and_replaying_give_the_same_final_state() {
    for task in TaskId::ALL {
        for seed in [0, 1, 12345] {
            let first = run_expert(task, seed);
            let second = run_expert(task, seed);
            assert_eq!(first, second, "{task} seed {seed}: two runs differ");
            let replayed = Episode::replay(task, seed, &first.actions);
            assert_eq!(replayed.state_hash(), first.final_state_hash, "{task} seed {seed}");
            assert_eq!(replayed.is_success(), first.success);
        }
    }
}

#[test]
fn different_seeds_give_different_instances() {
    for task in TaskId::ALL {
        let a = Episode::new(task, 1).observation();
        let b = Episode::new(task, 2).observation();
        assert_ne!(a, b, "{task}: seeds 1 and 2 reset identically");
    }
}

/// The fixture is what the browser tests compare against. Regenerate it with
/// `UPDATE_FIXTURES=1 cargo test --test episodes_are_deterministic` after a deliberate
/// change of the simulation (and bump `SUITE_VERSION`).
#[test]
fn native_run_matches_the_stored_fixture() {
    let fresh = fresh_fixture();
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(FIXTURE_PATH, serde_json::to_string(&fresh).unwrap() + "\n").unwrap();
    }
    let stored: Fixture =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE_PATH).expect("fixture file"))
            .expect("fixture parses");
    assert_eq!(stored.suite_version, SUITE_VERSION);
    for (stored, fresh) in stored.episodes.iter().zip(&fresh.episodes) {
        assert_eq!(stored, fresh, "{}: native run differs from the fixture", fresh.task);
    }
    assert_eq!(stored.episodes.len(), fresh.episodes.len());
}
