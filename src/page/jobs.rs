//! The reducer's rounds and workers: starting a session, sending a round where it should
//! train (choosing the backend once), folding progress and results in, the WebGPU
//! worker's hand-over to the CPU from its last snapshot, cancel, worker deaths with a
//! bounded number of restarts, and the live comparison's two workers.

use std::rc::Rc;

use super::action::Effect;
use super::protocol::{FromWorker, RoundResult, ToWorker, WorkerError};
use super::state::*;
use crate::experiment::tabletop::TabletopSettings;
use crate::round::{Reweighing, RoundConfig, RoundEvent, RoundJob};
use crate::select::SelectorKind;
use crate::session::{BackendChoice, BackendDecision, Engine, Pick, RoundLog, Session, SessionSettings};

/// Consecutive CPU worker failures after which the page stops restarting it.
pub const MAX_WORKER_FAILURES: u32 = 2;

/// The comparison's seed: fixed, so the page's runs are the runner's `--seeds` run 1.
pub const COMPARISON_SEED: u64 = 1;

impl PageState {
    /// Starts a worker in `slot` (replacing any there).
    pub(super) fn spawn(&mut self, slot: WorkerSlot, fx: &mut Vec<Effect>) -> WorkerId {
        if let Some(old) = self.workers.remove(slot) {
            fx.push(Effect::TerminateWorker(old));
        }
        let id = self.workers.add(slot);
        fx.push(Effect::SpawnWorker(id));
        id
    }

    /// The worker in `slot`, started if there is none.
    pub(super) fn ensure_worker(&mut self, slot: WorkerSlot, fx: &mut Vec<Effect>) -> WorkerId {
        match self.workers.get(slot) {
            Some(id) => id,
            None => self.spawn(slot, fx),
        }
    }

    fn terminate(&mut self, slot: WorkerSlot, fx: &mut Vec<Effect>) {
        if let Some(id) = self.workers.remove(slot) {
            fx.push(Effect::TerminateWorker(id));
        }
    }

    /// A new session with `settings`: assess the pre-trained policy, then propose. With
    /// the shipped first proposals for these settings, its seed is one of theirs.
    pub(super) fn start_session(&mut self, settings: SessionSettings, fx: &mut Vec<Effect>) {
        let draw = self.next_seed();
        let seed = self.openings.as_ref().and_then(|o| o.seed_for(&settings.round_config(), draw)).unwrap_or(draw);
        let mut session = Session::new(seed, settings);
        // Where this browser trains was measured already; a new session keeps it.
        session.backend = self.session.as_ref().and_then(|s| s.backend.clone());
        self.session = Some(session);
        self.store_session(fx);
        self.restart_session(fx);
    }

    /// Runs the session's start (again, after it failed): read from the shipped first
    /// proposals where they hold its seed and settings, on the CPU worker otherwise.
    pub(super) fn restart_session(&mut self, fx: &mut Vec<Effect>) {
        let Some(session) = self.session.as_ref().filter(|s| s.curve.is_empty()) else { return };
        if self.busy() {
            return;
        }
        if let Some((per_task, selection)) = self.openings.as_ref().and_then(|o| o.start_of(&session.settings.round_config(), session.seed)) {
            if let Some(session) = self.session.as_mut() {
                session.start(per_task, Some(selection));
            }
            self.phase = Phase::Idle;
            return self.started_or_trained(fx);
        }
        let job = RoundJob { records: vec![], config: session.settings.round_config(), seed: session.seed, round: 0, resume: None };
        self.phase = Phase::Starting { progress: 0.0 };
        self.dispatch(job, Vec::new(), fx);
    }

    /// Fine-tunes on every counted demonstration (a round).
    pub(super) fn train(&mut self, fx: &mut Vec<Effect>) {
        let Some(session) = self.session.as_ref() else { return };
        if self.dataset.tally().waiting == 0 || self.busy() || session.curve.is_empty() {
            return;
        }
        let job = RoundJob {
            records: self.dataset.records(),
            config: session.settings.round_config(),
            seed: session.seed,
            round: session.rounds.len() + 1,
            resume: None,
        };
        let trains = self.dataset.waiting().map(|e| e.id).collect();
        self.just_saved = None;
        self.phase = Phase::Round(RoundProgress::new(session.settings.steps));
        self.dispatch(job, trains, fx);
    }

