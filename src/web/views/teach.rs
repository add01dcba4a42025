//! The teaching loop's card: loading, the session's start, the selector's prompt with
//! its reason, the demonstration under way, a time-up, and the round's progress.

use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::{selector_title, send};
use crate::page::crowd::Leased;
use crate::page::{Action, Counts, Phase, RoundProgress, RoundStage};
use crate::select::{Proxy, SelectorKind, TaskScore};
use crate::session::{ChosenBy, Session};
use crate::page::PRACTICE_TASK;
use crate::tasks::{TaskId, NUM_TASKS};

#[derive(Properties, PartialEq)]
pub struct TeachProps {
    pub phase: Phase,
    pub session: Option<Session>,
    /// The dataset as the session counts it.
    pub counts: Counts,
    pub autopilot: bool,
    /// The number (from 1) of the demonstration just saved, while it may be discarded.
    pub just_saved: Option<usize>,
    /// The crowd's assignment for this visitor, when a collection service assigns.
    pub crowd: Option<Leased>,
    /// An easier task to offer after the time ran out twice in a row.
    pub easier: Option<TaskId>,
    /// A practice with the expert's ghost is on the stage.
    pub practising: bool,
    pub dispatch: Callback<Action>,
}

#[function_component(TeachPanel)]
pub fn teach_panel(props: &TeachProps) -> Html {
    let dispatch = &props.dispatch;
    match &props.phase {
        Phase::Loading => html! { <section class="card"><p class="muted">{ "Loading the policy and your session…" }</p></section> },
        Phase::Broken(message) => html! { <section class="card"><p class="error-inline" role="alert">{ message }</p></section> },
        Phase::Starting { progress } => html! {
            <section class="card" id="starting">
                <h2>{ "Getting ready" }</h2>
                <p class="muted">{ format!("Measuring the pre-trained policy on every task by rollouts… {:.0}%", 100.0 * progress) }</p>
                <progress max="1" value={progress.to_string()}></progress>
            </section>
        },
        Phase::Round(progress) => round_panel(dispatch, progress),
        phase => match &props.session {
            Some(session) => prompt_panel(props, session, phase),
            None => html! {},
        },
    }
}

