//! A LeRobot v3 dataset (`LeRobotDataset` codebase version "v3.0") of replayed
//! demonstrations, laid out as LeRobot's own writer lays out a state-only robot's:
//! `meta/info.json` (features, fps, paths), `meta/stats.json`, `meta/tasks.parquet`,
//! `meta/episodes/chunk-CCC/file-FFF.parquet` and the frames in
//! `data/chunk-CCC/file-FFF.parquet`, many episodes per file.
//!
//! Each frame is one control step: `observation.state` (the robot's own state: the
//! gripper's position and opening), `observation.environment_state` (the object's pose,
//! the goal and the task's one-hot), `action`, `next.reward` (1 when the task is achieved
//! after the action), `next.done`, `next.success`, and LeRobot's indices and timestamp;
//! every vector's components are named. The task of a frame is the task's instruction
//! ("Pull the drawer open"). The episodes table carries each episode's statistics and
//! `meta/stats.json` the dataset's, with quantiles ([`stats`]).
//!
//! A dataset grows by [`append`]: new episodes go to new data and episode files after
//! the last ones (as LeRobot does when it resumes recording), and only the small
//! metadata files (`info.json`, `stats.json`, `tasks.parquet`) are rewritten.

pub mod card;
pub mod stats;
mod tables;

use std::io::Write;

use serde_json::{json, Map, Value};

use self::stats::Stats;
use super::{observation_names, ExportError, ReplayedEpisode, ACTION_NAMES, FPS, ROBOT_TYPE};
use crate::sim::ACTION_DIM;
use crate::tasks::observation::{ENVIRONMENT_STATE, ROBOT_STATE};

/// The LeRobot dataset format version written.
pub const CODEBASE_VERSION: &str = "v3.0";
/// Files per chunk folder, as LeRobot's default.
pub const CHUNKS_SIZE: usize = 1000;
/// LeRobot starts a new data file past this size; recorded in `info.json`.
const DATA_FILES_SIZE_IN_MB: usize = 100;
const VIDEO_FILES_SIZE_IN_MB: usize = 200;
/// Frames per data file: about 25 MB of uncompressed columns, well under LeRobot's
/// 100 MB, and whole episodes only.
pub const MAX_FRAMES_PER_FILE: usize = 200_000;
/// Episodes per episodes-table file: about 3 kB of statistics each, so about 30 MB.
pub const MAX_EPISODES_PER_FILE: usize = 10_000;

pub const DATA_PATH: &str = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet";
pub const TASKS_PATH: &str = "meta/tasks.parquet";
pub const INFO_PATH: &str = "meta/info.json";
pub const STATS_PATH: &str = "meta/stats.json";


/// A feature's values as LeRobot's `info.json` types them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    Float32,
    Bool,
    Int64,
}

impl Dtype {
    fn name(self) -> &'static str {
        match self {
            Dtype::Float32 => "float32",
            Dtype::Bool => "bool",
            Dtype::Int64 => "int64",
        }
    }
}

/// One column of the frames.
struct Feature {
    key: &'static str,
    dtype: Dtype,
    width: usize,
}

/// Every feature, in the order of the columns (ours, then LeRobot's five).
const FEATURES: [Feature; 11] = [
    Feature { key: "observation.state", dtype: Dtype::Float32, width: ROBOT_STATE.end - ROBOT_STATE.start },
    Feature { key: "observation.environment_state", dtype: Dtype::Float32, width: ENVIRONMENT_STATE.end - ENVIRONMENT_STATE.start },
    Feature { key: "action", dtype: Dtype::Float32, width: ACTION_DIM },
    Feature { key: "next.reward", dtype: Dtype::Float32, width: 1 },
    Feature { key: "next.done", dtype: Dtype::Bool, width: 1 },
    Feature { key: "next.success", dtype: Dtype::Bool, width: 1 },
    Feature { key: "timestamp", dtype: Dtype::Float32, width: 1 },
    Feature { key: "frame_index", dtype: Dtype::Int64, width: 1 },
    Feature { key: "episode_index", dtype: Dtype::Int64, width: 1 },
    Feature { key: "index", dtype: Dtype::Int64, width: 1 },
    Feature { key: "task_index", dtype: Dtype::Int64, width: 1 },
];

