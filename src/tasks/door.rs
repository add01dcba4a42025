//! Door open and door close: a door hinged on its left edge swings towards the robot
//! to open. Key point: the centre of the handle bar; the observed rotation is the door's.

use rand_chacha::ChaCha8Rng;
use rapier3d::prelude::*;

use super::articulated::{add_frame, add_moving_part, angle_about, bar_handle, fixture_box};
use super::expert::{approach_from_above, move_to, CLOSED};
use super::{uniform, Observation, TaskObjects};
use crate::sim::{Action, Color, Scene, Visual};

/// Which way the door must go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Goal {
    Open,
    Close,
}

/// Hinge axis: positive angles swing the free edge (`+x`) towards the robot (`-y`).
const HINGE_AXIS: Vector = Vector::NEG_Z;
const PANEL_HALF: Vector = Vector::new(0.16, 0.01, 0.15);
const PANEL_CENTER: Vector = Vector::new(0.17, 0.0, 0.17);
/// Handle bar centre in the door's frame (origin on the hinge axis at table height).
const HANDLE: Vector = Vector::new(0.25, -0.07, 0.15);
/// Where the gripper hooks in, between the bar and the panel, in the door's frame.
const HOOK: Vector = Vector::new(0.25, -0.035, 0.15);
/// Opening angle that counts as open, and the angle the goal shows, in radians.
const OPEN_ENOUGH: f32 = 0.7;
const OPEN_GOAL: f32 = 0.9;
const MAX_ANGLE: f32 = 1.5;
/// Angle under which the door counts as shut, in radians.
const SHUT_ENOUGH: f32 = 0.15;
/// Where the closed gripper presses to shut the door: outside the handle bar (whose
/// outer face is at `y = -0.08`), in the door's frame.
const PRESS: Vector = Vector::new(0.25, -0.1, 0.15);

struct Door {
    door: RigidBodyHandle,
    hinge: Vector,
    goal: Goal,
}

pub(super) fn build(scene: &mut Scene, rng: &mut ChaCha8Rng, goal: Goal) -> Box<dyn TaskObjects> {
    let hinge = Vector::new(uniform(rng, -0.3, -0.15), uniform(rng, 0.62, 0.72), 0.0);
    let pose = match goal {
        Goal::Open => Pose::from_translation(hinge),
        Goal::Close => Pose::from_parts(hinge, Rotation::from_axis_angle(HINGE_AXIS, uniform(rng, 1.0, 1.3))),
    };
    let frame = add_frame(
        scene,
        hinge,
        vec![fixture_box(
            Vector::new(0.015, 0.015, 0.17),
            Vector::new(-0.02, 0.0, 0.17),
            Color::FURNITURE,
        )],
    );
    let mut colliders = vec![fixture_box(PANEL_HALF, PANEL_CENTER, Color::MOVING_PART)];
    colliders.extend(bar_handle(
        HANDLE,
        Vector::new(0.05, 0.01, 0.01),
        Vector::X,
        Vector::new(0.0, 0.06, 0.0),
    ));
    let door = add_moving_part(scene, pose, 3.0, colliders);
    let joint = RevoluteJointBuilder::new(HINGE_AXIS)
        .local_anchor1(Vector::ZERO)
        .local_anchor2(Vector::ZERO)
        .limits([0.0, MAX_ANGLE]);
    scene.physics.insert_impulse_joint(frame, door, joint);
    let task = Door { door, hinge, goal };
    scene.add_marker(Visual::ball(task.goal(), 0.015, Color::GOAL));
    Box::new(task)
}

impl TaskObjects for Door {
    fn object_pose(&self, scene: &Scene) -> Pose {
        let pose = scene.pose(self.door);
        Pose::from_parts(pose.transform_point(HANDLE), pose.rotation)
    }

    fn goal(&self) -> Vector {
        match self.goal {
            Goal::Open => self.hinge + Rotation::from_axis_angle(HINGE_AXIS, OPEN_GOAL) * HANDLE,
            Goal::Close => self.hinge + HANDLE,
        }
    }

    fn is_success(&self, scene: &Scene) -> bool {
        let angle = angle_about(scene.pose(self.door).rotation, HINGE_AXIS);
        match self.goal {
            Goal::Open => angle >= OPEN_ENOUGH,
            Goal::Close => angle <= SHUT_ENOUGH,
        }
    }
}

/// Open: hook the closed gripper between the handle bar and the panel, then pull along
/// the door's arc, aiming a little ahead of the handle. Close: lower it outside the bar
/// and push the door back along its arc.
pub(super) fn expert(obs: &Observation, goal: Goal) -> Action {
    let (tcp, handle, rotation) = (obs.tcp(), obs.object_position(), obs.object_rotation());
    let hinge = handle - rotation * HANDLE;
    let local = rotation.inverse() * (tcp - hinge);
    if goal == Goal::Close {
        return close(tcp, hinge, rotation, local);
    }
    let hooked = (local.x - HOOK.x).abs() < 0.03
        && local.y > -0.065
        && local.y < -0.015
        && (local.z - HOOK.z).abs() < 0.015;
    if hooked {
        let angle = angle_about(rotation, HINGE_AXIS);
        let ahead = Rotation::from_axis_angle(HINGE_AXIS, angle + 0.25);
        return move_to(tcp, hinge + ahead * Vector::new(HOOK.x, -0.045, HOOK.z), CLOSED);
    }
    let hook = hinge + rotation * HOOK;
    approach_from_above(tcp, hook, 0.38, 0.006, CLOSED)
        .unwrap_or_else(|| move_to(tcp, hook, CLOSED))
}

fn close(tcp: Vector, hinge: Vector, rotation: Rotation, local: Vector) -> Action {
    let pressing = (local.x - PRESS.x).abs() < 0.03
        && local.y < -0.08
        && local.y > -0.14
        && (local.z - PRESS.z).abs() < 0.015;
    if pressing {
        let angle = angle_about(rotation, HINGE_AXIS);
        let ahead = Rotation::from_axis_angle(HINGE_AXIS, angle - 0.25);
        return move_to(tcp, hinge + ahead * Vector::new(PRESS.x, -0.085, PRESS.z), CLOSED);
    }
    let press = hinge + rotation * PRESS;
    approach_from_above(tcp, press, 0.38, 0.006, CLOSED)
        .unwrap_or_else(|| move_to(tcp, press, CLOSED))
}
