//! `amf bench crowd`: the crowd's figures on a running service (loopback): assignment
//! latency with many visitors asking at once, upload latency with and without the
//! shared policy training, and the time from the K-th verified demonstration to the
//! published version. Bounded in count and time; stops by itself. A benchmark, not a
//! test: it reports, it asserts nothing about time.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use crate::crowd::contract::{AssignmentRequest, CrowdStatus};

use super::percentile;
use crate::crowd::upload::Upload;
use crate::record::DemonstrationRecord;
use crate::tasks::TaskId;

#[derive(Args)]
pub struct CrowdBenchArgs {
    /// The service (loopback), started with `--retrain-every` equal to `--retrain-every`
    /// here and no demonstrations yet.
    #[arg(long)]
    url: String,
    /// Visitors at once.
    #[arg(long, default_value_t = 50)]
    visitors: usize,
    /// Assignments asked in all.
    #[arg(long, default_value_t = 300)]
    assignments: usize,
    /// The service's K: its shared policy is retrained after this many demonstrations.
    #[arg(long, default_value_t = 60)]
    retrain_every: usize,
    /// Stop waiting for the published version after this many seconds.
    #[arg(long, default_value_t = 300)]
    max_seconds: u64,
    /// Measure assignments only (a service on a pool filled beforehand, see
    /// scripts/bench-pool.sh): no uploads, no waiting for a version.
    #[arg(long)]
    assignments_only: bool,
    /// When the service was started (Unix milliseconds), to report the time from its
    /// start to its first assignment.
    #[arg(long)]
    service_started_ms: Option<u64>,
}

#[derive(Serialize)]
struct Report {
    visitors: usize,
    assignments: usize,
    /// One visitor's assignment, asked alone as soon as the service answers.
    first_assignment_ms: f64,
    /// From the service's start to that assignment's answer (with `--service-started-ms`).
    first_assignment_after_start_ms: Option<f64>,
    assignment_p50_ms: f64,
    assignment_p99_ms: f64,
    /// From the service's metrics: visitors answered per batch, and a batch's
    /// milliseconds, in all and in the selector.
    assignment_batch_mean_size: f64,
    assignment_batch_mean_ms: f64,
    assignment_batch_choosing_mean_ms: f64,
    uploads: Option<UploadFigures>,
}

#[derive(Serialize)]
struct UploadFigures {
    uploads_idle_p50_ms: f64,
    uploads_idle_p99_ms: f64,
    uploads_while_training_p50_ms: f64,
    uploads_while_training_p99_ms: f64,
    /// p50 while training over p50 idle.
    upload_slowdown: f64,
    /// The service still reported training once the uploads "while training" were done.
    uploads_overlapped_training: bool,
    seconds_to_published_version: Option<f64>,
}

/// Distinct successful expert demonstrations, `count` of them, from seed `first` on.
fn demonstrations(count: usize, first: u64) -> Vec<DemonstrationRecord> {
    (first..)
        .map(|seed| DemonstrationRecord::from_expert(TaskId::ALL[(seed as usize) % TaskId::ALL.len()], seed, 0.05, 1.7e12))
        .filter(|r| r.success)
        .take(count)
        .collect()
}

