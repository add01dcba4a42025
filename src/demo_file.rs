//! The project's demonstration file: a versioned JSON document holding the task suite's
//! version, the session's settings and, per demonstration, the task, the seed and the
//! actions (the states follow by replay, and are included for tools that do not replay).
//! Its schema is `docs/format/demonstrations.schema.json`.
//!
//! Reading is in two steps. [`parse`] checks the document itself (size, format name,
//! version, shape) and refuses the whole file with one clear error. [`verify`] replays
//! every demonstration in the simulation: its recorded states must match and its success
//! must hold; each one that fails is reported by index and reason and left out.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::record::{DemonstrationRecord, ReplayError};
use crate::session::SessionSettings;
use crate::tasks::observation::{self, ENVIRONMENT_STATE, ROBOT_STATE};
use crate::tasks::{Observation, TaskId, SUITE_VERSION};

/// The `format` field of every file.
pub const FORMAT_NAME: &str = "amf-studio/demonstrations";
/// Bumped when a file of the new layout could not be read by older builds.
pub const FORMAT_VERSION: u32 = 1;
/// Files larger than this are refused before parsing (about 2,000 demonstrations with
/// their states).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// Demonstrations per file at most.
pub const MAX_DEMONSTRATIONS: usize = 5_000;

/// A demonstration in a file: the record, and optionally its states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileDemonstration {
    #[serde(flatten)]
    pub record: DemonstrationRecord,
    /// The observation before each action (as many as actions). Derivable by replay;
    /// written for tools that do not replay, checked on import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<Vec<Vec<f32>>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemonstrationFile {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written by this build.
    pub version: u32,
    /// The task suite the demonstrations were recorded in.
    pub suite_version: u32,
    /// Which program wrote the file (e.g. "amf-studio 0.1.0").
    pub created_by: String,
    /// The session's settings when exported (none from `amf collect`).
    #[serde(default)]
    pub settings: Option<SessionSettings>,
    /// Which components of each state are the robot's own and which the environment's,
    /// named: the split the LeRobot and robomimic exports make. Absent from files of
    /// older builds (the layout was the same), ignored by their readers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observation: Option<ObservationLayout>,
    /// The licence (SPDX) the demonstrations are published under: a collection
    /// service's export names the one its contributors agreed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    pub demonstrations: Vec<FileDemonstration>,
}

/// The state's two parts, as `[from, to)` ranges of components with their names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservationLayout {
    pub robot_state: StatePart,
    pub environment_state: StatePart,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatePart {
    pub from: usize,
    pub to: usize,
    pub names: Vec<String>,
}

