//! Shared pieces of the furniture tasks: collision groups, fixed frames, moving parts on
//! joints, handles, and reading a joint's coordinate back from body poses.

use rapier3d::prelude::*;

use super::Stand;
use crate::sim::scene::groups;
use crate::sim::{Color, Scene};

/// Furniture collides with the hand and free objects only.
pub fn fixture_groups() -> InteractionGroups {
    InteractionGroups::new(groups::FIXTURE, groups::HAND | groups::OBJECT, InteractionTestMode::And)
}

/// Free objects collide with everything.
pub fn object_groups() -> InteractionGroups {
    InteractionGroups::new(groups::OBJECT, Group::ALL, InteractionTestMode::And)
}

/// A furniture box of half extents `half` centred at `center` (in the body's frame).
pub fn fixture_box(half: Vector, center: Vector, color: Color) -> ColliderBuilder {
    ColliderBuilder::cuboid(half.x, half.y, half.z)
        .translation(center)
        .collision_groups(fixture_groups())
        .friction(0.6)
        .user_data(color.packed())
}

/// A fixed frame at `origin` made of `colliders`.
pub fn add_frame(scene: &mut Scene, origin: Vector, colliders: Vec<ColliderBuilder>) -> RigidBodyHandle {
    scene.add_body(RigidBodyBuilder::fixed().translation(origin), colliders)
}

/// The plinth a raised fixture stands on: a block from the table up to the fixture's
/// base (the frame's origin), under a footprint of half extents `footprint` (x, y).
/// Nothing for a fixture on the table, so the low variants build exactly as before.
pub fn plinth(stand: Stand, footprint: (f32, f32)) -> Option<ColliderBuilder> {
    let lift = stand.lift();
    (lift > 0.0).then(|| {
        fixture_box(Vector::new(footprint.0, footprint.1, lift / 2.0), Vector::Z * (-lift / 2.0), Color::FURNITURE)
    })
}

/// A moving part at `pose`: dynamic, weightless (its joint carries it), damped so it
/// stops soon after it is let go.
pub fn add_moving_part(
    scene: &mut Scene,
    pose: Pose,
    damping: f32,
    colliders: Vec<ColliderBuilder>,
) -> RigidBodyHandle {
    scene.add_body(
        RigidBodyBuilder::dynamic()
            .pose(pose)
            .gravity_scale(0.0)
            .linear_damping(damping)
            .angular_damping(damping)
            .can_sleep(false),
        colliders
            .into_iter()
            .map(|c| c.density(300.0))
            .collect(),
    )
}

/// A bar handle standing off a surface: a grip bar of half extents `bar_half` at
/// `bar_center`, joined to the surface by two posts along `standoff` (from the bar
/// towards the surface), placed at the bar's ends along `along`.
pub fn bar_handle(
    bar_center: Vector,
    bar_half: Vector,
    along: Vector,
    standoff: Vector,
) -> Vec<ColliderBuilder> {
    let mut colliders = vec![fixture_box(bar_half, bar_center, Color::HANDLE)];
    let reach = bar_half.dot(along.abs()) - 0.008;
    let post_half = along.abs() * 0.008
        + standoff.abs().normalize() * (standoff.length() / 2.0)
        + (Vector::ONE - along.abs() - standoff.abs().normalize()) * 0.008;
    for side in [-1.0, 1.0] {
        colliders.push(fixture_box(
            post_half,
            bar_center + along * (side * reach) + standoff / 2.0,
            Color::HANDLE,
        ));
    }
    colliders
}

/// Signed rotation angle about `axis` (unit) of a rotation that turns about that axis.
pub fn angle_about(rotation: Rotation, axis: Vector) -> f32 {
    let sin_half = Vector::new(rotation.x, rotation.y, rotation.z).dot(axis);
    2.0 * libm::atan2f(sin_half, rotation.w)
}
