//! The reducer: [`PageState::update`] takes an action, changes the state and returns the
//! effects for the shell to carry out. This file holds the loading, the teaching loop's
//! phases, the dataset and storage replies; `jobs.rs` the rounds, workers and the
//! comparison.
//!
//! What the page promises about storage: where the browser stores, a demonstration is
//! stored before it is counted; one whose write fails is not counted but kept aside
//! with its error, to retry or export (it is lost only if the page is closed first).
//! Where the browser stores nothing, the page says so at once, and demonstrations count
//! but live in memory until the visitor leaves. Every failure becomes a notice.

use std::rc::Rc;

use super::action::{Action, DemonstrationEnd, Effect, Restored, StorageError, WatchFailure, Watched};
use super::state::*;
use crate::demo_file::DemonstrationFile;
use crate::record::DemonstrationRecord;
use crate::session::{ChosenBy, SessionSettings, Standing};
use crate::tasks::{TaskId, NUM_TASKS};

/// Milliseconds the autopilot waits before demonstrating, so the page shows what was
/// asked.
pub const AUTOPILOT_PAUSE_MS: u32 = 700;
/// What a first visit practises on: the easiest task, reaching a ball.
pub const PRACTICE_TASK: crate::tasks::TaskId = crate::tasks::TaskId::Reach;

