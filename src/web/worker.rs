//! The training worker: a dedicated Web Worker that runs the page's rounds (replay,
//! fine-tune, evaluate, select; [`crate::round::RoundJob`]) so the page keeps drawing.
//! The messages are the core's ([`crate::page::protocol`]); this file only carries them.
//!
//! The worker runs this very wasm binary: the page hands it its compiled
//! `WebAssembly.Module`, so nothing is downloaded twice, and `main` notices it is in a
//! worker and serves messages instead of mounting the page.
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
use web_sys::{Blob, BlobPropertyBag, DedicatedWorkerGlobalScope, ErrorEvent, MessageEvent, Url, Worker, WorkerOptions, WorkerType};
use yew::Callback;

pub use crate::page::protocol::{Choice, FromWorker, RoundResult, ToWorker, WorkerError};
use crate::policy::{Checkpoint, Policy, PolicyConfig};
use crate::round::{RoundEvent, RoundJob};
use crate::session::BackendChoice;

/// Training progress is posted every this many steps (and at the last).
const PROGRESS_EVERY: usize = 5;

pub fn encode<T: Serialize>(message: &T) -> Result<JsValue, String> {
    message.serialize(&serde_wasm_bindgen::Serializer::new()).map_err(|e| e.to_string())
}

pub fn decode<T: for<'de> Deserialize<'de>>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// Whether this wasm instance runs in a dedicated worker (not in the page).
pub fn in_worker() -> bool {
    js_sys::global().dyn_into::<DedicatedWorkerGlobalScope>().is_ok()
}

// ---- the page's side -------------------------------------------------------------

/// Where the WebGPU worker's loader is (trunk builds it beside the page, unhashed).
pub const WEBGPU_WORKER_URL: &str = "amf-gpu-worker_loader.js";

/// Whether this browser exposes WebGPU at all (`navigator.gpu`); whether an adapter and
/// device come is only known by asking, in the worker.
pub fn browser_has_webgpu() -> bool {
    let navigator = js_sys::Reflect::get(&gloo::utils::window(), &JsValue::from_str("navigator")).unwrap_or(JsValue::UNDEFINED);
    js_sys::Reflect::get(&navigator, &JsValue::from_str("gpu")).is_ok_and(|gpu| !gpu.is_undefined() && !gpu.is_null())
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
    /// Starts a worker on this page's own module (the CPU build). `on_error` hears of a
    /// worker that failed to start, panicked or trapped; the worker is dead then.
    pub fn spawn(on_message: Callback<FromWorker>, on_error: Callback<String>) -> Result<TrainingWorker, String> {
        let glue = glue_url().ok_or("the page's script could not be found to start the training worker")?;
        // The first message is this page's compiled module; the glue instantiates it.
        let shim = format!(
            "self.onmessage = async (first) => {{\n\
               self.onmessage = null;\n\
               const glue = await import({glue:?});\n\
               await glue.default({{ module_or_path: first.data }});\n\
             }};"
        );
        let parts = js_sys::Array::of1(&JsValue::from_str(&shim));
        let options = BlobPropertyBag::new();
        options.set_type("text/javascript");
        let blob = Blob::new_with_str_sequence_and_options(&parts, &options).map_err(describe)?;
        let url = Url::create_object_url_with_blob(&blob).map_err(describe)?;
        let spawned = TrainingWorker::spawn_url(&url, "amf-training", on_message, on_error);
        let _ = Url::revoke_object_url(&url);
        let spawned = spawned?;
        spawned.worker.post_message(&wasm_bindgen::module()).map_err(describe)?;
        Ok(spawned)
    }

    /// Starts the module worker at `url` (the WebGPU build's loader).
    pub fn spawn_url(url: &str, name: &str, on_message: Callback<FromWorker>, on_error: Callback<String>) -> Result<TrainingWorker, String> {
        let worker_options = WorkerOptions::new();
        worker_options.set_type(WorkerType::Module);
        worker_options.set_name(name);
        let worker = Worker::new_with_options(url, &worker_options).map_err(describe)?;
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

/// The URL of the page's wasm-bindgen glue, which trunk preloads.
fn glue_url() -> Option<String> {
    let document = gloo::utils::document();
    let link = document.query_selector("link[rel=modulepreload]").ok()??;
    let href = link.get_attribute("href")?;
    Url::new_with_base(&href, &document.base_uri().ok()??).ok().map(|u| u.href())
}

pub(crate) fn describe(error: JsValue) -> String {
    error.as_string().or_else(|| js_sys::JSON::stringify(&error).ok().and_then(|s| s.as_string())).unwrap_or_else(|| format!("{error:?}"))
}

// ---- the worker's side -----------------------------------------------------------

struct Served {
    prior: Option<(Policy, PolicyConfig)>,
    /// The WebGPU device rounds train on, once `Choose` picked it.
    #[cfg(feature = "webgpu")]
    gpu: Option<super::gpu::WebGpu>,
}

/// Serves the page's messages until the page terminates the worker.
pub fn serve() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let state = Rc::new(RefCell::new(Served {
        prior: None,
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

fn post(scope: &DedicatedWorkerGlobalScope, message: &FromWorker) {
    if let Ok(value) = encode(message) {
        let _ = scope.post_message(&value);
    }
}

fn handle(scope: &DedicatedWorkerGlobalScope, state: &Rc<RefCell<Served>>, data: JsValue) {
    let message = match decode::<ToWorker>(data) {
        Ok(m) => m,
        Err(error) => return post(scope, &FromWorker::Failed(WorkerError::BadMessage(error))),
    };
    match message {
        ToWorker::Prior { bytes } => match Checkpoint::from_bytes(&bytes) {
            Ok(Checkpoint::Pretrained { policy, header }) => {
                state.borrow_mut().prior = Some((policy, header.policy));
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
async fn choose(state: &Rc<RefCell<Served>>, preference: BackendChoice) -> Choice {
    let Some((prior, _)) = state.borrow().prior.clone() else {
        return Choice { webgpu: false, reason: "the CPU: the worker has no policy yet".into(), cpu_samples_per_second: None, webgpu_samples_per_second: None };
    };
    // A quick trial on a few demonstrations, the size of a small round's data.
    let data = crate::bench::training_data(3);
    let (gpu, choice) = super::gpu::choose(preference, &prior, &data).await;
    state.borrow_mut().gpu = gpu;
    choice
}

#[cfg(not(feature = "webgpu"))]
async fn choose(_: &Rc<RefCell<Served>>, _: BackendChoice) -> Choice {
    Choice { webgpu: false, reason: "the CPU: this worker is built without WebGPU".into(), cpu_samples_per_second: None, webgpu_samples_per_second: None }
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
    let output = job.run(&device, &prior, &super::seconds_now, &mut on_event).await?;
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
