//! The observation vector: the one place where its layout is defined.
//!
//! | index  | content                                                        | unit   |
//! |--------|----------------------------------------------------------------|--------|
//! | 0..3   | TCP position (x, y, z)                                         | m      |
//! | 3      | gap between the finger pads                                    | m      |
//! | 4..7   | TCP velocity: its move over the last control step, in steps    | -      |
//! | 7..10  | object key point position (see each task; the goal for reach)  | m      |
//! | 10..14 | object orientation, unit quaternion (x, y, z, w)               | -      |
//! | 14..17 | goal position of the key point                                 | m      |
//! | 17..33 | task identity, one-hot in `TaskId::ALL` order                  | -      |
//!
//! The first seven are the robot's own state ([`ROBOT_STATE`]), the rest the
//! environment's ([`ENVIRONMENT_STATE`]), as the dataset exports split them.
//!
//! The velocity (suite 3) is in the arm's step (`ACTION_SCALE_M` per control step), so
//! it reads as the motion last commanded: a policy that sees how the gripper is moving
//! can tell a person's hand that is on its way from one that is correcting, which
//! position alone cannot (docs/results.md, "Learning from people"). Suites 1 and 2 had
//! no velocity: their policies cannot be read by this build.
//!
//! All positions are in the world frame of `crate::sim`.

use rapier3d::prelude::{Pose, Rotation, Vector};
use serde::{Deserialize, Serialize};

use super::{TaskId, NUM_TASKS};

pub const TCP: std::ops::Range<usize> = 0..3;
pub const OPENING: usize = 3;
pub const TCP_VELOCITY: std::ops::Range<usize> = 4..7;
pub const OBJECT_POSITION: std::ops::Range<usize> = 7..10;
pub const OBJECT_ROTATION: std::ops::Range<usize> = 10..14;
pub const GOAL: std::ops::Range<usize> = 14..17;
pub const TASK_ONE_HOT: std::ops::Range<usize> = 17..17 + NUM_TASKS;
/// Length of the observation vector.
pub const OBS_DIM: usize = 17 + NUM_TASKS;
/// The robot's own state (the gripper's position, opening and velocity) and the environment's
/// (the object's pose, the goal, the task): the split the dataset formats name.
pub const ROBOT_STATE: std::ops::Range<usize> = TCP.start..TCP_VELOCITY.end;
pub const ENVIRONMENT_STATE: std::ops::Range<usize> = OBJECT_POSITION.start..OBS_DIM;
const _: () = assert!(
    TCP.start == 0 && TCP.end == OPENING && OPENING + 1 == TCP_VELOCITY.start && TCP_VELOCITY.end == OBJECT_POSITION.start && TASK_ONE_HOT.end == OBS_DIM
);

/// The components before the task's one-hot, named as the dataset exports name them.
const PHYSICAL_NAMES: [&str; TASK_ONE_HOT.start] = [
    "tcp.x", "tcp.y", "tcp.z", "finger_gap", "tcp.vx", "tcp.vy", "tcp.vz",
    "object.x", "object.y", "object.z", "object.qx", "object.qy", "object.qz", "object.qw",
    "goal.x", "goal.y", "goal.z",
];

/// Every component's name, in order: the physical ones, then `task.<name>` for each
/// task of the one-hot.
pub fn component_names() -> Vec<String> {
    PHYSICAL_NAMES.iter().map(|n| n.to_string()).chain(TaskId::ALL.iter().map(|t| format!("task.{}", t.name()))).collect()
}

/// The suite whose observation first carried the gripper's velocity.
pub const VELOCITY_SINCE_SUITE: u32 = 3;

/// How wide an observation was in suite `version`: its physical part (without the
/// velocity before suite 3), then one place per task the suite had.
pub fn width_in_suite(version: u32) -> usize {
    let physical = if version < VELOCITY_SINCE_SUITE { TASK_ONE_HOT.start - TCP_VELOCITY.len() } else { TASK_ONE_HOT.start };
    physical + super::tasks_in_suite(version)
}

/// `observation` as suite `version` wrote it (see [`width_in_suite`]), or `None` where
/// that suite could not have observed it (its task came later).
pub fn as_in_suite(observation: &Observation, version: u32) -> Option<Vec<f32>> {
    let v = &observation.0;
    let mut written: Vec<f32> = if version < VELOCITY_SINCE_SUITE {
        v[..TCP_VELOCITY.start].iter().chain(&v[TCP_VELOCITY.end..]).copied().collect()
    } else {
        v.to_vec()
    };
    let width = width_in_suite(version);
    // The suite grows at its end: a task of a later suite has its place past the width.
    if written[width..].iter().any(|&x| x != 0.0) {
        return None;
    }
    written.truncate(width);
    Some(written)
}

