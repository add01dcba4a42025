//! The page's controller: the session, its stored demonstrations, the training worker
//! and the stage, and what the visitor's actions do to them. The rules of the loop live
//! in [`crate::session`]; this file only sequences storage, worker and stage around
//! them, and turns every failure into a notice in the page.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;
use yew::Callback;

use super::stage::{DemonstrationEnd, StageHandle};
use super::storage::Storage;
use super::worker::{browser_has_webgpu, Choice, FromWorker, RoundResult, ToWorker, TrainingWorker, WEBGPU_WORKER_URL};
use crate::policy::{Actor, Checkpoint, FineTunedPolicy, Policy};
use crate::record::DemonstrationRecord;
use crate::session::chart::learning_curves_svg;
use crate::session::round::{RoundEvent, RoundJob};
use crate::policy::PortableSnapshot;
use crate::experiment::CurvePoint;
use crate::select::SelectorKind;
use crate::session::{BackendChoice, BackendDecision, ChosenBy, Pick, RoundLog, Session, SessionSettings};
use crate::tasks::TaskId;

/// Name of the fine-tuned policy in storage.
const TUNED: &str = "fine-tuned";

#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Loading the policy, the stored session and the worker.
    Loading,
    /// The page cannot work (the policy could not be loaded).
    Broken(String),
    /// The worker assesses the starting policy and makes the first selection.
    Starting { progress: f32 },
    /// Waiting for the visitor.
    Idle,
    Demonstrating { task: TaskId, chosen_by: ChosenBy },
    /// The demonstration's time ran out before success.
    TimeUp { task: TaskId, chosen_by: ChosenBy },
    Round(RoundProgress),
}

#[derive(Clone, Debug, PartialEq)]
pub enum RoundStage {
    Waiting,
    Training,
    Evaluating,
    Selecting,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RoundProgress {
    pub stage: RoundStage,
    pub step: usize,
    pub steps: usize,
    /// The action MSE so far.
    pub losses: Vec<f32>,
    pub evaluated: f32,
    pub fell_back: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NoticeKind {
    Error,
    Info,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

pub struct Studio {
    pub phase: Phase,
    pub session: Option<Session>,
    /// Every demonstration of the session with its storage key (`None`: not stored,
    /// because storage failed; it is kept in memory and stored on the next chance).
    pub records: Vec<(Option<u32>, DemonstrationRecord)>,
    pub notices: Vec<Notice>,
    pub prior: Option<Rc<Policy>>,
    pub tuned: Option<Rc<FineTunedPolicy>>,
    /// The learning curves, drawn when the curve changes (not on every render).
    pub curve_svg: String,
    /// The last saved demonstration, while it may still be discarded.
    pub just_saved: Option<usize>,
    /// The scripted expert demonstrates whatever the selector asks.
    pub autopilot: bool,
    /// The demonstration deleted last, while it may be restored.
    pub undo: Option<Deleted>,
    /// An import under way (the worker replays the file).
    pub importing: bool,
    /// The live comparison of AMF with uniform, if one was started.
    pub comparison: Option<Comparison>,
    pub stage: Option<StageHandle>,
    storage: Option<Rc<Storage>>,
    prior_bytes: Option<Rc<Vec<u8>>>,
    cpu_worker: Option<TrainingWorker>,
    /// CPU worker deaths since one last loaded the policy: a worker that cannot start
    /// is not restarted for ever.
    worker_failures: u32,
    /// The WebGPU build's worker, loaded only when a round may train on WebGPU.
    gpu_worker: Option<TrainingWorker>,
    /// A round waiting for that choice.
    awaiting_choice: Option<RoundJob>,
    /// The job under way and where, with its last snapshot, so a round whose WebGPU
    /// worker dies goes on on the CPU.
    running_on: Option<Engine>,
    running_job: Option<RoundJob>,
    last_snapshot: Option<PortableSnapshot>,
    /// Whether the round under way fell back from WebGPU to the CPU.
    fell_back: bool,
}

/// Two autopilot runs side by side, one worker each, with the same seed and settings.
pub struct Comparison {
    pub selectors: [SelectorKind; 2],
    pub budget: usize,
    pub curves: [Vec<CurvePoint>; 2],
    /// Per run, the tasks asked for in each round.
    pub picks: [Vec<Vec<usize>>; 2],
    /// Seconds each run took, once done.
    pub seconds: [Option<f64>; 2],
    pub svg: String,
    workers: Vec<TrainingWorker>,
}

impl Comparison {
    pub fn running(&self) -> bool {
        self.seconds.iter().any(Option::is_none)
    }
}

/// The comparison's seed: fixed, so the page's runs are the runner's `--seeds` run 1.
const COMPARISON_SEED: u64 = 1;

/// A deleted demonstration, kept for "Undo".
#[derive(Clone, Debug, PartialEq)]
pub struct Deleted {
    pub record: DemonstrationRecord,
    pub was_pending: bool,
    pub chosen_by: ChosenBy,
}

/// Which worker trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Engine {
    Cpu,
    WebGpu,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Cpu => "CPU",
            Engine::WebGpu => "WebGPU",
        }
    }
}

