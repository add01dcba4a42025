//! The native command line: argument parsing and the subcommands' output.

mod bench;
#[cfg(feature = "tools")]
mod bench_crowd;
#[cfg(feature = "service")]
mod bench_pool;
#[cfg(feature = "tools")]
mod bench_upload;
#[cfg(feature = "tools")]
mod crowd;
mod dataset;

/// The value below which a share `p` of `values` lies (the nearest rank; 0 for none),
/// as the load tests report their latencies.
#[cfg(feature = "tools")]
fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    crate::round::nearest_rank(values, p).unwrap_or(0.0)
}
mod experiment;
mod experts;
mod people;
mod policy;
#[cfg(feature = "service")]
mod serve;

use std::path::Path;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::policy::{Checkpoint, CheckpointHeader, Policy, Regularizer};

/// Default strength of the adaptive prior's gate penalty and of the L2 pull.
const DEFAULT_GATE_PENALTY: f32 = 0.001;
const DEFAULT_L2_WEIGHT: f32 = 1e-3;

/// How fine-tuning resists forgetting, as the command line names it.
#[derive(Clone, Copy, ValueEnum)]
enum RegularizerChoice {
    Adaptive,
    L2,
    None,
}

impl RegularizerChoice {
    fn with(self, gate_penalty: f32, l2_weight: f32) -> Regularizer {
        match self {
            RegularizerChoice::Adaptive => Regularizer::AdaptivePrior { gate_penalty },
            RegularizerChoice::L2 => Regularizer::L2 { weight: l2_weight },
            RegularizerChoice::None => Regularizer::None,
        }
    }
}

/// Reads a policy file.
/// Seconds on a monotonic clock since its first reading: the runner's clock for the
/// timings that runs record.
pub(crate) fn monotonic_seconds() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

fn load_checkpoint(path: &Path) -> anyhow::Result<Checkpoint> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Checkpoint::from_bytes(&bytes).with_context(|| format!("cannot load {}", path.display()))
}

/// Reads a pre-trained policy file; a fine-tuned one is refused.
fn load_pretrained(path: &Path) -> anyhow::Result<(CheckpointHeader, Policy)> {
    let Checkpoint::Pretrained { header, policy } = load_checkpoint(path)? else {
        anyhow::bail!("{} is already fine-tuned; start from a pre-trained policy", path.display());
    };
    Ok((header, policy))
}

#[derive(Parser)]
#[command(name = "amf", version, about = "AMF Studio's headless runner")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Roll out every task's scripted expert on seeds 0..N and report success rates.
    Experts(experts::ExpertsArgs),
    /// How each modelled person demonstrates every task, beside the scripted expert.
    People(people::PeopleArgs),
    /// Pre-train the policy on the pre-training tasks and write its file.
    Pretrain(policy::PretrainArgs),
    /// Success rate of a policy file on every task, by rollouts.
    Eval(policy::EvalArgs),
    /// Write a pre-trained policy's assessment file (`.amfa`) and its sessions' first
    /// proposals (`.openings.json`), which the page ships beside it so that a session's
    /// start needs no rollouts and its first proposal no training worker.
    Assess(policy::AssessArgs),
    /// Fine-tune a pre-trained policy on scripted demonstrations of one task.
    Finetune(policy::FinetuneArgs),
    /// Compare task selectors: select, demonstrate, fine-tune, evaluate; curves and plots.
    Experiment(experiment::ExperimentArgs),
    /// Write scripted-expert demonstrations of every task to a demonstration file.
    Collect(dataset::CollectArgs),
    /// Replay every demonstration of a file, as the page's import does.
    Verify(dataset::VerifyArgs),
    /// Convert a demonstration file to a LeRobot v3 dataset or a robomimic HDF5 file.
    Convert(dataset::ConvertArgs),
    /// Run the collection service: the page and the crowd's API, on SQLite or PostgreSQL.
    #[cfg(feature = "service")]
    Serve(serve::ServeArgs),
    /// Export the crowd's dataset from the service's database.
    #[cfg(feature = "service")]
    Export(serve::ExportArgs),
    /// Measure the quality of the stored demonstrations that have none of this version.
    #[cfg(feature = "service")]
    Quality(serve::QualityArgs),
    /// Simulated visitors against a running service, and their runs summarised.
    #[cfg(feature = "tools")]
    Crowd {
        #[command(subcommand)]
        which: crowd::CrowdCommand,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        which: bench::BenchCommand,
    },
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Experts(args) => experts::run(args),
        Command::People(args) => people::run(args),
        Command::Bench { which } => bench::run(which),
        Command::Pretrain(args) => policy::run_pretrain(args),
        Command::Eval(args) => policy::run_eval(args),
        Command::Assess(args) => policy::run_assess(args),
        Command::Finetune(args) => policy::run_finetune(args),
        Command::Experiment(args) => experiment::run(args),
        Command::Collect(args) => dataset::run_collect(args),
        Command::Verify(args) => dataset::run_verify(args),
        Command::Convert(args) => dataset::run_convert(args),
        #[cfg(feature = "service")]
        Command::Serve(args) => serve::run_serve(args),
        #[cfg(feature = "service")]
        Command::Export(args) => serve::run_export(args),
        #[cfg(feature = "service")]
        Command::Quality(args) => serve::run_quality(args),
        #[cfg(feature = "tools")]
        Command::Crowd { which } => crowd::run(which),
    }
}
