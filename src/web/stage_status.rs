//! What the stage tells the page (its status, when it changes) and the end-to-end
//! tests (the canvas's data attributes).

use rapier3d::prelude::Vector;

use super::stage::{Stage, Status};
use crate::sim::ACTION_SCALE_M;

impl Stage {
    /// Tells the page what changed, and mirrors the state on the canvas's data
    /// attributes, where end-to-end tests read it.
    pub(super) fn publish(&mut self) {
        let obs = self.episode.observation();
        let tcp = obs.tcp();
        let (w, h) = (self.canvas.client_width() as f32, self.canvas.client_height() as f32);
        let set = |name: &str, value: String| {
            let _ = self.canvas.set_attribute(name, &value);
        };
        set("data-tcp", format!("{:.4} {:.4} {:.4}", tcp.x, tcp.y, tcp.z));
        if let Some((x, y)) = self.camera.project(tcp, w, h) {
            set("data-tcp-px", format!("{x:.1} {y:.1}"));
        }
        set("data-steps", self.episode.steps().to_string());
        set("data-seconds-left", if self.recording.is_some() { format!("{:.1}", self.episode.demonstration_seconds_left()) } else { String::new() });
        // Test mode only: where the scripted expert is taking the gripper, and whether it
        // would grip: the path the end-to-end test drives with the mouse. An expert
        // action below full scale ends at its waypoint; a full-scale one heads further,
        // so look 3 steps on.
        if self.guide {
            let expert = self.episode.expert_action();
            let full_scale = expert[..3].iter().any(|v| v.abs() > 0.999);
            let reach = if full_scale { 3.0 } else { 1.0 } * ACTION_SCALE_M;
            let ahead = self.episode.tcp_target() + Vector::new(expert[0], expert[1], expert[2]) * reach;
            set("data-guide", format!("{:.4} {:.4} {:.4} {}", ahead.x, ahead.y, ahead.z, expert[3] > 0.0));
            if let Some((x, y)) = self.camera.project(Vector::new(ahead.x, ahead.y, self.teleop.desired.z), w, h) {
                set("data-guide-px", format!("{x:.1} {y:.1}"));
            }
            // Where the person wants the gripper, on the screen: a finger slides it from there.
            if let Some((x, y)) = self.camera.project(self.teleop.desired, w, h) {
                set("data-desired-px", format!("{x:.1} {y:.1}"));
            }
        }
        // The practice's ghost, while one leads: where it is.
        let ghost = self.ghost.as_ref().map(|g| g.tcp());
        set("data-ghost", ghost.map_or(String::new(), |g| format!("{:.4} {:.4} {:.4}", g.x, g.y, g.z)));
        if let Some((x, y)) = ghost.and_then(|g| self.camera.project(g, w, h)) {
            set("data-ghost-px", format!("{x:.1} {y:.1}"));
        }
        set("data-desired-z", format!("{:.4}", self.teleop.desired.z));
        set("data-gripping", self.teleop.gripping.to_string());
        set("data-recording", self.recording.is_some().to_string());
        set("data-driver", format!("{:?}", self.driver).to_lowercase());
        set("data-success", self.episode.is_success().to_string());
        set("data-frames", self.frames.to_string());
        set("data-draws", self.draws.to_string());
        set("data-render-scale", format!("{:.2}", self.render_scale));
        let status = Status {
            task: self.episode.task(),
            seed: self.episode.seed(),
            steps: self.episode.steps(),
            success: self.episode.is_success(),
            driver: self.driver,
            gripping: self.gripping,
            seconds_left: self.recording.as_ref().map(|_| self.episode.demonstration_seconds_left().ceil() as u32),
        };
        // Steps change every tick; the panel only needs them a few times a second.
        let changed = match &self.last_status {
            Some(last) => {
                last.success != status.success
                    || last.driver != status.driver
                    || last.gripping != status.gripping
                    || last.task != status.task
                    || last.seed != status.seed
                    || last.seconds_left != status.seconds_left
                    || status.steps.abs_diff(last.steps) >= 5
                    || (status.steps < last.steps)
            }
            None => true,
        };
        if changed {
            self.last_status = Some(status.clone());
            self.on_status.emit(status);
        }
    }
}
