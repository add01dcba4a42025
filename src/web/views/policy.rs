//! The policy in the page: fetching the shipped file, the success-per-task table, and
//! the card that shows the policy's success and plays it.

use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlSelectElement, Response};
use yew::prelude::*;

use super::send;
use crate::experiment::CurvePoint;
use crate::page::{Action, Watched};
use crate::policy::PRETRAIN_TASKS;
use crate::tasks::TaskId;

/// Where trunk puts the shipped weights.
pub const POLICY_URL: &str = "policy.amfp";
/// And their assessment (`crate::assessment`), which spares a session's start the
/// rollouts.
pub const ASSESSMENT_URL: &str = "policy.amfa";
/// And the first proposals of sessions with the default settings (`crate::opening`),
/// which spare a session's start the training worker.
pub const OPENINGS_URL: &str = "policy.openings.json";

/// Fetches the shipped pre-trained policy's file (the benchmark page's; the page's
/// sessions read it with the start's other files, `fetch_start_files`).
#[cfg(feature = "bench-page")]
pub async fn fetch_policy_bytes() -> Result<Vec<u8>, String> {
    fetch_bytes(POLICY_URL).await
}

/// The shipped policy's files a session's start reads: the policy; its assessment
/// (without it, a broken download or a build that has none, the start rolls the policy
/// out, as it always could); its sessions' first proposals (without them the start waits
/// for the training worker). The three requests are sent now, when this is called, so
/// that they need not wait for the caller's next await.
pub fn fetch_start_files() -> impl std::future::Future<Output = StartFiles> {
    let (policy, assessment, openings) = (fetch_bytes(POLICY_URL), fetch_bytes(ASSESSMENT_URL), fetch_bytes(OPENINGS_URL));
    async move {
        let ((policy, assessment), openings) = futures_lite::future::zip(futures_lite::future::zip(policy, assessment), openings).await;
        let optional = |file: Result<Vec<u8>, String>, what: &str| file.inspect_err(|error| gloo::console::warn!(format!("no shipped {what}: {error}"))).ok();
        StartFiles { policy, assessment: optional(assessment, "assessment"), openings: optional(openings, "first proposals") }
    }
}

/// What [`fetch_start_files`] brings.
pub struct StartFiles {
    pub policy: Result<Vec<u8>, String>,
    pub assessment: Option<Vec<u8>>,
    pub openings: Option<Vec<u8>>,
}

/// Fetches `url`'s bytes; the request is sent when this is called, not when the future
/// is first polled.
fn fetch_bytes(url: &str) -> impl std::future::Future<Output = Result<Vec<u8>, String>> {
    let request = gloo::utils::window().fetch_with_str(url);
    let url = url.to_string();
    async move {
        let response = JsFuture::from(request).await.map_err(|_| format!("could not fetch {url}"))?;
        let response: Response = response.dyn_into().map_err(|_| "fetch returned no response".to_string())?;
        if !response.ok() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        let buffer = JsFuture::from(response.array_buffer().map_err(|_| "unreadable response".to_string())?)
            .await
            .map_err(|_| "the download broke off".to_string())?;
        Ok(Uint8Array::new(&buffer).to_vec())
    }
}

#[derive(Properties, PartialEq)]
pub struct SuccessTableProps {
    /// Success per task now (by `TaskId::index`).
    pub per_task: Vec<f64>,
    /// The pre-trained policy's, drawn as a tick for comparison.
    pub before: Option<Vec<f64>>,
    pub mean: f64,
}

