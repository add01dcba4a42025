//! Proves the selectors choose as specified: AMF scores tasks by information gain on the
//! targets (on hand-built kernels whose answers can be checked by hand, and on the real
//! pre-trained policy), conditions on each pick within a batch, and the baselines follow
//! their rules. The integrator experiment shows AMF's advantage under mismatch.

use amf_studio::experiment::integrator::{run as run_integrator, IntegratorSettings};
use amf_studio::round::assess;
use amf_studio::policy::{expert_demonstration, Checkpoint, PRETRAIN_TASKS};
use amf_studio::select::tabletop::TabletopView;
use amf_studio::select::{GpConfig, KernelProblem, PoolSample, Proxy, SelectError, SelectionView, SelectorKind, WithPending};
use amf_studio::tasks::{TaskId, NUM_TASKS};
use nalgebra::DMatrix;

/// A view over a fixed kernel: one query point per target and per candidate.
struct HandView {
    k_ss: DMatrix<f64>,
    targets: Vec<Vec<(usize, f64)>>,
    candidates: Vec<Vec<usize>>,
    mu: Vec<f64>,
    pretraining: Vec<usize>,
    demonstrated: Vec<usize>,
    demonstrable: Vec<bool>,
}

impl SelectionView for HandView {
    fn num_tasks(&self) -> usize {
        self.candidates.len()
    }
    fn task_name(&self, task: usize) -> String {
        format!("task {task}")
    }
    fn target_weights(&self) -> Vec<f64> {
        self.mu.clone()
    }
    fn demonstrations_per_task(&self) -> Vec<usize> {
        self.demonstrated.clone()
    }
    fn pretraining_per_task(&self) -> Vec<usize> {
        self.pretraining.clone()
    }
    fn demonstrable(&self) -> Vec<bool> {
        self.demonstrable.clone()
    }
    fn kernel_problem(&self, _: &GpConfig) -> Result<KernelProblem, SelectError> {
        let n = self.k_ss.nrows();
        Ok(KernelProblem {
            k_ss: self.k_ss.clone(),
            k_sd: DMatrix::zeros(n, 0),
            k_dd: DMatrix::zeros(0, 0),
            data_weights: Vec::new(),
            targets: self.targets.clone(),
            candidates: self.candidates.clone(),
            proxies: vec![Proxy::Rollouts; self.candidates.len()],
        })
    }
}

fn gp(noise: f64) -> GpConfig {
    GpConfig { noise, ..GpConfig::default() }
}

/// Points 0,1: targets of tasks 0 and 1. Points 2,3: candidates of tasks 0 and 1, each
/// correlated (`c0`, `c1`) only with its own task's target.
fn two_task_view(c0: f64, c1: f64) -> HandView {
    let mut k = DMatrix::identity(4, 4);
    k[(0, 2)] = c0;
    k[(2, 0)] = c0;
    k[(1, 3)] = c1;
    k[(3, 1)] = c1;
    HandView {
        k_ss: k,
        targets: vec![vec![(0, 1.0)], vec![(1, 1.0)]],
        candidates: vec![vec![2], vec![3]],
        mu: vec![0.5, 0.5],
        pretraining: vec![0, 0],
        demonstrated: vec![0, 0],
        demonstrable: vec![true, true],
    }
}

#[test]
fn amf_scores_are_the_closed_form_information_gains() {
    let (c0, c1, rho2) = (0.9, 0.5, 0.1);
    let selection = SelectorKind::Amf.build(0, 0, &gp(rho2)).select(&two_task_view(c0, c1), 1).unwrap();
    // mu(c) * 1/2 log((1 + rho^2) / (1 - c^2 / (1 + rho^2) + rho^2)) for the one target
    // each informs: the information about the noisy action there.
    let expected = |c: f64| 0.5 * 0.5 * ((1.0 + rho2) / (1.0 - c * c / (1.0 + rho2) + rho2)).ln();
    // To f32's precision: the selector keeps the covariance it scores with in f32
    // (`select::CandidatePosterior`).
    assert!((selection.scores[0].score - expected(c0)).abs() < 1e-6);
    assert!((selection.scores[1].score - expected(c1)).abs() < 1e-6);
    assert_eq!(selection.picks, vec![0]);
}

#[test]
fn a_batch_of_two_does_not_repeat_a_redundant_pick() {
    // Task 0 is the better first pick, but once it is observed (almost noise-free) a
    // second demonstration of it adds nearly nothing, while task 1 still informs its
    // own target.
    let mut selector = SelectorKind::Amf.build(0, 0, &gp(1e-4));
    let selection = selector.select(&two_task_view(0.95, 0.7), 2).unwrap();
    assert_eq!(selection.picks, vec![0, 1]);
}

