//! Everything that can happen to the page ([`Action`]) and everything the page asks its
//! shell to do ([`Effect`]). The shell turns DOM events, storage replies, worker
//! messages and timers into actions, and carries out the effects the reducer returns.

use std::rc::Rc;

use super::crowd::{Consent, Credentials, ServiceProbe, SyncState, UploadOutcome};
use super::protocol::{FromWorker, PolicyRollout, ToWorker};
use super::state::WorkerId;
use crate::opening::Openings;
use crate::record::DemonstrationRecord;
use crate::session::{ChosenBy, LegacyCount, Session, SessionSettings, Standing};
use crate::tasks::TaskId;

/// Why the browser's storage refused, told apart by the error's name.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum StorageError {
    #[error("the browser's storage is full: free some space, or export your demonstrations and start a new session ({0})")]
    QuotaExceeded(String),
    #[error("the browser's storage cannot be used here ({0})")]
    Unavailable(String),
    #[error("a stored entry cannot be read ({0})")]
    Corrupt(String),
}

/// What storage held when the page loaded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Restored {
    pub session: Option<Session>,
    /// The stored demonstrations with their keys, oldest first.
    pub records: Vec<(u32, DemonstrationRecord)>,
    /// Each stored demonstration's standing, by key, as stored with the session.
    pub standings: Vec<(u32, Standing)>,
    /// Where the session was stored before standings were kept: what it counted itself.
    pub legacy: Option<LegacyCount>,
    /// A stored fine-tuned policy: loaded, or why it could not be read.
    pub tuned: Option<Result<(), String>>,
    /// The contributor this browser is, for a collection service.
    pub credentials: Option<Credentials>,
    /// The outbox: each stored demonstration's sync state, by key.
    pub sync: Vec<(u32, SyncState)>,
    /// What the visitor answered when asked to contribute under the service's licence.
    pub consent: Consent,
}

/// How a demonstration under way ended.
#[derive(Clone, Debug, PartialEq)]
pub enum DemonstrationEnd {
    /// It succeeded: the record of its actions.
    Success(DemonstrationRecord),
    /// Its time ran out first.
    TimeUp,
}

/// Why a policy could not be played on the stage.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WatchFailure {
    /// The policy's file does not load (its weights are damaged).
    #[error("the policy's file cannot be read: {0}")]
    Unreadable(String),
    /// The worker that plays it failed.
    #[error("{0}")]
    Worker(String),
}

