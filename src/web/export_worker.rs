//! The LeRobot export on a worker of its own (`amf-export-worker`, a module of its own):
//! the Parquet, Arrow and zip writers are a third of the page's download, and a person
//! needs them only when they export, so the page's module does not link them.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::worker::{ask_once, decode, encode, WorkerModule};
use crate::page::protocol::{ExportReply, ExportRequest};
use crate::record::DemonstrationRecord;

/// Where the export worker's loader is (trunk builds it beside the page, unhashed).
pub const EXPORT_WORKER_URL: &str = "amf-export-worker_loader.js";

/// The page's side: starts the worker, hands it the records, and waits for the zip; the
/// worker ends with the call.
pub async fn lerobot_zip(records: Vec<DemonstrationRecord>) -> Result<Vec<u8>, String> {
    let request = ExportRequest { records };
    match ask_once::<ExportRequest, ExportReply>(WorkerModule::Loader(EXPORT_WORKER_URL), "amf-export", &request, |reply| matches!(reply, ExportReply::Loaded))
        .await
        .map_err(|error| format!("the export worker {error}"))?
    {
        ExportReply::Zipped(bytes) => Ok(bytes),
        ExportReply::Failed(error) => Err(error),
        ExportReply::Loaded => Err("the export worker answered out of turn".into()),
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
