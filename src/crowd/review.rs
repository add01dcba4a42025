//! The operator's review of a pool's quality: each task's distribution of scores, each
//! contributor's, the worst demonstrations, and the contributors whose uploads come in
//! bursts or score poorly. What verification lets through is caught here: a burst of
//! minimal demonstrations that barely pass shows as a contributor flagged for both, and
//! the operator withdraws them (`POST /api/operator/withdraw`, or a ban). Scores are
//! compared within a task, whose demonstrations' scores differ from another task's.

use std::collections::HashMap;

use super::contract::{AgreeingDemonstration, ContributorQuality, PolicyAgreement, QualityReview, ReviewFlag, ReviewedDemonstration, TaskQuality};
use crate::round::nearest_rank as quantile;
use crate::quality::QUALITY_VERSION;
use crate::tasks::TaskId;

/// The window a burst is counted in (10 minutes).
pub const BURST_WINDOW_MS: i64 = 10 * 60 * 1000;
/// Uploads within [`BURST_WINDOW_MS`] that make a burst: one every 20 s for ten minutes,
/// faster than a person demonstrates with the page (a task, its reset and the upload
/// take half a minute or more; the quickest, reach, a person takes 5-10 s on).
pub const BURST_UPLOADS: usize = 30;
/// A contributor is poor when more than this share of their scored demonstrations
/// falls under their task's 10th percentile, taken with every contributor weighing
/// alike (so that one contributor's many uploads do not move the bar they are judged
/// by).
pub const POOR_SHARE: f64 = 0.5;
/// Scored demonstrations a contributor needs before they can be called poor.
pub const POOR_MIN_SCORED: usize = 5;
/// The review lists at most this many contributors and demonstrations.
pub const CONTRIBUTORS_LISTED: usize = 100;
pub const WORST_LISTED: usize = 20;
/// The histogram's bins over [0, 1].
pub const BINS: usize = 10;

/// One live demonstration as the review reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Reviewed {
    pub id: i64,
    pub task: TaskId,
    pub contributor: String,
    /// Its quality score, if measured by this version.
    pub score: Option<f64>,
    pub received_ms: i64,
}

/// The most of `times` (milliseconds, any order) within one window of `window_ms`.
fn busiest_window(times: &mut [i64], window_ms: i64) -> usize {
    times.sort_unstable();
    let mut start = 0;
    let mut best = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= window_ms {
            start += 1;
        }
        best = best.max(end + 1 - start);
    }
    best
}

/// Each task's 10th percentile of scores with every contributor's scores of the task
/// weighing 1 in all.
fn contributors_low_bar(by_contributor: &HashMap<&str, Vec<&Reviewed>>) -> HashMap<TaskId, f64> {
    let mut weighted: HashMap<TaskId, Vec<(f64, f64)>> = HashMap::new();
    for own in by_contributor.values() {
        let mut per_task: HashMap<TaskId, Vec<f64>> = HashMap::new();
        for row in own {
            per_task.entry(row.task).or_default().extend(row.score);
        }
        for (task, scores) in per_task {
            let weight = 1.0 / scores.len() as f64;
            weighted.entry(task).or_default().extend(scores.into_iter().map(|s| (s, weight)));
        }
    }
    weighted
        .into_iter()
        .filter_map(|(task, mut scores)| {
            scores.sort_by(|a, b| a.0.total_cmp(&b.0));
            let total: f64 = scores.iter().map(|s| s.1).sum();
            let mut cumulative = 0.0;
            let bar = scores.iter().find(|s| {
                cumulative += s.1;
                cumulative >= 0.1 * total
            })?;
            Some((task, bar.0))
        })
        .collect()
}