#[test]
fn two_visitors_asking_at_once_are_not_sent_to_the_same_redundant_task() {
    // Two visitors ask one after the other, before the first has demonstrated: the
    // sequential selector sends both to task 0 (nothing arrived in between); with the
    // first visitor's demonstration pending, the second is sent to task 1, as a batch
    // of two would be.
    let view = two_task_view(0.95, 0.7);
    let first = SelectorKind::Amf.build(0, 0, &gp(1e-4)).select(&view, 1).unwrap();
    assert_eq!(first.picks, vec![0]);
    let sequential = SelectorKind::Amf.build(0, 1, &gp(1e-4)).select(&view, 1).unwrap();
    assert_eq!(sequential.picks, vec![0], "without the pending demonstration it asks again");
    let pending = WithPending { inner: &view, pending: vec![1, 0], prepared: None };
    let second = SelectorKind::Amf.build(0, 1, &gp(1e-4)).select(&pending, 1).unwrap();
    assert_eq!(second.picks, vec![1]);
    assert!(second.scores[0].score < 1e-3, "task 0's gain given the pending one: {}", second.scores[0].score);
    // Uncertainty sampling, round-robin and rebalancing also account for it.
    for kind in [SelectorKind::Uncertainty, SelectorKind::RoundRobin, SelectorKind::Rebalancing] {
        let alone = kind.build(3, 0, &gp(1e-4)).select(&view, 1).unwrap().picks[0];
        let mut pending = vec![0, 0];
        pending[alone] = 1;
        let next = kind.build(3, 0, &gp(1e-4)).select(&WithPending { inner: &view, pending, prepared: None }, 1).unwrap();
        assert_ne!(next.picks[0], alone, "{kind:?} sends the next visitor to the task already on its way");
    }
}

/// Three tasks, each with one target (points 0, 1, 2) and one candidate (points 3, 4,
/// 5), over a kernel of unit variances but `variances` (point, value) and the symmetric
/// `correlations` (point, point, value).
fn three_task_view(variances: &[(usize, f64)], correlations: &[(usize, usize, f64)], mu: Vec<f64>, demonstrable: Vec<bool>) -> HandView {
    let mut k = DMatrix::identity(6, 6);
    for &(i, v) in variances {
        k[(i, i)] = v;
    }
    for &(a, b, v) in correlations {
        k[(a, b)] = v;
        k[(b, a)] = v;
    }
    HandView {
        k_ss: k,
        targets: vec![vec![(0, 1.0)], vec![(1, 1.0)], vec![(2, 1.0)]],
        candidates: vec![vec![3], vec![4], vec![5]],
        mu,
        pretraining: vec![0, 0, 0],
        demonstrated: vec![0, 0, 0],
        demonstrable,
    }
}

#[test]
fn amf_prefers_the_task_whose_states_cover_the_targets_and_uncertainty_does_not() {
    // Targets 0,1,2 belong to tasks 0,1,2. Candidate of task 0 (point 3): correlated 0.9
    // with target 0 only, with a larger prior variance (2.0). Candidate of task 1 (point
    // 4): correlated 0.6 with every target. Candidate of task 2 (point 5): unit
    // variance, informs nothing.
    let view = three_task_view(&[(3, 2.0)], &[(0, 3, 0.9), (0, 4, 0.6), (1, 4, 0.6), (2, 4, 0.6)], vec![1.0; 3], vec![true; 3]);
    let amf = SelectorKind::Amf.build(0, 0, &gp(0.1)).select(&view, 1).unwrap();
    assert_eq!(amf.picks, vec![1], "scores {:?}", amf.scores);
    let uncertainty = SelectorKind::Uncertainty.build(0, 0, &gp(0.1)).select(&view, 1).unwrap();
    assert_eq!(uncertainty.picks, vec![0], "uncertainty looks at its own states only");
}

