//! What a visitor's verified demonstration did for the crowd, and a word on how it went
//! (its quality, as the service measured it): the crowd's progress on
//! its task and towards its goal, the shared policy's success moving when a version is
//! published, and the visitor's own count and streak.

use yew::prelude::*;

use super::send;
use crate::page::crowd::{CrowdStatus, Feedback};
use crate::page::Action;

#[derive(Properties, PartialEq)]
pub struct FeedbackProps {
    pub feedback: Feedback,
    pub status: Option<CrowdStatus>,
    /// This browser's demonstrations the service verified, and their streak of days.
    pub mine: (usize, u32),
    pub dispatch: Callback<Action>,
}

#[function_component(FeedbackCard)]
pub fn feedback_card(props: &FeedbackProps) -> Html {
    let task = props.feedback.task;
    let (mine, streak) = props.mine;
    let crowd = props.status.as_ref().map(|status| {
        let on_task = status.demonstrations.get(task.index()).copied().unwrap_or(0);
        let total: usize = status.demonstrations.iter().sum();
        let goal = status.goal.max(1);
        let moved = match status.versions.as_slice() {
            [.., before, last] if last.id > props.feedback.version_then => Some(format!(
                " The crowd's policy was retrained since: version {}, mean success {:.0}% (version {}: {:.0}%).",
                last.id,
                100.0 * last.mean_success,
                before.id,
                100.0 * before.mean_success
            )),
            [last] if last.id > props.feedback.version_then => {
                Some(format!(" The crowd's policy was retrained since: version {}, mean success {:.0}%.", last.id, 100.0 * last.mean_success))
            }
            _ => None,
        };
        html! {
            <>
                <p id="feedback-crowd" data-task-count={on_task.to_string()} data-total={total.to_string()} data-goal={goal.to_string()}>
                    { format!("The crowd now has {on_task} demonstration{} of {}, and {total} of its goal of {goal} in all.", if on_task == 1 { "" } else { "s" }, task.name()) }
                    { for moved }
                </p>
                <progress max={goal.to_string()} value={total.min(goal).to_string()}></progress>
            </>
        }
    });
    html! {
        <section class="card feedback" id="feedback" data-task={task.name()} data-mine={mine.to_string()} data-streak={streak.to_string()}>
            <h2>{ "Thank you: verified and pooled" }</h2>
            if let Some(quality) = &props.feedback.quality {
                <p id="feedback-quality" data-score={format!("{:.3}", quality.score)}>{ crate::quality::feedback(quality) }</p>
            }
            { for crowd }
            <p class="small">
                { format!("You have given the crowd {mine} verified demonstration{} from this browser", if mine == 1 { "" } else { "s" }) }
                { if streak > 1 { format!(", {streak} days in a row.") } else { ".".to_string() } }
            </p>
            <button class="link" id="dismiss-feedback" onclick={send(&props.dispatch, Action::DismissFeedback)}>{ "OK" }</button>
        </section>
    }
}
