//! `amf crowd run`: V simulated visitors against a running collection service, and
//! `amf crowd report`: the runs summarised (final success, AUC, 90% bootstrap intervals,
//! paired differences).
//!
//! A simulated visitor registers, then asks for an assignment, thinks (a pause), and
//! demonstrates it, as the scripted expert with noise on the executed actions or as a
//! modelled person (`--demonstrator`, docs/people.md), in time scaled from the
//! demonstration's length; some decline the task (and are assigned
//! another), some abandon mid-demonstration (the lease is superseded when they ask again),
//! a few upload garbage (a demonstration cut short, which the service must refuse). A
//! noisy attempt that fails is tried again. Visitors stop once the crowd has stored the
//! budget. The run's curve: the dataset exported in the order the service stored it,
//! fine-tuned and assessed by rollouts after every `--every` demonstrations with the
//! page's round (the same for every arm), so arms differ only in which demonstrations
//! the crowd was asked for.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use crate::crowd::contract::{AssignmentRequest, Health, Leased, NewContributor, Registered};

use crate::crowd::upload::Upload;
use crate::experiment::stats::{auc_of, bootstrap_mean};
use crate::experiment::CurvePoint;
use crate::experiment::tabletop::Demonstrator;
use crate::policy::{cpu, Demonstration};
use crate::record::DemonstrationRecord;
use crate::round::{assess, run_round, RoundConfig, RoundInput};
use crate::tasks::{TaskId, NUM_TASKS};

#[derive(Subcommand)]
pub enum CrowdCommand {
    /// Drive simulated visitors against a running service and write the run's curve.
    Run(RunArgs),
    /// Summarise runs: final success and AUC per arm, with paired differences.
    Report(ReportArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// The service (loopback only).
    #[arg(long)]
    url: String,
    /// The arm's name in the report (e.g. amf, amf-ignoring-pending, uniform).
    #[arg(long)]
    arm: String,
    /// Visitors demonstrating at once.
    #[arg(long, default_value_t = 8)]
    visitors: usize,
    /// Demonstrations the crowd stores before the visitors stop.
    #[arg(long, default_value_t = 40)]
    budget: usize,
    /// Assess the dataset after every this many demonstrations.
    #[arg(long, default_value_t = 10)]
    every: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Who the visitors are: noisy scripted experts (`expert`, with `--noise`), or
    /// modelled people driving the page's controls, one profile (`careful`, `typical`,
    /// `hasty`, `reference`, `novice`) or the mixed crowd (`crowd`, or `crowd-novices`
    /// with novices among them); see docs/people.md.
    #[arg(long, default_value = "expert", value_parser = super::experiment::parse_demonstrator)]
    demonstrator: Demonstrator,
    /// Noise on the executed actions of the scripted expert.
    #[arg(long, default_value_t = 0.05)]
    noise: f32,
    /// Real seconds per simulated second (0.1: a 5-second demonstration takes 0.5 s).
    #[arg(long, default_value_t = 0.1)]
    time_scale: f64,
    /// Chances that a visitor declines an assignment, abandons it, or uploads garbage.
    #[arg(long, default_value_t = 0.1)]
    decline: f64,
    #[arg(long, default_value_t = 0.05)]
    abandon: f64,
    #[arg(long, default_value_t = 0.03)]
    garbage: f64,
    /// The pre-trained policy the curve's rounds start from.
    #[arg(long, default_value = "www/policy.amfp")]
    policy: PathBuf,
    /// The operator's token (to export the crowd's dataset).
    #[arg(long, env = "AMF_OPERATOR_TOKEN")]
    operator_token: String,
    /// Where to write the run (JSON).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct ReportArgs {
    /// Run files written by `amf crowd run`.
    files: Vec<PathBuf>,
    /// The arm the others are compared with, paired by seed.
    #[arg(long, default_value = "amf")]
    reference: String,
    /// Count the distinct tasks among the first this many demonstrations stored (how
    /// spread the crowd's first wave was).
    #[arg(long, default_value_t = 8)]
    first: usize,
}

/// What a run writes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CrowdRun {
    pub arm: String,
    pub seed: u64,
    pub visitors: usize,
    pub curve: Vec<CurvePoint>,
    /// Demonstrations stored per task, in the order stored.
    pub tasks: Vec<String>,
    pub declined: usize,
    pub abandoned: usize,
    pub garbage_refused: usize,
    pub garbage_stored: usize,
    pub failed_attempts: usize,
    pub seconds: f64,
}

