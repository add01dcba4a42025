//! Every path the page can take, driven by actions as the shell would send them, with
//! the effects the shell would carry out checked at each step.

use std::rc::Rc;

use super::assignment::{AssignmentMsg, AssignmentRequest};
use super::dashboard::{DashboardMsg, CROWD_REFRESH_MS};
use super::protocol::{FromWorker, RoundResult, ToWorker, WorkerError};
use super::*;
use crate::crowd::contract::RefusalCode;
use crate::assessment::Assessment;
use crate::experiment::CurvePoint;
use crate::opening::{Opening, Openings};
use crate::policy::{PortableSnapshot, TrainingProgress};
use crate::record::{DemonstrationRecord, Source};
use crate::round::{RoundEvent, RoundJob};
use crate::select::{Selection, TaskScore};
use crate::session::{BackendChoice, BackendDecision, ChosenBy, Engine, LegacyCount, Pick, Session, SessionSettings, Standing};
use crate::tasks::{TaskId, NUM_TASKS, SUITE_VERSION};

fn record(task: TaskId, seed: u64) -> DemonstrationRecord {
    DemonstrationRecord {
        task,
        seed,
        suite_version: SUITE_VERSION,
        actions: vec![[0.0; 4]; 3],
        success: true,
        source: Source::Person,
        duration_seconds: 1.0,
        recorded_at_ms: 0.0,
    }
}

fn selection(picks: &[TaskId]) -> Selection {
    Selection {
        picks: picks.iter().map(|t| t.index()).collect(),
        scores: (0..NUM_TASKS).map(|task| TaskScore { task, name: TaskId::ALL[task].name().into(), score: task as f64, proxy: None }).collect(),
        reason: "because".into(),
    }
}

fn result(policy: bool, picks: &[TaskId]) -> RoundResult {
    RoundResult {
        policy: policy.then(|| vec![1, 2, 3]),
        per_task: vec![0.5; NUM_TASKS],
        selection: Some(selection(picks)),
        loss: vec![1.0, 0.5],
        fell_back: false,
        train_seconds: 1.5,
        eval_seconds: 0.5,
        select_seconds: 0.1,
    }
}

/// A page driven by actions, keeping the effects of the last one.
struct Page {
    state: PageState,
    fx: Vec<Effect>,
}

impl Page {
    /// A page loaded with `restored` in storage, its CPU worker spawned.
    fn load(restored: Result<Restored, StorageError>, settings: SessionSettings) -> Page {
        let mut restored = restored;
        if let Ok(r) = restored.as_mut() {
            if r.session.is_none() {
                r.session = Some(Session::new(9, settings));
            }
        }
        let mut page = Page { state: PageState::default(), fx: vec![] };
        page.act(Action::Loaded { prior: Ok(()), openings: None, storage: restored, entropy: 42, webgpu_in_browser: true });
        page
    }

    /// A fresh page whose session started with `picks` proposed.
    fn started(settings: SessionSettings, picks: &[TaskId]) -> Page {
        let mut page = Page::load(Ok(Restored::default()), settings);
        assert!(matches!(page.state.phase, Phase::Starting { .. }));
        let job = page.posted_job(WorkerSlot::Cpu).expect("the start goes to the CPU worker");
        assert_eq!((job.round, job.records.len()), (0, 0));
        page.from(WorkerSlot::Cpu, FromWorker::Done(result(false, picks)));
        assert_eq!(page.state.phase, Phase::Idle);
        page
    }

    fn act(&mut self, action: Action) -> &[Effect] {
        self.fx = self.state.update(action);
        &self.fx
    }

    fn worker(&self, slot: WorkerSlot) -> WorkerId {
        self.state.workers.get(slot).unwrap_or_else(|| panic!("no {slot:?} worker"))
    }

    fn from(&mut self, slot: WorkerSlot, message: FromWorker) -> &[Effect] {
        let worker = self.worker(slot);
        self.act(Action::FromWorker { worker, message })
    }

    fn died(&mut self, slot: WorkerSlot, message: &str) -> &[Effect] {
        let worker = self.worker(slot);
        self.act(Action::WorkerDied { worker, message: message.into() })
    }

    /// The round job the last action posted to `slot`'s worker.
    fn posted_job(&self, slot: WorkerSlot) -> Option<RoundJob> {
        self.fx.iter().find_map(|e| match e {
            Effect::Post(w, message) if w.slot == slot => match &**message {
                ToWorker::Run(job) => Some(job.clone()),
                _ => None,
            },
            _ => None,
        })
    }

    /// Demonstrates `task` to success and lets storage answer `stored`.
    fn demonstrate(&mut self, task: TaskId, chosen_by: ChosenBy, seed: u64, stored: Result<u32, StorageError>) {
        self.act(Action::Demonstrate { task, chosen_by });
        assert!(matches!(self.fx[..], [Effect::StartDemonstration { task: t, by_expert: false, .. }] if t == task), "{:?}", self.fx);
        self.act(Action::DemonstrationEnded(DemonstrationEnd::Success(record(task, seed))));
        assert_eq!(self.state.phase, Phase::Saving { task });
        let id = match &self.fx[..] {
            [Effect::StoreDemonstration { id, record }] if record.seed == seed => *id,
            other => panic!("expected one write, got {other:?}"),
        };
        self.act(Action::DemonstrationStored { id, result: stored });
    }

    fn errors(&self) -> Vec<&str> {
        self.state.notices.iter().filter(|n| n.kind == NoticeKind::Error).map(|n| n.text.as_str()).collect()
    }

    fn has(&self, effect: impl Fn(&Effect) -> bool) -> bool {
        self.fx.iter().any(effect)
    }
}

/// Shipped first proposals of sessions with `settings`: seed 3 proposes lever_pull,
/// seed 8 door_open.
fn openings(settings: &SessionSettings) -> Rc<Openings> {
    let assessment = Assessment { per_task: vec![0.25; NUM_TASKS], visited: vec![vec![]; NUM_TASKS] };
    let starts = vec![
        Opening { seed: 3, selection: selection(&[TaskId::LeverPull]) },
        Opening { seed: 8, selection: selection(&[TaskId::DoorOpen]) },
    ];
    Rc::new(Openings::new(b"the shipped policy", settings.round_config(), &assessment, starts))
}

fn loaded_with(openings: Rc<Openings>, restored: Restored) -> Page {
    let mut page = Page { state: PageState::default(), fx: vec![] };
    page.act(Action::Loaded { prior: Ok(()), openings: Some(openings), storage: Ok(restored), entropy: 42, webgpu_in_browser: false });
    page
}

#[test]
fn a_new_session_with_shipped_proposals_starts_at_once_with_its_seeds_proposal() {
    let page = loaded_with(openings(&SessionSettings::default()), Restored::default());
    let session = page.state.session.as_ref().unwrap();
    assert!([3, 8].contains(&session.seed), "the seed is one the file holds, not {}", session.seed);
    let expected = if session.seed == 3 { TaskId::LeverPull } else { TaskId::DoorOpen };
    assert_eq!(page.state.phase, Phase::Idle);
    assert!(page.state.started());
    assert_eq!(session.selection.as_ref().unwrap().picks, vec![expected.index()]);
    assert_eq!(session.curve[0].per_task, vec![0.25; NUM_TASKS], "the first point is the shipped assessment's");
    assert!(page.posted_job(WorkerSlot::Cpu).is_none(), "no round for the worker");
    assert!(page.has(|e| matches!(e, Effect::SpawnWorker(w) if w.slot == WorkerSlot::Cpu)), "the worker still starts, for the first round");
    assert!(page.has(|e| matches!(e, Effect::StoreSession { .. })), "the started session is stored");
}

#[test]
fn other_settings_or_a_seed_the_file_lacks_start_on_the_worker() {
    // A stored session with other settings: the worker starts it, with its own seed.
    let other = SessionSettings { batch: 3, ..SessionSettings::default() };
    let restored = Restored { session: Some(Session::new(3, other)), ..Restored::default() };
    let page = loaded_with(openings(&SessionSettings::default()), restored);
    assert!(matches!(page.state.phase, Phase::Starting { .. }));
    assert_eq!(page.posted_job(WorkerSlot::Cpu).map(|j| (j.round, j.seed)), Some((0, 3)));

    // The default settings with a seed the file does not hold (stored before it
    // shipped): the worker too.
    let restored = Restored { session: Some(Session::new(5, SessionSettings::default())), ..Restored::default() };
    let page = loaded_with(openings(&SessionSettings::default()), restored);
    assert_eq!(page.posted_job(WorkerSlot::Cpu).map(|j| (j.round, j.seed)), Some((0, 5)));

    // Held: the stored, unstarted session starts from the file.
    let restored = Restored { session: Some(Session::new(8, SessionSettings::default())), ..Restored::default() };
    let page = loaded_with(openings(&SessionSettings::default()), restored);
    assert_eq!(page.state.session.as_ref().unwrap().selection.as_ref().unwrap().picks, vec![TaskId::DoorOpen.index()]);
    assert!(page.posted_job(WorkerSlot::Cpu).is_none());
}

#[test]
fn a_session_started_from_the_file_trains_on_the_worker() {
    let settings = SessionSettings { batch: 1, backend: BackendChoice::Cpu, ..SessionSettings::default() };
    let restored = Restored { session: Some(Session::new(3, settings.clone())), ..Restored::default() };
    let mut page = loaded_with(openings(&settings), restored);
    assert!(page.state.started());
    page.demonstrate(TaskId::LeverPull, ChosenBy::Selector, 11, Ok(1));
    let job = page.posted_job(WorkerSlot::Cpu).expect("the first round goes to the worker");
    assert_eq!((job.round, job.seed, job.records.len()), (1, 3, 1));
}

/// Settings that train on the CPU (the tests of WebGPU ask for it).
fn settings(batch: usize) -> SessionSettings {
    SessionSettings { batch, backend: BackendChoice::Cpu, ..SessionSettings::default() }
}

fn quota() -> StorageError {
    StorageError::QuotaExceeded("QuotaExceededError".into())
}

