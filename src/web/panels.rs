//! The teaching loop's panels: the selector's prompt with its reason, the
//! demonstration under way, the round's progress, the learning curves with the
//! selector's history, and the settings.

use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::studio::{Phase, RoundProgress, RoundStage, Studio, StudioHandle};
use crate::select::{Proxy, SelectorKind};
use crate::session::chart::task_colour;
use crate::session::{BackendChoice, ChosenBy, SessionSettings};
use crate::tasks::{TaskId, NUM_TASKS};

fn click(studio: &StudioHandle, act: impl Fn(&StudioHandle) + 'static) -> Callback<MouseEvent> {
    let studio = studio.clone();
    Callback::from(move |_: MouseEvent| act(&studio))
}

fn selector_title(kind: SelectorKind) -> &'static str {
    match kind {
        SelectorKind::Amf => "AMF",
        SelectorKind::Uniform => "Uniform sampling",
        SelectorKind::RoundRobin => "Round-robin",
        SelectorKind::Uncertainty => "Uncertainty sampling",
        SelectorKind::Rebalancing => "Rebalancing",
    }
}

/// What to demonstrate next and why; or the demonstration under way.
pub fn prompt_panel(studio: &StudioHandle, s: &Studio, phase: &Phase) -> Html {
    let Some(session) = &s.session else { return html! {} };
    let done = session.demonstrations();
    let count_line = html! {
        <p class="muted small" id="demo-count" data-count={done.to_string()} data-pending={session.pending.len().to_string()}>
            { format!("{done} of {} demonstrations given", session.settings.budget) }
            if !session.pending.is_empty() {
                { format!(" · {} waiting for the next round (every {})", session.pending.len(), session.settings.batch) }
            }
        </p>
    };
    match phase {
        Phase::Demonstrating { task, .. } => {
            let restart = {
                let task = *task;
                let chosen_by = match phase {
                    Phase::Demonstrating { chosen_by, .. } => *chosen_by,
                    _ => ChosenBy::Person,
                };
                click(studio, move |st| st.demonstrate(task, chosen_by))
            };
            let grip = click(studio, |st| {
                if let Some(stage) = st.borrow().stage.as_ref() {
                    stage.toggle_grip();
                }
            });
            html! {
                <section class="card demo" id="demonstrating" data-task={task.name()}>
                    <p class="eyebrow">{ "Demonstrating" }</p>
                    <h2 class="ask">{ task.instruction() }</h2>
                    <p class="muted small">{ "Drag the gripper with the left mouse button, raise or lower it with the wheel, close it with Space. The demonstration is saved the moment the task succeeds." }</p>
                    <div class="buttons">
                        <button id="toggle-grip" onclick={grip}>{ "Close / open gripper" }</button>
                        <button id="restart-demo" onclick={restart}>{ "↺ Start over" }</button>
                        <button id="discard-demo" onclick={click(studio, |st| st.discard_attempt())}>{ "Discard" }</button>
                    </div>
                    if s.autopilot { { autopilot_switch(studio, true) } }
                    { count_line }
                </section>
            }
        }
        Phase::TimeUp { task, chosen_by } => {
            let (task, chosen_by) = (*task, *chosen_by);
            html! {
                <section class="card demo" id="time-up">
                    <p class="eyebrow">{ "Time is up" }</p>
                    <h2 class="ask">{ task.instruction() }</h2>
                    <p>{ "The task was not completed in time, so this attempt is not kept." }</p>
                    <div class="buttons">
                        <button class="primary" id="retry-demo" onclick={click(studio, move |st| st.demonstrate(task, chosen_by))}>{ "Try again" }</button>
                        <button id="discard-demo" onclick={click(studio, |st| st.discard_attempt())}>{ "Leave it" }</button>
                    </div>
                </section>
            }
        }
        _ if session.curve.is_empty() => html! {
            <section class="card" id="not-started">
                <h2>{ "The session has not started" }</h2>
                <p>{ "The pre-trained policy could not be measured, so the selector has nothing to go on yet." }</p>
                <div class="buttons">
                    <button class="primary" id="retry-start" onclick={click(studio, |st| st.restart_session())}>{ "Try again" }</button>
                </div>
            </section>
        },
        _ => {
            let proposal = session.proposal();
            let saved = s.just_saved.map(|i| html! {
                <div class="saved" id="saved-notice">
                    { format!("✓ Demonstration {} saved.", i + 1) }
                    <button class="link" id="discard-saved" onclick={click(studio, |st| {
                        let st = st.clone();
                        wasm_bindgen_futures::spawn_local(async move { st.discard_saved().await });
                    })}>{ "Discard it" }</button>
                </div>
            });
            let train_now = (session.round_due() || (!session.pending.is_empty() && proposal.is_none())).then(|| html! {
                <button class="primary" id="train-now" onclick={click(studio, |st| st.train())}>{ "Train now" }</button>
            });
            html! {
                <section class="card prompt" id="prompt" data-task={proposal.map(|t| t.name()).unwrap_or("")}>
                    { saved.unwrap_or_default() }
                    if let Some(task) = proposal {
                        <p class="eyebrow">{ format!("{} asks you to demonstrate", selector_title(session.settings.selector)) }</p>
                        <h2 class="ask">{ task.instruction() }</h2>
                        <div class="buttons">
                            <button class="primary" id="accept" onclick={click(studio, move |st| st.demonstrate(task, ChosenBy::Selector))}>{ "▶ Demonstrate it" }</button>
                            <button id="another" onclick={click(studio, move |st| st.decline(task))}>{ "Ask for another" }</button>
                            { train_now.clone().unwrap_or_default() }
                        </div>
                        { choose_yourself(studio) }
                        { autopilot_switch(studio, s.autopilot) }
                    } else {
                        <h2>{ "The budget is spent" }</h2>
                        <p>{ format!("All {} demonstrations are given. Raise the budget in the settings to go on, or start a new session.", session.settings.budget) }</p>
                        <div class="buttons">{ train_now.unwrap_or_default() }</div>
                    }
                    { count_line }
                    { reason_chart(session, s, proposal) }
                </section>
            }
        }
    }
}

