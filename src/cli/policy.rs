//! `amf pretrain`, `amf eval` and `amf finetune`: the policy from the command line.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use crate::assessment::{assess, AssessmentFile};
use crate::opening::{Openings, DEFAULT_SEEDS};
use crate::policy::{
    collect_expert_demonstrations, evaluate, finetune, pretrain, Actor, BcConfig, Checkpoint, Evaluation, Policy,
    PretrainConfig, Regularizer, TrainingProgress, EVAL_FIRST_SEED, PRETRAIN_TASKS,
};
use crate::tasks::TaskId;

use super::RegularizerChoice;


#[derive(Args)]
pub struct PretrainArgs {
    /// Where to write the policy file.
    #[arg(long, default_value = "www/policy.amfp")]
    out: PathBuf,
    /// Expert episodes per pre-training task.
    #[arg(long, default_value_t = 100)]
    episodes_per_task: usize,
    /// Gradient steps.
    #[arg(long, default_value_t = 6000)]
    steps: usize,
    /// Seeds weights and minibatches.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Evaluation episodes per task afterwards (0: none).
    #[arg(long, default_value_t = 20)]
    eval_episodes: usize,
}

#[derive(Args)]
pub struct AssessArgs {
    /// The pre-trained policy file to assess.
    #[arg(long, default_value = "www/policy.amfp")]
    policy: PathBuf,
    /// Episodes per task: a session's start uses the file only if it rolls out as many
    /// (default: the page's).
    #[arg(long, default_value_t = crate::session::SessionSettings::default().eval_episodes)]
    episodes: usize,
    /// Where to write it (default: beside the policy, as `.amfa`); the first proposals
    /// go beside it, as `.openings.json`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Sessions' seeds whose first proposals are written (1 to this).
    #[arg(long, default_value_t = DEFAULT_SEEDS)]
    seeds: u64,
}

#[derive(Args)]
pub struct EvalArgs {
    /// A policy file (`amf pretrain` or `amf finetune --out`).
    #[arg(long)]
    policy: PathBuf,
    /// Episodes per task.
    #[arg(long, default_value_t = 20)]
    episodes: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct FinetuneArgs {
    /// The pre-trained policy file.
    #[arg(long, default_value = "www/policy.amfp")]
    policy: PathBuf,
    /// Task to demonstrate.
    #[arg(long)]
    task: TaskId,
    /// Scripted demonstrations of it.
    #[arg(long, default_value_t = 10)]
    demos: usize,
    #[arg(long, value_enum, default_value_t = RegularizerChoice::Adaptive)]
    regularizer: RegularizerChoice,
    /// Gate penalty of the adaptive prior.
    #[arg(long, default_value_t = super::DEFAULT_GATE_PENALTY)]
    gate_penalty: f32,
    /// Weight of the L2 pull towards the pre-trained weights.
    #[arg(long, default_value_t = super::DEFAULT_L2_WEIGHT)]
    l2_weight: f32,
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// Evaluation episodes per task, before and after.
    #[arg(long, default_value_t = 20)]
    episodes: usize,
    /// Where to write the fine-tuned policy, if anywhere.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

fn report_progress(every: usize) -> impl FnMut(TrainingProgress) {
    move |p: TrainingProgress| {
        if p.step % every == 0 || p.step == p.steps {
            eprintln!("step {:>6}/{}  action mse {:.5}  loss {:.5}", p.step, p.steps, p.action_mse, p.total_loss);
        }
    }
}

fn print_evaluation(evaluation: &Evaluation) {
    println!("{:<18} {:>8}  pre-trained on", "task", "success");
    for t in &evaluation.tasks {
        println!("{:<18} {:>7.0}%  {}", t.name, 100.0 * t.success_rate, if t.pretrained_on { "yes" } else { "no" });
    }
    println!("{:<18} {:>7.0}%", "mean", 100.0 * evaluation.mean_success);
}

fn actor(checkpoint: &Checkpoint) -> &dyn Actor {
    match checkpoint {
        Checkpoint::Pretrained { policy, .. } => policy,
        Checkpoint::FineTuned { policy, .. } => policy,
    }
}

pub fn run_pretrain(args: PretrainArgs) -> anyhow::Result<()> {
    let mut config = PretrainConfig { episodes_per_task: args.episodes_per_task, ..PretrainConfig::default() };
    config.bc.steps = args.steps;
    config.bc.seed = args.seed;
    let (policy, data) = pretrain(&config, &mut report_progress(500))?;
    eprintln!("trained on {} rows from {:?}", data.len(), PRETRAIN_TASKS.map(|t| t.name()));
    let checkpoint = Checkpoint::pretrained(policy, config.policy.clone(), PRETRAIN_TASKS.to_vec());
    let bytes = checkpoint.to_bytes()?;
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &bytes).with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("wrote {} ({} bytes)", args.out.display(), bytes.len());
    // Its assessment beside it, as the page's session start reads it.
    let Checkpoint::Pretrained { policy, .. } = &checkpoint else { unreachable!("built as a pre-trained policy above") };
    write_assessment(&bytes, policy, crate::session::SessionSettings::default().eval_episodes, DEFAULT_SEEDS, &args.out.with_extension("amfa"))?;
    if args.eval_episodes > 0 {
        print_evaluation(&evaluate(actor(&checkpoint), &TaskId::ALL, args.eval_episodes, EVAL_FIRST_SEED));
    }
    Ok(())
}

/// Rolls the policy in `policy_file` out as a session's start would and writes the
/// assessment's file to `out`; then the starts of the page's default sessions with seeds
/// 1 to `seeds` beside it ([`Openings`]).
fn write_assessment(policy_file: &[u8], policy: &Policy, episodes: usize, seeds: u64, out: &Path) -> anyhow::Result<()> {
    let assessment = assess(policy, episodes, &mut |_| {});
    let bytes = AssessmentFile::new(policy_file, episodes, assessment.clone()).to_bytes()?;
    std::fs::write(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("wrote {} ({} bytes, {episodes} episodes a task)", out.display(), bytes.len());
    let config = crate::round::RoundConfig { eval_episodes: episodes, ..crate::session::SessionSettings::default().round_config() };
    let openings = Openings::compute(policy_file, policy, config, &assessment, 1..=seeds)?;
    let path = out.with_extension("openings.json");
    let json = openings.to_json();
    std::fs::write(&path, &json).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {} ({} bytes, the first proposals of {seeds} seeds)", path.display(), json.len());
    Ok(())
}

pub fn run_assess(args: AssessArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.episodes > 0, "--episodes must be at least 1");
    let bytes = std::fs::read(&args.policy).with_context(|| format!("cannot read {}", args.policy.display()))?;
    let Checkpoint::Pretrained { policy, .. } = Checkpoint::from_bytes(&bytes).with_context(|| format!("cannot load {}", args.policy.display()))? else {
        anyhow::bail!("{} is fine-tuned: the file is for the shipped, pre-trained policy", args.policy.display());
    };
    anyhow::ensure!(args.seeds > 0, "--seeds must be at least 1");
    let out = args.out.unwrap_or_else(|| args.policy.with_extension("amfa"));
    write_assessment(&bytes, &policy, args.episodes, args.seeds, &out)
}

pub fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.episodes > 0, "--episodes must be at least 1");
    let checkpoint = super::load_checkpoint(&args.policy)?;
    let evaluation = evaluate(actor(&checkpoint), &TaskId::ALL, args.episodes, EVAL_FIRST_SEED);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&evaluation)?);
    } else {
        print_evaluation(&evaluation);
    }
    Ok(())
}

