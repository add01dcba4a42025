//! The physics world of one episode: table, arm, task objects, and what to draw.

use rapier3d::prelude::*;

use super::arm::{Arm, ArmPose, PALM_ABOVE_TCP, PALM_HALF_EXTENTS};
use super::hash::{hash_bodies, Fnv64};
use super::{Action, PHYSICS_DT, PHYSICS_SUBSTEPS};

/// Collision groups: the table, the hand, free objects, and furniture (fixed frames and
/// the moving parts of articulated objects). Furniture parts never collide with each
/// other or with the table: their joints alone hold them in place.
pub mod groups {
    use rapier3d::prelude::Group;
    pub const TABLE: Group = Group::GROUP_1;
    pub const HAND: Group = Group::GROUP_2;
    pub const OBJECT: Group = Group::GROUP_3;
    pub const FIXTURE: Group = Group::GROUP_4;
}

/// An sRGB colour, stored in each collider's `user_data` for the renderer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Color(pub u8, pub u8, pub u8);

impl Color {
    pub const TABLE: Color = Color(176, 138, 100);
    pub const ARM: Color = Color(200, 205, 215);
    pub const FINGER: Color = Color(70, 75, 90);
    pub const OBJECT: Color = Color(220, 70, 60);
    pub const FURNITURE: Color = Color(120, 130, 150);
    pub const MOVING_PART: Color = Color(90, 150, 210);
    pub const HANDLE: Color = Color(240, 190, 60);
    pub const GOAL: Color = Color(60, 200, 110);

    pub fn packed(self) -> u128 {
        (u128::from(self.0) << 16) | (u128::from(self.1) << 8) | u128::from(self.2)
    }

    pub fn unpacked(data: u128) -> Color {
        Color((data >> 16) as u8, (data >> 8) as u8, data as u8)
    }
}

/// A primitive shape to draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VisualShape {
    Cuboid { half_extents: Vector },
    /// A cylinder whose axis is the local `y` axis (as in parry).
    Cylinder { half_height: f32, radius: f32 },
    Ball { radius: f32 },
}

/// One shape at one pose, with a colour: the renderer's whole view of the scene.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Visual {
    pub shape: VisualShape,
    pub pose: Pose,
    pub color: Color,
    /// Markers (goals) are drawn translucent and have no collider.
    pub is_marker: bool,
}

/// Whether two frames of visuals would draw the same picture: the same shapes and
/// colours, every pose within `tolerance` (metres, and the same in rotation matrix
/// entries). Lets the page skip drawing a scene at rest.
pub fn looks_the_same(a: &[Visual], b: &[Visual], tolerance: f32) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.shape == y.shape
                && x.color == y.color
                && x.is_marker == y.is_marker
                && x.pose.to_mat4().to_cols_array().iter().zip(y.pose.to_mat4().to_cols_array()).all(|(p, q)| (p - q).abs() <= tolerance)
        })
}

impl Visual {
    /// A bar of square cross-section `2 * half_width` from `from` to `to`.
    pub fn bar(from: Vector, to: Vector, half_width: f32, color: Color) -> Visual {
        let span = to - from;
        let rotation = Rotation::from_rotation_arc(Vector::Y, span.normalize_or(Vector::Y));
        Visual {
            shape: VisualShape::Cuboid {
                half_extents: Vector::new(half_width, span.length() / 2.0, half_width),
            },
            pose: Pose::from_parts(from + span / 2.0, rotation),
            color,
            is_marker: false,
        }
    }

    pub fn ball(center: Vector, radius: f32, color: Color) -> Visual {
        Visual {
            shape: VisualShape::Ball { radius },
            pose: Pose::from_translation(center),
            color,
            is_marker: false,
        }
    }
}

/// The whole physical scene of an episode.
pub struct Scene {
    pub physics: PhysicsWorld,
    pub arm: Arm,
    markers: Vec<Visual>,
}

/// Typical size of the scene's objects, in metres: rapier's tolerances scale with it.
pub const LENGTH_UNIT_M: f32 = 0.1;

/// Half extents of the table top, in metres; its top face is the plane `z = 0`.
pub const TABLE_HALF_EXTENTS: Vector = Vector::new(0.8, 0.6, 0.025);
/// Centre of the table top's upper face in `x`/`y`.
pub const TABLE_CENTER_Y: f32 = 0.45;

