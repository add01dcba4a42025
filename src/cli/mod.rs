//! The native command line: argument parsing and the subcommands' output.

mod bench;
mod experiment;
mod experts;
mod policy;

use clap::{Parser, Subcommand};

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
    /// Pre-train the policy on the pre-training tasks and write its file.
    Pretrain(policy::PretrainArgs),
    /// Success rate of a policy file on every task, by rollouts.
    Eval(policy::EvalArgs),
    /// Fine-tune a pre-trained policy on scripted demonstrations of one task.
    Finetune(policy::FinetuneArgs),
    /// Compare task selectors: select, demonstrate, fine-tune, evaluate; curves and plots.
    Experiment(experiment::ExperimentArgs),
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
        Command::Bench { which } => bench::run(which),
        Command::Pretrain(args) => policy::run_pretrain(args),
        Command::Eval(args) => policy::run_eval(args),
        Command::Finetune(args) => policy::run_finetune(args),
        Command::Experiment(args) => experiment::run(args),
    }
}
