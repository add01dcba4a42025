//! Proves that the `amf` runner's report commands run and print JSON of the documented
//! shape (a smoke run; the full runs are for the command line).

use std::process::Command;

use amf_studio::policy::{Actor, Checkpoint};
use amf_studio::tasks::{Episode, TaskId, NUM_TASKS};

fn amf_json(args: &[&str]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_amf")).args(args).output().expect("amf runs");
    assert!(output.status.success(), "amf {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("amf prints JSON")
}

/// Runs `amf ARGS`, which must fail with `message` on stderr.
fn assert_refused(args: &[&str], message: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_amf")).args(args).output().expect("amf runs");
    assert!(!output.status.success(), "amf {args:?} succeeded");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(message), "amf {args:?} said: {stderr}");
}

#[test]
fn experts_reports_a_success_rate_per_task() {
    let report = amf_json(&["experts", "--episodes", "2", "--json"]);
    let tasks = report["tasks"].as_array().expect("a task list");
    assert_eq!(tasks.len(), NUM_TASKS);
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
    assert_eq!(tasks.len(), NUM_TASKS);
    assert!(tasks.iter().all(|t| t["control_steps_per_second"].as_f64().unwrap() > 0.0));
}

#[test]
fn an_unknown_task_is_a_clear_error() {
    assert_refused(&["experts", "--tasks", "juggle"], "unknown task `juggle`");
}

#[test]
fn pretrain_is_deterministic_and_eval_marks_the_pretraining_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let files = [dir.path().join("a.amfp"), dir.path().join("b.amfp")];
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
    assert_eq!(tasks.len(), NUM_TASKS);
    let seen: Vec<&str> = tasks.iter().filter(|t| t["pretrained_on"] == true).map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(seen, ["reach", "push", "pick_place", "drawer_open", "window_open"]);
}

#[test]
fn the_shipped_policy_file_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/policy.amfp");
    let report = amf_json(&["eval", "--policy", path, "--episodes", "1", "--json"]);
    assert_eq!(report["tasks"].as_array().unwrap().len(), NUM_TASKS);
}

