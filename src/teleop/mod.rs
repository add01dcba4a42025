//! Teleoperation, in plain Rust: an orbit camera with picking rays, the gestures of
//! mouse, pen and touch (`pointers`), the practice's guide (`ghost`), and the mapping
//! from where the person wants the gripper to the action the arm takes.
//!
//! The web shell only forwards pixels and keys here, so this logic is tested natively.

pub mod ghost;
pub mod pointers;

use rapier3d::prelude::Vector;

use crate::sim::arm::{clamp_to_workspace, WORKSPACE_MAX, WORKSPACE_MIN};
use crate::sim::Action;
use crate::tasks::expert::{move_to, CLOSED, OPEN};

/// A camera circling a target point, `z` up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrbitCamera {
    pub target: Vector,
    /// Heading of the eye around the target, radians from `+x`.
    pub yaw: f32,
    /// Elevation of the eye above the target, radians.
    pub pitch: f32,
    /// Eye-to-target distance, metres.
    pub distance: f32,
    /// Vertical field of view, radians.
    pub fov_y: f32,
}

impl Default for OrbitCamera {
    /// From in front of the arm and to its right, looking down at the workspace, so the
    /// furniture shows its front and the arm stands off to the side.
    fn default() -> Self {
        OrbitCamera {
            target: Vector::new(-0.05, 0.55, 0.05),
            yaw: -0.75,
            pitch: 0.8,
            distance: 1.6,
            fov_y: 0.75,
        }
    }
}

impl OrbitCamera {
    pub fn eye(&self) -> Vector {
        let (sin_yaw, cos_yaw) = (libm::sinf(self.yaw), libm::cosf(self.yaw));
        let (sin_pitch, cos_pitch) = (libm::sinf(self.pitch), libm::cosf(self.pitch));
        self.target + Vector::new(cos_pitch * cos_yaw, cos_pitch * sin_yaw, sin_pitch) * self.distance
    }

    /// Turns the camera by a mouse drag of `(dx, dy)` pixels.
    pub fn orbit(&mut self, dx: f32, dy: f32) {
        self.yaw -= dx * 0.008;
        self.pitch = (self.pitch + dy * 0.008).clamp(0.05, 1.5);
    }

    /// Moves the eye closer (`factor < 1`) or further.
    pub fn zoom(&mut self, factor: f32) {
        self.distance = (self.distance * factor).clamp(0.5, 4.0);
    }

    fn basis(&self) -> (Vector, Vector, Vector) {
        let forward = (self.target - self.eye()).normalize();
        let right = forward.cross(Vector::Z).normalize();
        let up = right.cross(forward);
        (forward, right, up)
    }

    /// The ray from the eye through pixel `(x, y)` (from the top-left corner) of a
    /// `width` x `height` view: its origin and unit direction.
    pub fn ray(&self, x: f32, y: f32, width: f32, height: f32) -> (Vector, Vector) {
        let (forward, right, up) = self.basis();
        let half_height = libm::tanf(self.fov_y / 2.0);
        let ndc_x = 2.0 * x / width - 1.0;
        let ndc_y = 1.0 - 2.0 * y / height;
        let direction = forward + right * (ndc_x * half_height * width / height) + up * (ndc_y * half_height);
        (self.eye(), direction.normalize())
    }

    /// The pixel where `point` appears, or `None` if it is behind the eye.
    pub fn project(&self, point: Vector, width: f32, height: f32) -> Option<(f32, f32)> {
        let (forward, right, up) = self.basis();
        let relative = point - self.eye();
        let depth = relative.dot(forward);
        if depth <= 1e-4 {
            return None;
        }
        let half_height = libm::tanf(self.fov_y / 2.0);
        let ndc_x = relative.dot(right) / (depth * half_height * width / height);
        let ndc_y = relative.dot(up) / (depth * half_height);
        Some(((ndc_x + 1.0) * width / 2.0, (1.0 - ndc_y) * height / 2.0))
    }
}

/// Where a ray meets the horizontal plane at height `z`, if it does (in front of it).
pub fn hit_horizontal_plane(origin: Vector, direction: Vector, z: f32) -> Option<Vector> {
    if direction.z.abs() < 1e-6 {
        return None;
    }
    let t = (z - origin.z) / direction.z;
    (t > 0.0).then(|| origin + direction * t)
}

/// Metres the gripper rises per wheel notch or per key press.
pub const HEIGHT_STEP_M: f32 = 0.02;
/// Metres the gripper moves per arrow-key press.
pub const KEY_STEP_M: f32 = 0.03;

/// What the person asks of the gripper: where to be, and whether to grip.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Teleop {
    /// Desired TCP position, kept inside the workspace.
    pub desired: Vector,
    pub gripping: bool,
}