/// One file of the dataset: its path inside the dataset's folder and its bytes.
#[derive(Clone, Debug)]
pub struct DatasetFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// An episode with its place in the dataset.
struct Placed<'a> {
    episode: &'a ReplayedEpisode,
    episode_index: i64,
    /// The dataset row of its first frame.
    first_index: i64,
    task_index: i64,
    data_chunk: i64,
    data_file: i64,
}

impl Placed<'_> {
    /// Feature `f`'s components at frame `t`, as stored.
    fn value(&self, f: usize, t: usize) -> Vec<f64> {
        let e = self.episode;
        let floats = |values: &[f32]| values.iter().map(|&v| f64::from(v)).collect();
        let flag = |b: bool| vec![if b { 1.0 } else { 0.0 }];
        match FEATURES[f].key {
            "observation.state" => floats(&e.observations[t].0[ROBOT_STATE]),
            "observation.environment_state" => floats(&e.observations[t].0[ENVIRONMENT_STATE]),
            "action" => floats(&e.actions()[t]),
            "next.reward" | "next.success" => flag(e.achieved[t]),
            "next.done" => flag(t + 1 == e.len()),
            "timestamp" => vec![f64::from(tables::timestamp(t))],
            "frame_index" => vec![t as f64],
            "episode_index" => vec![self.episode_index as f64],
            "index" => vec![(self.first_index + t as i64) as f64],
            "task_index" => vec![self.task_index as f64],
            other => unreachable!("no feature {other}"),
        }
    }

    /// The episode's statistics, feature by feature.
    fn stats(&self) -> Vec<Stats> {
        (0..FEATURES.len())
            .map(|f| {
                let mut components = vec![Vec::with_capacity(self.episode.len()); FEATURES[f].width];
                for t in 0..self.episode.len() {
                    for (k, v) in self.value(f, t).into_iter().enumerate() {
                        components[k].push(v);
                    }
                }
                Stats::of(&components)
            })
            .collect()
    }
}

/// What a dataset holds already, where new episodes are written after it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Existing {
    episodes: i64,
    frames: i64,
    /// Data files so far (the next one's ordinal), and episodes-table files.
    data_files: usize,
    episode_files: usize,
    /// Task texts by task index.
    tasks: Vec<String>,
    /// The dataset's statistics, feature by feature (none for a new dataset).
    stats: Option<Vec<Stats>>,
}

/// (chunk, file) of the `ordinal`-th file of a kind.
fn chunk_and_file(ordinal: usize) -> (i64, i64) {
    ((ordinal / CHUNKS_SIZE) as i64, (ordinal % CHUNKS_SIZE) as i64)
}

fn data_path(chunk_index: i64, file_index: i64) -> String {
    format!("data/chunk-{chunk_index:03}/file-{file_index:03}.parquet")
}

fn episodes_path(chunk_index: i64, file_index: i64) -> String {
    format!("meta/episodes/chunk-{chunk_index:03}/file-{file_index:03}.parquet")
}

/// A new dataset's files, in memory: written to a folder by the runner, zipped by the page.
pub fn dataset(episodes: &[ReplayedEpisode]) -> Result<Vec<DatasetFile>, ExportError> {
    write(&Existing::default(), episodes, MAX_FRAMES_PER_FILE)
}

/// The files that add `episodes` to an `existing` dataset: new data and episodes
/// files, and the metadata files rewritten.
pub fn append(existing: &Existing, episodes: &[ReplayedEpisode]) -> Result<Vec<DatasetFile>, ExportError> {
    write(existing, episodes, MAX_FRAMES_PER_FILE)
}

