//! An uploaded demonstration and its verification by replay: what the collection
//! service accepts, in plain Rust so every rejection is a native test. Nothing a client
//! says about states or success is trusted: the record's seed and actions are replayed
//! with this build's simulation, and only a replay that succeeds under the current task
//! suite is kept.

use serde::{Deserialize, Serialize};

use super::contract::RefusalCode;
pub use crate::record::hex;
use crate::quality::{self, Quality};
use crate::record::{DemonstrationRecord, ReplayError, ReplayErrorKind};
use crate::tasks::SUITE_VERSION;

/// The largest upload body the service reads (bytes): one demonstration at a person's
/// time limit with every number written out at full length fits several times over.
pub const MAX_UPLOAD_BYTES: usize = 256 * 1024;

/// What verified a demonstration: this program, at this version and task suite.
pub fn verifier_build() -> String {
    format!("amf-studio {} (suite {SUITE_VERSION})", env!("CARGO_PKG_VERSION"))
}

/// The body of an upload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    /// Made by the page when the demonstration ends, so a retried upload is known.
    pub client_id: String,
    pub record: DemonstrationRecord,
}

/// Why an upload was refused; `code` is what the page keys its message on.
#[derive(Clone, Debug, PartialEq, thiserror::Error, strum::EnumDiscriminants)]
#[strum_discriminants(name(RejectionKind), derive(strum::EnumIter))]
pub enum Rejection {
    #[error("the upload is not a demonstration: {0}")]
    Malformed(String),
    #[error("the upload's id must be 8 to 64 letters, digits or dashes")]
    ClientId,
    #[error("it has no actions")]
    Empty,
    #[error("its duration or date is not a plausible number")]
    BadTiming,
    /// Its replay refused it (its suite, length or actions) or did not succeed.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("the same id was uploaded before with another demonstration")]
    IdConflict,
}

impl Rejection {
    /// The refusal's code in the service's API.
    pub fn code(&self) -> RefusalCode {
        match self {
            Rejection::Replay(error) => replay_code(error.into()),
            other => rejection_code(other.into()).expect("a rejection of its own has a code of its own"),
        }
    }

    /// Every code a rejection can have, for metrics that list each reason from the start:
    /// derived from the kinds of rejection and of replay error, so a new kind is counted.
    pub fn codes() -> impl Iterator<Item = RefusalCode> {
        use strum::IntoEnumIterator;
        RejectionKind::iter().flat_map(|kind| match rejection_code(kind) {
            Some(code) => vec![code],
            None => ReplayErrorKind::iter().map(replay_code).collect(),
        })
    }
}

/// The code of a rejection of the upload's own; none for a replay's (each of its kinds
/// has its own code).
fn rejection_code(kind: RejectionKind) -> Option<RefusalCode> {
    Some(match kind {
        RejectionKind::Malformed => RefusalCode::Malformed,
        RejectionKind::ClientId => RefusalCode::ClientId,
        RejectionKind::Empty => RefusalCode::Empty,
        RejectionKind::BadTiming => RefusalCode::BadTiming,
        RejectionKind::IdConflict => RefusalCode::IdConflict,
        RejectionKind::Replay => return None,
    })
}

fn replay_code(kind: ReplayErrorKind) -> RefusalCode {
    match kind {
        ReplayErrorKind::SuiteVersion => RefusalCode::SuiteVersion,
        ReplayErrorKind::TooLong => RefusalCode::TooLong,
        ReplayErrorKind::BadAction => RefusalCode::BadAction,
        ReplayErrorKind::SuccessMismatch => RefusalCode::NotSuccessful,
    }
}

/// A demonstration that replayed to success, as the service stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verified {
    pub client_id: String,
    /// The record as uploaded, its success as replayed.
    pub record: DemonstrationRecord,
    /// The record's [`DemonstrationRecord::fingerprint`]: the same demonstration
    /// uploaded again (under any id) is stored once.
    pub fingerprint: String,
    pub verified_by: String,
    /// Measured on the replay that verified it.
    pub quality: Quality,
}

/// Reads an upload's body; anything but one well-formed upload is refused.
pub fn parse(body: &[u8]) -> Result<Upload, Rejection> {
    if body.len() > MAX_UPLOAD_BYTES {
        return Err(Rejection::Malformed(format!("it is larger than {MAX_UPLOAD_BYTES} bytes")));
    }
    let upload: Upload = serde_json::from_slice(body).map_err(|e| Rejection::Malformed(e.to_string()))?;
    let id = &upload.client_id;
    if !(8..=64).contains(&id.len()) || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Rejection::ClientId);
    }
    Ok(upload)
}

