//! The page: the 3D view beside the teaching loop (the selector's prompt and reason,
//! the demonstration, the round's progress), the learning curves, the dataset, the
//! comparison, the policy's success per task, the settings and the controls' legend.
//! The state lives in the core ([`crate::page::PageState`]) and is published here by the
//! shell ([`super::shell`]); this file lays it out.

use std::rc::Rc;

use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use super::shell::Shell;
use super::stage::{Driver, StageHandle, Status};
use super::views::comparison::ComparisonPanel;
use super::views::consent::ConsentCard;
use super::views::contributor::ContributorPanel;
use super::views::crowd::CrowdPanel;
use super::views::curves::CurvesPanel;
use super::views::dataset::{read_and_import, DatasetPanel};
use super::views::feedback::FeedbackCard;
use super::views::policy::{fetch_start_files, PolicyPanel, StartFiles};
use super::views::settings::SettingsPanel;
use super::views::teach::TeachPanel;
use crate::page::address::PageAddress;
use crate::page::crowd::{Consent, Crowd, CrowdMode, SyncState};
use crate::page::{Action, Notice, NoticeKind, PageState, Phase};
use crate::sim::CONTROL_HZ;
use crate::tasks::TaskId;

fn random_seed() -> u64 {
    (js_sys::Math::random() * 4_294_967_296.0) as u64
}