#[test]
fn accepting_declining_and_picking_a_task() {
    let mut page = Page::started(settings(2), &[TaskId::DoorOpen, TaskId::LeverPull]);
    assert_eq!(page.state.session_proposal(), Some(TaskId::DoorOpen));
    // Declining moves to the batch's next task and stores the session.
    page.act(Action::Decline(TaskId::DoorOpen));
    assert_eq!(page.state.session_proposal(), Some(TaskId::LeverPull));
    assert!(page.has(|e| matches!(e, Effect::StoreSession { .. })));
    // Picking a task of one's own is recorded as the person's choice.
    page.demonstrate(TaskId::Push, ChosenBy::Person, 5, Ok(1));
    let session = page.state.session.as_ref().unwrap();
    assert_eq!(page.state.dataset.entries[0].standing, Standing::waiting(ChosenBy::Person));
    assert_eq!((page.state.phase.clone(), page.state.dataset.entries.len()), (Phase::Idle, 1));
    assert!(session.declined.is_empty(), "a demonstration clears the declines");
    // Accepting the proposal: the second of the batch makes a round.
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 6, Ok(2));
    assert!(matches!(page.state.phase, Phase::Round(_)));
    let job = page.posted_job(WorkerSlot::Cpu).expect("the round goes to the CPU worker");
    assert_eq!((job.round, job.records.iter().map(|r| r.seed).collect::<Vec<_>>()), (1, vec![5, 6]));
    // A demonstration cannot start while the round runs.
    assert!(page.act(Action::Demonstrate { task: TaskId::Reach, chosen_by: ChosenBy::Person }).is_empty());
}

#[test]
fn a_demonstration_that_cannot_be_stored_is_not_counted_but_kept_to_retry_or_export() {
    let mut page = Page::started(settings(1), &[TaskId::DoorOpen]);
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 5, Err(quota()));
    assert_eq!(page.state.phase, Phase::Idle, "the page goes on");
    assert!(page.state.dataset.entries.is_empty() && page.state.dataset.tally().waiting == 0, "not counted");
    assert!(page.fx.is_empty(), "no round starts on an unsaved demonstration: {:?}", page.fx);
    assert_eq!(page.state.dataset.unsaved.len(), 1);
    let errors = page.errors();
    assert!(errors.len() == 1 && errors[0].contains("storage is full") && errors[0].contains("not counted"), "{errors:?}");
    // An export holds it.
    page.act(Action::Export);
    let Effect::Download { bytes, .. } = &page.fx[0] else { panic!("{:?}", page.fx) };
    let file = crate::demo_file::parse(bytes).unwrap();
    assert_eq!(file.demonstrations.len(), 1);
    // Retrying stores it; stored, it counts, and the batch of one makes a round.
    page.act(Action::RetryUnsaved);
    let Effect::StoreDemonstration { id, .. } = page.fx[0].clone() else { panic!("{:?}", page.fx) };
    page.act(Action::DemonstrationStored { id, result: Ok(7) });
    assert_eq!(page.state.dataset.entries[0].key, Some(7));
    assert!(page.state.dataset.unsaved.is_empty());
    assert!(matches!(page.state.phase, Phase::Round(_)));
}

#[test]
fn where_nothing_can_be_stored_demonstrations_count_in_memory_and_the_page_says_so() {
    let mut page = Page::load(Err(StorageError::Unavailable("no IndexedDB".into())), settings(2));
    assert!(page.errors()[0].contains("only until you leave"), "{:?}", page.errors());
    page.from(WorkerSlot::Cpu, FromWorker::Done(result(false, &[TaskId::Push])));
    assert!(!page.has(|e| matches!(e, Effect::StoreSession { .. })), "nothing is written where nothing can be stored");
    page.act(Action::Demonstrate { task: TaskId::Push, chosen_by: ChosenBy::Selector });
    page.act(Action::DemonstrationEnded(DemonstrationEnd::Success(record(TaskId::Push, 3))));
    assert!(!page.has(|e| matches!(e, Effect::StoreDemonstration { .. })));
    assert_eq!(page.state.dataset.entries.len(), 1);
    assert_eq!(page.state.dataset.entries[0].key, None);
    assert_eq!(page.state.dataset.tally().waiting, 1);
}

#[test]
fn a_round_reports_progress_and_its_result_is_folded_in_and_stored() {
    let mut page = Page::started(settings(1), &[TaskId::LeverPull]);
    page.demonstrate(TaskId::LeverPull, ChosenBy::Selector, 5, Ok(1));
    let progress = |step| FromWorker::Event(RoundEvent::Training(TrainingProgress { step, steps: 500, action_mse: 1.0 / step as f32, total_loss: 0.0 }));
    page.from(WorkerSlot::Cpu, progress(5));
    page.from(WorkerSlot::Cpu, progress(10));
    page.from(WorkerSlot::Cpu, FromWorker::Event(RoundEvent::Evaluating(0.5)));
    let Phase::Round(round) = &page.state.phase else { panic!("{:?}", page.state.phase) };
    assert_eq!((round.stage, round.step, round.losses.len(), round.evaluated), (RoundStage::Evaluating, 10, 2, 0.5));
    page.from(WorkerSlot::Cpu, FromWorker::Done(result(true, &[TaskId::Push])));
    assert_eq!(page.state.phase, Phase::Idle);
    let session = page.state.session.as_ref().unwrap();
    assert_eq!(session.curve.len(), 2);
    assert_eq!(session.rounds[0].backend, vec![Engine::Cpu]);
    assert_eq!(session.rounds[0].train_seconds, 1.5);
    assert_eq!(page.state.session_proposal(), Some(TaskId::Push));
    assert!(page.state.tuned && page.state.job.is_none());
    assert!(page.has(|e| matches!(e, Effect::StorePolicy(_))) && page.has(|e| matches!(e, Effect::AdoptTuned(Some(_)))));
    assert!(page.has(|e| matches!(e, Effect::StoreSession { .. })));
    // The stored policy's failure is a notice; nothing else changes.
    page.act(Action::PolicyStored(Err(quota())));
    assert!(page.errors()[0].contains("fine-tuned policy could not be stored"));
    assert_eq!(page.state.session.as_ref().unwrap().curve.len(), 2);
}

#[test]
fn a_worker_that_fails_once_is_restarted_and_twice_is_given_up_with_demonstrations_kept() {
    let mut page = Page::started(settings(1), &[TaskId::LeverPull]);
    page.demonstrate(TaskId::LeverPull, ChosenBy::Selector, 5, Ok(1));
    let first = page.worker(WorkerSlot::Cpu);
    page.died(WorkerSlot::Cpu, "out of memory.");
    assert_eq!(page.state.phase, Phase::Idle);
    assert!(page.errors()[0].contains("The training worker stopped (out of memory). Your demonstrations are kept"), "{:?}", page.errors());
    assert!(page.has(|e| matches!(e, Effect::SpawnWorker(w) if w.slot == WorkerSlot::Cpu && *w != first)));
    // A message of the dead worker that was still on its way is ignored.
    assert!(page.act(Action::FromWorker { worker: first, message: FromWorker::Done(result(true, &[])) }).is_empty());
    assert_eq!(page.state.session.as_ref().unwrap().curve.len(), 1);
    // "Train now" runs the round again on the new worker.
    page.act(Action::TrainNow);
    assert_eq!(page.posted_job(WorkerSlot::Cpu).unwrap().records.len(), 1);
    page.died(WorkerSlot::Cpu, "out of memory");
    assert!(page.errors().iter().any(|e| e.starts_with("Training is unavailable: the training worker failed 2 times")), "{:?}", page.errors());
    assert!(!page.has(|e| matches!(e, Effect::SpawnWorker(_))), "no endless restarts");
    assert_eq!(page.state.dataset.entries.len(), 1, "the demonstration is kept");
    assert_eq!(page.state.dataset.tally().waiting, 1);
}

#[test]
fn a_worker_that_cannot_start_the_session_leaves_it_unstarted_to_retry() {
    let mut page = Page::load(Ok(Restored::default()), settings(1));
    page.died(WorkerSlot::Cpu, "no worker here");
    assert!(matches!(page.state.phase, Phase::Starting { .. }), "the start runs again on a new worker");
    assert!(page.posted_job(WorkerSlot::Cpu).is_some());
    page.died(WorkerSlot::Cpu, "no worker here");
    assert_eq!(page.state.phase, Phase::Idle);
    assert!(!page.state.started());
    // The visitor retries: a worker starts again, with the start's job.
    page.act(Action::RetryStart);
    assert!(page.has(|e| matches!(e, Effect::SpawnWorker(w) if w.slot == WorkerSlot::Cpu)));
    assert_eq!(page.posted_job(WorkerSlot::Cpu).unwrap().round, 0);
    assert_eq!(page.state.workers.cpu_failures, 0, "the visitor asked: earlier failures do not count");
    // A failure the worker reports (not a death) ends the start too, with a notice.
    page.from(WorkerSlot::Cpu, FromWorker::Failed(WorkerError::BadPrior("truncated".into())));
    assert_eq!(page.state.phase, Phase::Idle);
    assert!(page.errors().iter().any(|e| e.contains("could not start: the pre-trained policy cannot be read: truncated")), "{:?}", page.errors());
}

fn snapshot(step: usize) -> PortableSnapshot {
    PortableSnapshot { step, tensors: vec![] }
}

#[test]
fn a_gpu_lost_mid_round_goes_on_on_the_cpu_from_its_last_snapshot() {
    let mut page = Page::started(SessionSettings { backend: BackendChoice::WebGpu, ..settings(1) }, &[TaskId::LeverPull]);
    page.demonstrate(TaskId::LeverPull, ChosenBy::Selector, 5, Ok(1));
    // The WebGPU worker is loaded and asked to choose.
    let gpu = page.worker(WorkerSlot::WebGpu);
    assert!(page.has(|e| matches!(e, Effect::Post(w, m) if *w == gpu && **m == ToWorker::Choose(BackendChoice::WebGpu))));
    assert_eq!(page.state.job.as_ref().unwrap().place, None, "choosing");
    page.from(WorkerSlot::WebGpu, FromWorker::Chosen(BackendDecision { engine: Engine::Gpu, ..BackendDecision::cpu(BackendChoice::WebGpu, "WebGPU".into()) }));
    assert_eq!(page.posted_job(WorkerSlot::WebGpu).unwrap().round, 1);
    assert_eq!(page.state.session.as_ref().unwrap().backend.as_ref().unwrap().engine, Engine::Gpu, "the choice is kept");
    page.from(WorkerSlot::WebGpu, FromWorker::Event(RoundEvent::Snapshot(snapshot(25))));
    page.from(WorkerSlot::WebGpu, FromWorker::Event(RoundEvent::Snapshot(snapshot(50))));
    page.died(WorkerSlot::WebGpu, "GPU device lost");
    let job = page.posted_job(WorkerSlot::Cpu).expect("the round goes on on the CPU");
    assert_eq!(job.resume, Some(snapshot(50)));
    assert!(matches!(&page.state.phase, Phase::Round(r) if r.fell_back.as_deref().is_some_and(|t| t.contains("step 50"))));
    assert!(page.state.notices.iter().any(|n| n.text.contains("training goes on on the CPU from there")));
    assert!(page.state.session.as_ref().unwrap().backend.is_none(), "the next round measures again");
    page.from(WorkerSlot::Cpu, FromWorker::Done(result(true, &[TaskId::Push])));
    assert_eq!(page.state.session.as_ref().unwrap().rounds[0].backend, vec![Engine::Gpu, Engine::Cpu]);
    assert_eq!(page.state.session.as_ref().unwrap().rounds[0].trained_on(), "WebGPU, then the CPU");
}

