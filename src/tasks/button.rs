//! Button press, on the table and on a pedestal: push a spring-loaded button down into
//! its housing. Key point: the centre of the button's top face.

use rand_chacha::ChaCha8Rng;
use rapier3d::prelude::*;

use super::articulated::{add_frame, add_moving_part, fixture_box, fixture_groups, plinth};
use super::expert::{approach_from_above, move_to, planar_distance, CLOSED};
use super::{uniform, Observation, Stand, TaskObjects};
use crate::sim::arm::FINGER_HALF_EXTENTS;
use crate::sim::{Action, Color, Scene};

const HOUSING_HALF: Vector = Vector::new(0.04, 0.04, 0.025);
const CAP_RADIUS: f32 = 0.025;
const CAP_HALF_HEIGHT: f32 = 0.015;
/// Full travel of the button, in metres.
const TRAVEL: f32 = 0.02;
/// Depression at which the press counts, in metres.
const PRESSED_DEPTH: f32 = 0.015;

struct ButtonPress {
    cap: RigidBodyHandle,
    rest_top: Vector,
}

pub(super) fn build(scene: &mut Scene, rng: &mut ChaCha8Rng, stand: Stand) -> Box<dyn TaskObjects> {
    let base = Vector::new(uniform(rng, -0.2, 0.2), uniform(rng, 0.5, 0.7), stand.lift());
    let mut housing_parts = vec![fixture_box(HOUSING_HALF, Vector::Z * HOUSING_HALF.z, Color::FURNITURE)];
    housing_parts.extend(plinth(stand, (HOUSING_HALF.x, HOUSING_HALF.y)));
    let housing = add_frame(scene, base, housing_parts);
    let cap_center = base + Vector::Z * (2.0 * HOUSING_HALF.z + CAP_HALF_HEIGHT);
    let cap = add_moving_part(
        scene,
        Pose::from_translation(cap_center),
        5.0,
        vec![ColliderBuilder::cylinder(CAP_HALF_HEIGHT, CAP_RADIUS)
            .rotation(Vector::X * std::f32::consts::FRAC_PI_2)
            .collision_groups(fixture_groups())
            .user_data(Color::OBJECT.packed())],
    );
    let spring = PrismaticJointBuilder::new(Vector::Z)
        .local_anchor1(cap_center - base)
        .local_anchor2(Vector::ZERO)
        .limits([-TRAVEL, 0.0])
        .motor_position(0.0, 400.0, 30.0)
        .motor_max_force(8.0);
    scene.physics.insert_impulse_joint(housing, cap, spring);
    Box::new(ButtonPress { cap, rest_top: cap_center + Vector::Z * CAP_HALF_HEIGHT })
}

impl ButtonPress {
    fn top(&self, scene: &Scene) -> Vector {
        scene.pose(self.cap).translation + Vector::Z * CAP_HALF_HEIGHT
    }
}

impl TaskObjects for ButtonPress {
    fn object_pose(&self, scene: &Scene) -> Pose {
        Pose::from_parts(self.top(scene), scene.pose(self.cap).rotation)
    }

    fn goal(&self) -> Vector {
        self.rest_top - Vector::Z * TRAVEL
    }

    fn is_success(&self, scene: &Scene) -> bool {
        self.rest_top.z - self.top(scene).z >= PRESSED_DEPTH
    }
}

/// Close the gripper, hover over the button, and press down to just past full travel.
pub(super) fn expert(obs: &Observation) -> Action {
    let (tcp, top, goal) = (obs.tcp(), obs.object_position(), obs.goal());
    let press = Vector::new(top.x, top.y, goal.z + FINGER_HALF_EXTENTS.z - 0.004);
    if planar_distance(tcp, top) > 0.006 {
        return approach_from_above(tcp, press, top.z + 0.1, 0.006, CLOSED)
            .unwrap_or_else(|| move_to(tcp, press, CLOSED));
    }
    move_to(tcp, press, CLOSED)
}