impl ObservationLayout {
    /// This build's layout (`tasks::observation`).
    pub fn current() -> ObservationLayout {
        let names = crate::export::observation_names();
        let part = |range: std::ops::Range<usize>| StatePart { from: range.start, to: range.end, names: names[range].to_vec() };
        ObservationLayout { robot_state: part(ROBOT_STATE), environment_state: part(ENVIRONMENT_STATE) }
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum FileError {
    #[error("the file is {size} bytes; files over {MAX_FILE_BYTES} bytes are refused")]
    TooLarge { size: usize },
    #[error("the file is empty")]
    Empty,
    #[error("the file is not valid JSON or is cut short (line {line}, column {column}: {message})")]
    Malformed { line: usize, column: usize, message: String },
    #[error("this is not an AMF Studio demonstration file (its format is {found:?})")]
    NotOurs { found: String },
    #[error("the file was written by a newer AMF Studio (format version {found}); this build reads version {FORMAT_VERSION}")]
    NewerVersion { found: u32 },
    #[error("format version {found} is unknown")]
    UnknownVersion { found: u32 },
    #[error("the file holds {count} demonstrations; at most {MAX_DEMONSTRATIONS} are read")]
    TooMany { count: usize },
}

/// Why one demonstration of a file was left out.
#[derive(Debug, Error, PartialEq)]
pub enum Rejection {
    #[error("{0}")]
    Replay(#[from] ReplayError),
    #[error("it has {states} states for {actions} actions")]
    StateCount { states: usize, actions: usize },
    #[error("its recorded state at step {step} differs from the replay (by {difference:.3e})")]
    StateMismatch { step: usize, difference: f32 },
    #[error("it is already in the dataset")]
    Duplicate,
    #[error("it is nearly a copy of a demonstration in the dataset (the same instance, its actions alike)")]
    NearCopy,
}

/// What an import found: the demonstrations that passed, and those that did not.
#[derive(Debug, Default, PartialEq)]
pub struct ImportReport {
    pub accepted: Vec<DemonstrationRecord>,
    /// `(index in the file, task name, why)`.
    pub rejected: Vec<(usize, &'static str, Rejection)>,
}

impl ImportReport {
    /// One line per rejected demonstration, for the page and the runner.
    pub fn rejection_lines(&self) -> Vec<String> {
        self.rejected.iter().map(|(i, task, why)| format!("demonstration {i} ({task}): {why}")).collect()
    }
}

impl DemonstrationFile {
    /// A file of `records`, with their states when `with_states` (replayed here).
    pub fn new(records: &[DemonstrationRecord], settings: Option<SessionSettings>, with_states: bool) -> DemonstrationFile {
        let demonstrations = records
            .iter()
            .map(|record| FileDemonstration {
                record: record.clone(),
                states: with_states
                    .then(|| record.replay().ok())
                    .flatten()
                    .map(|demo| demo.observations.iter().map(|o| o.0.to_vec()).collect()),
            })
            .collect();
        DemonstrationFile {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            suite_version: SUITE_VERSION,
            created_by: format!("amf-studio {}", env!("CARGO_PKG_VERSION")),
            settings,
            observation: Some(ObservationLayout::current()),
            licence: None,
            demonstrations,
        }
    }

    /// The same file, naming the licence its demonstrations are published under.
    pub fn under_licence(self, licence: &str) -> DemonstrationFile {
        DemonstrationFile { licence: Some(licence.to_string()), ..self }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a demonstration file always serialises")
    }
}

/// Reads a file's bytes, refusing the whole file if it is not a readable file of this
/// format and version. Demonstrations are checked by [`verify`].
pub fn parse(bytes: &[u8]) -> Result<DemonstrationFile, FileError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(FileError::TooLarge { size: bytes.len() });
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(FileError::Empty);
    }
    // The header first, so a newer or foreign file gets its own message even if its
    // demonstrations have a layout this build does not know.
    #[derive(Deserialize)]
    struct Header {
        format: Option<String>,
        version: Option<u32>,
        demonstrations: Option<Vec<serde::de::IgnoredAny>>,
    }
    let malformed = |e: serde_json::Error| FileError::Malformed { line: e.line(), column: e.column(), message: e.to_string() };
    let header: Header = serde_json::from_slice(bytes).map_err(malformed)?;
    let format = header.format.unwrap_or_default();
    if format != FORMAT_NAME {
        return Err(FileError::NotOurs { found: format });
    }
    match header.version {
        Some(FORMAT_VERSION) => {}
        Some(v) if v > FORMAT_VERSION => return Err(FileError::NewerVersion { found: v }),
        Some(v) => return Err(FileError::UnknownVersion { found: v }),
        None => return Err(FileError::UnknownVersion { found: 0 }),
    }
    let count = header.demonstrations.map_or(0, |d| d.len());
    if count > MAX_DEMONSTRATIONS {
        return Err(FileError::TooMany { count });
    }
    serde_json::from_slice(bytes).map_err(malformed)
}

/// Replays every demonstration of `file`; keeps those whose states and success hold and
/// that are not in `existing` (nor earlier in the file).
pub fn verify(file: &DemonstrationFile, existing: &[DemonstrationRecord]) -> ImportReport {
    let mut report = ImportReport::default();
    // Duplicates by content fingerprint and near-copies of one instance, as the
    // collection service finds them.
    let mut held: std::collections::HashSet<String> = existing.iter().map(DemonstrationRecord::fingerprint).collect();
    let mut by_instance: std::collections::HashMap<(TaskId, u64), Vec<&DemonstrationRecord>> = std::collections::HashMap::new();
    for record in existing {
        by_instance.entry((record.task, record.seed)).or_default().push(record);
    }
    for (index, entry) in file.demonstrations.iter().enumerate() {
        let record = &entry.record;
        let outcome = check(entry).and_then(|()| {
            let fingerprint = record.fingerprint();
            if held.contains(&fingerprint) {
                return Err(Rejection::Duplicate);
            }
            let takes = by_instance.entry((record.task, record.seed)).or_default();
            if takes.iter().any(|taken| record.near_copy_of(taken)) {
                return Err(Rejection::NearCopy);
            }
            held.insert(fingerprint);
            takes.push(record);
            Ok(())
        });
        match outcome {
            Ok(()) => report.accepted.push(record.clone()),
            Err(why) => report.rejected.push((index, record.task.name(), why)),
        }
    }
    report
}

/// Replays one demonstration against its record and states.
fn check(entry: &FileDemonstration) -> Result<(), Rejection> {
    let demo = entry.record.replay()?;
    if let Some(states) = &entry.states {
        if states.len() != demo.observations.len() {
            return Err(Rejection::StateCount { states: states.len(), actions: entry.record.actions.len() });
        }
        for (step, (recorded, replayed)) in states.iter().zip(&demo.observations).enumerate() {
            let difference = state_difference(recorded, replayed, entry.record.suite_version);
            // The simulation is deterministic and JSON keeps every f32 exactly.
            if difference > 1e-6 {
                return Err(Rejection::StateMismatch { step, difference });
            }
        }
    }
    Ok(())
}

/// The largest difference between a recorded state and the replayed one. A state
/// recorded in an older suite is laid out as that suite's observation was
/// ([`observation::as_in_suite`]: shorter, without the velocity before suite 3); its
/// width must be that of a suite from the record's on (a record of suite 1 may carry
/// states written by a later build).
fn state_difference(recorded: &[f32], replayed: &Observation, suite: u32) -> f32 {
    let Some(written) = (suite..=SUITE_VERSION).find(|&version| observation::width_in_suite(version) == recorded.len()).and_then(|version| observation::as_in_suite(replayed, version)) else {
        return f32::INFINITY;
    };
    recorded.iter().zip(&written).map(|(a, b)| if a.is_finite() { (a - b).abs() } else { f32::INFINITY }).fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::TaskId;

    fn record(task: TaskId, seed: u64) -> DemonstrationRecord {
        let record = DemonstrationRecord::from_expert(task, seed, 0.05, 1.7e12);
        assert!(record.success, "the expert succeeds on {} seed {seed}", task.name());
        record
    }

    #[test]
    fn a_file_round_trips_and_every_demonstration_verifies() {
        // Button press 103's duration is one a float parser that is not exact reads
        // back one ulp off.
        let records = vec![record(TaskId::DrawerClose, 1), record(TaskId::LeverPull, 2), record(TaskId::ButtonPress, 103)];
        let file = DemonstrationFile::new(&records, Some(SessionSettings::default()), true);
        let parsed = parse(file.to_json().as_bytes()).unwrap();
        assert_eq!(parsed, file);
        let report = verify(&parsed, &[]);
        assert!(report.rejected.is_empty(), "{:?}", report.rejection_lines());
        assert_eq!(report.accepted, records);
        assert!(report.rejected.is_empty());
        // Merging into a dataset that has the first skips it as a duplicate.
        let report = verify(&parsed, &records[..1]);
        assert_eq!(report.accepted, records[1..]);
        assert_eq!(report.rejected.len(), 1);
        assert!(matches!(report.rejected[0], (0, "drawer_close", Rejection::Duplicate)));
        // A copy with one action nudged is found by the same rule the service uses,
        // in the dataset and within the file alike.
        let mut nudged = records[1].clone();
        let step = nudged.actions.iter().position(|a| a[0].abs() > 0.2).unwrap();
        nudged.actions[step][0] *= 0.9;
        assert!(nudged.replay().unwrap().success && nudged.fingerprint() != records[1].fingerprint());
        let with_nudged = DemonstrationFile::new(&[nudged.clone()], None, false);
        let report = verify(&with_nudged, &records);
        assert!(matches!(report.rejected[..], [(0, "lever_pull", Rejection::NearCopy)]), "{:?}", report.rejection_lines());
        let both = DemonstrationFile::new(&[records[1].clone(), nudged], None, false);
        let report = verify(&both, &[]);
        assert_eq!(report.accepted, records[1..2]);
        assert!(matches!(report.rejected[..], [(1, "lever_pull", Rejection::NearCopy)]));
    }

    #[test]
    fn a_tampered_action_or_state_is_rejected_for_that_demonstration_only() {
        let records = vec![record(TaskId::Reach, 1), record(TaskId::DrawerOpen, 2), record(TaskId::Push, 3)];
        let mut file = DemonstrationFile::new(&records, None, true);
        // One action changed: the recorded states no longer follow from the actions.
        file.demonstrations[1].record.actions[10][0] = -file.demonstrations[1].record.actions[10][0] + 0.5;
        file.demonstrations[2].states.as_mut().unwrap()[5][0] += 0.01;
        let report = verify(&parse(file.to_json().as_bytes()).unwrap(), &[]);
        assert_eq!(report.accepted, records[..1]);
        let reasons: Vec<_> = report.rejected.iter().map(|(i, t, why)| (*i, *t, why.to_string())).collect();
        assert_eq!(reasons[0].0, 1);
        // States are those before each action: the changed action 10 shows at state 11.
        assert!(matches!(report.rejected[0].2, Rejection::StateMismatch { step: 11, .. }), "{reasons:?}");
        assert!(matches!(report.rejected[1].2, Rejection::StateMismatch { step: 5, .. }), "{reasons:?}");
        assert_eq!(report.rejection_lines().len(), 2);

        // Without states, the action change is caught by the success check or passes as
        // a different, still successful demonstration: replay decides either way.
        let mut bare = DemonstrationFile::new(&records[1..2], None, false);
        for a in bare.demonstrations[0].record.actions.iter_mut() {
            *a = [0.0, 0.0, 0.0, -1.0];
        }
        assert!(matches!(verify(&bare, &[]).rejected[0].2, Rejection::Replay(ReplayError::SuccessMismatch { .. })));
    }

    #[test]
    fn bad_files_get_one_clear_error() {
        let good = DemonstrationFile::new(&[record(TaskId::Reach, 1)], None, false).to_json();
        assert_eq!(parse(b"  \n"), Err(FileError::Empty));
        assert!(matches!(parse(&good.as_bytes()[..good.len() / 2]), Err(FileError::Malformed { .. })));
        assert!(matches!(parse(b"{\"format\": \"something-else\", \"version\": 1}"), Err(FileError::NotOurs { .. })));
        let newer = good.replacen("\"version\":1", "\"version\":7", 1);
        assert_eq!(parse(newer.as_bytes()), Err(FileError::NewerVersion { found: 7 }));
        assert!(parse(newer.as_bytes()).unwrap_err().to_string().contains("newer AMF Studio"));
        let huge = vec![b' '; MAX_FILE_BYTES + 1];
        assert!(matches!(parse(&huge), Err(FileError::TooLarge { .. })));
        let nan = good.replacen("\"actions\":[[", "\"actions\":[[1e999,", 1);
        assert!(parse(nan.as_bytes()).is_err(), "an out-of-range number is refused");
        // Out-of-range actions parse, and replay rejects them by index.
        let wild = good.replacen("\"actions\":[[", "\"actions\":[[3.5,0,0,0],[", 1);
        let report = verify(&parse(wild.as_bytes()).unwrap(), &[]);
        assert!(matches!(report.rejected[0].2, Rejection::Replay(ReplayError::BadAction { step: 0 })));
    }

    #[test]
    fn mangled_files_never_panic() {
        // A seeded stand-in for the fuzz target: cut, flipped and spliced bytes of a
        // good file are refused or reported, never a panic.
        use rand::{Rng, SeedableRng};
        let good = DemonstrationFile::new(&[record(TaskId::ButtonPress, 4)], None, true).to_json().into_bytes();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for _ in 0..300 {
            let mut bytes = good.clone();
            for _ in 0..rng.random_range(1..6) {
                let i = rng.random_range(0..bytes.len());
                match rng.random_range(0..3) {
                    0 => bytes[i] = rng.random(),
                    1 => bytes.truncate(i),
                    _ => bytes.insert(i, b"{}[],:0123456789\"e-."[rng.random_range(0..20)]),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            if let Ok(file) = parse(&bytes) {
                let _ = verify(&file, &[]);
            }
        }
    }
}

#[cfg(test)]
mod schema_tests {
    use super::*;
    use crate::tasks::OBS_DIM;

    /// The schema in docs/ names exactly the fields this build writes.
    #[test]
    fn the_schema_matches_what_is_written() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../docs/format/demonstrations.schema.json")).expect("the schema is JSON");
        let record = crate::policy::expert_demonstration(crate::tasks::TaskId::Reach, 0, 0.0);
        let record = DemonstrationRecord {
            task: record.task,
            seed: 0,
            suite_version: SUITE_VERSION,
            actions: record.actions,
            success: record.success,
            source: crate::record::Source::Person,
            duration_seconds: 1.0,
            recorded_at_ms: 0.0,
        };
        // Every field written, the optional licence too.
        let file = DemonstrationFile::new(&[record], Some(SessionSettings::default()), true).under_licence("CC-BY-4.0");
        let written = serde_json::to_value(file).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&schema["properties"]), keys(&written));
        // The schema's limits are this build's: the tasks, a person's time, the state.
        let demo_schema = &schema["properties"]["demonstrations"]["items"]["properties"];
        let names: Vec<&str> = crate::tasks::TaskId::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(demo_schema["task"]["enum"], serde_json::json!(names));
        assert_eq!(demo_schema["actions"]["maxItems"], crate::tasks::TaskId::Reach.demonstration_limit());
        assert_eq!(demo_schema["states"]["items"]["maxItems"], OBS_DIM);
        assert_eq!(schema["$defs"]["state_part"]["properties"]["to"]["maximum"], OBS_DIM);
        assert_eq!(schema["properties"]["settings"]["properties"]["target_weights"]["maxItems"], crate::tasks::NUM_TASKS);
        assert_eq!(keys(&schema["properties"]["demonstrations"]["items"]["properties"]), keys(&written["demonstrations"][0]));
        assert_eq!(keys(&schema["properties"]["settings"]["properties"]), keys(&written["settings"]));
        assert_eq!(keys(&schema["$defs"]["state_part"]["properties"]), keys(&written["observation"]["robot_state"]));
        let layout = &written["observation"];
        assert_eq!(layout["robot_state"]["names"], serde_json::json!(["tcp.x", "tcp.y", "tcp.z", "finger_gap", "tcp.vx", "tcp.vy", "tcp.vz"]));
        assert_eq!((layout["robot_state"]["to"].clone(), layout["environment_state"]["from"].clone()), (7.into(), 7.into()));
        assert_eq!(layout["environment_state"]["names"].as_array().unwrap().len(), OBS_DIM - 7);
        assert_eq!(schema["properties"]["format"]["const"], FORMAT_NAME);
        assert_eq!(schema["properties"]["version"]["const"], FORMAT_VERSION);
    }
}