#[test]
fn a_file_that_is_not_a_policy_is_refused_clearly() {
    assert_refused(&["eval", "--policy", concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")], "not a policy file");
}

/// Where a selector of a summary put its demonstrations, per task.
fn demonstrations_per_task(selector: &serde_json::Value) -> Vec<u64> {
    selector["demonstrations_per_task"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect()
}

/// Runs `amf experiment` into a fresh directory and returns it with the summary.
fn experiment(name: &str, args: &[&str]) -> (tempfile::TempDir, serde_json::Value) {
    let out = tempfile::Builder::new().prefix(&format!("amf-experiment-{name}-")).tempdir().unwrap();
    let mut all = vec!["experiment", "--out", out.path().to_str().unwrap()];
    all.extend_from_slice(args);
    let output = Command::new(env!("CARGO_BIN_EXE_amf")).args(&all).output().expect("amf runs");
    assert!(output.status.success(), "amf {all:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    let summary = serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).unwrap()).unwrap();
    (out, summary)
}

#[test]
fn experiment_writes_curves_summary_and_plots() {
    // The tabletop, as small as it gets: 2 selectors x 1 seed, one round of 2.
    let (out, summary) = experiment(
        "tabletop",
        &["--env", "tabletop", "--selectors", "amf,uniform", "--seeds", "1", "--budget", "2", "--batch", "2", "--steps", "20", "--eval-episodes", "1"],
    );
    let selectors = summary["selectors"].as_array().unwrap();
    assert_eq!(selectors.iter().map(|s| s["name"].as_str().unwrap()).collect::<Vec<_>>(), ["amf", "uniform"]);
    for s in selectors {
        let [lo, hi] = [s["ci90"][0].as_f64().unwrap(), s["ci90"][1].as_f64().unwrap()];
        assert!(lo <= s["final_mean_success"].as_f64().unwrap() && s["final_mean_success"].as_f64().unwrap() <= hi);
        assert!(s["auc"].as_f64().is_some());
        assert_eq!(demonstrations_per_task(s).iter().sum::<u64>(), 2);
    }
    assert_eq!(summary["config"]["tabletop"]["round"]["budget"], 2);
    let csv = std::fs::read_to_string(out.path().join("curves.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("selector,seed,covered,demonstrations,mean_success,mean_error,reach,"));
    // Two selectors x (before + after one round).
    assert_eq!(lines.count(), 4);
    assert!(std::fs::read_to_string(out.path().join("success.svg")).unwrap().contains("<svg"));

    // The integrator sweep adds the error-against-coverage plot.
    let (out, summary) = experiment(
        "integrator",
        &["--env", "integrator", "--selectors", "amf,uniform", "--seeds", "2", "--budget", "4", "--covered", "1-2", "--eval-episodes", "2"],
    );
    assert_eq!(summary["sweep"].as_array().unwrap().len(), 2);
    assert!(summary["sweep"][0]["selectors"][0]["final_mean_error"]["mean"].as_f64().unwrap() > 0.0);
    assert!(std::fs::read_to_string(out.path().join("sweep.svg")).unwrap().contains("<svg"));
}

#[test]
fn experiment_with_targets_that_are_not_everything() {
    // Targets: door_open twice as much as window_close; window_close cannot be
    // demonstrated. Every selector runs; none asks for window_close, and AMF is
    // compared with each, paired.
    let (_out, summary) = experiment(
        "targets",
        &[
            "--env", "tabletop", "--seeds", "1", "--budget", "3", "--batch", "3", "--steps", "20", "--eval-episodes", "1",
            "--targets", "door_open=2,window_close", "--demonstrable", "reach,push,door_open,window_open,drawer_close",
        ],
    );
    let round = &summary["config"]["tabletop"]["round"];
    let window_close = 8;
    assert_eq!(round["target_weights"][6], 2.0);
    assert_eq!(round["target_weights"][window_close], 1.0);
    assert_eq!(round["target_weights"][0], 0.0);
    assert_eq!(round["demonstrable"][window_close], false);
    let selectors = summary["selectors"].as_array().unwrap();
    assert_eq!(selectors.len(), 5);
    for s in selectors {
        let per_task = demonstrations_per_task(s);
        assert_eq!(per_task.iter().sum::<u64>(), 3, "{}", s["name"]);
        assert_eq!(per_task[window_close], 0, "{} asked for a task that cannot be demonstrated", s["name"]);
        // AMF minus each other selector, paired; nothing for AMF itself.
        assert_eq!(s["amf_minus_final"]["mean"].as_f64().is_some(), s["name"] != "amf", "{}", s["name"]);
    }
    // A task name the runner does not know is refused.
    assert_refused(&["experiment", "--targets", "door_open,warp_drive", "--out", std::env::temp_dir().to_str().unwrap()], "unknown task `warp_drive`");
}

#[test]
fn experiment_on_the_larger_suite_with_raised_targets_that_cannot_be_demonstrated() {
    // Settings (e) and (f) of docs/results.md in small: raised variants as targets that
    // cannot be demonstrated, beside a demonstrable one, with the centred embedding.
    let raised = [TaskId::DrawerCloseHigh, TaskId::ButtonPressHigh];
    let demonstrable: Vec<&str> = TaskId::ALL.iter().filter(|t| !raised.contains(t)).map(|t| t.name()).collect();
    let (_out, summary) = experiment(
        "raised",
        &[
            "--env", "tabletop", "--selectors", "amf,uncertainty", "--seeds", "1", "--budget", "4", "--batch", "2", "--steps", "20",
            "--eval-episodes", "1", "--embedding", "centred-loss-gradient",
            "--targets", "door_open,button_press_high,drawer_close_high", "--demonstrable", &demonstrable.join(","),
        ],
    );
    assert_eq!(summary["config"]["tabletop"]["round"]["gp"]["embedding"], "centred-loss-gradient");
    for s in summary["selectors"].as_array().unwrap() {
        let per_task = demonstrations_per_task(s);
        assert_eq!(per_task.len(), NUM_TASKS);
        assert_eq!(per_task.iter().sum::<u64>(), 4, "{}", s["name"]);
        for task in raised {
            assert_eq!(per_task[task.index()], 0, "{} asked for {task}, which cannot be demonstrated", s["name"]);
        }
    }
    // Uncertainty sampling knows no relation between tasks: it asks for the one
    // demonstrable target only.
    let uncertainty = &summary["selectors"][1];
    assert_eq!(uncertainty["demonstrations_per_task"][TaskId::DoorOpen.index()], 4);
}

#[test]
fn experiment_with_human_like_demonstrators() {
    // Setting (d) in small: a mixed crowd of modelled people demonstrates the targets,
    // and fine-tuning leaves out the steps where they held still.
    let (_out, summary) = experiment(
        "human",
        &[
            "--env", "tabletop", "--selectors", "amf,uniform", "--seeds", "1", "--budget", "2", "--batch", "2", "--steps", "20",
            "--eval-episodes", "1", "--targets", "button_press,door_open=2", "--demonstrator", "crowd",
        ],
    );
    let people = &summary["config"]["tabletop"]["demonstrator"]["people"]["members"];
    let profiles: Vec<&str> = people.as_array().unwrap().iter().map(|m| m[0].as_str().unwrap()).collect();
    assert_eq!(profiles, ["careful", "typical", "hasty"], "{people}");
    assert_eq!(summary["config"]["tabletop"]["round"]["bc"]["labels"]["drop_still"], true);
    for s in summary["selectors"].as_array().unwrap() {
        let per_task = demonstrations_per_task(s);
        assert_eq!(per_task.iter().sum::<u64>(), 2, "{}", s["name"]);
        assert_eq!(per_task[TaskId::ButtonPress.index()] + per_task[TaskId::DoorOpen.index()], 2, "{} asked for a task that is no target", s["name"]);
    }
}

#[test]
fn people_prints_each_profile_beside_the_expert() {
    let rows = amf_json(&["people", "--episodes", "1", "--tasks", "reach", "--json"]);
    let rows = rows.as_array().unwrap();
    let who: std::collections::BTreeSet<&str> = rows.iter().map(|r| r["demonstrator"].as_str().unwrap()).collect();
    assert_eq!(who, ["careful", "expert", "hasty", "novice", "reference", "typical"].into_iter().collect());
    let reference = rows.iter().find(|r| r["demonstrator"] == "reference" && r["task"] == "reach").unwrap();
    let expert = rows.iter().find(|r| r["demonstrator"] == "expert" && r["task"] == "reach").unwrap();
    assert!(reference["mean_steps"].as_f64().unwrap() > expert["mean_steps"].as_f64().unwrap(), "{reference} {expert}");
}

#[test]
fn experiment_rejects_an_unknown_demonstrator() {
    assert_refused(&["experiment", "--demonstrator", "robot", "--out", std::env::temp_dir().to_str().unwrap()], "unknown demonstrator `robot`");
}

#[test]
fn experiment_rejects_an_unknown_selector() {
    assert_refused(&["experiment", "--selectors", "amf,oracle", "--out", std::env::temp_dir().to_str().unwrap()], "unknown selector \"oracle\"");
}
