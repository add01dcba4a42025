//! The stage's input: mouse and keyboard become teleoperation of the gripper (or a turn
//! of the camera). Listeners live as long as the stage's handle.

use std::cell::RefCell;
use std::rc::Rc;

use gloo::events::{EventListener, EventListenerOptions};
use rapier3d::prelude::Vector;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, KeyboardEvent, MouseEvent, WheelEvent};

use super::stage::{Drag, Stage};
use crate::teleop::{HEIGHT_STEP_M, KEY_STEP_M};

impl Stage {
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

pub(super) fn attach_input(canvas: &HtmlCanvasElement, stage: &Rc<RefCell<Stage>>) -> Vec<EventListener> {
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

