//! The robot arm: a yaw base, a two-link pitch chain, a wrist that keeps the hand pointing
//! down, and a two-finger parallel gripper.
//!
//! The links above the hand are kinematic and carry no collider: inverse kinematics
//! places them so the tool centre point (TCP, the point midway between the finger pads)
//! sits exactly on the commanded Cartesian target. The palm is a kinematic body moved
//! smoothly to that target over the physics substeps; the two fingers are dynamic bodies
//! on prismatic joints with force-limited position motors, so a grasp holds an object by
//! contact and friction and the fingers stop where they meet it.

use rapier3d::prelude::*;

use super::scene::{groups, Color};
use super::{sanitize_action, Action, ACTION_SCALE_M};

/// Height of the shoulder joint above the table, in metres.
pub const SHOULDER_HEIGHT: f32 = 0.25;
/// Length of the upper arm (shoulder to elbow), in metres.
pub const UPPER_ARM_LENGTH: f32 = 0.5;
/// Length of the forearm (elbow to wrist), in metres.
pub const FOREARM_LENGTH: f32 = 0.5;
/// Vertical distance from the wrist joint down to the TCP, in metres.
pub const WRIST_TO_TCP: f32 = 0.12;
/// Half extents of one finger pad (x: closing direction, y, z), in metres.
pub const FINGER_HALF_EXTENTS: Vector = Vector::new(0.008, 0.012, 0.02);
/// Half extents of the palm, in metres.
pub const PALM_HALF_EXTENTS: Vector = Vector::new(0.05, 0.015, 0.015);
/// Height of the palm's centre above the TCP, in metres.
pub const PALM_ABOVE_TCP: f32 = FINGER_HALF_EXTENTS.z + PALM_HALF_EXTENTS.z;
/// Largest gap between the finger pads, in metres.
pub const MAX_OPENING: f32 = 0.08;
/// Lower corner of the box the TCP target is kept in, in metres.
pub const WORKSPACE_MIN: Vector = Vector::new(-0.35, 0.3, 0.022);
/// Upper corner of the box the TCP target is kept in, in metres.
pub const WORKSPACE_MAX: Vector = Vector::new(0.35, 0.8, 0.4);

/// Stiffness of the finger position motors (acceleration-based model, 1/s^2).
const FINGER_MOTOR_STIFFNESS: f32 = 2000.0;
/// Damping of the finger position motors (1/s).
const FINGER_MOTOR_DAMPING: f32 = 80.0;
/// Largest force a finger motor applies, in newtons: the grip force.
const FINGER_MOTOR_MAX_FORCE: f32 = 25.0;

/// Offset of a finger pad's centre from the palm's mid-plane when the pads touch.
const FINGER_OFFSET_CLOSED: f32 = FINGER_HALF_EXTENTS.x;
/// Offset of a finger pad's centre from the palm's mid-plane when fully open.
const FINGER_OFFSET_OPEN: f32 = FINGER_HALF_EXTENTS.x + MAX_OPENING / 2.0;

/// Joint angles of the arm, in radians.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArmPose {
    /// Base rotation about `z`; 0 points the arm along `+y`.
    pub yaw: f32,
    /// Upper arm's elevation above the horizontal.
    pub shoulder: f32,
    /// Forearm's bend relative to the upper arm (negative: elbow up).
    pub elbow: f32,
    /// Hand's pitch relative to the forearm, chosen so the hand points straight down.
    pub wrist: f32,
}

/// Positions of the arm's joints, from forward kinematics, in metres.
#[derive(Clone, Copy, Debug)]
pub struct ArmJoints {
    pub shoulder: Vector,
    pub elbow: Vector,
    pub wrist: Vector,
    pub tcp: Vector,
}

impl ArmPose {
    /// Inverse kinematics, elbow up: the joint angles that put the TCP at `tcp` with the
    /// hand pointing down. Targets beyond reach are pulled in along the same direction.
    pub fn solve(tcp: Vector) -> ArmPose {
        let yaw = libm::atan2f(-tcp.x, tcp.y);
        let wrist_point = tcp + Vector::Z * WRIST_TO_TCP;
        let radial = (tcp.x * tcp.x + tcp.y * tcp.y).sqrt();
        let rise = wrist_point.z - SHOULDER_HEIGHT;
        let (l1, l2) = (UPPER_ARM_LENGTH, FOREARM_LENGTH);
        let distance = (radial * radial + rise * rise)
            .sqrt()
            .clamp((l1 - l2).abs() + 1e-3, l1 + l2 - 1e-4);
        let cos_at_shoulder = (l1 * l1 + distance * distance - l2 * l2) / (2.0 * l1 * distance);
        let cos_at_elbow = (l1 * l1 + l2 * l2 - distance * distance) / (2.0 * l1 * l2);
        let shoulder = libm::atan2f(rise, radial) + libm::acosf(cos_at_shoulder.clamp(-1.0, 1.0));
        let elbow = -(std::f32::consts::PI - libm::acosf(cos_at_elbow.clamp(-1.0, 1.0)));
        let wrist = -std::f32::consts::FRAC_PI_2 - (shoulder + elbow);
        ArmPose { yaw, shoulder, elbow, wrist }
    }

