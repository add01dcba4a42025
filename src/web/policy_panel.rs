//! The pre-trained policy in the page: fetching its file, and measuring its success per
//! task by rollouts in short slices between frames, so the scene keeps animating.

use std::cell::RefCell;
use std::rc::Rc;

use gloo::timers::callback::Timeout;
use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;
use yew::prelude::*;

use crate::policy::{Checkpoint, Evaluation, Evaluator, Policy, EVAL_FIRST_SEED};
use crate::tasks::TaskId;

/// Where trunk puts the shipped weights.
pub const POLICY_URL: &str = "policy.amfp";
/// Rollouts per task for the page's success table.
const EPISODES_PER_TASK: usize = 5;
/// Milliseconds of evaluation per slice before yielding to the browser.
const SLICE_MS: f64 = 12.0;

/// Fetches and loads the shipped pre-trained policy.
pub async fn fetch_policy() -> Result<Policy, String> {
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
    let bytes = Uint8Array::new(&buffer).to_vec();
    match Checkpoint::from_bytes(&bytes).map_err(|e| e.to_string())? {
        Checkpoint::Pretrained { policy, .. } => Ok(policy),
        Checkpoint::FineTuned { .. } => Err(format!("{POLICY_URL} is a fine-tuned policy, not the pre-trained one")),
    }
}

/// Runs an evaluation of `policy` in slices; reports progress and the final result.
pub fn evaluate_in_slices(policy: Rc<Policy>, on_update: Callback<(f32, Option<Evaluation>)>) {
    let evaluator = Rc::new(RefCell::new(Evaluator::new(&TaskId::ALL, EPISODES_PER_TASK, EVAL_FIRST_SEED)));
    run_slice(policy, evaluator, on_update);
}

fn run_slice(policy: Rc<Policy>, evaluator: Rc<RefCell<Evaluator>>, on_update: Callback<(f32, Option<Evaluation>)>) {
    let now = || gloo::utils::window().performance().map_or(0.0, |p| p.now());
    let start = now();
    let mut more = true;
    while more && now() - start < SLICE_MS {
        more = evaluator.borrow_mut().advance(policy.as_ref());
    }
    let state = evaluator.borrow();
    if more {
        on_update.emit((state.progress(), None));
        drop(state);
        Timeout::new(0, move || run_slice(policy, evaluator, on_update)).forget();
    } else {
        on_update.emit((1.0, Some(state.evaluation())));
    }
}

#[derive(Properties, PartialEq)]
pub struct SuccessTableProps {
    pub evaluation: Option<Evaluation>,
    pub progress: f32,
}

/// Success per task as bars, marking the tasks pre-training saw.
#[function_component(SuccessTable)]
pub fn success_table(props: &SuccessTableProps) -> Html {
    let Some(evaluation) = &props.evaluation else {
        return html! {
            <p class="muted" id="policy-evaluation-progress">
                { format!("Measuring success by rollouts… {:.0}%", 100.0 * props.progress) }
            </p>
        };
    };
    html! {
        <table class="success-table" id="policy-success">
            { for evaluation.tasks.iter().map(|t| {
                let percent = 100.0 * t.success_rate;
                html! {
                    <tr data-task={t.name} data-success={format!("{:.3}", t.success_rate)}>
                        <th>{ t.name }{ if t.pretrained_on { html! { <span class="seen" title="in the pre-training data">{ " ●" }</span> } } else { html! {} } }</th>
                        <td class="bar"><span style={format!("width: {percent:.0}%")}></span></td>
                        <td class="value">{ format!("{percent:.0}%") }</td>
                    </tr>
                }
            }) }
            <tr class="mean"><th>{ "mean" }</th><td></td><td class="value">{ format!("{:.0}%", 100.0 * evaluation.mean_success) }</td></tr>
        </table>
    }
}