#[function_component(App)]
pub fn app() -> Html {
    let canvas_ref = use_node_ref();
    let status = use_state(|| None::<Status>);
    let view_error = use_state(|| None::<String>);
    let page = use_state(|| Rc::new(PageState::default()));
    let shell = {
        let publish = page.setter();
        use_memo((), move |_| Shell::new(move |state| publish.set(state)))
    };
    let dispatch = use_memo((), {
        let shell = shell.clone();
        move |_| shell.callback()
    });
    let dispatch: Callback<Action> = (*dispatch).clone();

    {
        let (canvas_ref, status, view_error, shell) = (canvas_ref.clone(), status.clone(), view_error.clone(), shell.clone());
        use_effect_with((), move |_| {
            // Asked for before the stage starts, which holds the main thread a while.
            let files = fetch_start_files();
            let address = PageAddress::parse(&gloo::utils::window().location().search().unwrap_or_default());
            let on_status = Callback::from(move |s: Status| status.set(Some(s)));
            let seed = address.seed.unwrap_or_else(random_seed);
            let draws = address.seed;
            match canvas_ref.cast::<HtmlCanvasElement>() {
                Some(canvas) => match StageHandle::start(canvas, &address, seed, on_status, shell.demonstration_callback()) {
                    Ok(handle) => shell.set_stage(handle),
                    Err(message) => view_error.set(Some(message)),
                },
                None => view_error.set(Some("the page has no canvas to draw on".into())),
            }
            let shell = (*shell).clone();
            wasm_bindgen_futures::spawn_local(async move {
                let StartFiles { policy, assessment, openings } = files.await;
                shell.load(policy, assessment, openings, draws).await
            });
            || ()
        });
    }

    let s: &PageState = &page;
    let current_task = status.as_ref().map_or(TaskId::Reach, |s| s.task);
    let success = status.as_ref().is_some_and(|s| s.success);
    let instruction = match &s.phase {
        Phase::Demonstrating { task, .. } => format!("Your turn: {}", task.instruction()),
        _ => current_task.instruction().to_string(),
    };
    let on_new_session = {
        let dispatch = dispatch.clone();
        Callback::from(move |_: MouseEvent| {
            let sure = gloo::utils::window()
                .confirm_with_message("Start a new session? Every demonstration and the fine-tuned policy of this one are deleted.")
                .unwrap_or(false);
            if sure {
                dispatch.emit(Action::NewSession);
            }
        })
    };
    // A demonstration file dropped anywhere on the page is imported.
    let on_drag_over = Callback::from(|event: DragEvent| event.prevent_default());
    let on_drop = {
        let dispatch = dispatch.clone();
        Callback::from(move |event: DragEvent| {
            event.prevent_default();
            if let Some(file) = event.data_transfer().and_then(|d| d.files()).and_then(|files| files.get(0)) {
                read_and_import(&dispatch, file);
            }
        })
    };
    let just_saved = s.just_saved.and_then(|id| s.dataset.entries.iter().position(|e| e.id == id)).map(|i| i + 1);
    let curve_ends = s.session.as_ref().and_then(|x| Some((x.curve.first()?.clone(), x.curve.last()?.clone())));
    html! {
        <div class="app" ondragover={on_drag_over} ondrop={on_drop}>
            <header>
                <h1>{ "AMF Studio" }</h1>
                <p class="tagline">{ "Teach a robot arm by demonstration; AMF picks what to show it next" }</p>
                { crowd_badge(&s.crowd, s.dataset.queued(), &dispatch) }
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
                    <div class="touch-controls">
                        <div id={super::stage_input::HEIGHT_SLIDER_ID} class="height-slider" role="slider" aria-label="gripper height: drag up to raise, down to lower"
                             aria-orientation="vertical">
                            <span>{ "▲" }</span><span class="grip-line"></span><span>{ "▼" }</span>
                        </div>
                        <button id="grip-button" class={classes!("grip-button", status.as_ref().is_some_and(|s| s.gripping).then_some("closed"))}
                                aria-label="close or open the gripper"
                                onclick={super::views::send(&dispatch, Action::ToggleGrip)}>
                            { if status.as_ref().is_some_and(|s| s.gripping) { "Open" } else { "Grip" } }
                        </button>
                    </div>
                </section>
                <aside>
                    <Notices notices={s.notices.clone()} dispatch={dispatch.clone()} />
                    if let Some(feedback) = s.crowd.feedback.clone() {
                        <FeedbackCard feedback={feedback} status={s.dashboard.status.clone()} mine={s.own_verified(js_sys::Date::now())} dispatch={dispatch.clone()} />
                    }
                    if let (true, Some(terms)) = (s.crowd.asks_consent(), s.crowd.terms.clone()) {
                        <ConsentCard terms={terms} returning={s.crowd.credentials.is_some()} waiting={s.dataset.queued()} dispatch={dispatch.clone()} />
                    }
                    <TeachPanel phase={s.phase.clone()} session={s.session.clone()} counts={s.counts()} autopilot={s.autopilot}
                                just_saved={just_saved} easier={s.easier_offer()} practising={s.practising} dispatch={dispatch.clone()}
                                crowd={(s.crowd.mode == CrowdMode::Service).then(|| s.assignment.leased.clone()).flatten()} />
                    if let Some(session) = s.session.clone() {
                        <CurvesPanel session={session} />
                        <DatasetPanel entries={s.dataset.entries.clone()}
                                      sync={s.dataset.entries.iter().map(|e| e.sync.clone()).collect::<Vec<_>>()}
                                      unsaved={s.dataset.unsaved.clone()} undo={s.dataset.undo.clone()} busy={s.busy()}
                                      importing={s.import.is_some()} exporting={s.dataset.exporting} dispatch={dispatch.clone()} />
                    }
                    if s.crowd.mode == CrowdMode::Service {
                        <ContributorPanel id={s.crowd.credentials.as_ref().map(|c| c.id.clone())} account={s.account.account.clone()}
                                          busy={s.account.busy} operator={s.operator.clone()}
                                          from_here={s.dataset.entries.iter().filter_map(|e| e.sync.as_ref().and_then(SyncState::service_id)).collect::<Vec<_>>()}
                                          dispatch={dispatch.clone()} />
                        <CrowdPanel status={s.dashboard.status.clone()} loading={s.dashboard.loading} dispatch={dispatch.clone()} />
                    }
                    <ComparisonPanel comparison={s.comparison.clone()} dispatch={dispatch.clone()} />
                    if let (Some((first, last)), Some(session)) = (curve_ends, &s.session) {
                        <PolicyPanel first={first} last={last} tuned={s.tuned} eval_episodes={session.settings.eval_episodes}
                                     current_task={current_task} demonstrating={matches!(s.phase, Phase::Demonstrating { .. })}
                                     crowd_version={s.crowd.shared_version}
                                     dispatch={dispatch.clone()} />
                    }
                    if let Some(session) = &s.session {
                        <SettingsPanel settings={session.settings.clone()} error={s.settings_error.clone()}
                                       backend_note={session.backend.as_ref().map(|d| format!("Rounds train on {}.", d.reason))}
                                       dispatch={dispatch.clone()} />
                    }
                    { legend() }
                </aside>
            </main>
        </div>
    }
}