/// Replays the upload with this build's simulation; keeps it only if it succeeds.
pub fn verify(upload: &Upload) -> Result<Verified, Rejection> {
    let record = &upload.record;
    if record.actions.is_empty() {
        return Err(Rejection::Empty);
    }
    let plausible = |v: f64, max: f64| v.is_finite() && (0.0..=max).contains(&v);
    if !plausible(record.duration_seconds, 86_400.0) || !plausible(record.recorded_at_ms, 1e14) {
        return Err(Rejection::BadTiming);
    }
    // The client's word on success is not taken: replay as if it claimed success.
    let claimed = DemonstrationRecord { success: true, ..record.clone() };
    let replayed = claimed.replay()?;
    Ok(Verified {
        client_id: upload.client_id.clone(),
        fingerprint: claimed.fingerprint(),
        record: claimed,
        verified_by: verifier_build(),
        quality: quality::measure(&replayed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::TaskId;

    fn upload(task: TaskId, seed: u64) -> Upload {
        Upload { client_id: format!("demo-{seed:08}"), record: DemonstrationRecord::from_expert(task, seed, 0.05, 1.7e12) }
    }

    fn body(upload: &Upload) -> Vec<u8> {
        serde_json::to_vec(upload).unwrap()
    }

    /// The codes listed for metrics are derived from the kinds: one per kind of rejection
    /// and of replay error, each distinct, and every rejection's code among them.
    #[test]
    fn every_rejection_has_a_listed_code_of_its_own() {
        let codes: Vec<RefusalCode> = Rejection::codes().collect();
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), codes.len(), "{codes:?}");
        let rejections = [
            Rejection::Malformed("x".into()),
            Rejection::ClientId,
            Rejection::Empty,
            Rejection::BadTiming,
            Rejection::IdConflict,
            Rejection::Replay(ReplayError::SuiteVersion { task: TaskId::Reach, found: 9, from: 1 }),
            Rejection::Replay(ReplayError::TooLong { actions: 9, limit: 1 }),
            Rejection::Replay(ReplayError::BadAction { step: 0 }),
            Rejection::Replay(ReplayError::SuccessMismatch { recorded: "a success", replayed: "fails" }),
        ];
        assert_eq!(rejections.len(), codes.len());
        for rejection in rejections {
            assert!(codes.contains(&rejection.code()), "{rejection:?}");
        }
    }

    #[test]
    fn a_real_demonstration_verifies_and_keeps_what_the_replay_says() {
        let up = upload(TaskId::DrawerOpen, 3);
        let verified = verify(&parse(&body(&up)).unwrap()).unwrap();
        assert_eq!(verified.record, up.record);
        assert_eq!(verified.fingerprint.len(), 64);
        assert!(verified.verified_by.contains(&format!("suite {SUITE_VERSION}")));
        // A client that calls its success a failure is not believed either way.
        let mut modest = up.clone();
        modest.record.success = false;
        assert!(verify(&modest).is_ok());
        // The same content under another id has the same fingerprint.
        let mut again = up.clone();
        again.client_id = "another-id-1".into();
        assert_eq!(verify(&again).unwrap().fingerprint, verified.fingerprint);
    }

    #[test]
    fn every_bad_upload_gets_its_own_reason() {
        let good = upload(TaskId::Reach, 4);
        let reject = |change: &dyn Fn(&mut Upload)| {
            let mut up = good.clone();
            change(&mut up);
            parse(&body(&up)).and_then(|u| verify(&u)).unwrap_err().code().name()
        };
        assert_eq!(reject(&|u| u.client_id = "short".into()), "client_id");
        assert_eq!(reject(&|u| u.client_id = "has spaces in it".into()), "client_id");
        assert_eq!(reject(&|u| u.record.suite_version += 1), "suite_version");
        // A task unchanged since suite 1 is taken as recorded there; a task of a later
        // suite claimed for suite 1 is not.
        let mut older = good.clone();
        older.record.suite_version = 1;
        assert!(verify(&older).is_ok());
        let mut variant = upload(TaskId::ButtonPressHigh, 4);
        variant.record.suite_version = 1;
        assert_eq!(verify(&variant).unwrap_err().code(), RefusalCode::SuiteVersion);
        assert_eq!(reject(&|u| u.record.actions.clear()), "empty");
        assert_eq!(reject(&|u| u.record.actions = vec![[0.0; 4]; u.record.task.demonstration_limit() + 1]), "too_long");
        assert_eq!(reject(&|u| u.record.actions[2][0] = 1.5), "bad_action");
        assert_eq!(reject(&|u| u.record.actions.iter_mut().for_each(|a| *a = [0.0, 0.0, 0.0, -1.0])), "not_successful");
        assert_eq!(reject(&|u| u.record.duration_seconds = -1.0), "bad_timing");
        assert_eq!(parse(b"{\"client_id\": 3}").unwrap_err().code(), RefusalCode::Malformed);
        assert_eq!(parse(b"not json").unwrap_err().code(), RefusalCode::Malformed);
        assert_eq!(parse(&vec![b' '; MAX_UPLOAD_BYTES + 1]).unwrap_err().code(), RefusalCode::Malformed);
        // Fields the format does not have are refused, not ignored (no "states" to trust).
        let mut with_states = serde_json::to_value(&good).unwrap();
        with_states["states"] = serde_json::json!([[0.0]]);
        assert_eq!(parse(&serde_json::to_vec(&with_states).unwrap()).unwrap_err().code(), RefusalCode::Malformed);
    }
}