#[derive(Serialize)]
struct FinetuneReport {
    task: TaskId,
    demos: usize,
    regularizer: Regularizer,
    before: Evaluation,
    after: Evaluation,
    /// Gate value per task (adaptive prior only).
    alphas: Option<Vec<f32>>,
}

pub fn run_finetune(args: FinetuneArgs) -> anyhow::Result<()> {
    let (header, prior) = super::load_pretrained(&args.policy)?;
    let data = collect_expert_demonstrations(args.task, 10_000, args.demos, 0.0);
    let regularizer = args.regularizer.with(args.gate_penalty, args.l2_weight);
    let bc = BcConfig { steps: args.steps, regularizer, ..BcConfig::default() };
    let before = evaluate(&prior, &TaskId::ALL, args.episodes, EVAL_FIRST_SEED);
    let tuned = finetune(&prior, &data, &bc, &mut report_progress(250))?;
    let after = evaluate(&tuned, &TaskId::ALL, args.episodes, EVAL_FIRST_SEED);
    let alphas = tuned.is_gated().then(|| tuned.alphas().into_data().try_into_vec::<f32>().unwrap_or_default());
    if let Some(out) = &args.out {
        let mut trained_on = header.trained_on.clone();
        trained_on.push(args.task);
        std::fs::write(out, Checkpoint::finetuned(tuned, header.policy.clone(), trained_on).to_bytes()?)?;
    }
    let report = FinetuneReport { task: args.task, demos: args.demos, regularizer, before, after, alphas };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{:<18} {:>7} {:>7}", "task", "before", "after");
        for (b, a) in report.before.tasks.iter().zip(&report.after.tasks) {
            println!("{:<18} {:>6.0}% {:>6.0}%", b.name, 100.0 * b.success_rate, 100.0 * a.success_rate);
        }
        if let Some(alphas) = &report.alphas {
            println!("gates: {alphas:.2?}");
        }
    }
    Ok(())
}