impl Studio {
    /// Terminates the worker of the job under way (and any choice in progress).
    fn stop_running(&mut self) {
        if let Some(engine) = self.running_on.take() {
            *self.worker_mut(engine) = None;
        }
        if self.awaiting_choice.take().is_some() {
            self.gpu_worker = None;
        }
        self.running_job = None;
        self.last_snapshot = None;
    }

    fn worker(&self, engine: Engine) -> Option<&TrainingWorker> {
        match engine {
            Engine::Cpu => self.cpu_worker.as_ref(),
            Engine::WebGpu => self.gpu_worker.as_ref(),
        }
    }

    fn worker_mut(&mut self, engine: Engine) -> &mut Option<TrainingWorker> {
        match engine {
            Engine::Cpu => &mut self.cpu_worker,
            Engine::WebGpu => &mut self.gpu_worker,
        }
    }
}

/// Consecutive worker failures after which the page stops restarting it.
const MAX_WORKER_FAILURES: u32 = 2;

/// A cheap, cloneable handle: the controller and the page's re-render.
#[derive(Clone)]
pub struct StudioHandle {
    studio: Rc<RefCell<Studio>>,
    refresh: Rc<dyn Fn()>,
}

impl PartialEq for StudioHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.studio, &other.studio)
    }
}

fn random_seed() -> u64 {
    (js_sys::Math::random() * 4_294_967_296.0) as u64
}

impl StudioHandle {
    pub fn new(refresh: Rc<dyn Fn()>) -> StudioHandle {
        let studio = Studio {
            phase: Phase::Loading,
            session: None,
            records: Vec::new(),
            notices: Vec::new(),
            prior: None,
            tuned: None,
            curve_svg: String::new(),
            just_saved: None,
            autopilot: false,
            undo: None,
            importing: false,
            comparison: None,
            stage: None,
            storage: None,
            prior_bytes: None,
            cpu_worker: None,
            worker_failures: 0,
            gpu_worker: None,
            awaiting_choice: None,
            running_on: None,
            running_job: None,
            last_snapshot: None,
            fell_back: false,
        };
        StudioHandle { studio: Rc::new(RefCell::new(studio)), refresh }
    }

