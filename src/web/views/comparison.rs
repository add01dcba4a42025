//! AMF against uniform, live: both curves as the runs go, and what each asked for.

use yew::prelude::*;

use super::{selector_title, send};
use crate::experiment::CurvePoint;
use crate::page::{Action, Comparison};
use crate::tasks::TaskId;

#[derive(Properties, PartialEq)]
pub struct ComparisonProps {
    pub comparison: Option<Comparison>,
    pub dispatch: Callback<Action>,
}

#[function_component(ComparisonPanel)]
pub fn comparison_panel(props: &ComparisonProps) -> Html {
    let dispatch = &props.dispatch;
    let curves = props.comparison.as_ref().map(|c| (c.curves.clone(), c.budget));
    let svg = use_memo(curves, |curves| match curves {
        Some((curves, budget)) => {
            let runs: Vec<&[CurvePoint]> = curves.iter().map(|v| v.as_slice()).collect();
            crate::session::chart::comparison_svg(&runs, *budget, (460, 260)).unwrap_or_default()
        }
        None => String::new(),
    });
    let Some(c) = &props.comparison else {
        return html! {
            <details class="card" id="comparison">
                <summary>{ "Compare AMF with uniform" }</summary>
                <p class="small">{ "Two autopilot runs side by side, each in its own worker: the scripted expert demonstrates whatever AMF, or uniform sampling, asks for; 20 demonstrations in rounds of 5, from the same seed and settings. About a minute or two." }</p>
                <div class="buttons">
                    <button class="primary" id="start-comparison" onclick={send(dispatch, Action::StartComparison)}>{ "▶ Run the comparison" }</button>
                </div>
            </details>
        };
    };
    let svg = Html::from_html_unchecked(AttrValue::from((*svg).clone()));
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
                    <button id="start-comparison" onclick={send(dispatch, Action::StartComparison)}>{ "↺ Run again" }</button>
                } else {
                    <button id="stop-comparison" onclick={send(dispatch, Action::StopComparison)}>{ "Stop" }</button>
                }
            </div>
        </details>
    }
}