#[derive(Default)]
struct Tally {
    declined: AtomicUsize,
    abandoned: AtomicUsize,
    garbage_refused: AtomicUsize,
    garbage_stored: AtomicUsize,
    failed_attempts: AtomicUsize,
}

pub fn run(command: CrowdCommand) -> anyhow::Result<()> {
    match command {
        CrowdCommand::Run(args) => run_crowd(args),
        CrowdCommand::Report(args) => report(args),
    }
}

/// Posts `body` as JSON: the answer's status and text.
async fn post(client: &reqwest::Client, url: &str, token: Option<&str>, body: &impl Serialize) -> anyhow::Result<(u16, String)> {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await.unwrap_or_default()))
}

/// An answer read as `A` if its status is `ok`; otherwise `what` was refused, and why.
fn answer<A: serde::de::DeserializeOwned>((status, text): (u16, String), ok: u16, what: &str) -> anyhow::Result<A> {
    anyhow::ensure!(status == ok, "{what} refused (HTTP {status}): {text}");
    serde_json::from_str(&text).with_context(|| format!("the answer to {what} cannot be read: {text}"))
}

/// Registers a contributor at the service under `base` (its `/api`), who agrees to the
/// licence the service collects under, as a visitor does on the page: their id and token.
pub(super) async fn register(client: &reqwest::Client, base: &str, display_name: Option<&str>) -> anyhow::Result<(String, String)> {
    let health: Health = client.get(format!("{base}/health")).send().await?.json().await?;
    let request = NewContributor { display_name: display_name.map(str::to_string), licence: Some(health.terms.licence) };
    let registered: Registered = answer(post(client, &format!("{base}/contributors"), None, &request).await?, 201, "registration")?;
    Ok((registered.id, registered.token))
}

/// One visitor, until the crowd has stored the budget.
async fn visitor(client: reqwest::Client, args: Arc<RunArgs>, index: usize, stored: Arc<AtomicUsize>, tally: Arc<Tally>) -> anyhow::Result<()> {
    let base = format!("{}/api", args.url.trim_end_matches('/'));
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed.wrapping_mul(1_000).wrapping_add(index as u64));
    let (_, token) = register(&client, &base, Some(&format!("visitor {index}"))).await?;
    let pause = |rng: &mut ChaCha8Rng, seconds: f64| Duration::from_secs_f64((seconds * args.time_scale).max(0.0) * rng.random_range(0.5..1.5));
    let mut decline: Option<String> = None;
    let mut uploads = 0;
    while stored.load(Ordering::SeqCst) < args.budget {
        let request = AssignmentRequest { decline: decline.take(), ..AssignmentRequest::default() };
        let leased: Leased = answer(post(&client, &format!("{base}/assignments"), Some(&token), &request).await?, 201, "an assignment")?;
        let (lease, task, seed) = (leased.lease, leased.assignment.task, leased.assignment.seed);
        // Reading the prompt.
        tokio::time::sleep(pause(&mut rng, 2.0)).await;
        let roll: f64 = rng.random();
        if roll < args.decline {
            tally.declined.fetch_add(1, Ordering::Relaxed);
            decline = Some(lease);
            continue;
        }
        if roll < args.decline + args.abandon {
            tally.abandoned.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(pause(&mut rng, 3.0)).await;
            continue;
        }
        let garbage = roll < args.decline + args.abandon + args.garbage;
        let Some(mut record) = demonstrate(&args, task, seed, &mut rng, &tally, pause).await else { continue };
        if garbage {
            // Cut short: the replay no longer reaches the goal.
            record.actions.truncate(record.actions.len() / 3);
        }
        // Claim a place in the budget before sending, so the crowd stores exactly it.
        if !garbage && stored.fetch_add(1, Ordering::SeqCst) >= args.budget {
            stored.fetch_sub(1, Ordering::SeqCst);
            break;
        }
        uploads += 1;
        let upload = Upload { client_id: format!("sim-{index:03}-{uploads:06}"), record };
        let (status, body) = post(&client, &format!("{base}/demonstrations"), Some(&token), &upload).await?;
        match (garbage, status) {
            (true, 200 | 201) => {
                tally.garbage_stored.fetch_add(1, Ordering::Relaxed);
            }
            (true, _) => {
                tally.garbage_refused.fetch_add(1, Ordering::Relaxed);
            }
            (false, 200 | 201) => {}
            (false, _) => {
                stored.fetch_sub(1, Ordering::SeqCst);
                eprintln!("visitor {index}: an upload was refused: {body}");
            }
        }
    }
    Ok(())
}

