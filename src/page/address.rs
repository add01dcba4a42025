//! What the page's address asks for: `?task=door_open&seed=7` opens an instance (and
//! seeds the page's later draws too, each demonstration's instance and a new session's
//! seed, so that an end-to-end test's run is the same on every machine),
//! `?speed=0.5` slows the scene (down to 0.1), `?bench` opens the benchmark page (in builds
//! with the `bench-page` feature), and
//! `?guide` (test mode) publishes the scripted expert's next waypoint on the canvas
//! for the end-to-end test to follow with the mouse; visitors never pay for it.

use crate::tasks::TaskId;

#[derive(Clone, Debug, PartialEq)]
pub struct PageAddress {
    pub task: TaskId,
    pub seed: Option<u64>,
    /// Simulated seconds per real second, in [0.1, 1].
    pub speed: f64,
    pub bench: bool,
    pub guide: bool,
}

impl PageAddress {
    /// Reads `location.search` (with or without its `?`); what it does not understand
    /// is ignored.
    pub fn parse(search: &str) -> PageAddress {
        let mut address = PageAddress { task: TaskId::Reach, seed: None, speed: 1.0, bench: false, guide: false };
        for pair in search.trim_start_matches('?').split('&') {
            match pair.split_once('=').unwrap_or((pair, "")) {
                ("task", name) => address.task = TaskId::from_name(name).unwrap_or(address.task),
                // Seeds a browser's numbers carry exactly (the page's own are 32-bit).
                ("seed", value) => address.seed = value.parse::<u32>().ok().map(u64::from),
                ("speed", value) => {
                    if let Some(speed) = value.parse::<f64>().ok().filter(|v| v.is_finite()) {
                        address.speed = speed.clamp(0.1, 1.0);
                    }
                }
                ("bench", _) => address.bench = true,
                ("guide", _) => address.guide = true,
                _ => {}
            }
        }
        address
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_names_the_instance_the_speed_and_the_test_mode() {
        let a = PageAddress::parse("?task=door_open&seed=7&speed=0.5&guide");
        assert_eq!((a.task, a.seed, a.speed, a.bench, a.guide), (TaskId::DoorOpen, Some(7), 0.5, false, true));
        let b = PageAddress::parse("?task=nonsense&seed=x&speed=NaN&bench");
        assert_eq!((b.task, b.seed, b.speed, b.bench, b.guide), (TaskId::Reach, None, 1.0, true, false));
        assert_eq!(PageAddress::parse("speed=0.01").speed, 0.1);
        assert!(!PageAddress::parse("").guide);
        // A seed JavaScript's numbers could not carry exactly is not taken.
        assert_eq!(PageAddress::parse("seed=4294967295").seed, Some(u64::from(u32::MAX)));
        assert_eq!(PageAddress::parse("seed=9007199254740993").seed, None);
    }
}
