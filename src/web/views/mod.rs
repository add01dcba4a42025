//! The page's views: Yew components that draw parts of the [`crate::page::PageState`]
//! they are given as props and send [`crate::page::Action`]s through `dispatch`. A
//! component re-renders only when its props change.

pub mod comparison;
pub mod consent;
pub mod contributor;
pub mod crowd;
pub mod curves;
pub mod dataset;
pub mod feedback;
pub mod operator;
pub mod policy;
pub mod settings;
pub mod teach;

use yew::prelude::*;

use crate::page::Action;
use crate::select::SelectorKind;

/// A click that sends `action`.
pub fn send(dispatch: &Callback<Action>, action: Action) -> Callback<MouseEvent> {
    let dispatch = dispatch.clone();
    Callback::from(move |_: MouseEvent| dispatch.emit(action.clone()))
}

pub fn selector_title(kind: SelectorKind) -> &'static str {
    match kind {
        SelectorKind::Amf => "AMF",
        SelectorKind::Uniform => "Uniform sampling",
        SelectorKind::RoundRobin => "Round-robin",
        SelectorKind::Uncertainty => "Uncertainty sampling",
        SelectorKind::Rebalancing => "Rebalancing",
    }
}
