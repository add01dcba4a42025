//! A teaching session as the page runs it: the settings, the selector's current
//! proposal, the rounds' history and the learning curve. Plain data with the loop's
//! rules, so the rules are tested natively and the page only stores, shows and forwards
//! it. The session does not keep its own list of the dataset: each demonstration in the
//! page's dataset carries its [`Standing`] (trained on, or waiting for the next round),
//! and the rules take the dataset's [`Tally`]. One round's work (replay, fine-tune, evaluate, select)
//! is [`crate::round::RoundJob`], which the page runs in a Web Worker.

pub mod chart;

use serde::{Deserialize, Serialize};

use crate::experiment::{weighted_mean, CurvePoint};
use crate::policy::BcConfig;
use crate::round::{Reweighing, RoundConfig};
use crate::select::{Selection, SelectorKind};
use crate::tasks::{TaskId, NUM_TASKS, SUITE_VERSION};

/// Where training runs: burn's CPU backend, or its wgpu backend on a GPU (WebGPU in a
/// browser). One name for the page's workers, the service's `--train-on` and the
/// rounds' logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// burn's CPU backend (flex).
    #[default]
    Cpu,
    /// burn's wgpu backend on a GPU: WebGPU in a browser; natively, a build with the
    /// `gpu-training` feature.
    // Sessions stored before the name was shared say "webgpu".
    #[serde(alias = "webgpu")]
    Gpu,
}

impl Engine {
    /// The name a log or a stored session gives it.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Cpu => "cpu",
            Engine::Gpu => "gpu",
        }
    }
}

/// Where a visitor wants fine-tuning to run in the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// WebGPU where the browser offers it and a quick measurement finds it faster.
    Auto,
    Cpu,
    WebGpu,
}

impl BackendChoice {
    pub const ALL: [BackendChoice; 3] = [BackendChoice::Auto, BackendChoice::Cpu, BackendChoice::WebGpu];

    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cpu => "cpu",
            BackendChoice::WebGpu => "webgpu",
        }
    }

    pub fn parse(name: &str) -> Option<BackendChoice> {
        BackendChoice::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// What a visitor can change (defaults in the field docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionSettings {
    /// Default: AMF.
    pub selector: SelectorKind,
    /// `mu(c)` per task (default: 1 for every task).
    pub target_weights: Vec<f64>,
    /// Demonstrations in the whole session (default 20).
    pub budget: usize,
    /// Demonstrations per round (default 2).
    pub batch: usize,
    /// Gradient steps per fine-tuning round (default [`crate::round::ROUND_STEPS`]).
    pub steps: usize,
    /// Evaluation rollouts per task after each round (default 5).
    pub eval_episodes: usize,
    /// Default: automatic.
    pub backend: BackendChoice,
    /// Send the autopilot's scripted runs to the collection service too, marked as the
    /// scripted expert's (default: no; only what the visitor demonstrates is sent).
    #[serde(default)]
    pub share_autopilot: bool,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            selector: SelectorKind::Amf,
            target_weights: vec![1.0; NUM_TASKS],
            budget: 20,
            batch: 2,
            steps: crate::round::ROUND_STEPS,
            eval_episodes: 5,
            backend: BackendChoice::Auto,
            share_autopilot: false,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error("the batch size must be between 1 and the budget")]
    Batch,
    #[error("the budget must be between 1 and 500 demonstrations")]
    Budget,
    #[error("fine-tuning needs between 10 and 20000 steps")]
    Steps,
    #[error("evaluation needs between 1 and 50 rollouts per task")]
    Episodes,
    #[error("target weights must be finite, non-negative, one per task, and not all zero")]
    Weights,
}

