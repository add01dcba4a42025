//! The page as a state machine, in plain Rust: [`PageState`] is everything the page
//! knows, [`Action`] everything that can happen to it (a click, a storage reply, a
//! worker's message or death, a timer), and [`PageState::update`] the reducer that
//! changes the state and returns the [`Effect`]s for the browser shell to carry out
//! (store, delete, spawn, post to or terminate a worker, drive the stage, download,
//! schedule an action). The shell (`web`) only translates and draws, so every path the
//! page can take is a native test here (`tests.rs`).

pub mod account;
mod action;
pub mod address;
pub mod assignment;
pub mod crowd;
pub mod dashboard;
mod jobs;
pub mod operator;
mod outbox;
pub mod protocol;
mod state;
mod update;

#[cfg(test)]
mod tests;

pub use action::{Action, DemonstrationEnd, Effect, Restored, StorageError, WatchFailure, Watched};
pub use jobs::{COMPARISON_SEED, MAX_WORKER_FAILURES};
pub use state::{
    Comparison, Counts, Dataset, Deleted, Entry, Import, Notice, NoticeKind, PageState, Phase, RoundProgress, RoundStage, SaveFor,
    Saving, Storage, Unsaved, WatchRequest, WorkerId, WorkerSlot, Workers,
};
pub use update::{AUTOPILOT_PAUSE_MS, PRACTICE_TASK};
