//! Crowd-wide assignments: `POST /api/assignments` asks the crowd's selector which task
//! this visitor should demonstrate ([`crate::crowd::assign`]), conditioned on the leases
//! in flight, and leases it to them; `GET /api/crowd` tells where the crowd stands.
//!
//! Assignments are made one at a time (a lock in this instance, and on PostgreSQL an
//! advisory lock shared by every instance), so two visitors asking at once see each
//! other's lease. Leases live in the database; what this instance keeps in memory is a
//! cache: the shared policy, its assessment, and the replays of the selector's sample
//! of the pool ([`crate::select::PoolSample`]: at most `sampled_per_task`
//! demonstrations a task, found by the database's index and refreshed on every
//! assignment), so its memory does not grow with the pool.

use std::collections::{BTreeMap, HashSet};

use rayon::prelude::*;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::api::{ApiError, ApiResult, Caller, Contract};
use super::db::{now_ms, Lease};
use super::metrics::SelectorSize;
use super::App;
use crate::crowd::assign::{assign_batch, Assignment, AssignmentSettings, CrowdState, Request};
use crate::crowd::contract::{AssignmentRequest, CrowdStatus, Leased, RefusalCode, Standing, TaskChooser};
use crate::policy::{Demonstration, FineTunedPolicy, Policy, PolicyConfig, Predictive};
use crate::round::{assess, Assessment};
use crate::select::{PoolSample, Prepared};
use crate::tasks::{TaskId, NUM_TASKS};

/// What this instance keeps to assign quickly; none of it is the crowd's state.
pub struct CrowdCache {
    /// The pre-trained policy and its configuration (none: assignments are refused).
    prior: Option<(std::sync::Mutex<Policy>, PolicyConfig)>,
    /// The pre-trained policy's success per task, once assessed (the crowd's curve
    /// starts there).
    prior_success: std::sync::OnceLock<Vec<f64>>,
    /// The pre-trained policy's assessment, once made (held while it is made).
    prior_assessed: std::sync::Mutex<Option<Assessment>>,
    /// Held while this instance loads its first policy (see [`ensure_policy`]).
    starting: tokio::sync::Mutex<()>,
    /// The shared policy assignments use, with its assessment: the latest version this
    /// instance has loaded (none before the first assignment or version).
    shared: std::sync::Mutex<Option<Shared>>,
    /// Requests waiting for an assignment: whoever holds `replays` answers all of them
    /// at once.
    waiting: std::sync::Mutex<Vec<Waiting>>,
    /// Replays of the selector's sample of the pool; also the lock that makes this
    /// instance assign one batch at a time.
    replays: Arc<tokio::sync::Mutex<Replays>>,
    /// This instance is training a version now.
    pub training: std::sync::atomic::AtomicBool,
    /// The latest version this instance trained, and its agreement with each
    /// demonstration it trained on (id, weight): the operator's review reads it. Not
    /// stored: a version judges by its own policy, and another instance's or a restarted
    /// one's next version judges again.
    agreement: std::sync::Mutex<Option<(i64, Arc<Vec<(i64, f32)>>)>>,
}

struct Shared {
    /// The version's id (0: the pre-trained policy).
    version: i64,
    /// The fine-tuned version (none: the pre-trained policy).
    tuned: Option<FineTunedPolicy>,
    assessment: Arc<Assessment>,
    /// The last demonstration id the version was trained on (0: none).
    trained_through: i64,
}

#[derive(Default)]
struct Replays {
    /// Replays of the demonstrations in the selector's sample, by id (id order is the
    /// pool's order): at most `sampled_per_task` a task.
    sample: BTreeMap<i64, Demonstration>,
    /// The GP's data per task: every demonstration not withdrawn (through the
    /// version's last, with `arrivals_in_flight`), of which `sample` is kept.
    counts: Vec<usize>,
    /// Assignments made by this instance (seeds the selector's random choices).
    turns: u64,
    /// The GP for the shared policy's version and the sample it conditions on, kept
    /// until either changes (computing it is most of a selection's time).
    prepared: Option<(PreparedFor, Arc<Prepared>)>,
}

