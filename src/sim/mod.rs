//! The tabletop world: a rapier3d scene with a table, a robot arm driven by inverse
//! kinematics, and the objects of one task.
//!
//! Coordinate frame (used everywhere in the project): right-handed, metres and seconds,
//! `z` up, the table top is the plane `z = 0`, the arm's base stands at the origin and
//! reaches towards `+y` (away from the viewer of the default camera).

pub mod arm;
pub mod describe;
pub mod hash;
pub mod scene;

pub use arm::{Arm, ArmPose};
pub use scene::{looks_the_same, Color, Scene, Visual, VisualShape};

/// Control rate of the arm: one action per control step (default: 20 Hz).
pub const CONTROL_HZ: f32 = 20.0;
/// Physics steps per control step (default: 5, so physics runs at 100 Hz).
pub const PHYSICS_SUBSTEPS: usize = 5;
/// Length of one control step, in seconds.
pub const CONTROL_DT: f32 = 1.0 / CONTROL_HZ;
/// Length of one physics step, in seconds.
pub const PHYSICS_DT: f32 = CONTROL_DT / PHYSICS_SUBSTEPS as f32;
/// Displacement of the gripper target per control step for an action component of 1,
/// in metres (default: 0.01 m, so the gripper moves at most 0.2 m/s along each axis).
pub const ACTION_SCALE_M: f32 = 0.01;
/// Number of action components: the target's displacement (x, y, z) and the gripper.
pub const ACTION_DIM: usize = 4;

/// One action: `[dx, dy, dz, grip]`, each in `[-1, 1]`. The first three move the gripper
/// target by `ACTION_SCALE_M` metres per unit; `grip` sets the finger opening, from
/// fully open at -1 to fully closed at +1 (the fingers stop where they meet an object).
pub type Action = [f32; ACTION_DIM];

/// Clamps every component of an action into `[-1, 1]`; non-finite components become 0.
pub fn sanitize_action(action: Action) -> Action {
    action.map(|a| if a.is_finite() { a.clamp(-1.0, 1.0) } else { 0.0 })
}
