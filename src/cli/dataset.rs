//! `amf collect` writes scripted-expert demonstrations of every task in the project's
//! demonstration file format; `amf verify` reads such a file as the page imports it;
//! `amf convert` turns one into a LeRobot v3 dataset or a robomimic HDF5 file.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use rayon::prelude::*;

use crate::demo_file::{parse, verify, DemonstrationFile, ImportReport};
use crate::export::{lerobot, replay_all};
use crate::record::DemonstrationRecord;
use crate::tasks::TaskId;

/// First seed of collected demonstrations: apart from evaluation and experiment seeds.
const COLLECT_FIRST_SEED: u64 = 500_000;

#[derive(Args)]
pub struct CollectArgs {
    /// Demonstrations per task.
    #[arg(long, default_value_t = 10)]
    episodes: u64,
    /// Only these tasks (comma-separated names); default: all.
    #[arg(long, value_delimiter = ',')]
    tasks: Vec<TaskId>,
    /// Standard deviation of noise on the executed actions (recorded as executed).
    #[arg(long, default_value_t = 0.0)]
    noise: f32,
    /// Leave the states out (they follow by replay).
    #[arg(long)]
    no_states: bool,
    /// Where to write the file.
    #[arg(long)]
    out: PathBuf,
}

pub fn run_collect(args: CollectArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.episodes > 0, "--episodes must be at least 1");
    let tasks = if args.tasks.is_empty() { TaskId::ALL.to_vec() } else { args.tasks };
    let jobs: Vec<(TaskId, u64)> =
        tasks.iter().flat_map(|&t| (0..args.episodes).map(move |k| (t, COLLECT_FIRST_SEED + k))).collect();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_millis() as f64);
    let records: Vec<DemonstrationRecord> =
        jobs.par_iter().map(|&(task, seed)| DemonstrationRecord::from_expert(task, seed, args.noise, now)).collect();
    let failed = records.iter().filter(|r| !r.success).count();
    let kept: Vec<DemonstrationRecord> = records.into_iter().filter(|r| r.success).collect();
    let file = DemonstrationFile::new(&kept, None, !args.no_states);
    std::fs::write(&args.out, file.to_json()).with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "wrote {} demonstrations of {} tasks to {} ({failed} unsuccessful expert runs left out)",
        kept.len(),
        tasks.len(),
        args.out.display()
    );
    Ok(())
}

#[derive(Args)]
pub struct VerifyArgs {
    /// A demonstration file.
    file: PathBuf,
}

/// Reads and replays a demonstration file as the page imports it; fails if any
/// demonstration is rejected.
fn read_verified(path: &std::path::Path) -> anyhow::Result<ImportReport> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file = parse(&bytes).with_context(|| format!("cannot import {}", path.display()))?;
    let report = verify(&file, &[]);
    println!("{}: {} demonstrations replay and match", path.display(), report.accepted.len());
    for line in report.rejection_lines() {
        println!("rejected {line}");
    }
    anyhow::ensure!(report.rejected.is_empty(), "{} of {} demonstrations were rejected", report.rejected.len(), file.demonstrations.len());
    Ok(report)
}

/// Replays every demonstration of a file; fails if any is rejected.
pub fn run_verify(args: VerifyArgs) -> anyhow::Result<()> {
    read_verified(&args.file).map(|_| ())
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// A LeRobot v3 dataset: a folder of Parquet files and JSON metadata.
    Lerobot,
    /// A robomimic-style HDF5 file (builds with the `hdf5` feature).
    Robomimic,
}

#[derive(Args)]
pub struct ConvertArgs {
    /// A demonstration file (every demonstration must replay as recorded).
    file: PathBuf,
    /// The format to write.
    #[arg(long)]
    to: Format,
    /// Where: a new (or empty) folder for LeRobot, a file for robomimic.
    #[arg(long)]
    out: PathBuf,
    /// LeRobot only: add the file's demonstrations to the dataset in --out (one this
    /// export wrote) as new episodes, leaving its existing files as they are.
    #[arg(long)]
    append: bool,
}

pub fn run_convert(args: ConvertArgs) -> anyhow::Result<()> {
    let report = read_verified(&args.file)?;
    let episodes = replay_all(&report.accepted)?;
    let frames: usize = episodes.iter().map(|e| e.len()).sum();
    match args.to {
        Format::Lerobot if args.append => {
            let files = lerobot::append(&lerobot::Existing::read(&args.out)?, &episodes)?;
            lerobot::append_to_folder(&files, &args.out)?;
        }
        Format::Lerobot => {
            let files = lerobot::dataset(&episodes)?;
            lerobot::write_folder(&files, &args.out)?;
        }
        Format::Robomimic if args.append => anyhow::bail!("--append adds to a LeRobot dataset only"),
        Format::Robomimic => write_robomimic(&episodes, &args.out)?,
    }
    println!("{} {} episodes ({frames} frames) to {}", if args.append { "appended" } else { "wrote" }, episodes.len(), args.out.display());
    Ok(())
}

#[cfg(feature = "hdf5")]
pub(super) fn write_robomimic(episodes: &[crate::export::ReplayedEpisode], out: &std::path::Path) -> anyhow::Result<()> {
    Ok(crate::export::robomimic::write(episodes, out)?)
}

#[cfg(not(feature = "hdf5"))]
pub(super) fn write_robomimic(_: &[crate::export::ReplayedEpisode], _: &std::path::Path) -> anyhow::Result<()> {
    anyhow::bail!("this build has no HDF5 support: build with `--features hdf5` (it needs Debian's libhdf5-dev)")
}
