//! The crowd's assignment to this visitor, as a component of its own in the Elm way
//! (like `account`, `operator` and `dashboard`): its state ([`AssignmentPart`]), its
//! messages ([`AssignmentMsg`]) and the request it asks the page to send
//! ([`AssignmentRequest`]), mapped into the page's `Action::Assignment` and
//! `Effect::Assign`. One request at a time: the next task, a lease declined, or a task
//! the visitor chose recorded with its seed. Whether the page may ask at all (a service,
//! consent, credentials) is the page's business; what an answer means to the rest of
//! the page it tells ([`Told`]).

use crate::crowd::contract::Leased;
use crate::session::ChosenBy;
use crate::tasks::TaskId;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AssignmentPart {
    /// The task the crowd's selector asks of this visitor (none: not asked yet, or the
    /// service could not assign; the session's own proposal stands in).
    pub leased: Option<Leased>,
    /// A request is under way.
    asking: bool,
    /// The last request failed (told once, not at every try).
    failed: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AssignmentMsg {
    /// Ask for the next task: declining a lease, or recording a task and seed the
    /// visitor chose.
    Ask { decline: Option<String>, choose: Option<(TaskId, u64)> },
    /// The service's answer.
    Assigned(Result<Leased, String>),
    /// The visitor declined `task`: with a lease for it, the lease is given back and
    /// another task asked for.
    Decline(TaskId),
    /// A demonstration was counted: the lease is spent, the next task asked for.
    Done,
}

/// A request for the service, with the contributor's token; answered by `Assigned`.
#[derive(Clone, Debug, PartialEq)]
pub struct AssignmentRequest {
    pub token: String,
    pub decline: Option<String>,
    pub choose: Option<(TaskId, u64)>,
}

/// What the component tells the page.
#[derive(Clone, Debug, PartialEq)]
pub enum Told {
    /// A task is assigned (the autopilot may go on).
    Assigned,
    /// The service uses this version of the shared policy.
    Version(i64),
    Error(String),
    /// `Decline` found a lease for the task and gave it back.
    Declined,
}

impl AssignmentPart {
    /// Handles `msg`; `token` is the contributor's where the page may ask the service
    /// (none: it may not, and nothing is sent).
    pub fn update(&mut self, msg: AssignmentMsg, token: Option<&str>) -> (Option<AssignmentRequest>, Vec<Told>) {
        let mut told = Vec::new();
        let send = match msg {
            AssignmentMsg::Ask { decline, choose } => self.ask(token, decline, choose),
            AssignmentMsg::Assigned(result) => {
                self.asking = false;
                match result {
                    Ok(leased) => {
                        told.push(Told::Version(leased.version));
                        self.leased = Some(leased);
                        self.failed = false;
                        told.push(Told::Assigned);
                    }
                    Err(error) => {
                        if !std::mem::replace(&mut self.failed, true) {
                            told.push(Told::Error(format!(
                                "The collection service could not assign you a task ({error}); your own session proposes tasks until it can."
                            )));
                        }
                    }
                }
                None
            }
            AssignmentMsg::Decline(task) => match self.leased.take_if(|l| l.assignment.task == task) {
                Some(leased) => {
                    told.push(Told::Declined);
                    self.ask(token, Some(leased.lease), None)
                }
                None => None,
            },
            AssignmentMsg::Done => {
                self.leased = None;
                self.ask(token, None, None)
            }
        };
        (send, told)
    }

    fn ask(&mut self, token: Option<&str>, decline: Option<String>, choose: Option<(TaskId, u64)>) -> Option<AssignmentRequest> {
        let token = token.filter(|_| !self.asking)?;
        self.asking = true;
        Some(AssignmentRequest { token: token.to_string(), decline, choose })
    }

    /// The seed a demonstration of `task` starts from if it fulfils the lease: the
    /// lease's, for the task the selector assigned.
    pub fn leased_seed(&self, task: TaskId, chosen_by: ChosenBy) -> Option<u64> {
        self.leased.as_ref().filter(|l| l.assignment.task == task && chosen_by == ChosenBy::Selector).map(|l| l.assignment.seed)
    }

    /// The task assigned, if any.
    pub fn task(&self) -> Option<TaskId> {
        self.leased.as_ref().map(|l| l.assignment.task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::tests::leased;

    /// One request at a time and none without a token; a failure is told once until an
    /// answer comes; a decline gives back only the lease of the task declined; the lease's
    /// seed serves only the selector's task.
    #[test]
    fn one_request_at_a_time_and_a_decline_gives_back_its_lease() {
        let mut part = AssignmentPart::default();
        let ask = || AssignmentMsg::Ask { decline: None, choose: None };
        assert_eq!(part.update(ask(), None), (None, vec![]), "no token: nothing sent");
        assert!(part.update(ask(), Some("t")).0.is_some());
        assert!(part.update(ask(), Some("t")).0.is_none(), "one at a time");
        let (_, told) = part.update(AssignmentMsg::Assigned(Err("away".into())), Some("t"));
        assert!(matches!(&told[..], [Told::Error(_)]));
        part.update(ask(), Some("t"));
        assert!(part.update(AssignmentMsg::Assigned(Err("away".into())), Some("t")).1.is_empty(), "told once");
        part.update(ask(), Some("t"));
        let (_, told) = part.update(AssignmentMsg::Assigned(Ok(leased(TaskId::Push, 7, "lease-1"))), Some("t"));
        assert!(told.contains(&Told::Assigned));
        assert_eq!(part.leased_seed(TaskId::Push, ChosenBy::Selector), Some(7));
        assert_eq!(part.leased_seed(TaskId::Push, ChosenBy::Person), None);
        assert_eq!(part.update(AssignmentMsg::Decline(TaskId::Reach), Some("t")), (None, vec![]), "not the task leased");
        let (send, told) = part.update(AssignmentMsg::Decline(TaskId::Push), Some("t"));
        assert_eq!(send, Some(AssignmentRequest { token: "t".into(), decline: Some("lease-1".into()), choose: None }));
        assert_eq!((told, part.task()), (vec![Told::Declined], None));
    }
}
