//! Door open: a door hinged on its left edge swings towards the robot. Key point: the
//! centre of the handle bar; the observed rotation is the door's.

use rand_chacha::ChaCha8Rng;
use rapier3d::prelude::*;

use super::articulated::{add_frame, add_moving_part, angle_about, bar_handle, fixture_box};
use super::expert::{approach_from_above, move_to, CLOSED};
use super::{uniform, Observation, TaskObjects};
use crate::sim::{Action, Color, Scene, Visual};

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

struct Door {
    door: RigidBodyHandle,
    hinge: Vector,
}

pub(super) fn build(scene: &mut Scene, rng: &mut ChaCha8Rng) -> Box<dyn TaskObjects> {
    let hinge = Vector::new(uniform(rng, -0.3, -0.15), uniform(rng, 0.62, 0.72), 0.0);
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
    let door = add_moving_part(scene, Pose::from_translation(hinge), 3.0, colliders);
    let joint = RevoluteJointBuilder::new(HINGE_AXIS)
        .local_anchor1(Vector::ZERO)
        .local_anchor2(Vector::ZERO)
        .limits([0.0, MAX_ANGLE]);
    scene.physics.insert_impulse_joint(frame, door, joint);
    let task = Door { door, hinge };
    scene.add_marker(Visual::ball(task.goal(), 0.015, Color::GOAL));
    Box::new(task)
}

impl TaskObjects for Door {
    fn object_pose(&self, scene: &Scene) -> Pose {
        let pose = scene.pose(self.door);
        Pose::from_parts(pose.transform_point(HANDLE), pose.rotation)
    }

    fn goal(&self) -> Vector {
        self.hinge + Rotation::from_axis_angle(HINGE_AXIS, OPEN_GOAL) * HANDLE
    }

    fn is_success(&self, scene: &Scene) -> bool {
        angle_about(scene.pose(self.door).rotation, HINGE_AXIS) >= OPEN_ENOUGH
    }
}

/// Hook the closed gripper between the handle bar and the panel, then pull along the
/// door's arc, aiming a little ahead of the handle.
pub(super) fn expert(obs: &Observation) -> Action {
    let (tcp, handle, rotation) = (obs.tcp(), obs.object_position(), obs.object_rotation());
    let hinge = handle - rotation * HANDLE;
    let local = rotation.inverse() * (tcp - hinge);
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
