//! Benchmarks shared by the native runner and the page, so both measure the same work.
//! Time comes from a caller-supplied clock (seconds): `Instant` natively,
//! `performance.now()` in the browser, where `std::time` is unavailable.

use serde::Serialize;

use crate::sim::arm::{finger_offset_for, palm_translation};
use crate::sim::describe::SceneDescription;
use crate::sim::{Action, PHYSICS_SUBSTEPS};
use crate::tasks::{run_expert, Episode, TaskId};

#[derive(Clone, Debug, Serialize)]
pub struct TaskSpeed {
    pub name: &'static str,
    pub control_steps: usize,
    pub seconds: f64,
    pub control_steps_per_second: f64,
    pub physics_steps_per_second: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SimBench {
    pub physics_substeps: usize,
    pub tasks: Vec<TaskSpeed>,
    pub mean_control_steps_per_second: f64,
}

/// Steps every task's scripted expert for `episodes` full horizons (continuing past
/// success) and times only the control steps, observation and expert included.
pub fn bench_sim(episodes: u64, clock: &mut dyn FnMut() -> f64) -> SimBench {
    let tasks: Vec<TaskSpeed> = TaskId::ALL
        .iter()
        .map(|&task| {
            let mut seconds = 0.0;
            let mut control_steps = 0;
            for seed in 0..episodes {
                let mut episode = Episode::new(task, seed);
                let start = clock();
                for _ in 0..task.horizon() {
                    episode.step(episode.expert_action());
                }
                seconds += clock() - start;
                control_steps += task.horizon();
            }
            let rate = control_steps as f64 / seconds.max(1e-9);
            TaskSpeed {
                name: task.name(),
                control_steps,
                seconds,
                control_steps_per_second: rate,
                physics_steps_per_second: rate * PHYSICS_SUBSTEPS as f64,
            }
        })
        .collect();
    let mean = tasks.iter().map(|t| t.control_steps_per_second).sum::<f64>() / tasks.len() as f64;
    SimBench { physics_substeps: PHYSICS_SUBSTEPS, tasks, mean_control_steps_per_second: mean }
}

/// Everything another engine needs to repeat the physics of one expert episode: the
/// scene at reset, and per physics step where the kinematic palm goes and, per control
/// step, where the finger motors aim.
#[derive(Clone, Debug, Serialize)]
pub struct PhysicsScript {
    pub task: TaskId,
    pub seed: u64,
    pub scene: SceneDescription,
    pub palm_body: usize,
    pub finger_joints: [usize; 2],
    pub substeps: usize,
    /// Palm translation at the end of every physics step.
    pub palm_path: Vec<[f32; 3]>,
    /// Finger motor target offset of every control step.
    pub finger_targets: Vec<f32>,
    /// The expert's actions, for replaying the same episode here.
    #[serde(skip)]
    pub actions: Vec<Action>,
}

/// Records the expert's episode of `task` from `seed` as a physics script.
pub fn physics_script(task: TaskId, seed: u64) -> PhysicsScript {
    let actions = run_expert(task, seed).actions;
    let mut episode = Episode::new(task, seed);
    let scene = episode.scene();
    let description = scene.describe();
    let palm_body = scene.physics.bodies.iter().position(|(h, _)| h == scene.arm.palm).unwrap_or(0);
    let finger_joints = scene.arm.finger_joints().map(|joint| {
        scene.physics.impulse_joints.iter().position(|(h, _)| h == joint).unwrap_or(0)
    });
    let mut palm_path = Vec::with_capacity(actions.len() * PHYSICS_SUBSTEPS);
    let mut finger_targets = Vec::with_capacity(actions.len());
    for &action in &actions {
        let from = episode.tcp_target();
        episode.step(action);
        let to = episode.tcp_target();
        for substep in 1..=PHYSICS_SUBSTEPS {
            let tcp = from.lerp(to, substep as f32 / PHYSICS_SUBSTEPS as f32);
            palm_path.push(palm_translation(tcp).to_array());
        }
        finger_targets.push(finger_offset_for(crate::sim::sanitize_action(action)[3]));
    }
    PhysicsScript {
        task,
        seed,
        scene: description,
        palm_body,
        finger_joints,
        substeps: PHYSICS_SUBSTEPS,
        palm_path,
        finger_targets,
        actions,
    }
}

/// Seconds this engine takes to replay a script's episode (reset excluded).
pub fn time_replay(script: &PhysicsScript, clock: &mut dyn FnMut() -> f64) -> f64 {
    let mut episode = Episode::new(script.task, script.seed);
    let start = clock();
    for &action in &script.actions {
        episode.step(action);
    }
    clock() - start
}

/// Behavioral-cloning speed: one fine-tuning round of `steps` gradient steps on scripted
/// demonstrations of `demos` episodes of an unseen task, from the given prior.
#[derive(Clone, Debug, Serialize)]
pub struct TrainingBench {
    pub demos: usize,
    pub rows: usize,
    pub steps: usize,
    pub batch_size: usize,
    pub seconds: f64,
    pub samples_per_second: f64,
    /// Milliseconds per single-observation forward pass (a control step's inference).
    pub inference_ms: f64,
}

impl TrainingBench {
    /// The mean of two timings of the same round.
    pub fn mean_with(&self, other: &TrainingBench) -> TrainingBench {
        let seconds = (self.seconds + other.seconds) / 2.0;
        TrainingBench {
            seconds,
            samples_per_second: (self.steps * self.batch_size) as f64 / seconds.max(1e-9),
            inference_ms: (self.inference_ms + other.inference_ms) / 2.0,
            ..self.clone()
        }
    }
}

/// A round's gradient steps before [`crate::round::ROUND_STEPS`] halved them: the
/// benchmarks time both in one run.
pub const ROUND_STEPS_BEFORE: usize = 1000;

/// The benchmark round's data: `demos` scripted demonstrations of an unseen task.
pub fn training_data(demos: usize) -> crate::policy::Dataset {
    crate::policy::collect_expert_demonstrations(TaskId::DrawerClose, 10_000, demos, 0.0)
}

pub fn bench_training(prior: &crate::policy::Policy, demos: usize, steps: usize, clock: &mut dyn FnMut() -> f64) -> TrainingBench {
    bench_training_on(&crate::policy::cpu(), prior, demos, steps, clock)
}

/// [`bench_training`] on a given CPU backend (flex, or ndarray when built with it).
pub fn bench_training_on(
    device: &burn::prelude::Device,
    prior: &crate::policy::Policy,
    demos: usize,
    steps: usize,
    clock: &mut dyn FnMut() -> f64,
) -> TrainingBench {
    use crate::policy::{finetune_on, BcConfig};
    let data = training_data(demos);
    let bc = BcConfig { steps, ..BcConfig::default() };
    let start = clock();
    let tuned = futures_lite::future::block_on(finetune_on(device, prior, &data, &bc, &mut |_| {}));
    let seconds = clock() - start;
    // A control step's inference on the same backend: one row in, the action read out.
    let observation = Episode::new(TaskId::DrawerClose, 1).observation().0.to_vec();
    let repeats = 200;
    let start = clock();
    if let Ok(tuned) = &tuned {
        for _ in 0..repeats {
            let row = burn::prelude::Tensor::<2>::from_data(burn::prelude::TensorData::new(observation.clone(), [1, crate::tasks::OBS_DIM]), device);
            std::hint::black_box(tuned.forward(row).into_data());
        }
    }
    let inference_ms = (clock() - start) * 1000.0 / f64::from(repeats);
    TrainingBench {
        demos,
        rows: data.len(),
        steps,
        batch_size: bc.batch_size,
        seconds,
        samples_per_second: (steps * bc.batch_size) as f64 / seconds.max(1e-9),
        inference_ms,
    }
}

/// Selection speed: AMF choosing a batch of 5 with the default sizes, from the
/// pre-trained policy, with no demonstrations yet and with `demos` collected.
#[derive(Clone, Debug, Serialize)]
pub struct SelectionBench {
    pub batch: usize,
    /// Seconds per selection before any demonstration (rollout proxies only).
    pub first_round_seconds: f64,
    /// Seconds per selection with `demos` demonstrations as GP data and proxies.
    pub later_round_seconds: f64,
    pub demos: usize,
    /// GP points in the later round: data and query points.
    pub data_points: usize,
    pub query_points: usize,
    /// Of a later round's selection: the kernel among the GP's points, and the
    /// posterior given the data (together what a crowd's service keeps per version).
    pub kernel_seconds: f64,
    pub posterior_seconds: f64,
    /// Crowd AMF answering 50 visitors at once with the GP kept (one greedy batch with
    /// the `demos` demonstrations as data): seconds for all 50.
    pub crowd_batch_of_50_seconds: f64,
}

/// AMF's selection and the crowd's batch with `demos` scripted demonstrations, the GP
/// conditioning on at most `gp.sampled_per_task` of a task's.
pub fn bench_selection(prior: &crate::policy::Policy, demos: usize, gp: &crate::select::GpConfig, clock: &mut dyn FnMut() -> f64) -> SelectionBench {
    use crate::round::assess;
    use crate::policy::expert_demonstration;
    use crate::select::tabletop::TabletopView;
    use crate::select::{GpConfig, SelectionView, SelectorKind};
    let assessment = assess(prior, 2, &mut |_| {});
    let collected: Vec<_> = (0..demos).map(|i| expert_demonstration(TaskId::ALL[i % TaskId::ALL.len()], 10_000 + i as u64, 0.1)).collect();
    let rollouts = &assessment.visited;
    fn view_of<'a>(prior: &'a crate::policy::Policy, demonstrations: &'a [crate::policy::Demonstration], rollouts: &'a [Vec<crate::tasks::Observation>], gp: &GpConfig) -> TabletopView<'a> {
        TabletopView {
            policy: prior,
            demonstrations: crate::select::PoolSample::of(demonstrations, gp.sample_bound()),
            rollout_states: rollouts,
            target_weights: vec![1.0; TaskId::ALL.len()],
            pretraining: vec![0; TaskId::ALL.len()],
            demonstrable: vec![true; TaskId::ALL.len()],
            seed: 0,
        }
    }
    let mut time = |demonstrations: &[crate::policy::Demonstration]| {
        let view = view_of(prior, demonstrations, rollouts, gp);
        let mut selector = SelectorKind::Amf.build(0, 0, gp);
        let repeats = 3;
        let start = clock();
        for _ in 0..repeats {
            std::hint::black_box(selector.select(&view, 5).ok());
        }
        (clock() - start) / f64::from(repeats)
    };
    // Warm-up (a browser tiers the code up while it first runs).
    time(&collected);
    let first_round_seconds = time(&[]);
    let later_round_seconds = time(&collected);
    let view = view_of(prior, &collected, rollouts, gp);
    let start = clock();
    let problem = view.kernel_problem(gp).expect("the benchmark's kernel");
    let kernel_seconds = clock() - start;
    let (data_points, query_points) = (problem.k_dd.nrows(), problem.k_ss.nrows());
    let start = clock();
    let posterior = problem.posterior(gp.noise).expect("the benchmark's posterior");
    let posterior_seconds = clock() - start;
    std::hint::black_box(posterior);

    use crate::crowd::assign::{assign_batch, AssignmentSettings, CrowdState, Request};
    let settings = AssignmentSettings { gp: gp.clone(), ..AssignmentSettings::default() };
    let trained_on = crate::select::PoolSample::of(&collected, gp.sample_bound());
    let mut crowd = CrowdState { policy: prior, assessment: &assessment, trained_on, arrived: vec![0; TaskId::ALL.len()], pending: vec![0; TaskId::ALL.len()], prepared: None };
    crowd.prepared = Some(crowd.prepare(&settings).expect("the benchmark's GP"));
    let requests: Vec<Request> = (0..50).map(|seed| Request { declined: Vec::new(), chosen: None, seed }).collect();
    // One batch to warm up, then the mean of five.
    std::hint::black_box(assign_batch(&settings, &crowd, &requests, 0).expect("the benchmark's assignments"));
    let start = clock();
    for turn in 1..=5 {
        std::hint::black_box(assign_batch(&settings, &crowd, &requests, turn).expect("the benchmark's assignments"));
    }
    let crowd_batch_of_50_seconds = (clock() - start) / 5.0;
    SelectionBench { batch: 5, first_round_seconds, later_round_seconds, demos, data_points, query_points, kernel_seconds, posterior_seconds, crowd_batch_of_50_seconds }
}
