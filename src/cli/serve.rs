//! `amf serve` (the collection service) and `amf export` (the crowd's dataset out of
//! its database).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::crowd::assign::AssignmentSettings;
use crate::export::lerobot;
use crate::select::SelectorKind;
use crate::service::db::{Db, Exported, Snapshot};
use crate::service::ServiceConfig;

#[derive(Args)]
pub struct ServeArgs {
    /// The database: `sqlite://FILE` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(long, default_value = "sqlite://amf-studio.db", env = "AMF_DATABASE_URL")]
    db: String,
    /// Where to listen (port 0: any free port, printed on start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The built page to serve at `/`.
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Serve the API alone, without the page.
    #[arg(long)]
    api_only: bool,
    /// A file holding the operator's token (or set AMF_OPERATOR_TOKEN); without
    /// either, the operator's endpoints are closed.
    #[arg(long)]
    operator_token_file: Option<PathBuf>,
    /// Replays at once (default: the machine's cores).
    #[arg(long)]
    verify_workers: Option<usize>,
    /// Uploads waiting for verification before the service answers 429.
    #[arg(long, default_value_t = 64)]
    verify_queue: usize,
    /// Requests per minute per contributor and per address.
    #[arg(long, default_value_t = 600)]
    requests_per_minute: u32,
    /// Reverse proxies in front of the service, each appending the address it was reached
    /// from to X-Forwarded-For: rate limits take the right-most hop none of them wrote
    /// for (0: the connection's address).
    #[arg(long, default_value_t = 0)]
    trusted_proxies: usize,
    /// One reverse proxy in front (`--trusted-proxies 1`); it used to take the first
    /// hop, which a client writes.
    #[arg(long, conflicts_with = "trusted_proxies")]
    trust_forwarded: bool,
    /// Seconds a client may take to send a request's head before its connection closes.
    #[arg(long, default_value_t = 10.0)]
    header_timeout: f64,
    /// Seconds a client may take to send a request's body before it is answered 408.
    #[arg(long, default_value_t = 30.0)]
    body_timeout: f64,
    /// Connections served at once; more wait in the listen queue until one closes.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Leases one client address holds open at most; beyond, its oldest stop counting
    /// as demonstrations in flight (contributors made by the dozen from one address
    /// cannot steer the crowd's selector).
    #[arg(long, default_value_t = 16)]
    leases_per_address: usize,
    /// The licence the crowd's dataset is published under (an SPDX identifier): the page
    /// shows it, contributors agree to it before their uploads are pooled, and exports
    /// carry it.
    #[arg(long, default_value = crate::terms::DEFAULT_LICENCE)]
    licence: String,
    /// The demonstrations the crowd sets out to collect: the goal visitors see.
    #[arg(long, default_value_t = 1000)]
    goal: usize,
    /// The pre-trained policy the crowd's assignments start from.
    #[arg(long, default_value = "www/policy.amfp")]
    policy: PathBuf,
    /// The crowd's selector: amf, uniform, round-robin, uncertainty or rebalancing.
    #[arg(long, default_value = "amf", value_parser = parse_selector)]
    selector: SelectorKind,
    /// Target weights, one per task in the suite's order (default: all 1).
    #[arg(long, value_delimiter = ',')]
    targets: Vec<f64>,
    /// Seconds a visitor has to demonstrate an assignment before it stops counting.
    #[arg(long, default_value_t = AssignmentSettings::default().lease_seconds)]
    lease_seconds: u64,
    /// Assign each visitor as if nobody else were demonstrating (ignore the leases in
    /// flight): the sequential baseline.
    #[arg(long)]
    ignore_pending: bool,
    /// Count demonstrations verified since the shared policy's version as in flight
    /// (through their task's proxies) rather than as the GP's data.
    #[arg(long)]
    arrivals_in_flight: bool,
    /// Fine-tune the crowd's shared policy after this many new verified demonstrations
    /// (0: never).
    #[arg(long, default_value_t = 10)]
    retrain_every: usize,
    /// Training steps of each version of the shared policy.
    #[arg(long, default_value_t = crate::round::RoundConfig::default().bc.steps)]
    train_steps: usize,
    /// Demonstrations each version of the shared policy trains on at most (the newest
    /// half of them, and a fresh draw of the older rest).
    #[arg(long, default_value_t = crate::crowd::sample::TRAINING_SAMPLE)]
    train_sample: usize,
    /// Demonstrations of a task the crowd's selector conditions on at most (a sample of
    /// a larger task, each standing for its share; 0: every one, unbounded).
    #[arg(long, default_value_t = crate::select::GpConfig::default().sampled_per_task)]
    sampled_per_task: usize,
    /// Rollouts per task when a policy is assessed (its success, and the selector's proxies).
    #[arg(long, default_value_t = AssignmentSettings::default().eval_episodes)]
    eval_episodes: usize,
    /// Where the shared policy trains: cpu, or gpu (a build with the `gpu-training`
    /// feature, on a machine with a GPU).
    #[arg(long, value_enum, default_value_t)]
    train_on: crate::session::Engine,
    /// How each demonstration weighs in the shared policy's training: alike (`none`), by
    /// its quality score (`quality`), by its length against the scripted expert's
    /// (`length`), or leaving out those under half their task's mean score (`filter`).
    #[arg(long, value_enum, default_value_t = crate::curation::Curation::None)]
    train_curation: crate::curation::Curation,
    /// How the shared policy's training weighs demonstrations from the policy it trains:
    /// by their agreement with the rest of the data (`agreement`, the default, which
    /// trains each version twice), or as given (`none`).
    #[arg(long, value_enum, default_value_t = crate::round::RoundConfig::default().reweighing)]
    train_reweighing: crate::curation::Reweighing,
}

