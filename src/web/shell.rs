//! The page's shell: it holds the browser's resources (storage, workers, the stage, the
//! policies' files), feeds every event to the core's reducer ([`crate::page`]) as an
//! action, carries out the effects it returns, and publishes the new state to the
//! views. No decision is taken here.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;
use yew::Callback;

use super::stage::StageHandle;
use super::storage::{Storage, StoredSession};
use super::worker::{browser_has_webgpu, TrainingWorker, ToWorker, WorkerModule, WEBGPU_WORKER_URL};
use crate::assessment::policy_digest;
use crate::opening::Openings;
use crate::page::{Action, DemonstrationEnd, Effect, PageState, Restored, StorageError, Watched, WorkerId, WorkerSlot};
use crate::page::assignment::{AssignmentMsg, AssignmentRequest};
use crate::page::dashboard::DashboardMsg;
use crate::policy::{Checkpoint, CheckpointKind};

/// Name of the fine-tuned policy in storage.
const TUNED: &str = "fine-tuned";

pub struct Shell {
    state: RefCell<PageState>,
    queue: RefCell<VecDeque<Action>>,
    draining: Cell<bool>,
    publish: Box<dyn Fn(Rc<PageState>)>,
    storage: RefCell<Option<Rc<Storage>>>,
    /// The policies' files: the page checks their headers and hands them to workers,
    /// which alone link the network (to train, or to play one for the stage).
    prior: RefCell<Option<Rc<Vec<u8>>>>,
    /// The prior's shipped assessment file, handed to workers with the prior.
    prior_assessment: RefCell<Option<Rc<Vec<u8>>>>,
    tuned: RefCell<Option<Rc<Vec<u8>>>>,
    /// The crowd's shared policy, from the collection service.
    crowd_policy: RefCell<Option<Rc<Vec<u8>>>>,
    workers: RefCell<HashMap<WorkerId, TrainingWorker>>,
    stage: RefCell<Option<StageHandle>>,
}

impl Shell {
    pub fn new(publish: impl Fn(Rc<PageState>) + 'static) -> Rc<Shell> {
        Rc::new(Shell {
            state: RefCell::new(PageState::default()),
            queue: RefCell::new(VecDeque::new()),
            draining: Cell::new(false),
            publish: Box::new(publish),
            storage: RefCell::new(None),
            prior: RefCell::new(None),
            prior_assessment: RefCell::new(None),
            tuned: RefCell::new(None),
            crowd_policy: RefCell::new(None),
            workers: RefCell::new(HashMap::new()),
            stage: RefCell::new(None),
        })
    }

    /// Feeds `action` to the reducer and carries out its effects (and those of any
    /// action they raise at once), then publishes the state once.
    pub fn dispatch(self: &Rc<Self>, action: Action) {
        self.queue.borrow_mut().push_back(action);
        if self.draining.replace(true) {
            return;
        }
        loop {
            let Some(action) = self.queue.borrow_mut().pop_front() else { break };
            let effects = self.state.borrow_mut().update(action);
            for effect in effects {
                self.run(effect);
            }
        }
        self.draining.set(false);
        (self.publish)(Rc::new(self.state.borrow().clone()));
    }

    pub fn callback(self: &Rc<Self>) -> Callback<Action> {
        let shell = self.clone();
        Callback::from(move |action| shell.dispatch(action))
    }

    /// What the stage reports when a demonstration ends (deferred: the stage is busy
    /// stepping when it reports).
    pub fn demonstration_callback(self: &Rc<Self>) -> Callback<DemonstrationEnd> {
        let shell = self.clone();
        Callback::from(move |end| {
            let shell = shell.clone();
            spawn_local(async move { shell.dispatch(Action::DemonstrationEnded(end)) });
        })
    }

    pub fn set_stage(&self, stage: StageHandle) {
        *self.stage.borrow_mut() = Some(stage);
    }

    pub fn with_stage(&self, act: impl FnOnce(&StageHandle)) {
        if let Some(stage) = self.stage.borrow().as_ref() {
            act(stage);
        }
    }

