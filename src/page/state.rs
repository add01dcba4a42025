//! What the page knows, as plain data: the phase of the teaching loop, the notices, the
//! session, the dataset, the job under way, the workers that exist and the comparison.
//! Everything the page shows is read from here; only [`PageState::update`] changes it.

use std::rc::Rc;

use super::action::Watched;
use super::crowd::SyncState;
use crate::experiment::CurvePoint;
use crate::opening::Openings;
use crate::policy::PortableSnapshot;
use crate::record::DemonstrationRecord;
use crate::round::RoundJob;
use crate::select::SelectorKind;
use crate::session::{ChosenBy, Engine, Session, Standing, Tally};
use crate::tasks::TaskId;

#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Loading the policy, the stored session and the worker.
    Loading,
    /// The page cannot work (the policy could not be loaded).
    Broken(String),
    /// The worker assesses the starting policy and makes the first selection.
    Starting { progress: f32 },
    /// Waiting for the visitor (with an unstarted session: the start failed).
    Idle,
    Demonstrating { task: TaskId, chosen_by: ChosenBy },
    /// A finished demonstration is being written to storage; it counts once written.
    Saving { task: TaskId },
    /// The demonstration's time ran out before success.
    TimeUp { task: TaskId, chosen_by: ChosenBy },
    Round(RoundProgress),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

impl RoundProgress {
    pub fn new(steps: usize) -> RoundProgress {
        RoundProgress { stage: RoundStage::Waiting, step: 0, steps, losses: Vec::new(), evaluated: 0.0, fell_back: None }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    Error,
    Info,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

/// A demonstration in the dataset: stored (or, where the browser stores nothing, kept
/// in memory) and counted.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The page's own id, for matching storage replies.
    pub id: u64,
    /// Its key in storage (`None` only where the browser stores nothing).
    pub key: Option<u32>,
    pub record: Rc<DemonstrationRecord>,
    /// Where it stands with the collection service (none: not offered to one).
    pub sync: Option<SyncState>,
    /// Where it stands with the session: trained on, or waiting for the next round.
    pub standing: Standing,
}

/// Why a demonstration is being written, which says where it goes once written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveFor {
    /// Just demonstrated; counted once stored.
    Demonstrated(ChosenBy),
    /// From an imported file.
    Imported,
    /// A deleted demonstration restored by "Undo": back where it was, as it stood.
    Restored { at: usize, standing: Standing },
    /// One that failed to store before, tried again.
    Retried(ChosenBy),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Saving {
    pub id: u64,
    pub record: Rc<DemonstrationRecord>,
    pub purpose: SaveFor,
}

/// A demonstration storage refused: not counted, kept to retry or export.
#[derive(Clone, Debug, PartialEq)]
pub struct Unsaved {
    pub record: Rc<DemonstrationRecord>,
    pub chosen_by: ChosenBy,
    pub error: String,
}

/// A deleted demonstration, kept for "Undo".
#[derive(Clone, Debug, PartialEq)]
pub struct Deleted {
    pub record: Rc<DemonstrationRecord>,
    /// Its place in the dataset.
    pub at: usize,
    pub standing: Standing,
}

/// The visitor's demonstrations in their three states.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    /// Counted demonstrations, in the order they were counted (one restored by "Undo"
    /// goes back to its place), each with its standing.
    pub entries: Vec<Entry>,
    /// Writes under way.
    pub saving: Vec<Saving>,
    /// Writes that failed.
    pub unsaved: Vec<Unsaved>,
    pub undo: Option<Deleted>,
    /// The LeRobot export is being written (on its worker).
    pub exporting: bool,
}

impl Dataset {
    /// The entry stored under `key`.
    pub fn by_key_mut(&mut self, key: u32) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.key == Some(key))
    }

    /// Demonstrations waiting to be sent to the collection service.
    pub fn queued(&self) -> usize {
        self.entries.iter().filter(|e| e.sync == Some(SyncState::Queued)).count()
    }

    /// Every demonstration the visitor has, counted or not (what an export holds).
    pub fn all_records(&self) -> Vec<DemonstrationRecord> {
        let counted = self.entries.iter().map(|e| &e.record);
        let waiting = self.saving.iter().map(|s| &s.record).chain(self.unsaved.iter().map(|u| &u.record));
        counted.chain(waiting).map(|r| (**r).clone()).collect()
    }

    /// The counted demonstrations' records, oldest first (what a round trains on).
    pub fn records(&self) -> Vec<DemonstrationRecord> {
        self.entries.iter().map(|e| (*e.record).clone()).collect()
    }

    /// The dataset as the session's rules count it.
    pub fn tally(&self) -> Tally {
        Tally::of(self.entries.iter().map(|e| &e.standing))
    }

    /// The demonstrations waiting for the next round.
    pub fn waiting(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| !e.standing.trained)
    }

    /// Each stored demonstration's standing, by key: what storage keeps beside the
    /// session.
    pub fn standings(&self) -> Vec<(u32, Standing)> {
        self.entries.iter().filter_map(|e| Some((e.key?, e.standing))).collect()
    }
}