    /// Forward kinematics: where each joint and the TCP are for these angles.
    pub fn joints(&self) -> ArmJoints {
        let heading = Vector::new(-libm::sinf(self.yaw), libm::cosf(self.yaw), 0.0);
        let in_plane = |angle: f32, length: f32| {
            heading * (length * libm::cosf(angle)) + Vector::Z * (length * libm::sinf(angle))
        };
        let shoulder = Vector::Z * SHOULDER_HEIGHT;
        let elbow = shoulder + in_plane(self.shoulder, UPPER_ARM_LENGTH);
        let wrist = elbow + in_plane(self.shoulder + self.elbow, FOREARM_LENGTH);
        let tcp = wrist + in_plane(self.shoulder + self.elbow + self.wrist, WRIST_TO_TCP);
        ArmJoints { shoulder, elbow, wrist, tcp }
    }
}

/// The finger motors' target offset for gripper command `grip` in `[-1, 1]`.
pub fn finger_offset_for(grip: f32) -> f32 {
    let closedness = (grip + 1.0) / 2.0;
    FINGER_OFFSET_OPEN + (FINGER_OFFSET_CLOSED - FINGER_OFFSET_OPEN) * closedness
}

/// Where the palm is when the TCP is at `tcp`.
pub fn palm_translation(tcp: Vector) -> Vector {
    tcp + Vector::Z * PALM_ABOVE_TCP
}

/// Keeps a TCP target inside the workspace box.
pub fn clamp_to_workspace(target: Vector) -> Vector {
    target.clamp(WORKSPACE_MIN, WORKSPACE_MAX)
}

/// The arm's bodies in the physics world and its commanded state.
#[derive(Clone, Debug)]
pub struct Arm {
    /// Kinematic palm body; its pose is the TCP raised by `PALM_ABOVE_TCP`.
    pub palm: RigidBodyHandle,
    /// Dynamic finger bodies, on the `-x` and `+x` side of the palm.
    pub fingers: [RigidBodyHandle; 2],
    finger_joints: [ImpulseJointHandle; 2],
    /// TCP target at the start of the current control step.
    previous_target: Vector,
    /// TCP target at the end of the current control step.
    target: Vector,
}

impl Arm {
    /// Adds the palm and fingers to `world`, with the TCP at `tcp` and the gripper open.
    pub fn build(world: &mut PhysicsWorld, tcp: Vector) -> Arm {
        let tcp = clamp_to_workspace(tcp);
        let hand_groups = InteractionGroups::new(
            groups::HAND,
            groups::TABLE | groups::OBJECT | groups::FIXTURE,
            InteractionTestMode::And,
        );
        let palm = world.insert_body(
            RigidBodyBuilder::kinematic_position_based().translation(tcp + Vector::Z * PALM_ABOVE_TCP),
        );
        world.insert_collider(
            ColliderBuilder::cuboid(PALM_HALF_EXTENTS.x, PALM_HALF_EXTENTS.y, PALM_HALF_EXTENTS.z)
                .collision_groups(hand_groups)
                .friction(1.0)
                .user_data(Color::ARM.packed()),
            Some(palm),
        );
        let mut fingers = [palm; 2];
        let mut finger_joints = [ImpulseJointHandle::invalid(); 2];
        for (side, sign) in [-1.0f32, 1.0].into_iter().enumerate() {
            let finger = world.insert_body(
                RigidBodyBuilder::dynamic()
                    .translation(tcp + Vector::X * (sign * FINGER_OFFSET_OPEN))
                    .gravity_scale(0.0)
                    .can_sleep(false)
                    .additional_solver_iterations(4),
            );
            world.insert_collider(
                ColliderBuilder::cuboid(
                    FINGER_HALF_EXTENTS.x,
                    FINGER_HALF_EXTENTS.y,
                    FINGER_HALF_EXTENTS.z,
                )
                .density(800.0)
                .friction(1.5)
                .collision_groups(hand_groups)
                .user_data(Color::FINGER.packed()),
                Some(finger),
            );
            let joint = PrismaticJointBuilder::new(Vector::X * sign)
                .local_anchor1(Vector::new(0.0, 0.0, -PALM_ABOVE_TCP))
                .local_anchor2(Vector::ZERO)
                .limits([FINGER_OFFSET_CLOSED, FINGER_OFFSET_OPEN])
                .motor_position(FINGER_OFFSET_OPEN, FINGER_MOTOR_STIFFNESS, FINGER_MOTOR_DAMPING)
                .motor_max_force(FINGER_MOTOR_MAX_FORCE)
                .contacts_enabled(false);
            finger_joints[side] = world.insert_impulse_joint(palm, finger, joint);
            fingers[side] = finger;
        }
        Arm { palm, fingers, finger_joints, previous_target: tcp, target: tcp }
    }

