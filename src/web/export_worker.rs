//! The LeRobot export on a worker of its own (`amf-export-worker`, a module of its own):
//! the Parquet, Arrow and zip writers are a third of the page's download, and a person
//! needs them only when they export, so the page's module does not link them.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

use super::worker::{decode, describe, encode};
use crate::page::protocol::{ExportReply, ExportRequest};
use crate::record::DemonstrationRecord;

/// Where the export worker's loader is (trunk builds it beside the page, unhashed).
pub const EXPORT_WORKER_URL: &str = "amf-export-worker_loader.js";

/// The page's side: starts the worker, hands it the records, and waits for the zip; the
/// worker ends with the call.
pub async fn lerobot_zip(records: Vec<DemonstrationRecord>) -> Result<Vec<u8>, String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    options.set_name("amf-export");
    let worker = Worker::new_with_options(EXPORT_WORKER_URL, &options).map_err(describe)?;
    let request = encode(&ExportRequest { records })?;
    // The promise's resolve and reject, kept for the handlers below.
    let settle: Rc<RefCell<Option<(Function, Function)>>> = Rc::default();
    let promise = {
        let settle = settle.clone();
        Promise::new(&mut move |resolve, reject| *settle.borrow_mut() = Some((resolve, reject)))
    };
    let on_message = {
        let (worker, settle) = (worker.clone(), settle.clone());
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| match decode::<ExportReply>(event.data()) {
            Ok(ExportReply::Loaded) => {
                if let Err(error) = worker.post_message(&request) {
                    reject(&settle, &describe(error));
                }
            }
            Ok(_) => {
                if let Some((resolve, _)) = settle.borrow_mut().take() {
                    let _ = resolve.call1(&JsValue::NULL, &event.data());
                }
            }
            Err(error) => reject(&settle, &format!("an unreadable message from the export worker ({error})")),
        })
    };
    let on_error = {
        let settle = settle.clone();
        Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            let message = event.message();
            reject(&settle, &format!("the export worker stopped: {}", if message.is_empty() { "it could not start" } else { &message }));
        })
    };
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let settled = wasm_bindgen_futures::JsFuture::from(promise).await;
    worker.terminate();
    drop((on_message, on_error));
    match decode::<ExportReply>(settled.map_err(describe)?)? {
        ExportReply::Zipped(bytes) => Ok(bytes),
        ExportReply::Failed(error) => Err(error),
        ExportReply::Loaded => Err("the export worker answered out of turn".into()),
    }
}

fn reject(settle: &Rc<RefCell<Option<(Function, Function)>>>, why: &str) {
    if let Some((_, reject)) = settle.borrow_mut().take() {
        let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(why));
    }
}

/// The worker's side: answers each request with the zipped dataset or why not.
pub fn serve() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let handler = {
        let scope = scope.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let reply = match decode::<ExportRequest>(event.data()) {
                Ok(request) => match crate::export::lerobot::zipped(&request.records) {
                    Ok(bytes) => ExportReply::Zipped(bytes),
                    Err(error) => ExportReply::Failed(error.to_string()),
                },
                Err(error) => ExportReply::Failed(format!("an unreadable request ({error})")),
            };
            if let Ok(value) = encode(&reply) {
                let _ = scope.post_message(&value);
            }
        })
    };
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    if let Ok(value) = encode(&ExportReply::Loaded) {
        let _ = scope.post_message(&value);
    }
}
