//! The dataset: totals per task, every demonstration (replay, delete with undo), those
//! storage refused (retry), and the project's file format out (export) and in
//! (import, also by dropping a file on the page).

use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::send;
use crate::page::crowd::SyncState;
use crate::page::{Action, Deleted, Entry, Unsaved};
use crate::tasks::{TaskId, NUM_TASKS};

#[derive(Properties, PartialEq)]
pub struct DatasetProps {
    pub entries: Vec<Entry>,
    /// Each entry's state with the collection service (none: local only).
    pub sync: Vec<Option<SyncState>>,
    pub unsaved: Vec<Unsaved>,
    pub undo: Option<Deleted>,
    /// A round runs: the dataset cannot change under it.
    pub busy: bool,
    pub importing: bool,
    /// The LeRobot export is being written.
    pub exporting: bool,
    pub dispatch: Callback<Action>,
}

#[function_component(DatasetPanel)]
pub fn dataset_panel(props: &DatasetProps) -> Html {
    let dispatch = &props.dispatch;
    let entries = &props.entries;
    let mut totals = [0usize; NUM_TASKS];
    for entry in entries {
        totals[entry.record.task.index()] += 1;
    }
    let file_input = use_node_ref();
    let pick_file = {
        let file_input = file_input.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(input) = file_input.cast::<HtmlInputElement>() {
                input.click();
            }
        })
    };
    let on_file = {
        let dispatch = dispatch.clone();
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target().unwrap().unchecked_into();
            if let Some(file) = input.files().and_then(|files| files.get(0)) {
                read_and_import(&dispatch, file);
            }
            input.set_value("");
        })
    };
    let busy = props.busy;
    html! {
        <details class="card dataset" id="dataset" data-count={entries.len().to_string()}>
            <summary>{ format!("Dataset · {} demonstration{}", entries.len(), if entries.len() == 1 { "" } else { "s" }) }</summary>
            <p class="totals">
                { for TaskId::ALL.iter().filter(|t| totals[t.index()] > 0).map(|t| html! {
                    <span class="chip" data-task={t.name()}>{ format!("{} × {}", t.name(), totals[t.index()]) }</span>
                }) }
            </p>
            if let Some(deleted) = &props.undo {
                <div class="saved" id="undo-bar">
                    { format!("Deleted a demonstration of {}.", deleted.record.task.name()) }
                    <button class="link" id="undo-delete" disabled={busy} onclick={send(dispatch, Action::Undo)}>{ "Undo" }</button>
                </div>
            }
            if !props.unsaved.is_empty() {
                <div class="saved bad" id="unsaved-bar" data-count={props.unsaved.len().to_string()}>
                    { format!("{} demonstration{} not saved, so not counted ({}).", props.unsaved.len(),
                        if props.unsaved.len() == 1 { " is" } else { "s are" }, props.unsaved[0].error) }
                    <button class="link" id="retry-unsaved" onclick={send(dispatch, Action::RetryUnsaved)}>{ "Retry saving" }</button>
                </div>
            }
            <table class="demos">
                <thead><tr><th>{ "#" }</th><th>{ "task" }</th><th>{ "by" }</th><th>{ "time" }</th><th>{ "recorded" }</th><th></th></tr></thead>
                <tbody>
                { for entries.iter().enumerate().map(|(i, entry)| {
                    let r = &entry.record;
                    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(r.recorded_at_ms));
                    let when = format!("{} {:02}:{:02}", String::from(date.to_locale_date_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED)), date.get_hours(), date.get_minutes());
                    let by = match r.source { crate::record::Source::Person => "you", crate::record::Source::ScriptedExpert => "expert" };
                    let waiting = !entry.standing.trained;
                    html! {
                        <tr data-index={i.to_string()} class={classes!(waiting.then_some("waiting"))}
                            data-sync={sync_code(props.sync.get(i).cloned().flatten().as_ref())}
                            title={format!("{}; {}", if waiting { "waiting for the next round" } else { "trained on" },
                                           sync_words(props.sync.get(i).cloned().flatten().as_ref()))}>
                            <td>{ i + 1 }</td>
                            <td>{ r.task.name() }{ if r.success { " ✓" } else { "" } }</td>
                            <td>{ by }</td>
                            <td class="value">{ format!("{:.1} s", r.actions.len() as f32 * crate::sim::CONTROL_DT) }</td>
                            <td class="small muted">{ when }{ sync_mark(props.sync.get(i).cloned().flatten().as_ref()) }</td>
                            <td class="actions">
                                <button class="icon replay" title="replay in the scene" onclick={send(dispatch, Action::Replay(i))}>{ "▶" }</button>
                                <button class="icon delete" title="delete" disabled={busy} onclick={send(dispatch, Action::Delete(i))}>{ "✕" }</button>
                            </td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
            <div class="buttons">
                <button id="export" title="AMF Studio's demonstration file (JSON)" onclick={send(dispatch, Action::Export)} disabled={entries.is_empty() && props.unsaved.is_empty()}>{ "Export…" }</button>
                <button id="export-lerobot" title="A LeRobot v3 dataset (Parquet), zipped" onclick={send(dispatch, Action::ExportLeRobot)} disabled={props.exporting || (entries.is_empty() && props.unsaved.is_empty())}>{ if props.exporting { "Writing the LeRobot dataset…" } else { "Export for LeRobot…" } }</button>
                <button id="import" onclick={pick_file} disabled={props.importing}>{ if props.importing { "Checking the file…" } else { "Import…" } }</button>
                <input type="file" accept=".json,application/json" id="import-file" ref={file_input} onchange={on_file} hidden=true />
            </div>
            <p class="small muted">{ "Export saves AMF Studio's demonstration file, which imports back (every demonstration is replayed and checked first; you can also drop a file on the page); Export for LeRobot saves a LeRobot v3 dataset. The runner also writes robomimic's HDF5." }</p>
        </details>
    }
}

/// Reads a picked or dropped file and imports it.
pub fn read_and_import(dispatch: &Callback<Action>, file: web_sys::File) {
    let dispatch = dispatch.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if file.size() > crate::demo_file::MAX_FILE_BYTES as f64 {
            let why = format!("the file is {:.0} MB; files over {} MB are refused", file.size() / 1e6, crate::demo_file::MAX_FILE_BYTES / 1_000_000);
            return dispatch.emit(Action::ImportRefused(why));
        }
        match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
            Ok(buffer) => dispatch.emit(Action::Import(js_sys::Uint8Array::new(&buffer).to_vec())),
            Err(_) => dispatch.emit(Action::ImportRefused("the file could not be read".into())),
        }
    });
}


