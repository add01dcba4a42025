//! Growing the task suite must not invalidate demonstrations already recorded: a file
//! written by a build of suite 1 (ten tasks, a 24-wide observation) replays in this build
//! with every recorded state matching, while the suite's new tasks cannot be claimed
//! for it.

use amf_studio::demo_file::{parse, verify, Rejection};
use amf_studio::record::ReplayError;
use amf_studio::tasks::{TaskId, NUM_TASKS, OBS_DIM, SUITE_VERSION};

const SUITE_1_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/suite-1-demonstrations.json");

fn suite_1_file() -> amf_studio::demo_file::DemonstrationFile {
    parse(&std::fs::read(SUITE_1_FILE).expect("the suite-1 fixture")).expect("it parses")
}

#[test]
fn a_file_recorded_in_suite_1_verifies_state_by_state() {
    let file = suite_1_file();
    assert_eq!(file.suite_version, 1);
    assert!(SUITE_VERSION > 1 && NUM_TASKS > 10, "this test is about a suite that grew");
    let tasks: Vec<TaskId> = file.demonstrations.iter().map(|d| d.record.task).collect();
    assert_eq!(tasks, TaskId::ALL[..10].to_vec(), "one demonstration of each of suite 1's tasks");
    for entry in &file.demonstrations {
        assert_eq!(entry.record.suite_version, 1);
        let states = entry.states.as_ref().expect("the fixture carries its states");
        assert!(states.iter().all(|s| s.len() == 14 + 10 && s.len() < OBS_DIM), "suite 1's observation was 24 wide");
    }
    let report = verify(&file, &[]);
    assert_eq!(report.rejection_lines(), Vec::<String>::new());
    assert_eq!(report.accepted.len(), 10);
}

#[test]
fn a_changed_state_or_a_new_task_claimed_for_suite_1_is_still_caught() {
    let mut file = suite_1_file();
    file.demonstrations[3].states.as_mut().unwrap()[7][5] += 0.001;
    // A record of suite 1 cannot be of a task that suite 2 added.
    file.demonstrations[6].record.task = TaskId::DoorClose;
    // A state cut to a width no suite had is not a suite's state.
    for state in file.demonstrations[9].states.as_mut().unwrap() {
        state.truncate(20);
    }
    let report = verify(&file, &[]);
    assert_eq!(report.accepted.len(), 7);
    assert!(matches!(report.rejected[2], (9, "lever_pull", Rejection::StateMismatch { step: 0, .. })), "{:?}", report.rejected);
    assert!(matches!(report.rejected[0], (3, "button_press", Rejection::StateMismatch { step: 7, .. })), "{:?}", report.rejected);
    assert!(
        matches!(report.rejected[1], (6, "door_close", Rejection::Replay(ReplayError::SuiteVersion { found: 1, from: 2, .. }))),
        "{:?}",
        report.rejected
    );
}
