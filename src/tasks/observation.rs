//! The observation vector: the one place where its layout is defined.
//!
//! | index  | content                                                        | unit   |
//! |--------|----------------------------------------------------------------|--------|
//! | 0..3   | TCP position (x, y, z)                                         | m      |
//! | 3      | gap between the finger pads                                    | m      |
//! | 4..7   | object key point position (see each task; the goal for reach)  | m      |
//! | 7..11  | object orientation, unit quaternion (x, y, z, w)               | -      |
//! | 11..14 | goal position of the key point                                 | m      |
//! | 14..30 | task identity, one-hot in `TaskId::ALL` order (10 wide in suite 1) | -  |
//!
//! The first four are the robot's own state ([`ROBOT_STATE`]), the rest the
//! environment's ([`ENVIRONMENT_STATE`]), as the dataset exports split them.
//!
//! All positions are in the world frame of `crate::sim`.

use rapier3d::prelude::{Pose, Rotation, Vector};
use serde::{Deserialize, Serialize};

use super::{TaskId, NUM_TASKS};

pub const TCP: std::ops::Range<usize> = 0..3;
pub const OPENING: usize = 3;
pub const OBJECT_POSITION: std::ops::Range<usize> = 4..7;
pub const OBJECT_ROTATION: std::ops::Range<usize> = 7..11;
pub const GOAL: std::ops::Range<usize> = 11..14;
pub const TASK_ONE_HOT: std::ops::Range<usize> = 14..14 + NUM_TASKS;
/// Length of the observation vector.
pub const OBS_DIM: usize = 14 + NUM_TASKS;
/// The robot's own state (the gripper's position and opening) and the environment's
/// (the object's pose, the goal, the task): the split the dataset formats name.
pub const ROBOT_STATE: std::ops::Range<usize> = TCP.start..OPENING + 1;
pub const ENVIRONMENT_STATE: std::ops::Range<usize> = OBJECT_POSITION.start..OBS_DIM;
const _: () = assert!(TCP.start == 0 && TCP.end == OPENING && OPENING + 1 == OBJECT_POSITION.start && TASK_ONE_HOT.end == OBS_DIM);

/// The components before the task's one-hot, named as the dataset exports name them.
const PHYSICAL_NAMES: [&str; TASK_ONE_HOT.start] = [
    "tcp.x", "tcp.y", "tcp.z", "finger_gap",
    "object.x", "object.y", "object.z", "object.qx", "object.qy", "object.qz", "object.qw",
    "goal.x", "goal.y", "goal.z",
];

/// Every component's name, in order: the physical ones, then `task.<name>` for each
/// task of the one-hot.
pub fn component_names() -> Vec<String> {
    PHYSICAL_NAMES.iter().map(|n| n.to_string()).chain(TaskId::ALL.iter().map(|t| format!("task.{}", t.name()))).collect()
}

/// One observation; see the module documentation for the layout.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation(#[serde(with = "serde_big_array")] pub [f32; OBS_DIM]);

impl Observation {
    pub fn new(task: TaskId, tcp: Vector, opening: f32, object: Pose, goal: Vector) -> Observation {
        let mut v = [0.0; OBS_DIM];
        v[TCP].copy_from_slice(&tcp.to_array());
        v[OPENING] = opening;
        v[OBJECT_POSITION].copy_from_slice(&object.translation.to_array());
        v[OBJECT_ROTATION].copy_from_slice(&object.rotation.to_array());
        v[GOAL].copy_from_slice(&goal.to_array());
        v[TASK_ONE_HOT.start + task.index()] = 1.0;
        Observation(v)
    }

    fn vector(&self, range: std::ops::Range<usize>) -> Vector {
        Vector::from_slice(&self.0[range])
    }

    pub fn tcp(&self) -> Vector {
        self.vector(TCP)
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