/// The visitor's demonstration of `task` on `seed`, in the time it takes them, or `None`
/// once they give up: noisy attempts of the scripted expert until one succeeds, or a
/// modelled person's attempts (the page keeps only a successful one).
async fn demonstrate(
    args: &RunArgs,
    task: TaskId,
    seed: u64,
    rng: &mut ChaCha8Rng,
    tally: &Tally,
    pause: impl Fn(&mut ChaCha8Rng, f64) -> Duration,
) -> Option<DemonstrationRecord> {
    let people = match &args.demonstrator {
        Demonstrator::ScriptedExpert => {
            for attempt in 0..4 {
                let candidate = DemonstrationRecord::from_expert(task, seed, args.noise + 0.01 * attempt as f32, 1.7e12);
                tokio::time::sleep(pause(rng, candidate.actions.len() as f64 * crate::sim::CONTROL_DT as f64)).await;
                if candidate.success {
                    return Some(candidate);
                }
                tally.failed_attempts.fetch_add(1, Ordering::Relaxed);
            }
            return None;
        }
        Demonstrator::People(people) => people,
    };
    // The person's hand is seeded by the instance and the visitor's draw, so two
    // visitors given one instance do not move alike.
    let person = people.demonstrate_by(task, seed, rng.random::<u64>());
    let demo = person.demonstration;
    let seconds = (person.attempts.saturating_sub(1) * task.demonstration_limit() + demo.actions.len()) as f64 * f64::from(crate::sim::CONTROL_DT);
    tokio::time::sleep(pause(rng, seconds)).await;
    tally.failed_attempts.fetch_add(person.attempts - usize::from(demo.success), Ordering::Relaxed);
    demo.success.then(|| DemonstrationRecord::from_person(task, seed, demo.actions, true, 1.7e12))
}

