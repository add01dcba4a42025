//! Drawer open and drawer close, on the table and raised on a plinth: a drawer slides
//! out of a cabinet towards the robot (`-y`). Key point: the centre of the drawer's
//! handle bar. The experts read the handle from the observation, so one serves both
//! heights.

use rand_chacha::ChaCha8Rng;
use rapier3d::prelude::*;

use super::articulated::{add_frame, add_moving_part, bar_handle, fixture_box, plinth};
use super::expert::{approach_from_above, move_to, CLOSED};
use super::{uniform, Observation, Stand, TaskObjects};
use crate::sim::{Action, Color, Scene, Visual};

/// Which way the drawer must go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Goal {
    Open,
    Close,
}

const CABINET_HALF: Vector = Vector::new(0.13, 0.11, 0.09);
const DRAWER_HALF: Vector = Vector::new(0.1, 0.09, 0.05);
const DRAWER_HEIGHT: f32 = 0.08;
/// Handle bar centre relative to the drawer's centre.
const HANDLE_OFFSET: Vector = Vector::new(0.0, -DRAWER_HALF.y - 0.06, 0.0);
/// How far the drawer slides out, in metres.
const TRAVEL: f32 = 0.16;
/// Extension that counts as open, in metres; the goal shows `OPEN_GOAL`.
const OPEN_ENOUGH: f32 = 0.10;
const OPEN_GOAL: f32 = 0.12;
/// Extension under which the drawer counts as shut, in metres.
const SHUT_ENOUGH: f32 = 0.02;

struct Drawer {
    drawer: RigidBodyHandle,
    closed_center: Vector,
    goal: Goal,
}

pub(super) fn build(scene: &mut Scene, rng: &mut ChaCha8Rng, goal: Goal, stand: Stand) -> Box<dyn TaskObjects> {
    let cabinet_origin = Vector::new(uniform(rng, -0.2, 0.2), uniform(rng, 0.75, 0.82), stand.lift());
    let extension = match goal {
        Goal::Open => 0.0,
        Goal::Close => uniform(rng, 0.12, TRAVEL),
    };
    let mut cabinet_parts = vec![fixture_box(CABINET_HALF, Vector::Z * CABINET_HALF.z, Color::FURNITURE)];
    cabinet_parts.extend(plinth(stand, (CABINET_HALF.x, CABINET_HALF.y)));
    let cabinet = add_frame(scene, cabinet_origin, cabinet_parts);
    // The closed drawer's front stands 1 cm proud of the cabinet.
    let closed_center = cabinet_origin
        + Vector::new(0.0, -CABINET_HALF.y + DRAWER_HALF.y - 0.01, DRAWER_HEIGHT);
    let mut colliders = vec![fixture_box(DRAWER_HALF, Vector::ZERO, Color::MOVING_PART)];
    colliders.extend(bar_handle(
        HANDLE_OFFSET,
        Vector::new(0.05, 0.01, 0.01),
        Vector::X,
        Vector::new(0.0, 0.06, 0.0),
    ));
    let drawer = add_moving_part(
        scene,
        Pose::from_translation(closed_center - Vector::Y * extension),
        4.0,
        colliders,
    );
    let slide = PrismaticJointBuilder::new(-Vector::Y)
        .local_anchor1(closed_center - cabinet_origin)
        .local_anchor2(Vector::ZERO)
        .limits([0.0, TRAVEL]);
    scene.physics.insert_impulse_joint(cabinet, drawer, slide);
    let task = Drawer { drawer, closed_center, goal };
    scene.add_marker(Visual::ball(task.goal(), 0.015, Color::GOAL));
    Box::new(task)
}

impl Drawer {
    fn extension(&self, scene: &Scene) -> f32 {
        self.closed_center.y - scene.pose(self.drawer).translation.y
    }
}

impl TaskObjects for Drawer {
    fn object_pose(&self, scene: &Scene) -> Pose {
        let pose = scene.pose(self.drawer);
        Pose::from_parts(pose.transform_point(HANDLE_OFFSET), pose.rotation)
    }

    fn goal(&self) -> Vector {
        let extension = match self.goal {
            Goal::Open => OPEN_GOAL,
            Goal::Close => 0.0,
        };
        self.closed_center + HANDLE_OFFSET - Vector::Y * extension
    }

    fn is_success(&self, scene: &Scene) -> bool {
        match self.goal {
            Goal::Open => self.extension(scene) >= OPEN_ENOUGH,
            Goal::Close => self.extension(scene) <= SHUT_ENOUGH,
        }
    }
}

/// Open: lower the closed gripper between the handle bar and the drawer front, then pull
/// towards the robot. Close: lower it in front of the bar and push away from the robot.
pub(super) fn expert(obs: &Observation, goal: Goal) -> Action {
    let (tcp, handle) = (obs.tcp(), obs.object_position());
    let (slot, push) = match goal {
        Goal::Open => (handle + Vector::Y * 0.035, -Vector::Y),
        Goal::Close => (handle - Vector::Y * 0.035, Vector::Y),
    };
    let beside_bar = (tcp.y - handle.y) * -push.y;
    let engaged = (tcp.x - handle.x).abs() < 0.03
        && beside_bar > 0.015
        && beside_bar < 0.06
        && (tcp.z - handle.z).abs() < 0.015;
    if engaged {
        let ahead = Vector::new(handle.x, tcp.y, handle.z) + push * 0.05;
        return move_to(tcp, ahead, CLOSED);
    }
    approach_from_above(tcp, slot, handle.z + 0.15, 0.006, CLOSED)
        .unwrap_or_else(|| move_to(tcp, slot + push * 0.05, CLOSED))
}
