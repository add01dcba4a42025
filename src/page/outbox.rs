//! The outbox's own state, as a component: which upload is under way (one at a time),
//! and the backoff after transient failures (doubled each time, up to a cap). What is
//! queued is each dataset entry's own sync state; the page decides what an answer
//! means (`crowd.rs`).

use super::state::Entry;
use super::crowd::SyncState;

/// Backoff after the first transient failure, doubled each time up to the cap (ms).
pub const FIRST_BACKOFF_MS: u32 = 1_000;
pub const MAX_BACKOFF_MS: u32 = 60_000;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outbox {
    /// The storage key of the upload under way.
    uploading: Option<u32>,
    /// Transient failures in a row (the backoff's exponent).
    failures: u32,
    /// A retry is scheduled: nothing is sent before it.
    waiting: bool,
}

impl Outbox {
    /// The next entry to send, oldest first, if nothing is under way or waiting; it is
    /// under way from now.
    pub fn next<'a>(&mut self, entries: &'a [Entry]) -> Option<&'a Entry> {
        if self.uploading.is_some() || self.waiting {
            return None;
        }
        let next = entries.iter().find(|e| e.key.is_some() && e.sync == Some(SyncState::Queued))?;
        self.uploading = next.key;
        Some(next)
    }

    /// An answer for the upload of `key` came: whether it is the one under way (an
    /// answer for another, from before a new session, is dropped).
    pub fn answered(&mut self, key: u32) -> bool {
        self.uploading.take_if(|k| *k == key).is_some()
    }

    /// The service answered: the backoff starts again.
    pub fn reached(&mut self) {
        self.failures = 0;
    }

    /// A transient failure: nothing is sent for the returned milliseconds (the
    /// service's `Retry-After` where it is longer than the backoff).
    pub fn retry(&mut self, after_ms: Option<u32>) -> u32 {
        let backoff = FIRST_BACKOFF_MS.saturating_mul(1 << self.failures.min(16)).min(MAX_BACKOFF_MS);
        self.failures += 1;
        self.waiting = true;
        after_ms.unwrap_or(backoff).max(backoff)
    }

    /// The retry is due.
    pub fn tick(&mut self) {
        self.waiting = false;
    }

    /// The demonstrations went (a new session): nothing is under way.
    pub fn forget_upload(&mut self) {
        self.uploading = None;
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::record::DemonstrationRecord;
    use crate::tasks::TaskId;

    /// One upload at a time, the oldest queued first; a failure holds the outbox for a
    /// backoff that doubles up to its cap and starts again once the service answers.
    #[test]
    fn one_upload_at_a_time_and_a_backoff_that_doubles() {
        let record = Rc::new(DemonstrationRecord::from_expert(TaskId::Reach, 1, 0.0, 0.0));
        let standing = crate::session::Standing::waiting(crate::session::ChosenBy::Person);
        let entry = |id, sync| Entry { id, key: Some(id as u32), record: record.clone(), sync, standing };
        let entries = vec![entry(1, Some(SyncState::Verified { id: 4 })), entry(2, Some(SyncState::Queued)), entry(3, Some(SyncState::Queued))];
        let mut outbox = Outbox::default();
        assert_eq!(outbox.next(&entries).map(|e| e.id), Some(2));
        assert!(outbox.next(&entries).is_none(), "one at a time");
        assert!(!outbox.answered(3) && outbox.answered(2));
        let delays: Vec<u32> = (0..8).map(|_| outbox.retry(None)).collect();
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
        assert!(outbox.next(&entries).is_none(), "waiting");
        outbox.tick();
        outbox.reached();
        assert_eq!(outbox.retry(Some(5_000)), 5_000, "the service's Retry-After where longer");
        outbox.tick();
        assert_eq!(outbox.next(&entries).map(|e| e.id), Some(2));
    }
}
