//! The policy in the page: fetching the shipped file, and the success-per-task table.

use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;
use yew::prelude::*;

use crate::policy::{Checkpoint, Policy, PRETRAIN_TASKS};
use crate::tasks::TaskId;

/// Where trunk puts the shipped weights.
pub const POLICY_URL: &str = "policy.amfp";

/// Fetches the shipped pre-trained policy's file.
pub async fn fetch_policy_bytes() -> Result<Vec<u8>, String> {
    let window = gloo::utils::window();
    let response = JsFuture::from(window.fetch_with_str(POLICY_URL))
        .await
        .map_err(|_| format!("could not fetch {POLICY_URL}"))?;
    let response: Response = response.dyn_into().map_err(|_| "fetch returned no response".to_string())?;
    if !response.ok() {
        return Err(format!("{POLICY_URL}: HTTP {}", response.status()));
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(|_| "unreadable response".to_string())?)
        .await
        .map_err(|_| "the download broke off".to_string())?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Fetches and loads the shipped pre-trained policy.
pub async fn fetch_policy() -> Result<Policy, String> {
    match Checkpoint::from_bytes(&fetch_policy_bytes().await?).map_err(|e| e.to_string())? {
        Checkpoint::Pretrained { policy, .. } => Ok(policy),
        Checkpoint::FineTuned { .. } => Err(format!("{POLICY_URL} is a fine-tuned policy, not the pre-trained one")),
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
