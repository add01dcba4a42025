//! A LeRobot v3 dataset (`LeRobotDataset` codebase version "v3.0") of replayed
//! demonstrations: `meta/info.json` (features, fps, paths), `meta/stats.json`,
//! `meta/tasks.parquet`, `meta/episodes/chunk-000/file-000.parquet` and the frames in
//! `data/chunk-CCC/file-FFF.parquet`, many episodes per file as v3 packs them.
//!
//! Each frame is one control step: `observation.state` (the policy's observation, named
//! component by component), `action`, `next.reward` (1 when the task is achieved after
//! the action), `next.done`, `next.success`, and LeRobot's own indices and timestamp.
//! The task of a frame is the task's instruction ("Pull the drawer open").

use std::io::Write;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{Array, ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{json, Map, Value};

use super::{observation_names, tasks_present, ExportError, ReplayedEpisode, ACTION_NAMES, FPS, ROBOT_TYPE};
use crate::sim::ACTION_DIM;
use crate::tasks::OBS_DIM;

/// The LeRobot dataset format version written.
pub const CODEBASE_VERSION: &str = "v3.0";
/// Files per chunk folder, as LeRobot's default.
pub const CHUNKS_SIZE: usize = 1000;
/// LeRobot starts a new data file past this size; recorded in `info.json`.
const DATA_FILES_SIZE_IN_MB: usize = 100;
const VIDEO_FILES_SIZE_IN_MB: usize = 500;
/// Frames per data file: about 25 MB of uncompressed columns, well under LeRobot's
/// 100 MB, and whole episodes only.
pub const MAX_FRAMES_PER_FILE: usize = 200_000;

pub const DATA_PATH: &str = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet";
pub const EPISODES_PATH: &str = "meta/episodes/chunk-000/file-000.parquet";
pub const TASKS_PATH: &str = "meta/tasks.parquet";
pub const INFO_PATH: &str = "meta/info.json";
pub const STATS_PATH: &str = "meta/stats.json";

/// One file of the dataset: its path inside the dataset's folder and its bytes.
#[derive(Clone, Debug)]
pub struct DatasetFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Where an episode's frames are: which data file, which rows of the whole dataset.
struct Placement {
    chunk_index: i64,
    file_index: i64,
    from: i64,
    to: i64,
}

fn data_path(chunk_index: i64, file_index: i64) -> String {
    format!("data/chunk-{chunk_index:03}/file-{file_index:03}.parquet")
}

/// The dataset's files, in memory: written to a folder by the runner, zipped by the page.
pub fn dataset(episodes: &[ReplayedEpisode]) -> Result<Vec<DatasetFile>, ExportError> {
    dataset_in_files_of(episodes, MAX_FRAMES_PER_FILE)
}

/// The dataset, with at most `max_frames` frames per data file (whole episodes only).
fn dataset_in_files_of(episodes: &[ReplayedEpisode], max_frames: usize) -> Result<Vec<DatasetFile>, ExportError> {
    if episodes.is_empty() {
        return Err(ExportError::Empty);
    }
    let tasks = tasks_present(episodes);
    let task_index = |e: &ReplayedEpisode| tasks.iter().position(|t| *t == e.record.task).expect("listed above") as i64;

    // Whole episodes into data files of at most `max_frames` frames (an episode longer
    // than that gets a file of its own), CHUNKS_SIZE files per chunk.
    let mut files: Vec<Vec<usize>> = vec![Vec::new()];
    let mut frames_in_file = 0;
    for (i, e) in episodes.iter().enumerate() {
        if frames_in_file > 0 && frames_in_file + e.len() > max_frames {
            files.push(Vec::new());
            frames_in_file = 0;
        }
        files.last_mut().expect("never empty").push(i);
        frames_in_file += e.len();
    }
    let mut out = Vec::new();
    let mut placements = Vec::with_capacity(episodes.len());
    let mut index = 0i64;
    for (f, members) in files.iter().enumerate() {
        let (chunk_index, file_index) = ((f / CHUNKS_SIZE) as i64, (f % CHUNKS_SIZE) as i64);
        let batch = frames(members.iter().map(|&i| (i as i64, &episodes[i], task_index(&episodes[i]))), index)?;
        for &i in members {
            let to = index + episodes[i].len() as i64;
            placements.push(Placement { chunk_index, file_index, from: index, to });
            index = to;
        }
        out.push(DatasetFile { path: data_path(chunk_index, file_index), bytes: parquet(&batch)? });
    }
    let total_frames = index;

    out.push(DatasetFile { path: EPISODES_PATH.into(), bytes: parquet(&episode_table(episodes, &placements, &tasks)?)? });
    out.push(DatasetFile { path: TASKS_PATH.into(), bytes: task_table(&tasks)? });
    out.push(DatasetFile { path: STATS_PATH.into(), bytes: pretty(&stats(episodes)) });
    let info = json!({
        "codebase_version": CODEBASE_VERSION,
        "robot_type": ROBOT_TYPE,
        "total_episodes": episodes.len(),
        "total_frames": total_frames,
        "total_tasks": tasks.len(),
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": DATA_FILES_SIZE_IN_MB,
        "video_files_size_in_mb": VIDEO_FILES_SIZE_IN_MB,
        "fps": FPS,
        "splits": { "train": format!("0:{}", episodes.len()) },
        "data_path": DATA_PATH,
        "video_path": null,
        "features": features(),
    });
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
    let scalar = |dtype: &str| json!({ "dtype": dtype, "shape": [1], "names": null });
    let mut features = Map::new();
    features.insert("observation.state".into(), json!({ "dtype": "float32", "shape": [OBS_DIM], "names": observation_names() }));
    features.insert("action".into(), json!({ "dtype": "float32", "shape": [ACTION_DIM], "names": ACTION_NAMES }));
    features.insert("next.reward".into(), scalar("float32"));
    features.insert("next.done".into(), scalar("bool"));
    features.insert("next.success".into(), scalar("bool"));
    features.insert("timestamp".into(), scalar("float32"));
    for index in ["frame_index", "episode_index", "index", "task_index"] {
        features.insert(index.into(), scalar("int64"));
    }
    Value::Object(features)
}

/// A fixed-size list column, as `datasets.Sequence(length=N)` reads it.
fn vectors<const N: usize>(rows: impl Iterator<Item = [f32; N]>) -> Result<ArrayRef, ExportError> {
    let values: Vec<f32> = rows.flat_map(|row| row.into_iter()).collect();
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    let list = FixedSizeListArray::try_new(item, N as i32, Arc::new(Float32Array::from(values)), None)
        .map_err(|e| ExportError::write("a vector column", e))?;
    Ok(Arc::new(list))
}

fn vector_type(n: usize) -> DataType {
    DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), n as i32)
}

