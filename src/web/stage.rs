//! The live scene: owns the episode, steps it in real time on animation frames, turns
//! mouse and keyboard input into teleoperation, and draws every frame.

use std::cell::RefCell;
use std::rc::Rc;

use gloo::events::EventListener;
use gloo::render::{request_animation_frame, AnimationFrame};
use rapier3d::prelude::{Pose, Rotation, Vector};
use web_sys::HtmlCanvasElement;
use yew::Callback;

use super::render::SceneRenderer;
use crate::record::{DemonstrationRecord, Source};
use crate::sim::{looks_the_same, Action, Color, Visual, VisualShape, CONTROL_DT};
use crate::page::address::PageAddress;
use crate::page::protocol::PolicyRollout;
use crate::tasks::{Episode, TaskId, SUITE_VERSION};
use crate::teleop::ghost::Ghost;
use crate::teleop::pointers::Pointers;
use crate::teleop::{OrbitCamera, Teleop};

/// Who moves the arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// The person, with mouse and keyboard.
    Person,
    /// The task's scripted expert.
    Expert,
    /// A policy (the pre-trained, the fine-tuned or the crowd's one), played back from
    /// its rollout in a worker.
    Policy,
    /// A stored demonstration's actions, played back.
    Replay,
}

pub use crate::page::DemonstrationEnd;

/// A demonstration being recorded: every action the person's input produced.
pub(super) struct Recording {
    actions: Vec<Action>,
    started_ms: f64,
    source: Source,
}

/// What the page shows about the episode; emitted only when it changes.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub task: TaskId,
    pub seed: u64,
    pub steps: usize,
    pub success: bool,
    pub driver: Driver,
    pub gripping: bool,
    /// While a person records: whole seconds left of their time to demonstrate.
    pub seconds_left: Option<u32>,
}

/// Control steps simulated per animation frame at most, so a slow frame never snowballs.
const MAX_STEPS_PER_FRAME: usize = 4;
/// The frame time dynamic resolution aims for (60 Hz displays).
const TARGET_FRAME_MS: f64 = 1000.0 / 60.0;
/// Frames a scene must stay at rest before it is drawn once more at full resolution.
const REST_FRAMES_BEFORE_SHARPENING: u32 = 30;
/// The lowest fraction of the display's resolution drawn.
const MIN_RENDER_SCALE: f64 = 0.3;

pub struct Stage {
    pub(super) episode: Episode,
    pub(super) driver: Driver,
    pub(super) teleop: Teleop,
    pub(super) camera: OrbitCamera,
    renderer: SceneRenderer,
    pub(super) canvas: HtmlCanvasElement,
    /// The pointers down on the scene and the gesture they make.
    pub(super) pointers: Pointers,
    /// The practice's guide, while one is on.
    pub(super) ghost: Option<Ghost>,
    pub(super) recording: Option<Recording>,
    /// What is left of a replayed demonstration.
    replaying: std::collections::VecDeque<Action>,
    on_demonstration: Callback<DemonstrationEnd>,
    /// Simulated time not yet stepped, in seconds.
    backlog: f64,
    /// Simulated seconds per real second (see `speed_from_address`).
    speed: f64,
    last_frame_ms: Option<f64>,
    pub(super) frames: u64,
    /// Fraction of the display's resolution drawn (dynamic resolution: software
    /// WebGL is slow per pixel, so a slow frame rate lowers it, a fast one restores it).
    pub(super) render_scale: f64,
    /// Smoothed milliseconds between animation frames.
    frame_ms: f64,
    frames_since_rescale: u32,
    /// What the canvas shows now, so a frame at rest is not drawn again.
    drawn: Option<(Vec<Visual>, OrbitCamera, (u32, u32))>,
    pub(super) draws: u64,
    drew_last_frame: bool,
    frames_at_rest: u32,
    /// The gripper command of the last step (for the status panel).
    pub(super) gripping: bool,
    pub(super) on_status: Callback<Status>,
    pub(super) last_status: Option<Status>,
    /// Test mode (`?guide`): publish the scripted expert's next waypoint.
    pub(super) guide: bool,
}