    /// Sends `job` where it should train: the session's start and the CPU preference go
    /// to the CPU worker; otherwise the WebGPU worker chooses first (once per session).
    fn dispatch(&mut self, job: RoundJob, trains: Vec<u64>, fx: &mut Vec<Effect>) {
        let preference = self.session.as_ref().map_or(BackendChoice::Cpu, |s| s.settings.backend);
        let mut running = RunningJob { job, place: Some(Engine::Cpu), last_snapshot: None, fell_back: false, trains };
        if running.job.records.is_empty() || preference == BackendChoice::Cpu {
            return self.send_to(Engine::Cpu, running, fx);
        }
        if !self.webgpu_in_browser {
            if preference == BackendChoice::WebGpu {
                self.info("This browser offers no WebGPU, so fine-tuning runs on the CPU.".into());
            }
            return self.send_to(Engine::Cpu, running, fx);
        }
        let known = self.session.as_ref().and_then(|s| s.backend.as_ref()).filter(|d| d.preference == preference).map(|d| d.engine);
        match known {
            Some(engine) => self.send_to(engine, running, fx),
            None => {
                let gpu = self.ensure_worker(WorkerSlot::WebGpu, fx);
                fx.push(Effect::Post(gpu, Box::new(ToWorker::Choose(preference))));
                running.place = None;
                self.job = Some(running);
            }
        }
    }

    /// Sends the job to the worker of `engine`, starting one if there is none (the
    /// visitor asked, so an earlier give-up does not hold).
    fn send_to(&mut self, engine: Engine, mut running: RunningJob, fx: &mut Vec<Effect>) {
        let fresh = self.workers.get(WorkerSlot::training_on(engine)).is_none();
        if fresh && engine == Engine::Cpu {
            self.workers.cpu_failures = 0;
        }
        let worker = self.ensure_worker(WorkerSlot::training_on(engine), fx);
        if fresh && engine == Engine::Gpu {
            // A fresh WebGPU worker has no device yet: it was chosen before, so ask for
            // it without measuring again.
            fx.push(Effect::Post(worker, Box::new(ToWorker::Choose(BackendChoice::WebGpu))));
        }
        running.place = Some(engine);
        running.last_snapshot = running.job.resume.clone();
        fx.push(Effect::Post(worker, Box::new(ToWorker::Run(running.job.clone()))));
        self.job = Some(running);
    }

    /// Drops the job under way and terminates the worker running it (a training loop
    /// never returns to read a message).
    pub(super) fn stop_job(&mut self, fx: &mut Vec<Effect>) {
        let Some(running) = self.job.take() else { return };
        // While choosing, the WebGPU worker measures.
        self.terminate(WorkerSlot::training_on(running.place.unwrap_or(Engine::Gpu)), fx);
    }

    pub(super) fn cancel_round(&mut self, fx: &mut Vec<Effect>) {
        if !matches!(self.phase, Phase::Round(_)) {
            return;
        }
        self.stop_job(fx);
        self.phase = Phase::Idle;
        self.info("Fine-tuning cancelled. Your demonstrations are kept; press “Train now” when you are ready.".into());
        self.ensure_worker(WorkerSlot::Cpu, fx);
    }

    pub(super) fn worker_message(&mut self, worker: WorkerId, message: FromWorker, fx: &mut Vec<Effect>) {
        if let WorkerSlot::Comparison(side) = worker.slot {
            return self.comparison_message(side, message, fx);
        }
        let runs_job = |s: &PageState| s.job.as_ref().is_some_and(|j| j.place == Some(engine_of(worker.slot)));
        match message {
            // Rollouts are asked of a worker of their own (see `Effect::Watch`).
            FromWorker::Loaded | FromWorker::Compared { .. } | FromWorker::CompareDone { .. } | FromWorker::RolledOut(_) => {}
            FromWorker::Ready => {
                if worker.slot == WorkerSlot::Cpu {
                    self.workers.cpu_failures = 0;
                }
            }
            FromWorker::Chosen(choice) => self.chosen(choice, fx),
            FromWorker::Event(event) if runs_job(self) => self.progress(event),
            FromWorker::Event(_) => {}
            FromWorker::Done(result) if runs_job(self) => self.round_done(result, fx),
            FromWorker::Done(_) => {}
            FromWorker::Imported { accepted, rejected } => self.imported(accepted, rejected, fx),
            FromWorker::Failed(WorkerError::Import(message)) => self.import_failed(message),
            FromWorker::Failed(error) => {
                if runs_job(self) {
                    self.job = None;
                    self.phase = Phase::Idle;
                    let what = if self.started() { "The round failed" } else { "The session could not start" };
                    self.error(format!("{what}: {error}. Your demonstrations are kept."));
                } else {
                    self.error(format!("The training worker reported a failure: {error}."));
                }
            }
        }
    }