fn parse_selector(name: &str) -> Result<SelectorKind, String> {
    SelectorKind::parse(name).ok_or_else(|| format!("no selector {name:?}"))
}

pub fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    crate::service::init_logs();
    let operator_token = match (&args.operator_token_file, std::env::var("AMF_OPERATOR_TOKEN")) {
        (Some(path), _) => Some(std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?.trim().to_string()),
        (None, Ok(token)) => Some(token.trim().to_string()),
        (None, Err(_)) => None,
    };
    if operator_token.as_ref().is_some_and(|t| t.len() < 16) {
        anyhow::bail!("the operator token must have at least 16 characters");
    }
    let defaults = ServiceConfig::default();
    if !args.api_only && !args.dist.join("index.html").exists() {
        tracing::warn!("{} has no built page (run `trunk build`); serving the API only", args.dist.display());
    }
    let dist = (!args.api_only && args.dist.join("index.html").exists()).then_some(args.dist);
    let config = ServiceConfig {
        addr: args.addr,
        database_url: args.db,
        dist,
        operator_token,
        verify_workers: args.verify_workers.unwrap_or(defaults.verify_workers),
        verify_queue: args.verify_queue,
        requests_per_minute: args.requests_per_minute,
        trusted_proxies: if args.trust_forwarded { 1 } else { args.trusted_proxies },
        policy: Some(args.policy),
        assignments: AssignmentSettings {
            selector: args.selector,
            target_weights: if args.targets.is_empty() { defaults.assignments.target_weights.clone() } else { args.targets },
            lease_seconds: args.lease_seconds,
            pending_aware: !args.ignore_pending,
            arrivals_in_flight: args.arrivals_in_flight,
            eval_episodes: args.eval_episodes.max(1),
            gp: crate::select::GpConfig { sampled_per_task: args.sampled_per_task, ..defaults.assignments.gp.clone() },
            ..defaults.assignments.clone()
        },
        retrain_every: args.retrain_every,
        train_steps: args.train_steps.max(1),
        train_sample: args.train_sample.max(1),
        train_on: args.train_on,
        train_curation: args.train_curation,
        train_reweighing: args.train_reweighing,
        header_timeout: seconds("--header-timeout", args.header_timeout)?,
        body_timeout: seconds("--body-timeout", args.body_timeout)?,
        max_connections: args.max_connections.max(1),
        leases_per_address: args.leases_per_address.max(1),
        terms: crate::terms::Terms::new(&args.licence).map_err(|e| anyhow::anyhow!("--licence: {e}"))?,
        goal: args.goal.max(1),
    };
    crate::service::crowd::check_settings(&config.assignments)?;
    if config.retrain_every > 0 {
        crate::service::training::check(config.train_on)?;
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let served = runtime.block_on(crate::service::serve(config));
    // Work nobody waits for any more (an assessment, a replay) is abandoned, not waited on.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// The project's demonstration file (JSON).
    Json,
    /// A LeRobot v3 dataset (a folder).
    Lerobot,
    /// A robomimic HDF5 file (builds with the `hdf5` feature).
    Robomimic,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The service's database (`sqlite://FILE` or `postgres://...`).
    #[arg(long, env = "AMF_DATABASE_URL")]
    db: String,
    #[arg(long)]
    to: ExportFormat,
    /// A file (json, robomimic) or a new folder (lerobot).
    #[arg(long)]
    out: PathBuf,
    /// LeRobot only: add what the service stored since the dataset in --out was
    /// exported (its snapshot) as new episodes, leaving the existing files as they are.
    #[arg(long)]
    append: bool,
    /// The licence the dataset is published under (the service's `--licence`): the
    /// export names it, in LeRobot's dataset card and in the demonstration file.
    #[arg(long, default_value = crate::terms::DEFAULT_LICENCE)]
    licence: String,
    /// Only the demonstrations whose quality score (`amf quality`, 0 to 1) is at least
    /// this; every demonstration must have been measured by this build's version.
    #[arg(long)]
    min_quality: Option<f64>,
}

