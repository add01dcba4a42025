//! The task suite: sixteen tabletop tasks in families that share skills (reaching,
//! pushing, grasping, hooking and pulling) and mechanisms (a drawer at two heights, opened
//! and shut; a door and a lever worked both ways; a button on the table and on a
//! pedestal), each with a seeded reset distribution, a success predicate, a horizon and a
//! scripted expert.
//!
//! Versions: [`SUITE_VERSION`] names the suite as a whole (its task list, hence the
//! observation's one-hot and every policy's input), while each task says in which suite
//! version its own episodes last changed ([`TaskId::changed_in`]). A demonstration records
//! the suite it was made in and still replays wherever its task has not changed since, so
//! growing the suite does not invalidate a crowd's dataset.

mod articulated;
mod button;
mod door;
mod drawer;
pub mod episode;
pub mod expert;
mod lever;
pub mod observation;
mod pick_place;
mod push;
mod reach;
mod window;

pub use episode::{run_expert, Episode, RolloutSummary};
pub use observation::{Observation, OBS_DIM};

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rapier3d::prelude::{Pose, Vector};
use serde::{Deserialize, Serialize};

use crate::sim::{Action, Scene};

/// Version of the task suite: bumped whenever a task is added or a change would alter a
/// replayed episode (then that task's [`TaskId::changed_in`] moves to the new version).
/// Version 1 had the first ten tasks; version 2 added the six variants; version 3 added
/// the gripper's velocity to the observation (every policy's input; no episode changed).
pub const SUITE_VERSION: u32 = 3;

/// Every task of the suite. The order is the task's index in the observation's one-hot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskId {
    Reach,
    Push,
    PickPlace,
    ButtonPress,
    DrawerOpen,
    DrawerClose,
    DoorOpen,
    WindowOpen,
    WindowClose,
    LeverPull,
    // Suite 2: variants of the mechanisms above, appended so that the first ten keep
    // their one-hot places.
    DrawerOpenHigh,
    DrawerCloseHigh,
    DoorClose,
    LeverPush,
    ButtonPressHigh,
    PickPlaceHigh,
}

/// Number of tasks in the suite.
pub const NUM_TASKS: usize = 16;

impl TaskId {
    pub const ALL: [TaskId; NUM_TASKS] = [
        TaskId::Reach,
        TaskId::Push,
        TaskId::PickPlace,
        TaskId::ButtonPress,
        TaskId::DrawerOpen,
        TaskId::DrawerClose,
        TaskId::DoorOpen,
        TaskId::WindowOpen,
        TaskId::WindowClose,
        TaskId::LeverPull,
        TaskId::DrawerOpenHigh,
        TaskId::DrawerCloseHigh,
        TaskId::DoorClose,
        TaskId::LeverPush,
        TaskId::ButtonPressHigh,
        TaskId::PickPlaceHigh,
    ];