impl SessionSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=500).contains(&self.budget) {
            return Err(SettingsError::Budget);
        }
        if self.batch == 0 || self.batch > self.budget {
            return Err(SettingsError::Batch);
        }
        if !(10..=20_000).contains(&self.steps) {
            return Err(SettingsError::Steps);
        }
        if !(1..=50).contains(&self.eval_episodes) {
            return Err(SettingsError::Episodes);
        }
        let w = &self.target_weights;
        if w.len() != NUM_TASKS || w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().sum::<f64>() <= 0.0 {
            return Err(SettingsError::Weights);
        }
        Ok(())
    }

    /// A round's configuration for these settings: the runner's defaults but for what
    /// a visitor sets, one training a round and no rehearsal: a page's round must stay
    /// under 4 s, and weighing by agreement trains twice (docs/results.md). Every
    /// target of the page can be demonstrated, where a round does not rehearse anyway;
    /// saying so keeps the shipped openings' settings those of the page.
    pub fn round_config(&self) -> RoundConfig {
        let defaults = RoundConfig::default();
        RoundConfig {
            selector: self.selector,
            target_weights: self.target_weights.clone(),
            budget: self.budget,
            batch: self.batch,
            bc: BcConfig { steps: self.steps, ..defaults.bc.clone() },
            eval_episodes: self.eval_episodes,
            reweighing: Reweighing::None,
            rehearsal: 0.0,
            ..defaults
        }
    }

    pub fn is_target(&self, task: TaskId) -> bool {
        self.target_weights.get(task.index()).is_some_and(|&w| w > 0.0)
    }

    /// These settings for this build's suite. A session made with an older suite has
    /// fewer target weights (the suite grows at its end): the new tasks become targets if
    /// every task was one alike (the default), and stay out if the visitor had chosen.
    pub fn for_this_suite(mut self) -> SessionSettings {
        let weights = &mut self.target_weights;
        if weights.len() < NUM_TASKS {
            let all_alike = weights.iter().all(|&w| w > 0.0 && w == weights[0]);
            let fill = if all_alike { weights.first().copied().unwrap_or(1.0) } else { 0.0 };
            weights.resize(NUM_TASKS, fill);
        }
        self
    }
}

/// Who chose a demonstrated task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChosenBy {
    /// The visitor accepted the selector's proposal.
    Selector,
    /// The visitor picked the task themselves (or asked for another).
    Person,
    /// It came in a demonstration file.
    Imported,
}

/// A demonstrated task and who chose it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pick {
    pub task: TaskId,
    pub chosen_by: ChosenBy,
}

/// Where a demonstration in the dataset stands with the session: who chose its task,
/// and whether a round has trained on it (else it waits for the next one). Each entry
/// of the page's dataset carries its own, and storage keeps them by the
/// demonstration's key beside the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub chosen_by: ChosenBy,
    pub trained: bool,
}

impl Standing {
    /// A demonstration just counted: it waits for the next round.
    pub fn waiting(chosen_by: ChosenBy) -> Standing {
        Standing { chosen_by, trained: false }
    }
}

/// The dataset as the session's rules count it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Demonstrations a round trained on (and still in the dataset).
    pub trained: usize,
    /// Demonstrations waiting for the next round.
    pub waiting: usize,
}

impl Tally {
    pub fn of<'a>(standings: impl IntoIterator<Item = &'a Standing>) -> Tally {
        standings.into_iter().fold(Tally::default(), |t, s| {
            if s.trained {
                Tally { trained: t.trained + 1, ..t }
            } else {
                Tally { waiting: t.waiting + 1, ..t }
            }
        })
    }

    /// Demonstrations in the dataset.
    pub fn total(self) -> usize {
        self.trained + self.waiting
    }
}

/// A finished round: what was demonstrated and how training went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundLog {
    pub picks: Vec<Pick>,
    /// The cloning loss (action MSE) along training, thinned to at most 100 points.
    pub loss: Vec<f32>,
    /// Where it trained, in order: one engine, or the GPU then the CPU it fell back to.
    /// (Rounds stored before said it in words: "cpu", "webgpu", "webgpu, then cpu".)
    #[serde(deserialize_with = "engines_or_words")]
    pub backend: Vec<Engine>,
    pub train_seconds: f64,
    pub eval_seconds: f64,
    pub select_seconds: f64,
}

impl RoundLog {
    /// Where it trained, in words for the page ("WebGPU, then the CPU").
    pub fn trained_on(&self) -> String {
        let words: Vec<&str> = self.backend.iter().map(|e| if *e == Engine::Gpu { "WebGPU" } else { "the CPU" }).collect();
        words.join(", then ")
    }
}

