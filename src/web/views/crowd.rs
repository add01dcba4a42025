//! The crowd's dashboard (shown when a collection service serves the page): per task,
//! the crowd's verified demonstrations, the assignments on their way, the shared
//! policy's success; and where assignments went: fulfilled, declined, superseded or
//! still open, by the selector or by the visitors' own choice.

use yew::prelude::*;

use super::send;
use crate::crowd::contract::{CrowdStatus, LeaseState, TaskChooser};
use crate::page::Action;
use crate::page::dashboard::DashboardMsg;
use crate::session::chart::learning_curves_svg;
use crate::tasks::{TaskId, NUM_TASKS};

#[derive(Properties, PartialEq)]
pub struct CrowdProps {
    pub status: Option<CrowdStatus>,
    pub loading: bool,
    pub dispatch: Callback<Action>,
}

#[function_component(CrowdPanel)]
pub fn crowd_panel(props: &CrowdProps) -> Html {
    let on_toggle = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |event: Event| {
            if let Some(details) = event.target_dyn_into::<web_sys::HtmlDetailsElement>() {
                dispatch.emit(Action::Dashboard(DashboardMsg::Open(details.open())));
            }
        })
    };
    html! {
        <details class="card crowd" id="crowd" ontoggle={on_toggle}>
            <summary>{ "The crowd" }</summary>
            { match &props.status {
                Some(status) => html! { <>{ status_view(status) }{ leaderboard(status) }</> },
                None => html! { <p class="small muted">{ if props.loading { "Asking the service…" } else { "" } }</p> },
            } }
            <div class="buttons">
                <button class="link" id="refresh-crowd" disabled={props.loading} onclick={send(&props.dispatch, Action::Dashboard(DashboardMsg::Refresh))}>{ "Refresh" }</button>
            </div>
        </details>
    }
}

/// The contributors who chose to be listed, by name (text, never markup).
fn leaderboard(status: &CrowdStatus) -> Html {
    if status.leaderboard.is_empty() {
        return html! { <p class="small muted" id="leaderboard" data-count="0">{ "Nobody has joined the leaderboard yet (\"Your contributions\")." }</p> };
    }
    html! {
        <table class="history" id="leaderboard" data-count={status.leaderboard.len().to_string()}>
            <caption class="small">{ "Leaderboard: demonstrations made by hand and verified" }</caption>
            <tbody>
            { for status.leaderboard.iter().enumerate().map(|(i, s)| html! {
                <tr data-name={s.display_name.clone()} data-count={s.demonstrations.to_string()}>
                    <td>{ i + 1 }</td><th>{ &s.display_name }</th><td class="value">{ s.demonstrations }</td>
                </tr>
            }) }
            </tbody>
        </table>
    }
}

