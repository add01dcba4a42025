//! The operator's part of the page (`page::operator`): the crowd's dataset downloaded,
//! the pool's quality reviewed (each task's scores as a histogram, the contributors
//! flagged for bursts or poor scores, the worst demonstrations) and the worst
//! withdrawn. Contributors appear by their anonymous ids only.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::crowd::contract::{PolicyAgreement, QualityReview, ReviewFlag};
use crate::page::operator::{Operator, OperatorMsg};
use crate::page::Action;

#[derive(Properties, PartialEq)]
pub struct OperatorProps {
    pub operator: Operator,
    pub dispatch: Callback<Action>,
}

fn value_of(input: &NodeRef) -> String {
    input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default()
}

#[function_component(OperatorPanel)]
pub fn operator_panel(props: &OperatorProps) -> Html {
    let token_input = use_node_ref();
    let msg = |make: fn(String) -> OperatorMsg| {
        let (dispatch, token_input) = (props.dispatch.clone(), token_input.clone());
        Callback::from(move |event: MouseEvent| {
            event.prevent_default();
            dispatch.emit(Action::Operator(make(value_of(&token_input))));
        })
    };
    let (on_export, on_review) = (msg(OperatorMsg::Export), msg(OperatorMsg::Review));
    let busy = props.operator.busy;
    html! {
        <details class="operator">
            <summary class="small">{ "Operator" }</summary>
            <form class="row" id="operator-form">
                <input type="password" id="operator-token" ref={token_input} placeholder="operator token" autocomplete="off" aria-label="operator token" />
                <button type="submit" id="operator-export" disabled={busy} onclick={on_export}>{ "Download the crowd's dataset" }</button>
                <button type="button" id="operator-review" disabled={busy} onclick={on_review}>{ "Review quality" }</button>
            </form>
            <p class="small muted">
                { "The download holds every verified demonstration not withdrawn, as AMF Studio's demonstration file; its name gives the snapshot (count and last id). " }
                { "The token is not stored: a review keeps it in this tab's memory, for its withdrawals, until it is closed." }
            </p>
            if let Some(review) = &props.operator.review {
                { review_view(review, busy, &props.dispatch) }
            }
        </details>
    }
}

fn score(value: Option<f64>) -> String {
    value.map_or("–".into(), |v| format!("{v:.2}"))
}

fn review_view(review: &QualityReview, busy: bool, dispatch: &Callback<Action>) -> Html {
    let operator = |msg: OperatorMsg| {
        let dispatch = dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::Operator(msg.clone())))
    };
    let worst_ids: Vec<i64> = review.worst.iter().map(|w| w.id).collect();
    html! {
        <section id="quality-review" data-demonstrations={review.demonstrations.to_string()} data-unmeasured={review.unmeasured.to_string()}>
            <p class="small">
                { format!("{} live demonstrations from {} contributors; scores of measures version {}.", review.demonstrations, review.contributors_total, review.version) }
                if review.unmeasured > 0 {
                    { format!(" {} have no score of this version yet (`amf quality` measures them).", review.unmeasured) }
                }
                <button class="link" id="operator-review-close" onclick={operator(OperatorMsg::Close)}>{ " Close" }</button>
            </p>
            <div class="table-scroll">
                <table class="review tasks">
                    <thead><tr><th>{ "task" }</th><th>{ "n" }</th><th title="demonstrations per tenth of the score, from 0 to 1">{ "scores" }</th><th>{ "p10" }</th><th>{ "median" }</th><th>{ "p90" }</th></tr></thead>
                    <tbody>
                    { for review.tasks.iter().map(|t| {
                        let tallest = t.histogram.iter().copied().max().unwrap_or(0).max(1);
                        html! {
                            <tr data-task={t.task.clone()}>
                                <td>{ &t.task }</td>
                                <td class="value">{ t.demonstrations }</td>
                                <td><span class="histogram" title="demonstrations per tenth of the score">
                                    { for t.histogram.iter().map(|&n| html! {
                                        <span class="bin" style={format!("height: {}%", 8 + 92 * n / tallest)} title={n.to_string()}></span>
                                    }) }
                                </span></td>
                                <td class="value">{ score(t.p10) }</td>
                                <td class="value">{ score(t.median) }</td>
                                <td class="value">{ score(t.p90) }</td>
                            </tr>
                        }
                    }) }
                    </tbody>
                </table>
            </div>
            <h4>{ "Contributors" }</h4>
            <div class="table-scroll">
                <table class="review contributors">
                    <thead><tr><th>{ "contributor" }</th><th>{ "n" }</th><th>{ "median" }</th><th title="under their task's 10th percentile">{ "low" }</th><th title="most uploads within 10 minutes">{ "busiest" }</th><th></th></tr></thead>
                    <tbody>
                    { for review.contributors.iter().map(|c| html! {
                        <tr data-contributor={c.contributor.clone()} data-flags={c.flags.iter().map(|f| flag_name(*f)).collect::<Vec<_>>().join(" ")}>
                            <td title={c.contributor.clone()}>{ c.contributor.chars().take(8).collect::<String>() }</td>
                            <td class="value">{ c.demonstrations }</td>
                            <td class="value">{ score(c.median) }</td>
                            <td class="value">{ format!("{:.0}%", 100.0 * c.low_share) }</td>
                            <td class="value">{ c.busiest_window }</td>
                            <td>{ for c.flags.iter().map(|f| html! { <span class={classes!("flag", flag_name(*f))}>{ flag_words(*f) }</span> }) }</td>
                        </tr>
                    }) }
                    </tbody>
                </table>
            </div>
            <h4>{ "The worst demonstrations" }</h4>
            <div class="table-scroll">
                <table class="review worst">
                    <thead><tr><th>{ "id" }</th><th>{ "task" }</th><th>{ "score" }</th><th></th></tr></thead>
                    <tbody>
                    { for review.worst.iter().map(|w| html! {
                        <tr data-id={w.id.to_string()} title={format!("contributor {}", w.contributor)}>
                            <td>{ format!("#{}", w.id) }</td>
                            <td>{ &w.task }</td>
                            <td class="value">{ format!("{:.2}", w.score) }</td>
                            <td class="actions"><button class="link withdraw" disabled={busy} onclick={operator(OperatorMsg::WithdrawIds(vec![w.id]))}>{ "Withdraw" }</button></td>
                        </tr>
                    }) }
                    </tbody>
                </table>
            </div>
            if !worst_ids.is_empty() {
                <button id="operator-withdraw-worst" disabled={busy} onclick={operator(OperatorMsg::WithdrawIds(worst_ids.clone()))}>
                    { format!("Withdraw these {}", worst_ids.len()) }
                </button>
            }
            { withdraw_below_form(review, busy, dispatch) }
            if let Some(agreement) = &review.agreement {
                { agreement_view(agreement, busy, &operator) }
            }
        </section>
    }
}