/// The session, as stored between visits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Seeds fine-tuning, evaluation order and the selector's random choices.
    pub seed: u64,
    pub settings: SessionSettings,
    /// Success after 0 demonstrations (the pre-trained policy), then after each round.
    pub curve: Vec<CurvePoint>,
    pub rounds: Vec<RoundLog>,
    /// The selector's latest choice; the batch it proposes is worked through in order.
    pub selection: Option<Selection>,
    /// Tasks the visitor asked the selector to skip, until the next selection.
    pub declined: Vec<TaskId>,
    /// Where rounds train in this browser, once measured (kept, so the measurement is
    /// not repeated on every visit; one stored in an older shape is measured again).
    #[serde(default, deserialize_with = "or_measured_again")]
    pub backend: Option<BackendDecision>,
    /// The task suite the session's policies were made for (sessions stored before
    /// suite 3 do not say: suite 2's have its sixteen tasks, suite 1's fewer).
    #[serde(default = "suite_before_it_was_stored")]
    pub suite_version: u32,
}

fn suite_before_it_was_stored() -> u32 {
    2
}

/// Where rounds train for a backend preference, and why: the WebGPU worker's answer,
/// kept with the session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendDecision {
    pub preference: BackendChoice,
    pub engine: Engine,
    pub reason: String,
    /// The trial's speeds, where `Auto` measured both.
    #[serde(default)]
    pub cpu_samples_per_second: Option<f64>,
    #[serde(default)]
    pub gpu_samples_per_second: Option<f64>,
}

impl BackendDecision {
    /// Rounds train on the CPU, for `reason`; nothing measured.
    pub fn cpu(preference: BackendChoice, reason: String) -> BackendDecision {
        BackendDecision { preference, engine: Engine::Cpu, reason, cpu_samples_per_second: None, gpu_samples_per_second: None }
    }
}

/// A round's engines as stored: a list, or the words older sessions wrote.
fn engines_or_words<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Engine>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Engines(Vec<Engine>),
        Words(String),
    }
    Ok(match Stored::deserialize(deserializer)? {
        Stored::Engines(engines) => engines,
        Stored::Words(words) => words.split(", then ").map(|w| if w.trim() == "webgpu" { Engine::Gpu } else { Engine::Cpu }).collect(),
    })
}

/// A stored decision, or none where it has an older shape (it is measured again).
fn or_measured_again<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<BackendDecision>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

impl Session {
    pub fn new(seed: u64, settings: SessionSettings) -> Session {
        Session {
            seed,
            settings,
            curve: Vec::new(),
            rounds: Vec::new(),
            selection: None,
            declined: Vec::new(),
            backend: None,
            suite_version: SUITE_VERSION,
        }
    }

    /// Demonstrations per task in the history (the rounds' picks, deleted ones too) and
    /// those `waiting` for the next round.
    pub fn demonstrations_per_task(&self, waiting: impl IntoIterator<Item = TaskId>) -> Vec<usize> {
        let mut counts = vec![0; NUM_TASKS];
        let trained = self.rounds.iter().flat_map(|r| &r.picks).map(|p| p.task);
        for task in trained.chain(waiting) {
            counts[task.index()] += 1;
        }
        counts
    }

    pub fn budget_left(&self, dataset: Tally) -> usize {
        self.settings.budget.saturating_sub(dataset.total())
    }

    /// The task the selector proposes now: the next of its batch not yet demonstrated in
    /// this round, skipping declined tasks; if it declined them all, the best-scoring
    /// target task not declined. `None` before the first selection or once the budget
    /// is spent.
    pub fn proposal(&self, dataset: Tally) -> Option<TaskId> {
        let selection = self.selection.as_ref()?;
        if self.budget_left(dataset) == 0 {
            return None;
        }
        let task_of = |i: usize| TaskId::ALL.get(i).copied();
        let open = |t: &TaskId| !self.declined.contains(t) && self.settings.is_target(*t);
        let from_batch = selection.picks.iter().skip(dataset.waiting).filter_map(|&i| task_of(i)).find(open);
        from_batch.or_else(|| {
            let mut ranked: Vec<_> = selection.scores.iter().filter_map(|s| Some((task_of(s.task)?, s.score))).collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            ranked.into_iter().map(|(t, _)| t).find(open)
        })
    }

    /// The visitor asks for another task than `task`.
    pub fn decline(&mut self, task: TaskId, dataset: Tally) {
        if !self.declined.contains(&task) {
            self.declined.push(task);
        }
        // Every target declined: start over rather than propose nothing.
        if self.proposal(dataset).is_none() && self.budget_left(dataset) > 0 {
            self.declined.clear();
            self.declined.push(task);
            if self.proposal(dataset).is_none() {
                self.declined.clear();
            }
        }
    }