/// What to demonstrate next and why; or the demonstration under way.
fn prompt_panel(props: &TeachProps, session: &Session, phase: &Phase) -> Html {
    let dispatch = &props.dispatch;
    let counts = &props.counts;
    let (done, waiting) = (counts.tally.total(), counts.tally.waiting);
    let count_line = html! {
        <p class="muted small" id="demo-count" data-count={done.to_string()} data-pending={waiting.to_string()}>
            { format!("{done} of {} demonstrations given", session.settings.budget) }
            if waiting > 0 {
                { format!(" · {waiting} waiting for the next round (every {})", session.settings.batch) }
            }
        </p>
    };
    match phase {
        Phase::Demonstrating { task, chosen_by } => html! {
            <section class="card demo" id="demonstrating" data-task={task.name()}>
                <p class="eyebrow">{ "Demonstrating" }</p>
                <h2 class="ask">{ task.instruction() }</h2>
                <p class="muted small">{ "Drag the gripper with the left mouse button or a finger, raise or lower it with the wheel or the slider beside the scene, close it with Space or Grip. The demonstration is saved the moment the task succeeds." }</p>
                <div class="buttons">
                    <button id="toggle-grip" onclick={send(dispatch, Action::ToggleGrip)}>{ "Close / open gripper" }</button>
                    <button id="restart-demo" onclick={send(dispatch, Action::Demonstrate { task: *task, chosen_by: *chosen_by })}>{ "↺ Start over" }</button>
                    <button id="discard-demo" onclick={send(dispatch, Action::DiscardAttempt)}>{ "Discard" }</button>
                </div>
                if props.autopilot { { autopilot_switch(dispatch, true) } }
                { count_line }
            </section>
        },
        Phase::Saving { task } => html! {
            <section class="card demo" id="saving" data-task={task.name()}>
                <p class="eyebrow">{ "Saving" }</p>
                <h2 class="ask">{ task.instruction() }</h2>
                <p class="muted small">{ "✓ Success. Saving your demonstration in this browser…" }</p>
                { count_line }
            </section>
        },
        Phase::TimeUp { task, chosen_by } => html! {
            <section class="card demo" id="time-up">
                <p class="eyebrow">{ "Time is up" }</p>
                <h2 class="ask">{ task.instruction() }</h2>
                <p>{ "The task was not completed in time, so this attempt is not kept." }</p>
                <div class="buttons">
                    <button class="primary" id="retry-demo" onclick={send(dispatch, Action::Demonstrate { task: *task, chosen_by: *chosen_by })}>{ "Try again" }</button>
                    if let Some(easier) = props.easier {
                        <button id="easier-demo" data-task={easier.name()} onclick={send(dispatch, Action::Demonstrate { task: easier, chosen_by: ChosenBy::Person })}>
                            { format!("Try an easier one: {}", easier.instruction()) }
                        </button>
                    }
                    <button id="discard-demo" onclick={send(dispatch, Action::DiscardAttempt)}>{ "Leave it" }</button>
                </div>
            </section>
        },
        _ if session.curve.is_empty() => html! {
            <section class="card" id="not-started">
                <h2>{ "The session has not started" }</h2>
                <p>{ "The pre-trained policy could not be measured, so the selector has nothing to go on yet." }</p>
                <div class="buttons">
                    <button class="primary" id="retry-start" onclick={send(dispatch, Action::RetryStart)}>{ "Try again" }</button>
                </div>
            </section>
        },
        _ => {
            let crowd = props.crowd.as_ref();
            let proposal = crowd.map(|l| l.assignment.task).or(counts.proposal);
            let saved = props.just_saved.map(|number| html! {
                <div class="saved" id="saved-notice">
                    { format!("✓ Demonstration {number} saved.") }
                    <button class="link" id="discard-saved" onclick={send(dispatch, Action::DiscardSaved)}>{ "Discard it" }</button>
                </div>
            });
            let train_now = (counts.round_due || (waiting > 0 && proposal.is_none())).then(|| html! {
                <button class="primary" id="train-now" onclick={send(dispatch, Action::TrainNow)}>{ "Train now" }</button>
            });
            let asker = match crowd {
                Some(_) => "The crowd's selector asks you to demonstrate".to_string(),
                None => format!("{} asks you to demonstrate", selector_title(session.settings.selector)),
            };
            // A first visit is offered a practice; during one, what to do.
            let practice = if props.practising {
                html! {
                    <div class="practice" id="practice">
                        <p><strong>{ "Practice: " }</strong>{ format!("{}. The glowing blue ball is the expert's gripper: keep yours on it and it leads the way (orange: close the gripper). Nothing is recorded.", PRACTICE_TASK.instruction()) }</p>
                        <button class="primary" id="end-practice" onclick={send(dispatch, Action::EndPractice)}>{ "I'm ready for the real task" }</button>
                    </div>
                }
            } else if session.curve.len() <= 1 && waiting == 0 {
                html! {
                    <button class="link" id="practise" onclick={send(dispatch, Action::Practise)}>{ "New here? Practise first with a guide (nothing is recorded)" }</button>
                }
            } else {
                html! {}
            };
            html! {
                <section class="card prompt" id="prompt" data-task={proposal.map(|t| t.name()).unwrap_or("")}
                         data-source={if crowd.is_some() { "crowd" } else { "session" }}>
                    { saved.unwrap_or_default() }
                    { practice }
                    if let Some(task) = proposal {
                        <p class="eyebrow">{ asker }</p>
                        <h2 class="ask">{ task.instruction() }</h2>
                        <div class="buttons">
                            <button class="primary" id="accept" onclick={send(dispatch, Action::Demonstrate { task, chosen_by: ChosenBy::Selector })}>{ "▶ Demonstrate it" }</button>
                            <button id="another" onclick={send(dispatch, Action::Decline(task))}>{ "Ask for another" }</button>
                            { train_now.clone().unwrap_or_default() }
                        </div>
                        <ChooseYourself dispatch={dispatch.clone()} />
                        { autopilot_switch(dispatch, props.autopilot) }
                    } else {
                        <h2>{ "The budget is spent" }</h2>
                        <p>{ format!("All {} demonstrations are given. Raise the budget in the settings to go on, or start a new session.", session.settings.budget) }</p>
                        <div class="buttons">{ train_now.unwrap_or_default() }</div>
                    }
                    { count_line }
                    { match crowd {
                        Some(leased) => crowd_reasons(leased),
                        None => session_reasons(session, &counts.per_task, proposal),
                    } }
                </section>
            }
        }
    }
}

/// The autopilot: the scripted expert demonstrates what the selector asks.
fn autopilot_switch(dispatch: &Callback<Action>, on: bool) -> Html {
    let dispatch = dispatch.clone();
    let toggle = Callback::from(move |event: Event| {
        let input: HtmlInputElement = event.target().unwrap().unchecked_into();
        dispatch.emit(Action::SetAutopilot(input.checked()));
    });
    html! {
        <label class="autopilot">
            <input type="checkbox" id="autopilot" checked={on} onchange={toggle} />
            { " Autopilot: the scripted expert demonstrates whatever the selector asks" }
        </label>
    }
}

