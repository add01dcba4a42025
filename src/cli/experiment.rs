//! `amf experiment`: the paper's comparison of selectors, with curves, a summary with
//! 90% bootstrap intervals, and plots written to a directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::RegularizerChoice;
use rayon::prelude::*;
use serde::Serialize;

use crate::experiment::integrator::IntegratorSettings;
use crate::experiment::plot::{line_chart, Series};
use crate::experiment::stats::{bootstrap_mean, mean_curve, summarise, SelectorSummary};
use crate::experiment::tabletop::{Demonstrator, TabletopSettings};
use crate::policy::{People, Profile};
use crate::round::assess;
use crate::experiment::{integrator, tabletop, Run};
use crate::select::{Embedding, SelectorKind};
use crate::tasks::TaskId;

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Env {
    Tabletop,
    Integrator,
}

#[derive(Args)]
pub struct ExperimentArgs {
    #[arg(long, value_enum, default_value_t = Env::Tabletop)]
    env: Env,
    /// Comma-separated: amf, uniform, round-robin, uncertainty, rebalancing.
    #[arg(long, default_value = "amf,uniform,round-robin,uncertainty,rebalancing")]
    selectors: String,
    /// Seeds F..F+S for every selector (F: --first-seed).
    #[arg(long, default_value_t = 10)]
    seeds: u64,
    /// The first seed: settings are chosen on seeds apart from the ones reported.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Demonstrations per run (default: 40 on the tabletop, 12 on the integrator).
    #[arg(long)]
    budget: Option<usize>,
    /// Demonstrations per round (default: 10 on the tabletop, 2 on the integrator).
    #[arg(long)]
    batch: Option<usize>,
    /// Where the results go.
    #[arg(long)]
    out: PathBuf,
    /// Tabletop: the pre-trained policy file.
    #[arg(long, default_value = "www/policy.amfp")]
    policy: PathBuf,
    /// Tabletop: gradient steps per fine-tuning round.
    #[arg(long, default_value_t = crate::round::ROUND_STEPS)]
    steps: usize,
    /// Evaluation episodes per task after each round.
    #[arg(long, default_value_t = 10)]
    eval_episodes: usize,
    /// Tabletop: how fine-tuning resists forgetting.
    #[arg(long, value_enum, default_value_t = RegularizerChoice::Adaptive)]
    regularizer: RegularizerChoice,
    /// The selector's embedding of the neural policy: last-layer, loss-gradient or centred-loss-gradient.
    #[arg(long, default_value = "loss-gradient")]
    embedding: String,
    /// The GP's noise level rho^2 (tabletop; the integrator uses its policy's).
    #[arg(long, default_value_t = 2.0)]
    noise: f64,
    /// Tabletop: demonstrations of a task the GP conditions on at most (a sample of a
    /// larger task, each standing for its share; 0: every one, the exact GP).
    #[arg(long, default_value_t = crate::select::GpConfig::default().sampled_per_task)]
    sampled_per_task: usize,
    /// Tabletop: label each step with the motion of this many steps from it (1: the
    /// actions as recorded; see `policy::Labels`).
    #[arg(long, default_value_t = crate::policy::Labels::default().lookahead)]
    lookahead: usize,
    /// Tabletop: the share of a round's steps, at its end, over which the learning rate
    /// falls to zero (0: constant).
    #[arg(long, default_value_t = crate::round::RoundConfig::default().bc.decay_share)]
    decay_share: f64,
    /// Tabletop: the share of a round's steps, at its end, whose iterates are averaged
    /// into its result (0: the last iterate).
    #[arg(long, default_value_t = crate::round::RoundConfig::default().bc.average_share)]
    average_share: f64,
    /// Tabletop: train on the steps where the demonstrator held still too.
    #[arg(long)]
    keep_still: bool,
    /// Tabletop: also leave out the steps whose motion is under this in every component
    /// (a person's slow creeping; 0: only still steps)
    #[arg(long, default_value_t = 0.0)]
    drop_slow: f64,
    /// Integrator: slots covered by pre-training, a number or a range such as 1-12.
    #[arg(long, default_value = "1-12")]
    covered: String,
    /// Tabletop: the target tasks and their weights `mu(c)`, as `all` or a comma-separated
    /// list of `task` or `task=weight` (weight 1 if not given; the others are not targets).
    #[arg(long, default_value = "all")]
    targets: String,
    /// Tabletop: the tasks a demonstrator can be asked for, as `all` or a comma-separated
    /// list. A target outside them is learned only through the others.
    #[arg(long, default_value = "all")]
    demonstrable: String,
    /// Tabletop: who demonstrates: the scripted experts (`expert`), or modelled people
    /// driving the page's controls, one profile (`careful`, `typical`, `hasty`,
    /// `reference`, `novice`; `human` is `typical`) or the mixed crowd (`crowd`, or
    /// `crowd-novices` with novices among them); see docs/people.md.
    #[arg(long, default_value = "expert", value_parser = parse_demonstrator)]
    demonstrator: Demonstrator,
    /// Tabletop: how each demonstration weighs in training: alike (`none`), by its
    /// quality score (`quality`), or by its length against the expert's (`length`).
    #[arg(long, value_enum, default_value_t = crate::curation::Curation::None)]
    curation: crate::curation::Curation,
    /// Tabletop: how each round weighs the demonstrations from the policy it trains: by
    /// their agreement with the rest of the data (`agreement`, the default: trains
    /// twice, weighing each by the inverse of its residual under the first fit), or as
    /// given (`none`).
    #[arg(long, value_enum, default_value_t = crate::round::RoundConfig::default().reweighing)]
    reweighing: crate::round::Reweighing,
    /// Tabletop: how much a round with targets that cannot be demonstrated rehearses what
    /// pre-training taught (the pre-trained policy's own actions in its pre-training
    /// tasks), as a share of the demonstrations' weight (0: none)
    #[arg(long, default_value_t = crate::round::ROUND_REHEARSAL)]
    rehearsal: f32,
}