/// The demonstrations the latest shared policy trained here agrees with least.
fn agreement_view(agreement: &PolicyAgreement, busy: bool, operator: &dyn Fn(OperatorMsg) -> Callback<MouseEvent>) -> Html {
    html! {
        <>
            <h4>{ format!("What version {} agrees with least", agreement.version) }</h4>
            <p class="small">{ format!(
                "Of the {} live demonstrations it trained on, by how well it fits each against its task's typical one (1): a low one shows what the rest of its task's data does not.",
                agreement.judged
            ) }</p>
            <div class="table-scroll">
                <table class="review agreement">
                    <thead><tr><th>{ "id" }</th><th>{ "task" }</th><th>{ "agreement" }</th><th>{ "score" }</th><th></th></tr></thead>
                    <tbody>
                    { for agreement.least.iter().map(|d| html! {
                        <tr data-id={d.id.to_string()} title={format!("contributor {}", d.contributor)}>
                            <td>{ format!("#{}", d.id) }</td>
                            <td>{ &d.task }</td>
                            <td class="value">{ format!("{:.2}", d.agreement) }</td>
                            <td class="value">{ score(d.score) }</td>
                            <td class="actions"><button class="link withdraw" disabled={busy} onclick={operator(OperatorMsg::WithdrawIds(vec![d.id]))}>{ "Withdraw" }</button></td>
                        </tr>
                    }) }
                    </tbody>
                </table>
            </div>
        </>
    }
}

/// The task list's first choice: every task.
const ANY_TASK: &str = "any";

/// Withdraws every demonstration scoring under a bar, of one task or all.
fn withdraw_below_form(review: &QualityReview, busy: bool, dispatch: &Callback<Action>) -> Html {
    let bar_input = NodeRef::default();
    let task_select = NodeRef::default();
    let on_submit = {
        let (dispatch, bar_input, task_select) = (dispatch.clone(), bar_input.clone(), task_select.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let Ok(below) = value_of(&bar_input).trim().parse::<f64>() else { return };
            let task = task_select.cast::<HtmlSelectElement>().map(|s| s.value()).filter(|t| t != ANY_TASK);
            dispatch.emit(Action::Operator(OperatorMsg::WithdrawBelow { below, task }));
        })
    };
    html! {
        <form class="row" id="operator-withdraw-below" onsubmit={on_submit}>
            <label class="small" for="operator-below">{ "Withdraw every demonstration scoring under" }</label>
            <input type="number" id="operator-below" ref={bar_input} min="0" max="1" step="0.01" value="0.2" aria-label="score" />
            <select id="operator-below-task" ref={task_select} aria-label="task">
                <option value={ANY_TASK} selected=true>{ "of any task" }</option>
                { for review.tasks.iter().map(|t| html! { <option value={t.task.clone()} selected=false>{ format!("of {}", t.task) }</option> }) }
            </select>
            <button type="submit" disabled={busy}>{ "Withdraw" }</button>
        </form>
    }
}

fn flag_name(flag: ReviewFlag) -> &'static str {
    match flag {
        ReviewFlag::Burst => "burst",
        ReviewFlag::Poor => "poor",
    }
}

fn flag_words(flag: ReviewFlag) -> &'static str {
    match flag {
        ReviewFlag::Burst => "a burst of uploads",
        ReviewFlag::Poor => "mostly poor scores",
    }
}