/// Keeps the stage, its input listeners and its animation loop alive together.
pub struct StageHandle {
    stage: Rc<RefCell<Stage>>,
    _listeners: Vec<EventListener>,
    _frame: Rc<RefCell<Option<AnimationFrame>>>,
}

impl StageHandle {
    pub fn start(
        canvas: HtmlCanvasElement,
        address: &PageAddress,
        seed: u64,
        on_status: Callback<Status>,
        on_demonstration: Callback<DemonstrationEnd>,
    ) -> Result<StageHandle, String> {
        let renderer = SceneRenderer::new(&canvas)?;
        let episode = Episode::new(address.task, seed);
        let teleop = Teleop::new(episode.tcp_target());
        let stage = Rc::new(RefCell::new(Stage {
            episode,
            driver: Driver::Person,
            teleop,
            camera: OrbitCamera::default(),
            renderer,
            canvas: canvas.clone(),
            pointers: Pointers::default(),
            ghost: None,
            recording: None,
            replaying: Default::default(),
            on_demonstration,
            backlog: 0.0,
            speed: address.speed,
            last_frame_ms: None,
            frames: 0,
            render_scale: 1.0,
            frame_ms: TARGET_FRAME_MS,
            frames_since_rescale: 0,
            drawn: None,
            draws: 0,
            drew_last_frame: false,
            frames_at_rest: 0,
            gripping: false,
            on_status,
            last_status: None,
            guide: address.guide,
        }));
        let listeners = super::stage_input::attach_input(&canvas, &stage);
        let frame = Rc::new(RefCell::new(None));
        schedule_frame(stage.clone(), frame.clone());
        Ok(StageHandle { stage, _listeners: listeners, _frame: frame })
    }

    pub fn reset(&self, task: TaskId, seed: u64) {
        self.stage.borrow_mut().restart(task, seed, Driver::Person);
    }

    /// Restarts the current episode with the scripted expert driving.
    pub fn watch_expert(&self) {
        let mut stage = self.stage.borrow_mut();
        let (task, seed) = (stage.episode.task(), stage.episode.seed());
        stage.restart(task, seed, Driver::Expert);
    }

    /// The task and seed the stage shows.
    pub fn showing(&self) -> (TaskId, u64) {
        let stage = self.stage.borrow();
        (stage.episode.task(), stage.episode.seed())
    }

    /// Plays a policy's rollout from its seed (a worker rolled it out).
    pub fn play_policy(&self, rollout: &PolicyRollout) {
        let mut stage = self.stage.borrow_mut();
        stage.restart(rollout.task, rollout.seed, Driver::Policy);
        stage.replaying = rollout.actions.iter().copied().collect();
    }

    /// A fresh episode of `task` from `seed` in which the person's actions (or the
    /// scripted expert's, for the autopilot) are recorded; its end is reported once,
    /// through `on_demonstration`.
    pub fn start_demonstration(&self, task: TaskId, seed: u64, by_expert: bool) {
        let mut stage = self.stage.borrow_mut();
        stage.restart(task, seed, if by_expert { Driver::Expert } else { Driver::Person });
        let source = if by_expert { Source::ScriptedExpert } else { Source::Person };
        stage.recording = Some(Recording { actions: Vec::new(), started_ms: js_sys::Date::now(), source });
        // Keys now steer the gripper, not the button that started the demonstration.
        let _ = stage.canvas.focus();
    }

    /// Plays a stored demonstration back from its seed.
    pub fn replay(&self, record: &DemonstrationRecord) {
        let mut stage = self.stage.borrow_mut();
        stage.restart(record.task, record.seed, Driver::Replay);
        stage.replaying = record.actions.iter().copied().collect();
    }

    /// Stops recording without reporting (the person discarded the attempt).
    pub fn abandon_demonstration(&self) {
        self.stage.borrow_mut().recording = None;
    }


    pub fn toggle_grip(&self) {
        self.stage.borrow_mut().take_over(|teleop| teleop.toggle_grip());
    }