    /// Position in `ALL` and in the observation's one-hot block.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The snake_case name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            TaskId::Reach => "reach",
            TaskId::Push => "push",
            TaskId::PickPlace => "pick_place",
            TaskId::ButtonPress => "button_press",
            TaskId::DrawerOpen => "drawer_open",
            TaskId::DrawerClose => "drawer_close",
            TaskId::DoorOpen => "door_open",
            TaskId::WindowOpen => "window_open",
            TaskId::WindowClose => "window_close",
            TaskId::LeverPull => "lever_pull",
            TaskId::DrawerOpenHigh => "drawer_open_high",
            TaskId::DrawerCloseHigh => "drawer_close_high",
            TaskId::DoorClose => "door_close",
            TaskId::LeverPush => "lever_push",
            TaskId::ButtonPressHigh => "button_press_high",
            TaskId::PickPlaceHigh => "pick_place_high",
        }
    }

    /// An instruction for a person, as the page shows it.
    pub fn instruction(self) -> &'static str {
        match self {
            TaskId::Reach => "Move the gripper to the green ball",
            TaskId::Push => "Push the puck onto the green target",
            TaskId::PickPlace => "Pick up the cube and hold it at the green ball",
            TaskId::ButtonPress => "Press the button down",
            TaskId::DrawerOpen => "Pull the drawer open",
            TaskId::DrawerClose => "Push the drawer shut",
            TaskId::DoorOpen => "Swing the door open towards you",
            TaskId::WindowOpen => "Slide the window open (to the right)",
            TaskId::WindowClose => "Slide the window shut (to the left)",
            TaskId::LeverPull => "Pull the lever towards you",
            TaskId::DrawerOpenHigh => "Pull the raised drawer open",
            TaskId::DrawerCloseHigh => "Push the raised drawer shut",
            TaskId::DoorClose => "Push the door shut",
            TaskId::LeverPush => "Push the lever away from you",
            TaskId::ButtonPressHigh => "Press the button on the pedestal down",
            TaskId::PickPlaceHigh => "Pick up the cube and lift it to the high green ball",
        }
    }

    /// The suite version in which this task's episodes (reset, objects, success) last
    /// changed. A record made in that version or any later one replays the same in this
    /// build.
    pub fn changed_in(self) -> u32 {
        match self {
            TaskId::Reach
            | TaskId::Push
            | TaskId::PickPlace
            | TaskId::ButtonPress
            | TaskId::DrawerOpen
            | TaskId::DrawerClose
            | TaskId::DoorOpen
            | TaskId::WindowOpen
            | TaskId::WindowClose
            | TaskId::LeverPull => 1,
            TaskId::DrawerOpenHigh
            | TaskId::DrawerCloseHigh
            | TaskId::DoorClose
            | TaskId::LeverPush
            | TaskId::ButtonPressHigh
            | TaskId::PickPlaceHigh => 2,
        }
    }

    /// The suite version that added this task.
    pub fn added_in(self) -> u32 {
        if self.index() < 10 {
            1
        } else {
            2
        }
    }

    /// Whether a record of this task made in suite `version` replays in this build.
    pub fn replays_from(self, version: u32) -> bool {
        (self.changed_in()..=SUITE_VERSION).contains(&version)
    }

    pub fn from_name(name: &str) -> Option<TaskId> {
        TaskId::ALL.into_iter().find(|t| t.name() == name)
    }

    /// A task to offer a person who failed this one: a raised variant's table one, a
    /// placing task's push, anything else the plain reach (none for reach itself).
    pub fn easier(self) -> Option<TaskId> {
        Some(match self {
            TaskId::Reach => return None,
            TaskId::PickPlaceHigh => TaskId::PickPlace,
            TaskId::ButtonPressHigh => TaskId::ButtonPress,
            TaskId::DrawerOpenHigh => TaskId::DrawerOpen,
            TaskId::DrawerCloseHigh => TaskId::DrawerClose,
            TaskId::PickPlace => TaskId::Push,
            _ => TaskId::Reach,
        })
    }

    /// Steps a policy gets to succeed (at `CONTROL_HZ`, 200 steps are 10 seconds).
    pub fn horizon(self) -> usize {
        200
    }

    /// Control steps a person has to demonstrate the task: three times the policy's
    /// horizon (30 s). A new user driving with the keyboard ran out of the horizon's
    /// 10 s before reaching the window's handle; a person needs time to find the way.
    /// Longer demonstrations replay the same (the physics does not know the limit), so
    /// records made under the shorter limit stay valid.
    pub fn demonstration_limit(self) -> usize {
        3 * self.horizon()
    }

    /// Builds this task's objects into `scene`, drawing positions from `rng`.
    fn build(self, scene: &mut Scene, rng: &mut ChaCha8Rng) -> Box<dyn TaskObjects> {
        match self {
            TaskId::Reach => reach::build(scene, rng),
            TaskId::Push => push::build(scene, rng),
            TaskId::PickPlace => pick_place::build(scene, rng, pick_place::Height::Low),
            TaskId::ButtonPress => button::build(scene, rng, Stand::Table),
            TaskId::DrawerOpen => drawer::build(scene, rng, drawer::Goal::Open, Stand::Table),
            TaskId::DrawerClose => drawer::build(scene, rng, drawer::Goal::Close, Stand::Table),
            TaskId::DoorOpen => door::build(scene, rng, door::Goal::Open),
            TaskId::WindowOpen => window::build(scene, rng, window::Goal::Open),
            TaskId::WindowClose => window::build(scene, rng, window::Goal::Close),
            TaskId::LeverPull => lever::build(scene, rng, lever::Way::Pull),
            TaskId::DrawerOpenHigh => drawer::build(scene, rng, drawer::Goal::Open, Stand::Plinth),
            TaskId::DrawerCloseHigh => drawer::build(scene, rng, drawer::Goal::Close, Stand::Plinth),
            TaskId::DoorClose => door::build(scene, rng, door::Goal::Close),
            TaskId::LeverPush => lever::build(scene, rng, lever::Way::Push),
            TaskId::ButtonPressHigh => button::build(scene, rng, Stand::Plinth),
            TaskId::PickPlaceHigh => pick_place::build(scene, rng, pick_place::Height::High),
        }
    }

    /// The scripted expert: a function of the observation alone.
    pub fn expert_action(self, obs: &Observation) -> Action {
        match self {
            TaskId::Reach => reach::expert(obs),
            TaskId::Push => push::expert(obs),
            TaskId::PickPlace => pick_place::expert(obs),
            TaskId::ButtonPress | TaskId::ButtonPressHigh => button::expert(obs),
            TaskId::DrawerOpen | TaskId::DrawerOpenHigh => drawer::expert(obs, drawer::Goal::Open),
            TaskId::DrawerClose | TaskId::DrawerCloseHigh => drawer::expert(obs, drawer::Goal::Close),
            TaskId::DoorOpen => door::expert(obs, door::Goal::Open),
            TaskId::WindowOpen => window::expert(obs, window::Goal::Open),
            TaskId::WindowClose => window::expert(obs, window::Goal::Close),
            TaskId::LeverPull => lever::expert(obs, lever::Way::Pull),
            TaskId::DoorClose => door::expert(obs, door::Goal::Close),
            TaskId::LeverPush => lever::expert(obs, lever::Way::Push),
            TaskId::PickPlaceHigh => pick_place::expert(obs),
        }
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TaskId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskId::from_name(s).ok_or_else(|| {
            let names: Vec<_> = TaskId::ALL.iter().map(|t| t.name()).collect();
            format!("unknown task `{s}`; expected one of {}", names.join(", "))
        })
    }
}