impl Scene {
    /// An empty table and the arm with its TCP at `tcp`.
    pub fn new(tcp: Vector) -> Scene {
        let mut physics = PhysicsWorld::new();
        physics.gravity = Vector::new(0.0, 0.0, -9.81);
        physics.integration_parameters.dt = PHYSICS_DT;
        // Our objects are centimetres across: scale rapier's tolerances (contact prediction,
        // allowed penetration) to a decimetre, or speculative contacts reach 2 cm and
        // fingers nudge objects they do not touch.
        physics.integration_parameters.length_unit = LENGTH_UNIT_M;
        let table = physics.insert_body(RigidBodyBuilder::fixed());
        physics.insert_collider(
            ColliderBuilder::cuboid(TABLE_HALF_EXTENTS.x, TABLE_HALF_EXTENTS.y, TABLE_HALF_EXTENTS.z)
                .translation(Vector::new(0.0, TABLE_CENTER_Y, -TABLE_HALF_EXTENTS.z))
                .friction(0.8)
                .collision_groups(InteractionGroups::new(
                    groups::TABLE,
                    groups::HAND | groups::OBJECT,
                    InteractionTestMode::And,
                ))
                .user_data(Color::TABLE.packed()),
            Some(table),
        );
        let arm = Arm::build(&mut physics, tcp);
        Scene { physics, arm, markers: Vec::new() }
    }

    /// Adds a body with its colliders; returns its handle.
    pub fn add_body(&mut self, body: RigidBodyBuilder, colliders: Vec<ColliderBuilder>) -> RigidBodyHandle {
        let handle = self.physics.insert_body(body);
        for collider in colliders {
            self.physics.insert_collider(collider, Some(handle));
        }
        handle
    }

    /// Adds a translucent marker (e.g. a goal) that is drawn but does not collide.
    pub fn add_marker(&mut self, visual: Visual) {
        self.markers.push(Visual { is_marker: true, ..visual });
    }

    /// One control step: the arm takes `action`, then physics runs `PHYSICS_SUBSTEPS` steps.
    pub fn step(&mut self, action: Action) {
        self.arm.command(&mut self.physics, action);
        for substep in 1..=PHYSICS_SUBSTEPS {
            self.arm.drive(&mut self.physics, substep as f32 / PHYSICS_SUBSTEPS as f32);
            self.physics.step();
        }
    }

    /// Pose of a body; panics only on a handle that is not in this scene (a bug).
    pub fn pose(&self, body: RigidBodyHandle) -> Pose {
        *self.physics.bodies[body].position()
    }

    /// A fingerprint of every body's pose and velocity.
    pub fn state_hash(&self) -> u64 {
        let mut hasher = Fnv64::default();
        hash_bodies(&self.physics.bodies, &mut hasher);
        hasher.finish()
    }

    /// Everything to draw: every collider, the arm's links, and the markers.
    pub fn visuals(&self) -> Vec<Visual> {
        let mut visuals = Vec::with_capacity(self.physics.colliders.len() + 8 + self.markers.len());
        for (_, collider) in self.physics.colliders.iter() {
            let shape = collider.shape();
            let shape = if let Some(cuboid) = shape.as_cuboid() {
                VisualShape::Cuboid { half_extents: cuboid.half_extents }
            } else if let Some(cylinder) = shape.as_cylinder() {
                VisualShape::Cylinder { half_height: cylinder.half_height, radius: cylinder.radius }
            } else if let Some(ball) = shape.as_ball() {
                VisualShape::Ball { radius: ball.radius }
            } else {
                continue;
            };
            visuals.push(Visual {
                shape,
                pose: *collider.position(),
                color: Color::unpacked(collider.user_data),
                is_marker: false,
            });
        }
        self.push_arm_links(&mut visuals);
        visuals.extend_from_slice(&self.markers);
        visuals
    }

    fn push_arm_links(&self, visuals: &mut Vec<Visual>) {
        let joints = ArmPose::solve(self.arm.tcp(&self.physics)).joints();
        let palm_top = joints.tcp + Vector::Z * (PALM_ABOVE_TCP + PALM_HALF_EXTENTS.z);
        visuals.push(Visual {
            shape: VisualShape::Cylinder { half_height: joints.shoulder.z / 2.0, radius: 0.07 },
            pose: Pose::from_parts(
                joints.shoulder / 2.0,
                Rotation::from_rotation_x(std::f32::consts::FRAC_PI_2),
            ),
            color: Color::FURNITURE,
            is_marker: false,
        });
        visuals.push(Visual::bar(joints.shoulder, joints.elbow, 0.035, Color::ARM));
        visuals.push(Visual::bar(joints.elbow, joints.wrist, 0.03, Color::ARM));
        visuals.push(Visual::bar(joints.wrist, palm_top, 0.02, Color::FINGER));
        for joint in [joints.shoulder, joints.elbow, joints.wrist] {
            visuals.push(Visual::ball(joint, 0.045, Color::FINGER));
        }
    }
}