    fn progress(&mut self, event: RoundEvent) {
        match (&mut self.phase, event) {
            (_, RoundEvent::Snapshot(snapshot)) => {
                if let Some(job) = self.job.as_mut() {
                    job.last_snapshot = Some(snapshot);
                }
            }
            (Phase::Starting { progress }, RoundEvent::Evaluating(p)) => *progress = p,
            (Phase::Round(round), RoundEvent::Training(p)) => {
                round.stage = RoundStage::Training;
                round.step = p.step;
                round.steps = p.steps;
                round.losses.push(p.action_mse);
            }
            (Phase::Round(round), RoundEvent::FellBack { step, message }) => {
                round.fell_back = Some(format!("WebGPU failed at step {step} ({message}); training went on on the CPU"));
            }
            (Phase::Round(round), RoundEvent::Evaluating(p)) => {
                round.stage = RoundStage::Evaluating;
                round.evaluated = p;
            }
            (Phase::Round(round), RoundEvent::Selecting) => round.stage = RoundStage::Selecting,
            _ => {}
        }
    }

    /// The WebGPU worker chose where rounds train; the waiting round goes there, and the
    /// decision is kept with the session.
    fn chosen(&mut self, choice: BackendDecision, fx: &mut Vec<Effect>) {
        if choice.engine == Engine::Cpu {
            self.terminate(WorkerSlot::WebGpu, fx);
        }
        let engine = choice.engine;
        if let Some(session) = self.session.as_mut() {
            let tell = session.backend.as_ref().is_none_or(|d| d.engine != choice.engine);
            let reason = choice.reason.clone();
            // Kept for the session's preference (a fresh WebGPU worker is asked for its
            // device as if WebGPU were chosen).
            session.backend = Some(BackendDecision { preference: session.settings.backend, ..choice });
            if tell {
                self.info(format!("Fine-tuning runs on {reason}."));
                self.store_session(fx);
            }
        }
        if let Some(running) = self.job.take_if(|j| j.place.is_none()) {
            self.send_to(engine, running, fx);
        }
    }

    fn round_done(&mut self, result: RoundResult, fx: &mut Vec<Effect>) {
        let Some(running) = self.job.take() else { return };
        let Some(session) = self.session.as_mut() else { return };
        let backend = match (running.place, running.fell_back || result.fell_back) {
            (_, true) => vec![Engine::Gpu, Engine::Cpu],
            (Some(engine), false) => vec![engine],
            (None, false) => vec![Engine::Cpu],
        };
        if session.curve.is_empty() {
            session.start(result.per_task, result.selection);
        } else {
            let mut picks = Vec::with_capacity(running.trains.len());
            for entry in self.dataset.entries.iter_mut().filter(|e| running.trains.contains(&e.id)) {
                entry.standing.trained = true;
                picks.push(Pick { task: entry.record.task, chosen_by: entry.standing.chosen_by });
            }
            let trained = self.dataset.tally().trained;
            let log = RoundLog {
                picks,
                loss: result.loss,
                backend,
                train_seconds: result.train_seconds,
                eval_seconds: result.eval_seconds,
                select_seconds: result.select_seconds,
            };
            session.finish_round(trained, result.per_task, result.selection, log);
        }
        self.phase = Phase::Idle;
        if let Some(bytes) = result.policy {
            let bytes = Rc::new(bytes);
            self.tuned = true;
            fx.push(Effect::AdoptTuned(Some(bytes.clone())));
            if self.storage == Storage::Available {
                fx.push(Effect::StorePolicy(bytes));
            }
        }
        self.started_or_trained(fx);
    }

    /// After a round or the session's start: stores the session and goes on.
    fn started_or_trained(&mut self, fx: &mut Vec<Effect>) {
        self.store_session(fx);
        // Demonstrations counted while the round ran may make the next one due.
        if self.round_due() {
            self.train(fx);
        } else {
            self.autopilot_next(fx);
        }
    }

    pub(super) fn worker_died(&mut self, worker: WorkerId, message: String, fx: &mut Vec<Effect>) {
        match worker.slot {
            WorkerSlot::Cpu => self.cpu_worker_died(message, fx),
            WorkerSlot::WebGpu => self.webgpu_died(message, fx),
            WorkerSlot::Comparison(_) => {
                self.stop_comparison(fx);
                self.error(format!("The comparison stopped: its worker failed ({message})."));
            }
        }
    }