/// One observation; see the module documentation for the layout.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation(#[serde(with = "serde_big_array")] pub [f32; OBS_DIM]);

impl Observation {
    pub fn new(task: TaskId, tcp: Vector, velocity: Vector, opening: f32, object: Pose, goal: Vector) -> Observation {
        let mut v = [0.0; OBS_DIM];
        v[TCP].copy_from_slice(&tcp.to_array());
        v[OPENING] = opening;
        v[OBJECT_POSITION].copy_from_slice(&object.translation.to_array());
        v[OBJECT_ROTATION].copy_from_slice(&object.rotation.to_array());
        v[GOAL].copy_from_slice(&goal.to_array());
        v[TCP_VELOCITY].copy_from_slice(&velocity.to_array());
        v[TASK_ONE_HOT.start + task.index()] = 1.0;
        Observation(v)
    }

    fn vector(&self, range: std::ops::Range<usize>) -> Vector {
        Vector::from_slice(&self.0[range])
    }

    pub fn tcp(&self) -> Vector {
        self.vector(TCP)
    }

    /// The TCP's move over the last control step, in the arm's steps (0 at a reset).
    pub fn velocity(&self) -> Vector {
        self.vector(TCP_VELOCITY)
    }

    pub fn opening(&self) -> f32 {
        self.0[OPENING]
    }

    /// Whether the fingers are closed (or closing on something): under 4 cm apart.
    pub fn gripper_closed(&self) -> bool {
        self.opening() < 0.04
    }

    pub fn object_position(&self) -> Vector {
        self.vector(OBJECT_POSITION)
    }

    pub fn object_rotation(&self) -> Rotation {
        Rotation::from_slice(&self.0[OBJECT_ROTATION])
    }

    pub fn goal(&self) -> Vector {
        self.vector(GOAL)
    }

    /// The task named by the one-hot block, if exactly one entry is set.
    pub fn task(&self) -> Option<TaskId> {
        let block = &self.0[TASK_ONE_HOT];
        let mut hot = block.iter().enumerate().filter(|(_, &x)| x == 1.0);
        match (hot.next(), hot.next()) {
            (Some((i, _)), None) => Some(TaskId::ALL[i]),
            _ => None,
        }
    }
}

/// Serde support for arrays longer than 32 elements, as plain sequences.
mod serde_big_array {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(v: &[f32; N], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[f32; N], D::Error> {
        let v = Vec::<f32>::deserialize(d)?;
        let len = v.len();
        v.try_into().map_err(|_| D::Error::invalid_length(len, &"an observation vector"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::SUITE_VERSION;

    #[test]
    fn an_observation_reads_as_each_suite_wrote_it() {
        let observation = crate::tasks::Episode::new(TaskId::DoorOpen, 4).observation();
        let suite_2 = as_in_suite(&observation, 2).unwrap();
        assert_eq!(suite_2.len(), 14 + 16);
        assert_eq!(&suite_2[..4], &observation.0[..4], "the gripper's position and gap first");
        assert_eq!(&suite_2[4..], &observation.0[TCP_VELOCITY.end..], "then, without the velocity, the rest");
        assert_eq!(as_in_suite(&observation, 1).unwrap().len(), 14 + 10);
        assert_eq!(as_in_suite(&observation, SUITE_VERSION).unwrap(), observation.0.to_vec());
        // A task that came with suite 2 was never observed by suite 1.
        assert_eq!(as_in_suite(&crate::tasks::Episode::new(TaskId::DoorClose, 4).observation(), 1), None);
        assert_eq!((width_in_suite(1), width_in_suite(2), width_in_suite(3)), (24, 30, OBS_DIM));
    }

    #[test]
    fn every_component_has_one_name_in_the_layout_order() {
        let names = component_names();
        assert_eq!(names.len(), OBS_DIM);
        assert_eq!(names[OPENING], "finger_gap");
        assert_eq!(names[GOAL.end - 1], "goal.z");
        assert_eq!(names[TASK_ONE_HOT.start + TaskId::Push.index()], "task.push");
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), OBS_DIM);
    }
}
