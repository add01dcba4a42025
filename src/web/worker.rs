//! The training worker: a dedicated Web Worker that runs the page's rounds (replay,
//! fine-tune, evaluate, select; [`crate::round::RoundJob`]) so the page keeps drawing,
//! and plays policies for the stage to show. The messages are the core's
//! ([`crate::page::protocol`]); this file only carries them.
//!
//! The worker is a module of its own (`amf-worker`, or `amf-gpu-worker` with WebGPU):
//! the network, its training and the selector are most of the download, and the first
//! screen (the stage, the teaching card) needs none of them, so the page's module does
//! not link them.
//!
//! The bridge is a thin one over `web_sys::Worker` rather than gloo-worker's, because
//! the page needs the two things gloo-worker's bridge does not expose: the worker's
//! `error` event (a panic or trap inside the worker, e.g. a lost GPU, must reach the
//! page as a message, not as silence) and `terminate()` (cancel stops a busy worker at
//! once; a training loop never returns to the event loop to read a cancel message).

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use js_sys::{Function, Promise};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, DedicatedWorkerGlobalScope, ErrorEvent, MessageEvent, Url, Worker, WorkerOptions, WorkerType};
use yew::Callback;

pub use crate::page::protocol::{FromWorker, PolicyRollout, RoundResult, ToWorker, WorkerError};
use crate::assessment::{policy_digest, AssessmentFile};
use crate::page::WatchFailure;
use crate::policy::{Checkpoint, Policy, PolicyConfig};
use crate::round::{RoundEvent, RoundJob};
use crate::session::{BackendChoice, BackendDecision};
use crate::tasks::TaskId;

/// Training progress is posted every this many steps (and at the last).
const PROGRESS_EVERY: usize = 5;

pub fn encode<T: Serialize>(message: &T) -> Result<JsValue, String> {
    message.serialize(&serde_wasm_bindgen::Serializer::new()).map_err(|e| e.to_string())
}

pub fn decode<T: for<'de> Deserialize<'de>>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

// ---- the page's side -------------------------------------------------------------

/// The CPU training worker's script and module (trunk builds them beside the page,
/// unhashed).
const CPU_WORKER_GLUE: &str = "amf-worker.js";
const CPU_WORKER_MODULE: &str = "amf-worker_bg.wasm";
/// Where the WebGPU worker's loader is (beside the page, unhashed).
pub const WEBGPU_WORKER_URL: &str = "amf-gpu-worker_loader.js";

/// Whether this browser exposes WebGPU at all (`navigator.gpu`); whether an adapter and
/// device come is only known by asking, in the worker.
pub fn browser_has_webgpu() -> bool {
    let navigator = js_sys::Reflect::get(&gloo::utils::window(), &JsValue::from_str("navigator")).unwrap_or(JsValue::UNDEFINED);
    js_sys::Reflect::get(&navigator, &JsValue::from_str("gpu")).is_ok_and(|gpu| !gpu.is_undefined() && !gpu.is_null())
}

/// Which module a worker runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerModule {
    /// The CPU training worker's, compiled once for every worker that runs it (see
    /// [`compile_cpu_module`]).
    Cpu,
    /// What the module worker loader at this URL loads (the WebGPU and export workers').
    Loader(&'static str),
}

thread_local! {
    /// The CPU worker's module, compiling or compiled. Asked for once the page has its
    /// policy's files, so that its download and compilation overlap the page's reading
    /// of storage and the visitor's first demonstration, and shared by
    /// every CPU worker (a round's, the comparison's two, a rollout's): each
    /// instantiates it, none downloads or compiles it again.
    static CPU_MODULE: RefCell<Option<Promise>> = const { RefCell::new(None) };
}