/// What a prepared GP was computed for: the version, the sample and the counts.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PreparedFor {
    version: i64,
    sample: Vec<i64>,
    counts: Vec<usize>,
}

/// How far a task's count may grow past the one a prepared GP was computed for before
/// it is prepared again: a twentieth. Where a task has more demonstrations than its
/// sample, a new one usually changes only the weight its kept ones stand for (by less
/// than this), and preparing again on every upload would cost a crowd's service a GP
/// per upload; where it has fewer, a new one joins the sample, which always prepares
/// again.
const COUNT_SLACK: f64 = 0.05;

impl PreparedFor {
    /// A GP prepared for `self` serves `now`: the same version and sample, and no
    /// task's count moved by more than [`COUNT_SLACK`] of it.
    fn serves(&self, now: &PreparedFor) -> bool {
        self.version == now.version
            && self.sample == now.sample
            && self.counts.iter().zip(&now.counts).all(|(&then, &now)| (now as f64 - then as f64).abs() <= COUNT_SLACK * then as f64)
    }
}

/// A visitor's request, waiting for the batch that answers it.
struct Waiting {
    contributor: String,
    /// The client's address (as the rate limits see it).
    address: String,
    /// The lease they decline, if any.
    decline: Option<String>,
    chosen: Option<TaskId>,
    seed: Option<u32>,
    answer: tokio::sync::oneshot::Sender<Result<(Lease, Assignment), ApiError>>,
}

impl CrowdCache {
    pub fn new(prior: Option<(Policy, PolicyConfig)>) -> CrowdCache {
        CrowdCache {
            prior: prior.map(|(p, c)| (std::sync::Mutex::new(p), c)),
            prior_success: Default::default(),
            prior_assessed: Default::default(),
            starting: Default::default(),
            shared: Default::default(),
            waiting: Default::default(),
            replays: Default::default(),
            training: Default::default(),
            agreement: Default::default(),
        }
    }

    /// Keeps what version `version`, trained here, makes of the demonstrations it
    /// trained on.
    pub fn judged(&self, version: i64, agreement: Vec<(i64, f32)>) {
        *self.agreement.lock().expect("never poisoned") = Some((version, Arc::new(agreement)));
    }

    /// The latest version trained here, and its agreement with each demonstration.
    pub fn agreement(&self) -> Option<(i64, Arc<Vec<(i64, f32)>>)> {
        self.agreement.lock().expect("never poisoned").clone()
    }

    /// The pre-trained policy and its configuration, if the service has one.
    pub fn prior(&self) -> Option<(Policy, PolicyConfig)> {
        self.prior.as_ref().map(|(p, c)| (p.lock().expect("never poisoned").clone(), c.clone()))
    }

    /// The version assignments use (0: the pre-trained policy; -1: none loaded yet).
    pub fn version(&self) -> i64 {
        self.shared.lock().expect("never poisoned").as_ref().map_or(-1, |s| s.version)
    }

    /// From now on, assignments use version `id`, trained on the demonstrations through
    /// id `trained_through`.
    pub fn adopt(&self, id: i64, policy: FineTunedPolicy, assessment: Assessment, trained_through: i64) {
        *self.shared.lock().expect("never poisoned") =
            Some(Shared { version: id, tuned: Some(policy), assessment: Arc::new(assessment), trained_through });
    }

    /// The pre-trained policy's assessment (rolled out once, then kept: where the crowd's
    /// curve starts); none if the service has no policy. Blocks: rollouts.
    pub fn prior_assessment(&self, episodes: usize) -> Option<Assessment> {
        let (prior, _) = self.prior.as_ref()?;
        let mut known = self.prior_assessed.lock().expect("never poisoned");
        if known.is_none() {
            let policy = prior.lock().expect("never poisoned").clone();
            let assessment = assess(&policy, episodes, &mut |_| {});
            let _ = self.prior_success.set(assessment.per_task.clone());
            *known = Some(assessment);
        }
        known.clone()
    }

