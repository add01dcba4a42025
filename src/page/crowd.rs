//! The page's side of crowdsourced collection: whether a collection service serves this
//! page, the contributor's credentials and consent, and the outbox: every counted
//! demonstration's sync state (queued, verified, rejected) is its dataset entry's, kept
//! in IndexedDB beside the demonstration so it survives reloads and outages. One upload
//! at a time, transient failures retried with exponential backoff (`outbox`); a refusal
//! is final and shows its reason. The account, the assignment and the dashboard are
//! components of their own, mapped in here.


use serde::{Deserialize, Serialize};

use super::action::{Action, Effect};
use super::state::{NoticeKind, PageState};
pub use crate::crowd::contract::{Account, Contributed, CrowdStatus, Leased};
use crate::crowd::contract::RefusalCode;
pub use crate::terms::Terms;
use crate::experiment::CurvePoint;
use crate::session::ChosenBy;
use crate::tasks::TaskId;
use crate::quality::Quality;


/// Where the page's demonstrations go besides this browser.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum CrowdMode {
    /// Not known yet.
    #[default]
    Unknown,
    /// No collection service serves the page (a plain static site).
    LocalOnly,
    /// A collection service serves the page: demonstrations are contributed.
    Service,
}

/// What the page found out about a collection service when it loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceProbe {
    /// No service serves this page (a static site): nothing is asked.
    Absent,
    /// A service served the page but does not answer now.
    Down,
    /// It answers, collecting under these terms.
    Up(Terms),
}

/// What the visitor answered when asked to contribute under the service's licence.
/// Nothing leaves the browser for the service before they agree.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "answer")]
pub enum Consent {
    /// Not asked yet (or asked again: the licence changed).
    #[default]
    Unasked,
    Agreed { licence: String },
    /// They keep their demonstrations in this browser; they may change their mind.
    Declined,
}

/// A contributor's id and secret token, issued by the service on first contact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    pub id: String,
    pub token: String,
}

/// One demonstration's state in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    Queued,
    /// The service replayed and stored it (its id there).
    Verified { id: i64 },
    /// The service refused it, for good.
    Rejected { code: RefusalCode, reason: String },
    /// It was verified, then its contributor withdrew it from the service.
    Withdrawn { id: i64 },
    /// The same demonstration is in the crowd's dataset already, contributed by someone
    /// else (two visitors importing one file): it counts as theirs, not this visitor's.
    Elsewhere { id: i64 },
    /// Not this visitor's contribution (an imported file's, or the autopilot's scripted
    /// run): it stays in this browser, and a service found later does not take it.
    NotContributed,
}

impl SyncState {
    /// The demonstration's id on the service, once it was stored there.
    pub fn service_id(&self) -> Option<i64> {
        match self {
            SyncState::Verified { id } | SyncState::Withdrawn { id } => Some(*id),
            _ => None,
        }
    }
}

/// What an upload came to.
#[derive(Clone, Debug, PartialEq)]
pub enum UploadOutcome {
    /// Stored, with its quality as the service measured it (a service from before the
    /// measures sends none).
    Stored { id: i64, quality: Option<Quality> },
    /// The same content is in the dataset already, from another contributor.
    StoredByAnother { id: i64 },
    /// This contributor withdrew this demonstration before: it stays out.
    WithdrawnBefore { id: i64 },
    /// Refused for a reason a retry cannot change.
    Rejected { code: RefusalCode, reason: String },
    /// Not now (the service is down, busy or rate-limiting): try again later, after
    /// `after_ms` if the service said.
    Retry { why: String, after_ms: Option<u32> },
}

/// What the visitor's last verified demonstration did for the crowd, shown until they
/// dismiss it or demonstrate again.
#[derive(Clone, Debug, PartialEq)]
pub struct Feedback {
    pub task: TaskId,
    /// The crowd's version of the shared policy when it was verified: a newer one
    /// since is the crowd's policy moving.
    pub version_then: i64,
    /// How it went, as the service measured it.
    pub quality: Option<Quality>,
}