    pub fn borrow(&self) -> std::cell::Ref<'_, Studio> {
        self.studio.borrow()
    }

    /// Changes the studio, then re-renders the page.
    fn update<R>(&self, change: impl FnOnce(&mut Studio) -> R) -> R {
        let result = change(&mut self.studio.borrow_mut());
        (self.refresh)();
        result
    }

    fn notify(&self, kind: NoticeKind, text: impl Into<String>) {
        let text = text.into();
        self.update(|s| {
            s.notices.retain(|n| n.text != text);
            s.notices.push(Notice { kind, text });
        });
    }

    pub fn dismiss(&self, index: usize) {
        self.update(|s| {
            if index < s.notices.len() {
                s.notices.remove(index);
            }
        });
    }

    /// What the stage reports when a demonstration ends (deferred: the stage is busy
    /// stepping when it reports).
    pub fn demonstration_callback(&self) -> Callback<DemonstrationEnd> {
        let handle = self.clone();
        Callback::from(move |end: DemonstrationEnd| {
            let handle = handle.clone();
            spawn_local(async move { handle.demonstration_ended(end).await });
        })
    }

    pub fn set_stage(&self, stage: StageHandle) {
        self.update(|s| s.stage = Some(stage));
    }

    /// Loads everything and resumes the stored session, or starts one.
    pub async fn load(&self, prior_bytes: Result<Vec<u8>, String>) {
        let storage = match Storage::open().await {
            Ok(storage) => Some(Rc::new(storage)),
            Err(error) => {
                self.notify(NoticeKind::Error, format!("Demonstrations cannot be saved in this browser, only kept until you leave: {error}"));
                None
            }
        };
        let bytes = match prior_bytes {
            Ok(bytes) => bytes,
            Err(error) => return self.update(|s| s.phase = Phase::Broken(format!("The policy could not be loaded: {error}"))),
        };
        let prior = match Checkpoint::from_bytes(&bytes) {
            Ok(Checkpoint::Pretrained { policy, .. }) => Rc::new(policy),
            Ok(_) => return self.update(|s| s.phase = Phase::Broken("The shipped policy is not a pre-trained one".into())),
            Err(error) => return self.update(|s| s.phase = Phase::Broken(format!("The policy could not be loaded: {error}"))),
        };
        let mut session = None;
        let mut records = Vec::new();
        let mut tuned = None;
        if let Some(storage) = &storage {
            match restore(storage).await {
                Ok(restored) => {
                    (session, records, tuned) = restored;
                    if let Some(session) = session.as_mut() {
                        session.reconcile(&records.iter().map(|(_, r)| r.task).collect::<Vec<_>>());
                    }
                }
                Err(error) => self.notify(NoticeKind::Error, format!("The stored session could not be read, so a new one starts: {error}")),
            }
        }
        self.update(|s| {
            s.storage = storage;
            s.prior = Some(prior);
            s.prior_bytes = Some(Rc::new(bytes));
            s.records = records.into_iter().map(|(k, r)| (Some(k), r)).collect();
            s.tuned = tuned.map(Rc::new);
            s.session = session;
            s.redraw_curves();
            s.phase = Phase::Idle;
        });
        self.spawn(Engine::Cpu);
        let (started, due) = {
            let s = self.borrow();
            (s.session.as_ref().is_some_and(|x| !x.curve.is_empty()), s.session.as_ref().is_some_and(|x| x.round_due()))
        };
        if !started {
            let settings = self.borrow().session.as_ref().map(|x| x.settings.clone()).unwrap_or_default();
            self.start_session(settings);
        } else if due {
            // The page was closed during a round: run it again.
            self.train();
        }
    }

    /// Starts a worker of `engine` and hands it the prior.
    fn spawn(&self, engine: Engine) -> bool {
        let on_message = {
            let handle = self.clone();
            Callback::from(move |message| handle.worker_message(engine, message))
        };
        let on_error = {
            let handle = self.clone();
            Callback::from(move |message: String| handle.worker_died(engine, message))
        };
        let spawned = match engine {
            Engine::Cpu => TrainingWorker::spawn(on_message, on_error),
            Engine::WebGpu => TrainingWorker::spawn_url(WEBGPU_WORKER_URL, "amf-training-webgpu", on_message, on_error),
        };
        let bytes = self.borrow().prior_bytes.clone();
        let result = spawned.and_then(|worker| {
            if let Some(bytes) = bytes {
                worker.send(&ToWorker::Prior { bytes: bytes.as_ref().clone() })?;
            }
            Ok(worker)
        });
        match result {
            Ok(worker) => {
                self.update(|s| *s.worker_mut(engine) = Some(worker));
                true
            }
            Err(error) => {
                self.notify(NoticeKind::Error, format!("The {} training worker could not start: {error}", engine.name()));
                false
            }
        }
    }

    fn worker_died(&self, engine: Engine, message: String) {
        let message = message.trim_end_matches('.').to_string();
        if engine == Engine::WebGpu {
            return self.webgpu_died(message);
        }
        let (was_busy, failures) = self.update(|s| {
            s.cpu_worker = None;
            s.worker_failures += 1;
            let busy = s.running_on == Some(Engine::Cpu) && matches!(s.phase, Phase::Round(_) | Phase::Starting { .. });
            if busy {
                s.phase = Phase::Idle;
                s.running_on = None;
            }
            (busy, s.worker_failures)
        });
        let unstarted = self.borrow().session.as_ref().is_some_and(|x| x.curve.is_empty());
        if failures >= MAX_WORKER_FAILURES {
            self.update(|s| s.phase = if matches!(s.phase, Phase::Starting { .. }) { Phase::Idle } else { s.phase.clone() });
            return self.notify(
                NoticeKind::Error,
                format!("Training is unavailable: the training worker failed {failures} times ({message}). Your demonstrations are saved; reload the page to try again."),
            );
        }
        let what = if was_busy { " Your demonstrations are kept; press “Train now” to try again." } else { "" };
        self.notify(NoticeKind::Error, format!("The training worker stopped ({message}).{what}"));
        self.spawn(Engine::Cpu);
        if unstarted {
            self.restart_session();
        }
    }

    /// The WebGPU worker died (a lost device traps its wasm): a round it ran goes on
    /// on the CPU from its last snapshot; a choice it was making falls to the CPU.
    fn webgpu_died(&self, message: String) {
        let (resumed, waiting) = self.update(|s| {
            s.gpu_worker = None;
            if let Some(session) = s.session.as_mut() {
                session.backend = None;
            }
            let waiting = s.awaiting_choice.take();
            let resumed = if s.running_on == Some(Engine::WebGpu) {
                s.running_job.take().map(|mut job| {
                    job.resume = s.last_snapshot.take();
                    job
                })
            } else {
                None
            };
            (resumed, waiting)
        });
        if let Some(job) = resumed {
            let step = job.resume.as_ref().map_or(0, |r| r.step);
            let text = format!("WebGPU stopped at step {step} ({message}); training goes on on the CPU from there.");
            self.update(|s| {
                if let Phase::Round(round) = &mut s.phase {
                    round.fell_back = Some(text.clone());
                }
                s.fell_back = true;
            });
            self.notify(NoticeKind::Info, text);
            self.send_to(Engine::Cpu, job);
        } else if let Some(job) = waiting {
            self.notify(NoticeKind::Info, format!("WebGPU training is unavailable here ({message}); training on the CPU."));
            self.send_to(Engine::Cpu, job);
        }
    }

    /// Runs the session's start again (after its worker failed).
    pub fn restart_session(&self) {
        let job = self.update(|s| {
            let session = s.session.as_ref().filter(|x| x.curve.is_empty())?;
            s.phase = Phase::Starting { progress: 0.0 };
            Some(RoundJob { records: vec![], settings: session.settings.clone(), seed: session.seed, round: 0, resume: None })
        });
        if let Some(job) = job {
            self.dispatch(job);
        }
    }

    fn worker_message(&self, engine: Engine, message: FromWorker) {
        match message {
            FromWorker::Loaded => {}
            FromWorker::Ready => {
                if engine == Engine::Cpu {
                    self.update(|s| s.worker_failures = 0);
                }
            }
            FromWorker::Chosen(choice) => self.chosen(choice),
            FromWorker::Event(RoundEvent::Snapshot(snapshot)) => self.studio.borrow_mut().last_snapshot = Some(snapshot),
            FromWorker::Event(event) => self.update(|s| s.progress(event)),
            FromWorker::Done(result) => {
                let handle = self.clone();
                spawn_local(async move { handle.round_done(result).await });
            }
            FromWorker::Imported { accepted, rejected } => {
                let handle = self.clone();
                spawn_local(async move { handle.imported(accepted, rejected).await });
            }
            // Comparison runs have workers of their own.
            FromWorker::Compared { .. } | FromWorker::CompareDone { .. } => {}
            FromWorker::ImportFailed(message) => {
                self.update(|s| s.importing = false);
                self.notify(NoticeKind::Error, format!("The file was not imported: {message}. Your dataset is unchanged."));
            }
            FromWorker::Failed(message) => {
                self.update(|s| {
                    s.phase = Phase::Idle;
                    s.running_on = None;
                });
                self.notify(NoticeKind::Error, format!("The round failed: {message}. Your demonstrations are kept."));
            }
        }
    }

    /// The WebGPU worker chose where rounds train; the waiting round goes there, and the
    /// decision is kept with the session.
    fn chosen(&self, choice: Choice) {
        let (job, tell) = self.update(|s| {
            let job = s.awaiting_choice.take();
            if !choice.webgpu {
                s.gpu_worker = None;
            }
            let Some(session) = s.session.as_mut() else { return (job, false) };
            let tell = session.backend.as_ref().is_none_or(|d| d.webgpu != choice.webgpu);
            session.backend =
                Some(BackendDecision { preference: session.settings.backend, webgpu: choice.webgpu, reason: choice.reason.clone() });
            (job, tell)
        });
        if tell {
            self.notify(NoticeKind::Info, format!("Fine-tuning runs on {}.", choice.reason));
            self.save_session();
        }
        if let Some(job) = job {
            self.send_to(if choice.webgpu { Engine::WebGpu } else { Engine::Cpu }, job);
        }
    }

    /// Sends `job` where it should train: the session's start and the CPU preference go
    /// to the CPU worker; otherwise the WebGPU worker chooses first (once per page).
    fn dispatch(&self, job: RoundJob) {
        let preference = job.settings.backend;
        if job.records.is_empty() || preference == BackendChoice::Cpu {
            return self.send_to(Engine::Cpu, job);
        }
        if !browser_has_webgpu() {
            if preference == BackendChoice::WebGpu {
                self.notify(NoticeKind::Info, "This browser offers no WebGPU, so fine-tuning runs on the CPU.");
            }
            return self.send_to(Engine::Cpu, job);
        }
        let known = {
            let s = self.borrow();
            s.session.as_ref().and_then(|x| x.backend.as_ref()).filter(|d| d.preference == preference).map(|d| d.webgpu)
        };
        match known {
            Some(true) => self.send_to(Engine::WebGpu, job),
            Some(false) => self.send_to(Engine::Cpu, job),
            None => {
                let spawned = self.borrow().gpu_worker.is_some() || self.spawn(Engine::WebGpu);
                if !spawned {
                    return self.send_to(Engine::Cpu, job);
                }
                self.update(|s| s.awaiting_choice = Some(job));
                self.send_or_fail(Engine::WebGpu, &ToWorker::Choose(preference));
            }
        }
    }

    /// Sends `job` to the worker of `engine`, starting one if there is none (the
    /// visitor asked, so an earlier give-up does not hold).
    fn send_to(&self, engine: Engine, job: RoundJob) {
        let missing = self.update(|s| {
            s.running_on = Some(engine);
            s.last_snapshot = job.resume.clone();
            s.running_job = Some(job.clone());
            let missing = s.worker_mut(engine).is_none();
            if missing && engine == Engine::Cpu {
                s.worker_failures = 0;
            }
            missing
        });
        if missing {
            if !self.spawn(engine) {
                self.update(|s| s.phase = Phase::Idle);
                return;
            }
            if engine == Engine::WebGpu {
                // A fresh WebGPU worker has no device yet: it was chosen before, so ask
                // for it without measuring again.
                self.send_or_fail(engine, &ToWorker::Choose(BackendChoice::WebGpu));
            }
        }
        self.send_or_fail(engine, &ToWorker::Run(job));
    }

    fn send_or_fail(&self, engine: Engine, message: &ToWorker) {
        let sent = self.borrow().worker(engine).map(|w| w.send(message));
        if let Some(Err(error)) = sent {
            self.update(|s| s.phase = Phase::Idle);
            self.notify(NoticeKind::Error, format!("The round could not be sent to the training worker: {error}"));
        }
    }

    /// A new session with `settings`: assess the pre-trained policy, then propose.
    fn start_session(&self, settings: SessionSettings) {
        let job = self.update(|s| {
            let mut session = Session::new(random_seed(), settings);
            // Where this browser trains was measured already; a new session keeps it.
            session.backend = s.session.as_ref().and_then(|x| x.backend.clone());
            let job = RoundJob { records: vec![], settings: session.settings.clone(), seed: session.seed, round: 0, resume: None };
            s.session = Some(session);
            s.phase = Phase::Starting { progress: 0.0 };
            s.redraw_curves();
            job
        });
        self.save_session();
        self.dispatch(job);
    }

    /// Fine-tunes on every demonstration so far (a round).
    pub fn train(&self) {
        let job = self.update(|s| {
            let session = s.session.as_ref()?;
            if session.pending.is_empty() || matches!(s.phase, Phase::Round(_) | Phase::Starting { .. }) {
                return None;
            }
            let job = RoundJob {
                records: s.records.iter().map(|(_, r)| r.clone()).collect(),
                settings: session.settings.clone(),
                seed: session.seed,
                round: session.rounds.len() + 1,
                resume: None,
            };
            s.just_saved = None;
            s.phase = Phase::Round(RoundProgress {
                stage: RoundStage::Waiting,
                step: 0,
                steps: session.settings.steps,
                losses: Vec::new(),
                evaluated: 0.0,
                fell_back: None,
            });
            Some(job)
        });
        if let Some(job) = job {
            self.update(|s| s.fell_back = false);
            self.dispatch(job);
        }
    }

    /// Stops the round at once: the worker running it is terminated (a training loop
    /// never returns to read a message) and a fresh CPU worker stands by.
    pub fn cancel_round(&self) {
        let cancelled = self.update(|s| {
            let busy = matches!(s.phase, Phase::Round(_));
            if busy {
                s.stop_running();
                s.phase = Phase::Idle;
            }
            busy
        });
        if cancelled {
            self.notify(NoticeKind::Info, "Fine-tuning cancelled. Your demonstrations are kept; press “Train now” when you are ready.");
            if self.borrow().cpu_worker.is_none() {
                self.spawn(Engine::Cpu);
            }
        }
    }

    async fn round_done(&self, result: RoundResult) {
        let tuned = match &result.policy {
            Some(bytes) => match Checkpoint::from_bytes(bytes) {
                Ok(Checkpoint::FineTuned { policy, .. }) => Some(policy),
                _ => {
                    self.update(|s| s.phase = Phase::Idle);
                    return self.notify(NoticeKind::Error, "The worker returned an unreadable policy; your demonstrations are kept.");
                }
            },
            None => None,
        };
        self.update(|s| {
            let backend = match (s.running_on, s.fell_back || result.fell_back) {
                (Some(Engine::WebGpu), false) => "webgpu",
                (Some(Engine::WebGpu), true) => "webgpu, then cpu",
                (_, true) => "webgpu, then cpu",
                _ => "cpu",
            };
            s.running_on = None;
            s.running_job = None;
            s.last_snapshot = None;
            let Some(session) = s.session.as_mut() else { return };
            if session.curve.is_empty() {
                session.start(result.per_task.clone(), result.selection.clone());
            } else {
                let log = RoundLog {
                    picks: vec![],
                    loss: result.loss.clone(),
                    backend: backend.into(),
                    train_seconds: result.train_seconds,
                    eval_seconds: result.eval_seconds,
                    select_seconds: result.select_seconds,
                };
                session.finish_round(result.per_task.clone(), result.selection.clone(), log);
            }
            if let Some(policy) = tuned {
                s.tuned = Some(Rc::new(policy));
            }
            s.phase = Phase::Idle;
            s.redraw_curves();
        });
        if let (Some(bytes), Some(storage)) = (result.policy, self.borrow().storage.clone()) {
            if let Err(error) = storage.put_policy(TUNED, &bytes).await {
                self.notify(NoticeKind::Error, format!("The fine-tuned policy could not be stored (it stays until you leave): {error}"));
            }
        }
        self.save_session();
        self.autopilot_next();
    }

    /// Starts a demonstration of `task` (a fresh random instance).
    pub fn demonstrate(&self, task: TaskId, chosen_by: ChosenBy) {
        let ok = self.update(|s| {
            if !matches!(s.phase, Phase::Idle | Phase::TimeUp { .. } | Phase::Demonstrating { .. }) {
                return false;
            }
            s.just_saved = None;
            s.phase = Phase::Demonstrating { task, chosen_by };
            true
        });
        if ok {
            let s = self.borrow();
            if let Some(stage) = &s.stage {
                stage.start_demonstration(task, random_seed(), s.autopilot);
            }
        }
    }

    /// Abandons the demonstration under way.
    pub fn discard_attempt(&self) {
        if let Some(stage) = &self.borrow().stage {
            stage.abandon_demonstration();
        }
        self.update(|s| s.phase = Phase::Idle);
    }

    pub fn decline(&self, task: TaskId) {
        self.update(|s| {
            if let Some(session) = s.session.as_mut() {
                session.decline(task);
            }
        });
        self.save_session();
    }

    async fn demonstration_ended(&self, end: DemonstrationEnd) {
        let Phase::Demonstrating { task, chosen_by } = self.borrow().phase.clone() else { return };
        let record = match end {
            DemonstrationEnd::TimeUp => return self.update(|s| s.phase = Phase::TimeUp { task, chosen_by }),
            DemonstrationEnd::Success(record) => record,
        };
        let storage = self.borrow().storage.clone();
        let key = match &storage {
            Some(storage) => match storage.add_demonstration(&record).await {
                Ok(key) => Some(key),
                Err(error) => {
                    self.notify(NoticeKind::Error, format!("This demonstration could not be saved, so it is kept only until you leave: {error}"));
                    None
                }
            },
            None => None,
        };
        self.update(|s| {
            s.records.push((key, record));
            s.just_saved = Some(s.records.len() - 1);
            if let Some(session) = s.session.as_mut() {
                session.record(task, chosen_by);
            }
            s.phase = Phase::Idle;
        });
        self.save_session();
        let due = self.borrow().session.as_ref().is_some_and(|x| x.round_due());
        if due {
            self.train();
        } else {
            self.autopilot_next();
        }
    }

    /// Switches the autopilot; switched on while idle, it starts at once.
    pub fn set_autopilot(&self, on: bool) {
        self.update(|s| s.autopilot = on);
        self.autopilot_next();
    }

    /// With the autopilot on and nothing under way, the expert demonstrates the
    /// proposal (after a moment, so the page shows what was asked).
    fn autopilot_next(&self) {
        let handle = self.clone();
        gloo::timers::callback::Timeout::new(700, move || {
            let task = {
                let s = handle.borrow();
                let idle = matches!(s.phase, Phase::Idle | Phase::TimeUp { .. });
                if !(s.autopilot && idle) {
                    return;
                }
                s.session.as_ref().and_then(|x| x.proposal())
            };
            match task {
                Some(task) => handle.demonstrate(task, ChosenBy::Selector),
                None => handle.update(|s| s.autopilot = false),
            }
        })
        .forget();
    }

    /// Plays a stored demonstration back in the scene.
    pub fn replay(&self, index: usize) {
        let s = self.borrow();
        if let (Some((_, record)), Some(stage)) = (s.records.get(index), &s.stage) {
            stage.replay(record);
        }
    }

    /// Deletes a demonstration from the dataset (and storage); "Undo" restores it.
    pub async fn delete(&self, index: usize) {
        let removed = self.update(|s| {
            if index >= s.records.len() || matches!(s.phase, Phase::Round(_)) {
                return None;
            }
            let session = s.session.as_mut()?;
            // The waiting demonstrations are the newest records.
            let first_pending = s.records.len().saturating_sub(session.pending.len());
            let was_pending = index >= first_pending;
            let (key, record) = s.records.remove(index);
            let chosen_by = if was_pending {
                session.pending.remove(index - first_pending).chosen_by
            } else {
                session.remove(record.task, false);
                ChosenBy::Person
            };
            s.just_saved = None;
            s.undo = Some(Deleted { record, was_pending, chosen_by });
            Some(key)
        });
        if let (Some(Some(key)), Some(storage)) = (removed, self.borrow().storage.clone()) {
            if let Err(error) = storage.delete_demonstration(key).await {
                self.notify(NoticeKind::Error, format!("The demonstration could not be removed from storage: {error}"));
            }
        }
        self.save_session();
    }

    /// Restores the demonstration deleted last.
    pub async fn undo_delete(&self) {
        let Some(deleted) = self.update(|s| s.undo.take()) else { return };
        let key = match self.borrow().storage.clone() {
            Some(storage) => storage.add_demonstration(&deleted.record).await.ok(),
            None => None,
        };
        self.update(|s| {
            let Some(session) = s.session.as_mut() else { return };
            let pick = Pick { task: deleted.record.task, chosen_by: deleted.chosen_by };
            session.unremove(pick, deleted.was_pending);
            // Waiting demonstrations are the newest; a trained one goes before them.
            let at = if deleted.was_pending { s.records.len() } else { s.records.len() - session.pending.len() };
            s.records.insert(at, (key, deleted.record));
        });
        self.save_session();
    }

    /// The dataset as the project's demonstration file, offered as a download.
    pub fn export(&self) {
        let s = self.borrow();
        let records: Vec<DemonstrationRecord> = s.records.iter().map(|(_, r)| r.clone()).collect();
        let settings = s.session.as_ref().map(|x| x.settings.clone());
        let json = crate::demo_file::DemonstrationFile::new(&records, settings, true).to_json();
        drop(s);
        if let Err(error) = super::download("amf-studio-demonstrations.json", "application/json", json.as_bytes()) {
            self.notify(NoticeKind::Error, format!("The file could not be offered for download: {error}"));
        }
    }

    /// Downloads the demonstrations as a LeRobot v3 dataset, zipped: replayed here, as
    /// the runner's `amf convert --to lerobot` does.
    pub fn export_lerobot(&self) {
        let records: Vec<DemonstrationRecord> = self.borrow().records.iter().map(|(_, r)| r.clone()).collect();
        let zipped = crate::export::replay_all(&records)
            .and_then(|episodes| crate::export::lerobot::dataset(&episodes))
            .and_then(|files| crate::export::lerobot::zip(&files, "amf-studio-lerobot"));
        let outcome = zipped.map_err(|e| e.to_string()).and_then(|bytes| super::download("amf-studio-lerobot.zip", "application/zip", &bytes));
        if let Err(error) = outcome {
            self.notify(NoticeKind::Error, format!("The LeRobot dataset could not be exported: {error}"));
        }
    }

    /// Imports a demonstration file's bytes: the worker replays every demonstration;
    /// those that pass join the dataset (see `imported`).
    pub fn import(&self, bytes: Vec<u8>) {
        let existing: Vec<DemonstrationRecord> = self.borrow().records.iter().map(|(_, r)| r.clone()).collect();
        if self.borrow().cpu_worker.is_none() && !self.spawn(Engine::Cpu) {
            return;
        }
        self.update(|s| s.importing = true);
        self.send_or_fail(Engine::Cpu, &ToWorker::Import { bytes, existing });
    }

    /// Starts the live comparison: AMF and uniform, each in its own worker, the
    /// scripted expert demonstrating what each asks, 20 demonstrations in rounds of 5.
    pub fn start_comparison(&self) {
        let (bytes, weights) = {
            let s = self.borrow();
            (s.prior_bytes.clone(), s.session.as_ref().map(|x| x.settings.target_weights.clone()))
        };
        let Some(bytes) = bytes else { return };
        let selectors = [SelectorKind::Amf, SelectorKind::Uniform];
        let mut settings = crate::experiment::tabletop::TabletopSettings { budget: 20, batch: 5, ..Default::default() };
        if let Some(weights) = weights {
            settings.target_weights = weights;
        }
        let mut workers = Vec::new();
        for (side, selector) in selectors.into_iter().enumerate() {
            let on_message = {
                let handle = self.clone();
                Callback::from(move |message| handle.comparison_message(side, message))
            };
            let on_error = {
                let handle = self.clone();
                Callback::from(move |message: String| {
                    handle.update(|s| s.comparison = None);
                    handle.notify(NoticeKind::Error, format!("The comparison stopped: its worker failed ({message})."));
                })
            };
            let started = TrainingWorker::spawn(on_message, on_error).and_then(|worker| {
                worker.send(&ToWorker::Prior { bytes: bytes.as_ref().clone() })?;
                worker.send(&ToWorker::Compare { selector, seed: COMPARISON_SEED, settings: settings.clone() })?;
                Ok(worker)
            });
            match started {
                Ok(worker) => workers.push(worker),
                Err(error) => return self.notify(NoticeKind::Error, format!("The comparison could not start: {error}")),
            }
        }
        self.update(|s| {
            s.comparison = Some(Comparison {
                selectors,
                budget: settings.budget,
                curves: Default::default(),
                picks: Default::default(),
                seconds: [None, None],
                svg: String::new(),
                workers,
            });
        });
    }

    /// Stops the comparison (its workers are terminated) and clears it.
    pub fn stop_comparison(&self) {
        self.update(|s| s.comparison = None);
    }

    fn comparison_message(&self, side: usize, message: FromWorker) {
        match message {
            FromWorker::Compared { point, picks } => self.update(|s| {
                let Some(c) = s.comparison.as_mut() else { return };
                c.curves[side].push(point);
                if !picks.is_empty() {
                    c.picks[side].push(picks);
                }
                let runs: Vec<&[CurvePoint]> = c.curves.iter().map(|v| v.as_slice()).collect();
                c.svg = crate::session::chart::comparison_svg(&runs, c.budget, (460, 260)).unwrap_or_default();
            }),
            FromWorker::CompareDone { seconds } => self.update(|s| {
                if let Some(c) = s.comparison.as_mut() {
                    c.seconds[side] = Some(seconds);
                    if !c.running() {
                        c.workers.clear();
                    }
                }
            }),
            FromWorker::Failed(message) => {
                self.update(|s| s.comparison = None);
                self.notify(NoticeKind::Error, format!("The comparison failed: {message}."));
            }
            _ => {}
        }
    }

    /// An import refused before it reached the worker.
    pub fn refuse_import(&self, why: String) {
        self.notify(NoticeKind::Error, format!("The file was not imported: {why}. Your dataset is unchanged."));
    }

    async fn imported(&self, accepted: Vec<DemonstrationRecord>, rejected: Vec<String>) {
        let storage = self.borrow().storage.clone();
        let mut added = 0;
        for record in accepted {
            let key = match &storage {
                Some(storage) => storage.add_demonstration(&record).await.ok(),
                None => None,
            };
            self.update(|s| {
                if let Some(session) = s.session.as_mut() {
                    session.record(record.task, ChosenBy::Imported);
                }
                s.records.push((key, record));
            });
            added += 1;
        }
        self.update(|s| s.importing = false);
        let mut text = format!("Imported {added} demonstration{}.", if added == 1 { "" } else { "s" });
        if !rejected.is_empty() {
            text += &format!(" {} left out: {}", rejected.len(), rejected.join("; "));
        }
        self.notify(if rejected.is_empty() { NoticeKind::Info } else { NoticeKind::Error }, text);
        self.save_session();
        // Retrain on everything now in the dataset (the curves follow).
        if added > 0 && matches!(self.borrow().phase, Phase::Idle) {
            self.train();
        }
    }

    /// Removes the demonstration just saved (before its round starts).
    pub async fn discard_saved(&self) {
        let removed = self.update(|s| {
            let index = s.just_saved.take()?;
            let session = s.session.as_mut()?;
            if index + 1 != s.records.len() || session.pending.is_empty() {
                return None;
            }
            session.pending.pop();
            s.records.pop().map(|(key, _)| key)
        });
        if let (Some(Some(key)), Some(storage)) = (removed, self.borrow().storage.clone()) {
            if let Err(error) = storage.delete_demonstration(key).await {
                self.notify(NoticeKind::Error, format!("The demonstration could not be removed from storage: {error}"));
            }
        }
        self.save_session();
    }

    pub fn apply_settings(&self, settings: SessionSettings) -> Result<(), String> {
        settings.validate().map_err(|e| e.to_string())?;
        self.update(|s| {
            if let Some(session) = s.session.as_mut() {
                session.settings = settings;
            }
            s.redraw_curves();
        });
        self.save_session();
        Ok(())
    }

    /// Clears everything stored and starts over with the same settings.
    pub async fn new_session(&self) {
        let (storage, settings) = {
            let s = self.borrow();
            (s.storage.clone(), s.session.as_ref().map(|x| x.settings.clone()).unwrap_or_default())
        };
        if let Some(storage) = storage {
            if let Err(error) = storage.clear().await {
                return self.notify(NoticeKind::Error, format!("The stored session could not be cleared: {error}"));
            }
        }
        self.update(|s| {
            s.records.clear();
            s.tuned = None;
            s.just_saved = None;
            s.notices.clear();
            if matches!(s.phase, Phase::Round(_) | Phase::Starting { .. }) {
                s.stop_running();
            }
            s.phase = Phase::Idle;
        });
        if self.borrow().cpu_worker.is_none() {
            self.spawn(Engine::Cpu);
        }
        self.start_session(settings);
    }

    /// Plays `policy` (fine-tuned if asked and there is one) on the stage's task.
    pub fn watch(&self, fine_tuned: bool) {
        let s = self.borrow();
        let actor: Option<Rc<dyn Actor>> = match (fine_tuned, &s.tuned, &s.prior) {
            (true, Some(tuned), _) => Some(tuned.clone()),
            (_, _, Some(prior)) => Some(prior.clone()),
            _ => None,
        };
        if let (Some(actor), Some(stage)) = (actor, &s.stage) {
            stage.watch_policy(actor);
        }
    }

    /// Stores the session (and any demonstration storage missed); failures are notices.
    fn save_session(&self) {
        let handle = self.clone();
        spawn_local(async move {
            let (storage, session, unsaved) = {
                let s = handle.borrow();
                let unsaved: Vec<(usize, DemonstrationRecord)> =
                    s.records.iter().enumerate().filter(|(_, (k, _))| k.is_none()).map(|(i, (_, r))| (i, r.clone())).collect();
                (s.storage.clone(), s.session.clone(), unsaved)
            };
            let (Some(storage), Some(session)) = (storage, session) else { return };
            for (index, record) in unsaved {
                if let Ok(key) = storage.add_demonstration(&record).await {
                    handle.update(|s| {
                        if let Some(entry) = s.records.get_mut(index) {
                            entry.0 = Some(key);
                        }
                    });
                }
            }
            if let Err(error) = storage.put_session(&session).await {
                handle.notify(NoticeKind::Error, format!("The session could not be saved: {error}"));
            }
        });
    }
}

impl Studio {
    fn progress(&mut self, event: RoundEvent) {
        match (&mut self.phase, event) {
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

    fn redraw_curves(&mut self) {
        let Some(session) = &self.session else { return self.curve_svg.clear() };
        let shown: Vec<bool> = session.settings.target_weights.iter().map(|&w| w > 0.0).collect();
        self.curve_svg = learning_curves_svg(&session.curve, &shown, session.settings.budget, (460, 280)).unwrap_or_default();
    }
}

/// The stored session, its demonstrations and the fine-tuned policy.
async fn restore(storage: &Storage) -> Result<(Option<Session>, Vec<(u32, DemonstrationRecord)>, Option<FineTunedPolicy>), String> {
    let session = storage.session().await.map_err(|e| e.to_string())?;
    let records = storage.demonstrations().await.map_err(|e| e.to_string())?;
    let tuned = match storage.policy(TUNED).await.map_err(|e| e.to_string())? {
        Some(bytes) => match Checkpoint::from_bytes(&bytes) {
            Ok(Checkpoint::FineTuned { policy, .. }) => Some(policy),
            _ => None,
        },
        None => None,
    };
    Ok((session, records, tuned))
}
