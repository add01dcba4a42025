//! The live scene: owns the episode, steps it in real time on animation frames, turns
//! mouse and keyboard input into teleoperation, and draws every frame.

use std::cell::RefCell;
use std::rc::Rc;

use gloo::events::{EventListener, EventListenerOptions};
use gloo::render::{request_animation_frame, AnimationFrame};
use rapier3d::prelude::{Pose, Rotation, Vector};
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, KeyboardEvent, MouseEvent, WheelEvent};
use yew::Callback;

use super::render::SceneRenderer;
use crate::record::{DemonstrationRecord, Source};
use crate::sim::{looks_the_same, Action, Color, Visual, VisualShape, ACTION_SCALE_M, CONTROL_DT};
use crate::policy::Actor;
use crate::tasks::{Episode, TaskId, SUITE_VERSION};
use crate::teleop::{OrbitCamera, Teleop, HEIGHT_STEP_M, KEY_STEP_M};

/// Who moves the arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// The person, with mouse and keyboard.
    Person,
    /// The task's scripted expert.
    Expert,
    /// A policy (the pre-trained or the fine-tuned one).
    Policy,
    /// A stored demonstration's actions, played back.
    Replay,
}

/// How a demonstration ended.
#[derive(Clone, Debug, PartialEq)]
pub enum DemonstrationEnd {
    /// The task succeeded: the record is complete.
    Success(DemonstrationRecord),
    /// The task's horizon passed without success.
    TimeUp,
}

/// A demonstration being recorded: every action the person's input produced.
struct Recording {
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
}

/// Control steps simulated per animation frame at most, so a slow frame never snowballs.
const MAX_STEPS_PER_FRAME: usize = 4;
/// The frame time dynamic resolution aims for (60 Hz displays).
const TARGET_FRAME_MS: f64 = 1000.0 / 60.0;
/// Frames a scene must stay at rest before it is drawn once more at full resolution.
const REST_FRAMES_BEFORE_SHARPENING: u32 = 30;
/// The lowest fraction of the display's resolution drawn.
const MIN_RENDER_SCALE: f64 = 0.3;

enum Drag {
    Gripper,
    Camera { x: f32, y: f32 },
}