    /// Reads the shipped policy (with its assessment and first proposals, if shipped)
    /// and what storage holds, then tells the reducer. The page's draws start from
    /// `seed` where the address names one, and from the browser's randomness otherwise.
    pub async fn load(
        self: &Rc<Self>,
        prior_bytes: Result<Vec<u8>, String>,
        assessment_bytes: Option<Vec<u8>>,
        openings_bytes: Option<Vec<u8>>,
        seed: Option<u64>,
    ) {
        // The training worker's module downloads and compiles while storage is read.
        let _ = super::worker::compile_cpu_module();
        *self.prior_assessment.borrow_mut() = assessment_bytes.map(Rc::new);
        let prior = prior_bytes.and_then(|bytes| match kind_of(&bytes)? {
            CheckpointKind::Pretrained => {
                *self.prior.borrow_mut() = Some(Rc::new(bytes));
                Ok(())
            }
            CheckpointKind::FineTuned { .. } => Err("the shipped policy is not a pre-trained one".into()),
        });
        // Proposals of another policy (a stale file beside a new one) are left out, as
        // the worker leaves out another policy's assessment.
        let digest = self.prior.borrow().as_ref().map(|bytes| policy_digest(bytes));
        let openings = openings_bytes.zip(digest).and_then(|(bytes, digest)| match Openings::from_json(&bytes, &digest) {
            Ok(openings) => Some(Rc::new(openings)),
            Err(error) => {
                gloo::console::warn!(format!("the shipped first proposals are not used: {error}"));
                None
            }
        });
        let storage = match Storage::open().await {
            Ok(storage) => {
                let storage = Rc::new(storage);
                *self.storage.borrow_mut() = Some(storage.clone());
                self.restore(&storage).await
            }
            Err(error) => Err(error),
        };
        let entropy = seed.unwrap_or_else(|| (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64);
        self.dispatch(Action::Loaded { prior, openings, storage, entropy, webgpu_in_browser: browser_has_webgpu() });
    }

    async fn restore(&self, storage: &Storage) -> Result<Restored, StorageError> {
        let StoredSession { session, standings, legacy } = storage.session().await?;
        let records = storage.demonstrations().await?;
        let tuned = storage.policy(TUNED).await?.map(|bytes| self.adopt_tuned(Rc::new(bytes)));
        let credentials = storage.credentials().await?;
        let sync = storage.sync_states().await?;
        let consent = storage.consent().await?;
        Ok(Restored { session, records, standings, legacy, tuned, credentials, sync, consent })
    }

    /// Keeps a fine-tuned policy file for the stage to play.
    fn adopt_tuned(&self, bytes: Rc<Vec<u8>>) -> Result<(), String> {
        match kind_of(&bytes)? {
            CheckpointKind::FineTuned { .. } => {
                *self.tuned.borrow_mut() = Some(bytes);
                Ok(())
            }
            CheckpointKind::Pretrained => Err("it is not a fine-tuned policy".into()),
        }
    }

    fn storage(&self) -> Option<Rc<Storage>> {
        self.storage.borrow().clone()
    }

    /// Runs an asynchronous storage call and dispatches its reply, if it has one.
    fn later<F: std::future::Future<Output = Option<Action>> + 'static>(self: &Rc<Self>, work: impl FnOnce(Rc<Storage>) -> F + 'static) {
        let Some(storage) = self.storage() else { return };
        let shell = self.clone();
        spawn_local(async move {
            if let Some(action) = work(storage).await {
                shell.dispatch(action);
            }
        });
    }

    /// Runs `work` (a request to the collection service) and dispatches its answer.
    fn answer(self: &Rc<Self>, work: impl std::future::Future<Output = Action> + 'static) {
        let shell = self.clone();
        spawn_local(async move { shell.dispatch(work.await) });
    }