    /// A demonstration joined the dataset: the visitor's declines are over.
    pub fn counted(&mut self) {
        self.declined.clear();
    }

    /// Whether the session was made with this build's task suite: its weights and every
    /// point of its curve have one entry per task, and its policies read this build's
    /// observation. One of an older suite was measured by policies this build cannot
    /// read, on fewer tasks or on an observation without the gripper's velocity.
    pub fn is_of_this_suite(&self) -> bool {
        self.suite_version == SUITE_VERSION
            && self.settings.target_weights.len() == NUM_TASKS
            && self.curve.iter().all(|p| p.per_task.len() == NUM_TASKS)
    }

    /// Where each stored demonstration stands after a reload. `records`: the stored
    /// demonstrations' tasks, oldest first, each with the standing stored beside the
    /// session, if one was. One stored after the session was last stored (the page closed
    /// between the two writes) waits for the next round, as the selector's pick if it
    /// was the proposal. A session stored before standings were kept (`legacy`) counted
    /// its waiting demonstrations itself: they are the newest records, and the rest were
    /// trained on.
    pub fn standings_after_reload(&self, records: &[(TaskId, Option<Standing>)], legacy: Option<&LegacyCount>) -> Vec<Standing> {
        let known: Vec<Option<Standing>> = match legacy {
            Some(legacy) => {
                let counted = legacy.standings(self, records.len());
                (0..records.len()).map(|i| counted.get(i).copied()).collect()
            }
            None => records.iter().map(|(_, standing)| *standing).collect(),
        };
        let mut standings: Vec<Standing> = Vec::with_capacity(records.len());
        for (&(task, _), known) in records.iter().zip(known) {
            let standing = known.unwrap_or_else(|| {
                let proposed = self.proposal(Tally::of(&standings)) == Some(task);
                Standing::waiting(if proposed { ChosenBy::Selector } else { ChosenBy::Person })
            });
            standings.push(standing);
        }
        standings
    }

    /// Whether the waiting demonstrations make a round: a full batch, or the last
    /// demonstrations of the budget.
    pub fn round_due(&self, dataset: Tally) -> bool {
        dataset.waiting > 0 && (dataset.waiting >= self.settings.batch || self.budget_left(dataset) == 0)
    }

    /// The starting policy's assessment and the selector's first choice.
    pub fn start(&mut self, per_task: Vec<f64>, selection: Option<Selection>) {
        self.curve = vec![self.point(0, per_task)];
        self.selection = selection;
        self.declined.clear();
    }

    /// A round finished: `log.picks` are the waiting demonstrations it trained on, and
    /// `trained` demonstrations of the dataset are now trained on in all (those counted
    /// while it ran wait for the next). `selection` is `None` once the budget is spent.
    pub fn finish_round(&mut self, trained: usize, per_task: Vec<f64>, selection: Option<Selection>, log: RoundLog) {
        self.rounds.push(log);
        let point = self.point(trained, per_task);
        self.curve.push(point);
        if selection.is_some() {
            self.selection = selection;
        }
        self.declined.clear();
    }

    fn point(&self, demonstrations: usize, per_task: Vec<f64>) -> CurvePoint {
        CurvePoint {
            demonstrations,
            mean_success: weighted_mean(&per_task, &self.settings.target_weights),
            per_task,
            mean_error: None,
        }
    }
}

/// What a session stored before standings were kept said of its dataset: the waiting
/// demonstrations' picks (the newest last), and how many trained ones were deleted.
/// Read from the same stored value as the session, once, when such a session reloads.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct LegacyCount {
    #[serde(default)]
    pub pending: Vec<Pick>,
    #[serde(default)]
    pub deleted: usize,
}

