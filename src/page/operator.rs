//! The operator's part of the page, as a component of its own in the Elm way: its
//! state ([`Operator`]), its messages ([`OperatorMsg`]) and the requests it asks the
//! shell to send ([`OperatorRequest`]); the page maps them into its own
//! (`Action::Operator`, `Effect::Operator`) and shows what the component tells it
//! ([`Told`]). The operator downloads the crowd's dataset, reviews the pool's quality
//! (`crowd::review`) and withdraws the worst. The token is kept in this tab's memory
//! only while a review is open, so that a withdrawal can follow it; never stored.

use crate::crowd::contract::{QualityReview, WithdrawRequest, WithdrawnCount};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Operator {
    /// A request is under way (one at a time).
    pub busy: bool,
    /// The last review read.
    pub review: Option<QualityReview>,
    /// The token the review was read with: the withdrawals' token.
    token: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OperatorMsg {
    /// Download the crowd's dataset with this token.
    Export(String),
    /// The export's file name (naming its snapshot) and bytes.
    Exported(Result<(String, Vec<u8>), String>),
    /// Read the pool's quality with this token.
    Review(String),
    Reviewed(Result<QualityReview, String>),
    /// Withdraw these demonstrations (by their ids on the service).
    WithdrawIds(Vec<i64>),
    /// Withdraw every demonstration scoring under this (of one task, if named).
    WithdrawBelow { below: f64, task: Option<String> },
    Withdrew(Result<WithdrawnCount, String>),
    /// Put the review away (and forget the token).
    Close,
}

/// What the component asks the shell to send; each answers with its message.
#[derive(Clone, Debug, PartialEq)]
pub enum OperatorRequest {
    Export { token: String },
    Review { token: String },
    Withdraw { token: String, request: WithdrawRequest },
}

/// What the component tells the page.
#[derive(Clone, Debug, PartialEq)]
pub enum Told {
    Download { name: String, bytes: Vec<u8> },
    Info(String),
    Error(String),
}

impl Operator {
    /// Handles `msg`: the requests to send and what to tell the page.
    pub fn update(&mut self, msg: OperatorMsg) -> (Vec<OperatorRequest>, Vec<Told>) {
        let (mut send, mut told) = (Vec::new(), Vec::new());
        match msg {
            OperatorMsg::Export(token) | OperatorMsg::Review(token) if token.trim().is_empty() => {
                told.push(Told::Error("The crowd's dataset and its review need the operator's token.".into()));
            }
            OperatorMsg::Export(_) | OperatorMsg::Review(_) | OperatorMsg::WithdrawIds(_) | OperatorMsg::WithdrawBelow { .. } if self.busy => {}
            OperatorMsg::Export(token) => {
                self.busy = true;
                send.push(OperatorRequest::Export { token: token.trim().into() });
            }
            OperatorMsg::Exported(result) => {
                self.busy = false;
                match result {
                    Ok((name, bytes)) => told.push(Told::Download { name, bytes }),
                    Err(error) => told.push(Told::Error(format!("The crowd's dataset could not be downloaded: {error}."))),
                }
            }
            OperatorMsg::Review(token) => {
                self.busy = true;
                let token = token.trim().to_string();
                self.token = Some(token.clone());
                send.push(OperatorRequest::Review { token });
            }
            OperatorMsg::Reviewed(result) => {
                self.busy = false;
                match result {
                    Ok(review) => self.review = Some(review),
                    Err(error) => {
                        self.review = None;
                        self.token = None;
                        told.push(Told::Error(format!("The pool's quality could not be read: {error}.")));
                    }
                }
            }
            OperatorMsg::WithdrawIds(ids) => self.withdraw(WithdrawRequest { ids, ..WithdrawRequest::default() }, &mut send, &mut told),
            OperatorMsg::WithdrawBelow { below, task } => self.withdraw(WithdrawRequest { below: Some(below), task, ..WithdrawRequest::default() }, &mut send, &mut told),
            OperatorMsg::Withdrew(result) => {
                self.busy = false;
                match result {
                    Ok(count) => {
                        let plural = if count.withdrawn == 1 { "" } else { "s" };
                        told.push(Told::Info(format!("{} demonstration{plural} withdrawn from the crowd's dataset.", count.withdrawn)));
                        // The review is read again, to show the pool as it is now.
                        if let (Some(_), Some(token)) = (&self.review, &self.token) {
                            self.busy = true;
                            send.push(OperatorRequest::Review { token: token.clone() });
                        }
                    }
                    Err(error) => told.push(Told::Error(format!("Nothing was withdrawn: {error}."))),
                }
            }
            OperatorMsg::Close => {
                self.review = None;
                self.token = None;
            }
        }
        (send, told)
    }

    fn withdraw(&mut self, request: WithdrawRequest, send: &mut Vec<OperatorRequest>, told: &mut Vec<Told>) {
        let (Some(_), Some(token)) = (&self.review, &self.token) else {
            return told.push(Told::Error("Review the pool's quality first: withdrawals use the review's token.".into()));
        };
        if request.ids.is_empty() && request.below.is_none() {
            return;
        }
        self.busy = true;
        send.push(OperatorRequest::Withdraw { token: token.clone(), request });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crowd::contract::ReviewedDemonstration;

    fn review(worst: &[i64]) -> QualityReview {
        QualityReview {
            version: 1,
            demonstrations: worst.len(),
            unmeasured: 0,
            tasks: Vec::new(),
            contributors: Vec::new(),
            contributors_total: 0,
            worst: worst.iter().map(|&id| ReviewedDemonstration { id, task: "reach".into(), contributor: "c".into(), score: 0.1 }).collect(),
            agreement: None,
        }
    }

    #[test]
    fn a_review_keeps_its_token_for_the_withdrawals_and_reads_again_after_them() {
        let mut operator = Operator::default();
        // Nothing is withdrawn before a review, nor sent without a token.
        let (send, told) = operator.update(OperatorMsg::WithdrawIds(vec![1]));
        assert!(send.is_empty() && matches!(told[..], [Told::Error(_)]));
        let (send, told) = operator.update(OperatorMsg::Review("  ".into()));
        assert!(send.is_empty() && matches!(told[..], [Told::Error(_)]));
        let (send, _) = operator.update(OperatorMsg::Review(" secret ".into()));
        assert_eq!(send, vec![OperatorRequest::Review { token: "secret".into() }]);
        // One request at a time.
        assert_eq!(operator.update(OperatorMsg::Export("secret".into())).0, vec![]);
        operator.update(OperatorMsg::Reviewed(Ok(review(&[4, 5]))));
        assert_eq!(operator.review.as_ref().unwrap().worst.len(), 2);
        let (send, _) = operator.update(OperatorMsg::WithdrawIds(vec![4, 5]));
        assert_eq!(send, vec![OperatorRequest::Withdraw { token: "secret".into(), request: WithdrawRequest { ids: vec![4, 5], ..Default::default() } }]);
        let (send, told) = operator.update(OperatorMsg::Withdrew(Ok(WithdrawnCount { withdrawn: 2 })));
        assert_eq!(send, vec![OperatorRequest::Review { token: "secret".into() }]);
        assert_eq!(told, vec![Told::Info("2 demonstrations withdrawn from the crowd's dataset.".into())]);
        operator.update(OperatorMsg::Reviewed(Ok(review(&[]))));
        let (send, _) = operator.update(OperatorMsg::WithdrawBelow { below: 0.2, task: Some("reach".into()) });
        let below = WithdrawRequest { below: Some(0.2), task: Some("reach".into()), ..Default::default() };
        assert_eq!(send, vec![OperatorRequest::Withdraw { token: "secret".into(), request: below }]);
        let (send, told) = operator.update(OperatorMsg::Withdrew(Err("HTTP 422: malformed".into())));
        assert!(send.is_empty() && matches!(&told[..], [Told::Error(e)] if e.contains("Nothing was withdrawn")));
        // Closing forgets the token; a refused review forgets it too.
        operator.update(OperatorMsg::Close);
        assert!(operator.update(OperatorMsg::WithdrawIds(vec![1])).0.is_empty());
        operator.update(OperatorMsg::Review("wrong".into()));
        let (_, told) = operator.update(OperatorMsg::Reviewed(Err("HTTP 401: unauthorised".into())));
        assert!(operator.review.is_none() && matches!(told[..], [Told::Error(_)]));
        assert!(operator.update(OperatorMsg::WithdrawIds(vec![1])).0.is_empty());
    }

    #[test]
    fn the_export_downloads_under_the_services_name() {
        let mut operator = Operator::default();
        assert_eq!(operator.update(OperatorMsg::Export("secret".into())).0, vec![OperatorRequest::Export { token: "secret".into() }]);
        let (_, told) = operator.update(OperatorMsg::Exported(Ok(("crowd-2-to-9.json".into(), b"{}".to_vec()))));
        assert_eq!(told, vec![Told::Download { name: "crowd-2-to-9.json".into(), bytes: b"{}".to_vec() }]);
        assert!(!operator.busy);
    }
}