/// The autopilot: the scripted expert demonstrates what the selector asks.
fn autopilot_switch(studio: &StudioHandle, on: bool) -> Html {
    let studio = studio.clone();
    let toggle = Callback::from(move |event: Event| {
        let input: HtmlInputElement = event.target().unwrap().unchecked_into();
        studio.set_autopilot(input.checked());
    });
    html! {
        <label class="autopilot">
            <input type="checkbox" id="autopilot" checked={on} onchange={toggle} />
            { " Autopilot: the scripted expert demonstrates whatever the selector asks" }
        </label>
    }
}

fn choose_yourself(studio: &StudioHandle) -> Html {
    // A plain function of the studio, not a component: the ref lives as long as the
    // rendered select it is bound to.
    let choice = NodeRef::default();
    let go = {
        let choice = choice.clone();
        click(studio, move |st| {
            if let Some(task) = choice.cast::<HtmlSelectElement>().and_then(|s| TaskId::from_name(&s.value())) {
                st.demonstrate(task, ChosenBy::Person);
            }
        })
    };
    html! {
        <details class="choose">
            <summary>{ "or choose a task yourself" }</summary>
            <div class="row">
                <select id="choose-task" ref={choice}>
                    { for TaskId::ALL.iter().map(|t| html! { <option value={t.name()}>{ t.instruction() }</option> }) }
                </select>
                <button id="choose" onclick={go}>{ "Demonstrate" }</button>
            </div>
        </details>
    }
}

