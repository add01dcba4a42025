//! An uploaded demonstration and its verification by replay: what the collection
//! service accepts, in plain Rust so every rejection is a native test. Nothing a client
//! says about states or success is trusted: the record's seed and actions are replayed
//! with this build's simulation, and only a replay that succeeds under the current task
//! suite is kept.

use serde::{Deserialize, Serialize};

pub use crate::record::hex;
use crate::quality::{self, Quality};
use crate::record::{content_fingerprint, DemonstrationRecord, ReplayError, Source};
use crate::tasks::{TaskId, SUITE_VERSION};

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
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("the upload is not a demonstration: {0}")]
    Malformed(String),
    #[error("the upload's id must be 8 to 64 letters, digits or dashes")]
    ClientId,
    #[error("it was recorded with task suite version {found}, in which the service (suite {current}) cannot replay its task")]
    SuiteVersion { found: u32, current: u32 },
    #[error("it has no actions")]
    Empty,
    #[error("it has {actions} actions, more than a demonstration's limit of {limit}")]
    TooLong { actions: usize, limit: usize },
    #[error("action {step} holds a value outside [-1, 1] or not a number")]
    BadAction { step: usize },
    #[error("its replay does not succeed at the task")]
    NotSuccessful,
    #[error("its duration or date is not a plausible number")]
    BadTiming,
    #[error("the same id was uploaded before with another demonstration")]
    IdConflict,
}

impl Rejection {
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed(_) => "malformed",
            Rejection::ClientId => "client_id",
            Rejection::SuiteVersion { .. } => "suite_version",
            Rejection::Empty => "empty",
            Rejection::TooLong { .. } => "too_long",
            Rejection::BadAction { .. } => "bad_action",
            Rejection::NotSuccessful => "not_successful",
            Rejection::BadTiming => "bad_timing",
            Rejection::IdConflict => "id_conflict",
        }
    }

    /// Every code, for metrics that list each reason from the start.
    pub const CODES: [&'static str; 9] =
        ["malformed", "client_id", "suite_version", "empty", "too_long", "bad_action", "not_successful", "bad_timing", "id_conflict"];
}

/// A demonstration that replayed to success, as the service stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verified {
    pub client_id: String,
    pub task: TaskId,
    pub seed: u64,
    pub suite_version: u32,
    pub actions: Vec<[f32; 4]>,
    pub source: Source,
    pub duration_seconds: f64,
    pub recorded_at_ms: f64,
    /// The SHA-256 of the task, seed and actions: the same demonstration uploaded
    /// again (under any id) is stored once.
    pub fingerprint: String,
    pub verified_by: String,
    /// Measured on the replay that verified it.
    pub quality: Quality,
}

impl Verified {
    /// The record as the project's files and exports carry it (success as replayed).
    pub fn record(&self) -> DemonstrationRecord {
        DemonstrationRecord {
            task: self.task,
            seed: self.seed,
            suite_version: self.suite_version,
            actions: self.actions.clone(),
            success: true,
            source: self.source,
            duration_seconds: self.duration_seconds,
            recorded_at_ms: self.recorded_at_ms,
        }
    }
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

/// The fingerprint of a demonstration's content (task, seed, actions' exact bits).
pub fn fingerprint(record: &DemonstrationRecord) -> String {
    content_fingerprint(record.task, record.seed, &record.actions)
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
    let replayed = match claimed.replay() {
        Ok(replayed) => replayed,
        Err(ReplayError::SuiteVersion { found, .. }) => return Err(Rejection::SuiteVersion { found, current: SUITE_VERSION }),
        Err(ReplayError::TooLong { actions, limit }) => return Err(Rejection::TooLong { actions, limit }),
        Err(ReplayError::BadAction { step }) => return Err(Rejection::BadAction { step }),
        Err(ReplayError::SuccessMismatch { .. }) => return Err(Rejection::NotSuccessful),
    };
    Ok(Verified {
        client_id: upload.client_id.clone(),
        task: record.task,
        seed: record.seed,
        suite_version: record.suite_version,
        actions: record.actions.clone(),
        source: record.source,
        duration_seconds: record.duration_seconds,
        recorded_at_ms: record.recorded_at_ms,
        fingerprint: fingerprint(record),
        verified_by: verifier_build(),
        quality: quality::measure(&replayed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(task: TaskId, seed: u64) -> Upload {
        Upload { client_id: format!("demo-{seed:08}"), record: DemonstrationRecord::from_expert(task, seed, 0.05, 1.7e12) }
    }

    fn body(upload: &Upload) -> Vec<u8> {
        serde_json::to_vec(upload).unwrap()
    }

    #[test]
    fn a_real_demonstration_verifies_and_keeps_what_the_replay_says() {
        let up = upload(TaskId::DrawerOpen, 3);
        let verified = verify(&parse(&body(&up)).unwrap()).unwrap();
        assert_eq!(verified.record(), up.record);
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
            parse(&body(&up)).and_then(|u| verify(&u)).unwrap_err().code()
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
        assert_eq!(verify(&variant).unwrap_err().code(), "suite_version");
        assert_eq!(reject(&|u| u.record.actions.clear()), "empty");
        assert_eq!(reject(&|u| u.record.actions = vec![[0.0; 4]; u.record.task.demonstration_limit() + 1]), "too_long");
        assert_eq!(reject(&|u| u.record.actions[2][0] = 1.5), "bad_action");
        assert_eq!(reject(&|u| u.record.actions.iter_mut().for_each(|a| *a = [0.0, 0.0, 0.0, -1.0])), "not_successful");
        assert_eq!(reject(&|u| u.record.duration_seconds = -1.0), "bad_timing");
        assert_eq!(parse(b"{\"client_id\": 3}").unwrap_err().code(), "malformed");
        assert_eq!(parse(b"not json").unwrap_err().code(), "malformed");
        assert_eq!(parse(&vec![b' '; MAX_UPLOAD_BYTES + 1]).unwrap_err().code(), "malformed");
        // Fields the format does not have are refused, not ignored (no "states" to trust).
        let mut with_states = serde_json::to_value(&good).unwrap();
        with_states["states"] = serde_json::json!([[0.0]]);
        assert_eq!(parse(&serde_json::to_vec(&with_states).unwrap()).unwrap_err().code(), "malformed");
        assert!(Rejection::CODES.iter().all(|c| !c.is_empty()));
    }
}