/// The dataset as the teaching card counts it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    pub tally: Tally,
    /// The session's proposal (a collection service may assign another task).
    pub proposal: Option<TaskId>,
    pub round_due: bool,
    /// Demonstrations per task: the rounds' and the waiting ones.
    pub per_task: Vec<usize>,
}

/// The round (or the session's start) under way.
#[derive(Clone, Debug, PartialEq)]
pub struct RunningJob {
    pub job: RoundJob,
    /// The engine it runs on; none while the WebGPU worker measures where rounds
    /// should train.
    pub place: Option<Engine>,
    /// The last snapshot a WebGPU run posted, to go on from on the CPU if it dies.
    pub last_snapshot: Option<PortableSnapshot>,
    /// Whether the round fell back from WebGPU to the CPU.
    pub fell_back: bool,
    /// The waiting demonstrations (the entries' ids) the round trains on; those
    /// counted during it wait for the next.
    pub trains: Vec<u64>,
}

/// A worker's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkerSlot {
    /// Rounds, the session's start, imports.
    Cpu,
    /// Rounds on WebGPU (a separate build, loaded on demand).
    WebGpu,
    /// One side of the live comparison.
    Comparison(usize),
}

impl WorkerSlot {
    /// The worker that trains on `engine`.
    pub fn training_on(engine: Engine) -> WorkerSlot {
        match engine {
            Engine::Cpu => WorkerSlot::Cpu,
            Engine::Gpu => WorkerSlot::WebGpu,
        }
    }
}

/// One worker's life: a slot and a generation, so messages from a worker the page has
/// replaced are told apart from its successor's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WorkerId {
    pub slot: WorkerSlot,
    pub generation: u32,
}

/// The workers that live, by slot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Workers {
    pub live: Vec<WorkerId>,
    next_generation: u32,
    /// CPU worker deaths since one last loaded the policy: a worker that cannot start
    /// is not restarted for ever.
    pub cpu_failures: u32,
}

impl Workers {
    pub fn get(&self, slot: WorkerSlot) -> Option<WorkerId> {
        self.live.iter().copied().find(|w| w.slot == slot)
    }

    pub fn is_live(&self, id: WorkerId) -> bool {
        self.live.contains(&id)
    }

    pub(super) fn add(&mut self, slot: WorkerSlot) -> WorkerId {
        self.next_generation += 1;
        let id = WorkerId { slot, generation: self.next_generation };
        self.live.retain(|w| w.slot != slot);
        self.live.push(id);
        id
    }

    pub(super) fn remove(&mut self, slot: WorkerSlot) -> Option<WorkerId> {
        let id = self.get(slot)?;
        self.live.retain(|w| *w != id);
        Some(id)
    }
}

/// An import under way: the worker checks the file, then each accepted demonstration
/// is stored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Import {
    /// The worker has not answered yet.
    pub checking: bool,
    /// Writes of accepted demonstrations still under way (by id).
    pub waiting: Vec<u64>,
    pub added: usize,
    /// Accepted demonstrations storage refused.
    pub not_stored: usize,
    /// One line per demonstration the check left out.
    pub rejected: Vec<String>,
}

/// Two autopilot runs side by side, one worker each, with the same seed and settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub selectors: [SelectorKind; 2],
    pub budget: usize,
    pub curves: [Vec<CurvePoint>; 2],
    /// Per run, the tasks asked for in each round.
    pub picks: [Vec<Vec<usize>>; 2],
    /// Seconds each run took, once done.
    pub seconds: [Option<f64>; 2],
}

impl Comparison {
    pub fn running(&self) -> bool {
        self.seconds.iter().any(Option::is_none)
    }
}

/// Whether the browser stores the page's data.
#[derive(Clone, Debug, PartialEq)]
pub enum Storage {
    /// Not known yet (loading).
    Unknown,
    Available,
    /// Nothing can be stored here: demonstrations count but live in memory only.
    Unavailable(String),
}

/// A policy's rollout the page asked a worker for, to play on the stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchRequest {
    pub ticket: u64,
    pub what: Watched,
}

