//! Reach: bring the TCP to a point in the air. Key point: the goal itself.

use rand_chacha::ChaCha8Rng;
use rapier3d::prelude::*;

use super::expert::{move_to, OPEN};
use super::{uniform, Observation, TaskObjects};
use crate::sim::{Action, Color, Scene, Visual};

/// Distance from the goal within which the TCP counts as there, in metres.
const SUCCESS_RADIUS: f32 = 0.03;

struct Reach {
    goal: Vector,
}

pub(super) fn build(scene: &mut Scene, rng: &mut ChaCha8Rng) -> Box<dyn TaskObjects> {
    let tcp = scene.arm.tcp(&scene.physics);
    let goal = loop {
        let goal = Vector::new(
            uniform(rng, -0.25, 0.25),
            uniform(rng, 0.4, 0.7),
            uniform(rng, 0.05, 0.3),
        );
        if goal.distance(tcp) > 0.1 {
            break goal;
        }
    };
    scene.add_marker(Visual::ball(goal, SUCCESS_RADIUS * 0.7, Color::GOAL));
    Box::new(Reach { goal })
}

impl TaskObjects for Reach {
    fn object_pose(&self, _scene: &Scene) -> Pose {
        Pose::from_translation(self.goal)
    }

    fn goal(&self) -> Vector {
        self.goal
    }

    fn is_success(&self, scene: &Scene) -> bool {
        scene.arm.tcp(&scene.physics).distance(self.goal) < SUCCESS_RADIUS
    }
}

pub(super) fn expert(obs: &Observation) -> Action {
    move_to(obs.tcp(), obs.goal(), OPEN)
}