/// Each target task's score (for AMF the expected information gain on the targets),
/// its success now and its demonstrations: the reason for the proposal.
fn reason_chart(session: &crate::session::Session, _s: &Studio, proposal: Option<TaskId>) -> Html {
    let Some(selection) = &session.selection else { return html! {} };
    let counts = session.demonstrations_per_task();
    let success = session.curve.last().map(|p| p.per_task.clone()).unwrap_or_else(|| vec![0.0; NUM_TASKS]);
    let max = selection.scores.iter().map(|s| s.score).fold(0.0f64, f64::max);
    let is_gain = matches!(session.settings.selector, SelectorKind::Amf | SelectorKind::Uncertainty);
    let score_title = match session.settings.selector {
        SelectorKind::Amf => "expected information gain on the targets (nats)",
        SelectorKind::Uncertainty => "predictive uncertainty",
        _ => "selection weight",
    };
    html! {
        <div class="reason">
            <p class="small">{ &selection.reason }</p>
            <table class="reasons" id="reasons">
                <thead><tr><th>{ "task" }</th><th title={score_title}>{ if is_gain { "gain" } else { "weight" } }</th><th></th><th>{ "success" }</th><th>{ "demos" }</th></tr></thead>
                <tbody>
                { for selection.scores.iter().filter(|sc| session.settings.target_weights.get(sc.task).is_some_and(|&w| w > 0.0)).map(|sc| {
                    let task = TaskId::ALL[sc.task];
                    let width = if max > 0.0 { 100.0 * sc.score / max } else { 0.0 };
                    let proxy = match sc.proxy {
                        Some(Proxy::Demonstrations) => "estimated from its demonstrations",
                        Some(Proxy::Rollouts) => "estimated from the policy's own attempts",
                        None => "",
                    };
                    html! {
                        <tr class={classes!((Some(task) == proposal).then_some("proposed"))} data-task={task.name()} data-score={format!("{:.5}", sc.score)}>
                            <th>{ task.name() }</th>
                            <td class="bar" title={proxy}><span style={format!("width: {width:.0}%")}></span></td>
                            <td class="value">{ if is_gain { format!("{:.3}", sc.score) } else { format!("{:.2}", sc.score) } }</td>
                            <td class="value">{ format!("{:.0}%", 100.0 * success.get(sc.task).copied().unwrap_or(0.0)) }</td>
                            <td class="value">{ counts[sc.task] }</td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        </div>
    }
}

/// The round under way: its stage, a progress bar, the live loss and a cancel button.
pub fn round_panel(studio: &StudioHandle, p: &RoundProgress) -> Html {
    let (label, fraction) = match p.stage {
        RoundStage::Waiting => ("Starting the training worker…".to_string(), 0.0),
        RoundStage::Training => (format!("Fine-tuning: step {} of {}", p.step, p.steps), 0.8 * p.step as f32 / p.steps.max(1) as f32),
        RoundStage::Evaluating => (format!("Evaluating by rollouts… {:.0}%", 100.0 * p.evaluated), 0.8 + 0.18 * p.evaluated),
        RoundStage::Selecting => ("Choosing the next task…".to_string(), 0.99),
    };
    html! {
        <section class="card" id="round" data-stage={format!("{:?}", p.stage).to_lowercase()} data-step={p.step.to_string()} data-steps={p.steps.to_string()}>
            <h2>{ "Learning from your demonstrations" }</h2>
            <p>{ label }</p>
            <progress id="round-progress" max="1" value={fraction.to_string()}></progress>
            { loss_sparkline(&p.losses) }
            if let Some(message) = &p.fell_back { <p class="small muted">{ message }</p> }
            <div class="buttons">
                <button id="cancel-round" onclick={click(studio, |st| st.cancel_round())}>{ "Cancel" }</button>
            </div>
        </section>
    }
}

/// The training loss as a small line (log scale), drawn on every progress message.
fn loss_sparkline(losses: &[f32]) -> Html {
    if losses.len() < 2 {
        return html! {};
    }
    let logs: Vec<f32> = losses.iter().map(|l| l.max(1e-6).log10()).collect();
    let (lo, hi) = logs.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let span = (hi - lo).max(1e-3);
    let (w, h) = (300.0, 60.0);
    let points: String = logs
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1} ", w * i as f32 / (logs.len() - 1) as f32, 4.0 + (h - 8.0) * (hi - v) / span))
        .collect();
    html! {
        <figure class="loss">
            <svg id="loss-curve" viewBox={format!("0 0 {w} {h}")} preserveAspectRatio="none" data-points={losses.len().to_string()}>
                <polyline points={points} fill="none" stroke="#2f6fde" stroke-width="2" vector-effect="non-scaling-stroke" />
            </svg>
            <figcaption class="small muted">{ format!("cloning loss (log scale): {:.4}", losses.last().copied().unwrap_or(0.0)) }</figcaption>
        </figure>
    }
}

/// Success against demonstrations, with the legend and the selector's history.
pub fn curves_panel(s: &Studio) -> Html {
    let Some(session) = &s.session else { return html! {} };
    if session.curve.is_empty() {
        return html! {};
    }
    let svg = Html::from_html_unchecked(AttrValue::from(s.curve_svg.clone()));
    html! {
        <section class="card" id="curves" data-points={session.curve.len().to_string()}>
            <h2>{ "Learning curves" }</h2>
            <div class="chart">{ svg }</div>
            <ul class="chart-legend">
                <li><i class="swatch mean"></i>{ "mean over targets" }</li>
                { for TaskId::ALL.iter().filter(|t| session.settings.is_target(**t)).map(|t| html! {
                    <li><i class="swatch" style={format!("background: {}", task_colour(t.index()))}></i>{ t.name() }</li>
                }) }
            </ul>
            if !session.rounds.is_empty() {
                <table class="history" id="history">
                    <thead><tr><th>{ "round" }</th><th>{ "demonstrated" }</th><th>{ "mean after" }</th></tr></thead>
                    <tbody>
                    { for session.rounds.iter().enumerate().map(|(i, round)| html! {
                        <tr>
                            <td>{ i + 1 }</td>
                            <td>{ for round.picks.iter().map(|p| html! {
                                <span class={classes!("chip", (p.chosen_by == ChosenBy::Person).then_some("yours"))}
                                      title={if p.chosen_by == ChosenBy::Person { "chosen by you" } else { "proposed by the selector" }}>
                                    { p.task.name() }
                                </span>
                            }) }</td>
                            <td class="value" title={format!("trained in {:.1} s on {}, evaluated in {:.1} s", round.train_seconds, round.backend, round.eval_seconds)}>
                                { session.curve.get(i + 1).map(|p| format!("{:.0}%", 100.0 * p.mean_success)).unwrap_or_default() }
                            </td>
                        </tr>
                    }) }
                    </tbody>
                </table>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct SettingsProps {
    pub studio: StudioHandle,
    pub settings: SessionSettings,
    /// Where rounds train, once measured.
    pub backend_note: Option<String>,
}

/// The session's settings as a form; applied together, checked first.
#[function_component(SettingsPanel)]
pub fn settings_panel(props: &SettingsProps) -> Html {
    let draft = use_state(|| props.settings.clone());
    let error = use_state(|| None::<String>);
    {
        let draft = draft.clone();
        use_effect_with(props.settings.clone(), move |settings| draft.set(settings.clone()));
    }
    let edit = |change: fn(&mut SessionSettings, String)| {
        let draft = draft.clone();
        Callback::from(move |event: Event| {
            let value = event
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok().map(|i| if i.type_() == "checkbox" { i.checked().to_string() } else { i.value() }))
                .or_else(|| event.target().and_then(|t| t.dyn_into::<HtmlSelectElement>().ok()).map(|s| s.value()))
                .unwrap_or_default();
            let mut next = (*draft).clone();
            change(&mut next, value);
            draft.set(next);
        })
    };
    let apply = {
        let (draft, error, studio) = (draft.clone(), error.clone(), props.studio.clone());
        Callback::from(move |_: MouseEvent| error.set(studio.apply_settings((*draft).clone()).err()))
    };
    let d = &*draft;
    html! {
        <details class="card settings" id="settings">
            <summary>{ "Settings" }</summary>
            <div class="form">
                <label>{ "Selector" }
                    <select id="setting-selector" onchange={edit(|s, v| s.selector = SelectorKind::parse(&v).unwrap_or(s.selector))}>
                        { for SelectorKind::ALL.iter().map(|k| html! { <option value={k.name()} selected={*k == d.selector}>{ selector_title(*k) }</option> }) }
                    </select>
                </label>
                <label>{ "Budget" }<input id="setting-budget" type="number" min="1" max="500" value={d.budget.to_string()}
                    onchange={edit(|s, v| s.budget = v.trim().parse().unwrap_or(0))} /></label>
                <label>{ "Batch size" }<input id="setting-batch" type="number" min="1" value={d.batch.to_string()}
                    onchange={edit(|s, v| s.batch = v.trim().parse().unwrap_or(0))} /></label>
                <label>{ "Fine-tuning steps" }<input id="setting-steps" type="number" min="10" step="10" value={d.steps.to_string()}
                    onchange={edit(|s, v| s.steps = v.trim().parse().unwrap_or(0))} /></label>
                <label>{ "Rollouts per task" }<input id="setting-episodes" type="number" min="1" max="50" value={d.eval_episodes.to_string()}
                    onchange={edit(|s, v| s.eval_episodes = v.trim().parse().unwrap_or(0))} /></label>
                <label>{ "Backend" }
                    <select id="setting-backend" onchange={edit(|s, v| s.backend = BackendChoice::parse(&v).unwrap_or(s.backend))}>
                        { for BackendChoice::ALL.iter().map(|b| html! { <option value={b.name()} selected={*b == d.backend}>{ backend_title(*b) }</option> }) }
                    </select>
                </label>
            </div>
            <fieldset class="targets">
                <legend>{ "Target tasks and their weights" }</legend>
                { for TaskId::ALL.iter().map(|t| {
                    let i = t.index();
                    let draft = draft.clone();
                    let on_weight = Callback::from(move |event: Event| {
                        let input: HtmlInputElement = event.target().unwrap().unchecked_into();
                        let mut next = (*draft).clone();
                        next.target_weights[i] = input.value().trim().parse().unwrap_or(f64::NAN);
                        draft.set(next);
                    });
                    html! {
                        <label class="target">
                            <span>{ t.name() }</span>
                            <input type="number" min="0" step="0.5" data-task={t.name()} value={d.target_weights.get(i).copied().unwrap_or(0.0).to_string()} onchange={on_weight} />
                        </label>
                    }
                }) }
            </fieldset>
            <p class="small muted">{ "A weight of 0 leaves a task out. Settings apply from the next round." }</p>
            if let Some(note) = &props.backend_note { <p class="small muted" id="backend-note">{ note }</p> }
            <div class="buttons"><button class="primary" id="apply-settings" onclick={apply}>{ "Apply" }</button></div>
            if let Some(message) = &*error { <p class="error-inline" role="alert">{ message }</p> }
        </details>
    }
}

fn backend_title(choice: BackendChoice) -> &'static str {
    match choice {
        BackendChoice::Auto => "Automatic",
        BackendChoice::Cpu => "CPU",
        BackendChoice::WebGpu => "WebGPU",
    }
}

/// The dataset: totals per task, every demonstration (replay, delete with undo), and
/// the project's file format out (export) and in (import, also by dropping a file).
pub fn dataset_panel(studio: &StudioHandle, s: &Studio) -> Html {
    let Some(session) = &s.session else { return html! {} };
    let mut totals = [0usize; NUM_TASKS];
    for (_, record) in &s.records {
        totals[record.task.index()] += 1;
    }
    let first_pending = s.records.len().saturating_sub(session.pending.len());
    let file_input = NodeRef::default();
    let pick_file = {
        let file_input = file_input.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(input) = file_input.cast::<HtmlInputElement>() {
                input.click();
            }
        })
    };
    let on_file = {
        let studio = studio.clone();
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target().unwrap().unchecked_into();
            if let Some(file) = input.files().and_then(|files| files.get(0)) {
                read_and_import(&studio, file);
            }
            input.set_value("");
        })
    };
    let busy = matches!(s.phase, Phase::Round(_));
    html! {
        <details class="card dataset" id="dataset" data-count={s.records.len().to_string()}>
            <summary>{ format!("Dataset · {} demonstration{}", s.records.len(), if s.records.len() == 1 { "" } else { "s" }) }</summary>
            <p class="totals">
                { for TaskId::ALL.iter().filter(|t| totals[t.index()] > 0).map(|t| html! {
                    <span class="chip" data-task={t.name()}>{ format!("{} × {}", t.name(), totals[t.index()]) }</span>
                }) }
            </p>
            if let Some(deleted) = &s.undo {
                <div class="saved" id="undo-bar">
                    { format!("Deleted a demonstration of {}.", deleted.record.task.name()) }
                    <button class="link" id="undo-delete" onclick={click(studio, |st| {
                        let st = st.clone();
                        wasm_bindgen_futures::spawn_local(async move { st.undo_delete().await });
                    })}>{ "Undo" }</button>
                </div>
            }
            <table class="demos">
                <thead><tr><th>{ "#" }</th><th>{ "task" }</th><th>{ "by" }</th><th>{ "time" }</th><th>{ "recorded" }</th><th></th></tr></thead>
                <tbody>
                { for s.records.iter().enumerate().map(|(i, (_, r))| {
                    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(r.recorded_at_ms));
                    let when = format!("{} {:02}:{:02}", String::from(date.to_locale_date_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED)), date.get_hours(), date.get_minutes());
                    let by = match r.source { crate::record::Source::Person => "you", crate::record::Source::ScriptedExpert => "expert" };
                    html! {
                        <tr data-index={i.to_string()} class={classes!((i >= first_pending).then_some("waiting"))}
                            title={if i >= first_pending { "waiting for the next round" } else { "trained on" }}>
                            <td>{ i + 1 }</td>
                            <td>{ r.task.name() }{ if r.success { " ✓" } else { "" } }</td>
                            <td>{ by }</td>
                            <td class="value">{ format!("{:.1} s", r.actions.len() as f32 * crate::sim::CONTROL_DT) }</td>
                            <td class="small muted">{ when }</td>
                            <td class="actions">
                                <button class="icon replay" title="replay in the scene" onclick={click(studio, move |st| st.replay(i))}>{ "▶" }</button>
                                <button class="icon delete" title="delete" disabled={busy} onclick={click(studio, move |st| {
                                    let st = st.clone();
                                    wasm_bindgen_futures::spawn_local(async move { st.delete(i).await });
                                })}>{ "✕" }</button>
                            </td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
            <div class="buttons">
                <button id="export" title="AMF Studio's demonstration file (JSON)" onclick={click(studio, |st| st.export())} disabled={s.records.is_empty()}>{ "Export…" }</button>
                <button id="export-lerobot" title="A LeRobot v3 dataset (Parquet), zipped" onclick={click(studio, |st| st.export_lerobot())} disabled={s.records.is_empty()}>{ "Export for LeRobot…" }</button>
                <button id="import" onclick={pick_file} disabled={s.importing}>{ if s.importing { "Checking the file…" } else { "Import…" } }</button>
                <input type="file" accept=".json,application/json" id="import-file" ref={file_input} onchange={on_file} hidden=true />
            </div>
            <p class="small muted">{ "Export saves AMF Studio's demonstration file, which imports back (every demonstration is replayed and checked first; you can also drop a file on the page); Export for LeRobot saves a LeRobot v3 dataset. The runner also writes robomimic's HDF5." }</p>
        </details>
    }
}

/// Reads a picked or dropped file and imports it.
pub fn read_and_import(studio: &StudioHandle, file: web_sys::File) {
    let studio = studio.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if file.size() > crate::demo_file::MAX_FILE_BYTES as f64 {
            return studio.refuse_import(format!("the file is {:.0} MB; files over {} MB are refused", file.size() / 1e6, crate::demo_file::MAX_FILE_BYTES / 1_000_000));
        }
        match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
            Ok(buffer) => studio.import(js_sys::Uint8Array::new(&buffer).to_vec()),
            Err(_) => studio.refuse_import("the file could not be read".into()),
        }
    });
}

