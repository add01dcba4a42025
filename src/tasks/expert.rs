//! Building blocks of the scripted experts: proportional moves towards a point.

use rapier3d::prelude::Vector;

use crate::sim::{Action, ACTION_SCALE_M};

/// Gripper command for open fingers.
pub const OPEN: f32 = -1.0;
/// Gripper command for closed fingers (they stop on whatever they grasp).
pub const CLOSED: f32 = 1.0;

/// An action that moves the TCP from `from` straight towards `to` (reaching it within one
/// step when it is closer than `ACTION_SCALE_M`), with gripper command `grip`.
pub fn move_to(from: Vector, to: Vector, grip: f32) -> Action {
    let step = (to - from) / ACTION_SCALE_M;
    let largest = step.abs().max_element();
    let step = if largest > 1.0 { step / largest } else { step };
    [step.x, step.y, step.z, grip]
}

/// Horizontal distance between two points.
pub fn planar_distance(a: Vector, b: Vector) -> f32 {
    let d = a - b;
    (d.x * d.x + d.y * d.y).sqrt()
}

/// Approach from above: go to `clearance_z` over `point`, then straight down onto it.
/// Returns `None` once the TCP is at `point` (within `tolerance`), so the caller can act.
pub fn approach_from_above(
    tcp: Vector,
    point: Vector,
    clearance_z: f32,
    tolerance: f32,
    grip: f32,
) -> Option<Action> {
    if planar_distance(tcp, point) > tolerance {
        // Rise first if low, then travel at the clearance height.
        let travel_z = clearance_z.max(point.z);
        if tcp.z < travel_z - 0.02 && planar_distance(tcp, point) > 2.0 * tolerance {
            return Some(move_to(tcp, Vector::new(tcp.x, tcp.y, travel_z), grip));
        }
        return Some(move_to(tcp, Vector::new(point.x, point.y, travel_z), grip));
    }
    if (tcp.z - point.z).abs() > tolerance {
        return Some(move_to(tcp, point, grip));
    }
    None
}