#[test]
fn a_target_that_cannot_be_demonstrated_is_learned_through_the_task_that_informs_it() {
    // Task 0 is the only target and cannot be demonstrated; its own candidate (point 3)
    // would inform its target best. Task 1's candidate (point 4) is correlated 0.5 with
    // the target; task 2's (point 5) informs nothing but has the largest variance.
    let view = three_task_view(&[(5, 3.0)], &[(0, 3, 0.8), (0, 4, 0.5)], vec![1.0, 0.0, 0.0], vec![false, true, true]);
    let amf = SelectorKind::Amf.build(0, 0, &gp(0.1)).select(&view, 2).unwrap();
    assert!(amf.scores[0].score > amf.scores[1].score, "task 0 would inform its target most: {:?}", amf.scores);
    assert_eq!(amf.picks, vec![1, 1], "AMF asks for the related task: {:?}", amf.scores);
    // Uncertainty sampling, knowing no relation, takes the most uncertain task that can
    // be demonstrated; the counting baselines spread over the demonstrable tasks.
    let uncertainty = SelectorKind::Uncertainty.build(0, 0, &gp(0.1)).select(&view, 1).unwrap();
    assert_eq!(uncertainty.picks, vec![2], "{:?}", uncertainty.scores);
    for kind in [SelectorKind::Uniform, SelectorKind::RoundRobin, SelectorKind::Rebalancing] {
        let picks = kind.build(5, 0, &gp(0.1)).select(&view, 8).unwrap().picks;
        assert!(picks.iter().all(|&t| t != 0), "{kind:?} asked for the task that cannot be demonstrated: {picks:?}");
        assert!(picks.contains(&1) && picks.contains(&2), "{kind:?} {picks:?}");
    }
    // A demonstrable target is preferred by the baselines whenever there is one.
    let mut view = view;
    view.mu = vec![1.0, 0.0, 1.0];
    for kind in [SelectorKind::Uniform, SelectorKind::RoundRobin, SelectorKind::Rebalancing, SelectorKind::Uncertainty] {
        let picks = kind.build(5, 0, &gp(0.1)).select(&view, 4).unwrap().picks;
        assert_eq!(picks, vec![2; 4], "{kind:?}");
    }
    view.demonstrable = vec![false; 3];
    assert_eq!(SelectorKind::Amf.build(0, 0, &gp(0.1)).select(&view, 1).unwrap_err(), SelectError::NothingDemonstrable);
}

#[test]
fn baselines_follow_their_rules() {
    let mut view = two_task_view(0.5, 0.5);
    view.mu = vec![1.0, 0.0];
    // Only target tasks are drawn or cycled.
    for kind in [SelectorKind::Uniform, SelectorKind::RoundRobin, SelectorKind::Rebalancing] {
        let picks = kind.build(3, 0, &gp(0.1)).select(&view, 6).unwrap().picks;
        assert!(picks.iter().all(|&t| t == 0), "{kind:?} picked a non-target: {picks:?}");
    }
    // Round-robin visits every target once per pass; rebalancing fills the task that
    // pre-training left out first.
    view.mu = vec![1.0, 1.0];
    let mut rr = SelectorKind::RoundRobin.build(3, 0, &gp(0.1));
    let mut picks = rr.select(&view, 2).unwrap().picks;
    picks.sort();
    assert_eq!(picks, vec![0, 1]);
    // It keeps no state between rounds: the pass under way follows from the
    // demonstrations so far, whoever chose them.
    view.demonstrated = vec![3, 2];
    assert_eq!(SelectorKind::RoundRobin.build(3, 5, &gp(0.1)).select(&view, 3).unwrap().picks[0], 1);
    view.demonstrated = vec![0, 0];
    view.pretraining = vec![5, 0];
    let picks = SelectorKind::Rebalancing.build(3, 0, &gp(0.1)).select(&view, 6).unwrap().picks;
    assert_eq!(picks[..5], [1; 5], "{picks:?}");
    view.mu = vec![0.0, 0.0];
    assert_eq!(SelectorKind::Amf.build(0, 0, &gp(0.1)).select(&view, 1).unwrap_err(), SelectError::NoTargets);
}

#[test]
fn on_the_pretrained_policy_amf_asks_first_for_a_task_pretraining_left_out() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/www/policy.amfp")).unwrap();
    let Checkpoint::Pretrained { policy, .. } = Checkpoint::from_bytes(&bytes).unwrap() else { panic!("not pre-trained") };
    let assessment = assess(&policy, 1, &mut |_| {});
    let view = TabletopView {
        policy: &policy,
        demonstrations: PoolSample::default(),
        rollout_states: &assessment.visited,
        target_weights: vec![1.0; NUM_TASKS],
        pretraining: vec![0; NUM_TASKS],
        demonstrable: vec![true; NUM_TASKS],
        seed: 1,
    };
    let selection = SelectorKind::Amf.build(0, 0, &GpConfig::default()).select(&view, 1).unwrap();
    let pick = TaskId::ALL[selection.picks[0]];
    assert!(!PRETRAIN_TASKS.contains(&pick), "picked {pick:?}; scores {:?}", selection.scores);
    assert!(selection.scores.iter().all(|s| s.proxy == Some(Proxy::Rollouts)));
    // The unseen tasks' mean score is above the seen ones'.
    let mean = |seen: bool| {
        let s: Vec<f64> = selection.scores.iter().filter(|s| PRETRAIN_TASKS.contains(&TaskId::ALL[s.task]) == seen).map(|s| s.score).collect();
        s.iter().sum::<f64>() / s.len() as f64
    };
    assert!(mean(false) > 1.2 * mean(true), "unseen {} vs seen {}", mean(false), mean(true));
}