/// Days in a row, up to today or yesterday (UTC), with a demonstration recorded on each,
/// from the demonstrations' times (ms since the epoch): a visitor's streak.
pub fn streak_days(recorded_ms: &[f64], now_ms: f64) -> u32 {
    const DAY_MS: f64 = 86_400_000.0;
    let day = |ms: f64| (ms / DAY_MS).floor() as i64;
    let days: std::collections::BTreeSet<i64> = recorded_ms.iter().map(|&ms| day(ms)).collect();
    let today = day(now_ms);
    // A streak still stands on a day with no demonstration yet.
    let mut current = if days.contains(&today) { today } else { today - 1 };
    let mut streak = 0;
    while days.contains(&current) {
        streak += 1;
        current -= 1;
    }
    streak
}

impl CrowdStatus {
    /// The crowd's learning curve: the shared policy's success per task against the
    /// demonstrations it was trained on, from the pre-trained policy (when assessed)
    /// through every version.
    pub fn curve(&self) -> Vec<CurvePoint> {
        let prior = self.prior_success.as_ref().map(|success| CurvePoint {
            demonstrations: 0,
            mean_success: if self.target_weights.len() == success.len() {
                crate::experiment::weighted_mean(success, &self.target_weights)
            } else {
                crate::experiment::weighted_mean(success, &vec![1.0; success.len()])
            },
            per_task: success.clone(),
            mean_error: None,
        });
        prior
            .into_iter()
            .chain(self.versions.iter().map(|v| CurvePoint {
                demonstrations: v.demonstrations.max(0) as usize,
                per_task: v.success.clone(),
                mean_success: v.mean_success,
                mean_error: None,
            }))
            .collect()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Crowd {
    pub mode: CrowdMode,
    /// What the service collects under which licence (none: not heard from it yet).
    pub terms: Option<Terms>,
    /// The visitor's answer to contributing under those terms.
    pub consent: Consent,
    /// A known contributor's agreement is on its way to the service.
    pub agreeing: bool,
    pub credentials: Option<Credentials>,
    /// Registration is under way.
    pub registering: bool,
    /// What the visitor's last verified demonstration did for the crowd.
    pub feedback: Option<Feedback>,
    /// The version of the crowd's shared policy this page holds (none yet), and whether
    /// a newer one is being fetched.
    pub shared_version: Option<i64>,
    pub fetching_shared: bool,
}

impl Crowd {
    /// The visitor agreed to the licence the service collects under (or, while it has
    /// not answered yet this visit, to one before: an upload then finds out).
    pub fn consented(&self) -> bool {
        match (&self.consent, &self.terms) {
            (Consent::Agreed { licence }, Some(terms)) => *licence == terms.licence,
            (Consent::Agreed { .. }, None) => true,
            _ => false,
        }
    }

    /// The page should ask the visitor now: a service collects, and they have not
    /// answered under its present terms.
    pub fn asks_consent(&self) -> bool {
        self.mode == CrowdMode::Service && self.terms.is_some() && !self.consented() && self.consent != Consent::Declined
    }
}

/// The id an upload carries: stable for a demonstration (its content's fingerprint),
/// so a retry after a reload is known to the service as the same upload.
pub fn client_id(record: &crate::record::DemonstrationRecord) -> String {
    format!("fp-{}", &record.fingerprint()[..40])
}

impl PageState {
    /// What the page's probe found: no service (a static site), or one that is up, or
    /// down just now (a browser that contributed before keeps its outbox and retries).
    /// Nothing is sent before the visitor agrees to the service's licence: until then
    /// their demonstrations wait in the outbox, and the session proposes tasks itself.
    pub(super) fn service_probed(&mut self, probe: ServiceProbe, fx: &mut Vec<Effect>) {
        let up = match probe {
            ServiceProbe::Absent => false,
            ServiceProbe::Down if self.crowd.credentials.is_none() => false,
            ServiceProbe::Down => {
                self.crowd.mode = CrowdMode::Service;
                false
            }
            ServiceProbe::Up(terms) => {
                self.crowd.mode = CrowdMode::Service;
                self.crowd.terms = Some(terms);
                true
            }
        };
        if self.crowd.mode != CrowdMode::Service {
            self.crowd.mode = CrowdMode::LocalOnly;
            return;
        }
        // Every stored demonstration not yet synced joins the outbox (those marked as not
        // this visitor's contribution have a state already).
        for entry in self.dataset.entries.iter_mut().filter(|e| e.key.is_some() && e.sync.is_none()) {
            entry.sync = Some(SyncState::Queued);
        }
        if up {
            // The crowd's shared policy is only read: it is no contribution.
            self.crowd.fetching_shared = true;
            fx.push(Effect::FetchSharedPolicy);
        }
        if !self.crowd.consented() {
            return;
        }
        if self.crowd.credentials.is_none() {
            self.register(fx);
        } else if up {
            self.ask_for_assignment(fx);
        }
        self.pump(fx);
    }

    fn register(&mut self, fx: &mut Vec<Effect>) {
        if let Consent::Agreed { licence } = &self.crowd.consent {
            self.crowd.registering = true;
            fx.push(Effect::Register { licence: licence.clone() });
        }
    }

    /// The visitor answered: agreed, they are registered (or, known to the service from
    /// before consent was asked, their agreement is sent) and their outbox goes; said no,
    /// everything stays here.
    pub(super) fn answer_consent(&mut self, agreed: bool, fx: &mut Vec<Effect>) {
        let Some(terms) = self.crowd.terms.clone() else { return };
        if !agreed {
            self.crowd.consent = Consent::Declined;
            fx.push(Effect::StoreConsent(Consent::Declined));
            return;
        }
        self.crowd.consent = Consent::Agreed { licence: terms.licence.clone() };
        fx.push(Effect::StoreConsent(self.crowd.consent.clone()));
        match self.crowd.credentials.clone() {
            None if !self.crowd.registering => self.register(fx),
            None => {}
            Some(credentials) => {
                self.crowd.agreeing = true;
                fx.push(Effect::AgreeToLicence { token: credentials.token, licence: terms.licence });
            }
        }
    }

    pub(super) fn reconsider_consent(&mut self, fx: &mut Vec<Effect>) {
        if self.crowd.consent == Consent::Declined {
            self.crowd.consent = Consent::Unasked;
            fx.push(Effect::StoreConsent(Consent::Unasked));
        }
    }

    pub(super) fn licence_agreed(&mut self, result: Result<(), String>, fx: &mut Vec<Effect>) {
        self.crowd.agreeing = false;
        match result {
            Ok(()) => {
                self.outbox.reached();
                if self.assignment.leased.is_none() {
                    self.ask_for_assignment(fx);
                }
                self.pump(fx);
            }
            Err(error) => {
                // Asked again (after a reload too): the service did not record the answer.
                self.crowd.consent = Consent::Unasked;
                fx.push(Effect::StoreConsent(Consent::Unasked));
                self.notify(NoticeKind::Error, format!("The collection service did not record your agreement ({error}); your demonstrations stay here until it does."));
            }
        }
    }

    pub(super) fn registered(&mut self, result: Result<Credentials, String>, fx: &mut Vec<Effect>) {
        self.crowd.registering = false;
        match result {
            Ok(credentials) => {
                fx.push(Effect::StoreCredentials(credentials.clone()));
                self.crowd.credentials = Some(credentials);
                if self.assignment.leased.is_none() {
                    self.ask_for_assignment(fx);
                }
                self.pump(fx);
            }
            Err(error) => {
                self.notify(NoticeKind::Error, format!("The collection service did not register you ({error}); your demonstrations stay here and are sent once it does."));
                self.schedule_retry(None, fx);
            }
        }
    }

    /// A demonstration was counted with storage key `key`: it joins the outbox if it is
    /// the visitor's own contribution (`contribution`: a person demonstrated it in this
    /// page); otherwise it is marked as staying here.
    pub(super) fn offer(&mut self, key: Option<u32>, contribution: bool, fx: &mut Vec<Effect>) {
        match (key, contribution) {
            (_, true) => self.enqueue(key, fx),
            (Some(key), false) => self.set_sync(key, SyncState::NotContributed, fx),
            (None, false) => {}
        }
    }

    /// A demonstration was counted with storage key `key`: it joins the outbox.
    fn enqueue(&mut self, key: Option<u32>, fx: &mut Vec<Effect>) {
        if let (Some(key), CrowdMode::Service) = (key, &self.crowd.mode) {
            self.set_sync(key, SyncState::Queued, fx);
            self.pump(fx);
        }
    }

    /// The demonstration stored under `key` (if it is still in the dataset) stands so
    /// with the service, here and in storage.
    fn set_sync(&mut self, key: u32, state: SyncState, fx: &mut Vec<Effect>) {
        if let Some(entry) = self.dataset.by_key_mut(key) {
            entry.sync = Some(state.clone());
            fx.push(Effect::StoreSync { key, state });
        }
    }

    /// Sends the next queued demonstration, if nothing is under way or waiting.
    pub(super) fn pump(&mut self, fx: &mut Vec<Effect>) {
        let crowd = &self.crowd;
        if crowd.mode != CrowdMode::Service || crowd.agreeing || !crowd.consented() {
            return;
        }
        let Some(credentials) = crowd.credentials.clone() else { return };
        let Some(entry) = self.outbox.next(&self.dataset.entries) else { return };
        let (key, record) = (entry.key.expect("found by key"), entry.record.clone());
        fx.push(Effect::Upload { key, client_id: client_id(&record), record, token: credentials.token });
    }

    pub(super) fn uploaded(&mut self, key: u32, outcome: UploadOutcome, fx: &mut Vec<Effect>) {
        if !self.outbox.answered(key) {
            return;
        }
        let mut quality = None;
        let state = match outcome {
            UploadOutcome::Stored { id, quality: measured } => {
                quality = measured;
                SyncState::Verified { id }
            }
            UploadOutcome::StoredByAnother { id } => SyncState::Elsewhere { id },
            UploadOutcome::WithdrawnBefore { id } => SyncState::Withdrawn { id },
            // The service asks for an agreement it does not hold (a contributor from
            // before consent was asked, or a changed licence): the demonstration waits,
            // and the visitor is asked.
            UploadOutcome::Rejected { code: RefusalCode::Licence, .. } => {
                self.crowd.consent = Consent::Unasked;
                fx.push(Effect::StoreConsent(Consent::Unasked));
                self.notify(NoticeKind::Info, "The crowd asks you to agree to the licence its dataset is published under before it takes your demonstrations; they wait here until you answer.".to_string());
                return;
            }
            UploadOutcome::Rejected { code, reason } => {
                let number = self.dataset.entries.iter().position(|e| e.key == Some(key)).map_or(0, |i| i + 1);
                self.notify(NoticeKind::Error, format!("The collection service refused demonstration {number}: {reason}. It stays in your dataset here."));
                if code == RefusalCode::Unauthorised {
                    // The service forgot this contributor (a new database): register again.
                    self.crowd.credentials = None;
                    self.register(fx);
                    return;
                }
                SyncState::Rejected { code, reason }
            }
            UploadOutcome::Retry { why: _, after_ms } => return self.schedule_retry(after_ms, fx),
        };
        self.outbox.reached();
        if let SyncState::Verified { .. } = state {
            // What it did for the crowd: read the crowd's state to show it.
            if let Some(entry) = self.dataset.entries.iter().find(|e| e.key == Some(key)) {
                let version_then = self.dashboard.version();
                self.crowd.feedback = Some(Feedback { task: entry.record.task, version_then, quality });
                self.dashboard(super::dashboard::DashboardMsg::Refresh, fx);
            }
        }
        // The service answers again: the crowd's assignment, if it was missed.
        if self.assignment.leased.is_none() {
            self.ask_for_assignment(fx);
        }
        self.set_sync(key, state, fx);
        self.pump(fx);
    }

    fn schedule_retry(&mut self, after_ms: Option<u32>, fx: &mut Vec<Effect>) {
        let after_ms = self.outbox.retry(after_ms);
        fx.push(Effect::Schedule { after_ms, action: Box::new(Action::SyncTick) });
    }

    pub(super) fn sync_tick(&mut self, fx: &mut Vec<Effect>) {
        self.outbox.tick();
        if self.crowd.mode == CrowdMode::Service && self.crowd.credentials.is_none() && !self.crowd.registering {
            self.register(fx);
            return;
        }
        self.pump(fx);
    }
}

impl PageState {
    /// This browser's demonstrations the service verified as the visitor's own, and
    /// their streak of days.
    pub fn own_verified(&self, now_ms: f64) -> (usize, u32) {
        let times: Vec<f64> = self
            .dataset
            .entries
            .iter()
            .filter(|e| matches!(e.sync, Some(SyncState::Verified { .. })))
            .map(|e| e.record.recorded_at_ms)
            .collect();
        (times.len(), streak_days(&times, now_ms))
    }

    /// The account's component handles `msg` with the contributor's token; its requests
    /// become the page's effects, and what it tells is carried out here: a withdrawn
    /// demonstration that came from this browser is marked so in the dataset (it stays
    /// here; only the service drops it).
    pub(super) fn account(&mut self, msg: super::account::AccountMsg, fx: &mut Vec<Effect>) {
        use super::account::Told;
        let token = self.crowd.credentials.as_ref().map(|c| c.token.clone());
        let (requests, told) = self.account.update(msg, token.as_deref());
        fx.extend(requests.into_iter().map(Effect::Account));
        for told in told {
            match told {
                Told::Error(text) => self.notify(NoticeKind::Error, text),
                Told::CrowdChanged => self.dashboard(super::dashboard::DashboardMsg::Refresh, fx),
                Told::Withdrawn(id) => {
                    for entry in self.dataset.entries.iter_mut().filter(|e| e.sync == Some(SyncState::Verified { id })) {
                        entry.sync = Some(SyncState::Withdrawn { id });
                        if let Some(key) = entry.key {
                            fx.push(Effect::StoreSync { key, state: SyncState::Withdrawn { id } });
                        }
                    }
                    self.notify(NoticeKind::Info, format!("Demonstration #{id} was withdrawn from the collection service; it stays in your dataset here."));
                }
            }
        }
    }

    /// The operator's component handles `msg`; its requests become the page's effects
    /// and what it tells, the page's notices and downloads.
    pub(super) fn operator(&mut self, msg: super::operator::OperatorMsg, fx: &mut Vec<Effect>) {
        use super::operator::Told;
        let (requests, told) = self.operator.update(msg);
        fx.extend(requests.into_iter().map(Effect::Operator));
        for told in told {
            match told {
                Told::Download { name, bytes } => fx.push(Effect::Download { name, mime: "application/json", bytes }),
                Told::Info(text) => self.notify(NoticeKind::Info, text),
                Told::Error(text) => self.notify(NoticeKind::Error, text),
            }
        }
    }
}

impl PageState {
    /// What the prompt asks for: the crowd's assignment when a service assigns, else
    /// the session's own proposal.
    pub fn proposal(&self) -> Option<TaskId> {
        match (&self.crowd.mode, self.assignment.task()) {
            (CrowdMode::Service, Some(task)) => Some(task),
            _ => self.session_proposal(),
        }
    }

    /// The assignment's component handles `msg`, with the contributor's token where the
    /// page may ask the service (a service, consent given and not being sent,
    /// registered); returns whether a lease was declined.
    pub(super) fn assignment(&mut self, msg: super::assignment::AssignmentMsg, fx: &mut Vec<Effect>) -> bool {
        use super::assignment::Told;
        let may_ask = self.crowd.mode == CrowdMode::Service && !self.crowd.agreeing && self.crowd.consented();
        let token = self.crowd.credentials.as_ref().filter(|_| may_ask).map(|c| c.token.clone());
        let (request, told) = self.assignment.update(msg, token.as_deref());
        if let Some(request) = request {
            fx.push(Effect::Assign(request));
        }
        let mut declined = false;
        for told in told {
            match told {
                Told::Version(version) => self.shared_version_seen(version, fx),
                Told::Assigned => self.autopilot_next(fx),
                Told::Error(text) => self.notify(NoticeKind::Error, text),
                Told::Declined => declined = true,
            }
        }
        declined
    }

    /// Asks the service for this visitor's next task.
    pub(super) fn ask_for_assignment(&mut self, fx: &mut Vec<Effect>) {
        self.assignment(super::assignment::AssignmentMsg::Ask { decline: None, choose: None }, fx);
    }

    /// The seed a demonstration of `task` starts from: the lease's for the crowd's
    /// assignment; a new one otherwise, and a task the visitor chose is leased to them.
    pub(super) fn demonstration_seed(&mut self, task: TaskId, chosen_by: ChosenBy, fx: &mut Vec<Effect>) -> u64 {
        let service = self.crowd.mode == CrowdMode::Service;
        if let Some(seed) = self.assignment.leased_seed(task, chosen_by).filter(|_| service) {
            return seed;
        }
        let seed = self.next_seed();
        if service && chosen_by == ChosenBy::Person {
            // The visitor's choice is leased to them with its seed (32-bit, as the service's).
            self.assignment(super::assignment::AssignmentMsg::Ask { decline: None, choose: Some((task, seed)) }, fx);
        }
        seed
    }

    /// A demonstration was counted: the next one is asked for.
    pub(super) fn assignment_done(&mut self, fx: &mut Vec<Effect>) {
        if self.crowd.mode == CrowdMode::Service {
            self.assignment(super::assignment::AssignmentMsg::Done, fx);
        }
    }
}

impl PageState {
    /// The dashboard's component handles `msg`; its requests become the page's effects,
    /// and a newer shared policy it finds is fetched.
    pub(super) fn dashboard(&mut self, msg: super::dashboard::DashboardMsg, fx: &mut Vec<Effect>) {
        use super::dashboard::{DashboardMsg, DashboardRequest, Told};
        let (requests, told) = self.dashboard.update(msg, self.crowd.mode == CrowdMode::Service);
        for request in requests {
            fx.push(match request {
                DashboardRequest::Fetch => Effect::FetchCrowd,
                DashboardRequest::TickAfter(after_ms) => Effect::Schedule { after_ms, action: Box::new(Action::Dashboard(DashboardMsg::Tick)) },
            });
        }
        for told in told {
            match told {
                Told::Error(text) => self.notify(NoticeKind::Error, text),
                Told::Version(version) => self.shared_version_seen(version, fx),
            }
        }
    }

    /// The crowd's fetch result: `fx` gets the fetch of the shared policy when the service
    /// uses a version newer than the page holds.
    pub(super) fn shared_version_seen(&mut self, version: i64, fx: &mut Vec<Effect>) {
        if version > self.crowd.shared_version.unwrap_or(0) && !self.crowd.fetching_shared {
            self.crowd.fetching_shared = true;
            fx.push(Effect::FetchSharedPolicy);
        }
    }

    /// The shared policy was loaded (its version; none: the crowd has no version yet).
    pub(super) fn shared_policy_loaded(&mut self, result: Result<Option<i64>, String>) {
        self.crowd.fetching_shared = false;
        match result {
            Ok(version) => self.crowd.shared_version = version.or(self.crowd.shared_version),
            Err(error) => self.notify(NoticeKind::Error, format!("The crowd's shared policy could not be loaded: {error}.")),
        }
    }
}