/// AMF against uniform, live: both curves as the runs go, and what each asked for.
pub fn comparison_panel(studio: &StudioHandle, s: &Studio) -> Html {
    let Some(c) = &s.comparison else {
        return html! {
            <details class="card" id="comparison">
                <summary>{ "Compare AMF with uniform" }</summary>
                <p class="small">{ "Two autopilot runs side by side, each in its own worker: the scripted expert demonstrates whatever AMF, or uniform sampling, asks for; 20 demonstrations in rounds of 5, from the same seed and settings. About a minute or two." }</p>
                <div class="buttons">
                    <button class="primary" id="start-comparison" onclick={click(studio, |st| st.start_comparison())}>{ "▶ Run the comparison" }</button>
                </div>
            </details>
        };
    };
    let svg = Html::from_html_unchecked(AttrValue::from(c.svg.clone()));
    let done = !c.running();
    html! {
        <details class="card" id="comparison" open=true data-done={done.to_string()}>
            <summary>{ "Compare AMF with uniform" }</summary>
            <div class="chart">{ svg }</div>
            <ul class="chart-legend">
                { for c.selectors.iter().enumerate().map(|(i, k)| html! {
                    <li><i class="swatch" style={format!("background: {}", {
                        let (r, g, b) = crate::session::chart::SELECTOR_COLOURS[i];
                        format!("rgb({r}, {g}, {b})")
                    })}></i>{ selector_title(*k) }</li>
                }) }
            </ul>
            { for c.selectors.iter().enumerate().map(|(i, k)| {
                let last = c.curves[i].last();
                let given = last.map_or(0, |p| p.demonstrations);
                let status = match c.seconds[i] {
                    Some(seconds) => format!("done in {seconds:.0} s"),
                    None => format!("{given} of {} demonstrations", c.budget),
                };
                html! {
                    <div class="compared" data-selector={k.name()} data-demonstrations={given.to_string()}
                         data-final={last.filter(|_| c.seconds[i].is_some()).map(|p| format!("{:.4}", p.mean_success)).unwrap_or_default()}>
                        <p class="small"><strong>{ selector_title(*k) }</strong>
                            { format!(": mean success {} · {status}", last.map(|p| format!("{:.0}%", 100.0 * p.mean_success)).unwrap_or("…".into())) }</p>
                        <p class="small">{ for c.picks[i].iter().enumerate().map(|(round, picks)| html! {
                            <span class="round-picks" title={format!("round {}", round + 1)}>
                                { for picks.iter().map(|&t| html! { <span class="chip">{ TaskId::ALL[t].name() }</span> }) }
                            </span>
                        }) }</p>
                    </div>
                }
            }) }
            <div class="buttons">
                if done {
                    <button id="start-comparison" onclick={click(studio, |st| st.start_comparison())}>{ "↺ Run again" }</button>
                } else {
                    <button id="stop-comparison" onclick={click(studio, |st| st.stop_comparison())}>{ "Stop" }</button>
                }
            </div>
        </details>
    }
}