/// The page.
#[derive(Clone, Debug, PartialEq)]
pub struct PageState {
    pub phase: Phase,
    pub notices: Vec<Notice>,
    pub session: Option<Session>,
    pub dataset: Dataset,
    pub job: Option<RunningJob>,
    pub workers: Workers,
    pub storage: Storage,
    /// A fine-tuned policy is loaded (the shell holds it, for watching).
    pub tuned: bool,
    /// The demonstration counted last (its id), while it may still be discarded.
    pub just_saved: Option<u64>,
    /// Attempts in a row whose time ran out, and on which task: after two, the page
    /// offers an easier one.
    pub failed_in_a_row: (Option<TaskId>, u32),
    /// A practice is on the stage: the expert's ghost leads, nothing is recorded.
    pub practising: bool,
    /// The scripted expert demonstrates whatever the selector asks.
    pub autopilot: bool,
    pub import: Option<Import>,
    pub comparison: Option<Comparison>,
    /// Why the settings last submitted were refused.
    pub settings_error: Option<String>,
    /// The browser exposes WebGPU (`navigator.gpu`).
    pub webgpu_in_browser: bool,
    /// The shipped first proposals of sessions with the default settings: a session
    /// whose seed and settings they hold starts without the training worker.
    pub openings: Option<Rc<Openings>>,
    /// The collection service, if one serves the page, and the outbox.
    pub crowd: super::crowd::Crowd,
    /// The contributor's account on the service.
    pub account: super::account::AccountPart,
    /// The operator's downloads, review and withdrawals.
    pub operator: super::operator::Operator,
    /// The crowd's dashboard.
    pub dashboard: super::dashboard::DashboardPart,
    /// The crowd's assignment to this visitor.
    pub assignment: super::assignment::AssignmentPart,
    /// The upload under way and the backoff.
    pub outbox: super::outbox::Outbox,
    /// The policy rollout asked for the stage and not yet played: its reply is played
    /// only if it is the latest and nothing else took the stage since.
    pub watching: Option<WatchRequest>,
    /// State of the page's random seeds (splitmix64), seeded at load.
    pub(super) rng: u64,
    pub(super) next_id: u64,
}

impl Default for PageState {
    fn default() -> Self {
        PageState {
            phase: Phase::Loading,
            notices: Vec::new(),
            session: None,
            dataset: Dataset::default(),
            job: None,
            workers: Workers::default(),
            storage: Storage::Unknown,
            tuned: false,
            just_saved: None,
            failed_in_a_row: (None, 0),
            practising: false,
            autopilot: false,
            import: None,
            comparison: None,
            settings_error: None,
            webgpu_in_browser: false,
            openings: None,
            crowd: Default::default(),
            account: Default::default(),
            operator: Default::default(),
            dashboard: Default::default(),
            assignment: Default::default(),
            outbox: Default::default(),
            watching: None,
            rng: 0,
            next_id: 0,
        }
    }
}

impl PageState {
    /// Whether the waiting demonstrations make a round.
    pub fn round_due(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.round_due(self.dataset.tally()))
    }

    /// The session's own proposal for the dataset as it is.
    pub fn session_proposal(&self) -> Option<TaskId> {
        self.session.as_ref().and_then(|s| s.proposal(self.dataset.tally()))
    }

    /// What the teaching card counts.
    pub fn counts(&self) -> Counts {
        let tally = self.dataset.tally();
        let Some(session) = &self.session else { return Counts { tally, ..Counts::default() } };
        Counts {
            tally,
            proposal: session.proposal(tally),
            round_due: session.round_due(tally),
            per_task: session.demonstrations_per_task(self.dataset.waiting().map(|e| e.record.task)),
        }
    }

    /// The easier task to offer, once the visitor's time ran out twice in a row on the
    /// task they are trying.
    pub fn easier_offer(&self) -> Option<TaskId> {
        match (&self.phase, self.failed_in_a_row) {
            (Phase::TimeUp { task, .. }, (Some(failed), n)) if *task == failed && n >= 2 => task.easier(),
            _ => None,
        }
    }

    /// The session exists and its start (the prior's assessment) is done.
    pub fn started(&self) -> bool {
        self.session.as_ref().is_some_and(|s| !s.curve.is_empty())
    }

    /// A round or the session's start is under way.
    pub fn busy(&self) -> bool {
        matches!(self.phase, Phase::Round(_) | Phase::Starting { .. })
    }

    pub(super) fn next_seed(&mut self) -> u64 {
        // splitmix64: a seed per demonstration and session, reproducible in tests.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) & 0xffff_ffff
    }

    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}