/// `expert`, a profile's name, `human` (the typical profile) or `crowd`.
pub fn parse_demonstrator(name: &str) -> Result<Demonstrator, String> {
    match name {
        "expert" => Ok(Demonstrator::ScriptedExpert),
        "human" => Ok(Demonstrator::People(People::only(Profile::Typical))),
        _ => People::from_name(name)
            .map(Demonstrator::People)
            .ok_or_else(|| format!("unknown demonstrator `{name}`; expected expert, careful, typical, hasty, reference, novice, crowd, crowd-novices or human")),
    }
}

/// A task list option (`flag`): `None` for `all`, else each item's task and the text
/// after its `=`, if any.
fn task_items<'a>(flag: &str, text: &'a str) -> anyhow::Result<Option<Vec<(TaskId, Option<&'a str>)>>> {
    if text.trim() == "all" {
        return Ok(None);
    }
    let items = text
        .split(',')
        .map(|item| {
            let (name, value) = item.split_once('=').map_or((item, None), |(n, v)| (n, Some(v)));
            let task: TaskId = name.trim().parse().map_err(|e: String| anyhow::anyhow!("{flag}: {e}"))?;
            Ok((task, value))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Some(items))
}

/// `--targets`: `all`, or `task[=weight],...`; the weights per task.
fn parse_targets(text: &str) -> anyhow::Result<Vec<f64>> {
    let Some(items) = task_items("--targets", text)? else { return Ok(vec![1.0; TaskId::ALL.len()]) };
    let mut weights = vec![0.0; TaskId::ALL.len()];
    for (task, weight) in items {
        let weight = weight.unwrap_or("1");
        let weight: f64 = weight.trim().parse().with_context(|| format!("--targets: {weight:?} is not a weight"))?;
        anyhow::ensure!(weight.is_finite() && weight > 0.0, "--targets: the weight of {} must be positive", task.name());
        weights[task.index()] = weight;
    }
    Ok(weights)
}

/// `--demonstrable`: `all`, or a list of tasks; per task whether it is demonstrable.
fn parse_demonstrable(text: &str) -> anyhow::Result<Vec<bool>> {
    let Some(items) = task_items("--demonstrable", text)? else { return Ok(vec![true; TaskId::ALL.len()]) };
    let mut demonstrable = vec![false; TaskId::ALL.len()];
    for (task, value) in items {
        anyhow::ensure!(value.is_none(), "--demonstrable takes task names, not {}={}", task.name(), value.unwrap_or_default());
        demonstrable[task.index()] = true;
    }
    Ok(demonstrable)
}

#[derive(Serialize)]
struct Config<'a> {
    env: Env,
    selectors: Vec<&'static str>,
    seeds: u64,
    tabletop: Option<&'a TabletopSettings>,
    policy: Option<String>,
    integrator: Option<&'a IntegratorSettings>,
    covered: Option<Vec<usize>>,
}