/// Success per task as bars, marking the tasks pre-training saw.
#[function_component(SuccessTable)]
pub fn success_table(props: &SuccessTableProps) -> Html {
    html! {
        <table class="success-table" id="policy-success">
            { for TaskId::ALL.iter().zip(&props.per_task).map(|(task, &rate)| {
                let percent = 100.0 * rate;
                let tick = props.before.as_ref().and_then(|b| b.get(task.index()).copied());
                html! {
                    <tr data-task={task.name()} data-success={format!("{rate:.3}")}>
                        <th>{ task.name() }{ if PRETRAIN_TASKS.contains(task) { html! { <span class="seen" title="in the pre-training data">{ " ●" }</span> } } else { html! {} } }</th>
                        <td class="bar">
                            <span style={format!("width: {percent:.0}%")}></span>
                            if let Some(before) = tick {
                                <i class="tick" title={format!("pre-trained: {:.0}%", 100.0 * before)} style={format!("left: {:.0}%", 100.0 * before)}></i>
                            }
                        </td>
                        <td class="value">{ format!("{percent:.0}%") }</td>
                    </tr>
                }
            }) }
            <tr class="mean"><th>{ "mean over targets" }</th><td></td><td class="value">{ format!("{:.0}%", 100.0 * props.mean) }</td></tr>
        </table>
    }
}

#[derive(Properties, PartialEq)]
pub struct PolicyProps {
    /// The pre-trained policy's success per task, and the latest.
    pub first: CurvePoint,
    pub last: CurvePoint,
    pub tuned: bool,
    pub eval_episodes: usize,
    /// The task on the stage now.
    pub current_task: TaskId,
    /// A demonstration is under way: the stage is the visitor's.
    pub demonstrating: bool,
    /// The version of the crowd's shared policy loaded (with a collection service).
    pub crowd_version: Option<i64>,
    pub dispatch: Callback<Action>,
}

/// The policy's success per task, and playing it (or the scripted expert) on any task.
#[function_component(PolicyPanel)]
pub fn policy_panel(props: &PolicyProps) -> Html {
    let dispatch = &props.dispatch;
    let tuned = props.tuned;
    let on_task = {
        let dispatch = dispatch.clone();
        Callback::from(move |event: Event| {
            let select: HtmlSelectElement = event.target().unwrap().unchecked_into();
            if let Some(task) = TaskId::from_name(&select.value()) {
                dispatch.emit(Action::ShowTask(task));
            }
        })
    };
    let busy = props.demonstrating;
    html! {
        <section class="card">
            <h2>{ if tuned { "The fine-tuned policy" } else { "The pre-trained policy" } }</h2>
            <SuccessTable per_task={props.last.per_task.clone()} before={tuned.then(|| props.first.per_task.clone())} mean={props.last.mean_success} />
            <p class="muted small">
                { format!("● in the pre-training data. Success over {} rollouts per task", props.eval_episodes) }
                { if tuned { "; ticks mark the pre-trained policy." } else { "." } }
            </p>
            <h3>{ "Watch" }</h3>
            <div class="watch">
                <select id="task-picker" onchange={on_task} disabled={busy}>
                    { for TaskId::ALL.iter().map(|t| html! {
                        <option value={t.name()} selected={*t == props.current_task}>{ t.instruction() }</option>
                    }) }
                </select>
                <div class="buttons">
                    if tuned {
                        <button id="watch-tuned" class="primary" onclick={send(dispatch, Action::Watch(Watched::FineTuned))} disabled={busy}>{ "▶ Fine-tuned" }</button>
                    }
                    if let Some(version) = props.crowd_version {
                        <button id="watch-crowd" data-version={version.to_string()} title="the policy the crowd's demonstrations trained, on the service"
                                onclick={send(dispatch, Action::Watch(Watched::Crowd))} disabled={busy}>{ format!("▶ The crowd's (v{version})") }</button>
                    }
                    <button id="watch-policy" onclick={send(dispatch, Action::Watch(Watched::Pretrained))} disabled={busy}>{ "▶ Pre-trained" }</button>
                    <button id="watch-expert" onclick={send(dispatch, Action::Watch(Watched::Expert))} disabled={busy}>{ "▶ Scripted expert" }</button>
                </div>
            </div>
        </section>
    }
}
