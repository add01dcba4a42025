//! The page: the 3D view, a task picker, the episode's status and the controls' legend.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, HtmlSelectElement};
use yew::prelude::*;

use super::policy_panel::{evaluate_in_slices, fetch_policy, SuccessTable};
use super::stage::{Driver, StageHandle, Status};
use crate::policy::Evaluation;
use crate::sim::CONTROL_HZ;
use crate::tasks::TaskId;

/// Task and seed to open with: from `?task=..&seed=..`, else reach and a random seed.
fn initial_episode() -> (TaskId, u64) {
    let search = gloo::utils::window().location().search().unwrap_or_default();
    let mut task = TaskId::Reach;
    let mut seed = None;
    for pair in search.trim_start_matches('?').split('&') {
        match pair.split_once('=') {
            Some(("task", name)) => task = TaskId::from_name(name).unwrap_or(task),
            Some(("seed", value)) => seed = value.parse().ok(),
            _ => {}
        }
    }
    (task, seed.unwrap_or_else(random_seed))
}

fn random_seed() -> u64 {
    (js_sys::Math::random() * 4_294_967_296.0) as u64
}

#[function_component(App)]
pub fn app() -> Html {
    let canvas_ref = use_node_ref();
    let stage = use_mut_ref(|| None::<StageHandle>);
    let status = use_state(|| None::<Status>);
    let error = use_state(|| None::<String>);
    let policy_state = use_state(|| PolicyState::Loading);
    let evaluation = use_state(|| (0.0f32, None::<Evaluation>));

    {
        let (canvas_ref, stage, status, error) = (canvas_ref.clone(), stage.clone(), status.clone(), error.clone());
        let (policy_state, evaluation) = (policy_state.clone(), evaluation.clone());
        use_effect_with((), move |_| {
            let (task, seed) = initial_episode();
            let on_status = Callback::from(move |s: Status| status.set(Some(s)));
            match canvas_ref.cast::<HtmlCanvasElement>() {
                Some(canvas) => match StageHandle::start(canvas, task, seed, on_status) {
                    Ok(handle) => {
                        *stage.borrow_mut() = Some(handle);
                        load_policy(stage.clone(), policy_state, evaluation);
                    }
                    Err(message) => error.set(Some(message)),
                },
                None => error.set(Some("the page has no canvas to draw on".into())),
            }
            || ()
        });
    }

    let current_task = status.as_ref().map_or(TaskId::Reach, |s| s.task);
    let on_stage = |act: fn(&StageHandle, TaskId)| {
        let stage = stage.clone();
        Callback::from(move |_: MouseEvent| with_stage(&stage, |h| act(h, current_task)))
    };
    let on_new_episode = on_stage(|h, task| h.reset(task, random_seed()));
    let on_watch = on_stage(|h, _| h.watch_expert());
    let on_watch_policy = on_stage(|h, _| h.watch_policy());
    let on_grip = on_stage(|h, _| h.toggle_grip());
    let on_task = {
        let stage = stage.clone();
        Callback::from(move |event: Event| {
            let select: HtmlSelectElement = event.target().unwrap().unchecked_into();
            if let Some(task) = TaskId::from_name(&select.value()) {
                with_stage(&stage, |h| h.reset(task, random_seed()));
            }
        })
    };

    let success = status.as_ref().is_some_and(|s| s.success);
    let gripping = status.as_ref().is_some_and(|s| s.gripping);
    html! {
        <div class="app">
            <header>
                <h1>{ "AMF Studio" }</h1>
                <p class="tagline">{ "Teach a robot arm by demonstration, in your browser" }</p>
            </header>
            <main>
                <section class="viewport">
                    <canvas id="scene" ref={canvas_ref} tabindex="0"></canvas>
                    <div class="instruction">{ current_task.instruction() }</div>
                    <div id="success-indicator" class={classes!("success", success.then_some("shown"))}
                         data-success={success.to_string()}>
                        { if success { "✓ Success" } else { "In progress" } }
                    </div>
                    if let Some(message) = (*error).clone() {
                        <div class="error" role="alert">{ format!("The 3D view could not start: {message}") }</div>
                    }
                </section>
                <aside>
                    <label class="field">
                        <span>{ "Task" }</span>
                        <select id="task-picker" onchange={on_task}>
                            { for TaskId::ALL.iter().map(|t| html! {
                                <option value={t.name()} selected={*t == current_task}>{ t.instruction() }</option>
                            }) }
                        </select>
                    </label>
                    <div class="buttons">
                        <button id="new-episode" onclick={on_new_episode}>{ "New episode" }</button>
                        <button id="watch-expert" class="primary" onclick={on_watch}>{ "▶ Watch the expert" }</button>
                        <button id="toggle-grip" onclick={on_grip}>
                            { if gripping { "Open gripper" } else { "Close gripper" } }
                        </button>
                    </div>
                    { status_panel(status.as_ref()) }
                    <section class="policy">
                        <h2>{ "Pre-trained policy" }</h2>
                        { match &*policy_state {
                            PolicyState::Loading => html! { <p class="muted">{ "Loading the policy…" }</p> },
                            PolicyState::Failed(message) => html! {
                                <p class="error-inline" role="alert">{ format!("The policy could not be loaded: {message}") }</p>
                            },
                            PolicyState::Ready => html! {
                                <>
                                    <button id="watch-policy" onclick={on_watch_policy}>{ "▶ Watch the policy" }</button>
                                    <SuccessTable progress={evaluation.0} evaluation={evaluation.1.clone()} />
                                    <p class="muted small">{ "● in the pre-training data. Success over 5 rollouts per task." }</p>
                                </>
                            },
                        } }
                    </section>
                    { legend() }
                </aside>
            </main>
        </div>
    }
}