#[derive(Serialize)]
struct SweepPoint {
    covered: usize,
    selectors: Vec<SelectorSummary>,
}

#[derive(Serialize)]
struct Summary<'a> {
    selectors: Vec<SelectorSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sweep: Vec<SweepPoint>,
    config: Config<'a>,
    wall_seconds: f64,
    threads: usize,
}

fn parse_selectors(list: &str) -> anyhow::Result<Vec<SelectorKind>> {
    list.split(',')
        .map(|name| SelectorKind::parse(name.trim()).with_context(|| format!("unknown selector {name:?}")))
        .collect()
}

fn parse_covered(text: &str) -> anyhow::Result<Vec<usize>> {
    let parse = |s: &str| s.trim().parse::<usize>().with_context(|| format!("--covered: {s:?} is not a number"));
    let values: Vec<usize> = match text.split_once('-') {
        Some((a, b)) => (parse(a)?..=parse(b)?).collect(),
        None => text.split(',').map(parse).collect::<anyhow::Result<_>>()?,
    };
    anyhow::ensure!(
        !values.is_empty() && values.iter().all(|&k| k <= crate::integrator::SLOTS),
        "--covered must name slots counts from 0 to {}",
        crate::integrator::SLOTS
    );
    Ok(values)
}

/// `selector,seed,covered,demonstrations,mean_success,mean_error,<per task>` rows.
fn curves_csv(runs: &[(Option<usize>, Run)]) -> String {
    let mut csv = String::from("selector,seed,covered,demonstrations,mean_success,mean_error");
    if let Some((_, first)) = runs.first() {
        for name in &first.task_names {
            csv.push(',');
            csv.push_str(name);
        }
    }
    csv.push('\n');
    for (covered, run) in runs {
        for p in &run.curve {
            let _ = write!(
                csv,
                "{},{},{},{},{:.4},{}",
                run.selector.name(),
                run.seed,
                covered.map_or(String::new(), |k| k.to_string()),
                p.demonstrations,
                p.mean_success,
                p.mean_error.map_or(String::new(), |e| format!("{e:.4}"))
            );
            for v in &p.per_task {
                let _ = write!(csv, ",{v:.4}");
            }
            csv.push('\n');
        }
    }
    csv
}

fn success_chart(path: &Path, title: &str, runs: &[&Run], selectors: &[SelectorKind]) -> anyhow::Result<()> {
    let series: Vec<Series> = selectors
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let mine: Vec<&Run> = runs.iter().copied().filter(|r| r.selector == s).collect();
            Series {
                name: s.name().to_string(),
                points: mean_curve(&mine, 100 * i as u64).into_iter().map(|(x, m, ci)| (x as f64, m, ci)).collect(),
            }
        })
        .collect();
    line_chart(path, title, "demonstrations", "mean success over target tasks", (0.0, 1.0), &series)
}

