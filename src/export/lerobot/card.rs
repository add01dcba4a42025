//! The dataset card: `README.md` at the dataset's root, as the Hugging Face Hub and
//! LeRobot's own uploads write it (YAML front matter with the licence, the task
//! category and where the data files are; then what the dataset is), so that LeRobot's
//! tools and the Hub show the licence the contributors agreed to.

use serde_json::Value;

use super::{DatasetFile, INFO_PATH};
use crate::terms::Terms;
use crate::export::ExportError;

pub const CARD_PATH: &str = "README.md";

/// Who agreed to the licence, counted over the dataset's episodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreements {
    /// Episodes whose contributor agreed to the licence.
    pub agreed: usize,
    /// Episodes contributed before the service asked, whose contributor has not agreed.
    pub not_agreed: usize,
    /// Distinct contributors.
    pub contributors: usize,
}

/// The quality scores of the dataset's episodes (`quality::Quality::score`), summarised.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QualitySummary {
    /// The measures' version.
    pub version: u32,
    /// Episodes with a score of this version.
    pub scored: usize,
    pub p10: f64,
    pub median: f64,
    pub p90: f64,
}

impl QualitySummary {
    /// The summary of `scores` (none without a score).
    pub fn of(mut scores: Vec<f64>, version: u32) -> Option<QualitySummary> {
        use crate::round::nearest_rank;
        scores.sort_by(f64::total_cmp);
        Some(QualitySummary { version, scored: scores.len(), p10: nearest_rank(&scores, 0.1)?, median: nearest_rank(&scores, 0.5)?, p90: nearest_rank(&scores, 0.9)? })
    }
}

/// The card of the dataset whose files (`info.json` among them) are `files`.
pub fn card(files: &[DatasetFile], terms: &Terms, agreements: Agreements, quality: Option<QualitySummary>) -> Result<DatasetFile, ExportError> {
    let info = files.iter().find(|f| f.path == INFO_PATH).ok_or_else(|| ExportError::write("the dataset card", format!("no {INFO_PATH} to describe")))?;
    let info: Value = serde_json::from_slice(&info.bytes).map_err(|e| ExportError::write("the dataset card", format!("{INFO_PATH}: {e}")))?;
    let number = |key: &str| info[key].as_i64().unwrap_or(0);
    let licence = match &terms.licence_url {
        Some(url) => format!("[{}]({url})", terms.licence),
        None => terms.licence.clone(),
    };
    let consent = if agreements.not_agreed == 0 {
        "Every contributor agreed to this licence before their demonstrations were pooled.".to_string()
    } else {
        format!(
            "The contributors of {} episodes agreed to this licence before their demonstrations were pooled; {} episodes were \
             contributed before the service asked, and their contributors have not agreed to it.",
            agreements.agreed, agreements.not_agreed
        )
    };
    let quality = match quality {
        Some(q) => format!(
            "- **Quality:** each episode's score in [0, 1] (`quality/score` in the episodes table, measures version {}: its idle \
             share, steps, path and grasps against the scripted expert's run of the same instance); over {} scored episodes \
             the median is {:.2}, the 10th percentile {:.2} and the 90th {:.2}. Filter on it, or export with \
             `amf export --min-quality`.\n",
            q.version, q.scored, q.median, q.p10, q.p90
        ),
        None => String::new(),
    };
    let text = format!(
        "---\nlicense: {hub}\ntask_categories:\n- robotics\ntags:\n- LeRobot\n- amf-studio\n- crowdsourced\nconfigs:\n\
         - config_name: default\n  data_files: data/*/*.parquet\n---\n\n\
         # AMF Studio: a crowd's demonstrations\n\n\
         Demonstrations of a simulated robot arm ({robot}, a rapier3d tabletop) made by visitors of AMF Studio's page, \
         each on the task the crowd's active multi-task fine-tuning selector asked for, and pooled by its collection service.\n\n\
         - **Episodes:** {episodes} ({frames} frames at {fps} fps) over {tasks} tasks; state-only (no video).\n\
         - **Verified by replay:** every episode was replayed from its task, seed and actions in the project's deterministic \
         simulation before it was stored, and succeeds at its task; the states here are that replay's.\n\
         - **Contributors:** {contributors}, known by anonymous ids only.\n\
         {quality}\
         - **Licence:** {licence}. {consent}\n\n\
         Written by amf-studio {version} in the LeRobot dataset format {codebase}.\n",
        hub = terms.hub_licence(),
        robot = info["robot_type"].as_str().unwrap_or("a robot"),
        episodes = number("total_episodes"),
        frames = number("total_frames"),
        fps = number("fps"),
        tasks = number("total_tasks"),
        contributors = agreements.contributors,
        version = env!("CARGO_PKG_VERSION"),
        codebase = super::CODEBASE_VERSION,
    );
    Ok(DatasetFile { path: CARD_PATH.into(), bytes: text.into_bytes() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::replay_all;
    use crate::record::DemonstrationRecord;
    use crate::tasks::TaskId;

    #[test]
    fn the_card_names_the_licence_in_its_front_matter_and_counts_the_dataset() {
        let records: Vec<DemonstrationRecord> = [(TaskId::Reach, 1), (TaskId::Push, 2)].iter().map(|&(t, s)| DemonstrationRecord::from_expert(t, s, 0.0, 0.0)).collect();
        let files = super::super::dataset(&replay_all(&records).unwrap()).unwrap();
        let all = Agreements { agreed: 2, not_agreed: 0, contributors: 1 };
        let quality = QualitySummary::of(vec![0.9, 0.5, 0.7, 0.8], 1);
        assert_eq!(quality.map(|q| (q.scored, q.median)), Some((4, 0.8)));
        let text = String::from_utf8(card(&files, &Terms::default(), all, quality).unwrap().bytes).unwrap();
        assert!(text.contains("over 4 scored episodes the median is 0.80"), "{text}");
        let front = text.strip_prefix("---\n").and_then(|rest| rest.split_once("\n---\n")).map(|(front, _)| front).unwrap();
        assert!(front.lines().any(|l| l == "license: cc-by-4.0"), "{front}");
        assert!(text.contains("**Episodes:** 2 (") && text.contains("over 2 tasks"), "{text}");
        assert!(text.contains("Every contributor agreed"), "{text}");
        let some = Agreements { agreed: 1, not_agreed: 1, contributors: 2 };
        let text = String::from_utf8(card(&files, &Terms::new("CC0-1.0").unwrap(), some, QualitySummary::of(Vec::new(), 1)).unwrap().bytes).unwrap();
        assert!(!text.contains("**Quality:**"), "no scores, no summary: {text}");
        assert!(text.contains("license: cc0-1.0") && text.contains("1 episodes were contributed before the service asked"), "{text}");
    }
}
