//! Success against demonstrations, with the legend and the selector's history.

use yew::prelude::*;

use crate::session::chart::{learning_curves_svg, task_colour};
use crate::session::{ChosenBy, Session};
use crate::tasks::TaskId;

#[derive(Properties, PartialEq)]
pub struct CurvesProps {
    pub session: Session,
}

/// Success against demonstrations, with the legend and the selector's history.
#[function_component(CurvesPanel)]
pub fn curves_panel(props: &CurvesProps) -> Html {
    let session = &props.session;
    // Drawn when the curve or the targets change, not on every render.
    let svg = use_memo((session.curve.clone(), session.settings.target_weights.clone(), session.settings.budget), |(curve, weights, budget)| {
        let shown: Vec<bool> = weights.iter().map(|&w| w > 0.0).collect();
        learning_curves_svg(curve, &shown, *budget, (460, 280)).unwrap_or_default()
    });
    if session.curve.is_empty() {
        return html! {};
    }
    let svg = Html::from_html_unchecked(AttrValue::from((*svg).clone()));
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
                            <td class="value" title={format!("trained in {:.1} s on {}, evaluated in {:.1} s", round.train_seconds, round.trained_on(), round.eval_seconds)}>
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