/// Starts downloading and compiling the CPU worker's module, once; a failure is
/// forgotten, so that the next worker tries again.
pub fn compile_cpu_module() -> Promise {
    CPU_MODULE.with(|slot| {
        slot.borrow_mut()
            .get_or_insert_with(|| {
                wasm_bindgen_futures::future_to_promise(async {
                    let compiled = async {
                        let url = absolute(CPU_WORKER_MODULE)?;
                        let response: web_sys::Response = JsFuture::from(gloo::utils::window().fetch_with_str(&url)).await?.dyn_into()?;
                        if !response.ok() {
                            return Err(JsValue::from_str(&format!("HTTP {} for {CPU_WORKER_MODULE}", response.status())));
                        }
                        // Streaming needs the server to say application/wasm; else the bytes.
                        let spare = response.clone()?;
                        match JsFuture::from(js_sys::WebAssembly::compile_streaming(&Promise::resolve(&JsValue::from(response)))).await {
                            Ok(module) => Ok(module),
                            Err(_) => JsFuture::from(js_sys::WebAssembly::compile(&JsFuture::from(spare.array_buffer()?).await?)).await,
                        }
                    }
                    .await;
                    if compiled.is_err() {
                        CPU_MODULE.with(|slot| *slot.borrow_mut() = None);
                    }
                    compiled
                })
            })
            .clone()
    })
}

/// `path` resolved against the page's address (a worker started from a blob needs
/// absolute URLs).
fn absolute(path: &str) -> Result<String, JsValue> {
    let base = gloo::utils::document().base_uri()?.ok_or("the page has no base address")?;
    Ok(Url::new_with_base(path, &base)?.href())
}

/// Starts a module worker running `module`. `failed` hears if the CPU module cannot be
/// had (the worker then never says it listens).
fn start(module: WorkerModule, name: &str, failed: impl FnOnce(String) + 'static) -> Result<Worker, String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    options.set_name(name);
    match module {
        WorkerModule::Loader(url) => Worker::new_with_options(url, &options).map_err(describe),
        WorkerModule::Cpu => start_on_cpu_module(&options, failed),
    }
}

/// A module worker from a blob: it imports the CPU worker's script and instantiates the
/// compiled module, which is posted to it first.
fn start_on_cpu_module(options: &WorkerOptions, failed: impl FnOnce(String) + 'static) -> Result<Worker, String> {
    let glue = absolute(CPU_WORKER_GLUE).map_err(describe)?;
    // A failed import or instantiation is thrown from a task of its own, so that it
    // reaches the page as the worker's `error` event (a rejected promise would not).
    let shim = format!(
        "self.onmessage = async (first) => {{\n\
           self.onmessage = null;\n\
           try {{\n\
             const glue = await import({glue:?});\n\
             await glue.default({{ module_or_path: first.data }});\n\
           }} catch (error) {{\n\
             setTimeout(() => {{ throw error; }});\n\
           }}\n\
         }};"
    );
    let parts = js_sys::Array::of1(&JsValue::from_str(&shim));
    let blob_options = BlobPropertyBag::new();
    blob_options.set_type("text/javascript");
    let blob = Blob::new_with_str_sequence_and_options(&parts, &blob_options).map_err(describe)?;
    let blob_url = Url::create_object_url_with_blob(&blob).map_err(describe)?;
    let worker = Worker::new_with_options(&blob_url, options).map_err(describe);
    let _ = Url::revoke_object_url(&blob_url);
    let worker = worker?;
    let target = worker.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let handed = match JsFuture::from(compile_cpu_module()).await {
            Ok(module) => target.post_message(&module).map_err(|error| format!("its module could not be handed to it ({})", describe(error))),
            Err(error) => Err(format!("its module could not be loaded ({})", describe(error))),
        };
        if let Err(why) = handed {
            target.terminate();
            failed(why);
        }
    });
    Ok(worker)
}

