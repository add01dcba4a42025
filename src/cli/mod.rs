//! The native command line: argument parsing and the subcommands' output.

mod bench;
mod experts;

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
    }
}