fn status_view(status: &CrowdStatus) -> Html {
    let total: usize = status.demonstrations.iter().sum();
    let count = |task: &str, chosen_by: Option<TaskChooser>, state: Option<LeaseState>| -> i64 {
        status
            .leases
            .iter()
            .filter(|l| l.task == task && chosen_by.is_none_or(|c| l.chosen_by == c) && state.is_none_or(|s| l.state == s))
            .map(|l| l.count)
            .sum()
    };
    let by_state = |state: LeaseState| -> i64 { status.leases.iter().filter(|l| l.state == state).map(|l| l.count).sum() };
    html! {
        <>
            <p class="small" id="crowd-summary" data-demonstrations={total.to_string()}>
                { format!("{total} verified demonstrations from {} contributors; tasks assigned by {}{}, leases of {} s. Assignments: {} fulfilled, {} declined, {} superseded, {} open.",
                    status.contributors, status.selector, if status.pending_aware { " (accounting for those in flight)" } else { " (each as if alone)" }, status.lease_seconds,
                    by_state(LeaseState::Fulfilled), by_state(LeaseState::Declined), by_state(LeaseState::Superseded), by_state(LeaseState::Open)) }
            </p>
            <table class="demos crowd-table">
                <thead><tr><th>{ "task" }</th><th>{ "demos" }</th><th title="assigned, not arrived yet">{ "due" }</th><th title="assigned by the selector">{ "asked" }</th><th title="chosen by visitors">{ "chosen" }</th><th title="declined by visitors">{ "declined" }</th><th>{ "success" }</th></tr></thead>
                <tbody>
                { for TaskId::ALL.iter().map(|t| {
                    let i = t.index();
                    html! {
                        <tr data-task={t.name()} data-demonstrations={status.demonstrations.get(i).copied().unwrap_or(0).to_string()}>
                            <th>{ t.name() }</th>
                            <td class="value">{ status.demonstrations.get(i).copied().unwrap_or(0) }</td>
                            <td class="value">{ status.pending.get(i).copied().unwrap_or(0) }</td>
                            <td class="value">{ count(t.name(), Some(TaskChooser::Selector), None) }</td>
                            <td class="value">{ count(t.name(), Some(TaskChooser::Visitor), None) }</td>
                            <td class="value">{ count(t.name(), None, Some(LeaseState::Declined)) }</td>
                            <td class="value">{ status.success.as_ref().and_then(|s| s.get(i)).map_or("–".to_string(), |v| format!("{:.0}%", 100.0 * v)) }</td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
            <p class="small muted">{ "Success is the shared policy's, measured by rollouts on the service." }</p>
            <CrowdCurve status={status.clone()} />
            { versions_view(status) }
            { rejections_view(status) }
        </>
    }
}

/// The crowd's learning curve: each version of the shared policy, its demonstrations and
/// its mean success over the targets.
fn versions_view(status: &CrowdStatus) -> Html {
    if status.versions.is_empty() {
        return html! { <p class="small muted" id="crowd-versions" data-count="0">{ "The shared policy is the pre-trained one: no version trained on the crowd's demonstrations yet." }</p> };
    }
    html! {
        <table class="demos crowd-versions" id="crowd-versions" data-count={status.versions.len().to_string()}>
            <thead><tr><th>{ "version" }</th><th>{ "demos" }</th><th>{ "mean success" }</th><th></th><th>{ "trained in" }</th></tr></thead>
            <tbody>
            { for status.versions.iter().map(|v| html! {
                <tr data-version={v.id.to_string()}>
                    <td>{ format!("#{}", v.id) }</td>
                    <td class="value">{ v.demonstrations }</td>
                    <td class="value">{ format!("{:.0}%", 100.0 * v.mean_success) }</td>
                    <td class="bar"><span style={format!("width: {:.0}%", 100.0 * v.mean_success)}></span></td>
                    <td class="value">{ format!("{:.0} s", v.train_seconds) }</td>
                </tr>
            }) }
            </tbody>
        </table>
    }
}

#[derive(Properties, PartialEq)]
struct CurveProps {
    status: CrowdStatus,
}

/// The crowd's learning curve: the shared policy's success per task (thin lines) and
/// over the targets (thick) against the demonstrations each version was trained on.
/// Drawn again only when the versions change, not at every refresh.
#[function_component(CrowdCurve)]
fn crowd_curve(props: &CurveProps) -> Html {
    let curve = props.status.curve();
    let points = curve.len();
    let svg = use_memo(curve, |curve| {
        let x_max = curve.iter().map(|p| p.demonstrations).max().unwrap_or(0).max(10);
        learning_curves_svg(curve, &[true; NUM_TASKS], x_max, (460, 260)).unwrap_or_default()
    });
    html! {
        <>
            <div class="chart" id="crowd-curve" data-points={points.to_string()}>
                { Html::from_html_unchecked(AttrValue::from((*svg).clone())) }
            </div>
            <p class="small muted">{ "The crowd's learning curve: thick, the mean over the targets; thin, each task (in the learning curves' colours)." }</p>
        </>
    }
}

/// Uploads the answering instance refused, by reason.
fn rejections_view(status: &CrowdStatus) -> Html {
    let refused: u64 = status.rejected.values().sum();
    let text = if refused == 0 {
        "No upload was refused since this instance started.".to_string()
    } else {
        let reasons: Vec<String> = status.rejected.iter().map(|(reason, n)| format!("{reason} {n}")).collect();
        format!("Uploads refused since this instance started: {refused} ({}).", reasons.join(", "))
    };
    html! { <p class="small muted" id="crowd-rejected" data-count={refused.to_string()}>{ text }</p> }
}