#[derive(Args)]
pub struct QualityArgs {
    /// The service's database (`sqlite://FILE` or `postgres://...`).
    #[arg(long, env = "AMF_DATABASE_URL")]
    db: String,
    /// Demonstrations replayed and written per batch.
    #[arg(long, default_value_t = 200)]
    batch: usize,
}

/// Measures the quality of every stored demonstration that has none of this version
/// (stored before it was measured, or by an older version), replaying each: the
/// backfill a new version of the measures needs. Safe beside a running service.
pub fn run_quality(args: QualityArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.batch > 0, "--batch must be at least 1");
    tokio::runtime::Runtime::new()?.block_on(async {
        let db = Db::open(&args.db, 2).await?;
        let measured = async {
            let (mut after, mut measured, mut unreplayable) = (0, 0usize, 0usize);
            loop {
                let batch = db.unmeasured(after, args.batch).await?;
                let Some(&(last, _)) = batch.last() else { break };
                after = last;
                let qualities: Vec<(i64, Result<crate::quality::Quality, String>)> = tokio::task::spawn_blocking(move || {
                    use rayon::prelude::*;
                    batch.into_par_iter().map(|(id, record)| (id, record.replay().map(|d| crate::quality::measure(&d)).map_err(|e| e.to_string()))).collect()
                })
                .await?;
                for (id, quality) in qualities {
                    match quality {
                        Ok(quality) => {
                            db.set_quality(id, &quality).await?;
                            measured += 1;
                        }
                        Err(error) => {
                            unreplayable += 1;
                            eprintln!("demonstration {id} does not replay with this build: {error}");
                        }
                    }
                }
                eprintln!("measured {measured} demonstrations (through id {after})");
            }
            Ok::<_, anyhow::Error>((measured, unreplayable))
        }
        .await;
        db.close().await;
        let (measured, unreplayable) = measured?;
        println!("{measured} demonstrations measured (quality version {}), {unreplayable} not replayable", crate::quality::QUALITY_VERSION);
        Ok(())
    })
}

/// The demonstrations after id `after` whose quality score is at least `min`, and the
/// snapshot of everything considered (an append goes on after the last id, kept or not).
async fn at_least(db: &Db, after: i64, min: f64) -> anyhow::Result<(Vec<Exported>, Snapshot)> {
    anyhow::ensure!((0.0..=1.0).contains(&min), "--min-quality is a score from 0 to 1");
    let (rows, Snapshot { last_id, .. }) = db.export_after(after).await?;
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let qualities = db.qualities(&ids).await?;
    let unmeasured = ids.iter().filter(|id| !qualities.contains_key(id)).count();
    anyhow::ensure!(unmeasured == 0, "{unmeasured} demonstrations have no quality of this version: run `amf quality` on the database first");
    let kept: Vec<_> = rows.into_iter().filter(|row| qualities[&row.id].score >= min).collect();
    eprintln!("{} of {} demonstrations have a quality score of at least {min}", kept.len(), ids.len());
    let snapshot = Snapshot { demonstrations: kept.len(), last_id };
    Ok((kept, snapshot))
}

/// Where a LeRobot export from a collection service stood: read back by `--append`.
const SNAPSHOT_PATH: &str = "meta/amf_studio_snapshot.json";

fn snapshot_file(demonstrations: i64, last_id: i64) -> lerobot::DatasetFile {
    let json = serde_json::json!({ "source": "amf serve", "demonstrations": demonstrations, "last_id": last_id });
    lerobot::DatasetFile { path: SNAPSHOT_PATH.into(), bytes: format!("{json:#}\n").into_bytes() }
}

