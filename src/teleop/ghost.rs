//! The practice's guide: the scripted expert's run of the same task instance, drawn as
//! a ghost for a first-time visitor to follow. It moves only while the person's gripper
//! is near it, so it leads them along the expert's path and never runs away. It does not
//! stop at the edge of success (for reach, 3 cm from the goal) but where the expert
//! settles, so a follower a few millimetres off still succeeds.

use rapier3d::prelude::Vector;

use crate::sim::ACTION_SCALE_M;
use crate::tasks::{Episode, TaskId};

/// How near (metres) the person's gripper must be for the ghost to go on.
pub const LEAD_M: f32 = 0.07;
/// After success, the ghost goes on while the expert moves it more than this (metres a
/// step): it settles where the expert does.
const SETTLED_M: f32 = 0.001;

pub struct Ghost {
    episode: Episode,
}

impl Ghost {
    pub fn new(task: TaskId, seed: u64) -> Ghost {
        Ghost { episode: Episode::new(task, seed) }
    }

    /// One control step of the person's: the ghost takes the expert's next step if the
    /// person's gripper (at `person`) keeps up with it, and holds still otherwise.
    pub fn follow(&mut self, person: Vector) {
        let out_of_time = self.episode.steps() >= self.episode.task().demonstration_limit();
        if out_of_time || (self.tcp() - person).length() > LEAD_M {
            return;
        }
        let action = self.episode.expert_action();
        let moves = Vector::new(action[0], action[1], action[2]).length() * ACTION_SCALE_M;
        if self.episode.is_success() && moves < SETTLED_M {
            return;
        }
        self.episode.step(action);
    }

    /// Where the ghost's gripper is.
    pub fn tcp(&self) -> Vector {
        self.episode.observation().tcp()
    }

    /// Whether the ghost's gripper is closed (the person should grip too).
    pub fn gripping(&self) -> bool {
        self.episode.observation().gripper_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::teleop::Teleop;

    /// A person who keeps their gripper on the ghost's, as the practice asks, reaches the
    /// goal, and the ghost settles on the goal itself (a follower a few millimetres off
    /// still succeeds); one who stands still leaves the ghost waiting where it was.
    #[test]
    fn the_ghost_leads_a_follower_to_success_and_waits_for_one_who_stops() {
        let task = TaskId::Reach;
        for seed in 0..20 {
            let mut person = Episode::new(task, seed);
            let mut ghost = Ghost::new(task, seed);
            let mut teleop = Teleop::new(person.tcp_target());
            for _ in 0..task.demonstration_limit() {
                teleop.desired = ghost.tcp();
                teleop.gripping = ghost.gripping();
                person.step(teleop.action(person.tcp_target()));
                ghost.follow(person.observation().tcp());
            }
            assert!(person.is_success(), "seed {seed}: the follower ended {:?}", person.observation().tcp());
            let goal = person.observation().goal();
            let off = (ghost.tcp() - goal).length();
            assert!(off < 0.01, "seed {seed}: the ghost stopped {off:.3} m from the goal");
        }

        let seed = 11;
        let still = Episode::new(task, seed).observation().tcp();
        let mut waiting = Ghost::new(task, seed);
        for _ in 0..200 {
            waiting.follow(still);
        }
        assert!((waiting.tcp() - still).length() <= LEAD_M + 0.03, "the ghost ran {:.3} m ahead", (waiting.tcp() - still).length());
    }
}