/// A crowd is many: the GP conditions on a bounded sample of a task's demonstrations,
/// each standing for its share. Where every task is within the bound, the problem is
/// the exact one; beyond it, the data are bounded, and the weights make the sample
/// tell the selector about as much as the whole task's demonstrations do: AMF's scores
/// lie nearer the exact GP's than those of the same sample counted once.
#[test]
fn the_gp_conditions_on_a_bounded_sample_that_stands_for_a_large_pool() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/www/policy.amfp")).unwrap();
    let Checkpoint::Pretrained { policy, .. } = Checkpoint::from_bytes(&bytes).unwrap() else { panic!("not pre-trained") };
    let assessment = assess(&policy, 1, &mut |_| {});
    let mut pool: Vec<_> = (0..12).map(|seed| expert_demonstration(TaskId::DoorOpen, 500 + seed, 0.1)).collect();
    pool.extend((0..2).map(|seed| expert_demonstration(TaskId::LeverPull, 600 + seed, 0.1)));
    let view = |demonstrations: PoolSample<'_>| {
        let view = TabletopView {
            policy: &policy,
            demonstrations,
            rollout_states: &assessment.visited,
            target_weights: vec![1.0; NUM_TASKS],
            pretraining: vec![0; NUM_TASKS],
            demonstrable: vec![true; NUM_TASKS],
            seed: 3,
        };
        let problem = view.kernel_problem(&GpConfig::default()).unwrap();
        let scores = amf_studio::select::Greedy::information_gain(&view, &GpConfig::default()).unwrap().scores().unwrap();
        (problem, scores)
    };
    let (exact, exact_scores) = view(PoolSample::of(&pool, usize::MAX));
    let (within, _) = view(PoolSample::of(&pool, 12));
    assert_eq!((within.k_dd.clone(), within.data_weights.clone()), (exact.k_dd.clone(), exact.data_weights.clone()), "within the bound: the exact GP");
    assert!(exact.data_weights.iter().all(|&w| w == 1.0));

    let sample = PoolSample::of(&pool, 4);
    let (bounded, bounded_scores) = view(sample.clone());
    let door = TaskId::DoorOpen.index();
    assert_eq!(bounded.size().0, (4 + 2) * 16, "four door_open and both lever_pull, 16 states each");
    assert_eq!(exact.size().0, (12 + 2) * 16);
    assert_eq!(bounded.data_weights.iter().filter(|&&w| w == 3.0).count(), 4 * 16, "each kept door_open stands for three");
    let kept: Vec<_> = sample.kept().iter().map(|d| (*d).clone()).collect();
    let (_, once_scores) = view(PoolSample::of(&kept, usize::MAX));
    let gap = |scores: &[f64]| (scores[door] - exact_scores[door]).abs();
    assert!(gap(&bounded_scores) < gap(&once_scores), "door_open scores {} (sample, weighted), {} (counted once), {} (exact)", bounded_scores[door], once_scores[door], exact_scores[door]);
    let best = |scores: &[f64]| (0..NUM_TASKS).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
    assert_eq!(best(&bounded_scores), best(&exact_scores), "the same first pick");
}

#[test]
fn on_the_integrator_amf_beats_uniform_under_strong_mismatch() {
    // Pre-training covers 1 of 12 slots; three seeds, a budget of 8.
    let settings = IntegratorSettings { covered_slots: 1, budget: 8, eval_episodes: 4, ..IntegratorSettings::default() };
    let final_error = |kind: SelectorKind| {
        (0..3).map(|seed| run_integrator(kind, seed, &settings, &|| 0.0).unwrap().curve.last().unwrap().mean_error.unwrap()).sum::<f64>() / 3.0
    };
    let (amf, uniform) = (final_error(SelectorKind::Amf), final_error(SelectorKind::Uniform));
    assert!(amf < uniform, "amf {amf} vs uniform {uniform}");
}