/// Reviews the live demonstrations `rows`.
pub fn review(rows: &[Reviewed]) -> QualityReview {
    // Per task: its demonstrations, and the scores among them.
    let mut by_task: HashMap<TaskId, (usize, Vec<f64>)> = HashMap::new();
    for row in rows {
        let (count, scores) = by_task.entry(row.task).or_default();
        *count += 1;
        scores.extend(row.score);
    }
    let tasks = TaskId::ALL
        .iter()
        .filter_map(|task| {
            let (count, mut scores) = by_task.remove(task)?;
            scores.sort_by(f64::total_cmp);
            let mut histogram = vec![0; BINS];
            for &score in &scores {
                histogram[((score.clamp(0.0, 1.0) * BINS as f64) as usize).min(BINS - 1)] += 1;
            }
            Some(TaskQuality { task: task.name().into(), demonstrations: count, histogram, p10: quantile(&scores, 0.1), median: quantile(&scores, 0.5), p90: quantile(&scores, 0.9) })
        })
        .collect();

    let mut by_contributor: HashMap<&str, Vec<&Reviewed>> = HashMap::new();
    for row in rows {
        by_contributor.entry(&row.contributor).or_default().push(row);
    }
    let low_of = contributors_low_bar(&by_contributor);
    let mut contributors: Vec<ContributorQuality> = by_contributor
        .into_iter()
        .map(|(contributor, own)| {
            let mut scores: Vec<f64> = own.iter().filter_map(|r| r.score).collect();
            scores.sort_by(f64::total_cmp);
            let low = own.iter().filter(|r| matches!((r.score, low_of.get(&r.task)), (Some(s), Some(&low)) if s < low)).count();
            let low_share = if scores.is_empty() { 0.0 } else { low as f64 / scores.len() as f64 };
            let busiest = busiest_window(&mut own.iter().map(|r| r.received_ms).collect::<Vec<_>>(), BURST_WINDOW_MS);
            let mut flags = Vec::new();
            if busiest >= BURST_UPLOADS {
                flags.push(ReviewFlag::Burst);
            }
            if scores.len() >= POOR_MIN_SCORED && low_share > POOR_SHARE {
                flags.push(ReviewFlag::Poor);
            }
            ContributorQuality { contributor: contributor.into(), demonstrations: own.len(), median: quantile(&scores, 0.5), low_share, busiest_window: busiest, flags }
        })
        .collect();
    let contributors_total = contributors.len();
    contributors.sort_by(|a, b| {
        b.flags.len().cmp(&a.flags.len()).then(a.median.unwrap_or(f64::INFINITY).total_cmp(&b.median.unwrap_or(f64::INFINITY))).then(a.contributor.cmp(&b.contributor))
    });
    contributors.truncate(CONTRIBUTORS_LISTED);

    let mut worst: Vec<ReviewedDemonstration> = rows
        .iter()
        .filter_map(|r| Some(ReviewedDemonstration { id: r.id, task: r.task.name().into(), contributor: r.contributor.clone(), score: r.score? }))
        .collect();
    worst.sort_by(|a, b| a.score.total_cmp(&b.score).then(a.id.cmp(&b.id)));
    worst.truncate(WORST_LISTED);

    QualityReview {
        version: QUALITY_VERSION,
        demonstrations: rows.len(),
        unmeasured: rows.iter().filter(|r| r.score.is_none()).count(),
        tasks,
        contributors,
        contributors_total,
        worst,
        agreement: None,
    }
}

