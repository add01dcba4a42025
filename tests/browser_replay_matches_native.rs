//! Proves, in real browsers (headless Chromium and Firefox), that replaying the stored
//! action sequences gives the same final-state hashes as the native run that wrote the
//! fixture, and that the scripted expert computes the same actions: episodes are
//! bit-identical across platforms.
#![cfg(target_arch = "wasm32")]

use amf_studio::sim::Action;
use amf_studio::tasks::{run_expert, Episode, TaskId, SUITE_VERSION};
use serde::Deserialize;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[derive(Deserialize)]
struct FixtureEpisode {
    task: TaskId,
    seed: u64,
    actions: Vec<Action>,
    final_state_hash: String,
}

#[derive(Deserialize)]
struct Fixture {
    suite_version: u32,
    episodes: Vec<FixtureEpisode>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("fixtures/episodes.json")).expect("fixture parses")
}

#[wasm_bindgen_test]
fn replayed_actions_reach_the_native_final_state() {
    let fixture = fixture();
    assert_eq!(fixture.suite_version, SUITE_VERSION);
    assert_eq!(fixture.episodes.len(), TaskId::ALL.len());
    for episode in &fixture.episodes {
        let replayed = Episode::replay(episode.task, episode.seed, &episode.actions);
        assert_eq!(
            format!("{:016x}", replayed.state_hash()),
            episode.final_state_hash,
            "{}: browser replay differs from the native run",
            episode.task
        );
        assert!(replayed.is_success(), "{}: the replay did not succeed", episode.task);
    }
}

#[wasm_bindgen_test]
fn the_expert_acts_identically_in_the_browser() {
    for episode in &fixture().episodes {
        let summary = run_expert(episode.task, episode.seed);
        assert_eq!(summary.actions, episode.actions, "{}: expert actions differ", episode.task);
    }
}