    /// Takes a new action: moves the TCP target and sets the finger motors.
    pub fn command(&mut self, world: &mut PhysicsWorld, action: Action) {
        let action = sanitize_action(action);
        self.previous_target = self.target;
        let displacement = Vector::new(action[0], action[1], action[2]) * ACTION_SCALE_M;
        self.target = clamp_to_workspace(self.target + displacement);
        let finger_offset = finger_offset_for(action[3]);
        for handle in self.finger_joints {
            if let Some(joint) = world.impulse_joints.get_mut(handle, true) {
                joint.data.set_motor_position(
                    JointAxis::LinX,
                    finger_offset,
                    FINGER_MOTOR_STIFFNESS,
                    FINGER_MOTOR_DAMPING,
                );
            }
        }
    }

    /// The prismatic joints of the `-x` and `+x` fingers.
    pub fn finger_joints(&self) -> [ImpulseJointHandle; 2] {
        self.finger_joints
    }

    /// Moves the palm to the fraction `progress` (in `(0, 1]`) of this control step's
    /// path, before one physics step.
    pub fn drive(&self, world: &mut PhysicsWorld, progress: f32) {
        let tcp = self.previous_target.lerp(self.target, progress);
        if let Some(palm) = world.bodies.get_mut(self.palm) {
            palm.set_next_kinematic_translation(palm_translation(tcp));
        }
    }

    /// The commanded TCP target, in metres.
    pub fn target(&self) -> Vector {
        self.target
    }

    /// Where the TCP is now, from the palm's pose.
    pub fn tcp(&self, world: &PhysicsWorld) -> Vector {
        world.bodies[self.palm].translation() - Vector::Z * PALM_ABOVE_TCP
    }

    /// Gap between the inner faces of the finger pads, in metres.
    pub fn opening(&self, world: &PhysicsWorld) -> f32 {
        let palm = world.bodies[self.palm].position();
        let [left, right] = self.fingers.map(|f| {
            palm.inverse_transform_point(world.bodies[f].translation()).x
        });
        (right - left - 2.0 * FINGER_HALF_EXTENTS.x).max(0.0)
    }

    /// Joint angles that reach the current TCP.
    pub fn pose(&self, world: &PhysicsWorld) -> ArmPose {
        ArmPose::solve(self.tcp(world))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_kinematics_inverts_inverse_kinematics_over_the_workspace() {
        let steps = 8;
        for i in 0..=steps {
            for j in 0..=steps {
                for k in 0..=steps {
                    let t = |a: f32, b: f32, n: usize| a + (b - a) * n as f32 / steps as f32;
                    let target = Vector::new(
                        t(WORKSPACE_MIN.x, WORKSPACE_MAX.x, i),
                        t(WORKSPACE_MIN.y, WORKSPACE_MAX.y, j),
                        t(WORKSPACE_MIN.z, WORKSPACE_MAX.z, k),
                    );
                    let reached = ArmPose::solve(target).joints().tcp;
                    assert!(
                        (reached - target).length() < 1e-4,
                        "target {target:?} reached {reached:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn hand_points_down_and_elbow_stays_up() {
        let pose = ArmPose::solve(Vector::new(0.2, 0.5, 0.05));
        let joints = pose.joints();
        assert!((joints.wrist - joints.tcp - Vector::Z * WRIST_TO_TCP).length() < 1e-4);
        assert!(joints.elbow.z > joints.wrist.z);
    }
}