    /// From now on, assignments use the pre-trained policy (no version loaded yet).
    fn adopt_prior(&self, assessment: Assessment) {
        let mut shared = self.shared.lock().expect("never poisoned");
        if shared.is_none() {
            *shared = Some(Shared { version: 0, tuned: None, assessment: Arc::new(assessment), trained_through: 0 });
        }
    }

    /// Runs `act` with the shared policy, its assessment, its version and the last
    /// demonstration id it was trained on.
    fn with_policy<T>(&self, act: impl FnOnce(&dyn Predictive, &Assessment, i64, i64) -> T) -> Option<T> {
        let (prior, _) = self.prior.as_ref()?;
        let shared = self.shared.lock().expect("never poisoned");
        let shared = shared.as_ref()?;
        match &shared.tuned {
            Some(tuned) => Some(act(tuned, &shared.assessment, shared.version, shared.trained_through)),
            None => Some(act(&*prior.lock().expect("never poisoned"), &shared.assessment, shared.version, shared.trained_through)),
        }
    }
}

fn unavailable() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, RefusalCode::NoAssignments, "this service has no policy to choose tasks with")
}

/// Assigns this visitor a task (or records the one they chose) and leases it to them.
///
/// Visitors asking at once are answered together: each request waits in a queue, and
/// whoever holds the assignment lock answers every request waiting, as one greedy
/// batch conditioned on the leases in flight, in one transaction each way. With one
/// request waiting, that is one assignment; with fifty, the GP is prepared once and
/// each assignment costs one scoring and one rank-k update.
pub async fn assignment(
    State(app): State<Arc<App>>,
    Caller(me, address): Caller,
    Contract(request): Contract<AssignmentRequest>,
) -> ApiResult<(StatusCode, Json<Leased>)> {
    let address = address.to_string();
    let chosen = match request.task.as_deref().map(|name| TaskId::from_name(name).ok_or(name)) {
        Some(Err(name)) => return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, RefusalCode::Task, format!("there is no task {name:?}"))),
        Some(Ok(task)) => Some(task),
        None => None,
    };
    if app.crowd.prior.is_none() {
        return Err(unavailable());
    }
    let (answer, mut answered) = tokio::sync::oneshot::channel();
    let waiting = Waiting { contributor: me.id, address, decline: request.decline, chosen, seed: request.seed, answer };
    app.crowd.waiting.lock().expect("never poisoned").push(waiting);
    // Either a batch answers this request while it waits, or it takes the lock and
    // starts the batch that answers every request waiting (its own among them). A
    // request answered by another's batch never takes the lock: otherwise the answered
    // ones would file through it one by one, and the next requests would find it taken
    // each time and be answered one by one too (measured: batches of 1.2 on average with
    // 50 visitors). The batch is a task of its own, holding the lock until every waiter
    // has its answer: a visitor who hangs up (this request's future dropped) takes
    // nobody else's answer with them.
    let answer = loop {
        tokio::select! {
            biased;
            answer = &mut answered => break answer,
            replays = app.crowd.replays.clone().lock_owned() => {
                let batch = next_batch(&app.crowd.waiting);
                if !batch.is_empty() {
                    tokio::spawn(answer_batch(app.clone(), replays, batch));
                }
            }
        }
    };
    let (lease, assignment) = answer.map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, RefusalCode::Assignments, "the assignment was dropped"))??;
    Ok((
        StatusCode::CREATED,
        Json(Leased {
            lease: lease.id,
            expires_ms: lease.expires_ms,
            chosen_by: lease.chosen_by,
            assignment,
            version: app.crowd.version().max(0),
        }),
    ))
}