/// Writes `episodes` after `existing`, at most `max_frames` frames per data file.
fn write(existing: &Existing, episodes: &[ReplayedEpisode], max_frames: usize) -> Result<Vec<DatasetFile>, ExportError> {
    if episodes.is_empty() {
        return Err(ExportError::Empty);
    }
    // Task indices in the order tasks first appear, as LeRobot's writer assigns them.
    let mut tasks = existing.tasks.clone();
    for episode in episodes {
        let text = episode.record.task.instruction();
        if !tasks.iter().any(|t| t == text) {
            tasks.push(text.to_string());
        }
    }
    let task_index = |e: &ReplayedEpisode| tasks.iter().position(|t| t == e.record.task.instruction()).expect("listed above") as i64;

    // Whole episodes into data files of at most `max_frames` frames (an episode longer
    // than that gets a file of its own), after the existing files.
    let (mut placed, mut groups) = (Vec::with_capacity(episodes.len()), vec![Vec::new()]);
    let (mut ordinal, mut in_file, mut index) = (existing.data_files, 0, existing.frames);
    for (i, episode) in episodes.iter().enumerate() {
        if in_file > 0 && in_file + episode.len() > max_frames {
            ordinal += 1;
            in_file = 0;
            groups.push(Vec::new());
        }
        let (data_chunk, data_file) = chunk_and_file(ordinal);
        groups.last_mut().expect("never empty").push(placed.len());
        placed.push(Placed { episode, episode_index: existing.episodes + i as i64, first_index: index, task_index: task_index(episode), data_chunk, data_file });
        in_file += episode.len();
        index += episode.len() as i64;
    }
    let mut out = Vec::new();
    for group in &groups {
        let members: Vec<&Placed> = group.iter().map(|&i| &placed[i]).collect();
        let first = members[0];
        let batch = tables::frames(&members)?;
        out.push(DatasetFile { path: data_path(first.data_chunk, first.data_file), bytes: tables::parquet(&batch)? });
    }

    let stats: Vec<Vec<Stats>> = placed.iter().map(Placed::stats).collect();
    for (m, (members, their_stats)) in placed.chunks(MAX_EPISODES_PER_FILE).zip(stats.chunks(MAX_EPISODES_PER_FILE)).enumerate() {
        let (chunk, file) = chunk_and_file(existing.episode_files + m);
        let table = tables::episodes_table(members, their_stats, chunk, file)?;
        out.push(DatasetFile { path: episodes_path(chunk, file), bytes: tables::parquet(&table)? });
    }
    out.push(DatasetFile { path: TASKS_PATH.into(), bytes: tables::tasks_table(&tasks)? });

    let dataset_stats: Vec<Stats> = (0..FEATURES.len())
        .map(|f| {
            let mut parts: Vec<&Stats> = existing.stats.iter().map(|s| &s[f]).collect();
            parts.extend(stats.iter().map(|s| &s[f]));
            Stats::aggregate(&parts)
        })
        .collect();
    let stats_json: Map<String, Value> = FEATURES.iter().zip(&dataset_stats).map(|(f, s)| (f.key.to_string(), s.to_json())).collect();
    out.push(DatasetFile { path: STATS_PATH.into(), bytes: pretty(&Value::Object(stats_json)) });
    let total_episodes = existing.episodes + episodes.len() as i64;
    let info = json!({
        "codebase_version": CODEBASE_VERSION,
        "robot_type": ROBOT_TYPE,
        "total_episodes": total_episodes,
        "total_frames": index,
        "total_tasks": tasks.len(),
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": DATA_FILES_SIZE_IN_MB,
        "video_files_size_in_mb": VIDEO_FILES_SIZE_IN_MB,
        "fps": FPS,
        "splits": { "train": format!("0:{total_episodes}") },
        "data_path": DATA_PATH,
        "video_path": null,
        "features": features(),
    });
    // Last, so that a reader of the files in order never sees totals ahead of the data.
    out.push(DatasetFile { path: INFO_PATH.into(), bytes: pretty(&info) });
    Ok(out)
}

