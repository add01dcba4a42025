//! Proves that the `amf` runner's report commands run and print JSON of the documented
//! shape (a smoke run; the full runs are for the command line).

use std::process::Command;

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
