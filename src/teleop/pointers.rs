//! Pointer gestures on the scene, in plain Rust: mouse, pen and touch arrive as Pointer
//! Events, one path for all three, and become what the stage does with them.
//!
//! - A mouse's left button or a pen drags the gripper to the point under it (its plane).
//! - One finger slides the gripper: it moves as the finger moves, from where it was, so
//!   the finger never hides what it is placing.
//! - A mouse's right button (or Shift with the left) turns the camera.
//! - Two fingers turn the camera (their midpoint's motion) and zoom (their spread); the
//!   gripper stays where the first finger left it, and a finger left on the glass after
//!   the other lifts does nothing until it lifts too.

/// What kind of device a pointer is (Pointer Events' `pointerType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointerKind {
    Mouse,
    Pen,
    Touch,
}

impl PointerKind {
    /// From Pointer Events' `pointerType` (an unknown type is taken as a mouse).
    pub fn from_name(name: &str) -> PointerKind {
        match name {
            "touch" => PointerKind::Touch,
            "pen" => PointerKind::Pen,
            _ => PointerKind::Mouse,
        }
    }
}

/// A pointer's press, in the canvas's CSS pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Press {
    pub id: i32,
    pub kind: PointerKind,
    /// Pointer Events' `button`: 0 the main button (or a touch), 2 the secondary.
    pub button: i16,
    pub shift: bool,
    pub x: f32,
    pub y: f32,
}

/// What the stage does with a pointer's motion.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Gesture {
    /// Put the gripper under this pixel, in its horizontal plane.
    GripperTo { x: f32, y: f32 },
    /// Move the gripper in its plane as far as the point under the pointer moved.
    SlideGripper { from: (f32, f32), to: (f32, f32) },
    /// Turn the camera by a drag of this many pixels.
    Orbit { dx: f32, dy: f32 },
    /// Scale the camera's distance (below 1: closer).
    Zoom { factor: f32 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Idle,
    Gripper { id: i32, kind: PointerKind },
    Camera { id: i32 },
    /// Two fingers: their ids, in the order they landed.
    TwoFingers { ids: [i32; 2] },
    /// A gesture ended with pointers still down: they do nothing until all lift.
    Spent,
}

/// The pointers down on the scene and the gesture they make.
#[derive(Clone, Debug)]
pub struct Pointers {
    /// Each pointer down: its id and where it was last.
    down: Vec<(i32, (f32, f32))>,
    mode: Mode,
}

impl Default for Pointers {
    fn default() -> Self {
        Pointers { down: Vec::new(), mode: Mode::Idle }
    }
}

impl Pointers {
    /// Whether a gesture is under way (the stage then keeps the pointer captured).
    pub fn active(&self) -> bool {
        !self.down.is_empty()
    }

    fn at(&self, id: i32) -> Option<(f32, f32)> {
        self.down.iter().find(|(i, _)| *i == id).map(|(_, p)| *p)
    }

    fn pair(&self, ids: [i32; 2]) -> Option<((f32, f32), (f32, f32))> {
        Some((self.at(ids[0])?, self.at(ids[1])?))
    }

    /// A pointer pressed on the scene.
    pub fn press(&mut self, press: Press) -> Vec<Gesture> {
        self.down.retain(|(id, _)| *id != press.id);
        self.down.push((press.id, (press.x, press.y)));
        match (self.mode, press.kind) {
            (Mode::Idle, PointerKind::Touch) => {
                self.mode = Mode::Gripper { id: press.id, kind: PointerKind::Touch };
                Vec::new()
            }
            (Mode::Idle, kind) if press.button == 0 && !press.shift => {
                self.mode = Mode::Gripper { id: press.id, kind };
                vec![Gesture::GripperTo { x: press.x, y: press.y }]
            }
            (Mode::Idle, _) => {
                self.mode = Mode::Camera { id: press.id };
                Vec::new()
            }
            (Mode::Gripper { id, kind: PointerKind::Touch }, PointerKind::Touch) => {
                self.mode = Mode::TwoFingers { ids: [id, press.id] };
                Vec::new()
            }
            // A third finger, or another device joining in: the gesture is over.
            _ => {
                self.mode = Mode::Spent;
                Vec::new()
            }
        }
    }

    /// A pointer moved to `(x, y)`.
    pub fn motion(&mut self, id: i32, x: f32, y: f32) -> Vec<Gesture> {
        let Some(last) = self.at(id) else { return Vec::new() };
        let before = self.mode;
        let pair_before = if let Mode::TwoFingers { ids } = before { self.pair(ids) } else { None };
        if let Some(entry) = self.down.iter_mut().find(|(i, _)| *i == id) {
            entry.1 = (x, y);
        }
        match before {
            Mode::Gripper { id: held, kind } if held == id => match kind {
                PointerKind::Touch => vec![Gesture::SlideGripper { from: last, to: (x, y) }],
                _ => vec![Gesture::GripperTo { x, y }],
            },
            Mode::Camera { id: held } if held == id => vec![Gesture::Orbit { dx: x - last.0, dy: y - last.1 }],
            Mode::TwoFingers { ids } => {
                let (Some((a0, b0)), Some((a1, b1))) = (pair_before, self.pair(ids)) else { return Vec::new() };
                let mid = |a: (f32, f32), b: (f32, f32)| ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
                let spread = |a: (f32, f32), b: (f32, f32)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
                let (m0, m1) = (mid(a0, b0), mid(a1, b1));
                let mut gestures = Vec::new();
                if m0 != m1 {
                    gestures.push(Gesture::Orbit { dx: m1.0 - m0.0, dy: m1.1 - m0.1 });
                }
                let (s0, s1) = (spread(a0, b0), spread(a1, b1));
                if s0 > 1.0 && s1 > 1.0 && s0 != s1 {
                    // Fingers apart bring the camera closer, as a pinch zooms a map.
                    gestures.push(Gesture::Zoom { factor: s0 / s1 });
                }
                gestures
            }
            _ => Vec::new(),
        }
    }