fn pretty(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("JSON values always serialise");
    bytes.push(b'\n');
    bytes
}

/// `info.json`'s features: every column of the data files, with dtype, shape and names.
fn features() -> Value {
    let names = observation_names();
    let features: Map<String, Value> = FEATURES
        .iter()
        .map(|f| {
            let names = match f.key {
                "observation.state" => json!(names[ROBOT_STATE]),
                "observation.environment_state" => json!(names[ENVIRONMENT_STATE]),
                "action" => json!(ACTION_NAMES),
                _ => Value::Null,
            };
            (f.key.to_string(), json!({ "dtype": f.dtype.name(), "shape": [f.width], "names": names }))
        })
        .collect();
    Value::Object(features)
}

impl Existing {
    /// What the LeRobot dataset in `folder` holds, refusing one that this export did not
    /// write (another format version or other features: appending would mix them).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read(folder: &std::path::Path) -> Result<Existing, ExportError> {
        let fail = |what: &str, why: &dyn std::fmt::Display| ExportError::write(format!("{} ({what})", folder.display()), why);
        let json = |path: &str| -> Result<Value, ExportError> {
            let bytes = std::fs::read(folder.join(path)).map_err(|e| fail(path, &e))?;
            serde_json::from_slice(&bytes).map_err(|e| fail(path, &e))
        };
        let info = json(INFO_PATH)?;
        if info["codebase_version"] != CODEBASE_VERSION || info["features"] != features() || info["fps"] != FPS {
            return Err(fail(INFO_PATH, &"this dataset has another format version, frame rate or other features than this export writes, so episodes cannot be appended to it"));
        }
        let total = |key: &str| info[key].as_i64().ok_or_else(|| fail(INFO_PATH, &format!("no {key}")));
        let stats_json = json(STATS_PATH)?;
        let stats = FEATURES
            .iter()
            .map(|f| Stats::from_json(&stats_json[f.key]).ok_or_else(|| fail(STATS_PATH, &format!("no complete statistics of {}", f.key))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Existing {
            episodes: total("total_episodes")?,
            frames: total("total_frames")?,
            data_files: next_ordinal(&folder.join("data"))?,
            episode_files: next_ordinal(&folder.join("meta/episodes"))?,
            tasks: tables::read_tasks(&folder.join(TASKS_PATH))?,
            stats: Some(stats),
        })
    }

    pub fn episodes(&self) -> i64 {
        self.episodes
    }
}

/// One past the highest `chunk-CCC/file-FFF.parquet` ordinal under `root`.
#[cfg(not(target_arch = "wasm32"))]
fn next_ordinal(root: &std::path::Path) -> Result<usize, ExportError> {
    let number = |name: &str, prefix: &str, suffix: &str| name.strip_prefix(prefix)?.strip_suffix(suffix)?.parse::<usize>().ok();
    let list = |dir: &std::path::Path| -> Result<Vec<String>, ExportError> {
        let entries = std::fs::read_dir(dir).map_err(|e| ExportError::write(dir.display().to_string(), e))?;
        Ok(entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
    };
    let mut next = 0;
    for chunk_name in list(root)? {
        let Some(chunk) = number(&chunk_name, "chunk-", "") else { continue };
        for file_name in list(&root.join(&chunk_name))? {
            if let Some(file) = number(&file_name, "file-", ".parquet") {
                next = next.max(chunk * CHUNKS_SIZE + file + 1);
            }
        }
    }
    Ok(next)
}

/// The dataset as one .zip (stored), under a top folder named `root`: what the page
/// downloads.
/// The page's LeRobot export: the records replayed, written as a dataset and zipped
/// under `amf-studio-lerobot/`.
pub fn zipped(records: &[crate::record::DemonstrationRecord]) -> Result<Vec<u8>, ExportError> {
    zip(&dataset(&super::replay_all(records)?)?, "amf-studio-lerobot")
}

pub fn zip(files: &[DatasetFile], root: &str) -> Result<Vec<u8>, ExportError> {
    let fail = |e: zip::result::ZipError| ExportError::write("the .zip", e);
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for file in files {
        archive.start_file(format!("{root}/{}", file.path), options).map_err(fail)?;
        archive.write_all(&file.bytes).map_err(|e| ExportError::write("the .zip", e))?;
    }
    Ok(archive.finish().map_err(fail)?.into_inner())
}

/// Writes a new dataset's files under `folder`, which must not exist yet or be empty.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_folder(files: &[DatasetFile], folder: &std::path::Path) -> Result<(), ExportError> {
    if folder.exists() && std::fs::read_dir(folder).map_err(|e| ExportError::write(folder.display().to_string(), e))?.next().is_some() {
        return Err(ExportError::write(folder.display().to_string(), "the folder exists and is not empty"));
    }
    write_files(files, folder)
}

