//! `amf bench pool`: fills a collection service's database with a pool of verified
//! demonstrations, for measuring the service at a crowd's scale (scripts/bench-pool.sh).
//! The demonstrations are the scripted experts' with action noise, every task in turn,
//! each verified by replay as an upload is ([`crate::crowd::upload::verify`]) and stored
//! through the service's own database code, under one contributor. A database that
//! holds some already is topped up to the count asked for.

use std::time::Instant;

use anyhow::Context;
use clap::Args;
use rayon::prelude::*;

use crate::crowd::upload::{verify, Upload};
use crate::record::DemonstrationRecord;
use crate::service::db::{Db, Stored};
use crate::tasks::TaskId;

#[derive(Args)]
pub struct PoolBenchArgs {
    /// The database (`sqlite://path` or `postgres://...`), created or migrated as
    /// `amf serve` does.
    #[arg(long)]
    db: String,
    /// Verified demonstrations the pool holds afterwards.
    #[arg(long)]
    demonstrations: usize,
    /// Action noise of the scripted experts (their demonstrations differ by it too).
    #[arg(long, default_value_t = 0.05)]
    noise: f32,
}

/// Demonstrations recorded and verified per batch (one database write each).
const BATCH: usize = 256;

/// The contributor the pool is stored under.
const CONTRIBUTOR: &str = "bench-pool";

pub fn run(args: PoolBenchArgs) -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(async move {
        let db = Db::open(&args.db, 4).await.with_context(|| format!("cannot open {}", args.db))?;
        if db.contributor_by_token(CONTRIBUTOR).await?.is_none() {
            db.add_contributor(CONTRIBUTOR, CONTRIBUTOR, Some("the pool benchmark"), Some(crate::terms::DEFAULT_LICENCE)).await?;
        }
        let (mut stored, _) = db.counts().await?;
        let started = Instant::now();
        // Seeds continue after the ones used, so a topped-up pool holds no duplicate.
        let mut seed = 50_000_000 + stored as u64;
        while (stored as usize) < args.demonstrations {
            let wanted = (args.demonstrations - stored as usize).min(BATCH);
            let seeds: Vec<u64> = (seed..seed + wanted as u64).collect();
            seed += wanted as u64;
            let verified: Vec<_> = seeds
                .par_iter()
                .filter_map(|&seed| {
                    let task = TaskId::ALL[(seed as usize) % TaskId::ALL.len()];
                    let record = DemonstrationRecord::from_expert(task, seed, args.noise, 1.7e12);
                    let upload = Upload { client_id: format!("pool-{seed:012}"), record };
                    verify(&upload).ok()
                })
                .collect();
            for demonstration in &verified {
                if let Stored::New(_) = db.store(CONTRIBUTOR, demonstration).await? {
                    stored += 1;
                }
            }
            eprintln!("{stored} of {} stored ({:.0} s)", args.demonstrations, started.elapsed().as_secs_f64());
        }
        println!("{}", serde_json::json!({ "demonstrations": stored, "seconds": started.elapsed().as_secs_f64() }));
        db.close().await;
        Ok(())
    })
}
