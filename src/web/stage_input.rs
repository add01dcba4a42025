//! The stage's input: Pointer Events (mouse, pen and touch through one path, the
//! gestures of [`crate::teleop::pointers`]), the wheel, the keyboard and the height
//! slider become teleoperation of the gripper or a turn of the camera. Listeners live as
//! long as the stage's handle.

use std::cell::RefCell;
use std::rc::Rc;

use gloo::events::{EventListener, EventListenerOptions};
use rapier3d::prelude::Vector;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlCanvasElement, KeyboardEvent, PointerEvent, WheelEvent};

use super::stage::Stage;
use crate::teleop::pointers::{Gesture, PointerKind, Press, SLIDER_M_PER_PX};
use crate::teleop::{HEIGHT_STEP_M, KEY_STEP_M};

/// The height slider beside the scene (laid out by the page): a drag up it raises the
/// gripper, for fingers that have no wheel.
pub const HEIGHT_SLIDER_ID: &str = "height-slider";

impl Stage {
    fn pointer_position(&self, event: &PointerEvent) -> (f32, f32) {
        let rect = self.canvas.get_bounding_client_rect();
        (event.client_x() as f32 - rect.left() as f32, event.client_y() as f32 - rect.top() as f32)
    }

    fn ray(&self, (x, y): (f32, f32)) -> (Vector, Vector) {
        let (w, h) = (self.canvas.client_width() as f32, self.canvas.client_height() as f32);
        self.camera.ray(x, y, w, h)
    }

    fn perform(&mut self, gestures: Vec<Gesture>) {
        for gesture in gestures {
            match gesture {
                Gesture::GripperTo { x, y } => {
                    let (origin, direction) = self.ray((x, y));
                    self.take_over(|teleop| teleop.drag_to(origin, direction));
                }
                Gesture::SlideGripper { from, to } => {
                    let (from, to) = (self.ray(from), self.ray(to));
                    self.take_over(|teleop| teleop.slide(from, to));
                }
                Gesture::Orbit { dx, dy } => self.camera.orbit(dx, dy),
                Gesture::Zoom { factor } => self.camera.zoom(factor),
            }
        }
    }

    fn pointer_down(&mut self, event: &PointerEvent) {
        let (x, y) = self.pointer_position(event);
        let press = Press {
            id: event.pointer_id(),
            kind: PointerKind::from_name(&event.pointer_type()),
            button: event.button(),
            shift: event.shift_key(),
            x,
            y,
        };
        // The canvas keeps the pointer's events while it is down, even off its edge.
        let _ = self.canvas.set_pointer_capture(press.id);
        let gestures = self.pointers.press(press);
        self.perform(gestures);
        let _ = self.canvas.focus();
        event.prevent_default();
    }

    fn pointer_move(&mut self, event: &PointerEvent) {
        if !self.pointers.active() {
            return;
        }
        let (x, y) = self.pointer_position(event);
        let gestures = self.pointers.motion(event.pointer_id(), x, y);
        self.perform(gestures);
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

/// The height slider: a pointer down on it, then each pixel it moves up raises the
/// gripper by [`SLIDER_M_PER_PX`] (down lowers it).
fn attach_slider(slider: &Element, stage: &Rc<RefCell<Stage>>) -> Vec<EventListener> {
    let active = EventListenerOptions::enable_prevent_default();
    let held = Rc::new(RefCell::new(None::<(i32, f32)>));
    let down = {
        let (held, slider) = (held.clone(), slider.clone());
        EventListener::new_with_options(slider.clone().as_ref(), "pointerdown", active, move |event| {
            let event: &PointerEvent = event.unchecked_ref();
            let _ = slider.set_pointer_capture(event.pointer_id());
            *held.borrow_mut() = Some((event.pointer_id(), event.client_y() as f32));
            event.prevent_default();
        })
    };
    let motion = {
        let (held, stage) = (held.clone(), stage.clone());
        EventListener::new_with_options(slider.as_ref(), "pointermove", active, move |event| {
            let event: &PointerEvent = event.unchecked_ref();
            let mut held = held.borrow_mut();
            if let Some((id, last_y)) = *held {
                if id == event.pointer_id() {
                    let y = event.client_y() as f32;
                    stage.borrow_mut().take_over(|teleop| teleop.nudge(Vector::Z * ((last_y - y) * SLIDER_M_PER_PX)));
                    *held = Some((id, y));
                }
            }
        })
    };
    let mut listeners = vec![down, motion];
    for name in ["pointerup", "pointercancel"] {
        let held = held.clone();
        listeners.push(EventListener::new(slider.as_ref(), name, move |_| *held.borrow_mut() = None));
    }
    listeners
}

pub(super) fn attach_input(canvas: &HtmlCanvasElement, stage: &Rc<RefCell<Stage>>) -> Vec<EventListener> {
    let window = gloo::utils::window();
    let active = EventListenerOptions::enable_prevent_default();
    let on = |target: &web_sys::EventTarget, name: &'static str, handler: fn(&mut Stage, &web_sys::Event)| {
        let stage = stage.clone();
        EventListener::new_with_options(target, name, active, move |event| {
            handler(&mut stage.borrow_mut(), event);
        })
    };
    let mut listeners = vec![
        on(canvas, "pointerdown", |s, e| s.pointer_down(e.unchecked_ref())),
        on(canvas, "pointermove", |s, e| s.pointer_move(e.unchecked_ref())),
        on(canvas, "pointerup", |s, e| s.pointers.release(e.unchecked_ref::<PointerEvent>().pointer_id())),
        on(canvas, "pointercancel", |s, e| s.pointers.release(e.unchecked_ref::<PointerEvent>().pointer_id())),
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
    ];
    if let Some(slider) = gloo::utils::document().get_element_by_id(HEIGHT_SLIDER_ID) {
        listeners.extend(attach_slider(&slider, stage));
    }
    listeners
}