/// Uploads `records`, one per visitor at a time, all visitors at once; the latencies (ms).
async fn upload_all(client: &reqwest::Client, base: &str, tokens: &[String], records: Vec<DemonstrationRecord>, tag: &str) -> anyhow::Result<Vec<f64>> {
    let mut tasks = Vec::new();
    for (i, record) in records.into_iter().enumerate() {
        let (client, url, token) = (client.clone(), format!("{base}/demonstrations"), tokens[i % tokens.len()].clone());
        let upload = Upload { client_id: format!("bench-{tag}-{i:06}"), record };
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let response = client.post(url).bearer_auth(token).json(&upload).send().await?;
            anyhow::ensure!(response.status().is_success(), "an upload was refused: {}", response.text().await.unwrap_or_default());
            anyhow::Ok(sent.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.push(task.await??);
    }
    Ok(latencies)
}

pub fn run(args: CrowdBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.url.starts_with("http://127.") || args.url.starts_with("http://localhost"), "--url must be a loopback service");
    let base = format!("{}/api", args.url.trim_end_matches('/'));
    let recorded = if args.assignments_only { 0 } else { 2 * args.retrain_every };
    eprintln!("recording {recorded} demonstrations…");
    let mut records = demonstrations(recorded, 7_000_000);
    let after = records.split_off(recorded / 2);
    tokio::runtime::Runtime::new()?.block_on(async move {
        let client = reqwest::Client::builder().pool_max_idle_per_host(args.visitors).build()?;
        let mut tokens = Vec::new();
        for _ in 0..args.visitors {
            tokens.push(super::crowd::register(&client, &base, None).await?.1);
        }
        let ask = {
            let (client, url) = (client.clone(), format!("{base}/assignments"));
            move |token: String| {
                let (client, url) = (client.clone(), url.clone());
                async move {
                    let sent = Instant::now();
                    let response = client.post(&url).bearer_auth(&token).json(&AssignmentRequest::default()).send().await?;
                    anyhow::ensure!(response.status().as_u16() == 201, "an assignment was refused: {}", response.text().await.unwrap_or_default());
                    anyhow::Ok(sent.elapsed().as_secs_f64() * 1000.0)
                }
            }
        };
        let first_assignment_ms = ask(tokens[0].clone()).await?;
        let first_assignment_after_start_ms = args.service_started_ms.map(|started| crate::service::db::now_ms() as f64 - started as f64);
        // The service is ready once it has assessed the pre-trained policy (at start).
        let ready = Instant::now() + Duration::from_secs(args.max_seconds);
        let status = || async { anyhow::Ok(client.get(format!("{base}/crowd")).send().await?.json::<CrowdStatus>().await?) };
        while status().await?.success.is_none() && Instant::now() < ready {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Assignments: every visitor asks, again and again, all at once.
        let per_visitor = args.assignments.div_ceil(args.visitors);
        let mut tasks = Vec::new();
        for token in &tokens {
            let (ask, token) = (ask.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                for _ in 0..per_visitor {
                    latencies.push(ask(token.clone()).await?);
                }
                anyhow::Ok(latencies)
            }));
        }
        let mut assignment = Vec::new();
        for task in tasks {
            assignment.extend(task.await??);
        }
        let metrics = client.get(format!("{base}/metrics")).send().await?.text().await?;
        let metric = |name: &str| -> f64 {
            metrics.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
        };
        let batches = metric("amf_assignment_batches_total").max(1.0);
        let batch_mean_size = metric("amf_assignments_total") / batches;
        let batch_mean_ms = 1000.0 * metric("amf_assignment_batch_seconds_total") / batches;
        let choosing_mean_ms = 1000.0 * metric("amf_assignment_choosing_seconds_total") / batches;
        let mut report = Report {
            visitors: args.visitors,
            assignments: assignment.len(),
            first_assignment_ms,
            first_assignment_after_start_ms,
            assignment_p50_ms: percentile(&mut assignment, 0.5),
            assignment_p99_ms: percentile(&mut assignment, 0.99),
            assignment_batch_mean_size: batch_mean_size,
            assignment_batch_mean_ms: batch_mean_ms,
            assignment_batch_choosing_mean_ms: choosing_mean_ms,
            uploads: None,
        };
        if args.assignments_only {
            println!("{}", serde_json::to_string_pretty(&report)?);
            return Ok(());
        }
        // Uploads with nothing training: all but the last of the first K.
        let mut first = records;
        let last = first.pop().context("K is at least 1")?;
        let mut idle = upload_all(&client, &base, &tokens, first, "idle").await?;
        // The K-th starts the training; the next K arrive while it runs.
        upload_all(&client, &base, &tokens, vec![last], "kth").await?;
        let kth = Instant::now();
        let deadline = kth + Duration::from_secs(args.max_seconds);
        let training_now = || async { anyhow::Ok(status().await?.training) };
        // The job notices the K-th within its poll: upload once it trains.
        while !training_now().await? && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut training = upload_all(&client, &base, &tokens, after, "training").await?;
        let overlapped = training_now().await?;
        let mut published = None;
        while Instant::now() < deadline {
            if !status().await?.versions.is_empty() {
                published = Some(kth.elapsed().as_secs_f64());
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let (idle50, train50) = (percentile(&mut idle, 0.5), percentile(&mut training, 0.5));
        report.uploads = Some(UploadFigures {
            uploads_idle_p50_ms: idle50,
            uploads_idle_p99_ms: percentile(&mut idle, 0.99),
            uploads_while_training_p50_ms: train50,
            uploads_while_training_p99_ms: percentile(&mut training, 0.99),
            upload_slowdown: train50 / idle50.max(1e-9),
            uploads_overlapped_training: overlapped,
            seconds_to_published_version: published,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        Ok(())
    })
}
