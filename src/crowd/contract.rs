//! The collection service's HTTP API as types: what each endpoint under `/api/` takes
//! and answers, its refusals' codes, a lease's states and who chose its task. The
//! service's handlers write these, and the page, the crowd simulator and the tests read
//! them, so a change to the wire is a change here that every side compiles against.
//! Field names are the JSON's; optional fields a newer service added read as their
//! defaults from an older one.

use serde::{Deserialize, Serialize};

use super::assign::Assignment;
use crate::quality::Quality;
use crate::terms::Terms;

/// Why the service refused a request: the `error` of every refusal's body, what the
/// page keys its message on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumIter)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RefusalCode {
    // Who asks.
    /// No contributor (or operator) token, or one the service does not know.
    Unauthorised,
    /// The operator banned this contributor.
    Banned,
    /// This service has no operator token set.
    NoOperator,
    /// The contributor has not agreed to the licence the crowd's dataset is published
    /// under, or named another one.
    Licence,
    /// Too many requests from this address or contributor.
    RateLimited,
    // The request.
    /// The body is not what the endpoint takes.
    Malformed,
    /// The body is larger than the service reads.
    TooLarge,
    /// The body did not arrive whole (the client hung up).
    Incomplete,
    /// The body did not arrive in time.
    Timeout,
    /// An upload not sent as JSON.
    ContentType,
    /// The id in the path is not one.
    BadId,
    /// A display name too long, or none where one is needed.
    DisplayName,
    /// No such task.
    Task,
    // The demonstration, as verification finds it (`upload::Rejection`).
    /// The upload's own id is not 8 to 64 letters, digits or dashes.
    ClientId,
    /// Recorded in a task suite this service cannot replay.
    SuiteVersion,
    /// No actions.
    Empty,
    /// More actions than a demonstration's limit.
    TooLong,
    /// An action outside [-1, 1] or not a number.
    BadAction,
    /// Its replay does not succeed at the task.
    NotSuccessful,
    /// Its duration or date is not a plausible number.
    BadTiming,
    /// The same client id came before with another demonstration.
    IdConflict,
    // The dataset.
    /// The contributor withdrew this demonstration before: it stays out.
    Withdrawn,
    /// A live demonstration of the same instance has nearly the same actions: one
    /// demonstration nudged is not a second one.
    NearCopy,
    /// No such endpoint, demonstration or contributor.
    NotFound,
    /// The crowd's shared policy has no version yet.
    NoVersion,
    // The service.
    /// Verification is as busy as it can be: retry shortly.
    Overloaded,
    /// The database is away: retry shortly.
    Database,
    /// This service has no policy to choose tasks with.
    NoAssignments,
    /// The policy could not be loaded.
    Policy,
    /// An assignment was lost on its way to the request.
    Assignments,
    /// The selector failed.
    Selector,
    /// A code this build does not know (a newer service's).
    #[serde(other)]
    Unknown,
}

impl RefusalCode {
    /// Every code but [`RefusalCode::Unknown`], in the enum's order.
    pub fn all() -> impl Iterator<Item = RefusalCode> {
        <RefusalCode as strum::IntoEnumIterator>::iter().filter(|code| *code != RefusalCode::Unknown)
    }

    /// The code as the JSON writes it (serde's and strum's snake case, one test holds
    /// them equal).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl std::fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every refusal's body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    pub error: RefusalCode,
    /// What happened, in words a person can act on.
    pub message: String,
    /// The stored demonstration the refusal is about (a withdrawn one's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
}

/// `GET /api/health`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub ok: bool,
    /// "sqlite" or "postgres".
    pub database: String,
    pub suite_version: u32,
    /// What verifies uploads: this program, its version and task suite.
    pub build: String,
    pub demonstrations: i64,
    pub contributors: i64,
    /// What is collected under which licence: the page shows it before asking consent.
    pub terms: Terms,
}

/// `POST /api/contributors`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewContributor {
    #[serde(default)]
    pub display_name: Option<String>,
    /// The licence the visitor agreed to (the service's, from [`Health::terms`]);
    /// without it their uploads are refused until they agree.
    #[serde(default)]
    pub licence: Option<String>,
}

/// The answer to [`NewContributor`]: an anonymous id and its secret token, shown once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registered {
    pub id: String,
    pub token: String,
    pub display_name: Option<String>,
    pub licence: Option<String>,
}

/// `PUT /api/contributors/me/licence`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    pub licence: String,
}