    fn run(self: &Rc<Self>, effect: Effect) {
        match effect {
            Effect::StoreDemonstration { id, record } => {
                self.later(move |s| async move { Some(Action::DemonstrationStored { id, result: s.add_demonstration(&record).await }) })
            }
            Effect::DeleteDemonstration { key } => {
                self.later(move |s| async move { Some(Action::DemonstrationDeleted { result: s.delete_demonstration(key).await }) })
            }
            Effect::StoreSession { session, standings } => {
                self.later(move |s| async move { Some(Action::SessionStored(s.put_session(&session, &standings).await)) })
            }
            Effect::StorePolicy(bytes) => self.later(move |s| async move { Some(Action::PolicyStored(s.put_policy(TUNED, &bytes).await)) }),
            Effect::ClearStorage => self.later(|s| async move { Some(Action::StorageCleared(s.clear().await)) }),
            Effect::SpawnWorker(id) => self.spawn(id),
            Effect::TerminateWorker(id) => {
                // Dropping the handle terminates the worker.
                self.workers.borrow_mut().remove(&id);
            }
            Effect::Post(id, message) => {
                let sent = self.workers.borrow().get(&id).map(|w| w.send(&message));
                if let Some(Err(error)) = sent {
                    self.queue.borrow_mut().push_back(Action::WorkerDied { worker: id, message: format!("a message could not be sent to it: {error}") });
                }
            }
            Effect::AdoptTuned(bytes) => match bytes {
                Some(bytes) => {
                    if let Err(error) = self.adopt_tuned(bytes) {
                        self.queue.borrow_mut().push_back(Action::TunedUnreadable(error));
                    }
                }
                None => *self.tuned.borrow_mut() = None,
            },
            Effect::StartDemonstration { task, seed, by_expert } => self.with_stage(|s| s.start_demonstration(task, seed, by_expert)),
            Effect::AbandonDemonstration => self.with_stage(|s| s.abandon_demonstration()),
            Effect::ToggleGrip => self.with_stage(|s| s.toggle_grip()),
            Effect::StartPractice { task, seed } => self.with_stage(|s| s.start_practice(task, seed)),
            Effect::Replay(record) => self.with_stage(|s| s.replay(&record)),
            Effect::Watch { what: Watched::Expert, .. } => self.with_stage(|s| s.watch_expert()),
            Effect::Watch { what, ticket } => {
                let file = match what {
                    Watched::FineTuned => self.tuned.borrow().clone(),
                    Watched::Crowd => self.crowd_policy.borrow().clone(),
                    _ => None,
                }
                .or_else(|| self.prior.borrow().clone());
                let showing = self.stage.borrow().as_ref().map(|stage| stage.showing());
                if let (Some(file), Some((task, seed))) = (file, showing) {
                    self.answer(async move {
                        let result = super::worker::roll_out(file.as_ref().clone(), task, seed).await.map(Rc::new);
                        Action::PolicyRolledOut { ticket, result }
                    });
                }
            }
            Effect::PlayRollout(rollout) => self.with_stage(|s| s.play_policy(&rollout)),
            Effect::ShowTask { task, seed } => self.with_stage(|s| s.reset(task, seed)),
            Effect::ExportLeRobot { records } => {
                self.answer(async move { Action::LeRobotExported(super::export_worker::lerobot_zip(records).await) })
            }
            Effect::Download { name, mime, bytes } => {
                if let Err(error) = super::download(&name, mime, &bytes) {
                    self.queue.borrow_mut().push_back(Action::DownloadFailed(error));
                }
            }
            Effect::ProbeService => self.answer(async { Action::ServiceProbed(super::crowd_http::probe().await) }),
            Effect::Register { licence } => self.answer(async move { Action::Registered(super::crowd_http::register(&licence).await) }),
            Effect::AgreeToLicence { token, licence } => {
                self.answer(async move { Action::LicenceAgreed(super::crowd_http::agree_to_licence(&token, &licence).await) })
            }
            Effect::Upload { key, client_id, record, token } => {
                self.answer(async move { Action::Uploaded { key, outcome: super::crowd_http::upload(client_id, &record, &token).await } })
            }
            Effect::Account(request) => self.answer(async move { Action::Account(super::crowd_http::account_request(request).await) }),
            Effect::Assign(AssignmentRequest { token, decline, choose }) => {
                self.answer(async move { Action::Assignment(AssignmentMsg::Assigned(super::crowd_http::assign(&token, decline, choose).await)) })
            }
            Effect::FetchSharedPolicy => {
                let shell = self.clone();
                spawn_local(async move {
                    let loaded = match super::crowd_http::shared_policy().await {
                        Ok(Some((version, bytes))) => match kind_of(&bytes) {
                            Ok(CheckpointKind::FineTuned { .. }) => {
                                *shell.crowd_policy.borrow_mut() = Some(Rc::new(bytes));
                                Ok(Some(version))
                            }
                            Ok(CheckpointKind::Pretrained) => Err("the service's policy is not a fine-tuned one".to_string()),
                            Err(error) => Err(error),
                        },
                        Ok(None) => Ok(None),
                        Err(error) => Err(error),
                    };
                    shell.dispatch(Action::SharedPolicyLoaded(loaded));
                });
            }
            Effect::FetchCrowd => self.answer(async { Action::Dashboard(DashboardMsg::Fetched(super::crowd_http::crowd_status().await)) }),
            Effect::Operator(request) => self.answer(async move { Action::Operator(super::crowd_http::operator(request).await) }),
            Effect::StoreSync { key, state } => self.later(move |s| async move {
                s.put_sync(key, &state).await.err().map(|error| Action::StorageFailed { what: "outbox", error })
            }),
            Effect::StoreConsent(consent) => self.later(move |s| async move {
                s.put_consent(&consent).await.err().map(|error| Action::StorageFailed { what: "answer about contributing", error })
            }),
            Effect::StoreCredentials(credentials) => self.later(move |s| async move {
                s.put_credentials(&credentials).await.err().map(|error| Action::StorageFailed { what: "contributor's id", error })
            }),
            Effect::Schedule { after_ms, action } => {
                let shell = self.clone();
                gloo::timers::callback::Timeout::new(after_ms, move || shell.dispatch(*action)).forget();
            }
        }
    }