impl PageState {
    /// Applies `action` and returns what the shell must do.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let mut fx = Vec::new();
        match action {
            Action::Loaded { prior, openings, storage, entropy, webgpu_in_browser } => {
                self.rng = entropy;
                self.webgpu_in_browser = webgpu_in_browser;
                self.openings = openings;
                self.loaded(prior, storage, &mut fx);
            }
            Action::Dismiss(index) => {
                if index < self.notices.len() {
                    self.notices.remove(index);
                }
            }
            Action::Demonstrate { task, chosen_by } => {
                if matches!(self.phase, Phase::Idle | Phase::TimeUp { .. } | Phase::Demonstrating { .. }) && self.started() {
                    self.just_saved = None;
                    self.crowd.feedback = None;
                    self.practising = false;
                    self.phase = Phase::Demonstrating { task, chosen_by };
                    let seed = self.demonstration_seed(task, chosen_by, &mut fx);
                    fx.push(Effect::StartDemonstration { task, seed, by_expert: self.autopilot });
                }
            }
            Action::Decline(task) => {
                if self.assignment(super::assignment::AssignmentMsg::Decline(task), &mut fx) {
                    return self.finish(fx);
                }
                let dataset = self.dataset.tally();
                if let Some(session) = self.session.as_mut() {
                    session.decline(task, dataset);
                    self.store_session(&mut fx);
                }
            }
            Action::DiscardAttempt => {
                if matches!(self.phase, Phase::Demonstrating { .. } | Phase::TimeUp { .. }) {
                    fx.push(Effect::AbandonDemonstration);
                    self.phase = Phase::Idle;
                }
            }
            Action::ToggleGrip => fx.push(Effect::ToggleGrip),
            Action::DemonstrationEnded(end) => self.demonstration_ended(end, &mut fx),
            Action::DiscardSaved => self.discard_saved(&mut fx),
            Action::TrainNow => self.train(&mut fx),
            Action::CancelRound => self.cancel_round(&mut fx),
            Action::RetryStart => self.restart_session(&mut fx),
            Action::SetAutopilot(on) => {
                self.autopilot = on;
                self.autopilot_next(&mut fx);
            }
            Action::AutopilotTick => {
                if self.autopilot && matches!(self.phase, Phase::Idle | Phase::TimeUp { .. }) {
                    match self.proposal() {
                        Some(task) => return self.update(Action::Demonstrate { task, chosen_by: ChosenBy::Selector }),
                        None => self.autopilot = false,
                    }
                }
            }
            Action::ApplySettings(settings) => self.apply_settings(settings, &mut fx),
            Action::NewSession => match self.storage {
                Storage::Available => fx.push(Effect::ClearStorage),
                _ => self.new_session(&mut fx),
            },
            Action::StorageCleared(Ok(())) => self.new_session(&mut fx),
            Action::StorageCleared(Err(error)) => self.error(format!("The stored session could not be cleared, so it goes on: {error}")),
            Action::Delete(index) => self.delete(index, &mut fx),
            Action::Undo => self.undo(&mut fx),
            Action::Replay(index) => {
                if let Some(entry) = self.dataset.entries.get(index) {
                    fx.push(Effect::Replay(entry.record.clone()));
                }
            }
            Action::RetryUnsaved => {
                for unsaved in std::mem::take(&mut self.dataset.unsaved) {
                    self.save(unsaved.record, SaveFor::Retried(unsaved.chosen_by), &mut fx);
                }
            }
            Action::Export => {
                let settings = self.session.as_ref().map(|s| s.settings.clone());
                let json = DemonstrationFile::new(&self.dataset.all_records(), settings, true).to_json();
                fx.push(Effect::Download { name: "amf-studio-demonstrations.json".into(), mime: "application/json", bytes: json.into_bytes() });
            }
            // Written on a worker of its own (its writers are not in the page's module).
            Action::ExportLeRobot => {
                if !self.dataset.exporting {
                    self.dataset.exporting = true;
                    fx.push(Effect::ExportLeRobot { records: self.dataset.all_records() });
                }
            }
            Action::LeRobotExported(zipped) => {
                self.dataset.exporting = false;
                match zipped {
                    Ok(bytes) => fx.push(Effect::Download { name: "amf-studio-lerobot.zip".into(), mime: "application/zip", bytes }),
                    Err(error) => self.error(format!("The LeRobot dataset could not be exported: {error}")),
                }
            }
            Action::Import(bytes) => self.import(bytes, &mut fx),
            Action::ImportRefused(why) => self.error(format!("The file was not imported: {why}. Your dataset is unchanged.")),
            Action::Watch(what) => {
                let what = match what {
                    Watched::FineTuned if !self.tuned => Watched::Pretrained,
                    Watched::Crowd if self.crowd.shared_version.is_none() => Watched::Pretrained,
                    what => what,
                };
                if !matches!(self.phase, Phase::Demonstrating { .. } | Phase::Saving { .. }) {
                    self.next_id += 1;
                    let ticket = self.next_id;
                    fx.push(Effect::Watch { what, ticket });
                    if what != Watched::Expert {
                        self.watching = Some(WatchRequest { ticket, what });
                    }
                }
            }
            // Only the latest request's reply plays, and only if nothing took the stage
            // since (a task shown, a demonstration begun, a replay).
            Action::PolicyRolledOut { ticket, result } => {
                let Some(request) = self.watching.take_if(|w| w.ticket == ticket) else { return fx };
                match result {
                    Ok(rollout) => fx.push(Effect::PlayRollout(rollout)),
                    Err(WatchFailure::Unreadable(error)) if request.what == Watched::FineTuned => {
                        self.tuned = false;
                        fx.push(Effect::AdoptTuned(None));
                        self.error(format!("The fine-tuned policy could not be read ({error}); the next round makes a new one."));
                    }
                    Err(error) => self.error(format!("The policy could not be played: {error}.")),
                }
            }
            Action::ShowTask(task) => {
                if !matches!(self.phase, Phase::Demonstrating { .. } | Phase::Saving { .. }) {
                    let seed = self.next_seed();
                    fx.push(Effect::ShowTask { task, seed });
                }
            }
            Action::StartComparison => self.start_comparison(&mut fx),
            Action::StopComparison => self.stop_comparison(&mut fx),
            Action::DemonstrationStored { id, result } => self.stored(id, result, &mut fx),
            Action::DemonstrationDeleted { result } => {
                if let Err(error) = result {
                    self.error(format!("A deleted demonstration could not be removed from storage, so it comes back after a reload: {error}"));
                }
            }
            Action::SessionStored(result) => {
                if let Err(error) = result {
                    self.error(format!("The session could not be saved: {error}"));
                }
            }
            Action::PolicyStored(result) => {
                if let Err(error) = result {
                    self.error(format!("The fine-tuned policy could not be stored (it stays until you leave): {error}"));
                }
            }
            Action::TunedUnreadable(error) => {
                self.tuned = false;
                self.error(format!("The fine-tuned policy could not be read ({error}); the next round makes a new one."));
            }
            Action::DownloadFailed(error) => self.error(format!("The file could not be offered for download: {error}")),
            Action::FromWorker { worker, message } => {
                if self.workers.is_live(worker) {
                    self.worker_message(worker, message, &mut fx);
                }
            }
            Action::WorkerDied { worker, message } => {
                if self.workers.is_live(worker) {
                    self.worker_died(worker, message.trim_end_matches('.').to_string(), &mut fx);
                }
            }
            Action::ServiceProbed(reachable) => self.service_probed(reachable, &mut fx),
            Action::AnswerConsent(agreed) => self.answer_consent(agreed, &mut fx),
            Action::ReconsiderConsent => self.reconsider_consent(&mut fx),
            Action::LicenceAgreed(result) => self.licence_agreed(result, &mut fx),
            Action::Registered(result) => self.registered(result, &mut fx),
            Action::Uploaded { key, outcome } => self.uploaded(key, outcome, &mut fx),
            Action::SyncTick => self.sync_tick(&mut fx),
            Action::StorageFailed { what, error } => self.error(format!("The {what} could not be saved in this browser: {error}")),
            Action::Account(msg) => self.account(msg, &mut fx),
            Action::DismissFeedback => self.crowd.feedback = None,
            Action::Practise => {
                if matches!(self.phase, Phase::Idle | Phase::TimeUp { .. }) && self.started() {
                    self.phase = Phase::Idle;
                    self.practising = true;
                    let seed = self.next_seed();
                    fx.push(Effect::StartPractice { task: PRACTICE_TASK, seed });
                }
            }
            Action::EndPractice => {
                if std::mem::take(&mut self.practising) {
                    if let Some(task) = self.proposal() {
                        return self.update(Action::ShowTask(task));
                    }
                }
            }
            Action::Operator(msg) => self.operator(msg, &mut fx),
            Action::Assignment(msg) => {
                self.assignment(msg, &mut fx);
            }
            Action::Dashboard(msg) => self.dashboard(msg, &mut fx),
            Action::SharedPolicyLoaded(result) => self.shared_policy_loaded(result),
        }
        self.finish(fx)
    }

    /// Whatever else takes the stage cancels a policy's rollout still being asked for
    /// (asking for one does not take it).
    fn finish(&mut self, fx: Vec<Effect>) -> Vec<Effect> {
        if fx.iter().any(Effect::takes_the_stage) {
            self.watching = None;
        }
        fx
    }

    // ---- notices ----

    pub(super) fn notify(&mut self, kind: NoticeKind, text: String) {
        self.notices.retain(|n| n.text != text);
        self.notices.push(Notice { kind, text });
    }

    pub(super) fn error(&mut self, text: String) {
        self.notify(NoticeKind::Error, text);
    }

    pub(super) fn info(&mut self, text: String) {
        self.notify(NoticeKind::Info, text);
    }

    pub(super) fn store_session(&self, fx: &mut Vec<Effect>) {
        if let (Some(session), Storage::Available) = (&self.session, &self.storage) {
            fx.push(Effect::StoreSession { session: Box::new(session.clone()), standings: self.dataset.standings() });
        }
    }

    // ---- loading ----

    fn loaded(&mut self, prior: Result<(), String>, storage: Result<Restored, StorageError>, fx: &mut Vec<Effect>) {
        let restored = match storage {
            Ok(restored) => {
                self.storage = Storage::Available;
                restored
            }
            Err(error) => {
                self.error(format!(
                    "Demonstrations cannot be saved in this browser ({error}). They count, but only until you leave: export them to keep them."
                ));
                self.storage = Storage::Unavailable(error.to_string());
                Restored::default()
            }
        };
        if let Err(error) = prior {
            self.phase = Phase::Broken(format!("The policy could not be loaded: {error}"));
            return;
        }
        let mut session = restored.session;
        let mut carried = None;
        if let Some(older) = session.take_if(|s| !s.is_of_this_suite()) {
            self.info(format!(
                "Your session was made with an earlier version of the tasks and their policy. Its demonstrations are kept; a new session starts with today's {NUM_TASKS} tasks."
            ));
            carried = Some(older.settings.for_this_suite());
        }
        match restored.tuned {
            Some(Ok(())) => self.tuned = true,
            // An older session's fine-tuned policy cannot fit this suite: said above.
            Some(Err(_)) if carried.is_some() => {}
            Some(Err(error)) => self.error(format!("The stored fine-tuned policy could not be read ({error}); the next round makes a new one.")),
            None => {}
        }
        self.crowd.credentials = restored.credentials;
        self.crowd.consent = restored.consent;
        fx.push(Effect::ProbeService);
        let stored: std::collections::BTreeMap<u32, Standing> = restored.standings.into_iter().collect();
        let known: Vec<(TaskId, Option<Standing>)> = restored.records.iter().map(|(key, r)| (r.task, stored.get(key).copied())).collect();
        let standings = match &session {
            Some(session) => session.standings_after_reload(&known, restored.legacy.as_ref()),
            // No session of this suite: what is stored waits (the carried-over branch
            // below counts it as imported).
            None => known.iter().map(|_| Standing::waiting(ChosenBy::Imported)).collect(),
        };
        let mut sync: std::collections::BTreeMap<u32, super::crowd::SyncState> = restored.sync.into_iter().collect();
        for ((key, record), standing) in restored.records.into_iter().zip(standings) {
            let id = self.next_id();
            self.dataset.entries.push(Entry { id, key: Some(key), record: Rc::new(record), sync: sync.remove(&key), standing });
        }
        self.session = session;
        self.phase = Phase::Idle;
        self.spawn(WorkerSlot::Cpu, fx);
        if self.started() {
            if self.round_due() {
                // The page was closed during a round: run it again.
                self.train(fx);
            }
        } else if self.session.is_some() {
            // Stored before its start finished: start it again, keeping what it counted
            // (the waiting demonstrations reconciled above).
            self.restart_session(fx);
        } else if let Some(settings) = carried {
            self.start_session(settings, fx);
            // The older session's demonstrations still replay: they wait for the new
            // session's first round, as an import's do (and a reload finds them so).
            self.store_session(fx);
            // A start read from the shipped proposals is done already: its first round
            // may be due.
            if self.started() && self.round_due() {
                self.train(fx);
            }
        } else {
            self.start_session(SessionSettings::default(), fx);
        }
    }

    // ---- demonstrations ----

    fn demonstration_ended(&mut self, end: DemonstrationEnd, fx: &mut Vec<Effect>) {
        let Phase::Demonstrating { task, chosen_by } = self.phase else { return };
        match end {
            DemonstrationEnd::TimeUp => {
                let (last, n) = self.failed_in_a_row;
                self.failed_in_a_row = (Some(task), if last == Some(task) { n + 1 } else { 1 });
                self.phase = Phase::TimeUp { task, chosen_by };
            }
            DemonstrationEnd::Success(record) => {
                self.failed_in_a_row = (None, 0);
                self.phase = Phase::Saving { task };
                self.save(Rc::new(record), SaveFor::Demonstrated(chosen_by), fx);
            }
        }
    }

    /// Stores `record`, or where nothing can be stored, counts it at once.
    fn save(&mut self, record: Rc<DemonstrationRecord>, purpose: SaveFor, fx: &mut Vec<Effect>) {
        let id = self.next_id();
        if let (Some(import), SaveFor::Imported) = (self.import.as_mut(), purpose) {
            import.waiting.push(id);
        }
        self.dataset.saving.push(Saving { id, record: record.clone(), purpose });
        match self.storage {
            Storage::Available => fx.push(Effect::StoreDemonstration { id, record }),
            _ => self.stored(id, Err(StorageError::Unavailable("no storage".into())), fx),
        }
    }

    /// A write finished: the demonstration joins the dataset, or waits aside.
    fn stored(&mut self, id: u64, result: Result<u32, StorageError>, fx: &mut Vec<Effect>) {
        let Some(at) = self.dataset.saving.iter().position(|s| s.id == id) else { return };
        let Saving { record, purpose, .. } = self.dataset.saving.remove(at);
        let memory_only = !matches!(self.storage, Storage::Available);
        let key = match result {
            Ok(key) => Some(key),
            Err(_) if memory_only => None,
            Err(error) => {
                let chosen_by = match purpose {
                    SaveFor::Demonstrated(c) | SaveFor::Retried(c) => c,
                    SaveFor::Restored { standing, .. } => standing.chosen_by,
                    SaveFor::Imported => ChosenBy::Imported,
                };
                self.error(format!(
                    "A demonstration of {} could not be saved, so it is not counted yet: {error}. It is kept in this page: retry, or export it, before you leave.",
                    record.task.name()
                ));
                self.dataset.unsaved.push(Unsaved { record, chosen_by, error: error.to_string() });
                if let Phase::Saving { .. } = self.phase {
                    self.phase = Phase::Idle;
                }
                self.import_step(id, false, fx);
                return;
            }
        };
        match purpose {
            SaveFor::Restored { at, standing } => {
                if self.session.is_none() {
                    return;
                }
                let entry = Entry { id, key, record, sync: None, standing };
                let (key, contribution) = (entry.key, self.is_contribution(&entry.record, standing.chosen_by));
                self.dataset.entries.insert(at.min(self.dataset.entries.len()), entry);
                self.offer(key, contribution, fx);
                self.store_session(fx);
            }
            SaveFor::Demonstrated(chosen_by) | SaveFor::Retried(chosen_by) => {
                self.count(Entry { id, key, record, sync: None, standing: Standing::waiting(chosen_by) }, fx);
                if matches!(purpose, SaveFor::Demonstrated(_)) {
                    self.assignment_done(fx);
                    self.just_saved = Some(id);
                    if let Phase::Saving { .. } = self.phase {
                        self.phase = Phase::Idle;
                    }
                }
                self.store_session(fx);
                self.after_counting(fx);
            }
            SaveFor::Imported => {
                self.count(Entry { id, key, record, sync: None, standing: Standing::waiting(ChosenBy::Imported) }, fx);
                self.import_step(id, true, fx);
            }
        }
    }

    /// A new demonstration joins the dataset, waiting for the next round.
    fn count(&mut self, entry: Entry, fx: &mut Vec<Effect>) {
        if let Some(session) = self.session.as_mut() {
            session.counted();
        }
        let (key, contribution) = (entry.key, self.is_contribution(&entry.record, entry.standing.chosen_by));
        self.dataset.entries.push(entry);
        self.offer(key, contribution, fx);
    }

    /// A round when the batch is full, else the autopilot's next demonstration.
    fn after_counting(&mut self, fx: &mut Vec<Effect>) {
        if self.round_due() && !self.busy() {
            self.train(fx);
        } else {
            self.autopilot_next(fx);
        }
    }

    pub(super) fn autopilot_next(&self, fx: &mut Vec<Effect>) {
        if self.autopilot && matches!(self.phase, Phase::Idle | Phase::TimeUp { .. }) {
            fx.push(Effect::Schedule { after_ms: AUTOPILOT_PAUSE_MS, action: Box::new(Action::AutopilotTick) });
        }
    }

    /// Removes the demonstration just saved (before its round starts).
    fn discard_saved(&mut self, fx: &mut Vec<Effect>) {
        let Some(id) = self.just_saved.take() else { return };
        let waiting_last = self.dataset.entries.last().is_some_and(|e| e.id == id && !e.standing.trained);
        if !waiting_last || self.busy() || self.session.is_none() {
            return;
        }
        // Its place in the outbox goes with it.
        if let Some(key) = self.dataset.entries.pop().and_then(|e| e.key) {
            fx.push(Effect::DeleteDemonstration { key });
        }
        self.store_session(fx);
    }

    // ---- the dataset ----

    fn delete(&mut self, index: usize, fx: &mut Vec<Effect>) {
        if index >= self.dataset.entries.len() || self.busy() || matches!(self.phase, Phase::Saving { .. }) {
            return;
        }
        if self.session.is_none() {
            return;
        }
        let entry = self.dataset.entries.remove(index);
        self.just_saved = None;
        self.dataset.undo = Some(Deleted { record: entry.record, at: index, standing: entry.standing });
        if let Some(key) = entry.key {
            fx.push(Effect::DeleteDemonstration { key });
        }
        self.store_session(fx);
    }

    fn undo(&mut self, fx: &mut Vec<Effect>) {
        if self.busy() {
            return;
        }
        if let Some(deleted) = self.dataset.undo.take() {
            self.save(deleted.record, SaveFor::Restored { at: deleted.at, standing: deleted.standing }, fx);
        }
    }

    fn import(&mut self, bytes: Vec<u8>, fx: &mut Vec<Effect>) {
        if self.import.is_some() {
            return self.error("An import is under way; try again when it is done.".into());
        }
        let existing = self.dataset.all_records();
        self.import = Some(Import { checking: true, ..Import::default() });
        let worker = self.ensure_worker(WorkerSlot::Cpu, fx);
        fx.push(Effect::Post(worker, Box::new(super::protocol::ToWorker::Import { bytes, existing })));
    }

    /// The worker checked the file: store what it accepted.
    pub(super) fn imported(&mut self, accepted: Vec<DemonstrationRecord>, rejected: Vec<String>, fx: &mut Vec<Effect>) {
        let Some(import) = self.import.as_mut() else { return };
        import.checking = false;
        import.rejected = rejected;
        for record in accepted {
            self.save(Rc::new(record), SaveFor::Imported, fx);
        }
        self.import_step(0, false, fx);
    }

    /// One imported demonstration's write finished (`id` 0: none, just check whether
    /// the import is complete); once all are, tell the visitor and retrain.
    fn import_step(&mut self, id: u64, added: bool, fx: &mut Vec<Effect>) {
        let Some(import) = self.import.as_mut() else { return };
        if let Some(at) = import.waiting.iter().position(|&w| w == id) {
            import.waiting.remove(at);
            if added {
                import.added += 1;
            } else {
                import.not_stored += 1;
            }
        }
        if import.checking || !import.waiting.is_empty() {
            return;
        }
        let Some(import) = self.import.take() else { return };
        let mut text = format!("Imported {} demonstration{}.", import.added, if import.added == 1 { "" } else { "s" });
        if import.not_stored > 0 {
            text += &format!(" {} could not be stored and wait aside.", import.not_stored);
        }
        if !import.rejected.is_empty() {
            text += &format!(" {} left out: {}", import.rejected.len(), import.rejected.join("; "));
        }
        let clean = import.rejected.is_empty() && import.not_stored == 0;
        self.notify(if clean { NoticeKind::Info } else { NoticeKind::Error }, text);
        self.store_session(fx);
        // Retrain on everything now in the dataset (the curves follow).
        if import.added > 0 && self.phase == Phase::Idle {
            self.train(fx);
        }
    }

    pub(super) fn import_failed(&mut self, message: String) {
        if self.import.take().is_some() {
            self.error(format!("The file was not imported: {message}. Your dataset is unchanged."));
        }
    }

    // ---- settings and sessions ----

    fn apply_settings(&mut self, settings: SessionSettings, fx: &mut Vec<Effect>) {
        if let Err(error) = settings.validate() {
            self.settings_error = Some(error.to_string());
            return;
        }
        self.settings_error = None;
        if let Some(session) = self.session.as_mut() {
            session.settings = settings;
            self.store_session(fx);
        }
    }

    /// Everything stored is cleared: start over with the same settings.
    fn new_session(&mut self, fx: &mut Vec<Effect>) {
        let settings = self.session.as_ref().map(|s| s.settings.clone()).unwrap_or_default();
        self.stop_job(fx);
        self.dataset = Dataset::default();
        // The contributor stays; the outbox goes with the demonstrations (those sent
        // stay with the service).
        self.outbox.forget_upload();
        self.notices.clear();
        self.just_saved = None;
        self.import = None;
        if self.tuned {
            self.tuned = false;
            fx.push(Effect::AdoptTuned(None));
        }
        self.phase = Phase::Idle;
        self.ensure_worker(WorkerSlot::Cpu, fx);
        self.start_session(settings, fx);
    }
}

impl PageState {
    /// What the crowd's dataset takes from this page: what a person demonstrated here, not
    /// an imported file's demonstrations; the autopilot's scripted runs only when the
    /// visitor asked (they go marked as the scripted expert's, whose source the service
    /// keeps). A run a person took over is theirs: its source became a person.
    fn is_contribution(&self, record: &DemonstrationRecord, chosen_by: ChosenBy) -> bool {
        let share_autopilot = self.session.as_ref().is_some_and(|s| s.settings.share_autopilot);
        chosen_by != ChosenBy::Imported && (record.source == crate::record::Source::Person || share_autopilot)
    }
}