/// `PUT /api/contributors/me/leaderboard`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    pub listed: bool,
}

/// `PATCH /api/contributors/me` (no name: none).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `GET /api/contributors/me`: who the token's contributor is, and every demonstration
/// they contributed (withdrawn ones too, marked).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    #[serde(default)]
    pub id: String,
    pub display_name: Option<String>,
    #[serde(default)]
    pub licence: Option<String>,
    /// They chose to be listed on the crowd's leaderboard.
    #[serde(default)]
    pub leaderboard: bool,
    pub demonstrations: Vec<Contributed>,
}

/// `GET /api/demonstrations`: the contributor's own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OwnDemonstrations {
    pub demonstrations: Vec<Contributed>,
}

/// A stored demonstration as its contributor or the operator sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contributed {
    pub id: i64,
    pub client_id: String,
    #[serde(default)]
    pub contributor_id: String,
    pub task: String,
    pub seed: u64,
    pub steps: usize,
    pub received_ms: i64,
    #[serde(default)]
    pub verified_by: String,
    pub withdrawn: bool,
}

/// What a verified upload came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadStatus {
    /// Stored now.
    Stored,
    /// The same content was stored already (a retry, or another contributor's).
    Duplicate,
}

/// The answer to `POST /api/demonstrations` (201 stored, 200 a duplicate).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Uploaded {
    pub id: i64,
    pub status: UploadStatus,
    pub verified_by: String,
    /// Measured on the replay that verified it (none from a service before the
    /// measures).
    #[serde(default)]
    pub quality: Option<Quality>,
    /// Set where the same content came from another contributor: it is not theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contributed_by: Option<String>,
}

impl Uploaded {
    /// What [`Uploaded::contributed_by`] says of another contributor's copy.
    pub const ANOTHER_CONTRIBUTOR: &'static str = "another contributor";

    /// The same content was in the dataset already, from another contributor.
    pub fn by_another(&self) -> bool {
        self.contributed_by.is_some()
    }
}

/// `POST /api/assignments`: asks for a task, or records the visitor's own choice.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRequest {
    /// The lease the visitor declines (asking for another task).
    #[serde(default)]
    pub decline: Option<String>,
    /// The task the visitor chose themselves, by name.
    #[serde(default)]
    pub task: Option<String>,
    /// The episode's seed the visitor's own choice goes with.
    #[serde(default)]
    pub seed: Option<u32>,
}

/// Who chose a lease's task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TaskChooser {
    /// The crowd's selector.
    Selector,
    /// The visitor, choosing for themselves.
    Visitor,
}

impl TaskChooser {
    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn from_name(name: &str) -> Option<TaskChooser> {
        name.parse().ok()
    }
}

/// How a lease stands or ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum LeaseState {
    /// Given, not yet answered (it counts as in flight until it expires).
    Open,
    /// Answered by a verified demonstration.
    Fulfilled,
    /// The visitor asked for another task.
    Declined,
    /// The visitor (or their address) was given a newer lease.
    Superseded,
}

impl LeaseState {
    /// The state as the JSON and the database write it.
    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn from_name(name: &str) -> Option<LeaseState> {
        name.parse().ok()
    }
}

/// The answer to [`AssignmentRequest`]: the task, and the lease it is held under.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leased {
    pub lease: String,
    /// When the lease ends, in ms since the epoch.
    pub expires_ms: i64,
    pub chosen_by: TaskChooser,
    pub assignment: Assignment,
    /// The shared policy's version the service assigned with (0: the pre-trained one).
    #[serde(default)]
    pub version: i64,
}

/// A version of the crowd's shared policy (its weights are read apart, from
/// `GET /api/policy`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub id: i64,
    #[serde(default)]
    pub created_ms: i64,
    /// Demonstrations it was trained on.
    pub demonstrations: i64,
    /// The last demonstration id it was trained through.
    #[serde(default)]
    pub last_demonstration_id: i64,
    /// Success per task, assessed by rollouts.
    pub success: Vec<f64>,
    /// Success weighted by the targets.
    pub mean_success: f64,
    pub train_seconds: f64,
}

/// How many leases of a task, chosen by the selector or the visitor, ended how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaseCount {
    pub chosen_by: TaskChooser,
    pub task: String,
    pub state: LeaseState,
    pub count: i64,
}