/// An entry's state with the collection service, as the tests read it.
fn sync_code(state: Option<&SyncState>) -> &'static str {
    match state {
        None => "local",
        Some(SyncState::Queued) => "queued",
        Some(SyncState::Verified { .. }) => "verified",
        Some(SyncState::Rejected { .. }) => "rejected",
        Some(SyncState::Withdrawn { .. }) => "withdrawn",
        Some(SyncState::Elsewhere { .. }) => "elsewhere",
        Some(SyncState::NotContributed) => "not_contributed",
    }
}

fn sync_words(state: Option<&SyncState>) -> String {
    match state {
        None => "kept in this browser only".into(),
        Some(SyncState::Queued) => "queued for the collection service".into(),
        Some(SyncState::Verified { id }) => format!("verified by the collection service (#{id})"),
        Some(SyncState::Rejected { reason, .. }) => format!("refused by the collection service: {reason}"),
        Some(SyncState::Withdrawn { id }) => format!("withdrawn from the collection service by you (#{id})"),
        Some(SyncState::Elsewhere { id }) => format!("already in the crowd's dataset, contributed by someone else (#{id})"),
        Some(SyncState::NotContributed) => "kept in this browser: imported or the autopilot's, not contributed to the crowd".into(),
    }
}

fn sync_mark(state: Option<&SyncState>) -> Html {
    match state {
        None => html! {},
        Some(SyncState::Queued) => html! { <span class="sync queued" title="queued">{ " ⇡" }</span> },
        Some(SyncState::Verified { .. }) => html! { <span class="sync verified" title="verified by the service">{ " ☁✓" }</span> },
        Some(SyncState::Rejected { reason, .. }) => html! { <span class="sync rejected" title={reason.clone()}>{ " ☁✕" }</span> },
        Some(SyncState::Withdrawn { .. }) => html! { <span class="sync withdrawn" title="withdrawn from the service">{ " ☁–" }</span> },
        Some(SyncState::Elsewhere { .. }) => html! { <span class="sync elsewhere" title="already in the crowd's dataset, from someone else">{ " ☁=" }</span> },
        Some(SyncState::NotContributed) => html! {},
    }
}