/// The page's handle on a running worker; dropping it terminates the worker. Messages
/// wait in an outbox until the worker says it listens.
pub struct TrainingWorker {
    worker: Worker,
    outbox: Rc<RefCell<Option<Vec<JsValue>>>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl TrainingWorker {
    /// Starts a training worker on `module`. `on_error` hears of a worker that failed
    /// to start, panicked or trapped; the worker is dead then.
    pub fn spawn(module: WorkerModule, name: &str, on_message: Callback<FromWorker>, on_error: Callback<String>) -> Result<TrainingWorker, String> {
        let failed = on_error.clone();
        let worker = start(module, name, move |why| failed.emit(why))?;
        let outbox: Rc<RefCell<Option<Vec<JsValue>>>> = Rc::new(RefCell::new(Some(Vec::new())));

        let on_error_for_messages = on_error.clone();
        let (flush_to, flush_outbox) = (worker.clone(), outbox.clone());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| match decode::<FromWorker>(event.data()) {
            Ok(FromWorker::Loaded) => {
                for message in flush_outbox.borrow_mut().take().unwrap_or_default() {
                    let _ = flush_to.post_message(&message);
                }
            }
            Ok(message) => on_message.emit(message),
            Err(error) => on_error_for_messages.emit(format!("an unreadable message from the training worker ({error})")),
        });
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            let message = event.message();
            on_error.emit(if message.is_empty() { "it could not start or stopped unexpectedly".into() } else { message });
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(TrainingWorker { worker, outbox, _on_message: on_message, _on_error: on_error })
    }

    pub fn send(&self, message: &ToWorker) -> Result<(), String> {
        let value = encode(message)?;
        match self.outbox.borrow_mut().as_mut() {
            Some(waiting) => waiting.push(value),
            None => self.worker.post_message(&value).map_err(describe)?,
        }
        Ok(())
    }
}

impl Drop for TrainingWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// Starts the module worker at `url`, waits until it listens (`is_loaded` on its first
/// message), posts `request` and returns the next reply; the worker ends with the call.
/// An error reads after the worker's name ("stopped: it could not start").
/// For one-off jobs on a worker of their own: an export, a policy's rollout while the
/// training worker may be busy with a round.
pub async fn ask_once<Q: Serialize, A: for<'de> Deserialize<'de> + 'static>(
    module: WorkerModule,
    name: &str,
    request: &Q,
    is_loaded: fn(&A) -> bool,
) -> Result<A, String> {
    let request = encode(request).map_err(|error| format!("could not be sent the request ({error})"))?;
    // The promise's resolve and reject, kept for the handlers below.
    let settle: Rc<RefCell<Option<(Function, Function)>>> = Rc::default();
    let promise = {
        let settle = settle.clone();
        Promise::new(&mut move |resolve, reject| *settle.borrow_mut() = Some((resolve, reject)))
    };
    let worker = {
        let settle = settle.clone();
        start(module, name, move |why| reject(&settle, &why))?
    };
    let on_message = {
        let (worker, settle) = (worker.clone(), settle.clone());
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| match decode::<A>(event.data()) {
            Ok(reply) if is_loaded(&reply) => {
                if let Err(error) = worker.post_message(&request) {
                    reject(&settle, &format!("could not be sent the request ({})", describe(error)));
                }
            }
            Ok(_) => {
                if let Some((resolve, _)) = settle.borrow_mut().take() {
                    let _ = resolve.call1(&JsValue::NULL, &event.data());
                }
            }
            Err(error) => reject(&settle, &format!("sent an unreadable message ({error})")),
        })
    };
    let on_error = {
        let settle = settle.clone();
        Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            let message = event.message();
            reject(&settle, &format!("stopped: {}", if message.is_empty() { "it could not start" } else { &message }));
        })
    };
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let settled = wasm_bindgen_futures::JsFuture::from(promise).await;
    worker.terminate();
    drop((on_message, on_error));
    decode::<A>(settled.map_err(describe)?)
}

fn reject(settle: &Rc<RefCell<Option<(Function, Function)>>>, why: &str) {
    if let Some((_, reject)) = settle.borrow_mut().take() {
        let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(why));
    }
}

/// Plays `policy` (a policy file) on `task` from `seed` in a CPU worker of its own.
pub async fn roll_out(policy: Vec<u8>, task: TaskId, seed: u64) -> Result<PolicyRollout, WatchFailure> {
    let request = ToWorker::Rollout { policy, task, seed };
    let reply = ask_once::<ToWorker, FromWorker>(WorkerModule::Cpu, "amf-rollout", &request, |reply| matches!(reply, FromWorker::Loaded))
        .await
        .map_err(|error| WatchFailure::Worker(format!("its worker {error}")))?;
    match reply {
        FromWorker::RolledOut(rollout) => Ok(rollout),
        FromWorker::Failed(WorkerError::BadPolicy(error)) => Err(WatchFailure::Unreadable(error)),
        FromWorker::Failed(error) => Err(WatchFailure::Worker(error.to_string())),
        other => Err(WatchFailure::Worker(format!("its worker answered out of turn ({other:?})"))),
    }
}