/// What a task adds to the scene, and how it reads its own state.
trait TaskObjects: Send {
    /// Pose of the object's key point: what the observation reports as the object.
    fn object_pose(&self, scene: &Scene) -> Pose;
    /// Where the key point must go, in metres.
    fn goal(&self) -> Vector;
    /// Whether the task is accomplished in this state.
    fn is_success(&self, scene: &Scene) -> bool;
}

/// Length of a task's descriptor ([`TaskId::descriptor`]).
pub const DESCRIPTOR_DIM: usize = 10;

/// The mechanisms the tasks work: the first eight places of a descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Reach,
    Push,
    PickPlace,
    Button,
    Drawer,
    Door,
    Window,
    Lever,
}

impl TaskId {
    fn family(self) -> Family {
        match self {
            TaskId::Reach => Family::Reach,
            TaskId::Push => Family::Push,
            TaskId::PickPlace | TaskId::PickPlaceHigh => Family::PickPlace,
            TaskId::ButtonPress | TaskId::ButtonPressHigh => Family::Button,
            TaskId::DrawerOpen | TaskId::DrawerClose | TaskId::DrawerOpenHigh | TaskId::DrawerCloseHigh => Family::Drawer,
            TaskId::DoorOpen | TaskId::DoorClose => Family::Door,
            TaskId::WindowOpen | TaskId::WindowClose => Family::Window,
            TaskId::LeverPull | TaskId::LeverPush => Family::Lever,
        }
    }