/// Which actor plays on the stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watched {
    FineTuned,
    /// The crowd's shared policy (with a collection service).
    Crowd,
    Pretrained,
    Expert,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    // ---- the page's life ----
    /// The shipped policy was read (or not) and storage was opened (or not); `openings`:
    /// the shipped first proposals, if they are the policy's.
    Loaded {
        prior: Result<(), String>,
        openings: Option<Rc<Openings>>,
        storage: Result<Restored, StorageError>,
        entropy: u64,
        webgpu_in_browser: bool,
    },
    Dismiss(usize),
    // ---- the teaching loop ----
    Demonstrate { task: TaskId, chosen_by: ChosenBy },
    Decline(TaskId),
    DiscardAttempt,
    ToggleGrip,
    DemonstrationEnded(DemonstrationEnd),
    DiscardSaved,
    TrainNow,
    CancelRound,
    RetryStart,
    SetAutopilot(bool),
    AutopilotTick,
    ApplySettings(SessionSettings),
    /// "New session", confirmed.
    NewSession,
    // ---- the dataset ----
    Delete(usize),
    Undo,
    Replay(usize),
    RetryUnsaved,
    Export,
    ExportLeRobot,
    /// The LeRobot export worker's zip, or why there is none.
    LeRobotExported(Result<Vec<u8>, String>),
    /// A file's bytes to import.
    Import(Vec<u8>),
    /// A file refused before it was read (too large, unreadable).
    ImportRefused(String),
    // ---- the stage ----
    Watch(Watched),
    /// The episode a policy played in a worker (for `Effect::Watch` with `ticket`), or
    /// why there is none.
    PolicyRolledOut { ticket: u64, result: Result<Rc<PolicyRollout>, WatchFailure> },
    ShowTask(TaskId),
    // ---- the comparison ----
    StartComparison,
    StopComparison,
    // ---- replies ----
    DemonstrationStored { id: u64, result: Result<u32, StorageError> },
    DemonstrationDeleted { result: Result<(), StorageError> },
    SessionStored(Result<(), StorageError>),
    PolicyStored(Result<(), StorageError>),
    StorageCleared(Result<(), StorageError>),
    /// The fine-tuned policy a round returned could not be read.
    TunedUnreadable(String),
    DownloadFailed(String),
    FromWorker { worker: WorkerId, message: FromWorker },
    /// A worker could not start, panicked or trapped (a lost GPU traps its wasm).
    WorkerDied { worker: WorkerId, message: String },
    // ---- the collection service ----
    /// Whether a collection service serves this page, and answers.
    ServiceProbed(ServiceProbe),
    /// The visitor's answer to contributing under the service's licence (true: agreed).
    AnswerConsent(bool),
    /// Ask again (a visitor who said no changes their mind).
    ReconsiderConsent,
    /// The service recorded a known contributor's agreement, or why it did not.
    LicenceAgreed(Result<(), String>),
    Registered(Result<Credentials, String>),
    Uploaded { key: u32, outcome: UploadOutcome },
    /// The backoff after a failed upload is over.
    SyncTick,
    /// A write of the outbox or the credentials failed.
    StorageFailed { what: &'static str, error: StorageError },
    /// The contributor's account on the service: their name, their place on the
    /// leaderboard, their demonstrations there and withdrawing one (a component of its
    /// own, `page::account`).
    Account(super::account::AccountMsg),
    /// Put away what the last verified demonstration did.
    DismissFeedback,
    /// Practise the easiest task with the expert's ghost to follow (nothing recorded).
    Practise,
    /// The practice is over: back to the proposal.
    EndPractice,
    /// The operator's part of the page: the crowd's dataset, its quality's review and
    /// the withdrawals (a component of its own, `page::operator`).
    Operator(super::operator::OperatorMsg),
    /// The crowd's assignment to this visitor (a component of its own,
    /// `page::assignment`).
    Assignment(super::assignment::AssignmentMsg),
    /// The crowd's dashboard: where the crowd stands (a component of its own,
    /// `page::dashboard`).
    Dashboard(super::dashboard::DashboardMsg),
    /// The crowd's shared policy was fetched and loaded: its version (none: no version yet).
    SharedPolicyLoaded(Result<Option<i64>, String>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    // ---- storage; each answers with its action ----
    StoreDemonstration { id: u64, record: Rc<DemonstrationRecord> },
    DeleteDemonstration { key: u32 },
    /// The session, with each stored demonstration's standing (one write, so that the
    /// two agree after a reload).
    StoreSession { session: Box<Session>, standings: Vec<(u32, Standing)> },
    StorePolicy(Rc<Vec<u8>>),
    ClearStorage,
    // ---- workers ----
    /// Start a worker in `id`'s slot and hand it the pre-trained policy.
    SpawnWorker(WorkerId),
    TerminateWorker(WorkerId),
    Post(WorkerId, Box<ToWorker>),
    /// Load (or, with `None`, drop) the fine-tuned policy the stage can play.
    AdoptTuned(Option<Rc<Vec<u8>>>),
    // ---- the stage ----
    StartDemonstration { task: TaskId, seed: u64, by_expert: bool },
    AbandonDemonstration,
    ToggleGrip,
    Replay(Rc<DemonstrationRecord>),
    /// Roll the watched policy out on the stage's task and seed, in a worker (the page's
    /// module has no network); answered by `PolicyRolledOut` with `ticket`. The expert
    /// plays at once.
    Watch { what: Watched, ticket: u64 },
    /// Play a policy's rolled-out episode on the stage.
    PlayRollout(Rc<PolicyRollout>),
    ShowTask { task: TaskId, seed: u64 },
    // ---- the collection service; each answers with its action ----
    ProbeService,
    /// Register a contributor who agreed to `licence`.
    Register { licence: String },
    /// Show an instance of `task` with the scripted expert's ghost to follow, recording
    /// nothing.
    StartPractice { task: TaskId, seed: u64 },
    /// Tell the service a known contributor agreed to `licence`.
    AgreeToLicence { token: String, licence: String },
    StoreConsent(Consent),
    Upload { key: u32, client_id: String, record: Rc<DemonstrationRecord>, token: String },
    StoreSync { key: u32, state: SyncState },
    StoreCredentials(Credentials),
    /// The account's component's request; answered by `Action::Account`.
    Account(super::account::AccountRequest),
    /// The operator's component's request; answered by `Action::Operator`.
    Operator(super::operator::OperatorRequest),
    /// The assignment's component's request: the next task, a lease declined or the
    /// visitor's choice recorded; answered by `Action::Assignment(Assigned)`.
    Assign(super::assignment::AssignmentRequest),
    /// Read where the crowd stands; answered by `Action::Dashboard(Fetched)`.
    FetchCrowd,
    /// Fetch and load the crowd's latest shared policy; answered by `SharedPolicyLoaded`.
    FetchSharedPolicy,
    /// Write the LeRobot dataset of `records`, zipped, on the export worker; answered by
    /// `LeRobotExported`.
    ExportLeRobot { records: Vec<DemonstrationRecord> },
    // ---- the rest ----
    Download { name: String, mime: &'static str, bytes: Vec<u8> },
    /// Dispatch `action` after `after_ms` milliseconds.
    Schedule { after_ms: u32, action: Box<Action> },
}

impl Effect {
    /// Whether it puts something else on the stage than a policy's rollout being asked for.
    pub fn takes_the_stage(&self) -> bool {
        matches!(
            self,
            Effect::StartDemonstration { .. }
                | Effect::StartPractice { .. }
                | Effect::Replay(_)
                | Effect::ShowTask { .. }
                | Effect::PlayRollout(_)
                | Effect::Watch { what: Watched::Expert, .. }
        )
    }
}