    /// A pointer lifted, or the browser took it (`pointercancel`).
    pub fn release(&mut self, id: i32) {
        self.down.retain(|(i, _)| *i != id);
        self.mode = if self.down.is_empty() {
            Mode::Idle
        } else {
            match self.mode {
                // The other pointers of a gesture that was not this one's go on.
                Mode::Gripper { id: held, .. } | Mode::Camera { id: held } if held != id => self.mode,
                _ => Mode::Spent,
            }
        };
    }
}

/// Metres the gripper rises per CSS pixel dragged up the height slider: the slider's
/// 200-odd pixels span the workspace's height with a few millimetres a pixel.
pub const SLIDER_M_PER_PX: f32 = 0.002;

#[cfg(test)]
mod tests {
    use super::*;

    fn press(id: i32, kind: PointerKind, x: f32, y: f32) -> Press {
        Press { id, kind, button: 0, shift: false, x, y }
    }

    #[test]
    fn a_mouse_drag_puts_the_gripper_under_the_pointer_and_a_right_drag_turns_the_camera() {
        let mut pointers = Pointers::default();
        assert_eq!(pointers.press(press(1, PointerKind::Mouse, 10.0, 20.0)), vec![Gesture::GripperTo { x: 10.0, y: 20.0 }]);
        assert_eq!(pointers.motion(1, 15.0, 22.0), vec![Gesture::GripperTo { x: 15.0, y: 22.0 }]);
        pointers.release(1);
        assert!(!pointers.active());
        assert_eq!(pointers.motion(1, 30.0, 30.0), vec![], "a mouse moving with no button down does nothing");
        let right = Press { button: 2, ..press(1, PointerKind::Mouse, 30.0, 30.0) };
        assert_eq!(pointers.press(right), vec![]);
        assert_eq!(pointers.motion(1, 34.0, 27.0), vec![Gesture::Orbit { dx: 4.0, dy: -3.0 }]);
        pointers.release(1);
        let shifted = Press { shift: true, ..press(1, PointerKind::Pen, 0.0, 0.0) };
        assert_eq!(pointers.press(shifted), vec![]);
        assert_eq!(pointers.motion(1, 1.0, 0.0), vec![Gesture::Orbit { dx: 1.0, dy: 0.0 }]);
    }

    #[test]
    fn one_finger_slides_the_gripper_from_where_it_was() {
        let mut pointers = Pointers::default();
        assert_eq!(pointers.press(press(7, PointerKind::Touch, 100.0, 100.0)), vec![], "a touch does not make the gripper jump");
        assert_eq!(pointers.motion(7, 110.0, 95.0), vec![Gesture::SlideGripper { from: (100.0, 100.0), to: (110.0, 95.0) }]);
        assert_eq!(pointers.motion(7, 112.0, 95.0), vec![Gesture::SlideGripper { from: (110.0, 95.0), to: (112.0, 95.0) }]);
        pointers.release(7);
        assert!(!pointers.active());
    }

    #[test]
    fn two_fingers_turn_and_zoom_the_camera_and_leave_the_gripper_alone() {
        let mut pointers = Pointers::default();
        pointers.press(press(1, PointerKind::Touch, 100.0, 100.0));
        assert_eq!(pointers.press(press(2, PointerKind::Touch, 200.0, 100.0)), vec![]);
        // Both fingers move right by 10: the midpoint moves by 5 for each finger's step.
        assert_eq!(pointers.motion(1, 110.0, 100.0), vec![Gesture::Orbit { dx: 5.0, dy: 0.0 }, Gesture::Zoom { factor: 100.0 / 90.0 }]);
        assert_eq!(pointers.motion(2, 210.0, 100.0), vec![Gesture::Orbit { dx: 5.0, dy: 0.0 }, Gesture::Zoom { factor: 90.0 / 100.0 }]);
        // Spread apart: a zoom in.
        pointers.motion(1, 60.0, 100.0);
        let spread = pointers.motion(2, 260.0, 100.0);
        assert!(matches!(spread.as_slice(), [Gesture::Orbit { .. }, Gesture::Zoom { factor }] if *factor < 1.0), "{spread:?}");
        // One finger lifts: the other does nothing until it lifts too.
        pointers.release(1);
        assert_eq!(pointers.motion(2, 300.0, 150.0), vec![]);
        pointers.release(2);
        assert_eq!(pointers.press(press(3, PointerKind::Touch, 0.0, 0.0)), vec![]);
        assert_eq!(pointers.motion(3, 1.0, 1.0), vec![Gesture::SlideGripper { from: (0.0, 0.0), to: (1.0, 1.0) }]);
    }

    #[test]
    fn a_cancelled_pointer_ends_its_gesture() {
        let mut pointers = Pointers::default();
        pointers.press(press(4, PointerKind::Touch, 5.0, 5.0));
        pointers.release(4);
        assert_eq!(pointers.motion(4, 6.0, 6.0), vec![]);
        assert!(!pointers.active());
    }

    #[test]
    fn pointer_types_are_read_by_name() {
        assert_eq!(PointerKind::from_name("touch"), PointerKind::Touch);
        assert_eq!(PointerKind::from_name("pen"), PointerKind::Pen);
        assert_eq!(PointerKind::from_name("mouse"), PointerKind::Mouse);
        assert_eq!(PointerKind::from_name(""), PointerKind::Mouse);
    }
}
