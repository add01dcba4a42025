//! Verification on a bounded pool: one replay thread per core, each taking the next
//! upload from a bounded queue as soon as it is free, and at most `queue` uploads
//! waiting; beyond that an upload is refused at once (the API answers 429 with
//! Retry-After) instead of queueing without bound. Dedicated threads rather than
//! `spawn_blocking` behind a semaphore: there a finished replay's permit is handed to
//! the next upload only once the async runtime polls its task again, and on a busy
//! machine the replay threads sat idle meanwhile.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{bounded, Sender, TrySendError};
use tokio::sync::oneshot;

use super::metrics::Metrics;
use crate::crowd::upload::{verify, Rejection, Upload, Verified};

type Outcome = Result<Verified, Rejection>;

struct Job {
    upload: Upload,
    /// The replay's outcome (none if it panicked) and its time in seconds.
    reply: oneshot::Sender<(Option<Outcome>, f64)>,
}

pub struct VerifyPool {
    jobs: Sender<Job>,
    /// Uploads taken and not yet verified (waiting or replaying).
    unfinished: Arc<AtomicUsize>,
}

/// Whether uploads are being verified: what the shared policy's training yields to.
#[derive(Clone)]
pub struct Busy(Arc<AtomicUsize>);

impl Busy {
    pub fn now(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }
}

/// The pool is full (or a replay failed without an outcome): try again shortly.
#[derive(Debug, PartialEq)]
pub struct Overloaded;

impl VerifyPool {
    /// `workers` replay threads (the cores), `queue` more uploads waiting. The threads
    /// end when the pool is dropped.
    pub fn new(workers: usize, queue: usize) -> VerifyPool {
        let (jobs, waiting) = bounded::<Job>(queue);
        let unfinished = Arc::new(AtomicUsize::new(0));
        for i in 0..workers.max(1) {
            let (waiting, unfinished) = (waiting.clone(), unfinished.clone());
            std::thread::Builder::new()
                .name(format!("amf-verify-{i}"))
                .spawn(move || {
                    for job in waiting.iter() {
                        let started = Instant::now();
                        // The replay is fuzzed, but a panic must not take a core away.
                        let outcome = catch_unwind(AssertUnwindSafe(|| verify(&job.upload))).ok();
                        unfinished.fetch_sub(1, Ordering::Relaxed);
                        let _ = job.reply.send((outcome, started.elapsed().as_secs_f64()));
                    }
                })
                .expect("the verification threads start");
        }
        VerifyPool { jobs, unfinished }
    }

    /// A handle that tells whether uploads are being verified.
    pub fn busy(&self) -> Busy {
        Busy(self.unfinished.clone())
    }

    pub async fn verify(&self, upload: Upload, metrics: &Metrics) -> Result<Outcome, Overloaded> {
        let (reply, outcome) = oneshot::channel();
        // Counted before it is sent, so a worker never counts it down first.
        self.unfinished.fetch_add(1, Ordering::Relaxed);
        match self.jobs.try_send(Job { upload, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.unfinished.fetch_sub(1, Ordering::Relaxed);
                return Err(Overloaded);
            }
        }
        metrics.queue_depth.store(self.jobs.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let (outcome, seconds) = outcome.await.map_err(|_| Overloaded)?;
        metrics.verified_in(seconds);
        metrics.queue_depth.store(self.jobs.len() as u64, std::sync::atomic::Ordering::Relaxed);
        outcome.ok_or(Overloaded)
    }
}
