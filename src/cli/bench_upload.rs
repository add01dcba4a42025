//! `amf bench upload`: a bounded load test of running collection services (loopback
//! only): simulated contributors upload distinct recorded demonstrations at once; it
//! reports verified uploads per second, latency percentiles, and the ratio to the
//! limit, replay speed times cores, measured in the same run. It checks that nothing
//! was lost or stored twice, through the operator's export.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::percentile;
use crate::crowd::upload::{verify, Upload};
use crate::record::DemonstrationRecord;
use crate::tasks::TaskId;

#[derive(Args)]
pub struct UploadBenchArgs {
    /// The services' base addresses (loopback), comma-separated; contributors are spread
    /// over them.
    #[arg(long, value_delimiter = ',')]
    url: Vec<String>,
    /// The operator's token (to count what was stored).
    #[arg(long, env = "AMF_OPERATOR_TOKEN")]
    operator_token: String,
    /// Contributors uploading at once.
    #[arg(long, default_value_t = 50)]
    contributors: usize,
    /// Distinct demonstrations uploaded in all.
    #[arg(long, default_value_t = 500)]
    uploads: usize,
    /// Seeds start here (use a fresh range per run on one database).
    #[arg(long, default_value_t = 1_000_000)]
    first_seed: u64,
    /// Stop after this many seconds whatever is left.
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
}

#[derive(Serialize)]
struct Report {
    instances: usize,
    contributors: usize,
    uploads: usize,
    stored: usize,
    refused: usize,
    retried_after_429: usize,
    seconds: f64,
    verified_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    replays_per_second_one_core: f64,
    /// The same demonstrations replayed without the quality measure.
    replay_only_per_second: f64,
    cores: usize,
    /// Verified uploads per second over replay speed times cores.
    ratio_to_limit: f64,
    /// Demonstrations in the operator's export after the run, minus those before.
    exported_new: i64,
    lost_or_duplicated: i64,
}

fn is_loopback(url: &str) -> bool {
    ["http://127.", "http://localhost", "http://[::1]"].iter().any(|p| url.starts_with(p))
}

async fn exported(client: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<i64> {
    let response = client.get(format!("{url}/api/operator/export")).bearer_auth(token).send().await?;
    anyhow::ensure!(response.status().is_success(), "the export was refused: {}", response.status());
    let count = response.headers().get("x-snapshot-demonstrations").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    count.context("the export names no snapshot")
}

pub fn run(args: UploadBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(!args.url.is_empty() && args.url.iter().all(|u| is_loopback(u)), "--url must name loopback services only");
    // Distinct demonstrations, recorded as a person's page would (the expert with noise).
    eprintln!("recording {} demonstrations…", args.uploads);
    let uploads: Vec<Upload> = (0..args.uploads)
        .map(|i| {
            let seed = args.first_seed + i as u64;
            Upload { client_id: format!("bench-{seed:012}"), record: DemonstrationRecord::from_expert(TaskId::ALL[i % TaskId::ALL.len()], seed, 0.05, 1.7e12) }
        })
        .collect();
    // The limit: replay speed on one core, times the cores, measured now.
    let sample = &uploads[..uploads.len().min(60)];
    let started = Instant::now();
    for upload in sample {
        verify(upload).map_err(|e| anyhow::anyhow!("a benchmark demonstration does not verify: {e}"))?;
    }
    let replays_per_second_one_core = sample.len() as f64 / started.elapsed().as_secs_f64();
    // What the quality measure costs verification: the replay alone, in the same run.
    let started = Instant::now();
    for upload in sample {
        upload.record.replay().map_err(|e| anyhow::anyhow!("a benchmark demonstration does not replay: {e}"))?;
    }
    let replay_only_per_second = sample.len() as f64 / started.elapsed().as_secs_f64();
    eprintln!(
        "verification on one core: {replays_per_second_one_core:.1}/s with the quality measure, {replay_only_per_second:.1}/s the replay alone (ratio {:.2})",
        replays_per_second_one_core / replay_only_per_second
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    tokio::runtime::Runtime::new()?.block_on(async move {
        let client = reqwest::Client::builder().pool_max_idle_per_host(args.contributors).build()?;
        let before = exported(&client, &args.url[0], &args.operator_token).await?;
        let mut tokens = Vec::new();
        for i in 0..args.contributors {
            let url = &args.url[i % args.url.len()];
            tokens.push((url.clone(), super::crowd::register(&client, &format!("{url}/api"), None).await?.1));
        }
        let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
        let bodies: Vec<Vec<u8>> = uploads.iter().map(|u| serde_json::to_vec(u).expect("serialisable")).collect();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (c, (url, token)) in tokens.into_iter().enumerate() {
            let mine: Vec<Vec<u8>> = bodies.iter().skip(c).step_by(args.contributors).cloned().collect();
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let (mut latencies, mut stored, mut refused, mut retried) = (Vec::new(), 0, 0, 0);
                for body in mine {
                    loop {
                        if Instant::now() > deadline {
                            return (latencies, stored, refused, retried);
                        }
                        let sent = Instant::now();
                        let response = client
                            .post(format!("{url}/api/demonstrations"))
                            .bearer_auth(&token)
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                            .await;
                        let status = response.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
                        if status == 429 || status == 0 {
                            retried += 1;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        }
                        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                        if status == 201 || status == 200 {
                            stored += 1;
                        } else {
                            refused += 1;
                        }
                        break;
                    }
                }
                (latencies, stored, refused, retried)
            }));
        }
        let (mut latencies, mut stored, mut refused, mut retried) = (Vec::new(), 0, 0, 0);
        for task in tasks {
            let (l, s, r, q) = task.await?;
            latencies.extend(l);
            stored += s;
            refused += r;
            retried += q;
        }
        let seconds = started.elapsed().as_secs_f64();
        let after = exported(&client, &args.url[0], &args.operator_token).await?;
        let verified_per_second = stored as f64 / seconds;
        let report = Report {
            instances: args.url.len(),
            contributors: args.contributors,
            uploads: args.uploads,
            stored,
            refused,
            retried_after_429: retried,
            seconds,
            verified_per_second,
            p50_ms: percentile(&mut latencies, 0.5),
            p99_ms: percentile(&mut latencies, 0.99),
            replays_per_second_one_core,
            replay_only_per_second,
            cores,
            ratio_to_limit: verified_per_second / (replays_per_second_one_core * cores as f64),
            exported_new: after - before,
            lost_or_duplicated: (after - before) - stored as i64,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
        anyhow::ensure!(report.lost_or_duplicated == 0, "{} demonstrations lost or stored twice", report.lost_or_duplicated);
        Ok(())
    })
}