/// Writes the files of [`append`] into the dataset's `folder`: the new data and episodes
/// files must not exist; the metadata files are replaced, each atomically, `info.json`
/// last.
#[cfg(not(target_arch = "wasm32"))]
pub fn append_to_folder(files: &[DatasetFile], folder: &std::path::Path) -> Result<(), ExportError> {
    for file in files.iter().filter(|f| f.path.starts_with("data/") || f.path.starts_with("meta/episodes/")) {
        let path = folder.join(&file.path);
        if path.exists() {
            return Err(ExportError::write(path.display().to_string(), "it exists already: the dataset changed since it was read"));
        }
    }
    write_files(files, folder)
}

#[cfg(not(target_arch = "wasm32"))]
fn write_files(files: &[DatasetFile], folder: &std::path::Path) -> Result<(), ExportError> {
    for file in files {
        let path = folder.join(&file.path);
        let parent = path.parent().expect("dataset paths have folders");
        std::fs::create_dir_all(parent).map_err(|e| ExportError::write(parent.display().to_string(), e))?;
        let partial = path.with_extension("partial");
        std::fs::write(&partial, &file.bytes).map_err(|e| ExportError::write(partial.display().to_string(), e))?;
        std::fs::rename(&partial, &path).map_err(|e| ExportError::write(path.display().to_string(), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::replay_all;
    use crate::record::DemonstrationRecord;
    use crate::tasks::{observation, TaskId, OBS_DIM};
    use arrow_array::{Array, Float64Array, Int64Array, ListArray, RecordBatch};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn episodes(tasks: &[TaskId], first_seed: u64) -> Vec<ReplayedEpisode> {
        let records: Vec<DemonstrationRecord> =
            tasks.iter().enumerate().map(|(k, &t)| DemonstrationRecord::from_expert(t, first_seed + k as u64, 0.1, 0.0)).collect();
        replay_all(&records).unwrap()
    }

    fn table(bytes: &[u8]) -> RecordBatch {
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(bytes)).unwrap().with_batch_size(1 << 20).build().unwrap();
        let mut batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert_eq!(batches.len(), 1, "one batch holds the test's tables");
        batches.remove(0)
    }

    fn find<'a>(files: &'a [DatasetFile], path: &str) -> &'a DatasetFile {
        files.iter().find(|f| f.path == path).unwrap_or_else(|| panic!("{path} missing"))
    }

    fn ints(batch: &RecordBatch, name: &str) -> Vec<i64> {
        batch.column_by_name(name).unwrap().as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec()
    }

    #[test]
    fn the_dataset_has_v3_layout_the_state_split_and_each_episodes_statistics() {
        let episodes = episodes(&[TaskId::Reach, TaskId::DrawerOpen, TaskId::Reach], 40);
        let frames: usize = episodes.iter().map(ReplayedEpisode::len).sum();
        let files = dataset(&episodes).unwrap();
        assert_eq!(table(&find(&files, "data/chunk-000/file-000.parquet").bytes).num_rows(), frames);
        let info: Value = serde_json::from_slice(&find(&files, INFO_PATH).bytes).unwrap();
        assert_eq!((info["total_frames"].as_u64(), info["total_tasks"].as_u64(), info["fps"].as_u64()), (Some(frames as u64), Some(2), Some(20)));
        let features = &info["features"];
        assert_eq!(features["observation.state"]["names"], json!(["tcp.x", "tcp.y", "tcp.z", "finger_gap", "tcp.vx", "tcp.vy", "tcp.vz"]));
        assert_eq!(features["observation.environment_state"]["shape"], json!([OBS_DIM - 7]));
        assert_eq!(features["observation.environment_state"]["names"][0], "object.x");

        // Each episode's statistics, as LeRobot's writer puts them in the episodes table.
        let table = table(&find(&files, &episodes_path(0, 0)).bytes);
        assert_eq!(table.num_rows(), 3);
        let column = |name: &str| table.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).as_any().downcast_ref::<ListArray>().unwrap().clone();
        let row = |name: &str, i: usize| column(name).value(i).as_any().downcast_ref::<Float64Array>().unwrap().values().to_vec();
        let gaps: Vec<f64> = episodes[1].observations[..episodes[1].len()].iter().map(|o| f64::from(o.0[observation::OPENING])).collect();
        assert_eq!(row("stats/observation.state/max", 1)[3], gaps.iter().copied().fold(f64::MIN, f64::max));
        assert_eq!(row("stats/index/min", 1), vec![episodes[0].len() as f64], "indices are the dataset's");
        let count = column("stats/action/count").value(2);
        assert_eq!(count.as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec(), vec![episodes[2].len() as i64]);
        let (q10, q90) = (row("stats/action/q10", 0), row("stats/action/q90", 0));
        assert!(q10.iter().zip(&q90).all(|(a, b)| a <= b));

        // The dataset's statistics pool the episodes'.
        let stats: Value = serde_json::from_slice(&find(&files, STATS_PATH).bytes).unwrap();
        assert_eq!(stats["action"]["count"][0], frames);
        for key in stats::KEYS {
            assert!(stats["observation.environment_state"][key].is_array(), "{key}");
        }
        // The zip holds every file under its root.
        let zipped = zip(&files, "demos").unwrap();
        let archive = ::zip::ZipArchive::new(std::io::Cursor::new(zipped)).unwrap();
        assert_eq!(archive.len(), files.len());
        assert!(archive.file_names().any(|n| n.is_ok_and(|n| n == "demos/meta/info.json")));
    }

    #[test]
    fn episodes_are_packed_whole_into_files_and_indexed_across_them() {
        let episodes = episodes(&[TaskId::Reach, TaskId::DrawerOpen, TaskId::Reach], 40);
        let longest = episodes.iter().map(ReplayedEpisode::len).max().unwrap();
        let files = write(&Existing::default(), &episodes, longest).unwrap();
        let data: Vec<&DatasetFile> = files.iter().filter(|f| f.path.starts_with("data/")).collect();
        assert!(data.len() >= 2, "{} data files", data.len());
        let frames: usize = data.iter().map(|f| table(&f.bytes).num_rows()).sum();
        assert_eq!(frames, episodes.iter().map(ReplayedEpisode::len).sum::<usize>());

        // Each episode's rows: where the episodes table says, contiguous across files.
        let table = table(&find(&files, &episodes_path(0, 0)).bytes);
        let (from, to, file) = (ints(&table, "dataset_from_index"), ints(&table, "dataset_to_index"), ints(&table, "data/file_index"));
        assert_eq!(from[0], 0);
        for i in 0..episodes.len() {
            assert_eq!(to[i] - from[i], episodes[i].len() as i64);
            if i > 0 {
                assert_eq!(from[i], to[i - 1]);
            }
            let path = data_path(0, file[i]);
            assert!(data.iter().any(|f| f.path == path), "{path}");
        }
    }

    #[test]
    fn appending_adds_files_after_the_last_and_keeps_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("dataset");
        let first = episodes(&[TaskId::Reach, TaskId::DrawerOpen], 50);
        write_folder(&dataset(&first).unwrap(), &folder).unwrap();
        let data_before = std::fs::read(folder.join("data/chunk-000/file-000.parquet")).unwrap();

        let second = episodes(&[TaskId::Push, TaskId::Reach], 60);
        let existing = Existing::read(&folder).unwrap();
        assert_eq!((existing.episodes(), existing.tasks.len()), (2, 2));
        let files = append(&existing, &second).unwrap();
        append_to_folder(&files, &folder).unwrap();
        assert_eq!(std::fs::read(folder.join("data/chunk-000/file-000.parquet")).unwrap(), data_before, "the first data file is untouched");
        let added = table(&std::fs::read(folder.join("data/chunk-000/file-001.parquet")).unwrap());
        let first_frames = first.iter().map(|e| e.len() as i64).sum::<i64>();
        assert_eq!(ints(&added, "index")[0], first_frames);
        assert_eq!(ints(&added, "episode_index")[0], 2);
        assert_eq!(ints(&added, "task_index")[0], 2, "a new task takes the next index");
        let episodes_table = table(&std::fs::read(folder.join(episodes_path(0, 1))).unwrap());
        assert_eq!(ints(&episodes_table, "episode_index"), vec![2, 3]);
        assert_eq!(ints(&episodes_table, "meta/episodes/file_index"), vec![1, 1]);
        // Each episode's quality is measured on the export's replay, as at the upload.
        let version = i64::from(crate::quality::QUALITY_VERSION);
        assert_eq!(ints(&episodes_table, "quality/version"), vec![version, version]);
        let scores = episodes_table.column_by_name("quality/score").unwrap().as_any().downcast_ref::<arrow_array::Float64Array>().unwrap().values().to_vec();
        assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)), "{scores:?}");

        // The totals and statistics are those of the whole dataset written at once.
        let whole = dataset(&[first.clone(), second.clone()].concat()).unwrap();
        let json_of = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).unwrap();
        let (info, whole_info) = (json_of(&std::fs::read(folder.join(INFO_PATH)).unwrap()), json_of(&find(&whole, INFO_PATH).bytes));
        assert_eq!(info["total_episodes"], 4);
        assert_eq!((&info["total_frames"], &info["splits"]), (&whole_info["total_frames"], &whole_info["splits"]));
        let stats = json_of(&std::fs::read(folder.join(STATS_PATH)).unwrap());
        let whole_stats = json_of(&find(&whole, STATS_PATH).bytes);
        for f in &FEATURES {
            let (a, b) = (Stats::from_json(&stats[f.key]).unwrap(), Stats::from_json(&whole_stats[f.key]).unwrap());
            assert_eq!((a.count, &a.min, &a.max), (b.count, &b.min, &b.max), "{}", f.key);
            // Means and quantiles are count-weighted sums: the same to rounding, in any order.
            let quantiles = |s: &Stats| s.quantiles.concat();
            let (qa, qb) = (quantiles(&a), quantiles(&b));
            assert!(a.mean.iter().zip(&b.mean).chain(a.std.iter().zip(&b.std)).chain(qa.iter().zip(&qb)).all(|(x, y)| (x - y).abs() < 1e-9), "{}", f.key);
        }
        // Appending the same files again is refused, not half-done.
        assert!(append_to_folder(&files, &folder).is_err());
        // A dataset with other features is refused.
        let mut info = info;
        info["features"]["action"]["shape"] = json!([7]);
        std::fs::write(folder.join(INFO_PATH), info.to_string()).unwrap();
        assert!(Existing::read(&folder).unwrap_err().to_string().contains("other features"));
    }
}
