//! Proves that every task's scripted expert succeeds on at least 95% of 100 seeds, and
//! that doing nothing succeeds on none: the predicates are not trivially true.

use amf_studio::tasks::{run_expert, Episode, TaskId};

#[test]
fn every_expert_succeeds_on_at_least_95_of_100_seeds() {
    for task in TaskId::ALL {
        let successes = (0..100).filter(|&seed| run_expert(task, seed).success).count();
        assert!(successes >= 95, "{task}: expert succeeded on {successes}/100 seeds");
    }
}

#[test]
fn an_idle_arm_never_succeeds() {
    for task in TaskId::ALL {
        for seed in 0..5 {
            let summary = Episode::new(task, seed).rollout(|_| [0.0, 0.0, 0.0, -1.0]);
            assert!(!summary.success, "{task} seed {seed} succeeded without moving");
            assert_eq!(summary.steps, task.horizon());
        }
    }
}

#[test]
fn pick_and_place_lifts_the_cube_by_grasping_it() {
    let mut episode = Episode::new(TaskId::PickPlace, 11);
    while !episode.is_done() {
        episode.step(episode.expert_action());
    }
    assert!(episode.is_success());
    let obs = episode.observation();
    // The cube is off the table, held between the fingers (gap equals its width).
    assert!(obs.object_position().z > 0.05, "cube at {:?}", obs.object_position());
    assert!((obs.opening() - 0.05).abs() < 0.006, "finger gap {}", obs.opening());
}
