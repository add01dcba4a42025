//! Verification on a bounded pool: at most one replay per core at a time, and at most
//! `queue` more uploads waiting; beyond that an upload is refused at once (the API
//! answers 429 with Retry-After) instead of queueing without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

use super::metrics::Metrics;
use crate::crowd::upload::{verify, Rejection, Upload, Verified};

pub struct VerifyPool {
    running: Arc<Semaphore>,
    capacity: usize,
    in_flight: AtomicUsize,
}

/// The pool is full: try again shortly.
#[derive(Debug, PartialEq)]
pub struct Overloaded;

impl VerifyPool {
    /// `workers` replays at once (the cores), `queue` more waiting.
    pub fn new(workers: usize, queue: usize) -> VerifyPool {
        let workers = workers.max(1);
        VerifyPool { running: Arc::new(Semaphore::new(workers)), capacity: workers + queue, in_flight: AtomicUsize::new(0) }
    }

    pub async fn verify(&self, upload: Upload, metrics: &Metrics) -> Result<Result<Verified, Rejection>, Overloaded> {
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= self.capacity {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Err(Overloaded);
        }
        metrics.queue_depth.store(self.in_flight.load(Ordering::SeqCst) as u64, Ordering::Relaxed);
        let outcome = async {
            let _permit = self.running.acquire().await.map_err(|_| Overloaded)?;
            let started = Instant::now();
            let verified = tokio::task::spawn_blocking(move || verify(&upload)).await.map_err(|_| Overloaded)?;
            metrics.verified_in(started.elapsed().as_secs_f64());
            Ok(verified)
        }
        .await;
        let left = self.in_flight.fetch_sub(1, Ordering::SeqCst) - 1;
        metrics.queue_depth.store(left as u64, Ordering::Relaxed);
        outcome
    }
}
