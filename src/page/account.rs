//! The contributor's account on the collection service, as a component of its own in
//! the Elm way (like `operator`): its state ([`AccountPart`]), its messages
//! ([`AccountMsg`]) and the requests it asks the shell to send ([`AccountRequest`]),
//! mapped into the page's `Action::Account` and `Effect::Account`. One request at a
//! time: the display name, the leaderboard, the list of their demonstrations on the
//! service and withdrawing one. What it does to the rest of the page (a withdrawn
//! demonstration's mark in the dataset, the crowd's leaderboard read again) it tells the
//! page ([`Told`]).

use crate::crowd::contract::Account;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountPart {
    /// What the service last said of the account (after the panel opened).
    pub account: Option<Account>,
    /// A request is under way.
    pub busy: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AccountMsg {
    /// List the contributor's demonstrations on the service.
    Refresh,
    Fetched(Result<Account, String>),
    /// Set the display name (empty: none).
    Rename(String),
    Renamed(Result<(), String>),
    /// Join (true) or leave the crowd's leaderboard.
    SetListed(bool),
    ListedSet(Result<(), String>),
    /// Withdraw one of their demonstrations from the service (by its id there).
    Withdraw(i64),
    Withdrawn { id: i64, result: Result<(), String> },
}

/// What the component asks the shell to send, with the contributor's token; each
/// answers with its message.
#[derive(Clone, Debug, PartialEq)]
pub enum AccountRequest {
    Fetch { token: String },
    Rename { token: String, name: String },
    SetListed { token: String, listed: bool },
    Withdraw { token: String, id: i64 },
}

/// What the component tells the page.
#[derive(Clone, Debug, PartialEq)]
pub enum Told {
    Error(String),
    /// The service withdrew this demonstration: marked so wherever the page shows it.
    Withdrawn(i64),
    /// The crowd's state changed (the leaderboard): read it again.
    CrowdChanged,
}

impl AccountPart {
    /// Handles `msg`, with the contributor's token if the service registered this
    /// browser: the requests to send and what to tell the page.
    pub fn update(&mut self, msg: AccountMsg, token: Option<&str>) -> (Vec<AccountRequest>, Vec<Told>) {
        let (mut send, mut told) = (Vec::new(), Vec::new());
        let mut request = |what: &str, make: &dyn Fn(String) -> AccountRequest, busy: &mut bool| {
            if *busy {
                return;
            }
            match token {
                Some(token) => {
                    *busy = true;
                    send.push(make(token.to_string()));
                }
                None => told.push(Told::Error(format!("Cannot {what}: the collection service has not registered this browser yet."))),
            }
        };
        match msg {
            AccountMsg::Refresh => request("list your demonstrations on the service", &|token| AccountRequest::Fetch { token }, &mut self.busy),
            AccountMsg::Rename(name) => {
                let name = name.trim().to_string();
                request("set your display name", &|token| AccountRequest::Rename { token, name: name.clone() }, &mut self.busy);
            }
            AccountMsg::SetListed(listed) => request("change your place on the leaderboard", &|token| AccountRequest::SetListed { token, listed }, &mut self.busy),
            AccountMsg::Withdraw(id) => request("withdraw a demonstration", &|token| AccountRequest::Withdraw { token, id }, &mut self.busy),
            AccountMsg::Fetched(result) => {
                self.busy = false;
                match result {
                    Ok(account) => self.account = Some(account),
                    Err(error) => told.push(Told::Error(format!("Your demonstrations on the collection service could not be listed: {error}."))),
                }
            }
            // The service took the name or the choice: the account is read again, so the
            // page shows it as the service keeps it.
            AccountMsg::Renamed(result) => {
                self.busy = false;
                match result {
                    Ok(()) => return self.update(AccountMsg::Refresh, token),
                    Err(error) => told.push(Told::Error(format!("Your display name was not changed: {error}."))),
                }
            }
            AccountMsg::ListedSet(result) => {
                self.busy = false;
                match result {
                    Ok(()) => {
                        let (send, mut more) = self.update(AccountMsg::Refresh, token);
                        more.push(Told::CrowdChanged);
                        return (send, more);
                    }
                    Err(error) => told.push(Told::Error(format!("Your place on the leaderboard was not changed: {error}."))),
                }
            }
            AccountMsg::Withdrawn { id, result } => {
                self.busy = false;
                match result {
                    Ok(()) => {
                        if let Some(listed) = self.account.as_mut().and_then(|a| a.demonstrations.iter_mut().find(|d| d.id == id)) {
                            listed.withdrawn = true;
                        }
                        told.push(Told::Withdrawn(id));
                    }
                    Err(error) => told.push(Told::Error(format!("Demonstration #{id} was not withdrawn from the collection service: {error}."))),
                }
            }
        }
        (send, told)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_at_a_time_and_none_before_registration() {
        let mut part = AccountPart::default();
        let (send, told) = part.update(AccountMsg::Refresh, None);
        assert!(send.is_empty() && matches!(&told[..], [Told::Error(e)] if e.contains("not registered")));
        assert!(!part.busy);
        let (send, _) = part.update(AccountMsg::Withdraw(3), Some("t"));
        assert_eq!(send, vec![AccountRequest::Withdraw { token: "t".into(), id: 3 }]);
        assert!(part.update(AccountMsg::Rename("Ada".into()), Some("t")).0.is_empty(), "busy: nothing else is sent");
        let (send, told) = part.update(AccountMsg::Withdrawn { id: 3, result: Ok(()) }, Some("t"));
        assert!(send.is_empty() && told == vec![Told::Withdrawn(3)] && !part.busy);
        // Joining the leaderboard reads the account and the crowd again.
        part.update(AccountMsg::SetListed(true), Some("t"));
        let (send, told) = part.update(AccountMsg::ListedSet(Ok(())), Some("t"));
        assert_eq!((send, told), (vec![AccountRequest::Fetch { token: "t".into() }], vec![Told::CrowdChanged]));
    }
}
