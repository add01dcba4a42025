//! Proves that the `amf` runner's report commands run and print JSON of the documented
//! shape (a smoke run; the full runs are for the command line).

use std::process::Command;

use amf_studio::policy::{Actor, Checkpoint};
use amf_studio::tasks::{Episode, TaskId};

fn amf_json(args: &[&str]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_amf")).args(args).output().expect("amf runs");
    assert!(output.status.success(), "amf {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("amf prints JSON")
}

#[test]
fn experts_reports_a_success_rate_per_task() {
    let report = amf_json(&["experts", "--episodes", "2", "--json"]);
    let tasks = report["tasks"].as_array().expect("a task list");
    assert_eq!(tasks.len(), 10);
    for task in tasks {
        assert!(task["name"].is_string());
        let rate = task["success_rate"].as_f64().expect("a success rate");
        assert!((0.0..=1.0).contains(&rate));
    }
}

#[test]
fn bench_sim_reports_steps_per_second_per_task() {
    let report = amf_json(&["bench", "sim", "--episodes", "1", "--json"]);
    let tasks = report["tasks"].as_array().expect("a task list");
    assert_eq!(tasks.len(), 10);
    assert!(tasks.iter().all(|t| t["control_steps_per_second"].as_f64().unwrap() > 0.0));
}

#[test]
fn an_unknown_task_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_amf"))
        .args(["experts", "--tasks", "juggle"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown task `juggle`"));
}

#[test]
fn pretrain_is_deterministic_and_eval_marks_the_pretraining_tasks() {
    let dir = std::env::temp_dir().join(format!("amf-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = [dir.join("a.amfp"), dir.join("b.amfp")];
    for file in &files {
        let status = Command::new(env!("CARGO_BIN_EXE_amf"))
            .args(["pretrain", "--episodes-per-task", "2", "--steps", "20", "--eval-episodes", "0", "--out"])
            .arg(file)
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    }
    // The files differ in burn's random parameter ids; the weights must not.
    let observations: Vec<_> = TaskId::ALL.iter().map(|&t| Episode::new(t, 1).observation()).collect();
    let actions = |file: &std::path::Path| match Checkpoint::from_bytes(&std::fs::read(file).unwrap()).unwrap() {
        Checkpoint::Pretrained { policy, .. } => policy.act(&observations),
        Checkpoint::FineTuned { .. } => panic!("pretrain wrote a fine-tuned policy"),
    };
    assert!(actions(&files[0]) == actions(&files[1]), "two pre-training runs with one seed act differently");

    let report = amf_json(&["eval", "--policy", files[0].to_str().unwrap(), "--episodes", "1", "--json"]);
    let tasks = report["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 10);
    let seen: Vec<&str> = tasks.iter().filter(|t| t["pretrained_on"] == true).map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(seen, ["reach", "push", "pick_place", "drawer_open", "window_open"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_shipped_policy_file_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/policy.amfp");
    let report = amf_json(&["eval", "--policy", path, "--episodes", "1", "--json"]);
    assert_eq!(report["tasks"].as_array().unwrap().len(), 10);
}

#[test]
fn a_file_that_is_not_a_policy_is_refused_clearly() {
    let output = Command::new(env!("CARGO_BIN_EXE_amf"))
        .args(["eval", "--policy", concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a policy file"));
}