/// Runs `act` on the stage, once it has started.
fn with_stage(stage: &Rc<RefCell<Option<StageHandle>>>, act: impl FnOnce(&StageHandle)) {
    if let Some(handle) = stage.borrow().as_ref() {
        act(handle);
    }
}

#[derive(Clone, PartialEq)]
enum PolicyState {
    Loading,
    Ready,
    Failed(String),
}

/// Fetches the policy, hands it to the stage, then measures its success per task.
fn load_policy(
    stage: Rc<RefCell<Option<StageHandle>>>,
    state: UseStateHandle<PolicyState>,
    evaluation: UseStateHandle<(f32, Option<Evaluation>)>,
) {
    wasm_bindgen_futures::spawn_local(async move {
        match fetch_policy().await {
            Ok(policy) => {
                let policy = Rc::new(policy);
                if let Some(handle) = stage.borrow().as_ref() {
                    handle.set_policy(policy.clone());
                }
                state.set(PolicyState::Ready);
                evaluate_in_slices(policy, Callback::from(move |update| evaluation.set(update)));
            }
            Err(message) => state.set(PolicyState::Failed(message)),
        }
    });
}

fn status_panel(status: Option<&Status>) -> Html {
    let Some(s) = status else { return html! { <p class="status">{ "Loading the scene…" }</p> } };
    let driver = match s.driver {
        Driver::Person => "you",
        Driver::Expert => "the scripted expert",
        Driver::Policy => "the pre-trained policy",
    };
    html! {
        <dl class="status" id="episode-status">
            <dt>{ "Episode" }</dt><dd>{ format!("{} · seed {}", s.task.name(), s.seed) }</dd>
            <dt>{ "Time" }</dt><dd>{ format!("{:.1} s ({} steps)", s.steps as f32 / CONTROL_HZ, s.steps) }</dd>
            <dt>{ "Driving" }</dt><dd>{ driver }</dd>
            <dt>{ "Gripper" }</dt><dd>{ if s.gripping { "closed" } else { "open" } }</dd>
        </dl>
    }
}

fn legend() -> Html {
    let rows = [
        ("Left-drag", "move the gripper across the table"),
        ("Wheel · Q / E", "raise / lower the gripper"),
        ("W A S D · arrows", "nudge the gripper"),
        ("Space", "close / open the gripper"),
        ("Right- or Shift-drag", "turn the camera"),
        ("Ctrl + wheel", "zoom"),
    ];
    html! {
        <table class="legend">
            <caption>{ "Controls" }</caption>
            { for rows.iter().map(|(input, effect)| html! {
                <tr><th>{ *input }</th><td>{ *effect }</td></tr>
            }) }
        </table>
    }
}