fn run_crowd(args: RunArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.url.starts_with("http://127.") || args.url.starts_with("http://localhost"), "--url must be a loopback service");
    anyhow::ensure!(args.every > 0 && args.visitors > 0, "--every and --visitors must be at least 1");
    let (_, prior) = super::load_pretrained(&args.policy)?;
    let args = Arc::new(args);
    let started = Instant::now();
    let stored = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Tally::default());
    let records = tokio::runtime::Runtime::new()?.block_on(async {
        let client = reqwest::Client::new();
        let visitors: Vec<_> = (0..args.visitors)
            .map(|i| tokio::spawn(visitor(client.clone(), args.clone(), i, stored.clone(), tally.clone())))
            .collect();
        for v in visitors {
            v.await??;
        }
        let response = client.get(format!("{}/api/operator/export", args.url.trim_end_matches('/'))).bearer_auth(&args.operator_token).send().await?;
        anyhow::ensure!(response.status().is_success(), "the export was refused: {}", response.status());
        let file = crate::demo_file::parse(&response.bytes().await?)?;
        anyhow::Ok(file.demonstrations.into_iter().map(|d| d.record).collect::<Vec<_>>())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let records: Vec<DemonstrationRecord> = records.into_iter().take(args.budget).collect();
    eprintln!("{}: {} demonstrations stored by {} visitors in {seconds:.0} s; assessing the curve", args.arm, records.len(), args.visitors);

    // The curve: the page's round on the first n stored demonstrations, n = 0, every, ...
    let demonstrations: Vec<Demonstration> = records.iter().map(|r| r.replay()).collect::<Result<_, _>>()?;
    let config = RoundConfig::default();
    let mut curve = vec![config.curve_point(0, assess(&prior, config.eval_episodes, &mut |_| {}).per_task)];
    let mut n = args.every;
    while n <= demonstrations.len() {
        let round_config = RoundConfig { budget: n, batch: n, ..config.clone() };
        let input = RoundInput { config: &round_config, demonstrations: &demonstrations[..n], weights: &[], seed: args.seed, round: n / args.every, resume: None, prior_assessment: None, prior_rehearsal: None };
        let output = futures_lite::future::block_on(run_round(&cpu(), &prior, input, &super::monotonic_seconds, &mut |_| {}))?;
        curve.push(config.curve_point(n, output.assessment.per_task));
        n += args.every;
    }
    let run = CrowdRun {
        arm: args.arm.clone(),
        seed: args.seed,
        visitors: args.visitors,
        curve,
        tasks: records.iter().map(|r| r.task.name().to_string()).collect(),
        declined: tally.declined.load(Ordering::Relaxed),
        abandoned: tally.abandoned.load(Ordering::Relaxed),
        garbage_refused: tally.garbage_refused.load(Ordering::Relaxed),
        garbage_stored: tally.garbage_stored.load(Ordering::Relaxed),
        failed_attempts: tally.failed_attempts.load(Ordering::Relaxed),
        seconds,
    };
    let last = run.curve.last().map_or(0.0, |p| p.mean_success);
    println!("{} seed {}: final mean success {last:.3}, AUC {:.3}; tasks {:?}", run.arm, run.seed, auc_of(&run.curve), distinct_counts(&run.tasks));
    std::fs::write(&args.out, serde_json::to_string_pretty(&run)?)?;
    Ok(())
}

fn distinct_counts(tasks: &[String]) -> Vec<(String, usize)> {
    TaskId::ALL.iter().map(|t| (t.name().to_string(), tasks.iter().filter(|x| *x == t.name()).count())).filter(|(_, n)| *n > 0).collect()
}

fn report(args: ReportArgs) -> anyhow::Result<()> {
    let mut runs: Vec<CrowdRun> = Vec::new();
    for path in &args.files {
        runs.push(serde_json::from_slice(&std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?)?);
    }
    let mut arms: Vec<String> = runs.iter().map(|r| r.arm.clone()).collect();
    arms.sort();
    arms.dedup();
    let final_of = |r: &CrowdRun| r.curve.last().map_or(0.0, |p| p.mean_success);
    println!("| arm | runs | final mean success [90% CI] | AUC [90% CI] | tasks demonstrated (of {NUM_TASKS}) | distinct tasks in the first {} |", args.first);
    println!("|---|---|---|---|---|---|");
    for arm in &arms {
        let mine: Vec<&CrowdRun> = runs.iter().filter(|r| &r.arm == arm).collect();
        let (f, fi) = bootstrap_mean(&mine.iter().map(|r| final_of(r)).collect::<Vec<_>>(), 7);
        let (a, ai) = bootstrap_mean(&mine.iter().map(|r| auc_of(&r.curve)).collect::<Vec<_>>(), 7);
        let distinct = mine.iter().map(|r| distinct_counts(&r.tasks).len() as f64).sum::<f64>() / mine.len() as f64;
        let first = mine.iter().map(|r| distinct_counts(&r.tasks[..args.first.min(r.tasks.len())]).len() as f64).sum::<f64>() / mine.len() as f64;
        println!("| {arm} | {} | {f:.3} [{:.3}, {:.3}] | {a:.3} [{:.3}, {:.3}] | {distinct:.1} | {first:.1} |", mine.len(), fi[0], fi[1], ai[0], ai[1]);
    }
    println!();
    println!("| {} minus | final success, paired [90% CI] | AUC, paired [90% CI] |", args.reference);
    println!("|---|---|---|");
    for arm in arms.iter().filter(|a| **a != args.reference) {
        let pairs: Vec<(&CrowdRun, &CrowdRun)> = runs
            .iter()
            .filter(|r| &r.arm == arm)
            .filter_map(|r| Some((runs.iter().find(|x| x.arm == args.reference && x.seed == r.seed)?, r)))
            .collect();
        if pairs.is_empty() {
            continue;
        }
        let (d, di) = bootstrap_mean(&pairs.iter().map(|(a, b)| final_of(a) - final_of(b)).collect::<Vec<_>>(), 11);
        let (e, ei) = bootstrap_mean(&pairs.iter().map(|(a, b)| auc_of(&a.curve) - auc_of(&b.curve)).collect::<Vec<_>>(), 11);
        println!("| {arm} | {d:+.3} [{:+.3}, {:+.3}] | {e:+.3} [{:+.3}, {:+.3}] |", di[0], di[1], ei[0], ei[1]);
    }
    Ok(())
}
