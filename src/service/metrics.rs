//! The service's metrics in Prometheus's text format: uploads accepted and rejected by
//! reason, verification latency as a histogram, the verification queue's depth, and the
//! stored totals (read from the database when scraped, so every instance agrees).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::crowd::contract::RefusalCode;
use crate::crowd::upload::Rejection;

/// Upper bounds of the verification latency buckets (seconds).
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Refusals of uploads that are not about the demonstration itself.
pub const REFUSALS: [RefusalCode; 10] = [
    RefusalCode::TooLarge,
    RefusalCode::Incomplete,
    RefusalCode::Timeout,
    RefusalCode::Withdrawn,
    RefusalCode::NearCopy,
    RefusalCode::ContentType,
    RefusalCode::RateLimited,
    RefusalCode::Overloaded,
    RefusalCode::Banned,
    RefusalCode::Licence,
];

#[derive(Default)]
pub struct Metrics {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    rejected: Mutex<std::collections::BTreeMap<RefusalCode, u64>>,
    /// Count per bucket (cumulative when rendered), the sum and the count.
    latency: Mutex<([u64; BUCKETS.len()], f64, u64)>,
    pub queue_depth: AtomicU64,
    /// Assignment batches: how many, the requests they answered, their seconds, and the
    /// seconds of those spent choosing (the rest is the database and the lock).
    assignments: Mutex<(u64, u64, f64, f64)>,
    /// The selector's last GP: the pool it stands for, the sample's replays this
    /// instance holds, and the GP's data and query states (what its cost grows with).
    selector: Mutex<SelectorSize>,
}

/// How large the crowd's selector was at its last assignment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SelectorSize {
    pub pool: u64,
    pub replays: u64,
    pub data_states: u64,
    pub query_states: u64,
}

impl Metrics {
    pub fn accepted(&self, duplicate: bool) {
        if duplicate { &self.duplicates } else { &self.accepted }.fetch_add(1, Ordering::Relaxed);
    }

    pub fn rejected(&self, code: RefusalCode) {
        *self.rejected.lock().unwrap_or_else(|e| e.into_inner()).entry(code).or_default() += 1;
    }