    /// A practice: a fresh instance of `task` the person drives, with the scripted
    /// expert's ghost to follow; nothing is recorded.
    pub fn start_practice(&self, task: TaskId, seed: u64) {
        let mut stage = self.stage.borrow_mut();
        stage.restart(task, seed, Driver::Person);
        stage.ghost = Some(Ghost::new(task, seed));
        let _ = stage.canvas.focus();
    }
}

impl Stage {
    /// A fresh episode of `task` from `seed`, driven by `driver`.
    fn restart(&mut self, task: TaskId, seed: u64, driver: Driver) {
        self.episode = Episode::new(task, seed);
        self.teleop = Teleop::new(self.episode.tcp_target());
        self.driver = driver;
        self.backlog = 0.0;
        self.recording = None;
        self.replaying.clear();
        self.ghost = None;
    }

    /// The person acts: the expert (if it was driving) hands over where the arm is.
    pub(super) fn take_over(&mut self, change: impl FnOnce(&mut Teleop)) {
        if self.driver != Driver::Person {
            self.driver = Driver::Person;
            // A person who takes over from the autopilot makes it their demonstration.
            if let Some(recording) = &mut self.recording {
                recording.source = Source::Person;
            }
            let gripping = self.episode.observation().gripper_closed();
            self.teleop = Teleop { desired: self.episode.tcp_target(), gripping };
        }
        change(&mut self.teleop);
    }

    fn frame(&mut self, now_ms: f64) {
        let elapsed = self.last_frame_ms.map_or(0.0, |last| ((now_ms - last) / 1000.0).clamp(0.0, 0.25));
        self.last_frame_ms = Some(now_ms);
        // Only intervals after a drawn frame say what drawing costs.
        if self.drew_last_frame {
            self.adapt_resolution(elapsed * 1000.0);
        }
        self.backlog += elapsed * self.speed;
        let mut stepped = 0;
        while self.backlog >= f64::from(CONTROL_DT) && stepped < MAX_STEPS_PER_FRAME {
            let action = match self.driver {
                Driver::Expert => self.episode.expert_action(),
                Driver::Person => self.teleop.action(self.episode.tcp_target()),
                // Played back; then the arm holds still with its last grip.
                Driver::Replay | Driver::Policy => {
                    let hold = [0.0, 0.0, 0.0, if self.gripping { 1.0 } else { -1.0 }];
                    self.replaying.pop_front().unwrap_or(hold)
                }
            };
            self.episode.step(action);
            self.gripping = action[3] > 0.0;
            if let Some(ghost) = &mut self.ghost {
                ghost.follow(self.episode.observation().tcp());
            }
            if let Some(recording) = &mut self.recording {
                recording.actions.push(action);
            }
            self.finish_recording_if_over();
            self.backlog -= f64::from(CONTROL_DT);
            stepped += 1;
        }
        if stepped == MAX_STEPS_PER_FRAME {
            self.backlog = 0.0;
        }
        let mut visuals = self.episode.visuals();
        visuals.push(gripper_shadow(self.episode.observation().tcp()));
        if let Some(ghost) = &self.ghost {
            visuals.push(ghost_visual(ghost));
        }
        // A scene at rest (the arm holding still while a round trains) is drawn once, at
        // full resolution, and then not again: the canvas keeps its picture and the main
        // thread stays free. A moving scene is drawn every frame at the adapted scale.
        let at_rest = self
            .drawn
            .as_ref()
            .is_some_and(|(v, camera, _)| *camera == self.camera && looks_the_same(v, &visuals, 1e-5));
        self.frames_at_rest = if at_rest { self.frames_at_rest + 1 } else { 0 };
        // Sharpen only after a moment of rest: a pause between mouse moves is not one.
        let sharpen = self.frames_at_rest > REST_FRAMES_BEFORE_SHARPENING;
        let (width, height) = self.fit_canvas(if sharpen { 1.0 } else { self.render_scale });
        let same_picture = at_rest && self.drawn.as_ref().is_some_and(|(_, _, size)| *size == (width, height));
        if !same_picture {
            self.renderer.render(&visuals, &self.camera, width, height);
            self.drawn = Some((visuals, self.camera, (width, height)));
            self.draws += 1;
        }
        // Only frames drawn in motion say what motion costs.
        self.drew_last_frame = !at_rest;
        self.frames += 1;
        self.publish();
    }