    /// Starts the worker `id` and hands it the pre-trained policy; its messages and its
    /// death come back as actions.
    fn spawn(self: &Rc<Self>, id: WorkerId) {
        let on_message = {
            let shell = self.clone();
            Callback::from(move |message| shell.dispatch(Action::FromWorker { worker: id, message }))
        };
        let on_error = {
            let shell = self.clone();
            Callback::from(move |message: String| shell.dispatch(Action::WorkerDied { worker: id, message }))
        };
        let spawned = match id.slot {
            WorkerSlot::WebGpu => TrainingWorker::spawn(WorkerModule::Loader(WEBGPU_WORKER_URL), "amf-training-webgpu", on_message, on_error),
            _ => TrainingWorker::spawn(WorkerModule::Cpu, "amf-training", on_message, on_error),
        };
        let bytes = self.prior.borrow().clone();
        let assessment = self.prior_assessment.borrow().clone();
        let started = spawned.and_then(|worker| {
            if let Some(bytes) = bytes {
                worker.send(&ToWorker::Prior { bytes: bytes.as_ref().clone(), assessment: assessment.map(|file| file.as_ref().clone()) })?;
            }
            Ok(worker)
        });
        match started {
            Ok(worker) => {
                self.workers.borrow_mut().insert(id, worker);
            }
            Err(error) => self.queue.borrow_mut().push_back(Action::WorkerDied { worker: id, message: format!("it could not start: {error}") }),
        }
    }
}

/// What kind of policy a file holds, read from its header (the weights are read, and
/// checked, by the worker that uses them).
fn kind_of(bytes: &[u8]) -> Result<CheckpointKind, String> {
    Checkpoint::read_header(bytes).map(|(header, _)| header.kind).map_err(|error| error.to_string())
}