pub fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    anyhow::ensure!(!args.append || matches!(args.to, ExportFormat::Lerobot), "--append adds to a LeRobot dataset only");
    // Appending: what the dataset holds, and the snapshot it was taken at.
    let existing = if args.append {
        let existing = lerobot::Existing::read(&args.out)?;
        let path = args.out.join(SNAPSHOT_PATH);
        let snapshot: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).with_context(|| {
            format!("{} names no snapshot of a collection service: append to a dataset that `amf export` wrote", path.display())
        })?)?;
        let last_id = snapshot["last_id"].as_i64().with_context(|| format!("{} has no last_id", path.display()))?;
        Some((existing, last_id))
    } else {
        None
    };
    let after = existing.as_ref().map_or(0, |(_, last_id)| *last_id);
    let terms = crate::terms::Terms::new(&args.licence).map_err(|e| anyhow::anyhow!("--licence: {e}"))?;
    let (rows, snapshot, agreements, quality) = tokio::runtime::Runtime::new()?.block_on(async {
        let db = Db::open(&args.db, 2).await?;
        let exported = async {
            let (rows, snapshot) = match args.min_quality {
                None => db.export_after(after).await?,
                Some(min) => at_least(&db, after, min).await?,
            };
            let agreements = db.agreements(&terms.licence, snapshot.last_id).await?;
            // The card summarises the whole dataset's quality (an appended one's too):
            // the live demonstrations through the snapshot, as the agreements are, and
            // only those the filter kept.
            let kept = |score: &f64| args.min_quality.is_none_or(|min| *score >= min);
            let scores = db.review_rows().await?.into_iter().filter(|r| r.id <= snapshot.last_id).filter_map(|r| r.score).filter(kept).collect();
            let quality = lerobot::card::QualitySummary::of(scores, crate::quality::QUALITY_VERSION);
            anyhow::Ok((rows, snapshot, agreements, quality))
        }
        .await;
        db.close().await;
        exported
    })?;
    let records: Vec<_> = rows.iter().map(|row| row.record.clone()).collect();
    // Each episode names its contributor by the service's anonymous id, for the
    // dataset's own filters.
    let replay_all = |records: &[crate::record::DemonstrationRecord]| -> anyhow::Result<Vec<crate::export::ReplayedEpisode>> {
        let mut episodes = crate::export::replay_all(records)?;
        for (episode, row) in episodes.iter_mut().zip(&rows) {
            episode.contributor = Some(row.contributor.clone());
        }
        Ok(episodes)
    };
    let card = |files: &[lerobot::DatasetFile]| lerobot::card::card(files, &terms, agreements, quality);
    match (args.to, existing) {
        (ExportFormat::Lerobot, Some((existing, _))) => {
            if records.is_empty() {
                println!("nothing new since id {after}: {} is as it was", args.out.display());
                return Ok(());
            }
            let mut files = lerobot::append(&existing, &replay_all(&records)?)?;
            files.insert(files.len() - 1, snapshot_file(existing.episodes() + records.len() as i64, snapshot.last_id));
            files.insert(files.len() - 1, card(&files)?);
            lerobot::append_to_folder(&files, &args.out)?;
        }
        (ExportFormat::Lerobot, None) => {
            let mut files = lerobot::dataset(&replay_all(&records)?)?;
            files.push(snapshot_file(records.len() as i64, snapshot.last_id));
            files.push(card(&files)?);
            lerobot::write_folder(&files, &args.out)?;
        }
        (ExportFormat::Json, _) => {
            std::fs::write(&args.out, crate::demo_file::DemonstrationFile::new(&records, None, true).under_licence(&terms.licence).to_json())?
        }
        (ExportFormat::Robomimic, _) => super::dataset::write_robomimic(&replay_all(&records)?, &args.out)?,
    }
    println!(
        "exported {} demonstrations{} (snapshot: up to id {}) to {}",
        snapshot.demonstrations,
        if args.append { format!(" stored after id {after}") } else { String::new() },
        snapshot.last_id,
        args.out.display()
    );
    Ok(())
}

/// A positive, finite number of seconds as a duration, or an error naming `flag`.
fn seconds(flag: &str, value: f64) -> anyhow::Result<std::time::Duration> {
    anyhow::ensure!(value.is_finite() && value > 0.0, "{flag} must be a positive number of seconds");
    Ok(std::time::Duration::from_secs_f64(value))
}