#[test]
fn a_choice_of_the_cpu_or_a_browser_without_webgpu_trains_on_the_cpu() {
    let mut page = Page::started(SessionSettings { backend: BackendChoice::Auto, ..settings(1) }, &[TaskId::LeverPull]);
    page.demonstrate(TaskId::LeverPull, ChosenBy::Selector, 5, Ok(1));
    page.from(WorkerSlot::WebGpu, FromWorker::Chosen(BackendDecision::cpu(BackendChoice::Auto, "the CPU".into())));
    assert!(page.posted_job(WorkerSlot::Cpu).is_some());
    assert!(page.state.workers.get(WorkerSlot::WebGpu).is_none() && page.has(|e| matches!(e, Effect::TerminateWorker(_))));

    let mut page = Page::started(SessionSettings { backend: BackendChoice::WebGpu, ..settings(1) }, &[TaskId::LeverPull]);
    page.state.webgpu_in_browser = false;
    page.demonstrate(TaskId::LeverPull, ChosenBy::Selector, 5, Ok(1));
    assert!(page.posted_job(WorkerSlot::Cpu).is_some());
    assert!(page.state.notices.iter().any(|n| n.text.contains("offers no WebGPU")));
}

#[test]
fn cancel_terminates_the_round_and_keeps_the_demonstrations() {
    let mut page = Page::started(settings(1), &[TaskId::LeverPull]);
    page.demonstrate(TaskId::LeverPull, ChosenBy::Selector, 5, Ok(1));
    let worker = page.worker(WorkerSlot::Cpu);
    page.act(Action::CancelRound);
    assert!(page.has(|e| *e == Effect::TerminateWorker(worker)));
    assert!(page.has(|e| matches!(e, Effect::SpawnWorker(w) if w.slot == WorkerSlot::Cpu)), "a fresh worker stands by");
    assert_eq!(page.state.phase, Phase::Idle);
    assert!(page.state.job.is_none());
    assert_eq!(page.state.dataset.tally().waiting, 1);
    // The terminated worker's last words change nothing.
    assert!(page.act(Action::FromWorker { worker, message: FromWorker::Done(result(true, &[])) }).is_empty());
    assert_eq!(page.state.session.as_ref().unwrap().curve.len(), 1);
}

/// Stored: a started session with one waiting demonstration, and a second whose
/// session update was lost when the page closed, plus an unreadable policy; the
/// session's standings stored beside it, or, by an older build, its own count.
#[test]
fn a_reload_adopts_what_the_session_missed_and_reruns_an_interrupted_round() {
    let waiting_door = Pick { task: TaskId::DoorOpen, chosen_by: ChosenBy::Selector };
    let kept = Restored { standings: vec![(1, Standing::waiting(ChosenBy::Selector))], ..Restored::default() };
    let counted_itself = Restored { legacy: Some(LegacyCount { pending: vec![waiting_door], deleted: 0 }), ..Restored::default() };
    for stored in [kept, counted_itself] {
        let mut session = Session::new(3, settings(2));
        session.settings.backend = BackendChoice::Cpu;
        session.start(vec![0.0; NUM_TASKS], Some(selection(&[TaskId::DoorOpen, TaskId::Push])));
        let restored = Restored {
            session: Some(session),
            records: vec![(1, record(TaskId::DoorOpen, 1)), (2, record(TaskId::Push, 2))],
            tuned: Some(Err("truncated file".into())),
            ..stored
        };
        let page = Page::load(Ok(restored), settings(2));
        let waiting: Vec<_> = page.state.dataset.waiting().map(|e| (e.record.task, e.standing.chosen_by)).collect();
        assert_eq!(waiting, vec![(TaskId::DoorOpen, ChosenBy::Selector), (TaskId::Push, ChosenBy::Selector)]);
        assert!(matches!(page.state.phase, Phase::Round(_)), "the batch is full: the round runs again");
        assert_eq!(page.posted_job(WorkerSlot::Cpu).unwrap().records.len(), 2);
        assert!(!page.state.tuned);
        assert!(page.errors()[0].contains("stored fine-tuned policy could not be read (truncated file)"), "{:?}", page.errors());
    }
}

/// A round marks what it trained on, by the entries themselves: one counted while it
/// ran still waits, and the standings stored with the session say so.
#[test]
fn a_round_marks_what_it_trained_on_and_not_what_came_during_it() {
    let mut page = Page::started(settings(1), &[TaskId::DoorOpen, TaskId::Push]);
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(1));
    assert!(matches!(page.state.phase, Phase::Round(_)));
    // Imported while the round runs: it joins the dataset and waits.
    page.act(Action::Import(b"{}".to_vec()));
    page.from(WorkerSlot::Cpu, FromWorker::Imported { accepted: vec![record(TaskId::Reach, 7)], rejected: vec![] });
    let Some(Effect::StoreDemonstration { id, .. }) = page.fx.iter().find(|e| matches!(e, Effect::StoreDemonstration { .. })).cloned() else { panic!("{:?}", page.fx) };
    page.act(Action::DemonstrationStored { id, result: Ok(2) });
    page.from(WorkerSlot::Cpu, FromWorker::Done(result(true, &[TaskId::Push])));
    let session = page.state.session.as_ref().unwrap();
    assert_eq!(session.rounds[0].picks, vec![Pick { task: TaskId::DoorOpen, chosen_by: ChosenBy::Selector }]);
    assert_eq!(session.curve[1].demonstrations, 1);
    let stored = page.fx.iter().rev().find_map(|e| if let Effect::StoreSession { standings, .. } = e { Some(standings.clone()) } else { None });
    let trained = Standing { chosen_by: ChosenBy::Selector, trained: true };
    // The import's round is due: it starts at once, and the session stored after the
    // first round says where each stands.
    assert_eq!(stored, Some(vec![(1, trained), (2, Standing::waiting(ChosenBy::Imported))]));
    assert!(matches!(page.state.phase, Phase::Round(_)), "the waiting import makes the next round");
    assert_eq!(page.state.job.as_ref().unwrap().trains.len(), 1);
}

#[test]
fn a_session_stored_by_an_older_suite_gives_way_to_a_new_one_and_keeps_its_demonstrations() {
    // Stored by a build of suite 1: ten tasks, a chosen subset of targets, one round.
    let mut older = Session::new(3, SessionSettings { target_weights: vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 1.0], ..settings(2) });
    older.start(vec![0.2; 10], Some(selection(&[TaskId::DoorOpen])));
    assert!(!older.is_of_this_suite());
    let records = vec![(1, record(TaskId::DoorOpen, 1))];
    let tuned = Some(Err("the policy was trained for task suite 1".to_string()));
    let page = Page::load(Ok(Restored { session: Some(older), records: records.clone(), tuned, ..Restored::default() }), settings(2));
    let infos: Vec<&str> = page.state.notices.iter().filter(|n| n.kind == NoticeKind::Info).map(|n| n.text.as_str()).collect();
    assert!(infos.iter().any(|n| n.contains("earlier version of the tasks") && n.contains("demonstrations are kept")), "{infos:?}");
    assert!(page.errors().is_empty(), "{:?}", page.errors());
    // The demonstration stays in the dataset; the new session keeps the visitor's
    // targets, the new tasks not among them, and starts over with today's policy.
    assert_eq!(page.state.dataset.entries.len(), 1);
    let session = page.state.session.as_ref().unwrap();
    assert!(session.is_of_this_suite() && session.curve.is_empty());
    assert_eq!(session.settings.target_weights.len(), NUM_TASKS);
    assert_eq!(&session.settings.target_weights[..10], &[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 1.0]);
    assert!(session.settings.target_weights[10..].iter().all(|&w| w == 0.0));
    assert!(matches!(page.state.phase, Phase::Starting { .. }));
    // The kept demonstration waits for the new session's first round, as an import's
    // would, and a reload finds the session as it was stored.
    let imported = Standing::waiting(ChosenBy::Imported);
    assert_eq!(page.state.dataset.entries[0].standing, imported);
    let (stored, standings) = page
        .fx
        .iter()
        .rev()
        .find_map(|e| if let Effect::StoreSession { session, standings } = e { Some(((**session).clone(), standings.clone())) } else { None })
        .expect("stored");
    assert_eq!(standings, vec![(1, imported)]);
    let reloaded = Page::load(Ok(Restored { session: Some(stored), records, standings, ..Restored::default() }), settings(2));
    assert_eq!(reloaded.state.dataset.entries[0].standing, imported);
    // Where every task was a target alike, the new tasks join them.
    let everything = SessionSettings { target_weights: vec![1.0; 10], ..settings(2) }.for_this_suite();
    assert_eq!(everything.target_weights, vec![1.0; NUM_TASKS]);
}

#[test]
fn a_session_stored_before_the_observation_had_a_velocity_gives_way_to_a_new_one() {
    // Suite 2 stored sessions without a suite version: all sixteen tasks, a policy that
    // reads no velocity.
    let mut stored = Session::new(3, SessionSettings { target_weights: vec![1.0; NUM_TASKS], ..settings(2) });
    stored.start(vec![0.2; NUM_TASKS], Some(selection(&[TaskId::DoorOpen])));
    let mut json = serde_json::to_value(&stored).unwrap();
    json.as_object_mut().unwrap().remove("suite_version").expect("sessions say their suite");
    let older: Session = serde_json::from_value(json).unwrap();
    assert_eq!(older.suite_version, 2);
    assert!(!older.is_of_this_suite() && stored.is_of_this_suite());
    let tuned = Some(Err("the policy was trained for task suite 2".to_string()));
    let page = Page::load(Ok(Restored { session: Some(older), tuned, ..Restored::default() }), settings(2));
    assert!(page.errors().is_empty(), "{:?}", page.errors());
    let session = page.state.session.as_ref().unwrap();
    assert!(session.is_of_this_suite() && session.curve.is_empty());
    assert_eq!(session.settings.target_weights, vec![1.0; NUM_TASKS], "the visitor's targets are kept");
}

