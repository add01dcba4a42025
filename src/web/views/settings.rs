//! The session's settings as a form; applied together, checked by the reducer.

use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::selector_title;
use crate::page::Action;
use crate::select::SelectorKind;
use crate::session::{BackendChoice, SessionSettings};
use crate::tasks::TaskId;

#[derive(Properties, PartialEq)]
pub struct SettingsProps {
    pub settings: SessionSettings,
    /// Where rounds train, once measured.
    pub backend_note: Option<String>,
    /// Why the settings last applied were refused.
    pub error: Option<String>,
    pub dispatch: Callback<Action>,
}

/// The session's settings as a form; applied together, checked first.
#[function_component(SettingsPanel)]
pub fn settings_panel(props: &SettingsProps) -> Html {
    let draft = use_state(|| props.settings.clone());
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
        let (draft, dispatch) = (draft.clone(), props.dispatch.clone());
        Callback::from(move |_: MouseEvent| dispatch.emit(Action::ApplySettings((*draft).clone())))
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
                <label class="check"><input id="setting-share-autopilot" type="checkbox" checked={d.share_autopilot}
                    onchange={edit(|s, v| s.share_autopilot = v == "true")} />
                    { "Send the autopilot's runs to the collection service too (marked as the scripted expert's, not yours)" }</label>
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
            if let Some(message) = &props.error { <p class="error-inline" role="alert">{ message }</p> }
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

