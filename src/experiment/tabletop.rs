//! One active fine-tuning run on the tabletop with the scripted experts (or modelled
//! people, [`People`]) as demonstrators: round after round of [`crate::round::run_round`] (the page's own
//! round), the experts demonstrating each batch in between. The runner's experiments
//! and the page's live comparison both run this.

use serde::{Deserialize, Serialize};

use super::{CurvePoint, RoundRecord, Run};
use crate::policy::{cpu, expert_demonstration, rehearsal_rows, Demonstration, People, Policy, REHEARSAL_EPISODES};
use crate::curation::Curation;
use crate::round::{run_round, Assessment, RoundConfig, RoundError, RoundInput};
use crate::select::SelectorKind;
use crate::tasks::TaskId;

/// A run's settings: the round's, and the demonstrators'.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TabletopSettings {
    pub round: RoundConfig,
    /// Execution noise of the scripted demonstrator (DART; default 0.1).
    pub demo_noise: f32,
    /// Who demonstrates (default: the scripted experts).
    #[serde(default)]
    pub demonstrator: Demonstrator,
    /// How each demonstration weighs in training (default: alike).
    #[serde(default)]
    pub curation: Curation,
}

impl Default for TabletopSettings {
    fn default() -> Self {
        TabletopSettings { round: RoundConfig::default(), demo_noise: 0.1, demonstrator: Demonstrator::default(), curation: Curation::default() }
    }
}

/// Who demonstrates in a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Demonstrator {
    /// The scripted experts, executed with `demo_noise`, labelled clean.
    #[default]
    ScriptedExpert,
    /// Modelled people driving the page's controls: their own actions are the labels,
    /// and an attempt that runs out of time is retried or given up, as in the page.
    People(People),
}

/// Asks for this many demonstrations at most per demonstration of the budget, so that
/// a run whose people keep giving up still ends.
const MAX_ASKS_PER_DEMONSTRATION: usize = 3;

/// Seeds of a run's demonstrations: apart from evaluation seeds and from other runs'.
fn demo_seed(run_seed: u64, index: usize) -> u64 {
    10_000 + run_seed * 1_000 + index as u64
}

/// Runs `selector` on `seed`; `prior_assessment` is the pre-trained policy's (the same
/// for every run, so the runner computes it once). `clock` times the rounds.
pub fn run(
    selector: SelectorKind,
    seed: u64,
    prior: &Policy,
    prior_assessment: Option<&Assessment>,
    settings: &TabletopSettings,
    clock: &dyn Fn() -> f64,
) -> Result<Run, RoundError> {
    run_reporting(selector, seed, prior, prior_assessment, settings, clock, &mut |_, _| {})
}

/// [`run`], telling `on_round` each evaluation with the tasks asked for just before it
/// (none for the pre-trained policy's): the page's live comparison draws from these.
pub fn run_reporting(
    selector: SelectorKind,
    seed: u64,
    prior: &Policy,
    prior_assessment: Option<&Assessment>,
    settings: &TabletopSettings,
    clock: &dyn Fn() -> f64,
    on_round: &mut dyn FnMut(&[usize], &CurvePoint),
) -> Result<Run, RoundError> {
    let config = RoundConfig { selector, ..settings.round.clone() };
    let device = cpu();
    let mut demonstrations: Vec<Demonstration> = Vec::new();
    // Each demonstration's weight, in their order (empty: alike), from its own measure
    // (taken once: it runs the expert on the instance) normalised among this round's.
    let mut weights: Vec<f32> = Vec::new();
    let mut raw: Vec<f32> = Vec::new();
    let mut curve = Vec::new();
    let mut rounds: Vec<RoundRecord> = Vec::new();
    let mut round = 0;
    let mut asked = 0;
    // Every round of a run rehearses the same rows of the prior (if any): rolled out once.
    let rehearsal = config.rehearses().then(|| rehearsal_rows(prior, REHEARSAL_EPISODES));
    loop {
        if settings.curation != Curation::None {
            raw.extend(demonstrations[raw.len()..].iter().map(|d| settings.curation.weight(d)));
            weights = settings.curation.normalised(&demonstrations, &raw);
        }
        let input = RoundInput { config: &config, demonstrations: &demonstrations, weights: &weights, seed, round, resume: None, prior_assessment, prior_rehearsal: rehearsal.as_ref() };
        let output = futures_lite::future::block_on(run_round(&device, prior, input, clock, &mut |_| {}))?;
        let point = config.curve_point(demonstrations.len(), output.assessment.per_task);
        on_round(rounds.last().map_or(&[], |r| r.picks.as_slice()), &point);
        curve.push(point);
        let Some(selection) = output.selection else { break };
        if asked >= MAX_ASKS_PER_DEMONSTRATION * config.budget {
            break;
        }
        let (mut attempts, mut given_up) = (0, 0);
        for &task in &selection.picks {
            let task = TaskId::ALL[task];
            match &settings.demonstrator {
                Demonstrator::ScriptedExpert => {
                    demonstrations.push(expert_demonstration(task, demo_seed(seed, asked), settings.demo_noise));
                    asked += 1;
                }
                // A demonstration given up is asked of the next person (a new instance),
                // so the batch is full and every run's curve stays on the same budgets;
                // only a run out of asks falls short.
                Demonstrator::People(people) => {
                    while asked < MAX_ASKS_PER_DEMONSTRATION * config.budget {
                        let person = people.demonstrate(task, demo_seed(seed, asked));
                        asked += 1;
                        attempts += person.attempts;
                        if person.demonstration.success {
                            demonstrations.push(person.demonstration);
                            break;
                        }
                        given_up += 1;
                    }
                }
            }
        }
        let human = matches!(settings.demonstrator, Demonstrator::People(_));
        rounds.push(RoundRecord {
            picks: selection.picks,
            reason: selection.reason,
            selection_seconds: output.select_seconds,
            attempts: human.then_some(attempts),
            given_up: human.then_some(given_up),
        });
        round += 1;
    }
    Ok(Run { selector, seed, task_names: TaskId::ALL.iter().map(|t| t.name().to_string()).collect(), curve, rounds })
}