    fn cpu_worker_died(&mut self, message: String, fx: &mut Vec<Effect>) {
        self.workers.remove(WorkerSlot::Cpu);
        self.workers.cpu_failures += 1;
        let busy = self.job.take_if(|j| j.place == Some(Engine::Cpu)).is_some();
        if busy {
            self.phase = Phase::Idle;
        }
        self.import_failed(format!("the training worker stopped ({message})"));
        let failures = self.workers.cpu_failures;
        if failures >= MAX_WORKER_FAILURES {
            return self.error(format!(
                "Training is unavailable: the training worker failed {failures} times ({message}). Your demonstrations are saved; reload the page to try again."
            ));
        }
        let what = if busy && self.started() { " Your demonstrations are kept; press “Train now” to try again." } else { "" };
        self.error(format!("The training worker stopped ({message}).{what}"));
        self.spawn(WorkerSlot::Cpu, fx);
        if !self.started() {
            self.restart_session(fx);
        }
    }

    /// The WebGPU worker died (a lost device traps its wasm): a round it ran goes on on
    /// the CPU from its last snapshot; a choice it was making falls to the CPU.
    fn webgpu_died(&mut self, message: String, fx: &mut Vec<Effect>) {
        self.workers.remove(WorkerSlot::WebGpu);
        if let Some(session) = self.session.as_mut() {
            session.backend = None;
        }
        let Some(mut running) = self.job.take_if(|j| j.place != Some(Engine::Cpu)) else { return };
        if running.place.is_none() {
            self.info(format!("WebGPU training is unavailable here ({message}); training on the CPU."));
        } else {
            let step = running.last_snapshot.as_ref().map_or(0, |s| s.step);
            let text = format!("WebGPU stopped at step {step} ({message}); training goes on on the CPU from there.");
            if let Phase::Round(round) = &mut self.phase {
                round.fell_back = Some(text.clone());
            }
            self.info(text);
            running.job.resume = running.last_snapshot.take();
            running.fell_back = true;
        }
        self.send_to(Engine::Cpu, running, fx);
    }

    // ---- the live comparison ----

    /// AMF and uniform, each in its own worker, the scripted expert demonstrating what
    /// each asks: 20 demonstrations in rounds of 5, the runner's round settings but one
    /// training a round, as the page's own rounds train.
    pub(super) fn start_comparison(&mut self, fx: &mut Vec<Effect>) {
        if self.comparison.as_ref().is_some_and(Comparison::running) {
            return;
        }
        let selectors = [SelectorKind::Amf, SelectorKind::Uniform];
        let mut settings = TabletopSettings { round: RoundConfig { budget: 20, batch: 5, reweighing: Reweighing::None, ..RoundConfig::default() }, ..Default::default() };
        if let Some(session) = &self.session {
            settings.round.target_weights = session.settings.target_weights.clone();
        }
        for (side, selector) in selectors.into_iter().enumerate() {
            let worker = self.spawn(WorkerSlot::Comparison(side), fx);
            fx.push(Effect::Post(worker, Box::new(ToWorker::Compare { selector, seed: COMPARISON_SEED, settings: settings.clone() })));
        }
        self.comparison = Some(Comparison {
            selectors,
            budget: settings.round.budget,
            curves: Default::default(),
            picks: Default::default(),
            seconds: [None, None],
        });
    }

    pub(super) fn stop_comparison(&mut self, fx: &mut Vec<Effect>) {
        self.terminate(WorkerSlot::Comparison(0), fx);
        self.terminate(WorkerSlot::Comparison(1), fx);
        self.comparison = None;
    }

    fn comparison_message(&mut self, side: usize, message: FromWorker, fx: &mut Vec<Effect>) {
        let Some(comparison) = self.comparison.as_mut() else { return };
        match message {
            FromWorker::Compared { point, picks } => {
                comparison.curves[side].push(point);
                if !picks.is_empty() {
                    comparison.picks[side].push(picks);
                }
            }
            FromWorker::CompareDone { seconds } => {
                comparison.seconds[side] = Some(seconds);
                self.terminate(WorkerSlot::Comparison(side), fx);
            }
            FromWorker::Failed(error) => {
                self.stop_comparison(fx);
                self.error(format!("The comparison failed: {error}."));
            }
            _ => {}
        }
    }
}

fn engine_of(slot: WorkerSlot) -> Engine {
    match slot {
        WorkerSlot::WebGpu => Engine::Gpu,
        _ => Engine::Cpu,
    }
}
