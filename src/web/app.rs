//! The page: the 3D view beside the teaching loop (the selector's prompt and reason,
//! the demonstration, the round's progress), the learning curves, the policy's success
//! per task, the settings and the controls' legend. State and sequencing live in
//! [`super::studio`]; this file only lays it out and wires the buttons.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, HtmlSelectElement};
use yew::prelude::*;

use super::panels::{comparison_panel, curves_panel, dataset_panel, prompt_panel, read_and_import, round_panel, SettingsPanel};
use super::policy_panel::{fetch_policy_bytes, SuccessTable};
use super::stage::{Driver, StageHandle, Status};
use super::studio::{NoticeKind, Phase, StudioHandle};
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
    let status = use_state(|| None::<Status>);
    let view_error = use_state(|| None::<String>);
    let redraw = use_force_update();
    let studio = use_memo((), move |_| StudioHandle::new(Rc::new(move || redraw.force_update())));
    let studio: StudioHandle = (*studio).clone();

    {
        let (canvas_ref, status, view_error, studio) = (canvas_ref.clone(), status.clone(), view_error.clone(), studio.clone());
        use_effect_with((), move |_| {
            let (task, seed) = initial_episode();
            let on_status = Callback::from(move |s: Status| status.set(Some(s)));
            match canvas_ref.cast::<HtmlCanvasElement>() {
                Some(canvas) => match StageHandle::start(canvas, task, seed, on_status, studio.demonstration_callback()) {
                    Ok(handle) => studio.set_stage(handle),
                    Err(message) => view_error.set(Some(message)),
                },
                None => view_error.set(Some("the page has no canvas to draw on".into())),
            }
            wasm_bindgen_futures::spawn_local(async move { studio.load(fetch_policy_bytes().await).await });
            || ()
        });
    }

    let s = studio.borrow();
    let current_task = status.as_ref().map_or(TaskId::Reach, |s| s.task);
    let success = status.as_ref().is_some_and(|s| s.success);
    let instruction = match &s.phase {
        Phase::Demonstrating { task, .. } => format!("Your turn: {}", task.instruction()),
        _ => current_task.instruction().to_string(),
    };
    let on_new_session = {
        let studio = studio.clone();
        Callback::from(move |_: MouseEvent| {
            let sure = gloo::utils::window()
                .confirm_with_message("Start a new session? Every demonstration and the fine-tuned policy of this one are deleted.")
                .unwrap_or(false);
            if sure {
                let studio = studio.clone();
                wasm_bindgen_futures::spawn_local(async move { studio.new_session().await });
            }
        })
    };

    // A demonstration file dropped anywhere on the page is imported.
    let on_drag_over = Callback::from(|event: DragEvent| event.prevent_default());
    let on_drop = {
        let studio = studio.clone();
        Callback::from(move |event: DragEvent| {
            event.prevent_default();
            if let Some(file) = event.data_transfer().and_then(|d| d.files()).and_then(|files| files.get(0)) {
                read_and_import(&studio, file);
            }
        })
    };
    html! {
        <div class="app" ondragover={on_drag_over} ondrop={on_drop}>
            <header>
                <h1>{ "AMF Studio" }</h1>
                <p class="tagline">{ "Teach a robot arm by demonstration; AMF picks what to show it next" }</p>
                <button id="new-session" class="quiet" onclick={on_new_session}>{ "New session" }</button>
            </header>
            <main>
                <section class="viewport">
                    <canvas id="scene" ref={canvas_ref} tabindex="0"></canvas>
                    <div class="instruction">{ instruction }</div>
                    <div id="success-indicator" class={classes!("success", success.then_some("shown"))}
                         data-success={success.to_string()}>
                        { if success { "✓ Success" } else { "In progress" } }
                    </div>
                    if let Some(message) = (*view_error).clone() {
                        <div class="error" role="alert">{ format!("The 3D view could not start: {message}") }</div>
                    }
                    { status_line(status.as_ref()) }
                </section>
                <aside>
                    if !s.notices.is_empty() {
                        <div class="notices">
                            { for s.notices.iter().enumerate().map(|(i, n)| {
                                let studio = studio.clone();
                                let close = Callback::from(move |_: MouseEvent| studio.dismiss(i));
                                html! {
                                    <div class={classes!("notice", (n.kind == NoticeKind::Error).then_some("bad"))}
                                         role={if n.kind == NoticeKind::Error { "alert" } else { "status" }}>
                                        <span>{ &n.text }</span>
                                        <button class="close" title="dismiss" onclick={close}>{ "×" }</button>
                                    </div>
                                }
                            }) }
                        </div>
                    }
                    { teach_section(&studio, &s.phase) }
                    { curves_panel(&s) }
                    { dataset_panel(&studio, &s) }
                    { comparison_panel(&studio, &s) }
                    { policy_section(&studio, &s, current_task) }
                    if let Some(session) = &s.session {
                        <SettingsPanel studio={studio.clone()} settings={session.settings.clone()}
                                       backend_note={session.backend.as_ref().map(|d| format!("Rounds train on {}.", d.reason))} />
                    }
                    { legend() }
                </aside>
            </main>
        </div>
    }
}