    /// Uploads refused by this instance since it started, by reason.
    pub fn rejected_counts(&self) -> std::collections::BTreeMap<RefusalCode, u64> {
        self.rejected.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn verified_in(&self, seconds: f64) {
        let mut latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = BUCKETS.iter().position(|&b| seconds <= b) {
            latency.0[i] += 1;
        }
        latency.1 += seconds;
        latency.2 += 1;
    }

    /// A batch of `requests` assignments took `seconds`, `choosing` of them in the selector.
    pub fn assigned(&self, requests: usize, seconds: f64, choosing: f64) {
        let mut a = self.assignments.lock().unwrap_or_else(|e| e.into_inner());
        *a = (a.0 + 1, a.1 + requests as u64, a.2 + seconds, a.3 + choosing);
    }

    pub fn selector_sized(&self, size: SelectorSize) {
        *self.selector.lock().unwrap_or_else(|e| e.into_inner()) = size;
    }

    /// The text exposition, with the stored totals read just now.
    pub fn render(&self, stored: i64, contributors: i64) -> String {
        let mut out = String::new();
        out += "# HELP amf_uploads_accepted_total Uploads verified and stored (duplicates apart).\n# TYPE amf_uploads_accepted_total counter\n";
        out += &format!("amf_uploads_accepted_total {}\n", self.accepted.load(Ordering::Relaxed));
        out += "# HELP amf_uploads_duplicate_total Uploads of a demonstration stored before (answered with its id).\n# TYPE amf_uploads_duplicate_total counter\n";
        out += &format!("amf_uploads_duplicate_total {}\n", self.duplicates.load(Ordering::Relaxed));
        out += "# HELP amf_uploads_rejected_total Uploads refused, by reason.\n# TYPE amf_uploads_rejected_total counter\n";
        let rejected = self.rejected.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for code in Rejection::codes().chain(REFUSALS.iter().copied()) {
            let n = rejected.get(&code).copied().unwrap_or(0);
            out += &format!("amf_uploads_rejected_total{{reason=\"{code}\"}} {n}\n");
        }
        out += "# HELP amf_verification_seconds Time to replay an upload.\n# TYPE amf_verification_seconds histogram\n";
        let (counts, sum, count) = *self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(counts) {
            cumulative += n;
            out += &format!("amf_verification_seconds_bucket{{le=\"{bound}\"}} {cumulative}\n");
        }
        out += &format!("amf_verification_seconds_bucket{{le=\"+Inf\"}} {count}\namf_verification_seconds_sum {sum}\namf_verification_seconds_count {count}\n");
        out += "# HELP amf_verification_queue_depth Uploads waiting for a verification thread on this instance.\n# TYPE amf_verification_queue_depth gauge\n";
        out += &format!("amf_verification_queue_depth {}\n", self.queue_depth.load(Ordering::Relaxed));
        let (batches, requests, seconds, choosing) = *self.assignments.lock().unwrap_or_else(|e| e.into_inner());
        out += "# HELP amf_assignment_batches_total Batches of assignments (visitors asking at once are answered together).\n# TYPE amf_assignment_batches_total counter\n";
        out += &format!("amf_assignment_batches_total {batches}\n");
        out += "# HELP amf_assignments_total Assignments made, in all batches.\n# TYPE amf_assignments_total counter\n";
        out += &format!("amf_assignments_total {requests}\n");
        out += "# HELP amf_assignment_batch_seconds_total Time in assignment batches, lock and database included.\n# TYPE amf_assignment_batch_seconds_total counter\n";
        out += &format!("amf_assignment_batch_seconds_total {seconds}\n");
        out += "# HELP amf_assignment_choosing_seconds_total Of that time, the selector's.\n# TYPE amf_assignment_choosing_seconds_total counter\n";
        out += &format!("amf_assignment_choosing_seconds_total {choosing}\n");
        let size = *self.selector.lock().unwrap_or_else(|e| e.into_inner());
        for (name, help, value) in [
            ("amf_selector_pool", "Demonstrations the crowd's selector conditioned on at its last assignment.", size.pool),
            ("amf_selector_replays", "Replays this instance holds for the selector (its sample of the pool).", size.replays),
            ("amf_selector_data_states", "The selector's GP: data states (its factorisation grows with their cube).", size.data_states),
            ("amf_selector_query_states", "The selector's GP: query states (targets and candidates).", size.query_states),
        ] {
            out += &format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
        }
        out += "# HELP amf_demonstrations_stored Demonstrations stored and not withdrawn.\n# TYPE amf_demonstrations_stored gauge\n";
        out += &format!("amf_demonstrations_stored {stored}\n");
        out += "# HELP amf_contributors Contributors known.\n# TYPE amf_contributors gauge\n";
        out += &format!("amf_contributors {contributors}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_by_reason_and_buckets_cumulatively() {
        let m = Metrics::default();
        m.accepted(false);
        m.accepted(true);
        m.rejected(RefusalCode::NotSuccessful);
        m.rejected(RefusalCode::NotSuccessful);
        m.rejected(RefusalCode::RateLimited);
        m.verified_in(0.004);
        m.verified_in(0.3);
        m.selector_sized(SelectorSize { pool: 3000, replays: 128, data_states: 2048, query_states: 768 });
        let text = m.render(7, 3);
        for line in [
            "amf_uploads_accepted_total 1",
            "amf_uploads_duplicate_total 1",
            "amf_uploads_rejected_total{reason=\"not_successful\"} 2",
            "amf_uploads_rejected_total{reason=\"rate_limited\"} 1",
            "amf_uploads_rejected_total{reason=\"malformed\"} 0",
            "amf_verification_seconds_bucket{le=\"0.0025\"} 0",
            "amf_verification_seconds_bucket{le=\"0.005\"} 1",
            "amf_verification_seconds_bucket{le=\"0.5\"} 2",
            "amf_verification_seconds_count 2",
            "amf_demonstrations_stored 7",
            "amf_contributors 3",
            "amf_selector_pool 3000",
            "amf_selector_data_states 2048",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