/// Where demonstrations go: this browser only, or also the collection service (once
/// the visitor agreed to its licence).
fn crowd_badge(crowd: &Crowd, queued: usize, dispatch: &Callback<Action>) -> Html {
    let (mode, text) = match crowd.mode {
        CrowdMode::Unknown => ("unknown", String::new()),
        CrowdMode::LocalOnly => ("local", "Local only: your demonstrations stay in this browser".to_string()),
        CrowdMode::Service if crowd.consent == Consent::Declined => ("service", "Local only, as you chose".to_string()),
        CrowdMode::Service if !crowd.consented() => ("service", "A crowd collects here · not contributing yet".to_string()),
        CrowdMode::Service if queued > 0 => ("service", format!("Contributing to the crowd · {queued} to send")),
        CrowdMode::Service => ("service", "Contributing to the crowd · all sent".to_string()),
    };
    let reconsider = (crowd.mode == CrowdMode::Service && crowd.consent == Consent::Declined).then(|| {
        html! { <button id="consent-reconsider" class="link" onclick={super::views::send(dispatch, Action::ReconsiderConsent)}>{ "contribute…" }</button> }
    });
    html! {
        <span id="crowd-mode" class="crowd-mode" data-mode={mode} data-consent={crowd.consented().to_string()} data-queued={queued.to_string()}>
            { text }{ for reconsider }
        </span>
    }
}

#[derive(Properties, PartialEq)]
struct NoticesProps {
    notices: Vec<Notice>,
    dispatch: Callback<Action>,
}

#[function_component(Notices)]
fn notices(props: &NoticesProps) -> Html {
    if props.notices.is_empty() {
        return html! {};
    }
    html! {
        <div class="notices">
            { for props.notices.iter().enumerate().map(|(i, n)| {
                let bad = n.kind == NoticeKind::Error;
                html! {
                    <div class={classes!("notice", bad.then_some("bad"))} role={if bad { "alert" } else { "status" }}>
                        <span>{ &n.text }</span>
                        <button class="close" title="dismiss" onclick={super::views::send(&props.dispatch, Action::Dismiss(i))}>{ "×" }</button>
                    </div>
                }
            }) }
        </div>
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
    let time = match s.seconds_left {
        Some(left) => format!("{:.1} s, {left} s left", s.steps as f32 / CONTROL_HZ),
        None => format!("{:.1} s", s.steps as f32 / CONTROL_HZ),
    };
    html! {
        <div class="status-line" id="episode-status">
            { format!("{} · seed {} · {time} · driven by {} · gripper {}",
                s.task.name(), s.seed, driver, if s.gripping { "closed" } else { "open" }) }
        </div>
    }
}

fn legend() -> Html {
    let rows = [
        ("Left-drag · one finger", "move the gripper across the table"),
        ("Wheel · Q / E · the slider", "raise / lower the gripper"),
        ("W A S D · arrows", "nudge the gripper"),
        ("Space · Grip", "close / open the gripper"),
        ("Right- or Shift-drag · two fingers", "turn the camera"),
        ("Ctrl + wheel · pinch", "zoom"),
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