pub struct Stage {
    episode: Episode,
    driver: Driver,
    teleop: Teleop,
    camera: OrbitCamera,
    renderer: SceneRenderer,
    canvas: HtmlCanvasElement,
    drag: Option<Drag>,
    policy: Option<Rc<dyn Actor>>,
    recording: Option<Recording>,
    /// What is left of a replayed demonstration.
    replaying: std::collections::VecDeque<Action>,
    on_demonstration: Callback<DemonstrationEnd>,
    /// Simulated time not yet stepped, in seconds.
    backlog: f64,
    /// Simulated seconds per real second (see `speed_from_address`).
    speed: f64,
    last_frame_ms: Option<f64>,
    frames: u64,
    /// Fraction of the display's resolution drawn (dynamic resolution: software
    /// WebGL is slow per pixel, so a slow frame rate lowers it, a fast one restores it).
    render_scale: f64,
    /// Smoothed milliseconds between animation frames.
    frame_ms: f64,
    frames_since_rescale: u32,
    /// What the canvas shows now, so a frame at rest is not drawn again.
    drawn: Option<(Vec<Visual>, OrbitCamera, (u32, u32))>,
    draws: u64,
    drew_last_frame: bool,
    frames_at_rest: u32,
    /// The gripper command of the last step (for the status panel).
    gripping: bool,
    on_status: Callback<Status>,
    last_status: Option<Status>,
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
        task: TaskId,
        seed: u64,
        on_status: Callback<Status>,
        on_demonstration: Callback<DemonstrationEnd>,
    ) -> Result<StageHandle, String> {
        let renderer = SceneRenderer::new(&canvas)?;
        let episode = Episode::new(task, seed);
        let teleop = Teleop::new(episode.tcp_target());
        let stage = Rc::new(RefCell::new(Stage {
            episode,
            driver: Driver::Person,
            teleop,
            camera: OrbitCamera::default(),
            renderer,
            canvas: canvas.clone(),
            drag: None,
            policy: None,
            recording: None,
            replaying: Default::default(),
            on_demonstration,
            backlog: 0.0,
            speed: speed_from_address(),
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
        }));
        let listeners = attach_input(&canvas, &stage);
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

    /// Restarts the current episode with `policy` driving.
    pub fn watch_policy(&self, policy: Rc<dyn Actor>) {
        let mut stage = self.stage.borrow_mut();
        stage.policy = Some(policy);
        let (task, seed) = (stage.episode.task(), stage.episode.seed());
        stage.restart(task, seed, Driver::Policy);
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
    }

    /// The person acts: the expert (if it was driving) hands over where the arm is.
    fn take_over(&mut self, change: impl FnOnce(&mut Teleop)) {
        if self.driver != Driver::Person {
            self.driver = Driver::Person;
            // A person who takes over from the autopilot makes it their demonstration.
            if let Some(recording) = &mut self.recording {
                recording.source = Source::Person;
            }
            let gripping = self.episode.observation().opening() < 0.04;
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
                Driver::Policy => match &self.policy {
                    Some(policy) => policy.act(&[self.episode.observation()])[0],
                    None => [0.0, 0.0, 0.0, -1.0],
                },
                Driver::Person => self.teleop.action(self.episode.tcp_target()),
                // Played back; then the arm holds still with its last grip.
                Driver::Replay => {
                    let hold = [0.0, 0.0, 0.0, if self.gripping { 1.0 } else { -1.0 }];
                    self.replaying.pop_front().unwrap_or(hold)
                }
            };
            self.episode.step(action);
            self.gripping = action[3] > 0.0;
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

    /// Ends the recording at success (the record goes out) or at the horizon.
    fn finish_recording_if_over(&mut self) {
        let success = self.episode.is_success();
        if self.recording.is_none() || !(success || self.episode.is_done()) {
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

    /// Tells the page what changed, and mirrors the state on the canvas's data
    /// attributes, where end-to-end tests read it.
    fn publish(&mut self) {
        let obs = self.episode.observation();
        let tcp = obs.tcp();
        let (w, h) = (self.canvas.client_width() as f32, self.canvas.client_height() as f32);
        let set = |name: &str, value: String| {
            let _ = self.canvas.set_attribute(name, &value);
        };
        set("data-tcp", format!("{:.4} {:.4} {:.4}", tcp.x, tcp.y, tcp.z));
        if let Some((x, y)) = self.camera.project(tcp, w, h) {
            set("data-tcp-px", format!("{x:.1} {y:.1}"));
        }
        set("data-steps", self.episode.steps().to_string());
        // Where the scripted expert is taking the gripper, and whether it would grip: the
        // path the end-to-end test drives with the mouse. An expert action below full
        // scale ends at its waypoint; a full-scale one heads further, so look 3 steps on.
        let expert = self.episode.expert_action();
        let full_scale = expert[..3].iter().any(|v| v.abs() > 0.999);
        let reach = if full_scale { 3.0 } else { 1.0 } * ACTION_SCALE_M;
        let ahead = self.episode.tcp_target() + Vector::new(expert[0], expert[1], expert[2]) * reach;
        set("data-guide", format!("{:.4} {:.4} {:.4} {}", ahead.x, ahead.y, ahead.z, expert[3] > 0.0));
        if let Some((x, y)) = self.camera.project(Vector::new(ahead.x, ahead.y, self.teleop.desired.z), w, h) {
            set("data-guide-px", format!("{x:.1} {y:.1}"));
        }
        set("data-desired-z", format!("{:.4}", self.teleop.desired.z));
        set("data-gripping", self.teleop.gripping.to_string());
        set("data-recording", self.recording.is_some().to_string());
        set("data-driver", format!("{:?}", self.driver).to_lowercase());
        set("data-success", self.episode.is_success().to_string());
        set("data-frames", self.frames.to_string());
        set("data-draws", self.draws.to_string());
        set("data-render-scale", format!("{:.2}", self.render_scale));
        let status = Status {
            task: self.episode.task(),
            seed: self.episode.seed(),
            steps: self.episode.steps(),
            success: self.episode.is_success(),
            driver: self.driver,
            gripping: self.gripping,
        };
        // Steps change every tick; the panel only needs them a few times a second.
        let changed = match &self.last_status {
            Some(last) => {
                last.success != status.success
                    || last.driver != status.driver
                    || last.gripping != status.gripping
                    || last.task != status.task
                    || last.seed != status.seed
                    || status.steps.abs_diff(last.steps) >= 5
                    || (status.steps < last.steps)
            }
            None => true,
        };
        if changed {
            self.last_status = Some(status.clone());
            self.on_status.emit(status);
        }
    }

    fn mouse_position(&self, event: &MouseEvent) -> (f32, f32) {
        let rect = self.canvas.get_bounding_client_rect();
        (event.client_x() as f32 - rect.left() as f32, event.client_y() as f32 - rect.top() as f32)
    }

    fn drag_gripper_to(&mut self, x: f32, y: f32) {
        let (w, h) = (self.canvas.client_width() as f32, self.canvas.client_height() as f32);
        let (origin, direction) = self.camera.ray(x, y, w, h);
        self.take_over(|teleop| teleop.drag_to(origin, direction));
    }

    fn mouse_down(&mut self, event: &MouseEvent) {
        let (x, y) = self.mouse_position(event);
        if event.button() == 0 && !event.shift_key() {
            self.drag = Some(Drag::Gripper);
            self.drag_gripper_to(x, y);
        } else {
            self.drag = Some(Drag::Camera { x, y });
        }
        event.prevent_default();
    }

    fn mouse_move(&mut self, event: &MouseEvent) {
        let (x, y) = self.mouse_position(event);
        match self.drag {
            Some(Drag::Gripper) => self.drag_gripper_to(x, y),
            Some(Drag::Camera { x: last_x, y: last_y }) => {
                self.camera.orbit(x - last_x, y - last_y);
                self.drag = Some(Drag::Camera { x, y });
            }
            None => {}
        }
    }

    fn wheel(&mut self, event: &WheelEvent) {
        event.prevent_default();
        let notches = (event.delta_y() / 100.0).clamp(-3.0, 3.0) as f32;
        if event.ctrl_key() || event.alt_key() {
            self.camera.zoom(1.0 + 0.1 * notches);
        } else {
            self.take_over(|teleop| teleop.nudge(Vector::Z * (-notches * HEIGHT_STEP_M)));
        }
    }

    fn key(&mut self, event: &KeyboardEvent) {
        let step = match event.key().as_str() {
            "ArrowLeft" | "a" | "A" => Some(Vector::NEG_X * KEY_STEP_M),
            "ArrowRight" | "d" | "D" => Some(Vector::X * KEY_STEP_M),
            "ArrowUp" | "w" | "W" => Some(Vector::Y * KEY_STEP_M),
            "ArrowDown" | "s" | "S" => Some(Vector::NEG_Y * KEY_STEP_M),
            "q" | "Q" | "PageUp" => Some(Vector::Z * HEIGHT_STEP_M),
            "e" | "E" | "PageDown" => Some(Vector::NEG_Z * HEIGHT_STEP_M),
            _ => None,
        };
        if let Some(step) = step {
            self.take_over(|teleop| teleop.nudge(step));
            event.prevent_default();
        } else if event.key() == " " {
            self.take_over(|teleop| teleop.toggle_grip());
            event.prevent_default();
        }
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

fn schedule_frame(stage: Rc<RefCell<Stage>>, slot: Rc<RefCell<Option<AnimationFrame>>>) {
    let next_slot = slot.clone();
    let handle = request_animation_frame(move |now_ms| {
        stage.borrow_mut().frame(now_ms);
        schedule_frame(stage.clone(), next_slot.clone());
    });
    *slot.borrow_mut() = Some(handle);
}

fn attach_input(canvas: &HtmlCanvasElement, stage: &Rc<RefCell<Stage>>) -> Vec<EventListener> {
    let window = gloo::utils::window();
    let active = EventListenerOptions::enable_prevent_default();
    let on = |target: &web_sys::EventTarget, name: &'static str, handler: fn(&mut Stage, &web_sys::Event)| {
        let stage = stage.clone();
        EventListener::new_with_options(target, name, active, move |event| {
            handler(&mut stage.borrow_mut(), event);
        })
    };
    vec![
        on(canvas, "mousedown", |s, e| s.mouse_down(e.unchecked_ref())),
        on(&window, "mousemove", |s, e| s.mouse_move(e.unchecked_ref())),
        on(&window, "mouseup", |s, _| s.drag = None),
        on(canvas, "wheel", |s, e| s.wheel(e.unchecked_ref())),
        on(canvas, "contextmenu", |_, e| e.prevent_default()),
        on(&window, "keydown", |s, e| {
            let event: &KeyboardEvent = e.unchecked_ref();
            // Keys typed into form controls belong to them.
            let in_control = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
            if !in_control {
                s.key(event);
            }
        }),
    ]
}

/// The scene's speed from `?speed=` in the address (0.1 to 1, default 1): a slower
/// scene makes precise demonstrations easier, and lets the end-to-end test's mouse keep
/// up on a slow machine. Recorded actions are the same per step at any speed.
fn speed_from_address() -> f64 {
    let search = gloo::utils::window().location().search().unwrap_or_default();
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("speed="))
        .and_then(|value| value.parse::<f64>().ok())
        .filter(|value| value.is_finite())
        .map_or(1.0, |value| value.clamp(0.1, 1.0))
}
