//! Push: slide a puck across the table onto a target. Key point: the puck's centre.

use rand_chacha::ChaCha8Rng;
use rapier3d::prelude::*;

use super::articulated::object_groups;
use super::expert::{move_to, planar_distance, CLOSED};
use super::{uniform, Observation, TaskObjects};
use crate::sim::{Action, Color, Scene, Visual, VisualShape};

const PUCK_RADIUS: f32 = 0.03;
const PUCK_HALF_HEIGHT: f32 = 0.02;
/// Planar distance from the target within which the puck counts as there, in metres.
const SUCCESS_RADIUS: f32 = 0.05;
/// TCP height while pushing, in metres.
const PUSH_HEIGHT: f32 = 0.025;
/// TCP height when travelling over the puck, in metres.
const TRAVEL_HEIGHT: f32 = 0.1;

struct Push {
    puck: RigidBodyHandle,
    goal: Vector,
}

pub(super) fn build(scene: &mut Scene, rng: &mut ChaCha8Rng) -> Box<dyn TaskObjects> {
    let (start, goal) = loop {
        let start = Vector::new(uniform(rng, -0.2, 0.2), uniform(rng, 0.45, 0.6), PUCK_HALF_HEIGHT);
        let goal = Vector::new(uniform(rng, -0.25, 0.25), uniform(rng, 0.6, 0.75), 0.0);
        if planar_distance(start, goal) > 0.12 {
            break (start, goal);
        }
    };
    let upright = Rotation::from_rotation_x(std::f32::consts::FRAC_PI_2);
    let puck = scene.add_body(
        RigidBodyBuilder::dynamic().translation(start).can_sleep(false),
        vec![ColliderBuilder::cylinder(PUCK_HALF_HEIGHT, PUCK_RADIUS)
            .rotation(Vector::X * std::f32::consts::FRAC_PI_2)
            .density(600.0)
            .friction(0.4)
            .collision_groups(object_groups())
            .user_data(Color::OBJECT.packed())],
    );
    scene.add_marker(Visual {
        shape: VisualShape::Cylinder { half_height: 0.002, radius: SUCCESS_RADIUS },
        pose: Pose::from_parts(goal, upright),
        color: Color::GOAL,
        is_marker: true,
    });
    Box::new(Push { puck, goal })
}

impl TaskObjects for Push {
    fn object_pose(&self, scene: &Scene) -> Pose {
        scene.pose(self.puck)
    }

    fn goal(&self) -> Vector {
        self.goal
    }

    fn is_success(&self, scene: &Scene) -> bool {
        planar_distance(scene.pose(self.puck).translation, self.goal) < SUCCESS_RADIUS
    }
}

/// Go behind the puck (seen from the target), lower the closed gripper, and push along
/// the line from the puck to the target, re-aiming every step.
pub(super) fn expert(obs: &Observation) -> Action {
    let (tcp, puck, goal) = (obs.tcp(), obs.object_position(), obs.goal());
    let to_goal = Vector::new(goal.x - puck.x, goal.y - puck.y, 0.0);
    let direction = to_goal.normalize_or(Vector::Y);
    let contact = PUCK_RADIUS + 0.02;
    let behind = puck - direction * (contact + 0.02);
    let behind = Vector::new(behind.x, behind.y, PUSH_HEIGHT);
    let relative = Vector::new(tcp.x - puck.x, tcp.y - puck.y, 0.0);
    let along = relative.dot(direction);
    let lateral = (relative - direction * along).length();
    if tcp.z > PUSH_HEIGHT + 0.03 {
        if planar_distance(tcp, behind) > 0.01 {
            return move_to(tcp, Vector::new(behind.x, behind.y, TRAVEL_HEIGHT), CLOSED);
        }
        return move_to(tcp, behind, CLOSED);
    }
    if along > -0.025 || lateral > 0.03 {
        return move_to(tcp, Vector::new(tcp.x, tcp.y, TRAVEL_HEIGHT), CLOSED);
    }
    let aim = puck - direction * (contact - 0.02);
    move_to(tcp, Vector::new(aim.x, aim.y, PUSH_HEIGHT), CLOSED)
}