pub(crate) fn describe(error: JsValue) -> String {
    // An Error's own words (JSON.stringify gives "{}" for one).
    if let Some(error) = error.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    error.as_string().or_else(|| js_sys::JSON::stringify(&error).ok().and_then(|s| s.as_string())).unwrap_or_else(|| format!("{error:?}"))
}

// ---- the worker's side -----------------------------------------------------------

struct Served {
    prior: Option<(Policy, PolicyConfig)>,
    /// The prior's shipped assessment, with the digest of the prior's file it must
    /// match ([`AssessmentFile::for_rollouts`]).
    shipped: Option<([u8; 32], Rc<AssessmentFile>)>,
    /// The WebGPU device rounds train on, once `Choose` picked it.
    #[cfg(feature = "webgpu")]
    gpu: Option<super::gpu::WebGpu>,
}

/// Serves the page's messages until the page terminates the worker.
pub fn serve() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let state = Rc::new(RefCell::new(Served {
        prior: None,
        shipped: None,
        #[cfg(feature = "webgpu")]
        gpu: None,
    }));
    let handler = {
        let scope = scope.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| handle(&scope, &state, event.data()))
    };
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post(&scope, &FromWorker::Loaded);
}

/// Posts `message`; one that cannot be encoded is answered by a failure that says so,
/// so the page never waits on a reply that was dropped.
fn post(scope: &DedicatedWorkerGlobalScope, message: &FromWorker) {
    let value = encode(message).or_else(|error| encode(&FromWorker::Failed(WorkerError::BadMessage(format!("the worker's reply could not be encoded: {error}")))));
    if let Ok(value) = value {
        let _ = scope.post_message(&value);
    }
}

fn handle(scope: &DedicatedWorkerGlobalScope, state: &Rc<RefCell<Served>>, data: JsValue) {
    let message = match decode::<ToWorker>(data) {
        Ok(m) => m,
        Err(error) => return post(scope, &FromWorker::Failed(WorkerError::BadMessage(error))),
    };
    match message {
        ToWorker::Prior { bytes, assessment } => match Checkpoint::from_bytes(&bytes) {
            Ok(Checkpoint::Pretrained { policy, header }) => {
                let mut state = state.borrow_mut();
                state.prior = Some((policy, header.policy));
                state.shipped = assessment.and_then(|file| match AssessmentFile::from_bytes(&file) {
                    Ok(file) => Some((policy_digest(&bytes), Rc::new(file))),
                    Err(error) => {
                        web_sys::console::warn_1(&format!("the shipped assessment is not used: {error}").into());
                        None
                    }
                });
                post(scope, &FromWorker::Ready);
            }
            Ok(Checkpoint::FineTuned { .. }) => post(scope, &FromWorker::Failed(WorkerError::BadPrior("it is not a pre-trained policy".into()))),
            Err(error) => post(scope, &FromWorker::Failed(WorkerError::BadPrior(error.to_string()))),
        },
        ToWorker::Choose(preference) => {
            let (scope, state) = (scope.clone(), state.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let choice = choose(&state, preference).await;
                post(&scope, &FromWorker::Chosen(choice));
            });
        }
        ToWorker::Import { bytes, existing } => {
            let reply = match crate::demo_file::parse(&bytes) {
                Ok(file) => {
                    let report = crate::demo_file::verify(&file, &existing);
                    FromWorker::Imported { rejected: report.rejection_lines(), accepted: report.accepted }
                }
                Err(error) => FromWorker::Failed(WorkerError::Import(error.to_string())),
            };
            post(scope, &reply);
        }
        ToWorker::Compare { selector, seed, settings } => {
            let Some((prior, _)) = state.borrow().prior.clone() else {
                return post(scope, &FromWorker::Failed(WorkerError::NoPrior));
            };
            let started = super::seconds_now();
            let outcome = crate::experiment::tabletop::run_reporting(selector, seed, &prior, None, &settings, &super::seconds_now, &mut |picks, point| {
                post(scope, &FromWorker::Compared { point: point.clone(), picks: picks.to_vec() });
            });
            post(scope, &match outcome {
                Ok(_) => FromWorker::CompareDone { seconds: super::seconds_now() - started },
                Err(error) => FromWorker::Failed(error.into()),
            });
        }
        ToWorker::Rollout { policy, task, seed } => post(scope, &match Checkpoint::from_bytes(&policy) {
            Ok(checkpoint) => FromWorker::RolledOut(crate::policy::roll_out(checkpoint.actor(), task, seed).into()),
            Err(error) => FromWorker::Failed(WorkerError::BadPolicy(error.to_string())),
        }),
        ToWorker::Run(job) => {
            let (scope, state) = (scope.clone(), state.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = run(&scope, &state, &job).await;
                post(&scope, &outcome.unwrap_or_else(FromWorker::Failed));
            });
        }
    }
}

