//! The practice's guide: the scripted expert's run of the same task instance, drawn as
//! a ghost for a first-time visitor to follow. It moves only while the person's gripper
//! is near it, so it leads them along the expert's path and never runs away.

use rapier3d::prelude::Vector;

use crate::tasks::{Episode, TaskId};

/// How near (metres) the person's gripper must be for the ghost to go on.
pub const LEAD_M: f32 = 0.07;

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
        if self.episode.is_done() || self.episode.is_success() || (self.tcp() - person).length() > LEAD_M {
            return;
        }
        let action = self.episode.expert_action();
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
    /// goal; one who stands still leaves the ghost waiting where it was.
    #[test]
    fn the_ghost_leads_a_follower_to_success_and_waits_for_one_who_stops() {
        let (task, seed) = (TaskId::Reach, 11);
        let mut person = Episode::new(task, seed);
        let mut ghost = Ghost::new(task, seed);
        let mut teleop = Teleop::new(person.tcp_target());
        for _ in 0..task.demonstration_limit() {
            teleop.desired = ghost.tcp();
            teleop.gripping = ghost.gripping();
            person.step(teleop.action(person.tcp_target()));
            ghost.follow(person.observation().tcp());
            if person.is_success() {
                break;
            }
        }
        assert!(person.is_success(), "the follower ended {:?}", person.observation().tcp());

        let still = Episode::new(task, seed).observation().tcp();
        let mut waiting = Ghost::new(task, seed);
        for _ in 0..200 {
            waiting.follow(still);
        }
        assert!((waiting.tcp() - still).length() <= LEAD_M + 0.03, "the ghost ran {:.3} m ahead", (waiting.tcp() - still).length());
    }
}