pub fn run(args: ExperimentArgs) -> anyhow::Result<()> {
    let selectors = parse_selectors(&args.selectors)?;
    anyhow::ensure!(args.seeds > 0, "--seeds must be at least 1");
    let embedding = Embedding::parse(&args.embedding).context("--embedding must be last-layer, loss-gradient or centred-loss-gradient")?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let started = Instant::now();
    let jobs: Vec<(SelectorKind, u64)> = selectors.iter().flat_map(|&s| (args.first_seed..args.first_seed + args.seeds).map(move |seed| (s, seed))).collect();
    let (runs, sweep, tabletop_settings, integrator_settings, covered) = match args.env {
        Env::Tabletop => {
            let mut settings = TabletopSettings::default();
            let round = &mut settings.round;
            round.budget = args.budget.unwrap_or(round.budget);
            round.batch = args.batch.unwrap_or(round.batch);
            round.bc.steps = args.steps;
            anyhow::ensure!((0.0..=1.0).contains(&args.decay_share), "--decay-share must be between 0 and 1");
            round.bc.decay_share = args.decay_share;
            anyhow::ensure!((0.0..=1.0).contains(&args.average_share), "--average-share must be between 0 and 1");
            round.bc.average_share = args.average_share;
            round.reweighing = args.reweighing;
            anyhow::ensure!(args.rehearsal.is_finite() && args.rehearsal >= 0.0, "--rehearsal must be 0 or more");
            round.rehearsal = args.rehearsal;
            round.bc.regularizer = args.regularizer.with(super::DEFAULT_GATE_PENALTY, super::DEFAULT_L2_WEIGHT);
            round.eval_episodes = args.eval_episodes;
            round.gp.embedding = embedding;
            round.gp.noise = args.noise;
            round.gp.sampled_per_task = args.sampled_per_task;
            anyhow::ensure!(args.lookahead >= 1, "--lookahead must be at least 1");
            anyhow::ensure!((0.0..1.0).contains(&args.drop_slow), "--drop-slow must be in [0, 1)");
            round.bc.labels = crate::policy::Labels { drop_still: !args.keep_still, lookahead: args.lookahead, slow_below: args.drop_slow as f32 };
            round.target_weights = parse_targets(&args.targets)?;
            round.demonstrable = parse_demonstrable(&args.demonstrable)?;
            settings.demonstrator = args.demonstrator.clone();
            settings.curation = args.curation;
            let (_, prior) = super::load_pretrained(&args.policy)?;
            let prior_assessment = assess(&prior, settings.round.eval_episodes, &mut |_| {});
            let prior_mean = crate::experiment::weighted_mean(&prior_assessment.per_task, &settings.round.target_weights);
            eprintln!("pre-trained policy: mean success {prior_mean:.2}");
            let runs: Vec<Run> = jobs
                .par_iter()
                .map(|&(selector, seed)| {
                    let run = tabletop::run(selector, seed, &prior, Some(&prior_assessment), &settings, &super::monotonic_seconds)?;
                    eprintln!("{} seed {seed}: final {:.2}", selector.name(), run.curve.last().map_or(0.0, |p| p.mean_success));
                    Ok(run)
                })
                .collect::<anyhow::Result<_>>()?;
            (runs.into_iter().map(|r| (None, r)).collect::<Vec<_>>(), Vec::new(), Some(settings), None, None)
        }
        Env::Integrator => {
            anyhow::ensure!(
                args.targets == "all" && args.demonstrable == "all" && args.demonstrator == Demonstrator::ScriptedExpert,
                "--targets, --demonstrable and --demonstrator are the tabletop's"
            );
            let mut settings = IntegratorSettings::default();
            settings.budget = args.budget.unwrap_or(settings.budget);
            settings.batch = args.batch.unwrap_or(settings.batch);
            settings.eval_episodes = args.eval_episodes;
            let covered = parse_covered(&args.covered)?;
            let all: Vec<(usize, SelectorKind, u64)> =
                covered.iter().flat_map(|&k| jobs.iter().map(move |&(s, seed)| (k, s, seed))).collect();
            let runs: Vec<(Option<usize>, Run)> = all
                .par_iter()
                .map(|&(k, selector, seed)| {
                    let settings = IntegratorSettings { covered_slots: k, ..settings.clone() };
                    Ok((Some(k), integrator::run(selector, seed, &settings, &super::monotonic_seconds)?))
                })
                .collect::<anyhow::Result<_>>()?;
            let sweep = covered
                .iter()
                .map(|&k| {
                    let mine: Vec<&Run> = runs.iter().filter(|(c, _)| *c == Some(k)).map(|(_, r)| r).collect();
                    SweepPoint { covered: k, selectors: summarise(&mine, &selectors) }
                })
                .collect();
            (runs, sweep, None, Some(settings), Some(covered))
        }
    };
    let wall_seconds = started.elapsed().as_secs_f64();
    std::fs::write(args.out.join("curves.csv"), curves_csv(&runs))?;
    let plain: Vec<&Run> = runs.iter().map(|(_, r)| r).collect();
    std::fs::write(args.out.join("runs.json"), serde_json::to_string(&plain)?)?;
    let first_k = covered.as_ref().and_then(|c| c.first().copied());
    let headline: Vec<&Run> = runs.iter().filter(|(c, _)| *c == first_k).map(|(_, r)| r).collect();
    let title = match first_k {
        Some(k) => format!("2-D integrator, pre-training on {k}/12 of the circle ({} seeds)", args.seeds),
        None if args.targets == "all" && args.demonstrable == "all" => format!(
            "Tabletop, pre-training on {} of {} tasks ({} seeds)",
            crate::policy::PRETRAIN_TASKS.len(),
            crate::tasks::NUM_TASKS,
            args.seeds
        ),
        None => format!("Tabletop, targets {}, demonstrable {} ({} seeds)", args.targets, args.demonstrable, args.seeds),
    };
    success_chart(&args.out.join("success.svg"), &title, &headline, &selectors)?;
    if let Some(covered) = &covered {
        if covered.len() > 1 {
            let series: Vec<Series> = selectors
                .iter()
                .enumerate()
                .map(|(i, &s)| Series {
                    name: s.name().to_string(),
                    points: covered
                        .iter()
                        .map(|&k| {
                            let errors: Vec<f64> = runs
                                .iter()
                                .filter(|(c, r)| *c == Some(k) && r.selector == s)
                                .filter_map(|(_, r)| r.curve.last().and_then(|p| p.mean_error))
                                .collect();
                            let (mean, ci) = bootstrap_mean(&errors, 500 + i as u64 * 13 + k as u64);
                            (k as f64, mean, ci)
                        })
                        .collect(),
                })
                .collect();
            let top = series.iter().flat_map(|s| s.points.iter().map(|p| p.2[1])).fold(0.1, f64::max);
            line_chart(&args.out.join("sweep.svg"), "2-D integrator: final error after the budget", "slots covered by pre-training (of 12)", "mean final distance to goal (m)", (0.0, top * 1.05), &series)?;
        }
    }
    let summary = Summary {
        selectors: summarise(&headline, &selectors),
        sweep,
        config: Config {
            env: args.env,
            selectors: selectors.iter().map(|s| s.name()).collect(),
            seeds: args.seeds,
            tabletop: tabletop_settings.as_ref(),
            policy: tabletop_settings.as_ref().map(|_| args.policy.display().to_string()),
            integrator: integrator_settings.as_ref(),
            covered,
        },
        wall_seconds,
        threads: rayon::current_num_threads(),
    };
    std::fs::write(args.out.join("summary.json"), serde_json::to_string_pretty(&summary)?)?;
    println!(
        "{:<12} {:>7} {:>17} {:>7} {:>22} {:>22} {:>22} {:>9} {:>9}",
        "selector", "final", "90% interval", "auc", "vs uniform (90%)", "amf minus, final", "amf minus, auc", "to unif.", "select s"
    );
    let interval = |d: &Option<crate::experiment::stats::Interval>| {
        d.as_ref().map_or(String::from("-"), |d| format!("{:+.3} [{:+.3}, {:+.3}]", d.mean, d.ci90[0], d.ci90[1]))
    };
    for s in &summary.selectors {
        println!(
            "{:<12} {:>7.3} [{:>6.3}, {:>6.3}] {:>7.3} {:>22} {:>22} {:>22} {:>9} {:>9.4}",
            s.name,
            s.final_mean_success,
            s.ci90[0],
            s.ci90[1],
            s.auc,
            interval(&s.difference_to_uniform),
            interval(&s.amf_minus_final),
            interval(&s.amf_minus_auc),
            s.demonstrations_to_uniform_final.map_or(String::from("-"), |x| format!("{x:.1}")),
            s.selection_seconds
        );
    }
    eprintln!("wrote {} in {:.0} s", args.out.display(), wall_seconds);
    Ok(())
}