#[test]
fn delete_and_undo_restore_a_demonstration_where_it_was() {
    let mut page = Page::started(settings(2), &[TaskId::DoorOpen, TaskId::Push]);
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(1));
    page.demonstrate(TaskId::Push, ChosenBy::Selector, 2, Ok(2));
    page.from(WorkerSlot::Cpu, FromWorker::Done(result(true, &[TaskId::Reach])));
    page.demonstrate(TaskId::Reach, ChosenBy::Person, 3, Ok(3));
    // Delete a trained one: storage is told, the budget frees up, Undo is offered.
    page.act(Action::Delete(0));
    assert!(page.has(|e| *e == Effect::DeleteDemonstration { key: 1 }));
    assert_eq!(page.state.dataset.tally().total(), 2);
    assert!(page.state.dataset.undo.is_some());
    page.act(Action::DemonstrationDeleted { result: Ok(()) });
    page.act(Action::Undo);
    let Effect::StoreDemonstration { id, record } = page.fx[0].clone() else { panic!("{:?}", page.fx) };
    assert_eq!(record.seed, 1);
    page.act(Action::DemonstrationStored { id, result: Ok(9) });
    let seeds: Vec<u64> = page.state.dataset.entries.iter().map(|e| e.record.seed).collect();
    assert_eq!(seeds, vec![1, 2, 3], "a demonstration returns where it was");
    assert_eq!(page.state.dataset.tally(), crate::session::Tally { trained: 2, waiting: 1 }, "as it stood");
    // A deletion storage refuses is told: it would come back after a reload.
    page.act(Action::Delete(2));
    page.act(Action::DemonstrationDeleted { result: Err(StorageError::Unavailable("closed".into())) });
    assert!(page.errors().iter().any(|e| e.contains("comes back after a reload")));
    assert!(page.state.dataset.tally().waiting == 0);
}

#[test]
fn discarding_the_demonstration_just_saved_removes_it_from_storage() {
    let mut page = Page::started(settings(2), &[TaskId::DoorOpen, TaskId::Push]);
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(4));
    assert!(page.state.just_saved.is_some());
    page.act(Action::DiscardSaved);
    assert!(page.has(|e| *e == Effect::DeleteDemonstration { key: 4 }));
    assert!(page.state.dataset.entries.is_empty() && page.state.dataset.tally().waiting == 0);
    assert!(page.act(Action::DiscardSaved).is_empty(), "only once");
}

#[test]
fn an_import_stores_what_the_worker_accepted_and_names_what_it_left_out() {
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(1));
    page.act(Action::Import(b"{}".to_vec()));
    let Effect::Post(_, message) = &page.fx[0] else { panic!("{:?}", page.fx) };
    let ToWorker::Import { existing, .. } = &**message else { panic!("{message:?}") };
    assert_eq!(existing.len(), 1, "the worker skips duplicates of what the page has");
    page.from(
        WorkerSlot::Cpu,
        FromWorker::Imported { accepted: vec![record(TaskId::Reach, 7), record(TaskId::Push, 8)], rejected: vec!["demonstration 3: it does not replay".into()] },
    );
    let ids: Vec<u64> = page.fx.iter().filter_map(|e| if let Effect::StoreDemonstration { id, .. } = e { Some(*id) } else { None }).collect();
    assert_eq!(ids.len(), 2);
    assert!(page.state.import.is_some(), "the import waits for its writes");
    page.act(Action::DemonstrationStored { id: ids[0], result: Ok(2) });
    page.act(Action::DemonstrationStored { id: ids[1], result: Err(quota()) });
    assert!(page.state.import.is_none());
    let summary = page.state.notices.iter().find(|n| n.text.starts_with("Imported")).expect("a summary");
    assert_eq!(summary.kind, NoticeKind::Error);
    assert!(summary.text.contains("Imported 1 demonstration.") && summary.text.contains("1 could not be stored") && summary.text.contains("demonstration 3"));
    assert_eq!(page.state.dataset.waiting().map(|e| e.standing.chosen_by).collect::<Vec<_>>(), vec![ChosenBy::Selector, ChosenBy::Imported]);
    assert!(matches!(page.state.phase, Phase::Round(_)), "the import retrains");
    // A file the worker cannot read at all changes nothing.
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    page.act(Action::Import(b"garbage".to_vec()));
    page.from(WorkerSlot::Cpu, FromWorker::Failed(WorkerError::Import("it is not JSON".into())));
    assert!(page.state.import.is_none() && page.state.dataset.entries.is_empty());
    assert!(page.errors()[0].contains("The file was not imported: it is not JSON. Your dataset is unchanged."));
}

#[test]
fn the_comparison_runs_two_workers_and_draws_both_curves() {
    let mut page = Page::started(settings(2), &[TaskId::DoorOpen]);
    page.act(Action::StartComparison);
    let posted: Vec<_> = page.fx.iter().filter_map(|e| if let Effect::Post(w, m) = e { Some((w.slot, (**m).clone())) } else { None }).collect();
    assert_eq!(posted.len(), 2);
    for (side, (slot, message)) in posted.into_iter().enumerate() {
        assert_eq!(slot, WorkerSlot::Comparison(side));
        let ToWorker::Compare { seed, settings, .. } = message else { panic!() };
        assert_eq!((seed, settings.round.budget, settings.round.batch), (COMPARISON_SEED, 20, 5));
    }
    let point = |n| CurvePoint { demonstrations: n, per_task: vec![0.5; NUM_TASKS], mean_success: 0.5, mean_error: None };
    page.from(WorkerSlot::Comparison(0), FromWorker::Compared { point: point(0), picks: vec![] });
    page.from(WorkerSlot::Comparison(0), FromWorker::Compared { point: point(5), picks: vec![1, 2, 3, 4, 5] });
    page.from(WorkerSlot::Comparison(1), FromWorker::Compared { point: point(0), picks: vec![] });
    let done = page.worker(WorkerSlot::Comparison(0));
    page.from(WorkerSlot::Comparison(0), FromWorker::CompareDone { seconds: 30.0 });
    assert!(page.has(|e| *e == Effect::TerminateWorker(done)));
    let comparison = page.state.comparison.as_ref().unwrap();
    assert_eq!((comparison.curves[0].len(), comparison.picks[0].len(), comparison.curves[1].len()), (2, 1, 1));
    assert!(comparison.running());
    // The other side's failure stops it, with a notice.
    page.died(WorkerSlot::Comparison(1), "out of memory");
    assert!(page.state.comparison.is_none());
    assert!(page.errors()[0].contains("The comparison stopped"));
    // The page's own loop was never touched.
    assert_eq!(page.state.phase, Phase::Idle);
}

#[test]
fn the_autopilot_demonstrates_the_proposal_after_a_pause() {
    let mut page = Page::started(settings(2), &[TaskId::DoorOpen, TaskId::Push]);
    page.act(Action::SetAutopilot(true));
    assert_eq!(page.fx, vec![Effect::Schedule { after_ms: AUTOPILOT_PAUSE_MS, action: Box::new(Action::AutopilotTick) }]);
    page.act(Action::AutopilotTick);
    assert!(matches!(page.fx[..], [Effect::StartDemonstration { task: TaskId::DoorOpen, by_expert: true, .. }]));
    page.act(Action::DemonstrationEnded(DemonstrationEnd::Success(record(TaskId::DoorOpen, 1))));
    let Effect::StoreDemonstration { id, .. } = page.fx[0].clone() else { panic!() };
    page.act(Action::DemonstrationStored { id, result: Ok(1) });
    assert!(page.has(|e| matches!(e, Effect::Schedule { .. })), "the next one follows");
    // Switched off, a pending tick does nothing.
    page.act(Action::SetAutopilot(false));
    assert!(page.act(Action::AutopilotTick).is_empty());
}

/// A practice puts the easiest task on the stage with the expert's ghost and records
/// nothing; it ends when the visitor is ready, or when they demonstrate.
#[test]
fn a_practice_records_nothing_and_ends_on_the_proposal() {
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    page.act(Action::Practise);
    assert!(matches!(page.fx[..], [Effect::StartPractice { task: crate::page::PRACTICE_TASK, .. }]), "{:?}", page.fx);
    assert!(page.state.practising && page.state.phase == Phase::Idle);
    page.act(Action::EndPractice);
    assert!(!page.state.practising);
    assert!(matches!(page.fx[..], [Effect::ShowTask { task: TaskId::DoorOpen, .. }]), "back to the proposal: {:?}", page.fx);
    page.act(Action::EndPractice);
    assert!(page.fx.is_empty(), "once");
    page.act(Action::Practise);
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(1));
    assert!(!page.state.practising, "a demonstration ends it");
    assert_eq!(page.state.dataset.entries.len(), 1, "only the demonstration is kept");
}

/// Two attempts in a row whose time ran out on one task: an easier one is offered; a
/// success, or a time-up on another task, starts the count again.
#[test]
fn a_visitor_who_runs_out_of_time_twice_is_offered_an_easier_task() {
    let mut page = Page::started(settings(5), &[TaskId::PickPlaceHigh]);
    let attempt = |page: &mut Page, task| {
        page.act(Action::Demonstrate { task, chosen_by: ChosenBy::Selector });
        page.act(Action::DemonstrationEnded(DemonstrationEnd::TimeUp));
    };
    attempt(&mut page, TaskId::PickPlaceHigh);
    assert_eq!(page.state.easier_offer(), None, "once is not yet");
    attempt(&mut page, TaskId::PickPlaceHigh);
    assert_eq!(page.state.easier_offer(), Some(TaskId::PickPlace));
    attempt(&mut page, TaskId::DoorOpen);
    assert_eq!(page.state.easier_offer(), None, "another task starts the count again");
    attempt(&mut page, TaskId::DoorOpen);
    assert_eq!(page.state.easier_offer(), Some(TaskId::Reach));
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(1));
    attempt(&mut page, TaskId::DoorOpen);
    assert_eq!(page.state.easier_offer(), None, "a success starts it again");
    assert_eq!(TaskId::Reach.easier(), None);
}

