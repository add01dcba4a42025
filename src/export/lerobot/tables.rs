//! The Parquet tables of a LeRobot v3 dataset: the frames, the episodes (with each
//! episode's statistics, as LeRobot's writer adds them) and the tasks.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, ListBuilder, StringBuilder};
use arrow_array::{Array, ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::json;

use super::stats::{Stats, KEYS};
use super::{Dtype, Placed, FEATURES};
use crate::export::{ExportError, FPS};

/// A fixed-size list column, as `datasets.Sequence(length=N)` reads it.
fn vectors(width: usize, values: Vec<f32>) -> Result<ArrayRef, ExportError> {
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    let list = FixedSizeListArray::try_new(item, width as i32, Arc::new(Float32Array::from(values)), None)
        .map_err(|e| ExportError::write("a vector column", e))?;
    Ok(Arc::new(list))
}

fn vector_type(width: usize) -> DataType {
    DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), width as i32)
}

/// The Arrow type of a feature's column.
fn column_type(dtype: Dtype, width: usize) -> DataType {
    match (dtype, width) {
        (Dtype::Float32, 1) => DataType::Float32,
        (Dtype::Float32, _) => vector_type(width),
        (Dtype::Bool, _) => DataType::Boolean,
        (Dtype::Int64, _) => DataType::Int64,
    }
}

/// The frames of some placed episodes, one column per feature.
pub(super) fn frames(episodes: &[&Placed]) -> Result<RecordBatch, ExportError> {
    let schema = Arc::new(Schema::new(FEATURES.iter().map(|f| Field::new(f.key, column_type(f.dtype, f.width), false)).collect::<Vec<_>>()));
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(FEATURES.len());
    for (f, feature) in FEATURES.iter().enumerate() {
        // Frame by frame, component by component (row-major, as the list columns lay out).
        let values = || episodes.iter().flat_map(move |p| (0..p.episode.len()).flat_map(move |t| p.value(f, t)));
        let column: ArrayRef = match (feature.dtype, feature.width) {
            (Dtype::Float32, 1) => Arc::new(Float32Array::from_iter_values(values().map(|v| v as f32))),
            (Dtype::Float32, width) => vectors(width, values().map(|v| v as f32).collect())?,
            (Dtype::Bool, _) => Arc::new(BooleanArray::from_iter(values().map(|v| Some(v != 0.0)))),
            (Dtype::Int64, _) => Arc::new(Int64Array::from_iter_values(values().map(|v| v as i64))),
        };
        columns.push(column);
    }
    RecordBatch::try_new(schema, columns).map_err(|e| ExportError::write("the frames", e))
}

/// A list column of one statistic of one feature, one list per episode.
fn stat_column(stats: &[&Stats], key: &str) -> ArrayRef {
    if key == "count" {
        let mut lists = ListBuilder::new(Int64Builder::new());
        for s in stats {
            lists.values().append_value(s.count);
            lists.append(true);
        }
        return Arc::new(lists.finish());
    }
    let mut lists = ListBuilder::new(Float64Builder::new());
    for s in stats {
        lists.values().append_slice(&s.get(key));
        lists.append(true);
    }
    Arc::new(lists.finish())
}

/// The episodes table's column of each episode's contributor (the collection service's
/// anonymous id; null for an episode from a file).
const CONTRIBUTOR: &str = "contributor";