#[derive(Properties, PartialEq)]
struct ChooseProps {
    dispatch: Callback<Action>,
}

#[function_component(ChooseYourself)]
fn choose_yourself(props: &ChooseProps) -> Html {
    let choice = use_node_ref();
    let go = {
        let (choice, dispatch) = (choice.clone(), props.dispatch.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(task) = choice.cast::<HtmlSelectElement>().and_then(|s| TaskId::from_name(&s.value())) {
                dispatch.emit(Action::Demonstrate { task, chosen_by: ChosenBy::Person });
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

/// The session's reason for its proposal: each target task's score, success and
/// demonstrations.
fn session_reasons(session: &Session, counts: &[usize], proposal: Option<TaskId>) -> Html {
    let Some(selection) = &session.selection else { return html! {} };
    let success = session.curve.last().map(|p| p.per_task.clone()).unwrap_or_else(|| vec![0.0; NUM_TASKS]);
    let targets = |task: usize| session.settings.target_weights.get(task).is_some_and(|&w| w > 0.0);
    let table = Reasons { scores: &selection.scores, success: &success, counts, pending: None };
    reason_chart(&selection.reason, &table, session.settings.selector, &targets, proposal)
}

/// The crowd's reason for its assignment: the same, over the crowd's demonstrations,
/// with the assignments still in flight.
fn crowd_reasons(leased: &Leased) -> Html {
    let a = &leased.assignment;
    if a.scores.is_empty() {
        return html! { <p class="small" id="crowd-reason">{ &a.reason }</p> };
    }
    // The service's selector: a gain when its scores came with proxies.
    let kind = if a.scores.iter().any(|s| s.proxy.is_some()) { SelectorKind::Amf } else { SelectorKind::Uniform };
    let table = Reasons { scores: &a.scores, success: &a.success, counts: &a.demonstrations, pending: Some(&a.pending) };
    reason_chart(&a.reason, &table, kind, &|_| true, Some(a.task))
}

/// A reason table's numbers, per task.
struct Reasons<'a> {
    scores: &'a [TaskScore],
    success: &'a [f64],
    counts: &'a [usize],
    /// Demonstrations asked of other visitors and not arrived yet (the crowd's).
    pending: Option<&'a [usize]>,
}

/// Each shown task's score (for AMF the expected information gain on the targets), its
/// success now and its demonstrations: the reason for the proposal.
fn reason_chart(reason: &str, table: &Reasons, selector: SelectorKind, shown: &dyn Fn(usize) -> bool, proposal: Option<TaskId>) -> Html {
    let max = table.scores.iter().map(|s| s.score).fold(0.0f64, f64::max);
    let is_gain = matches!(selector, SelectorKind::Amf | SelectorKind::Uncertainty);
    let score_title = match selector {
        SelectorKind::Amf => "expected information gain on the targets (nats)",
        SelectorKind::Uncertainty => "predictive uncertainty",
        _ => "selection weight",
    };
    html! {
        <div class="reason">
            <p class="small">{ reason }</p>
            <table class="reasons" id="reasons">
                <thead><tr><th>{ "task" }</th><th title={score_title}>{ if is_gain { "gain" } else { "weight" } }</th><th class="score"></th><th>{ "success" }</th><th>{ "demos" }</th>
                    if table.pending.is_some() { <th title="asked of other visitors, not arrived yet">{ "on the way" }</th> }
                </tr></thead>
                <tbody>
                { for table.scores.iter().filter(|sc| shown(sc.task)).map(|sc| {
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
                            <td class="value score">{ if is_gain { format!("{:.3}", sc.score) } else { format!("{:.2}", sc.score) } }</td>
                            <td class="value">{ format!("{:.0}%", 100.0 * table.success.get(sc.task).copied().unwrap_or(0.0)) }</td>
                            <td class="value">{ table.counts.get(sc.task).copied().unwrap_or(0) }</td>
                            if let Some(pending) = table.pending { <td class="value">{ pending.get(sc.task).copied().unwrap_or(0) }</td> }
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        </div>
    }
}

/// The round under way: its stage, a progress bar, the live loss and a cancel button.
fn round_panel(dispatch: &Callback<Action>, p: &RoundProgress) -> Html {
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
                <button id="cancel-round" onclick={send(dispatch, Action::CancelRound)}>{ "Cancel" }</button>
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