/// The waiting requests to answer now: all of them, but one per visitor (a visitor's
/// second request waits for the next batch, so that it supersedes the first's lease).
/// Whoever waits is still before the lock, so a request put back is answered by the
/// next batch.
fn next_batch(waiting: &std::sync::Mutex<Vec<Waiting>>) -> Vec<Waiting> {
    let mut waiting = waiting.lock().expect("never poisoned");
    let mut seen = HashSet::new();
    let (batch, later): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(&mut *waiting).into_iter().partition(|w| seen.insert(w.contributor.clone()));
    *waiting = later;
    batch
}

/// Makes sure this instance has a policy to assign with, loading it if not: the latest
/// version of the shared policy where there is one (a restarted service goes on with
/// it, rather than assessing the pre-trained policy first and changing policy under its
/// first visitors), else the pre-trained policy. The start and a first visitor wait for
/// each other rather than rolling the same episodes out twice. False if the service has
/// no policy.
pub async fn ensure_policy(app: &App) -> anyhow::Result<bool> {
    if app.crowd.prior.is_none() {
        return Ok(false);
    }
    if app.crowd.version() >= 0 {
        return Ok(true);
    }
    let _starting = app.crowd.starting.lock().await;
    if app.crowd.version() >= 0 {
        return Ok(true);
    }
    if let Some(version) = super::training::latest_of_this_suite(app).await? {
        match super::training::adopt_version(app, &version).await {
            Ok(()) => return Ok(true),
            Err(error) => tracing::error!("version {} cannot be loaded ({error}); assigning with the pre-trained policy", version.id),
        }
    }
    let episodes = app.config.assignments.eval_episodes;
    if let Some(assessment) = tokio::task::block_in_place(|| app.crowd.prior_assessment(episodes)) {
        app.crowd.adopt_prior(assessment);
    }
    Ok(app.crowd.version() >= 0)
}

/// Answers every request of `batch`, holding this instance's assignment lock (`replays`)
/// until it is done.
async fn answer_batch(app: Arc<App>, mut replays: tokio::sync::OwnedMutexGuard<Replays>, batch: Vec<Waiting>) {
    let started = std::time::Instant::now();
    let mut choosing = 0.0;
    let made = assign_waiting(&app, &mut replays, &batch, &mut choosing).await;
    app.metrics.assigned(batch.len(), started.elapsed().as_secs_f64(), choosing);
    for (i, waiting) in batch.into_iter().enumerate() {
        // A visitor who hung up is not listening any more.
        let _ = waiting.answer.send(made.as_ref().map(|m| m[i].clone()).map_err(Clone::clone));
    }
}