/// What version `version` of the shared policy made of the live demonstrations `rows`
/// among those it judged (`judged`: each one's id and agreement): the ones it agrees
/// with least, least first. A demonstration withdrawn since is left out.
pub fn agreement_of(rows: &[Reviewed], version: i64, judged: &[(i64, f32)]) -> PolicyAgreement {
    let live: HashMap<i64, &Reviewed> = rows.iter().map(|r| (r.id, r)).collect();
    let mut least: Vec<AgreeingDemonstration> = judged
        .iter()
        .filter_map(|&(id, agreement)| {
            let row = live.get(&id)?;
            Some(AgreeingDemonstration { id, task: row.task.name().into(), contributor: row.contributor.clone(), score: row.score, agreement: f64::from(agreement) })
        })
        .collect();
    let judged = least.len();
    least.sort_by(|a, b| a.agreement.total_cmp(&b.agreement).then(a.id.cmp(&b.id)));
    least.truncate(WORST_LISTED);
    PolicyAgreement { version, judged, least }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::People;
    use crate::quality;
    use crate::record::DemonstrationRecord;

    /// A minimal demonstration that barely passes: the arm left still for most of the
    /// person's time, then the scripted expert's way, on instance `seed`.
    fn dawdled(task: TaskId, seed: u64, idle_steps: usize) -> DemonstrationRecord {
        let mut episode = crate::tasks::Episode::new(task, seed);
        let mut actions = Vec::new();
        while !episode.is_demonstration_over() {
            let action = if actions.len() < idle_steps { [0.0, 0.0, 0.0, -1.0] } else { episode.expert_action() };
            actions.push(action);
            episode.step(action);
        }
        DemonstrationRecord::from_person(task, seed, actions, episode.is_success(), 0.0)
    }

    fn score(record: &DemonstrationRecord) -> f64 {
        quality::measure(&record.replay().unwrap()).score
    }

    #[test]
    fn a_burst_of_minimal_demonstrations_is_flagged_and_listed_worst() {
        let task = TaskId::Reach;
        let people = People::mixed();
        let mut rows = Vec::new();
        // Twenty people, two careful demonstrations each, minutes apart.
        for person in 0..20u64 {
            for take in 0..2u64 {
                let seed = person * 2 + take;
                let demo = people.demonstrate(task, seed).demonstration;
                let record = DemonstrationRecord::from_person(task, seed, demo.actions, demo.success, 0.0);
                if !record.success {
                    continue;
                }
                rows.push(Reviewed { id: seed as i64, task, contributor: format!("person-{person}"), score: Some(score(&record)), received_ms: (seed as i64) * 300_000 });
            }
        }
        let people_scores: Vec<f64> = rows.iter().filter_map(|r| r.score).collect();
        // One contributor uploads 40 minimal demonstrations, one every 10 s: each waits
        // out most of the time limit and then reaches, and each verifies.
        let limit = task.demonstration_limit();
        for k in 0..40u64 {
            let record = dawdled(task, 100 + k, limit - 60);
            assert!(record.replay().unwrap().success, "the minimal demonstration passes verification");
            rows.push(Reviewed { id: 1000 + k as i64, task, contributor: "burst".into(), score: Some(score(&record)), received_ms: 10_000_000 + k as i64 * 10_000 });
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let burst_scores: Vec<f64> = rows.iter().filter(|r| r.contributor == "burst").filter_map(|r| r.score).collect();
        assert!(median(burst_scores) < 0.5 * median(people_scores.clone()), "the measures see the waiting");

        let review = review(&rows);
        assert_eq!(review.demonstrations, rows.len());
        assert_eq!(review.contributors[0].contributor, "burst");
        assert_eq!(review.contributors[0].flags, vec![ReviewFlag::Burst, ReviewFlag::Poor]);
        assert_eq!(review.contributors[0].busiest_window, 40);
        assert!(review.contributors[1..].iter().all(|c| c.flags.is_empty()), "{:?}", review.contributors);
        assert!(review.worst.iter().all(|w| w.contributor == "burst"));
        let reach = &review.tasks[0];
        assert_eq!((reach.task.as_str(), reach.demonstrations), ("reach", rows.len()));
        assert_eq!(reach.histogram.iter().sum::<usize>(), rows.len());
        assert!(reach.p10 <= reach.median && reach.median <= reach.p90);
    }

    #[test]
    fn a_quick_careful_contributor_is_not_a_burst_and_unscored_rows_are_counted_apart() {
        let task = TaskId::Push;
        let mut rows: Vec<Reviewed> = (0..BURST_UPLOADS as i64 - 1)
            .map(|k| Reviewed { id: k, task, contributor: "quick".into(), score: Some(0.8), received_ms: k * 15_000 })
            .collect();
        rows.push(Reviewed { id: 99, task, contributor: "old".into(), score: None, received_ms: 0 });
        let review = review(&rows);
        assert_eq!((review.demonstrations, review.unmeasured), (rows.len(), 1));
        let quick = review.contributors.iter().find(|c| c.contributor == "quick").unwrap();
        assert_eq!(quick.busiest_window, BURST_UPLOADS - 1);
        assert!(quick.flags.is_empty());
        let old = review.contributors.iter().find(|c| c.contributor == "old").unwrap();
        assert_eq!((old.median, old.low_share), (None, 0.0));
        assert_eq!(review.worst.len(), WORST_LISTED.min(BURST_UPLOADS - 1));
        assert_eq!(busiest_window(&mut [0, 5, 10, 1_000, 1_001], 10), 2);
    }

    #[test]
    fn the_agreement_lists_the_live_demonstrations_a_version_fits_least_first() {
        let row = |id: i64, score| Reviewed { id, task: TaskId::Push, contributor: format!("c{id}"), score, received_ms: 0 };
        let rows = vec![row(1, Some(0.9)), row(2, None), row(4, Some(0.3))];
        // Demonstration 3 was withdrawn after the version trained on it.
        let judged = [(1, 1.4), (2, 0.3), (3, 0.1), (4, 1.3)];
        let agreement = agreement_of(&rows, 7, &judged);
        assert_eq!((agreement.version, agreement.judged), (7, 3));
        let order: Vec<i64> = agreement.least.iter().map(|d| d.id).collect();
        assert_eq!(order, vec![2, 4, 1]);
        assert_eq!((agreement.least[0].score, agreement.least[0].contributor.as_str()), (None, "c2"));
        let many: Vec<(i64, f32)> = (0..40).map(|id| (id, id as f32)).collect();
        let rows: Vec<Reviewed> = (0..40).map(|id| row(id, None)).collect();
        let listed = agreement_of(&rows, 1, &many);
        assert_eq!((listed.judged, listed.least.len(), listed.least[0].id), (40, WORST_LISTED, 0));
    }
}