/// The frames of some episodes, starting at dataset row `first_index`.
fn frames<'a>(members: impl Iterator<Item = (i64, &'a ReplayedEpisode, i64)> + Clone, first_index: i64) -> Result<RecordBatch, ExportError> {
    let steps = || members.clone().flat_map(|(e, episode, task)| (0..episode.len()).map(move |t| (e, episode, task, t)));
    let count = steps().count() as i64;
    let schema = Arc::new(Schema::new(vec![
        Field::new("observation.state", vector_type(OBS_DIM), false),
        Field::new("action", vector_type(ACTION_DIM), false),
        Field::new("next.reward", DataType::Float32, false),
        Field::new("next.done", DataType::Boolean, false),
        Field::new("next.success", DataType::Boolean, false),
        Field::new("timestamp", DataType::Float32, false),
        Field::new("frame_index", DataType::Int64, false),
        Field::new("episode_index", DataType::Int64, false),
        Field::new("index", DataType::Int64, false),
        Field::new("task_index", DataType::Int64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        vectors(steps().map(|(_, e, _, t)| e.observations[t].0))?,
        vectors(steps().map(|(_, e, _, t)| e.actions()[t]))?,
        Arc::new(Float32Array::from_iter_values(steps().map(|(_, e, _, t)| if e.achieved[t] { 1.0 } else { 0.0 }))),
        Arc::new(BooleanArray::from_iter(steps().map(|(_, e, _, t)| Some(t + 1 == e.len())))),
        Arc::new(BooleanArray::from_iter(steps().map(|(_, e, _, t)| Some(e.achieved[t])))),
        Arc::new(Float32Array::from_iter_values(steps().map(|(_, _, _, t)| t as f32 / FPS as f32))),
        Arc::new(Int64Array::from_iter_values(steps().map(|(_, _, _, t)| t as i64))),
        Arc::new(Int64Array::from_iter_values(steps().map(|(e, _, _, _)| e))),
        Arc::new(Int64Array::from_iter_values(first_index..first_index + count)),
        Arc::new(Int64Array::from_iter_values(steps().map(|(_, _, task, _)| task))),
    ];
    RecordBatch::try_new(schema, columns).map_err(|e| ExportError::write("the frames", e))
}

/// The episodes table: length, task, where the frames are, and the record's provenance.
fn episode_table(episodes: &[ReplayedEpisode], placements: &[Placement], tasks: &[crate::tasks::TaskId]) -> Result<RecordBatch, ExportError> {
    let n = episodes.len() as i64;
    let ints = |f: &dyn Fn(usize) -> i64| -> ArrayRef { Arc::new(Int64Array::from_iter_values((0..episodes.len()).map(f))) };
    let mut task_lists = ListBuilder::new(StringBuilder::new());
    for e in episodes {
        task_lists.values().append_value(e.record.task.instruction());
        task_lists.append(true);
    }
    debug_assert!(episodes.iter().all(|e| tasks.contains(&e.record.task)));
    let task_lists = task_lists.finish();
    let schema = Arc::new(Schema::new(vec![
        Field::new("episode_index", DataType::Int64, false),
        Field::new("tasks", task_lists.data_type().clone(), false),
        Field::new("length", DataType::Int64, false),
        Field::new("data/chunk_index", DataType::Int64, false),
        Field::new("data/file_index", DataType::Int64, false),
        Field::new("dataset_from_index", DataType::Int64, false),
        Field::new("dataset_to_index", DataType::Int64, false),
        Field::new("meta/episodes/chunk_index", DataType::Int64, false),
        Field::new("meta/episodes/file_index", DataType::Int64, false),
        Field::new("task_name", DataType::Utf8, false),
        Field::new("seed", DataType::UInt64, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("success", DataType::Boolean, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..n)),
        Arc::new(task_lists),
        ints(&|i| episodes[i].len() as i64),
        ints(&|i| placements[i].chunk_index),
        ints(&|i| placements[i].file_index),
        ints(&|i| placements[i].from),
        ints(&|i| placements[i].to),
        ints(&|_| 0),
        ints(&|_| 0),
        Arc::new(StringArray::from_iter_values(episodes.iter().map(|e| e.record.task.name()))),
        Arc::new(UInt64Array::from_iter_values(episodes.iter().map(|e| e.record.seed))),
        Arc::new(StringArray::from_iter_values(episodes.iter().map(|e| e.record.source.name()))),
        Arc::new(BooleanArray::from_iter(episodes.iter().map(|e| Some(e.record.success)))),
    ];
    RecordBatch::try_new(schema, columns).map_err(|e| ExportError::write("the episodes table", e))
}

/// `tasks.parquet`: LeRobot reads it with pandas, indexed by the task's text, with a
/// `task_index` column; the pandas metadata says which column is the index.
fn task_table(tasks: &[crate::tasks::TaskId]) -> Result<Vec<u8>, ExportError> {
    let pandas = json!({
        "index_columns": ["task"],
        "column_indexes": [{ "name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": { "encoding": "UTF-8" } }],
        "columns": [
            { "name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64", "metadata": null },
            { "name": "task", "field_name": "task", "pandas_type": "unicode", "numpy_type": "object", "metadata": null },
        ],
        "creator": { "library": "amf-studio", "version": env!("CARGO_PKG_VERSION") },
        "pandas_version": "2.2.0",
    });
    // In the Arrow schema's metadata, which pyarrow reads back (and hands to pandas).
    let schema = Arc::new(Schema::new_with_metadata(
        vec![Field::new("task_index", DataType::Int64, false), Field::new("task", DataType::Utf8, false)],
        [("pandas".to_string(), pandas.to_string())],
    ));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(0..tasks.len() as i64)),
            Arc::new(StringArray::from_iter_values(tasks.iter().map(|t| t.instruction()))),
        ],
    )
    .map_err(|e| ExportError::write("the tasks table", e))?;
    parquet(&batch)
}

/// Mean, standard deviation, minimum, maximum and count of every numeric feature, over
/// all frames: LeRobot normalises with these.
fn stats(episodes: &[ReplayedEpisode]) -> Value {
    fn summary(rows: &[Vec<f64>]) -> Value {
        let dim = rows.first().map_or(0, Vec::len);
        let n = rows.len() as f64;
        let column = |k: usize| rows.iter().map(move |r| r[k]);
        let mean: Vec<f64> = (0..dim).map(|k| column(k).sum::<f64>() / n).collect();
        let std: Vec<f64> = (0..dim).map(|k| (column(k).map(|v| (v - mean[k]).powi(2)).sum::<f64>() / n).sqrt()).collect();
        let min: Vec<f64> = (0..dim).map(|k| column(k).fold(f64::INFINITY, f64::min)).collect();
        let max: Vec<f64> = (0..dim).map(|k| column(k).fold(f64::NEG_INFINITY, f64::max)).collect();
        json!({ "min": min, "max": max, "mean": mean, "std": std, "count": [rows.len()] })
    }
    let steps = || episodes.iter().enumerate().flat_map(|(i, e)| (0..e.len()).map(move |t| (i, e, t)));
    let tasks = tasks_present(episodes);
    let names = [
        "observation.state", "action", "next.reward", "next.done", "next.success", "timestamp", "frame_index", "episode_index", "index", "task_index",
    ];
    let mut columns: Vec<Vec<Vec<f64>>> = vec![Vec::new(); names.len()];
    for (index, (i, e, t)) in steps().enumerate() {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let task = tasks.iter().position(|x| *x == e.record.task).unwrap_or(0) as f64;
        let row = [
            e.observations[t].0.iter().map(|&v| f64::from(v)).collect(),
            e.actions()[t].iter().map(|&v| f64::from(v)).collect(),
            vec![flag(e.achieved[t])],
            vec![flag(t + 1 == e.len())],
            vec![flag(e.achieved[t])],
            vec![f64::from(t as f32 / FPS as f32)],
            vec![t as f64],
            vec![i as f64],
            vec![index as f64],
            vec![task],
        ];
        for (column, value) in columns.iter_mut().zip(row) {
            column.push(value);
        }
    }
    Value::Object(names.iter().zip(&columns).map(|(name, rows)| (name.to_string(), summary(rows))).collect())
}

/// One Parquet file, Snappy-compressed as LeRobot writes them.
fn parquet(batch: &RecordBatch) -> Result<Vec<u8>, ExportError> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("amf-studio {}", env!("CARGO_PKG_VERSION")))
        .build();
    let fail = |e: parquet::errors::ParquetError| ExportError::write("a Parquet file", e);
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(properties)).map_err(fail)?;
    writer.write(batch).map_err(fail)?;
    writer.into_inner().map_err(fail)
}

