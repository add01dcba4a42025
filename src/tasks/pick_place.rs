//! Pick and place: grasp a cube and hold it at a point in the air, low or high. Key
//! point: the cube's centre.

use rand_chacha::ChaCha8Rng;
use rapier3d::prelude::*;

use super::articulated::object_groups;
use super::expert::{approach_from_above, move_to, planar_distance, CLOSED, OPEN};
use super::{uniform, Observation, TaskObjects};
use crate::sim::{Action, Color, Scene, Visual};

const CUBE_HALF: f32 = 0.025;
/// Distance from the goal within which the cube counts as there, in metres.
const SUCCESS_RADIUS: f32 = 0.05;

/// How high the goal floats: within the first task's range, or above it (the variant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Height {
    Low,
    High,
}

struct PickPlace {
    cube: RigidBodyHandle,
    goal: Vector,
}

pub(super) fn build(scene: &mut Scene, rng: &mut ChaCha8Rng, height: Height) -> Box<dyn TaskObjects> {
    let start = Vector::new(uniform(rng, -0.2, 0.2), uniform(rng, 0.45, 0.6), CUBE_HALF);
    let (low, high) = match height {
        Height::Low => (0.08, 0.25),
        Height::High => (0.28, 0.36),
    };
    let goal = Vector::new(uniform(rng, -0.25, 0.25), uniform(rng, 0.5, 0.75), uniform(rng, low, high));
    let cube = scene.add_body(
        RigidBodyBuilder::dynamic().translation(start).can_sleep(false),
        vec![ColliderBuilder::cuboid(CUBE_HALF, CUBE_HALF, CUBE_HALF)
            .density(500.0)
            .friction(1.0)
            .collision_groups(object_groups())
            .user_data(Color::OBJECT.packed())],
    );
    scene.add_marker(Visual::ball(goal, 0.02, Color::GOAL));
    Box::new(PickPlace { cube, goal })
}

impl TaskObjects for PickPlace {
    fn object_pose(&self, scene: &Scene) -> Pose {
        scene.pose(self.cube)
    }

    fn goal(&self) -> Vector {
        self.goal
    }

    fn is_success(&self, scene: &Scene) -> bool {
        scene.pose(self.cube).translation.distance(self.goal) < SUCCESS_RADIUS
    }
}

/// Open above the cube, descend around it, close until the fingers stop on it, then carry
/// it to the goal.
pub(super) fn expert(obs: &Observation) -> Action {
    let (tcp, cube, goal, opening) = (obs.tcp(), obs.object_position(), obs.goal(), obs.opening());
    let at_grasp = planar_distance(tcp, cube) < 0.015 && (tcp.z - cube.z).abs() < 0.008;
    if at_grasp {
        if opening > 2.0 * CUBE_HALF + 0.004 {
            return move_to(tcp, tcp, CLOSED);
        }
        return move_to(tcp, goal + (tcp - cube), CLOSED);
    }
    approach_from_above(tcp, cube, cube.z + 0.1, 0.006, OPEN)
        .unwrap_or_else(|| move_to(tcp, tcp, CLOSED))
}
