//! The crowd's dashboard, as a component of its own in the Elm way (like `account` and
//! `operator`): its state ([`DashboardPart`]), its messages ([`DashboardMsg`]) and the
//! requests it asks the page to carry out ([`DashboardRequest`]), mapped into the page's
//! `Action::Dashboard` and effects. It holds the crowd's state as the service last told
//! it; while the dashboard is open it reads it again every [`CROWD_REFRESH_MS`], one
//! read at a time. The shared policy's version it finds, it tells the page ([`Told`]).

use crate::crowd::contract::CrowdStatus;

/// How often an open crowd dashboard reads the crowd's state again.
pub const CROWD_REFRESH_MS: u32 = 5_000;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DashboardPart {
    /// The crowd's state, as last read.
    pub status: Option<CrowdStatus>,
    /// A read is under way.
    pub loading: bool,
    /// The dashboard is open (it is read again while it is).
    pub open: bool,
    /// A read again is scheduled.
    refresh_scheduled: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DashboardMsg {
    /// Read the crowd's state now.
    Refresh,
    /// The dashboard was opened (true) or closed: opening reads it.
    Open(bool),
    /// The scheduled read is due.
    Tick,
    Fetched(Result<CrowdStatus, String>),
}

/// What the component asks the page to do.
#[derive(Clone, Debug, PartialEq)]
pub enum DashboardRequest {
    /// Read the crowd's state from the service; answered with `Fetched`.
    Fetch,
    /// Send `Tick` after this many milliseconds.
    TickAfter(u32),
}

/// What the component tells the page.
#[derive(Clone, Debug, PartialEq)]
pub enum Told {
    Error(String),
    /// The service uses this version of the shared policy.
    Version(i64),
}

impl DashboardPart {
    /// Handles `msg`; `service` says whether the page has a collection service to read
    /// from (without one, nothing is read).
    pub fn update(&mut self, msg: DashboardMsg, service: bool) -> (Vec<DashboardRequest>, Vec<Told>) {
        let (mut send, mut told) = (Vec::new(), Vec::new());
        let read = |part: &mut DashboardPart, send: &mut Vec<DashboardRequest>| {
            if service && !part.loading {
                part.loading = true;
                send.push(DashboardRequest::Fetch);
            }
        };
        match msg {
            DashboardMsg::Refresh => read(self, &mut send),
            DashboardMsg::Open(open) => {
                self.open = open;
                if open {
                    read(self, &mut send);
                }
            }
            DashboardMsg::Tick => {
                self.refresh_scheduled = false;
                if self.open {
                    read(self, &mut send);
                }
            }
            DashboardMsg::Fetched(result) => {
                self.loading = false;
                if self.open && !self.refresh_scheduled {
                    self.refresh_scheduled = true;
                    send.push(DashboardRequest::TickAfter(CROWD_REFRESH_MS));
                }
                match result {
                    Ok(status) => {
                        told.push(Told::Version(status.version));
                        self.status = Some(status);
                    }
                    Err(error) => told.push(Told::Error(format!("The crowd's state could not be read: {error}."))),
                }
            }
        }
        (send, told)
    }

    /// The shared policy's version the service last said it uses (0: none yet).
    pub fn version(&self) -> i64 {
        self.status.as_ref().map_or(0, |s| s.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One read at a time, none without a service; an open dashboard schedules one read
    /// again after each answer (not two), and a closed one lets the tick pass.
    #[test]
    fn reads_one_at_a_time_and_again_only_while_open() {
        let mut part = DashboardPart::default();
        assert_eq!(part.update(DashboardMsg::Refresh, false), (vec![], vec![]), "no service: nothing read");
        assert_eq!(part.update(DashboardMsg::Open(true), true).0, vec![DashboardRequest::Fetch]);
        assert!(part.update(DashboardMsg::Refresh, true).0.is_empty(), "one read at a time");
        let (send, told) = part.update(DashboardMsg::Fetched(Err("away".into())), true);
        assert_eq!(send, vec![DashboardRequest::TickAfter(CROWD_REFRESH_MS)]);
        assert!(matches!(&told[..], [Told::Error(e)] if e.contains("away")));
        assert!(part.update(DashboardMsg::Refresh, true).0 == vec![DashboardRequest::Fetch]);
        assert!(part.update(DashboardMsg::Fetched(Err("away".into())), true).0.is_empty(), "a tick is already scheduled");
        assert_eq!(part.update(DashboardMsg::Tick, true).0, vec![DashboardRequest::Fetch]);
        part.update(DashboardMsg::Open(false), true);
        part.update(DashboardMsg::Fetched(Err("away".into())), true);
        assert!(part.update(DashboardMsg::Tick, true).0.is_empty(), "closed: not read again");
    }
}