#[test]
fn a_time_up_can_be_retried_or_left() {
    let mut page = Page::started(settings(2), &[TaskId::DoorOpen]);
    page.act(Action::Demonstrate { task: TaskId::DoorOpen, chosen_by: ChosenBy::Selector });
    page.act(Action::DemonstrationEnded(DemonstrationEnd::TimeUp));
    assert_eq!(page.state.phase, Phase::TimeUp { task: TaskId::DoorOpen, chosen_by: ChosenBy::Selector });
    page.act(Action::DiscardAttempt);
    assert_eq!((page.state.phase.clone(), page.fx.clone()), (Phase::Idle, vec![Effect::AbandonDemonstration]));
    // A success reported after the visitor left the demonstration is not counted.
    page.act(Action::DemonstrationEnded(DemonstrationEnd::Success(record(TaskId::DoorOpen, 1))));
    assert!(page.fx.is_empty() && page.state.dataset.saving.is_empty());
}

#[test]
fn bad_settings_are_refused_and_a_new_session_starts_over_with_the_good_ones() {
    let mut page = Page::started(settings(2), &[TaskId::DoorOpen]);
    page.act(Action::ApplySettings(SessionSettings { batch: 0, ..settings(2) }));
    assert!(page.state.settings_error.as_deref().is_some_and(|e| e.contains("batch")));
    assert!(page.fx.is_empty());
    page.act(Action::ApplySettings(settings(3)));
    assert_eq!((page.state.settings_error.clone(), page.state.session.as_ref().unwrap().settings.batch), (None, 3));
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(1));
    page.act(Action::NewSession);
    assert_eq!(page.fx, vec![Effect::ClearStorage], "storage is cleared first");
    page.act(Action::StorageCleared(Ok(())));
    assert!(page.state.dataset.entries.is_empty());
    assert!(matches!(page.state.phase, Phase::Starting { .. }));
    let session = page.state.session.as_ref().unwrap();
    assert_eq!((session.settings.batch, session.curve.len()), (3, 0));
    // A clear that fails leaves everything as it was.
    let mut page = Page::started(settings(2), &[TaskId::DoorOpen]);
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(1));
    page.act(Action::NewSession);
    page.act(Action::StorageCleared(Err(StorageError::Unavailable("blocked".into()))));
    assert_eq!(page.state.dataset.entries.len(), 1);
    assert!(page.errors()[0].contains("could not be cleared"));
}

#[test]
fn a_broken_policy_stops_the_page_with_a_reason() {
    let mut state = PageState::default();
    let fx = state.update(Action::Loaded { prior: Err("404".into()), openings: None, storage: Ok(Restored::default()), entropy: 1, webgpu_in_browser: false });
    assert!(fx.is_empty(), "no worker for a page that cannot work");
    assert_eq!(state.phase, Phase::Broken("The policy could not be loaded: 404".into()));
}

#[test]
fn demonstrations_counted_during_a_round_wait_for_the_next() {
    let mut page = Page::started(settings(1), &[TaskId::DoorOpen]);
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(1));
    // An import lands while the round runs.
    page.act(Action::Import(b"{}".to_vec()));
    page.from(WorkerSlot::Cpu, FromWorker::Imported { accepted: vec![record(TaskId::Reach, 7)], rejected: vec![] });
    let Effect::StoreDemonstration { id, .. } = page.fx[0].clone() else { panic!("{:?}", page.fx) };
    page.act(Action::DemonstrationStored { id, result: Ok(2) });
    assert!(matches!(page.state.phase, Phase::Round(_)));
    page.from(WorkerSlot::Cpu, FromWorker::Done(result(true, &[TaskId::Push])));
    let session = page.state.session.as_ref().unwrap();
    assert_eq!(session.rounds[0].picks.len(), 1, "the round trained on one");
    assert_eq!(session.curve[1].demonstrations, 1);
    // The imported one is due in a round of its own, which starts at once.
    assert!(matches!(page.state.phase, Phase::Round(_)));
    assert_eq!(page.posted_job(WorkerSlot::Cpu).unwrap().records.len(), 2);
}

// ---- the collection service ----

fn uploads(fx: &[Effect]) -> Vec<(u32, String)> {
    fx.iter().filter_map(|e| if let Effect::Upload { key, client_id, .. } = e { Some((*key, client_id.clone())) } else { None }).collect()
}

fn credentials() -> crowd::Credentials {
    crowd::Credentials { id: "c-1".into(), token: "secret".into() }
}

/// A service that answers, collecting under the default licence.
fn up() -> crowd::ServiceProbe {
    crowd::ServiceProbe::Up(crowd::Terms::default())
}

/// The visitor's agreement to the default licence.
fn agreed() -> crowd::Consent {
    crowd::Consent::Agreed { licence: "CC-BY-4.0".into() }
}

fn register() -> Effect {
    Effect::Register { licence: "CC-BY-4.0".into() }
}

/// Nothing leaves the browser before the visitor agrees to the licence the crowd's
/// dataset is published under; saying no keeps the page local, and they may change
/// their mind.
#[test]
fn nothing_leaves_the_browser_before_the_visitor_agrees_to_the_licence() {
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    page.act(Action::ServiceProbed(up()));
    assert_eq!(page.fx, vec![Effect::FetchSharedPolicy], "the shared policy is only read");
    assert!(page.state.crowd.asks_consent());
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(1));
    assert_eq!(sync_of(&page, 1).as_ref(), Some(&crowd::SyncState::Queued), "it waits in the outbox");
    assert!(!page.has(|e| matches!(e, Effect::Upload { .. } | Effect::Register { .. } | Effect::Assign { .. })), "{:?}", page.fx);
    page.act(Action::AnswerConsent(false));
    assert_eq!(page.fx, vec![Effect::StoreConsent(crowd::Consent::Declined)]);
    assert!(!page.state.crowd.asks_consent());
    page.act(Action::SyncTick);
    assert!(page.fx.is_empty(), "declined: nothing is sent, not even a registration");
    page.act(Action::ReconsiderConsent);
    assert!(page.state.crowd.asks_consent());
    page.act(Action::AnswerConsent(true));
    assert_eq!(page.fx, vec![Effect::StoreConsent(agreed()), register()]);
    page.act(Action::Registered(Ok(credentials())));
    assert!(page.has(|e| matches!(e, Effect::Assign { .. })));
    assert_eq!(uploads(&page.fx).iter().map(|u| u.0).collect::<Vec<_>>(), vec![1]);
}

/// After a verified upload the page reads the crowd's state to say what it did; the
/// feedback goes when the visitor demonstrates again or puts it away. Joining the
/// leaderboard is the contributor's request, and both lists are read again after it.
#[test]
fn a_verified_demonstration_is_followed_by_what_it_did_and_the_leaderboard_is_opt_in() {
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    page.state.crowd.credentials = Some(credentials());
    page.state.crowd.consent = agreed();
    page.act(Action::ServiceProbed(up()));
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(1));
    assert!(page.state.crowd.feedback.is_none(), "nothing before the service verified it");
    // The service's word on how it went comes with it, for the visitor to read.
    let measured = crate::quality::measure(&crate::policy::expert_demonstration(TaskId::DoorOpen, 1, 0.0));
    page.act(Action::Uploaded { key: 1, outcome: crowd::UploadOutcome::Stored { id: 5, quality: Some(measured.clone()) } });
    assert_eq!(page.state.crowd.feedback.as_ref().map(|f| (f.task, f.quality.clone())), Some((TaskId::DoorOpen, Some(measured))));
    assert!(page.has(|e| *e == Effect::FetchCrowd), "the crowd's progress is read: {:?}", page.fx);
    page.act(Action::Dashboard(DashboardMsg::Fetched(Ok(crowd_status(&[])))));
    let recorded = page.state.dataset.entries[0].record.recorded_at_ms;
    assert_eq!(page.state.own_verified(recorded), (1, 1));
    page.act(Action::Demonstrate { task: TaskId::Push, chosen_by: ChosenBy::Person });
    assert!(page.state.crowd.feedback.is_none());
    page.act(Action::DismissFeedback);
    let token = credentials().token;
    use super::account::{AccountMsg, AccountRequest};
    page.act(Action::Account(AccountMsg::SetListed(true)));
    assert_eq!(page.fx, vec![Effect::Account(AccountRequest::SetListed { token: token.clone(), listed: true })]);
    page.act(Action::Account(AccountMsg::ListedSet(Ok(()))));
    assert_eq!(page.fx, vec![Effect::Account(AccountRequest::Fetch { token }), Effect::FetchCrowd]);
    page.act(Action::Account(AccountMsg::Fetched(Ok(crowd::Account::default()))));
    page.act(Action::Account(AccountMsg::SetListed(false)));
    page.act(Action::Account(AccountMsg::ListedSet(Err("HTTP 422: choose a display name before joining the leaderboard".into()))));
    assert!(page.errors().iter().any(|e| e.contains("leaderboard was not changed")));
}

#[test]
fn a_streak_counts_the_days_in_a_row_up_to_today_or_yesterday() {
    const DAY: f64 = 86_400_000.0;
    let now = 20_000.0 * DAY + 3_600_000.0;
    assert_eq!(crowd::streak_days(&[], now), 0);
    assert_eq!(crowd::streak_days(&[now - 60_000.0], now), 1);
    // Yesterday and the day before, none yet today: the streak stands at 2.
    assert_eq!(crowd::streak_days(&[now - DAY, now - 2.0 * DAY, now - 2.0 * DAY + 1.0], now), 2);
    // A day missed breaks it.
    assert_eq!(crowd::streak_days(&[now, now - 2.0 * DAY, now - 3.0 * DAY], now), 1);
    assert_eq!(crowd::streak_days(&[now - 2.0 * DAY], now), 0);
}