/// The episodes table, LeRobot's columns in its writer's order (with each episode's
/// statistics as `stats/<feature>/<statistic>`), then the record's provenance.
pub(super) fn episodes_table(episodes: &[Placed], stats: &[Vec<Stats>], meta_chunk: i64, meta_file: i64) -> Result<RecordBatch, ExportError> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    let mut push = |name: String, column: ArrayRef| {
        // A value may be missing only where a file's episode has no contributor; the
        // column's type does not depend on the data, so appended files agree.
        let nullable = name == CONTRIBUTOR;
        fields.push(Field::new(name, column.data_type().clone(), nullable));
        columns.push(column);
    };
    let ints = |f: &dyn Fn(&Placed) -> i64| -> ArrayRef { Arc::new(Int64Array::from_iter_values(episodes.iter().map(f))) };
    let mut tasks = ListBuilder::new(StringBuilder::new());
    for p in episodes {
        tasks.values().append_value(p.episode.record.task.instruction());
        tasks.append(true);
    }
    push("episode_index".into(), ints(&|p| p.episode_index));
    push("tasks".into(), Arc::new(tasks.finish()));
    push("length".into(), ints(&|p| p.episode.len() as i64));
    push("data/chunk_index".into(), ints(&|p| p.data_chunk));
    push("data/file_index".into(), ints(&|p| p.data_file));
    push("dataset_from_index".into(), ints(&|p| p.first_index));
    push("dataset_to_index".into(), ints(&|p| p.first_index + p.episode.len() as i64));
    for (f, feature) in FEATURES.iter().enumerate() {
        let of_feature: Vec<&Stats> = stats.iter().map(|s| &s[f]).collect();
        for key in KEYS {
            push(format!("stats/{}/{key}", feature.key), stat_column(&of_feature, key));
        }
    }
    push("meta/episodes/chunk_index".into(), ints(&|_| meta_chunk));
    push("meta/episodes/file_index".into(), ints(&|_| meta_file));
    push("task_name".into(), Arc::new(StringArray::from_iter_values(episodes.iter().map(|p| p.episode.record.task.name()))));
    push("seed".into(), Arc::new(UInt64Array::from_iter_values(episodes.iter().map(|p| p.episode.record.seed))));
    push("source".into(), Arc::new(StringArray::from_iter_values(episodes.iter().map(|p| p.episode.record.source.name()))));
    // Who contributed it to a collection service, by the service's anonymous id (null
    // for episodes that came from a file), so a dataset can be filtered by contributor.
    push(CONTRIBUTOR.into(), Arc::new(StringArray::from(episodes.iter().map(|p| p.episode.contributor.as_deref()).collect::<Vec<_>>())));
    push("success".into(), Arc::new(BooleanArray::from_iter(episodes.iter().map(|p| Some(p.episode.record.success)))));
    // Each episode's quality (`quality::Quality`, measured on this replay), for
    // LeRobot's episode filters and the operator's own (`amf export --min-quality`).
    let qualities: Vec<_> = episodes.iter().map(|p| p.episode.quality()).collect();
    let floats = |f: &dyn Fn(&crate::quality::Quality) -> f64| -> ArrayRef { Arc::new(Float64Array::from_iter_values(qualities.iter().map(f))) };
    push("quality/version".into(), Arc::new(Int64Array::from_iter_values(qualities.iter().map(|q| i64::from(q.version)))));
    push("quality/score".into(), floats(&|q| q.score));
    push("quality/idle_share".into(), floats(&|q| q.idle_share));
    push("quality/steps_ratio".into(), floats(&|q| q.expert_steps as f64 / q.steps.max(1) as f64));
    push("quality/path_ratio".into(), floats(&|q| if q.path_m > 0.0 { q.expert_path_m / q.path_m } else { 1.0 }));
    push("quality/jerk_mm".into(), floats(&|q| q.jerk_mm));
    push("quality/extra_grasps".into(), Arc::new(Int64Array::from_iter_values(qualities.iter().map(|q| q.closings.saturating_sub(q.expert_closings) as i64))));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| ExportError::write("the episodes table", e))
}

/// `tasks.parquet`: LeRobot reads it with pandas, indexed by the task's text, with a
/// `task_index` column; the pandas metadata says which column is the index.
pub(super) fn tasks_table(tasks: &[String]) -> Result<Vec<u8>, ExportError> {
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
        vec![Arc::new(Int64Array::from_iter_values(0..tasks.len() as i64)), Arc::new(StringArray::from_iter_values(tasks.iter()))],
    )
    .map_err(|e| ExportError::write("the tasks table", e))?;
    parquet(&batch)
}

/// The tasks of an existing `tasks.parquet`, in task-index order.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn read_tasks(path: &std::path::Path) -> Result<Vec<String>, ExportError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let fail = |e: &dyn std::fmt::Display| ExportError::write(path.display().to_string(), e);
    let file = std::fs::File::open(path).map_err(|e| fail(&e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| fail(&e))?.build().map_err(|e| fail(&e))?;
    let mut tasks: Vec<(i64, String)> = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| fail(&e))?;
        let index = batch.column_by_name("task_index").and_then(|c| c.as_any().downcast_ref::<Int64Array>().cloned());
        let text = batch.column_by_name("task").and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned());
        let (Some(index), Some(text)) = (index, text) else { return Err(fail(&"it has no task_index and task columns")) };
        tasks.extend((0..batch.num_rows()).map(|i| (index.value(i), text.value(i).to_string())));
    }
    tasks.sort();
    if tasks.iter().enumerate().any(|(i, (index, _))| *index != i as i64) {
        return Err(fail(&"its task indices are not 0, 1, 2, ..."));
    }
    Ok(tasks.into_iter().map(|(_, text)| text).collect())
}

/// One Parquet file, Snappy-compressed as LeRobot writes them.
pub(super) fn parquet(batch: &RecordBatch) -> Result<Vec<u8>, ExportError> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("amf-studio {}", env!("CARGO_PKG_VERSION")))
        .build();
    let fail = |e: parquet::errors::ParquetError| ExportError::write("a Parquet file", e);
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(properties)).map_err(fail)?;
    writer.write(batch).map_err(fail)?;
    writer.into_inner().map_err(fail)
}

/// Frames per second as a float, for the timestamps.
pub(super) fn timestamp(frame: usize) -> f32 {
    frame as f32 / FPS as f32
}