fn teach_section(studio: &StudioHandle, phase: &Phase) -> Html {
    let s = studio.borrow();
    match phase {
        Phase::Loading => html! { <section class="card"><p class="muted">{ "Loading the policy and your session…" }</p></section> },
        Phase::Broken(message) => html! { <section class="card"><p class="error-inline" role="alert">{ message }</p></section> },
        Phase::Starting { progress } => html! {
            <section class="card" id="starting">
                <h2>{ "Getting ready" }</h2>
                <p class="muted">{ format!("Measuring the pre-trained policy on every task by rollouts… {:.0}%", 100.0 * progress) }</p>
                <progress max="1" value={progress.to_string()}></progress>
            </section>
        },
        Phase::Round(progress) => round_panel(studio, progress),
        _ => prompt_panel(studio, &s, phase),
    }
}

fn policy_section(studio: &StudioHandle, s: &super::studio::Studio, current_task: TaskId) -> Html {
    let Some(session) = &s.session else { return html! {} };
    let (Some(first), Some(last)) = (session.curve.first(), session.curve.last()) else { return html! {} };
    let tuned = s.tuned.is_some();
    let watch = |fine_tuned: bool| {
        let studio = studio.clone();
        Callback::from(move |_: MouseEvent| studio.watch(fine_tuned))
    };
    let on_task = {
        let studio = studio.clone();
        Callback::from(move |event: Event| {
            let select: HtmlSelectElement = event.target().unwrap().unchecked_into();
            if let (Some(task), Some(stage)) = (TaskId::from_name(&select.value()), studio.borrow().stage.as_ref()) {
                stage.reset(task, random_seed());
            }
        })
    };
    let watch_expert = {
        let studio = studio.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(stage) = studio.borrow().stage.as_ref() {
                stage.watch_expert();
            }
        })
    };
    let busy_demonstrating = matches!(s.phase, Phase::Demonstrating { .. });
    html! {
        <section class="card">
            <h2>{ if tuned { "The fine-tuned policy" } else { "The pre-trained policy" } }</h2>
            <SuccessTable per_task={last.per_task.clone()} before={tuned.then(|| first.per_task.clone())} mean={last.mean_success} />
            <p class="muted small">
                { format!("● in the pre-training data. Success over {} rollouts per task", session.settings.eval_episodes) }
                { if tuned { "; ticks mark the pre-trained policy." } else { "." } }
            </p>
            <h3>{ "Watch" }</h3>
            <div class="watch">
                <select id="task-picker" onchange={on_task} disabled={busy_demonstrating}>
                    { for TaskId::ALL.iter().map(|t| html! {
                        <option value={t.name()} selected={*t == current_task}>{ t.instruction() }</option>
                    }) }
                </select>
                <div class="buttons">
                    if tuned {
                        <button id="watch-tuned" class="primary" onclick={watch(true)} disabled={busy_demonstrating}>{ "▶ Fine-tuned" }</button>
                    }
                    <button id="watch-policy" onclick={watch(false)} disabled={busy_demonstrating}>{ "▶ Pre-trained" }</button>
                    <button id="watch-expert" onclick={watch_expert} disabled={busy_demonstrating}>{ "▶ Scripted expert" }</button>
                </div>
            </div>
        </section>
    }
}

fn status_line(status: Option<&Status>) -> Html {
    let Some(s) = status else { return html! {} };
    let driver = match s.driver {
        Driver::Person => "you",
        Driver::Expert => "the scripted expert",
        Driver::Policy => "the policy",
        Driver::Replay => "a stored demonstration",
    };
    html! {
        <div class="status-line" id="episode-status">
            { format!("{} · seed {} · {:.1} s · driven by {} · gripper {}",
                s.task.name(), s.seed, s.steps as f32 / CONTROL_HZ, driver, if s.gripping { "closed" } else { "open" }) }
        </div>
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
        <details class="card legend-card" open=true>
            <summary>{ "Controls" }</summary>
            <table class="legend">
                { for rows.iter().map(|(input, effect)| html! {
                    <tr><th>{ *input }</th><td>{ *effect }</td></tr>
                }) }
            </table>
        </details>
    }
}