#[cfg(feature = "webgpu")]
async fn choose(state: &Rc<RefCell<Served>>, preference: BackendChoice) -> BackendDecision {
    let Some((prior, _)) = state.borrow().prior.clone() else {
        return BackendDecision::cpu(preference, "the CPU: the worker has no policy yet".into());
    };
    // A quick trial on a few demonstrations, the size of a small round's data.
    let data = crate::bench::training_data(3);
    let (gpu, choice) = super::gpu::choose(preference, &prior, &data).await;
    state.borrow_mut().gpu = gpu;
    choice
}

#[cfg(not(feature = "webgpu"))]
async fn choose(_: &Rc<RefCell<Served>>, preference: BackendChoice) -> BackendDecision {
    BackendDecision::cpu(preference, "the CPU: this worker is built without WebGPU".into())
}

/// The device rounds train on here: the chosen WebGPU device, else the CPU.
fn training_device(state: &Rc<RefCell<Served>>) -> burn::prelude::Device {
    #[cfg(feature = "webgpu")]
    if let Some(gpu) = &state.borrow().gpu {
        return gpu.device.clone();
    }
    let _ = state;
    crate::policy::cpu()
}

/// The prior's shipped assessment, if it was rolled out as `episodes` a task would be
/// (a session may ask for other counts: then the start rolls the prior out).
fn shipped_assessment(state: &Rc<RefCell<Served>>, episodes: usize) -> Option<Rc<AssessmentFile>> {
    let state = state.borrow();
    let (digest, file) = state.shipped.as_ref()?;
    file.for_rollouts(digest, episodes).is_ok().then(|| file.clone())
}

async fn run(scope: &DedicatedWorkerGlobalScope, state: &Rc<RefCell<Served>>, job: &RoundJob) -> Result<FromWorker, WorkerError> {
    let (prior, config) = state.borrow().prior.clone().ok_or(WorkerError::NoPrior)?;
    let device = training_device(state);
    let mut on_event = |event: RoundEvent| {
        let worth_posting = match &event {
            RoundEvent::Training(p) => p.step % PROGRESS_EVERY == 0 || p.step == p.steps,
            _ => true,
        };
        if worth_posting {
            post(scope, &FromWorker::Event(event));
        }
    };
    let shipped = shipped_assessment(state, job.config.eval_episodes);
    let output = job.run(&device, &prior, shipped.as_ref().map(|file| &file.assessment), &super::seconds_now, &mut on_event).await?;
    let policy = match output.policy {
        Some(tuned) => {
            let mut trained_on: Vec<_> = job.records.iter().map(|r| r.task).collect();
            trained_on.sort();
            trained_on.dedup();
            Some(Checkpoint::finetuned(tuned, config.clone(), trained_on).to_bytes().map_err(|e| WorkerError::Checkpoint(e.to_string()))?)
        }
        None => None,
    };
    Ok(FromWorker::Done(RoundResult {
        policy,
        per_task: output.assessment.per_task,
        selection: output.selection,
        loss: output.loss,
        fell_back: output.fell_back,
        train_seconds: output.train_seconds,
        eval_seconds: output.eval_seconds,
        select_seconds: output.select_seconds,
    }))
}
