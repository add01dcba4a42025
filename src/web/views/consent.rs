//! Asking a visitor to contribute: what the collection service collects and the licence
//! its dataset is published under, before anything leaves the browser. Saying no keeps
//! the page working, local only.

use yew::prelude::*;

use super::send;
use crate::terms::{Terms, COLLECTED};
use crate::page::Action;

#[derive(Properties, PartialEq)]
pub struct ConsentProps {
    pub terms: Terms,
    /// Known to the service from before consent was asked (their demonstrations wait).
    pub returning: bool,
    pub waiting: usize,
    pub dispatch: Callback<Action>,
}

#[function_component(ConsentCard)]
pub fn consent_card(props: &ConsentProps) -> Html {
    let licence = match &props.terms.licence_url {
        Some(url) => html! { <a href={url.clone()} target="_blank" rel="noopener">{ &props.terms.licence }</a> },
        None => html! { <strong>{ &props.terms.licence }</strong> },
    };
    let waiting = (props.waiting > 0).then(|| {
        html! { <p class="small">{ format!("{} of your demonstrations wait here until you answer.", props.waiting) }</p> }
    });
    html! {
        <section class="card consent" id="consent" data-licence={props.terms.licence.clone()} aria-labelledby="consent-title">
            <h2 id="consent-title">{ if props.returning { "The crowd now asks your agreement" } else { "Teach the crowd's robot?" } }</h2>
            <p>{ "This page is connected to a collection service: the demonstrations you make here can join a crowd's dataset, which trains a shared robot policy and is published for research." }</p>
            <p class="small muted">{ "What is collected:" }</p>
            <ul class="collected small">
                { for COLLECTED.iter().map(|item| html! { <li>{ *item }</li> }) }
            </ul>
            <p>{ "The dataset is published under " }{ licence }{ ". You can withdraw a demonstration later from \"Your contributions\"." }</p>
            { for waiting }
            <div class="buttons">
                <button id="consent-agree" class="primary" onclick={send(&props.dispatch, Action::AnswerConsent(true))}>{ "Agree and contribute" }</button>
                <button id="consent-decline" onclick={send(&props.dispatch, Action::AnswerConsent(false))}>{ "Keep my demonstrations here" }</button>
            </div>
        </section>
    }
}
