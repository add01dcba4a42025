//! A plain-data description of a scene (bodies, colliders, joints, integration
//! parameters), so that another physics engine, such as the official JavaScript build of
//! rapier in the simulation benchmark, can build the very same scene.

use std::collections::HashMap;

use rapier3d::prelude::*;
use serde::Serialize;

use super::Scene;

#[derive(Clone, Debug, Serialize)]
pub struct SceneDescription {
    pub gravity: [f32; 3],
    /// Physics step, seconds.
    pub dt: f32,
    pub length_unit: f32,
    pub solver_iterations: usize,
    pub bodies: Vec<BodyDescription>,
    pub joints: Vec<JointDescription>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    Fixed,
    Dynamic,
    KinematicPosition,
}

#[derive(Clone, Debug, Serialize)]
pub struct BodyDescription {
    pub kind: BodyKind,
    pub translation: [f32; 3],
    /// Unit quaternion `[x, y, z, w]`.
    pub rotation: [f32; 4],
    pub linear_damping: f32,
    pub angular_damping: f32,
    pub gravity_scale: f32,
    pub colliders: Vec<ColliderDescription>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum ShapeDescription {
    Cuboid { half_extents: [f32; 3] },
    /// Axis along the collider's local `y`.
    Cylinder { half_height: f32, radius: f32 },
    Ball { radius: f32 },
}

#[derive(Clone, Debug, Serialize)]
pub struct ColliderDescription {
    #[serde(flatten)]
    pub shape: ShapeDescription,
    /// Pose relative to the parent body.
    pub translation: [f32; 3],
    pub rotation: [f32; 4],
    pub density: f32,
    pub friction: f32,
    /// Collision groups as bit masks.
    pub memberships: u32,
    pub filter: u32,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JointKind {
    Prismatic,
    Revolute,
}

#[derive(Clone, Debug, Serialize)]
pub struct JointMotorDescription {
    pub target: f32,
    pub stiffness: f32,
    pub damping: f32,
    pub max_force: f32,
}

#[derive(Clone, Debug, Serialize)]
pub struct JointDescription {
    pub kind: JointKind,
    /// Indices into `bodies`.
    pub body1: usize,
    pub body2: usize,
    pub anchor1: [f32; 3],
    pub anchor2: [f32; 3],
    /// The joint's free axis, the same in both bodies' frames.
    pub axis: [f32; 3],
    pub limits: Option<[f32; 2]>,
    pub motor: Option<JointMotorDescription>,
    pub contacts_enabled: bool,
}

impl Scene {
    /// Describes the current scene; body indices follow the body set's order.
    pub fn describe(&self) -> SceneDescription {
        let physics = &self.physics;
        let mut index = HashMap::new();
        let mut bodies = Vec::new();
        for (handle, body) in physics.bodies.iter() {
            index.insert(handle, bodies.len());
            let kind = match body.body_type() {
                RigidBodyType::Fixed => BodyKind::Fixed,
                RigidBodyType::Dynamic => BodyKind::Dynamic,
                _ => BodyKind::KinematicPosition,
            };
            let colliders = body
                .colliders()
                .iter()
                .filter_map(|&c| describe_collider(&physics.colliders[c]))
                .collect();
            bodies.push(BodyDescription {
                kind,
                translation: body.translation().to_array(),
                rotation: body.rotation().to_array(),
                linear_damping: body.linear_damping(),
                angular_damping: body.angular_damping(),
                gravity_scale: body.gravity_scale(),
                colliders,
            });
        }
        let joints = physics
            .impulse_joints
            .iter()
            .filter_map(|(_, joint)| describe_joint(&joint.data, index[&joint.body1()], index[&joint.body2()]))
            .collect();
        let parameters = &physics.integration_parameters;
        SceneDescription {
            gravity: physics.gravity.to_array(),
            dt: parameters.dt,
            length_unit: parameters.length_unit,
            solver_iterations: parameters.num_solver_iterations,
            bodies,
            joints,
        }
    }
}

fn describe_collider(collider: &Collider) -> Option<ColliderDescription> {
    let shape = collider.shape();
    let shape = if let Some(c) = shape.as_cuboid() {
        ShapeDescription::Cuboid { half_extents: c.half_extents.to_array() }
    } else if let Some(c) = shape.as_cylinder() {
        ShapeDescription::Cylinder { half_height: c.half_height, radius: c.radius }
    } else {
        ShapeDescription::Ball { radius: shape.as_ball()?.radius }
    };
    let local = collider.position_wrt_parent().copied().unwrap_or(Pose::IDENTITY);
    let groups = collider.collision_groups();
    Some(ColliderDescription {
        shape,
        translation: local.translation.to_array(),
        rotation: local.rotation.to_array(),
        density: collider.density(),
        friction: collider.friction(),
        memberships: groups.memberships.bits(),
        filter: groups.filter.bits(),
    })
}

fn describe_joint(joint: &GenericJoint, body1: usize, body2: usize) -> Option<JointDescription> {
    let (kind, axis) = if joint.locked_axes == JointAxesMask::LOCKED_PRISMATIC_AXES {
        (JointKind::Prismatic, JointAxis::LinX)
    } else if joint.locked_axes == JointAxesMask::LOCKED_REVOLUTE_AXES {
        (JointKind::Revolute, JointAxis::AngX)
    } else {
        return None;
    };
    let i = axis as usize;
    let limits = joint.limit_axes.contains(axis.into()).then(|| [joint.limits[i].min, joint.limits[i].max]);
    let motor = joint.motor_axes.contains(axis.into()).then(|| {
        let m = &joint.motors[i];
        JointMotorDescription { target: m.target_pos, stiffness: m.stiffness, damping: m.damping, max_force: m.max_force }
    });
    Some(JointDescription {
        kind,
        body1,
        body2,
        anchor1: joint.local_frame1.translation.to_array(),
        anchor2: joint.local_frame2.translation.to_array(),
        axis: (joint.local_frame1.rotation * Vector::X).to_array(),
        limits,
        motor,
        contacts_enabled: joint.contacts_enabled,
    })
}