/// A contributor from before consent was asked is asked once; their agreement is sent
/// before anything else. A demonstration the service refuses for want of an agreement
/// (the operator changed the licence) waits, and the visitor is asked again.
#[test]
fn a_contributor_from_before_consent_is_asked_once_and_an_upload_refused_for_the_licence_waits() {
    let restored = Restored {
        records: vec![(1, record(TaskId::DoorOpen, 1)), (2, record(TaskId::Push, 2))],
        credentials: Some(credentials()),
        sync: vec![(1, crowd::SyncState::Queued), (2, crowd::SyncState::Queued)],
        ..Restored::default()
    };
    let mut page = Page::load(Ok(restored), settings(5));
    page.act(Action::ServiceProbed(up()));
    assert!(page.state.crowd.asks_consent());
    assert!(uploads(&page.fx).is_empty() && !page.has(|e| matches!(e, Effect::Assign { .. })), "{:?}", page.fx);
    page.act(Action::AnswerConsent(true));
    let token = credentials().token;
    assert_eq!(page.fx, vec![Effect::StoreConsent(agreed()), Effect::AgreeToLicence { token, licence: "CC-BY-4.0".into() }]);
    page.act(Action::SyncTick);
    assert!(uploads(&page.fx).is_empty(), "nothing goes before the service holds the agreement");
    // The service did not record it: asked again, also after a reload.
    page.act(Action::LicenceAgreed(Err("the service is unavailable".into())));
    assert_eq!(page.fx, vec![Effect::StoreConsent(crowd::Consent::Unasked)]);
    assert!(page.state.crowd.asks_consent() && page.errors().iter().any(|e| e.contains("did not record your agreement")));
    page.act(Action::Dismiss(0));
    page.act(Action::AnswerConsent(true));
    page.act(Action::LicenceAgreed(Ok(())));
    assert!(page.has(|e| matches!(e, Effect::Assign { .. })));
    assert_eq!(uploads(&page.fx).iter().map(|u| u.0).collect::<Vec<_>>(), vec![1]);
    // The licence changed on the service meanwhile: the upload waits, the visitor is asked.
    let refused = crowd::UploadOutcome::Rejected { code: RefusalCode::Licence, reason: "agree to the licence".into() };
    page.act(Action::Uploaded { key: 1, outcome: refused });
    assert_eq!(sync_of(&page, 1).as_ref(), Some(&crowd::SyncState::Queued));
    assert_eq!(page.fx, vec![Effect::StoreConsent(crowd::Consent::Unasked)]);
    assert!(page.state.crowd.asks_consent() && page.errors().is_empty());
    page.act(Action::SyncTick);
    assert!(uploads(&page.fx).is_empty());
    // A stored agreement to another licence than the service's is no agreement.
    let restored = Restored { credentials: Some(credentials()), consent: agreed(), ..Restored::default() };
    let mut page = Page::load(Ok(restored), settings(5));
    page.act(Action::ServiceProbed(crowd::ServiceProbe::Up(crowd::Terms::new("CC0-1.0").unwrap())));
    assert!(page.state.crowd.asks_consent());
    assert!(!page.has(|e| matches!(e, Effect::Assign { .. })));
}

#[test]
fn a_static_site_is_local_only_and_sends_nothing() {
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    // Even a browser that contributed elsewhere before sends nothing to a static site.
    page.state.crowd.credentials = Some(credentials());
    page.act(Action::ServiceProbed(crowd::ServiceProbe::Absent));
    assert_eq!(page.state.crowd.mode, crowd::CrowdMode::LocalOnly);
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(1));
    assert!(uploads(&page.fx).is_empty() && page.state.dataset.entries.iter().all(|e| e.sync.is_none()));
}

/// Only what a person demonstrated in this page is a contribution: an imported file's
/// demonstrations and the autopilot's scripted runs stay in this browser, marked so, and
/// a service found later does not take them either.
#[test]
fn only_a_persons_demonstrations_in_this_page_are_contributed() {
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(1));
    // The autopilot's run (the scripted expert's record) stays here.
    page.act(Action::Demonstrate { task: TaskId::Push, chosen_by: ChosenBy::Person });
    let scripted = DemonstrationRecord { source: Source::ScriptedExpert, ..record(TaskId::Push, 3) };
    page.act(Action::DemonstrationEnded(DemonstrationEnd::Success(scripted)));
    let Some(Effect::StoreDemonstration { id, .. }) = page.fx.first().cloned() else { panic!("{:?}", page.fx) };
    page.act(Action::DemonstrationStored { id, result: Ok(2) });
    assert_eq!(sync_of(&page, 2).as_ref(), Some(&crowd::SyncState::NotContributed));
    assert!(page.has(|e| *e == Effect::StoreSync { key: 2, state: crowd::SyncState::NotContributed }), "and says so in storage");
    // So does an imported file's, though a person recorded it.
    page.act(Action::Import(b"{}".to_vec()));
    page.from(WorkerSlot::Cpu, FromWorker::Imported { accepted: vec![record(TaskId::Reach, 7)], rejected: vec![] });
    let Some(Effect::StoreDemonstration { id, .. }) = page.fx.first().cloned() else { panic!("{:?}", page.fx) };
    page.act(Action::DemonstrationStored { id, result: Ok(3) });
    assert_eq!(sync_of(&page, 3).as_ref(), Some(&crowd::SyncState::NotContributed), "an import stays here");
    // A service appears: only the person's demonstration is sent.
    page.act(Action::ServiceProbed(up()));
    page.act(Action::AnswerConsent(true));
    page.act(Action::Registered(Ok(credentials())));
    assert_eq!(uploads(&page.fx).iter().map(|u| u.0).collect::<Vec<_>>(), vec![1]);
    assert_eq!(page.state.dataset.queued(), 1);
}

/// A visitor who asks for it sends the autopilot's runs too, as the scripted expert's.
#[test]
fn the_autopilots_runs_are_sent_when_the_visitor_asks() {
    let mut page = Page::started(SessionSettings { share_autopilot: true, ..settings(5) }, &[TaskId::DoorOpen]);
    page.act(Action::ServiceProbed(up()));
    page.act(Action::AnswerConsent(true));
    page.act(Action::Registered(Ok(credentials())));
    page.act(Action::Demonstrate { task: TaskId::Push, chosen_by: ChosenBy::Person });
    let scripted = DemonstrationRecord { source: Source::ScriptedExpert, ..record(TaskId::Push, 4) };
    page.act(Action::DemonstrationEnded(DemonstrationEnd::Success(scripted)));
    let Some(Effect::StoreDemonstration { id, .. }) = page.fx.first().cloned() else { panic!("{:?}", page.fx) };
    page.act(Action::DemonstrationStored { id, result: Ok(1) });
    assert_eq!(uploads(&page.fx).iter().map(|u| u.0).collect::<Vec<_>>(), vec![1]);
}

