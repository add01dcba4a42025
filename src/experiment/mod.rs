//! The paper's comparison: select -> demonstrate (scripted expert) -> fine-tune ->
//! evaluate, for several selectors and seeds, on the tabletop or the 2-D integrator.
//!
//! Each run is a pure function of its settings and seed (the loops here; the tabletop's
//! rounds are [`crate::round::run_round`], the page's own), so the page can run one live
//! and the native runner can run many in parallel and summarise them (`stats`, `plot`).
//! Wall-clock times come from a clock the caller passes in.

pub mod integrator;
pub mod stats;
pub mod tabletop;
#[cfg(not(target_arch = "wasm32"))]
pub mod plot;

use serde::{Deserialize, Serialize};

pub use crate::round::{weighted_mean, CurvePoint};
use crate::select::SelectorKind;

/// One round's choice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    pub picks: Vec<usize>,
    pub reason: String,
    /// Wall-clock seconds the selector took (measured, not deterministic).
    pub selection_seconds: f64,
    /// Human-like demonstrators: attempts made for this batch, and demonstrations given
    /// up after every attempt failed (absent for the scripted experts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_up: Option<usize>,
}

/// A whole run of one selector on one seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub selector: SelectorKind,
    pub seed: u64,
    pub task_names: Vec<String>,
    pub curve: Vec<CurvePoint>,
    pub rounds: Vec<RoundRecord>,
}