/// Answers a batch of requests: one at a time across instances (on PostgreSQL, an
/// advisory lock shared by every instance).
async fn assign_waiting(app: &App, replays: &mut Replays, batch: &[Waiting], choosing: &mut f64) -> Result<Vec<(Lease, Assignment)>, ApiError> {
    let settings = &app.config.assignments;
    if !ensure_policy(app).await.map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, RefusalCode::Policy, e.to_string()))? {
        return Err(unavailable());
    }
    let lock = app.db.lock_assignments().await?;
    let made = async {
        let now = now_ms();
        let visitors: Vec<(&str, Option<&str>)> = batch.iter().map(|w| (w.contributor.as_str(), w.decline.as_deref())).collect();
        let (declined, pending) = app.db.begin_assignments(&visitors, now - settings.lease_seconds as i64 * 1000, now).await?;
        // The GP's data: every demonstration, or only those the version was trained on,
        // the ones since conditioned on through their proxies, as those in flight.
        let trained_through = app.crowd.with_policy(|_, _, _, through| through).ok_or_else(unavailable)?;
        let through = if settings.arrivals_in_flight { trained_through } else { i64::MAX };
        let all = refresh(app, replays, through).await?;
        let arrived = if settings.arrivals_in_flight {
            all.iter().zip(&replays.counts).map(|(a, t)| a.saturating_sub(*t)).collect()
        } else {
            vec![0; NUM_TASKS]
        };
        let turn = replays.turns ^ (now as u64).rotate_left(20);
        replays.turns += batch.len() as u64;
        let requests: Vec<Request> = batch
            .iter()
            .zip(declined)
            .map(|(w, declined)| Request { declined, chosen: w.chosen, seed: w.seed.unwrap_or(uuid::Uuid::new_v4().as_u128() as u32) as u64 })
            .collect();
        let Replays { sample, counts, prepared, .. } = replays;
        let started = std::time::Instant::now();
        let assignments = app.crowd.with_policy(|policy, assessment, version, _| {
            let kept: Vec<&Demonstration> = sample.values().collect();
            let mut crowd = CrowdState { policy, assessment, trained_on: PoolSample::from_parts(kept, counts.clone()), arrived, pending, prepared: None };
            let key = PreparedFor { version, sample: sample.keys().copied().collect(), counts: counts.clone() };
            tokio::task::block_in_place(|| {
                let gp = match prepared {
                    Some((made_for, gp)) if made_for.serves(&key) => gp.clone(),
                    _ => {
                        let gp = crowd.prepare(settings)?;
                        *prepared = Some((key, gp.clone()));
                        gp
                    }
                };
                let (data_states, query_states) = gp.problem.size();
                app.metrics.selector_sized(SelectorSize {
                    pool: counts.iter().sum::<usize>() as u64,
                    replays: sample.len() as u64,
                    data_states: data_states as u64,
                    query_states: query_states as u64,
                });
                crowd.prepared = Some(gp);
                assign_batch(settings, &crowd, &requests, turn)
            })
        });
        *choosing = started.elapsed().as_secs_f64();
        let assignments =
            assignments.ok_or_else(unavailable)?.map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, RefusalCode::Selector, e.to_string()))?;
        let leases: Vec<Lease> = batch
            .iter()
            .zip(&assignments)
            .map(|(w, assignment)| Lease {
                id: uuid::Uuid::new_v4().to_string(),
                contributor_id: w.contributor.clone(),
                task: assignment.task,
                seed: assignment.seed,
                chosen_by: if w.chosen.is_some() { TaskChooser::Visitor } else { TaskChooser::Selector },
                selector: if w.chosen.is_some() { TaskChooser::Visitor.name().into() } else { settings.selector.name().into() },
                created_ms: now,
                expires_ms: now + settings.lease_seconds as i64 * 1000,
                address: w.address.clone(),
            })
            .collect();
        app.db.add_leases(&leases, app.config.leases_per_address).await?;
        Ok::<_, ApiError>(leases.into_iter().zip(assignments).collect())
    }
    .await;
    app.db.unlock(lock).await?;
    made
}

/// Brings the selector's sample up to date with the database through id `through`:
/// the counts per task and the sample's members, replaying only those new to it (at
/// most `sampled_per_task` a task) and dropping those that left it (withdrawn, or
/// displaced by a smaller fingerprint). Returns every demonstration not withdrawn per
/// task, those past `through` included.
async fn refresh(app: &App, replays: &mut Replays, through: i64) -> Result<Vec<usize>, ApiError> {
    let per_task = app.config.assignments.gp.sample_bound();
    let all;
    (all, replays.counts) = app.db.demonstrations_per_task_and_through(through).await?;
    let ids = app.db.sample_ids(per_task, through).await?;
    let wanted: HashSet<i64> = ids.iter().copied().collect();
    replays.sample.retain(|id, _| wanted.contains(id));
    let missing: Vec<i64> = ids.into_iter().filter(|id| !replays.sample.contains_key(id)).collect();
    if missing.is_empty() {
        return Ok(all);
    }
    let records = app.db.records_by_ids(&missing).await?;
    // Stored demonstrations were verified by replay: one that fails now (a suite change)
    // is left out of the sample (still counted) rather than failing it.
    let replayed: Vec<(i64, Demonstration)> =
        tokio::task::block_in_place(|| records.into_par_iter().filter_map(|(id, record)| Some((id, record.replay().ok()?))).collect());
    replays.sample.extend(replayed);
    Ok(all)
}

/// Contributors the crowd's leaderboard shows.
const LEADERBOARD_SIZE: usize = 10;

