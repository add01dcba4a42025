//! Whom each curation weighs down: `cargo run --release --example curation_weights -- [DEMOS]`.
//! For each target of setting (a), DEMOS successful demonstrations by the mixed crowd (or
//! the people `CROWD` names, such as `crowd-novices`)
//! are weighed as the runner's curations weigh them (each within its task, mean 1): by
//! the quality score, by length alone, and by agreement with the rest of the data (the
//! residual under a policy fine-tuned on all of them, `curation::agreement`). It prints
//! each profile's mean weight, the weightings' rank correlations, and what judging cost
//! against the fine-tuning. A diagnostic for docs/results.md, "The quality of a crowd's
//! data".

use amf_studio::policy::{finetune, Checkpoint, Dataset, Demonstration, People, Profile};
use amf_studio::curation::{self, per_task_normalised, Curation};
use amf_studio::round::RoundConfig;
use amf_studio::tasks::TaskId;

fn main() {
    let demos: usize = std::env::args().nth(1).map_or(12, |s| s.parse().expect("DEMOS: a count"));
    let prior = match Checkpoint::from_bytes(&std::fs::read("www/policy.amfp").expect("the shipped policy")).expect("a policy file") {
        Checkpoint::Pretrained { policy, .. } => policy,
        Checkpoint::FineTuned { .. } => panic!("the shipped policy is pre-trained"),
    };
    let crowd_name = std::env::var("CROWD").unwrap_or_else(|_| "crowd".into());
    let crowd = People::from_name(&crowd_name).expect("CROWD: a crowd's name");
    let (mut demonstrations, mut profiles): (Vec<Demonstration>, Vec<Profile>) = (Vec::new(), Vec::new());
    for task in [TaskId::ButtonPress, TaskId::DoorOpen, TaskId::LeverPull] {
        let mut seed = 50_000;
        while demonstrations.iter().filter(|d| d.task == task).count() < demos {
            let person = crowd.demonstrate(task, seed);
            seed += 1;
            if person.demonstration.success {
                demonstrations.push(person.demonstration);
                profiles.push(person.profile.expect("a crowd's person has a profile"));
            }
        }
    }
    let tasks: Vec<TaskId> = demonstrations.iter().map(|d| d.task).collect();
    let bc = RoundConfig::default().bc;
    let rows: Vec<Dataset> = demonstrations.iter().map(|d| d.training_rows(&bc.labels)).collect();
    let mut data = Dataset::default();
    rows.iter().for_each(|r| data.extend(r));
    let started = std::time::Instant::now();
    let tuned = finetune(&prior, &data, &bc, &mut |_| {}).expect("fine-tuning");
    let training = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let agreement = curation::agreement(&tuned, &rows, &tasks);
    let judging = started.elapsed().as_secs_f64();
    let measured: Vec<_> = demonstrations.iter().map(amf_studio::quality::measure).collect();
    let weighed = |curation: Curation| per_task_normalised(&tasks, &measured.iter().map(|q| curation.weight_of(q)).collect::<Vec<_>>());
    let (quality, length) = (weighed(Curation::Quality), weighed(Curation::Length));
    println!("{:10} {:>5} {:>9} {:>9} {:>9}", "profile", "demos", "quality", "length", "agreement");
    for profile in Profile::ALL {
        let of: Vec<usize> = (0..profiles.len()).filter(|&i| profiles[i] == profile).collect();
        if of.is_empty() {
            continue;
        }
        let mean = |w: &[f32]| of.iter().map(|&i| w[i]).sum::<f32>() / of.len().max(1) as f32;
        println!("{:10} {:5} {:9.2} {:9.2} {:9.2}", profile.name(), of.len(), mean(&quality), mean(&length), mean(&agreement));
    }
    println!(
        "judging {} demonstrations ({} rows) took {:.1} ms, {:.4} of the fine-tuning that preceded it ({:.2} s)",
        demonstrations.len(),
        data.len(),
        1e3 * judging,
        judging / training,
        training
    );
    println!("rank correlation: quality-length {:.2}, quality-agreement {:.2}, length-agreement {:.2}", spearman(&quality, &length), spearman(&quality, &agreement), spearman(&length, &agreement));
}

/// Spearman's rank correlation (ties broken by order).
fn spearman(a: &[f32], b: &[f32]) -> f32 {
    let ranks = |v: &[f32]| {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut r = vec![0.0f32; v.len()];
        order.iter().enumerate().for_each(|(rank, &i)| r[i] = rank as f32);
        r
    };
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f32;
    let d2: f32 = ra.iter().zip(&rb).map(|(x, y)| (x - y).powi(2)).sum();
    1.0 - 6.0 * d2 / (n * (n * n - 1.0))
}