    /// What the policy's network sees of the task: its mechanism (one of eight, one-hot)
    /// and how this variant differs from its family's first task (worked the other
    /// way; raised). Unlike the observation's one-hot, variants of one mechanism share
    /// most of it, so what a demonstration teaches of one can carry to its family. The
    /// observation keeps the one-hot (it names the task; the per-task standard
    /// deviation and gates are indexed by it); the network maps it to this.
    pub fn descriptor(self) -> [f32; DESCRIPTOR_DIM] {
        let mut d = [0.0; DESCRIPTOR_DIM];
        d[self.family() as usize] = 1.0;
        let reversed = matches!(
            self,
            TaskId::DrawerClose | TaskId::DrawerCloseHigh | TaskId::WindowClose | TaskId::DoorClose | TaskId::LeverPush
        );
        let raised = matches!(self, TaskId::DrawerOpenHigh | TaskId::DrawerCloseHigh | TaskId::ButtonPressHigh | TaskId::PickPlaceHigh);
        d[8] = if reversed { 1.0 } else { 0.0 };
        d[9] = if raised { 1.0 } else { 0.0 };
        d
    }
}

/// How many tasks suite `version` had (its observation's one-hot width): the suite
/// only grows, at its end.
pub fn tasks_in_suite(version: u32) -> usize {
    TaskId::ALL.iter().filter(|t| t.added_in() <= version).count()
}

/// What a fixture stands on: the table, or a plinth that raises it (the high variants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stand {
    Table,
    Plinth,
}

impl Stand {
    /// How far the fixture's base is raised above the table, in metres.
    fn lift(self) -> f32 {
        match self {
            Stand::Table => 0.0,
            Stand::Plinth => 0.12,
        }
    }
}

/// Draws a uniform value in `[low, high)`.
fn uniform(rng: &mut ChaCha8Rng, low: f32, high: f32) -> f32 {
    rng.random_range(low..high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_name_every_task_apart_and_variants_share_their_family() {
        for (i, a) in TaskId::ALL.iter().enumerate() {
            for b in &TaskId::ALL[i + 1..] {
                assert_ne!(a.descriptor(), b.descriptor(), "{a} and {b} look alike to the policy");
            }
        }
        let shared = |a: TaskId, b: TaskId| a.descriptor().iter().zip(b.descriptor()).filter(|(x, y)| **x == 1.0 && *y == 1.0).count();
        assert_eq!(shared(TaskId::DrawerClose, TaskId::DrawerCloseHigh), 2, "mechanism and direction");
        assert_eq!(shared(TaskId::DrawerOpen, TaskId::DrawerOpenHigh), 1);
        assert_eq!(shared(TaskId::DoorOpen, TaskId::LeverPull), 0);
    }

    #[test]
    fn a_record_replays_only_from_the_suite_its_task_last_changed_in() {
        assert!(TaskId::DoorOpen.replays_from(1) && TaskId::DoorOpen.replays_from(SUITE_VERSION));
        assert!(!TaskId::DoorClose.replays_from(1) && TaskId::DoorClose.replays_from(2));
        assert!(TaskId::ALL.iter().all(|t| !t.replays_from(0) && !t.replays_from(SUITE_VERSION + 1)));
        assert!(TaskId::ALL.iter().all(|t| t.added_in() <= t.changed_in()));
        assert_eq!((tasks_in_suite(1), tasks_in_suite(SUITE_VERSION)), (10, NUM_TASKS));
    }
}