/// Where the crowd stands: demonstrations and leases in flight per task, the shared
/// policy's success, where assignments went, its goal and its leaderboard.
pub async fn status(State(app): State<Arc<App>>) -> ApiResult<Json<CrowdStatus>> {
    let now = now_ms();
    let (_, contributors) = app.db.counts().await?;
    Ok(Json(CrowdStatus {
        tasks: TaskId::ALL.iter().map(|t| t.name().to_string()).collect(),
        demonstrations: app.db.demonstrations_per_task().await?,
        pending: app.db.pending_per_task(now).await?,
        success: app.crowd.with_policy(|_, assessment, _, _| assessment.per_task.clone()),
        prior_success: app.crowd.prior_success.get().cloned(),
        contributors,
        rejected: app.metrics.rejected_counts(),
        version: app.crowd.version(),
        training: app.crowd.training.load(std::sync::atomic::Ordering::Relaxed),
        versions: app.db.versions().await?,
        selector: app.config.assignments.selector.name().to_string(),
        pending_aware: app.config.assignments.pending_aware,
        lease_seconds: app.config.assignments.lease_seconds,
        target_weights: app.config.assignments.target_weights.clone(),
        leases: app.db.lease_counts().await?,
        goal: app.config.goal,
        // Only contributors who chose to be listed, by the name they chose.
        leaderboard: app
            .db
            .leaderboard(LEADERBOARD_SIZE)
            .await?
            .into_iter()
            .map(|(display_name, demonstrations)| Standing { display_name, demonstrations })
            .collect(),
    }))
}

/// The latest version of the shared policy: the project's policy file (fine-tuned), as
/// the page loads it; 404 before the first version.
pub async fn latest_policy(State(app): State<Arc<App>>) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let Some(version) = super::training::latest_of_this_suite(&app).await? else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, RefusalCode::NoVersion, "the crowd's policy has no version yet"));
    };
    let weights = app.db.version_weights(version.id).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (axum::http::header::HeaderName::from_static("x-policy-version"), version.id.to_string()),
            (axum::http::header::HeaderName::from_static("x-policy-demonstrations"), version.demonstrations.to_string()),
        ],
        weights,
    )
        .into_response())
}

/// The settings' check at start: one weight per task, finite, not all zero.
pub fn check_settings(settings: &AssignmentSettings) -> anyhow::Result<()> {
    anyhow::ensure!(settings.target_weights.len() == NUM_TASKS, "--targets needs {NUM_TASKS} weights");
    anyhow::ensure!(settings.target_weights.iter().all(|w| w.is_finite() && *w >= 0.0), "target weights are finite and not negative");
    anyhow::ensure!(settings.target_weights.iter().any(|w| *w > 0.0), "at least one task needs a positive target weight");
    anyhow::ensure!(settings.lease_seconds > 0, "--lease-seconds must be at least 1");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prepared_gp_serves_while_the_sample_stays_and_counts_move_by_a_twentieth_at_most() {
        let prepared = PreparedFor { version: 3, sample: vec![1, 5, 9], counts: vec![100, 8, 0] };
        let now = |version, sample: Vec<i64>, counts: Vec<usize>| PreparedFor { version, sample, counts };
        assert!(prepared.serves(&now(3, vec![1, 5, 9], vec![100, 8, 0])));
        assert!(prepared.serves(&now(3, vec![1, 5, 9], vec![105, 8, 0])), "five more of a hundred");
        assert!(!prepared.serves(&now(3, vec![1, 5, 9], vec![106, 8, 0])));
        assert!(!prepared.serves(&now(3, vec![1, 5, 9], vec![100, 9, 0])), "one more of eight");
        assert!(!prepared.serves(&now(3, vec![1, 5, 9], vec![100, 8, 1])), "a first demonstration");
        assert!(!prepared.serves(&now(3, vec![1, 5, 10], vec![100, 8, 0])), "another sample");
        assert!(!prepared.serves(&now(4, vec![1, 5, 9], vec![100, 8, 0])), "another version");
    }
}