    /// Ends the recording at success (the record goes out) or when the person's time is up.
    fn finish_recording_if_over(&mut self) {
        let success = self.episode.is_success();
        if self.recording.is_none() || !self.episode.is_demonstration_over() {
            return;
        }
        let recording = self.recording.take().expect("checked above");
        if !success {
            self.on_demonstration.emit(DemonstrationEnd::TimeUp);
            return;
        }
        let now = js_sys::Date::now();
        self.on_demonstration.emit(DemonstrationEnd::Success(DemonstrationRecord {
            task: self.episode.task(),
            seed: self.episode.seed(),
            suite_version: SUITE_VERSION,
            actions: recording.actions,
            success: true,
            source: recording.source,
            duration_seconds: (now - recording.started_ms) / 1000.0,
            recorded_at_ms: now,
        }));
    }

    /// Lowers the drawn resolution while frames come slower than 40 per second, and
    /// raises it again when they come at the display's rate; changes at most every 10
    /// frames, so one slow frame (a garbage collection, a layout) does not count.
    fn adapt_resolution(&mut self, elapsed_ms: f64) {
        if elapsed_ms <= 0.0 || elapsed_ms >= 250.0 {
            return; // the first frame, or the tab was hidden
        }
        self.frame_ms = 0.85 * self.frame_ms + 0.15 * elapsed_ms;
        self.frames_since_rescale += 1;
        if self.frames_since_rescale < 10 {
            return;
        }
        let scale = if self.frame_ms > 25.0 {
            (self.render_scale * 0.75).max(MIN_RENDER_SCALE)
        } else if self.frame_ms < TARGET_FRAME_MS * 1.1 {
            (self.render_scale * 1.1).min(1.0)
        } else {
            self.render_scale
        };
        if scale != self.render_scale {
            self.render_scale = scale;
            self.frames_since_rescale = 0;
        }
    }

    /// Matches the drawing buffer to the canvas's displayed size times `scale`; returns
    /// it.
    fn fit_canvas(&self, scale: f64) -> (u32, u32) {
        let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio()) * scale;
        let width = ((self.canvas.client_width() as f64) * ratio).round().max(1.0) as u32;
        let height = ((self.canvas.client_height() as f64) * ratio).round().max(1.0) as u32;
        if self.canvas.width() != width || self.canvas.height() != height {
            self.canvas.set_width(width);
            self.canvas.set_height(height);
        }
        (width, height)
    }
}

/// A dark disc on the table under the gripper: the depth cue that makes positioning it
/// by mouse possible.
fn gripper_shadow(tcp: Vector) -> Visual {
    Visual {
        shape: VisualShape::Cylinder { half_height: 0.0005, radius: 0.03 },
        pose: Pose::from_parts(
            Vector::new(tcp.x, tcp.y, 0.001),
            Rotation::from_rotation_x(std::f32::consts::FRAC_PI_2),
        ),
        color: Color(20, 25, 40),
        is_marker: true,
    }
}

/// The practice's ghost: a translucent ball where the expert's gripper is, blue while
/// its gripper is open (goals are green) and orange while it grips.
fn ghost_visual(ghost: &Ghost) -> Visual {
    Visual {
        shape: VisualShape::Ball { radius: 0.03 },
        pose: Pose::from_translation(ghost.tcp()),
        color: if ghost.gripping() { Color(230, 126, 0) } else { Color(70, 150, 255) },
        is_marker: true,
    }
}

fn schedule_frame(stage: Rc<RefCell<Stage>>, slot: Rc<RefCell<Option<AnimationFrame>>>) {
    let next_slot = slot.clone();
    let handle = request_animation_frame(move |now_ms| {
        stage.borrow_mut().frame(now_ms);
        schedule_frame(stage.clone(), next_slot.clone());
    });
    *slot.borrow_mut() = Some(handle);
}