/// A contributor on the crowd's leaderboard: the name they chose, and the demonstrations
/// they made by hand that the service verified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standing {
    pub display_name: String,
    pub demonstrations: i64,
}

/// `GET /api/crowd`: where the crowd stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrowdStatus {
    /// The suite's task names, in its order (every per-task list below follows it).
    #[serde(default)]
    pub tasks: Vec<String>,
    /// Verified demonstrations per task, withdrawn ones not counted.
    pub demonstrations: Vec<usize>,
    /// Assignments in flight per task.
    pub pending: Vec<usize>,
    /// The shared policy's success per task (none before its first assessment).
    pub success: Option<Vec<f64>>,
    /// The pre-trained policy's success per task, once the service assessed it (where
    /// the crowd's curve starts).
    #[serde(default)]
    pub prior_success: Option<Vec<f64>>,
    #[serde(default)]
    pub contributors: i64,
    /// Uploads the answering instance refused since it started, by reason.
    #[serde(default)]
    pub rejected: std::collections::BTreeMap<RefusalCode, u64>,
    /// The shared policy's version assignments use (0: the pre-trained one; -1: none
    /// loaded yet).
    #[serde(default)]
    pub version: i64,
    /// This instance is training a version now.
    #[serde(default)]
    pub training: bool,
    /// The shared policy's versions, oldest first: the crowd's learning curve.
    #[serde(default)]
    pub versions: Vec<PolicyVersion>,
    /// The selector's name.
    pub selector: String,
    /// The selector conditions on the leases in flight.
    pub pending_aware: bool,
    pub lease_seconds: u64,
    /// `mu(c)` per task, the operator's targets.
    #[serde(default)]
    pub target_weights: Vec<f64>,
    pub leases: Vec<LeaseCount>,
    /// The demonstrations the crowd sets out to collect.
    #[serde(default)]
    pub goal: usize,
    /// Contributors who chose to be listed, by name, most demonstrations first.
    #[serde(default)]
    pub leaderboard: Vec<Standing>,
}

/// `GET /api/operator/quality`: the pool's quality as the operator reviews it
/// (computed by [`super::review::review`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityReview {
    /// The quality measures' version the scores are of.
    pub version: u32,
    /// Live demonstrations, and those among them with no score of this version yet
    /// (`amf quality` measures them).
    pub demonstrations: usize,
    pub unmeasured: usize,
    /// Per task that has demonstrations, in the suite's order.
    pub tasks: Vec<TaskQuality>,
    /// The contributors, flagged ones first, then by their median score, lowest first
    /// (at most [`super::review::CONTRIBUTORS_LISTED`]).
    pub contributors: Vec<ContributorQuality>,
    /// Contributors in all.
    pub contributors_total: usize,
    /// The lowest-scoring demonstrations, lowest first (at most
    /// [`super::review::WORST_LISTED`]).
    pub worst: Vec<ReviewedDemonstration>,
    /// What the latest version of the shared policy this instance trained makes of the
    /// demonstrations it trained on (none before this instance trains one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<PolicyAgreement>,
}

/// How well a version of the shared policy agrees with the demonstrations it trained
/// on ([`crate::curation::agreement`]): a demonstration the policy fits worse than its
/// task's typical one is under 1. Judged by the policy, so it changes with each version
/// and is not stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyAgreement {
    /// The version that judged.
    pub version: i64,
    /// The live demonstrations it judged (those it trained on, less any withdrawn since).
    pub judged: usize,
    /// The ones it agrees with least, least first (at most
    /// [`super::review::WORST_LISTED`]).
    pub least: Vec<AgreeingDemonstration>,
}

/// A demonstration as a version of the shared policy judged it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgreeingDemonstration {
    pub id: i64,
    pub task: String,
    pub contributor: String,
    /// Its quality score, if measured by this version of the measures.
    pub score: Option<f64>,
    /// Its weight by agreement, 1 for its task's typical demonstration.
    pub agreement: f64,
}

/// One task's scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskQuality {
    pub task: String,
    pub demonstrations: usize,
    /// Scores in ten equal bins of [0, 1].
    pub histogram: Vec<usize>,
    /// The 10th, 50th and 90th percentiles (none without a score).
    pub p10: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

/// One contributor's demonstrations, as their quality and pace show them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContributorQuality {
    /// The service's anonymous id.
    pub contributor: String,
    pub demonstrations: usize,
    pub median: Option<f64>,
    /// Their scored demonstrations under their task's 10th percentile, a share.
    pub low_share: f64,
    /// Their most uploads within any [`super::review::BURST_WINDOW_MS`].
    pub busiest_window: usize,
    pub flags: Vec<ReviewFlag>,
}