impl Teleop {
    pub fn new(tcp: Vector) -> Teleop {
        Teleop { desired: clamp_to_workspace(tcp), gripping: false }
    }

    /// Drag: the gripper follows the mouse ray across the horizontal plane it is in.
    pub fn drag_to(&mut self, origin: Vector, direction: Vector) {
        if let Some(hit) = hit_horizontal_plane(origin, direction, self.desired.z) {
            self.desired = clamp_to_workspace(Vector::new(hit.x, hit.y, self.desired.z));
        }
    }

    /// Slide: the gripper moves in its horizontal plane as far as the point under a
    /// finger moved there, from the ray `from` to the ray `to` (each an origin and a
    /// direction).
    pub fn slide(&mut self, from: (Vector, Vector), to: (Vector, Vector)) {
        let z = self.desired.z;
        if let (Some(a), Some(b)) = (hit_horizontal_plane(from.0, from.1, z), hit_horizontal_plane(to.0, to.1, z)) {
            self.nudge(Vector::new(b.x - a.x, b.y - a.y, 0.0));
        }
    }

    /// Moves the desired position by `delta` metres.
    pub fn nudge(&mut self, delta: Vector) {
        self.desired = clamp_to_workspace(self.desired + delta);
    }

    pub fn toggle_grip(&mut self) {
        self.gripping = !self.gripping;
    }

    /// The action that moves the arm's current target towards the desired position.
    pub fn action(&self, current_target: Vector) -> Action {
        move_to(current_target, self.desired, if self.gripping { CLOSED } else { OPEN })
    }
}

/// The horizontal extent of the workspace, for drawing its outline.
pub fn workspace_corners() -> [Vector; 4] {
    let (lo, hi) = (WORKSPACE_MIN, WORKSPACE_MAX);
    [
        Vector::new(lo.x, lo.y, 0.001),
        Vector::new(hi.x, lo.y, 0.001),
        Vector::new(hi.x, hi.y, 0.001),
        Vector::new(lo.x, hi.y, 0.001),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::{Episode, TaskId};

    #[test]
    fn projecting_then_casting_a_ray_finds_the_same_point() {
        let camera = OrbitCamera::default();
        let point = Vector::new(0.1, 0.55, 0.12);
        let (x, y) = camera.project(point, 800.0, 600.0).unwrap();
        let (origin, direction) = camera.ray(x, y, 800.0, 600.0);
        let hit = hit_horizontal_plane(origin, direction, point.z).unwrap();
        assert!((hit - point).length() < 1e-4, "{hit:?}");
    }

    #[test]
    fn dragging_moves_the_gripper_to_the_point_under_the_mouse() {
        let camera = OrbitCamera::default();
        let mut episode = Episode::new(TaskId::Reach, 3);
        let mut teleop = Teleop::new(episode.tcp_target());
        let wanted = Vector::new(0.15, 0.6, teleop.desired.z);
        let (x, y) = camera.project(wanted, 1000.0, 700.0).unwrap();
        let (origin, direction) = camera.ray(x, y, 1000.0, 700.0);
        teleop.drag_to(origin, direction);
        assert!((teleop.desired - wanted).length() < 1e-4);
        for _ in 0..60 {
            episode.step(teleop.action(episode.tcp_target()));
        }
        assert!((episode.observation().tcp() - wanted).length() < 1e-3);
    }

    #[test]
    fn sliding_moves_the_gripper_as_far_as_the_finger_moved_under_it() {
        let camera = OrbitCamera::default();
        let start = Vector::new(0.0, 0.55, 0.15);
        let mut teleop = Teleop::new(start);
        let z = teleop.desired.z;
        // A finger lands off the gripper and moves 6 cm along x and 3 cm along y in its plane.
        let (a, b) = (Vector::new(0.1, 0.5, z), Vector::new(0.16, 0.53, z));
        let ray = |p: Vector| {
            let (x, y) = camera.project(p, 390.0, 500.0).unwrap();
            camera.ray(x, y, 390.0, 500.0)
        };
        teleop.slide(ray(a), ray(b));
        assert!((teleop.desired - (teleop_start(start) + (b - a))).length() < 1e-4, "{:?}", teleop.desired);
    }

    fn teleop_start(tcp: Vector) -> Vector {
        Teleop::new(tcp).desired
    }

    #[test]
    fn desired_position_stays_in_the_workspace() {
        let mut teleop = Teleop::new(Vector::new(0.0, 0.5, 0.2));
        teleop.nudge(Vector::new(5.0, -5.0, 5.0));
        assert_eq!(teleop.desired, Vector::new(WORKSPACE_MAX.x, WORKSPACE_MIN.y, WORKSPACE_MAX.z));
    }
}
