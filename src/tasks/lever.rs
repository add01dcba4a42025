//! Lever pull and lever push: tip an upright lever about a horizontal axis, towards the
//! robot or away from it. Key point: the centre of the lever's knob; the observed
//! rotation is the lever's. The push lever is the pull lever mirrored: its axis points
//! the other way, so a positive angle tips the knob away.

use rand_chacha::ChaCha8Rng;
use rapier3d::prelude::*;

use super::articulated::{add_frame, add_moving_part, angle_about, fixture_box, fixture_groups};
use super::expert::{approach_from_above, move_to, CLOSED};
use super::{uniform, Observation, TaskObjects};
use crate::sim::{Action, Color, Scene, Visual};

/// Which way the lever must tip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Way {
    /// Towards the robot (`-y`).
    Pull,
    /// Away from the robot (`+y`).
    Push,
}

impl Way {
    /// `+1` for pull, `-1` for push: the sign that mirrors the lever's frame.
    fn sign(self) -> f32 {
        match self {
            Way::Pull => 1.0,
            Way::Push => -1.0,
        }
    }

    /// Pivot axis: positive angles tip the knob the lever's way.
    fn axis(self) -> Vector {
        Vector::X * self.sign()
    }
}

const PIVOT_HEIGHT: f32 = 0.12;
/// Knob centre in the lever's frame (origin on the pivot).
const KNOB: Vector = Vector::new(0.0, 0.0, 0.17);
const KNOB_RADIUS: f32 = 0.02;
/// Where the gripper pushes from, behind the knob, in the pull lever's frame (the push
/// lever's is mirrored in `y`).
const PUSH_FROM: Vector = Vector::new(0.0, 0.045, 0.17);
/// Angle that counts as pulled, and the angle the goal shows, in radians.
const PULLED_ENOUGH: f32 = 0.8;
const PULL_GOAL: f32 = 1.0;
const MAX_ANGLE: f32 = 1.2;

struct Lever {
    lever: RigidBodyHandle,
    pivot: Vector,
    way: Way,
}

pub(super) fn build(scene: &mut Scene, rng: &mut ChaCha8Rng, way: Way) -> Box<dyn TaskObjects> {
    // The push lever stands nearer, so its knob stays within reach as it tips away.
    let (near, far) = match way {
        Way::Pull => (0.55, 0.7),
        Way::Push => (0.45, 0.6),
    };
    let base = Vector::new(uniform(rng, -0.2, 0.2), uniform(rng, near, far), 0.0);
    let pivot = base + Vector::Z * PIVOT_HEIGHT;
    let stand = add_frame(
        scene,
        base,
        vec![fixture_box(Vector::new(0.04, 0.04, 0.05), Vector::Z * 0.05, Color::FURNITURE)],
    );
    let lever = add_moving_part(
        scene,
        Pose::from_translation(pivot),
        3.0,
        vec![
            fixture_box(Vector::new(0.01, 0.01, 0.08), Vector::Z * 0.08, Color::MOVING_PART),
            ColliderBuilder::ball(KNOB_RADIUS)
                .translation(KNOB)
                .collision_groups(fixture_groups())
                .user_data(Color::HANDLE.packed()),
        ],
    );
    let joint = RevoluteJointBuilder::new(way.axis())
        .local_anchor1(pivot - base)
        .local_anchor2(Vector::ZERO)
        .limits([0.0, MAX_ANGLE]);
    scene.physics.insert_impulse_joint(stand, lever, joint);
    let task = Lever { lever, pivot, way };
    scene.add_marker(Visual::ball(task.goal(), 0.015, Color::GOAL));
    Box::new(task)
}

impl TaskObjects for Lever {
    fn object_pose(&self, scene: &Scene) -> Pose {
        let pose = scene.pose(self.lever);
        Pose::from_parts(pose.transform_point(KNOB), pose.rotation)
    }

    fn goal(&self) -> Vector {
        self.pivot + Rotation::from_axis_angle(self.way.axis(), PULL_GOAL) * KNOB
    }

    fn is_success(&self, scene: &Scene) -> bool {
        angle_about(scene.pose(self.lever).rotation, self.way.axis()) >= PULLED_ENOUGH
    }
}

/// Lower the closed gripper behind the knob, then push it along its arc the lever's way.
pub(super) fn expert(obs: &Observation, way: Way) -> Action {
    let (tcp, knob, rotation) = (obs.tcp(), obs.object_position(), obs.object_rotation());
    let sign = way.sign();
    let pivot = knob - rotation * KNOB;
    let local = rotation.inverse() * (tcp - pivot);
    let ready = local.x.abs() < 0.02
        && local.y * sign > 0.02
        && local.y * sign < 0.07
        && (local.z - PUSH_FROM.z).abs() < 0.02;
    if ready {
        let angle = angle_about(rotation, way.axis());
        let ahead = Rotation::from_axis_angle(way.axis(), angle + 0.3);
        return move_to(tcp, pivot + ahead * Vector::new(0.0, 0.03 * sign, KNOB.z), CLOSED);
    }
    let behind = pivot + rotation * Vector::new(PUSH_FROM.x, PUSH_FROM.y * sign, PUSH_FROM.z);
    approach_from_above(tcp, behind, behind.z + 0.1, 0.006, CLOSED)
        .unwrap_or_else(|| move_to(tcp, behind, CLOSED))
}
