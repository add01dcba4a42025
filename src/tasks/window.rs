//! Window open and window close: a sash slides sideways in its frame (`+x` opens). Key
//! point: the tip of the handle peg sticking out of the sash towards the robot.

use rand_chacha::ChaCha8Rng;
use rapier3d::prelude::*;

use super::articulated::{add_frame, add_moving_part, fixture_box};
use super::expert::{approach_from_above, move_to, CLOSED};
use super::{uniform, Observation, TaskObjects};
use crate::sim::{Action, Color, Scene, Visual};

/// Which way the sash must go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Goal {
    Open,
    Close,
}

const SASH_HALF: Vector = Vector::new(0.12, 0.01, 0.1);
const SASH_HEIGHT: f32 = 0.22;
/// Handle peg centre relative to the sash centre.
const HANDLE_OFFSET: Vector = Vector::new(-0.08, -0.04, 0.0);
const HANDLE_HALF: Vector = Vector::new(0.01, 0.03, 0.01);
const TRAVEL: f32 = 0.2;
/// Offset that counts as open, and the offset the goal shows, in metres.
const OPEN_ENOUGH: f32 = 0.12;
const OPEN_GOAL: f32 = 0.15;
/// Offset under which the window counts as shut, in metres.
const SHUT_ENOUGH: f32 = 0.02;

struct Window {
    sash: RigidBodyHandle,
    closed_center: Vector,
    goal: Goal,
}

pub(super) fn build(scene: &mut Scene, rng: &mut ChaCha8Rng, goal: Goal) -> Box<dyn TaskObjects> {
    let origin = Vector::new(uniform(rng, -0.2, 0.0), uniform(rng, 0.65, 0.75), 0.0);
    let offset = match goal {
        Goal::Open => 0.0,
        Goal::Close => uniform(rng, 0.15, TRAVEL),
    };
    let post = Vector::new(0.015, 0.02, 0.16);
    let rail = Vector::new(0.255, 0.02, 0.01);
    let frame = add_frame(
        scene,
        origin,
        vec![
            fixture_box(post, Vector::new(-0.14, 0.0, 0.16), Color::FURNITURE),
            fixture_box(post, Vector::new(0.34, 0.0, 0.16), Color::FURNITURE),
            fixture_box(rail, Vector::new(0.1, 0.0, 0.33), Color::FURNITURE),
            fixture_box(rail, Vector::new(0.1, 0.0, 0.11), Color::FURNITURE),
        ],
    );
    let closed_center = origin + Vector::new(0.0, -0.03, SASH_HEIGHT);
    let sash = add_moving_part(
        scene,
        Pose::from_translation(closed_center + Vector::X * offset),
        4.0,
        vec![
            fixture_box(SASH_HALF, Vector::ZERO, Color::MOVING_PART),
            fixture_box(HANDLE_HALF, HANDLE_OFFSET, Color::HANDLE),
        ],
    );
    let slide = PrismaticJointBuilder::new(Vector::X)
        .local_anchor1(closed_center - origin)
        .local_anchor2(Vector::ZERO)
        .limits([0.0, TRAVEL]);
    scene.physics.insert_impulse_joint(frame, sash, slide);
    let task = Window { sash, closed_center, goal };
    scene.add_marker(Visual::ball(task.goal(), 0.015, Color::GOAL));
    Box::new(task)
}

impl Window {
    fn offset(&self, scene: &Scene) -> f32 {
        scene.pose(self.sash).translation.x - self.closed_center.x
    }
}

impl TaskObjects for Window {
    fn object_pose(&self, scene: &Scene) -> Pose {
        let pose = scene.pose(self.sash);
        Pose::from_parts(pose.transform_point(HANDLE_OFFSET), pose.rotation)
    }

    fn goal(&self) -> Vector {
        let offset = match self.goal {
            Goal::Open => OPEN_GOAL,
            Goal::Close => 0.0,
        };
        self.closed_center + HANDLE_OFFSET + Vector::X * offset
    }

    fn is_success(&self, scene: &Scene) -> bool {
        match self.goal {
            Goal::Open => self.offset(scene) >= OPEN_ENOUGH,
            Goal::Close => self.offset(scene) <= SHUT_ENOUGH,
        }
    }
}

/// Lower the closed gripper beside the handle peg, on the side away from the goal, and
/// push the peg sideways.
pub(super) fn expert(obs: &Observation, goal: Goal) -> Action {
    let (tcp, handle) = (obs.tcp(), obs.object_position());
    let push = match goal {
        Goal::Open => Vector::X,
        Goal::Close => Vector::NEG_X,
    };
    let side = handle - push * 0.045;
    let behind = (handle.x - tcp.x) * push.x;
    let ready = behind > 0.015
        && behind < 0.07
        && (tcp.y - handle.y).abs() < 0.02
        && (tcp.z - handle.z).abs() < 0.015;
    if ready {
        return move_to(tcp, Vector::new(tcp.x, handle.y, handle.z) + push * 0.05, CLOSED);
    }
    approach_from_above(tcp, side, handle.z + 0.15, 0.006, CLOSED)
        .unwrap_or_else(|| move_to(tcp, side + push * 0.05, CLOSED))
}