#[test]
fn demonstrations_are_sent_one_at_a_time_retried_with_backoff_and_each_ends_verified_or_refused() {
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    page.demonstrate(TaskId::DoorOpen, ChosenBy::Selector, 1, Ok(1));
    page.demonstrate(TaskId::Push, ChosenBy::Person, 2, Ok(2));
    // A service answers: the page registers (and loads the crowd's policy), stores its
    // credentials, sends the first.
    page.act(Action::ServiceProbed(up()));
    assert_eq!(page.fx, vec![Effect::FetchSharedPolicy]);
    page.act(Action::AnswerConsent(true));
    assert_eq!(page.fx, vec![Effect::StoreConsent(agreed()), register()]);
    page.act(Action::Registered(Ok(credentials())));
    assert!(page.has(|e| *e == Effect::StoreCredentials(credentials())));
    let sent = uploads(&page.fx);
    assert_eq!(sent.len(), 1, "one upload at a time");
    assert_eq!(sent[0].0, 1);
    assert_eq!(sent[0].1, crowd::client_id(&record(TaskId::DoorOpen, 1)), "the id follows from the content, so a retry is known");
    // The service is down: retries wait 1 s, then 2 s, ... up to a minute.
    let mut waits = vec![];
    for _ in 0..8 {
        page.act(Action::Uploaded { key: 1, outcome: crowd::UploadOutcome::Retry { why: "down".into(), after_ms: None } });
        let Some(Effect::Schedule { after_ms, action }) = page.fx.first().cloned() else { panic!("{:?}", page.fx) };
        assert_eq!(*action, Action::SyncTick);
        waits.push(after_ms);
        page.act(Action::SyncTick);
        assert_eq!(uploads(&page.fx), vec![sent[0].clone()], "the same upload again");
    }
    assert_eq!(waits, vec![1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    // Stored: the next one goes; refused: it says why and stays in the dataset.
    page.act(Action::Uploaded { key: 1, outcome: crowd::UploadOutcome::Stored { id: 41, quality: None } });
    assert!(page.has(|e| *e == Effect::StoreSync { key: 1, state: crowd::SyncState::Verified { id: 41 } }));
    assert_eq!(uploads(&page.fx)[0].0, 2);
    let refused = crowd::UploadOutcome::Rejected { code: RefusalCode::NotSuccessful, reason: "its replay does not succeed at the task".into() };
    page.act(Action::Uploaded { key: 2, outcome: refused });
    assert!(matches!(sync_of(&page, 2).as_ref(), Some(crowd::SyncState::Rejected { code: RefusalCode::NotSuccessful, .. })));
    assert!(page.errors().iter().any(|e| e.contains("refused demonstration 2: its replay does not succeed")));
    assert_eq!(page.state.dataset.entries.len(), 2);
    assert_eq!(page.state.dataset.queued(), 0);
    // A new demonstration is sent at once.
    page.demonstrate(TaskId::Reach, ChosenBy::Person, 3, Ok(3));
    assert_eq!(uploads(&page.fx).iter().map(|u| u.0).collect::<Vec<_>>(), vec![3]);
    // The same content from another contributor is there already: shown as such, and
    // not as this visitor's (it cannot be withdrawn from here); one this visitor had
    // withdrawn stays withdrawn, with no error.
    page.act(Action::Uploaded { key: 3, outcome: crowd::UploadOutcome::StoredByAnother { id: 12 } });
    assert_eq!(sync_of(&page, 3).as_ref(), Some(&crowd::SyncState::Elsewhere { id: 12 }));
    assert_eq!(crowd::SyncState::Elsewhere { id: 12 }.service_id(), None);
    page.demonstrate(TaskId::Push, ChosenBy::Person, 4, Ok(4));
    page.act(Action::Uploaded { key: 4, outcome: crowd::UploadOutcome::WithdrawnBefore { id: 9 } });
    assert_eq!(sync_of(&page, 4).as_ref(), Some(&crowd::SyncState::Withdrawn { id: 9 }));
    assert_eq!(page.errors().len(), 1, "only the refusal above: {:?}", page.errors());
}

#[test]
fn a_reload_resumes_the_outbox_as_the_same_contributor() {
    let mut session = Session::new(3, settings(5));
    session.start(vec![0.0; NUM_TASKS], Some(selection(&[TaskId::DoorOpen])));
    let restored = Restored {
        session: Some(session),
        records: vec![(1, record(TaskId::DoorOpen, 1)), (2, record(TaskId::Push, 2))],
        standings: vec![(1, Standing::waiting(ChosenBy::Selector)), (2, Standing::waiting(ChosenBy::Selector))],
        credentials: Some(credentials()),
        sync: vec![(1, crowd::SyncState::Verified { id: 7 }), (2, crowd::SyncState::Queued)],
        consent: agreed(),
        ..Restored::default()
    };
    let mut page = Page::load(Ok(restored), settings(5));
    assert!(page.has(|e| *e == Effect::ProbeService));
    // The service is down as the page loads: a contributor keeps contributing.
    page.act(Action::ServiceProbed(crowd::ServiceProbe::Down));
    assert!(!page.has(|e| matches!(e, Effect::Register { .. })), "the stored contributor is kept");
    assert_eq!(uploads(&page.fx).iter().map(|u| u.0).collect::<Vec<_>>(), vec![2], "only what was not verified is sent");
    // The service lost its database: the page registers again and sends it again.
    page.act(Action::Uploaded { key: 2, outcome: crowd::UploadOutcome::Rejected { code: RefusalCode::Unauthorised, reason: "unknown token".into() } });
    assert_eq!(page.fx, vec![register()]);
    assert_eq!(sync_of(&page, 2).as_ref(), Some(&crowd::SyncState::Queued));
    page.act(Action::Registered(Ok(crowd::Credentials { id: "c-2".into(), token: "new".into() })));
    assert_eq!(uploads(&page.fx).iter().map(|u| u.0).collect::<Vec<_>>(), vec![2]);
    // Deleting a queued demonstration takes it out of the outbox.
    page.act(Action::Uploaded { key: 2, outcome: crowd::UploadOutcome::Retry { why: "busy".into(), after_ms: Some(5_000) } });
    assert!(matches!(page.fx[0], Effect::Schedule { after_ms: 5_000, .. }), "the service's Retry-After is kept");
    page.act(Action::Delete(1));
    page.act(Action::SyncTick);
    assert!(uploads(&page.fx).is_empty() && page.state.dataset.queued() == 0);
}

#[test]
fn a_contributor_renames_lists_and_withdraws_and_the_operator_downloads_the_crowds_dataset() {
    let restored = Restored {
        records: vec![(1, record(TaskId::DoorOpen, 1))],
        credentials: Some(credentials()),
        sync: vec![(1, crowd::SyncState::Verified { id: 7 })],
        consent: agreed(),
        ..Restored::default()
    };
    let mut page = Page::load(Ok(restored), settings(5));
    page.act(Action::ServiceProbed(up()));
    let token = credentials().token;
    // One request about the account at a time.
    use super::account::{AccountMsg, AccountRequest};
    page.act(Action::Account(AccountMsg::Refresh));
    assert_eq!(page.fx, vec![Effect::Account(AccountRequest::Fetch { token: token.clone() })]);
    page.act(Action::Account(AccountMsg::Withdraw(7)));
    assert!(page.fx.is_empty(), "nothing else is sent while the account is being fetched");
    let listed = |id, withdrawn| crowd::Contributed {
        id,
        client_id: format!("c{id}"),
        contributor_id: String::new(),
        task: "door_open".into(),
        seed: 1,
        steps: 90,
        received_ms: 0,
        verified_by: String::new(),
        withdrawn,
    };
    page.act(Action::Account(AccountMsg::Fetched(Ok(crowd::Account { display_name: None, demonstrations: vec![listed(7, false), listed(9, false)], ..Default::default() }))));
    // A name is sent trimmed; once taken, the account is fetched again to show it as kept.
    page.act(Action::Account(AccountMsg::Rename("  Ada ".into())));
    assert_eq!(page.fx, vec![Effect::Account(AccountRequest::Rename { token: token.clone(), name: "Ada".into() })]);
    page.act(Action::Account(AccountMsg::Renamed(Err("HTTP 422: a display name has at most 40 characters".into()))));
    assert!(page.fx.is_empty() && page.errors().iter().any(|e| e.contains("at most 40")));
    page.act(Action::Account(AccountMsg::Rename("Ada".into())));
    page.act(Action::Account(AccountMsg::Renamed(Ok(()))));
    assert_eq!(page.fx, vec![Effect::Account(AccountRequest::Fetch { token: token.clone() })]);
    page.act(Action::Account(AccountMsg::Fetched(Ok(crowd::Account { display_name: Some("Ada".into()), demonstrations: vec![listed(7, false), listed(9, false)], ..Default::default() }))));
    // Withdrawing the demonstration sent from here marks it in both lists and stores it.
    page.act(Action::Account(AccountMsg::Withdraw(7)));
    assert_eq!(page.fx, vec![Effect::Account(AccountRequest::Withdraw { token: token.clone(), id: 7 })]);
    page.act(Action::Account(AccountMsg::Withdrawn { id: 7, result: Ok(()) }));
    assert_eq!(page.fx, vec![Effect::StoreSync { key: 1, state: crowd::SyncState::Withdrawn { id: 7 } }]);
    let account = page.state.account.account.clone().unwrap();
    assert_eq!(account.demonstrations.iter().map(|d| d.withdrawn).collect::<Vec<_>>(), vec![true, false]);
    assert_eq!(page.state.dataset.entries.len(), 1, "it stays in the dataset here");
    page.act(Action::Account(AccountMsg::Withdraw(9)));
    page.act(Action::Account(AccountMsg::Withdrawn { id: 9, result: Err("HTTP 404: no such demonstration of yours".into()) }));
    assert!(page.fx.is_empty() && !page.state.account.account.as_ref().unwrap().demonstrations[1].withdrawn);
    // The operator's download needs a token, and saves the file under the service's name.
    use super::operator::{OperatorMsg, OperatorRequest};
    page.act(Action::Operator(OperatorMsg::Export("  ".into())));
    assert!(page.fx.is_empty() && page.errors().iter().any(|e| e.contains("operator's token")));
    page.act(Action::Operator(OperatorMsg::Export("secret".into())));
    assert_eq!(page.fx, vec![Effect::Operator(OperatorRequest::Export { token: "secret".into() })]);
    page.act(Action::Operator(OperatorMsg::Exported(Ok(("crowd-2-to-9.json".into(), b"{}".to_vec())))));
    assert_eq!(page.fx, vec![Effect::Download { name: "crowd-2-to-9.json".into(), mime: "application/json", bytes: b"{}".to_vec() }]);
    // Its review's withdrawal is told to the visitor as a notice.
    page.act(Action::Operator(OperatorMsg::Review("secret".into())));
    page.act(Action::Operator(OperatorMsg::Reviewed(Err("HTTP 401: unauthorised".into()))));
    assert!(page.fx.is_empty() && page.errors().iter().any(|e| e.contains("quality could not be read")));
}

/// Where the demonstration stored under `key` stands with the service.
fn sync_of(page: &Page, key: u32) -> Option<crowd::SyncState> {
    page.state.dataset.entries.iter().find(|e| e.key == Some(key)).and_then(|e| e.sync.clone())
}

pub(super) fn leased(task: TaskId, seed: u64, lease: &str) -> crowd::Leased {
    crowd::Leased {
        lease: lease.into(),
        expires_ms: 0,
        chosen_by: crate::crowd::contract::TaskChooser::Selector,
        version: 0,
        assignment: crate::crowd::assign::Assignment {
            task,
            seed,
            reason: "the crowd needs it".into(),
            scores: Vec::new(),
            success: vec![0.0; NUM_TASKS],
            demonstrations: vec![0; NUM_TASKS],
            pending: vec![0; NUM_TASKS],
        },
    }
}

#[test]
fn with_a_service_the_prompt_asks_for_the_crowds_assignment_on_its_leased_seed() {
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    page.state.crowd.credentials = Some(credentials());
    page.state.crowd.consent = agreed();
    page.act(Action::ServiceProbed(up()));
    let token = credentials().token;
    assert!(page.has(|e| *e == Effect::Assign(AssignmentRequest { token: token.clone(), decline: None, choose: None })));
    // Until the service answers, the session's own proposal stands.
    assert_eq!(page.state.proposal(), Some(TaskId::DoorOpen));
    page.act(Action::Assignment(AssignmentMsg::Assigned(Ok(leased(TaskId::Push, 77, "lease-1")))));
    assert_eq!(page.state.proposal(), Some(TaskId::Push));
    // Accepted: demonstrated on the lease's seed; once counted, the next is asked for.
    page.act(Action::Demonstrate { task: TaskId::Push, chosen_by: ChosenBy::Selector });
    assert!(matches!(page.fx[..], [Effect::StartDemonstration { task: TaskId::Push, seed: 77, .. }]), "{:?}", page.fx);
    page.act(Action::DemonstrationEnded(DemonstrationEnd::Success(record(TaskId::Push, 77))));
    let id = match &page.fx[..] {
        [Effect::StoreDemonstration { id, .. }] => *id,
        other => panic!("{other:?}"),
    };
    page.act(Action::DemonstrationStored { id, result: Ok(1) });
    assert!(page.has(|e| *e == Effect::Assign(AssignmentRequest { token: token.clone(), decline: None, choose: None })), "{:?}", page.fx);
    assert!(page.has(|e| matches!(e, Effect::Upload { key: 1, .. })));
    // Declined: the service is told which lease, and assigns another.
    page.act(Action::Assignment(AssignmentMsg::Assigned(Ok(leased(TaskId::Reach, 5, "lease-2")))));
    page.act(Action::Decline(TaskId::Reach));
    assert_eq!(page.fx, vec![Effect::Assign(AssignmentRequest { token: token.clone(), decline: Some("lease-2".into()), choose: None })]);
    assert_eq!(page.state.proposal(), page.state.session_proposal(), "the session's proposal while the service answers");
    // A failed assignment is told; the session's proposal stands.
    page.act(Action::Assignment(AssignmentMsg::Assigned(Err("HTTP 503: this service has no policy to choose tasks with".into()))));
    assert!(page.errors().iter().any(|e| e.contains("no policy")));
    // The visitor's own choice is leased to them with the seed they demonstrate on.
    page.act(Action::Demonstrate { task: TaskId::LeverPull, chosen_by: ChosenBy::Person });
    let seed = match &page.fx[..] {
        [Effect::Assign(AssignmentRequest { choose: Some((TaskId::LeverPull, seed)), decline: None, .. }), Effect::StartDemonstration { task: TaskId::LeverPull, seed: s, .. }] if seed == s => *seed,
        other => panic!("{other:?}"),
    };
    assert!(seed <= u64::from(u32::MAX));
}

#[test]
fn with_a_service_the_page_loads_the_crowds_latest_shared_policy_to_watch() {
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    page.state.crowd.credentials = Some(credentials());
    page.state.crowd.consent = agreed();
    page.act(Action::ServiceProbed(up()));
    assert!(page.has(|e| *e == Effect::FetchSharedPolicy));
    // No version yet: watching the crowd's plays the pre-trained policy.
    page.act(Action::SharedPolicyLoaded(Ok(None)));
    page.act(Action::Watch(Watched::Crowd));
    assert!(matches!(page.fx[..], [Effect::Watch { what: Watched::Pretrained, .. }]), "{:?}", page.fx);
    // An assignment made with version 2: the page fetches it, once.
    page.act(Action::Assignment(AssignmentMsg::Assigned(Ok(crowd::Leased { version: 2, ..leased(TaskId::Push, 1, "lease-1") }))));
    assert!(page.has(|e| *e == Effect::FetchSharedPolicy));
    page.act(Action::Assignment(AssignmentMsg::Assigned(Ok(crowd::Leased { version: 2, ..leased(TaskId::Push, 1, "lease-2") }))));
    assert!(!page.has(|e| *e == Effect::FetchSharedPolicy), "already being fetched");
    page.act(Action::SharedPolicyLoaded(Ok(Some(2))));
    assert_eq!(page.state.crowd.shared_version, Some(2));
    page.act(Action::Watch(Watched::Crowd));
    assert!(matches!(page.fx[..], [Effect::Watch { what: Watched::Crowd, .. }]), "{:?}", page.fx);
    // Nothing newer: nothing fetched.
    page.act(Action::Assignment(AssignmentMsg::Assigned(Ok(crowd::Leased { version: 2, ..leased(TaskId::Reach, 3, "lease-3") }))));
    assert!(!page.has(|e| *e == Effect::FetchSharedPolicy));
}

impl Page {
    /// Asks to watch `what`; returns the ticket the shell's rollout answers with.
    fn watch(&mut self, what: Watched) -> u64 {
        self.act(Action::Watch(what));
        match self.fx[..] {
            [Effect::Watch { ticket, .. }] => ticket,
            ref other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_watched_policy_plays_its_latest_rollout_unless_something_else_took_the_stage() {
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    let rollout = std::rc::Rc::new(protocol::PolicyRollout::from(crate::tasks::run_expert(TaskId::Reach, 4)));
    let played = |ticket, page: &mut Page| {
        page.act(Action::PolicyRolledOut { ticket, result: Ok(rollout.clone()) });
        page.fx == vec![Effect::PlayRollout(rollout.clone())]
    };
    let ticket = page.watch(Watched::FineTuned);
    assert!(matches!(page.fx[..], [Effect::Watch { what: Watched::Pretrained, .. }]), "no fine-tuned policy yet: {:?}", page.fx);
    assert!(played(ticket, &mut page));
    assert!(!played(ticket, &mut page), "a rollout plays once");
    // Two requests: only the latest plays, whatever order the replies come in.
    let (first, second) = (page.watch(Watched::Pretrained), page.watch(Watched::Pretrained));
    assert!(!played(first, &mut page));
    assert!(played(second, &mut page));
    // Another task shown, the expert watched, or a demonstration begun meanwhile: the
    // reply is dropped, and so is its failure.
    let ticket = page.watch(Watched::Pretrained);
    page.act(Action::ShowTask(TaskId::Push));
    assert!(!played(ticket, &mut page));
    let ticket = page.watch(Watched::Pretrained);
    page.act(Action::Practise);
    assert!(!played(ticket, &mut page), "a practice keeps the stage");
    page.act(Action::EndPractice);
    let ticket = page.watch(Watched::Pretrained);
    page.watch(Watched::Expert);
    assert!(!played(ticket, &mut page));
    let ticket = page.watch(Watched::Pretrained);
    page.act(Action::Demonstrate { task: TaskId::DoorOpen, chosen_by: ChosenBy::Selector });
    assert!(!played(ticket, &mut page));
    page.act(Action::PolicyRolledOut { ticket, result: Err(WatchFailure::Worker("its worker stopped".into())) });
    assert!(page.errors().is_empty(), "{:?}", page.errors());
}

#[test]
fn a_fine_tuned_policy_that_cannot_be_played_is_dropped_with_a_notice() {
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    page.state.tuned = true;
    let ticket = page.watch(Watched::FineTuned);
    page.act(Action::PolicyRolledOut { ticket, result: Err(WatchFailure::Unreadable("the file ends early".into())) });
    assert_eq!(page.fx, vec![Effect::AdoptTuned(None)]);
    assert!(!page.state.tuned);
    assert!(page.errors().iter().any(|e| e.contains("fine-tuned policy could not be read") && e.contains("ends early")), "{:?}", page.errors());
    // The pre-trained policy's worker failing is said, and nothing is dropped.
    let ticket = page.watch(Watched::Pretrained);
    page.act(Action::PolicyRolledOut { ticket, result: Err(WatchFailure::Worker("its worker stopped: it could not start".into())) });
    assert!(page.errors().iter().any(|e| e.contains("could not be played: its worker stopped")), "{:?}", page.errors());
}

fn crowd_status(versions: &[(i64, i64, f64)]) -> crowd::CrowdStatus {
    crowd::CrowdStatus {
        tasks: TaskId::ALL.iter().map(|t| t.name().to_string()).collect(),
        training: false,
        demonstrations: vec![0; NUM_TASKS],
        pending: vec![0; NUM_TASKS],
        success: None,
        selector: "amf".into(),
        pending_aware: true,
        lease_seconds: 180,
        leases: Vec::new(),
        version: versions.last().map_or(0, |v| v.0),
        versions: versions
            .iter()
            .map(|&(id, demonstrations, mean_success)| crate::crowd::contract::PolicyVersion {
                id,
                created_ms: 0,
                demonstrations,
                last_demonstration_id: demonstrations,
                mean_success,
                success: vec![mean_success; NUM_TASKS],
                train_seconds: 1.0,
            })
            .collect(),
        prior_success: Some((0..NUM_TASKS).map(|t| if t < NUM_TASKS / 2 { 1.0 } else { 0.0 }).collect()),
        target_weights: vec![1.0; NUM_TASKS],
        contributors: 2,
        rejected: Default::default(),
        goal: 1000,
        leaderboard: Vec::new(),
    }
}

#[test]
fn an_open_crowd_dashboard_reads_the_crowd_again_until_closed_and_its_curve_grows() {
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    page.state.crowd.credentials = Some(credentials());
    page.state.crowd.consent = agreed();
    page.act(Action::ServiceProbed(up()));
    page.act(Action::SharedPolicyLoaded(Ok(None)));
    page.act(Action::Dashboard(DashboardMsg::Open(true)));
    assert!(page.has(|e| *e == Effect::FetchCrowd));
    page.act(Action::Dashboard(DashboardMsg::Fetched(Ok(crowd_status(&[])))));
    let tick = Effect::Schedule { after_ms: CROWD_REFRESH_MS, action: Box::new(Action::Dashboard(DashboardMsg::Tick)) };
    assert_eq!(page.fx, vec![tick.clone()]);
    // The curve starts at the pre-trained policy: half the tasks.
    let curve = page.state.dashboard.status.as_ref().unwrap().curve();
    assert_eq!((curve.len(), curve[0].demonstrations, curve[0].mean_success), (1, 0, 0.5));
    // A refresh by hand while one is scheduled does not start a second loop.
    page.act(Action::Dashboard(DashboardMsg::Refresh));
    page.act(Action::Dashboard(DashboardMsg::Fetched(Ok(crowd_status(&[(1, 4, 0.7)])))));
    assert!(!page.has(|e| *e == tick));
    assert!(page.has(|e| *e == Effect::FetchSharedPolicy), "a newer version is fetched to watch");
    // The tick reads again; the new version is a point more.
    page.act(Action::Dashboard(DashboardMsg::Tick));
    assert_eq!(page.fx, vec![Effect::FetchCrowd]);
    page.act(Action::Dashboard(DashboardMsg::Fetched(Ok(crowd_status(&[(1, 4, 0.7), (2, 8, 0.9)])))));
    assert_eq!(page.fx, vec![tick]);
    let curve = page.state.dashboard.status.as_ref().unwrap().curve();
    assert_eq!(curve.iter().map(|p| (p.demonstrations, p.mean_success)).collect::<Vec<_>>(), vec![(0, 0.5), (4, 0.7), (8, 0.9)]);
    // Closed: the due tick reads nothing and schedules nothing.
    page.act(Action::Dashboard(DashboardMsg::Open(false)));
    page.act(Action::Dashboard(DashboardMsg::Tick));
    assert!(page.fx.is_empty());
}

#[test]
fn the_lerobot_export_is_written_on_its_worker_once_at_a_time_and_a_failure_is_told() {
    let mut page = Page::started(settings(5), &[TaskId::DoorOpen]);
    page.act(Action::ExportLeRobot);
    let records = page.state.dataset.all_records();
    assert_eq!(page.fx, vec![Effect::ExportLeRobot { records }]);
    // A second click while it is written asks for nothing more.
    page.act(Action::ExportLeRobot);
    assert!(page.fx.is_empty());
    page.act(Action::LeRobotExported(Ok(b"PK".to_vec())));
    assert_eq!(page.fx, vec![Effect::Download { name: "amf-studio-lerobot.zip".into(), mime: "application/zip", bytes: b"PK".to_vec() }]);
    assert!(!page.state.dataset.exporting);
    // A worker that fails is told; the next click tries again.
    page.act(Action::ExportLeRobot);
    page.act(Action::LeRobotExported(Err("the export worker stopped: it could not start".into())));
    assert!(page.errors().iter().any(|e| e.contains("LeRobot dataset could not be exported") && e.contains("could not start")));
    page.act(Action::ExportLeRobot);
    assert!(matches!(page.fx[..], [Effect::ExportLeRobot { .. }]));
}