impl LegacyCount {
    /// The standings of the first of `records` it accounts for: the trained ones first
    /// (who chose them is known from the rounds where none was deleted since), then the
    /// waiting ones.
    fn standings(&self, session: &Session, records: usize) -> Vec<Standing> {
        let picks: Vec<Pick> = session.rounds.iter().flat_map(|r| r.picks.iter().copied()).collect();
        let trained = picks.len().saturating_sub(self.deleted).min(records);
        let trained_standing = |i: usize| Standing {
            chosen_by: if self.deleted == 0 { picks[i].chosen_by } else { ChosenBy::Person },
            trained: true,
        };
        let waiting = self.pending.iter().take(records - trained).map(|p| Standing::waiting(p.chosen_by));
        (0..trained).map(trained_standing).chain(waiting).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::TaskScore;

    fn selection(picks: &[TaskId], scores: &[f64]) -> Selection {
        Selection {
            picks: picks.iter().map(|t| t.index()).collect(),
            scores: scores
                .iter()
                .enumerate()
                .map(|(task, &score)| TaskScore { task, name: TaskId::ALL[task].name().into(), score, proxy: None })
                .collect(),
            reason: String::new(),
        }
    }

    fn log() -> RoundLog {
        RoundLog { picks: vec![], loss: vec![], backend: vec![Engine::Cpu], train_seconds: 0.0, eval_seconds: 0.0, select_seconds: 0.0 }
    }

    /// A session stored before the backend's names were shared reads back: its rounds'
    /// engines from their words, and its old-shaped decision dropped, to be measured
    /// again; a current one round-trips.
    #[test]
    fn a_session_stored_with_the_old_backend_words_reads_back() {
        let mut session = Session::new(1, SessionSettings::default());
        session.rounds = vec![log(), log()];
        session.backend = Some(BackendDecision { engine: Engine::Gpu, ..BackendDecision::cpu(BackendChoice::Auto, "WebGPU".into()) });
        let current: Session = serde_json::from_value(serde_json::to_value(&session).unwrap()).unwrap();
        assert_eq!(current, session);
        let mut old = serde_json::to_value(&session).unwrap();
        old["rounds"][0]["backend"] = "webgpu, then cpu".into();
        old["rounds"][1]["backend"] = "webgpu".into();
        old["backend"] = serde_json::json!({ "preference": "auto", "webgpu": true, "reason": "WebGPU" });
        let read: Session = serde_json::from_value(old).unwrap();
        assert_eq!(read.rounds[0].backend, vec![Engine::Gpu, Engine::Cpu]);
        assert_eq!(read.rounds[1].backend, vec![Engine::Gpu]);
        assert_eq!(read.backend, None);
    }

    /// The dataset's side, as the page keeps it: each demonstration with its standing.
    #[derive(Default)]
    struct Dataset(Vec<(TaskId, Standing)>);

    impl Dataset {
        fn tally(&self) -> Tally {
            Tally::of(self.0.iter().map(|(_, s)| s))
        }

        fn add(&mut self, session: &mut Session, task: TaskId, chosen_by: ChosenBy) {
            self.0.push((task, Standing::waiting(chosen_by)));
            session.counted();
        }

        /// A round trained on every waiting demonstration: their picks, for its log.
        fn train(&mut self) -> Vec<Pick> {
            let waiting = self.0.iter_mut().filter(|(_, s)| !s.trained);
            waiting.map(|(task, s)| {
                s.trained = true;
                Pick { task: *task, chosen_by: s.chosen_by }
            })
            .collect()
        }
    }

    #[test]
    fn proposals_follow_the_batch_then_the_scores_and_skip_declined_tasks() {
        let settings = SessionSettings { batch: 2, budget: 3, ..SessionSettings::default() };
        let mut session = Session::new(1, settings);
        let mut dataset = Dataset::default();
        assert_eq!(session.proposal(dataset.tally()), None);
        let mut scores = vec![0.0; NUM_TASKS];
        scores[TaskId::LeverPull.index()] = 0.9;
        scores[TaskId::DoorOpen.index()] = 0.5;
        scores[TaskId::Reach.index()] = 0.1;
        session.start(vec![0.5; NUM_TASKS], Some(selection(&[TaskId::LeverPull, TaskId::DoorOpen], &scores)));
        assert_eq!(session.proposal(dataset.tally()), Some(TaskId::LeverPull));

        // Asking for another moves down the batch, then down the scores.
        session.decline(TaskId::LeverPull, dataset.tally());
        assert_eq!(session.proposal(dataset.tally()), Some(TaskId::DoorOpen));
        session.decline(TaskId::DoorOpen, dataset.tally());
        assert_eq!(session.proposal(dataset.tally()), Some(TaskId::Reach));

        // A demonstration clears the declines and advances through the batch.
        dataset.add(&mut session, TaskId::Reach, ChosenBy::Person);
        assert!(!session.round_due(dataset.tally()));
        assert_eq!(session.proposal(dataset.tally()), Some(TaskId::DoorOpen));
        dataset.add(&mut session, TaskId::DoorOpen, ChosenBy::Selector);
        assert!(session.round_due(dataset.tally()));

        let picks = dataset.train();
        session.finish_round(dataset.tally().trained, vec![1.0; NUM_TASKS], Some(selection(&[TaskId::Push, TaskId::Push], &scores)), RoundLog { picks, ..log() });
        assert_eq!(dataset.tally(), Tally { trained: 2, waiting: 0 });
        assert_eq!(session.rounds[0].picks[1], Pick { task: TaskId::DoorOpen, chosen_by: ChosenBy::Selector });
        assert_eq!(session.curve.iter().map(|p| p.demonstrations).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(session.demonstrations_per_task([TaskId::Reach])[TaskId::Reach.index()], 2);

        // The budget's last demonstration makes a round even if the batch is not full.
        dataset.add(&mut session, TaskId::Push, ChosenBy::Selector);
        assert!(session.round_due(dataset.tally()));
        assert_eq!(session.proposal(dataset.tally()), None, "the budget is spent");
    }

    #[test]
    fn declining_every_target_starts_over_and_non_targets_are_never_proposed() {
        let mut weights = vec![0.0; NUM_TASKS];
        weights[TaskId::Push.index()] = 1.0;
        weights[TaskId::Reach.index()] = 2.0;
        let mut session = Session::new(1, SessionSettings { target_weights: weights, ..SessionSettings::default() });
        let none = Tally::default();
        let scores: Vec<f64> = (0..NUM_TASKS).map(|i| i as f64).collect();
        session.start(vec![0.0; NUM_TASKS], Some(selection(&[TaskId::LeverPull], &scores)));
        // Lever pull is not a target any more: the best-scoring target instead.
        assert_eq!(session.proposal(none), Some(TaskId::Push));
        session.decline(TaskId::Push, none);
        assert_eq!(session.proposal(none), Some(TaskId::Reach));
        session.decline(TaskId::Reach, none);
        assert_eq!(session.proposal(none), Some(TaskId::Push), "declining both targets starts over");
        // The curve's mean follows the target weights.
        session.finish_round(
            0,
            (0..NUM_TASKS).map(|i| if i == TaskId::Reach.index() { 1.0 } else { 0.0 }).collect(),
            Some(selection(&[TaskId::Push], &scores)),
            log(),
        );
        assert!((session.curve[1].mean_success - 2.0 / 3.0).abs() < 1e-12);
    }

    /// A reload keeps the stored standings, wherever the demonstrations are, and adopts
    /// a demonstration stored after the session was (as the selector's pick if it was
    /// the proposal).
    #[test]
    fn a_reload_keeps_stored_standings_and_adopts_demonstrations_stored_after_the_session() {
        let mut session = Session::new(1, SessionSettings { batch: 3, ..SessionSettings::default() });
        session.start(vec![0.0; NUM_TASKS], Some(selection(&[TaskId::DoorOpen, TaskId::LeverPull, TaskId::Push], &[0.0; NUM_TASKS])));
        let trained = Standing { chosen_by: ChosenBy::Imported, trained: true };
        let door = Standing::waiting(ChosenBy::Selector);
        // Stored: a trained push, the door, then a lever pull and a reach whose session
        // update was lost.
        let records = [(TaskId::Push, Some(trained)), (TaskId::DoorOpen, Some(door)), (TaskId::LeverPull, None), (TaskId::Reach, None)];
        let standings = session.standings_after_reload(&records, None);
        assert_eq!(standings, vec![trained, door, Standing::waiting(ChosenBy::Selector), Standing::waiting(ChosenBy::Person)]);
        // A trained one stored after a waiting one (restored by "Undo") stays trained.
        let records = [(TaskId::DoorOpen, Some(door)), (TaskId::Push, Some(trained))];
        assert_eq!(session.standings_after_reload(&records, None), vec![door, trained]);
    }

    /// A session stored before the standings were kept counted its own waiting
    /// demonstrations: they are the newest records, the rest were trained on, and who
    /// chose a trained one is known from the rounds unless one was deleted since.
    #[test]
    fn a_session_stored_before_standings_reads_its_own_count() {
        let mut session = Session::new(1, SessionSettings { batch: 2, budget: 5, ..SessionSettings::default() });
        session.start(vec![0.0; NUM_TASKS], Some(selection(&[TaskId::Reach, TaskId::Push], &[0.0; NUM_TASKS])));
        let door = Pick { task: TaskId::DoorOpen, chosen_by: ChosenBy::Selector };
        let lever = Pick { task: TaskId::LeverPull, chosen_by: ChosenBy::Person };
        session.finish_round(2, vec![0.0; NUM_TASKS], None, RoundLog { picks: vec![door, lever], ..log() });
        let mut stored = serde_json::to_value(&session).unwrap();
        stored["pending"] = serde_json::json!([{ "task": "push", "chosen_by": "imported" }]);
        stored["deleted"] = 0.into();
        let legacy: LegacyCount = serde_json::from_value(stored.clone()).unwrap();
        let read: Session = serde_json::from_value(stored).unwrap();
        assert_eq!(read, session);
        // Stored: both trained ones, the waiting push, and a reach the session missed.
        let records = [(TaskId::DoorOpen, None), (TaskId::LeverPull, None), (TaskId::Push, None), (TaskId::Reach, None)];
        let standings = read.standings_after_reload(&records, Some(&legacy));
        let trained = |chosen_by| Standing { chosen_by, trained: true };
        assert_eq!(
            standings,
            vec![trained(ChosenBy::Selector), trained(ChosenBy::Person), Standing::waiting(ChosenBy::Imported), Standing::waiting(ChosenBy::Person)]
        );
        // One trained demonstration deleted since: one record is trained, of unknown choice.
        let legacy = LegacyCount { deleted: 1, ..legacy };
        let standings = read.standings_after_reload(&records[1..3], Some(&legacy));
        assert_eq!(standings, vec![trained(ChosenBy::Person), Standing::waiting(ChosenBy::Imported)]);
    }

    #[test]
    fn deleting_a_demonstration_frees_its_budget() {
        let mut session = Session::new(1, SessionSettings { batch: 2, budget: 3, ..SessionSettings::default() });
        let mut dataset = Dataset::default();
        session.start(vec![0.0; NUM_TASKS], Some(selection(&[TaskId::DoorOpen, TaskId::Push], &[0.0; NUM_TASKS])));
        dataset.add(&mut session, TaskId::DoorOpen, ChosenBy::Selector);
        dataset.add(&mut session, TaskId::Push, ChosenBy::Selector);
        let picks = dataset.train();
        session.finish_round(2, vec![0.5; NUM_TASKS], Some(selection(&[TaskId::Reach], &[0.0; NUM_TASKS])), RoundLog { picks, ..log() });
        dataset.add(&mut session, TaskId::Reach, ChosenBy::Imported);
        assert_eq!((dataset.tally().total(), session.budget_left(dataset.tally())), (3, 0));
        dataset.0.retain(|(task, _)| *task == TaskId::DoorOpen);
        assert_eq!((dataset.tally(), session.budget_left(dataset.tally())), (Tally { trained: 1, waiting: 0 }, 2));
        assert!(!session.round_due(dataset.tally()));
        assert_eq!(session.rounds[0].picks.len(), 2, "the history keeps what was deleted");
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(SessionSettings::default().validate(), Ok(()));
        let bad = |change: fn(&mut SessionSettings)| {
            let mut s = SessionSettings::default();
            change(&mut s);
            s.validate().unwrap_err()
        };
        assert_eq!(bad(|s| s.batch = 0), SettingsError::Batch);
        assert_eq!(bad(|s| s.batch = 30), SettingsError::Batch);
        assert_eq!(bad(|s| s.steps = 1), SettingsError::Steps);
        assert_eq!(bad(|s| s.target_weights = vec![0.0; NUM_TASKS]), SettingsError::Weights);
        assert_eq!(bad(|s| s.target_weights[0] = f64::NAN), SettingsError::Weights);
        assert_eq!(bad(|s| s.eval_episodes = 0), SettingsError::Episodes);
    }
}
