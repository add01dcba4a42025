//! The crowd's dashboard (shown when a collection service serves the page): per task,
//! the crowd's verified demonstrations, the assignments on their way, the shared
//! policy's success; and where assignments went: fulfilled, declined, superseded or
//! still open, by the selector or by the visitors' own choice.

use yew::prelude::*;

use super::send;
use crate::page::crowd::CrowdStatus;
use crate::page::Action;
use crate::tasks::TaskId;

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
            if event.target_dyn_into::<web_sys::HtmlDetailsElement>().is_some_and(|d| d.open()) {
                dispatch.emit(Action::RefreshCrowd);
            }
        })
    };
    html! {
        <details class="card crowd" id="crowd" ontoggle={on_toggle}>
            <summary>{ "The crowd" }</summary>
            { match &props.status {
                Some(status) => status_view(status),
                None => html! { <p class="small muted">{ if props.loading { "Asking the service…" } else { "" } }</p> },
            } }
            <div class="buttons">
                <button class="link" id="refresh-crowd" disabled={props.loading} onclick={send(&props.dispatch, Action::RefreshCrowd)}>{ "Refresh" }</button>
            </div>
        </details>
    }
}

fn status_view(status: &CrowdStatus) -> Html {
    let total: usize = status.demonstrations.iter().sum();
    let count = |task: &str, chosen_by: Option<&str>, state: Option<&str>| -> i64 {
        status
            .leases
            .iter()
            .filter(|l| l.task == task && chosen_by.is_none_or(|c| l.chosen_by == c) && state.is_none_or(|s| l.state == s))
            .map(|l| l.count)
            .sum()
    };
    let by_state = |state: &str| -> i64 { status.leases.iter().filter(|l| l.state == state).map(|l| l.count).sum() };
    html! {
        <>
            <p class="small" id="crowd-summary" data-demonstrations={total.to_string()}>
                { format!("{total} verified demonstrations; tasks assigned by {}{}, leases of {} s. Assignments: {} fulfilled, {} declined, {} superseded, {} open.",
                    status.selector, if status.pending_aware { " (accounting for those in flight)" } else { " (each as if alone)" }, status.lease_seconds,
                    by_state("fulfilled"), by_state("declined"), by_state("superseded"), by_state("open")) }
            </p>
            <table class="demos crowd-table">
                <thead><tr><th>{ "task" }</th><th>{ "demos" }</th><th title="assigned, not arrived yet">{ "due" }</th><th title="assigned by the selector">{ "asked" }</th><th title="chosen by visitors">{ "chosen" }</th><th title="declined by visitors">{ "no" }</th><th>{ "success" }</th></tr></thead>
                <tbody>
                { for TaskId::ALL.iter().map(|t| {
                    let i = t.index();
                    html! {
                        <tr data-task={t.name()} data-demonstrations={status.demonstrations.get(i).copied().unwrap_or(0).to_string()}>
                            <th>{ t.name() }</th>
                            <td class="value">{ status.demonstrations.get(i).copied().unwrap_or(0) }</td>
                            <td class="value">{ status.pending.get(i).copied().unwrap_or(0) }</td>
                            <td class="value">{ count(t.name(), Some("selector"), None) }</td>
                            <td class="value">{ count(t.name(), Some("visitor"), None) }</td>
                            <td class="value">{ count(t.name(), None, Some("declined")) }</td>
                            <td class="value">{ status.success.as_ref().and_then(|s| s.get(i)).map_or("–".to_string(), |v| format!("{:.0}%", 100.0 * v)) }</td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
            <p class="small muted">{ "Success is the shared policy's, measured by rollouts on the service." }</p>
            { versions_view(status) }
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