/// The dataset as one .zip (stored), under a top folder named `root`: what the page
/// downloads.
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

/// Writes the dataset's files under `folder`, which must not exist yet or be empty.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_folder(files: &[DatasetFile], folder: &std::path::Path) -> Result<(), ExportError> {
    if folder.exists() && std::fs::read_dir(folder).map_err(|e| ExportError::write(folder.display().to_string(), e))?.next().is_some() {
        return Err(ExportError::write(folder.display().to_string(), "the folder exists and is not empty"));
    }
    for file in files {
        let path = folder.join(&file.path);
        let parent = path.parent().expect("dataset paths have folders");
        std::fs::create_dir_all(parent).map_err(|e| ExportError::write(parent.display().to_string(), e))?;
        std::fs::write(&path, &file.bytes).map_err(|e| ExportError::write(path.display().to_string(), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::replay_all;
    use crate::record::DemonstrationRecord;
    use crate::tasks::TaskId;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn episodes() -> Vec<ReplayedEpisode> {
        let records: Vec<DemonstrationRecord> = [TaskId::Reach, TaskId::DrawerOpen, TaskId::Reach]
            .iter()
            .enumerate()
            .map(|(k, &t)| DemonstrationRecord::from_expert(t, 40 + k as u64, 0.1, 0.0))
            .collect();
        replay_all(&records).unwrap()
    }

    fn rows(bytes: &[u8]) -> i64 {
        SerializedFileReader::new(bytes::Bytes::copy_from_slice(bytes)).unwrap().metadata().file_metadata().num_rows()
    }

    #[test]
    fn the_dataset_has_v3_layout_and_counts() {
        let episodes = episodes();
        let frames: usize = episodes.iter().map(ReplayedEpisode::len).sum();
        let files = dataset(&episodes).unwrap();
        let find = |path: &str| files.iter().find(|f| f.path == path).unwrap_or_else(|| panic!("{path} missing"));
        assert_eq!(rows(&find("data/chunk-000/file-000.parquet").bytes), frames as i64);
        assert_eq!(rows(&find(EPISODES_PATH).bytes), 3);
        assert_eq!(rows(&find(TASKS_PATH).bytes), 2);
        let info: Value = serde_json::from_slice(&find(INFO_PATH).bytes).unwrap();
        assert_eq!(info["total_frames"], frames);
        assert_eq!(info["total_tasks"], 2);
        assert_eq!(info["fps"], 20);
        assert_eq!(info["features"]["observation.state"]["names"].as_array().unwrap().len(), OBS_DIM);
        let stats: Value = serde_json::from_slice(&find(STATS_PATH).bytes).unwrap();
        assert_eq!(stats["action"]["count"][0], frames);
        let max = stats["action"]["max"].as_array().unwrap();
        assert!(max.iter().all(|v| v.as_f64().unwrap() <= 1.0));
        // The zip holds every file under its root.
        let zipped = zip(&files, "demos").unwrap();
        let archive = ::zip::ZipArchive::new(std::io::Cursor::new(zipped)).unwrap();
        assert_eq!(archive.len(), files.len());
        assert!(archive.file_names().any(|n| n.is_ok_and(|n| n == "demos/meta/info.json")));
    }

    #[test]
    fn episodes_are_packed_whole_into_files_and_indexed_across_them() {
        let episodes = episodes();
        let longest = episodes.iter().map(ReplayedEpisode::len).max().unwrap();
        let files = dataset_in_files_of(&episodes, longest).unwrap();
        let data: Vec<&DatasetFile> = files.iter().filter(|f| f.path.starts_with("data/")).collect();
        assert!(data.len() >= 2, "{} data files", data.len());
        let frames: i64 = data.iter().map(|f| rows(&f.bytes)).sum();
        assert_eq!(frames, episodes.iter().map(|e| e.len() as i64).sum::<i64>());

        // Each episode's rows: where the episodes table says, contiguous across files.
        let table = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(files.iter().find(|f| f.path == EPISODES_PATH).unwrap().bytes.clone()))
            .unwrap()
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let column = |name: &str| table.column_by_name(name).unwrap().as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec();
        let (from, to, file) = (column("dataset_from_index"), column("dataset_to_index"), column("data/file_index"));
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
}