/// Why a contributor is worth the operator's look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewFlag {
    /// More uploads within the burst window than a person demonstrating back to back
    /// makes.
    Burst,
    /// Most of their demonstrations score under their task's 10th percentile.
    Poor,
}

/// A demonstration in the review's list of the worst.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewedDemonstration {
    pub id: i64,
    pub task: String,
    pub contributor: String,
    pub score: f64,
}

/// `POST /api/operator/withdraw`: withdraws the listed demonstrations, or every live
/// one scoring under `below` (of `task` only, if named). One of the two.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
}

/// The answer to a [`WithdrawRequest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WithdrawnCount {
    pub withdrawn: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::TaskScore;
    use crate::tasks::TaskId;
    use serde::de::DeserializeOwned;

    /// Written as JSON and read back, `value` is itself.
    fn round_trips<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: T) {
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value, "{json}");
    }

    #[test]
    fn every_message_round_trips() {
        let terms = Terms::new("CC-BY-4.0").unwrap();
        round_trips(Refusal { error: RefusalCode::Withdrawn, message: "gone".into(), id: Some(4) });
        round_trips(Refusal { error: RefusalCode::RateLimited, message: "slow down".into(), id: None });
        round_trips(Health { ok: true, database: "sqlite".into(), suite_version: 3, build: "b".into(), demonstrations: 2, contributors: 1, terms: terms.clone() });
        round_trips(NewContributor { display_name: Some("Ada".into()), licence: Some(terms.licence.clone()) });
        round_trips(Registered { id: "i".into(), token: "t".into(), display_name: None, licence: Some(terms.licence.clone()) });
        round_trips(Agreement { licence: terms.licence.clone() });
        round_trips(Listing { listed: true });
        round_trips(Rename { display_name: None });
        let contributed = Contributed {
            id: 7,
            client_id: "abcdefgh".into(),
            contributor_id: "c".into(),
            task: "push".into(),
            seed: 3,
            steps: 90,
            received_ms: 5,
            verified_by: "b".into(),
            withdrawn: false,
        };
        round_trips(Account { id: "c".into(), display_name: None, licence: None, leaderboard: false, demonstrations: vec![contributed.clone()] });
        round_trips(OwnDemonstrations { demonstrations: vec![contributed] });
        round_trips(Uploaded { id: 1, status: UploadStatus::Duplicate, verified_by: "b".into(), quality: None, contributed_by: Some(Uploaded::ANOTHER_CONTRIBUTOR.into()) });
        round_trips(AssignmentRequest { decline: Some("l".into()), task: Some("push".into()), seed: Some(9) });
        let assignment = Assignment {
            task: TaskId::DoorOpen,
            seed: 11,
            reason: "why".into(),
            scores: vec![TaskScore { task: TaskId::DoorOpen.index(), name: TaskId::DoorOpen.name().into(), score: 0.5, proxy: None }],
            success: vec![0.25; 2],
            demonstrations: vec![1, 0],
            pending: vec![0, 1],
        };
        round_trips(Leased { lease: "l".into(), expires_ms: 1_000_000_000_000, chosen_by: TaskChooser::Selector, assignment, version: 2 });
        let version = PolicyVersion { id: 1, created_ms: 2, demonstrations: 10, last_demonstration_id: 10, success: vec![0.5], mean_success: 0.5, train_seconds: 3.0 };
        round_trips(CrowdStatus {
            tasks: vec!["push".into()],
            demonstrations: vec![10],
            pending: vec![1],
            success: Some(vec![0.5]),
            prior_success: None,
            contributors: 3,
            rejected: [(RefusalCode::NotSuccessful, 2)].into_iter().collect(),
            version: 1,
            training: false,
            versions: vec![version],
            selector: "amf".into(),
            pending_aware: true,
            lease_seconds: 600,
            target_weights: vec![1.0],
            leases: vec![LeaseCount { chosen_by: TaskChooser::Visitor, task: "push".into(), state: LeaseState::Fulfilled, count: 4 }],
            goal: 100,
            leaderboard: vec![Standing { display_name: "Ada".into(), demonstrations: 4 }],
        });
        round_trips(QualityReview {
            version: 1,
            demonstrations: 3,
            unmeasured: 1,
            tasks: vec![TaskQuality { task: "push".into(), demonstrations: 3, histogram: vec![0, 1, 0, 0, 0, 0, 0, 0, 1, 0], p10: Some(0.1), median: Some(0.5), p90: Some(0.8) }],
            contributors: vec![ContributorQuality { contributor: "c".into(), demonstrations: 3, median: None, low_share: 0.5, busiest_window: 3, flags: vec![ReviewFlag::Burst, ReviewFlag::Poor] }],
            contributors_total: 1,
            worst: vec![ReviewedDemonstration { id: 2, task: "push".into(), contributor: "c".into(), score: 0.1 }],
            agreement: Some(PolicyAgreement {
                version: 4,
                judged: 3,
                least: vec![AgreeingDemonstration { id: 2, task: "push".into(), contributor: "c".into(), score: None, agreement: 0.4 }],
            }),
        });
        round_trips(WithdrawRequest { ids: vec![1, 2], below: None, task: None });
        round_trips(WithdrawRequest { ids: vec![], below: Some(0.2), task: Some("push".into()) });
        round_trips(WithdrawnCount { withdrawn: 3 });
    }

    /// A page cached from before a field was added still talks to this service, and
    /// this page to an older or a newer one: a request without the newer fields reads
    /// as their defaults (a registration before consent was asked, an assignment asked
    /// for before visitors chose tasks), and an answer with fields this build does not
    /// know, or without those it added, reads too.
    #[test]
    fn older_and_newer_sides_read_each_other() {
        let registration: NewContributor = serde_json::from_str(r#"{"display_name": "Ada"}"#).unwrap();
        assert_eq!(registration, NewContributor { display_name: Some("Ada".into()), licence: None });
        assert_eq!(serde_json::from_str::<AssignmentRequest>("{}").unwrap(), AssignmentRequest::default());
        let declined: AssignmentRequest = serde_json::from_str(r#"{"decline": "lease-1"}"#).unwrap();
        assert_eq!((declined.decline.as_deref(), declined.task, declined.seed), (Some("lease-1"), None, None));
        // A request with a field this service does not take is refused, not half-read.
        assert!(serde_json::from_str::<AssignmentRequest>(r#"{"decline": null, "urgent": true}"#).is_err());
        // Answers: an older service's without the version it assigned with, a newer
        // one's with a field added.
        let leased = serde_json::json!({
            "lease": "l", "expires_ms": 1, "chosen_by": "selector",
            "assignment": { "task": "push", "seed": 3, "reason": "", "scores": [], "success": [], "demonstrations": [], "pending": [] },
        });
        assert_eq!(serde_json::from_value::<Leased>(leased.clone()).unwrap().version, 0);
        let mut newer = leased;
        newer["priority"] = 3.into();
        assert!(serde_json::from_value::<Leased>(newer).is_ok());
        let uploaded: Uploaded = serde_json::from_str(r#"{"id": 4, "status": "stored", "verified_by": "b"}"#).unwrap();
        assert_eq!((uploaded.id, uploaded.quality), (4, None));
    }

    #[test]
    fn codes_and_states_are_written_as_their_names() {
        for code in RefusalCode::all() {
            assert_eq!(serde_json::to_value(code).unwrap(), code.name(), "{code:?}");
            assert_eq!(serde_json::from_value::<RefusalCode>(code.name().into()).unwrap(), code);
        }
        let names: std::collections::HashSet<_> = RefusalCode::all().map(|c| c.name()).collect();
        assert_eq!(names.len(), RefusalCode::all().count(), "every code once");
        assert_eq!((RefusalCode::all().count(), RefusalCode::Unknown.name()), (31, "unknown"));
        // A newer service's code reads as unknown, not as a failure to read the refusal.
        let refusal: Refusal = serde_json::from_str(r#"{"error": "a_new_reason", "message": "m"}"#).unwrap();
        assert_eq!(refusal.error, RefusalCode::Unknown);
        for state in <LeaseState as strum::IntoEnumIterator>::iter() {
            assert_eq!(serde_json::to_value(state).unwrap(), state.name());
            assert_eq!(LeaseState::from_name(state.name()), Some(state));
        }
        for chooser in [TaskChooser::Selector, TaskChooser::Visitor] {
            assert_eq!(serde_json::to_value(chooser).unwrap(), chooser.name());
            assert_eq!(TaskChooser::from_name(chooser.name()), Some(chooser));
        }
    }
}
