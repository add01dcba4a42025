//! The contributor's side of the collection service (shown only when a service serves
//! the page): their display name, every demonstration they contributed there with a
//! withdraw button, and the operator's part (`operator`). The display name is text in
//! Yew's markup, so it is escaped like any other text.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::operator::OperatorPanel;
use super::send;
use crate::page::account::AccountMsg;
use crate::page::crowd::Account;
use crate::page::operator::Operator;
use crate::page::Action;

#[derive(Properties, PartialEq)]
pub struct ContributorProps {
    /// The contributor's id on the service (none before registration).
    pub id: Option<String>,
    pub account: Option<Account>,
    /// A request about the account is under way.
    pub busy: bool,
    pub operator: Operator,
    /// The ids on the service of the demonstrations this browser sent.
    pub from_here: Vec<i64>,
    pub dispatch: Callback<Action>,
}

#[function_component(ContributorPanel)]
pub fn contributor_panel(props: &ContributorProps) -> Html {
    let dispatch = &props.dispatch;
    let name_input = use_node_ref();
    // Opening the panel lists what the service holds now.
    let on_toggle = {
        let dispatch = dispatch.clone();
        Callback::from(move |event: Event| {
            let open = event.target_dyn_into::<web_sys::HtmlDetailsElement>().is_some_and(|d| d.open());
            if open {
                dispatch.emit(Action::Account(AccountMsg::Refresh));
            }
        })
    };
    let value_of = |input: &NodeRef| input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
    let on_rename = {
        let (dispatch, name_input) = (dispatch.clone(), name_input.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            dispatch.emit(Action::Account(AccountMsg::Rename(value_of(&name_input))));
        })
    };
    let name = props.account.as_ref().and_then(|a| a.display_name.clone());
    let short_id = props.id.as_deref().map_or("not registered yet".to_string(), |id| id.chars().take(8).collect());
    html! {
        <details class="card contributor" id="contributor" ontoggle={on_toggle}>
            <summary>{ "Your contributions" }</summary>
            <p class="small">
                { "You contribute as " }<strong id="display-name">{ name.clone().unwrap_or_else(|| "anonymous".into()) }</strong>
                <span class="muted">{ format!(" (contributor {short_id})") }</span>
            </p>
            <form class="row" id="rename-form" onsubmit={on_rename}>
                <input type="text" id="display-name-input" ref={name_input} maxlength="40" placeholder="display name (optional)"
                       value={name.unwrap_or_default()} aria-label="display name" />
                <button type="submit" disabled={props.busy}>{ "Save name" }</button>
            </form>
            { leaderboard_choice(props) }
            { contributed_table(props) }
            <OperatorPanel operator={props.operator.clone()} dispatch={dispatch.clone()} />
        </details>
    }
}

/// Joining the crowd's leaderboard is the contributor's choice, by their display name.
fn leaderboard_choice(props: &ContributorProps) -> Html {
    let Some(account) = &props.account else { return html! {} };
    let listed = account.leaderboard;
    let on_change = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: Event| dispatch.emit(Action::Account(AccountMsg::SetListed(!listed))))
    };
    html! {
        <label class="small leaderboard-choice">
            <input type="checkbox" id="join-leaderboard" checked={listed} disabled={props.busy || account.display_name.is_none()} onchange={on_change} />
            { if account.display_name.is_some() { " Show my display name and count on the crowd's leaderboard" } else { " Choose a display name to join the crowd's leaderboard" } }
        </label>
    }
}

fn contributed_table(props: &ContributorProps) -> Html {
    let Some(account) = &props.account else {
        return html! { <p class="small muted">{ if props.busy { "Asking the service…" } else { "" } }</p> };
    };
    if account.demonstrations.is_empty() {
        return html! { <p class="small muted" id="contributed-empty">{ "The service holds no demonstration of yours yet." }</p> };
    }
    let live = account.demonstrations.iter().filter(|d| !d.withdrawn).count();
    html! {
        <>
            <p class="small" id="contributed-count" data-count={live.to_string()}>
                { format!("The service holds {live} of your demonstrations.") }
            </p>
            <table class="demos contributed">
                <thead><tr><th>{ "id" }</th><th>{ "task" }</th><th>{ "time" }</th><th>{ "from" }</th><th></th></tr></thead>
                <tbody>
                { for account.demonstrations.iter().map(|d| html! {
                    <tr data-id={d.id.to_string()} data-withdrawn={d.withdrawn.to_string()} class={classes!(d.withdrawn.then_some("withdrawn"))}>
                        <td>{ format!("#{}", d.id) }</td>
                        <td>{ &d.task }</td>
                        <td class="value">{ format!("{:.1} s", d.steps as f32 * crate::sim::CONTROL_DT) }</td>
                        <td class="small muted">{ if props.from_here.contains(&d.id) { "this browser" } else { "elsewhere" } }</td>
                        <td class="actions">
                            if d.withdrawn {
                                <span class="small muted">{ "withdrawn" }</span>
                            } else {
                                <button class="link withdraw" disabled={props.busy} title="remove it from the crowd's dataset"
                                        onclick={send(&props.dispatch, Action::Account(AccountMsg::Withdraw(d.id)))}>{ "Withdraw" }</button>
                            }
                        </td>
                    </tr>
                }) }
                </tbody>
            </table>
        </>
    }
}
