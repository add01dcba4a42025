//! A robomimic-style HDF5 file of replayed demonstrations, as robomimic's dataset
//! documentation lays it out:
//!
//! ```text
//! data                       attrs: total (frames), env_args (JSON)
//!   demo_0                   attrs: num_samples, task, instruction, seed, source, success
//!     actions    (N, 4)      [dx, dy, dz, grip]
//!     states     (N, 33)     the observation vector (the simulation restarts from the seed)
//!     rewards    (N,)        1 when the task is achieved after the action
//!     dones      (N,)        1 at the last step
//!     obs/<key>  (N, d)      the robot's: tcp_pos, finger_gap, tcp_vel; the environment's: object_pos,
//!                            object_quat, goal_pos, task_one_hot, and all four as `object`
//!     next_obs/<key>         the same, one step later
//! mask/train, mask/valid     demonstration names (every tenth is held out for validation)
//! ```

use std::path::Path;

use hdf5::types::{FixedAscii, VarLenUnicode};
use ndarray::{Array1, Array2};
use serde_json::json;

use super::{observation_names, ExportError, ReplayedEpisode, FPS, ROBOT_TYPE};
use crate::tasks::{observation, Observation, TaskId, SUITE_VERSION};

/// The observation's parts, as robomimic's `obs` group names them: the robot's own
/// state (`tcp_pos`, `finger_gap`, `tcp_vel`), the environment's part by part, and the environment's
/// state whole as `object` (the key robomimic's own datasets give it), so a config can
/// take either.
pub const OBS_KEYS: [(&str, std::ops::Range<usize>); 8] = [
    ("tcp_pos", observation::TCP),
    ("finger_gap", observation::OPENING..observation::OPENING + 1),
    ("tcp_vel", observation::TCP_VELOCITY),
    ("object_pos", observation::OBJECT_POSITION),
    ("object_quat", observation::OBJECT_ROTATION),
    ("goal_pos", observation::GOAL),
    ("task_one_hot", observation::TASK_ONE_HOT),
    ("object", observation::ENVIRONMENT_STATE),
];
/// Which keys are the robot's own state and which the environment's (as LeRobot's
/// export splits `observation.state` from `observation.environment_state`).
const ROBOT_STATE_KEYS: [&str; 3] = ["tcp_pos", "finger_gap", "tcp_vel"];
const ENVIRONMENT_STATE_KEYS: [&str; 4] = ["object_pos", "object_quat", "goal_pos", "task_one_hot"];

/// Every tenth demonstration goes to the validation mask.
const VALIDATION_EVERY: usize = 10;

type Name = FixedAscii<16>;

fn fail(what: &str) -> impl Fn(hdf5::Error) -> ExportError + '_ {
    move |e| ExportError::write(what, e)
}

fn text(value: &str) -> Result<VarLenUnicode, ExportError> {
    value.parse().map_err(|e| ExportError::write("a text attribute", e))
}

/// The environment's description, as robomimic's `env_args` attribute holds it. `type`
/// is null: this is not one of robomimic's environment types.
fn env_args() -> String {
    json!({
        "env_name": "amf_studio_tabletop",
        "type": null,
        "env_version": SUITE_VERSION.to_string(),
        "env_kwargs": {
            "robot": ROBOT_TYPE,
            "control_freq": FPS,
            "horizon": TaskId::ALL[0].horizon(),
            "tasks": TaskId::ALL.iter().map(|t| t.name()).collect::<Vec<_>>(),
            "observation_names": observation_names(),
            "robot_state_keys": ROBOT_STATE_KEYS,
            "environment_state_keys": ENVIRONMENT_STATE_KEYS,
        },
    })
    .to_string()
}

fn matrix(rows: impl Iterator<Item = Vec<f32>>, width: usize) -> Array2<f32> {
    let values: Vec<f32> = rows.flatten().collect();
    Array2::from_shape_vec((values.len() / width, width), values).expect("every row has the width")
}

fn obs_group(group: &hdf5::Group, observations: &[Observation]) -> Result<(), ExportError> {
    for (key, range) in OBS_KEYS {
        let data = matrix(observations.iter().map(|o| o.0[range.clone()].to_vec()), range.len());
        group.new_dataset_builder().with_data(&data).create(key).map_err(fail(key))?;
    }
    Ok(())
}

/// Writes the file at `path` (replacing one that is there).
pub fn write(episodes: &[ReplayedEpisode], path: &Path) -> Result<(), ExportError> {
    if episodes.is_empty() {
        return Err(ExportError::Empty);
    }
    let file = hdf5::File::create(path).map_err(|e| ExportError::write(path.display().to_string(), e))?;
    let data = file.create_group("data").map_err(fail("data"))?;
    let total: i64 = episodes.iter().map(|e| e.len() as i64).sum();
    data.new_attr::<i64>().create("total").map_err(fail("data/total"))?.write_scalar(&total).map_err(fail("data/total"))?;
    data.new_attr::<VarLenUnicode>()
        .create("env_args")
        .map_err(fail("data/env_args"))?
        .write_scalar(&text(&env_args())?)
        .map_err(fail("data/env_args"))?;

    let mut names = Vec::with_capacity(episodes.len());
    for (i, e) in episodes.iter().enumerate() {
        let name = format!("demo_{i}");
        let demo = data.create_group(&name).map_err(fail(&name))?;
        let n = e.len();
        let record = &e.record;
        demo.new_attr::<i64>().create("num_samples").map_err(fail(&name))?.write_scalar(&(n as i64)).map_err(fail(&name))?;
        demo.new_attr::<u64>().create("seed").map_err(fail(&name))?.write_scalar(&record.seed).map_err(fail(&name))?;
        demo.new_attr::<bool>().create("success").map_err(fail(&name))?.write_scalar(&record.success).map_err(fail(&name))?;
        for (key, value) in [("task", record.task.name()), ("instruction", record.task.instruction()), ("source", record.source.name())] {
            demo.new_attr::<VarLenUnicode>().create(key).map_err(fail(&name))?.write_scalar(&text(value)?).map_err(fail(&name))?;
        }
        let actions = matrix(e.actions().iter().map(|a| a.to_vec()), 4);
        demo.new_dataset_builder().with_data(&actions).create("actions").map_err(fail("actions"))?;
        let states = matrix(e.observations[..n].iter().map(|o| o.0.to_vec()), crate::tasks::OBS_DIM);
        demo.new_dataset_builder().with_data(&states).create("states").map_err(fail("states"))?;
        let rewards: Array1<f32> = e.achieved.iter().map(|&a| if a { 1.0 } else { 0.0 }).collect();
        demo.new_dataset_builder().with_data(&rewards).create("rewards").map_err(fail("rewards"))?;
        let dones: Array1<i64> = (0..n).map(|t| i64::from(t + 1 == n)).collect();
        demo.new_dataset_builder().with_data(&dones).create("dones").map_err(fail("dones"))?;
        obs_group(&demo.create_group("obs").map_err(fail("obs"))?, &e.observations[..n])?;
        obs_group(&demo.create_group("next_obs").map_err(fail("next_obs"))?, &e.observations[1..])?;
        names.push(name);
    }

    let mask = file.create_group("mask").map_err(fail("mask"))?;
    let held_out = |i: usize| i % VALIDATION_EVERY == VALIDATION_EVERY - 1;
    for (key, valid) in [("train", false), ("valid", true)] {
        let list: Vec<Name> = names
            .iter()
            .enumerate()
            .filter(|&(i, _)| held_out(i) == valid)
            .map(|(_, n)| Name::from_ascii(n.as_bytes()).map_err(|e| ExportError::write("a mask", e)))
            .collect::<Result<_, _>>()?;
        mask.new_dataset_builder().with_data(&Array1::from(list)).create(key).map_err(fail(key))?;
    }
    file.close().map_err(|e| ExportError::write(path.display().to_string(), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::replay_all;
    use crate::record::DemonstrationRecord;

    #[test]
    fn the_file_reads_back_with_its_shapes_and_values() {
        let records: Vec<DemonstrationRecord> =
            (0..11).map(|k| DemonstrationRecord::from_expert(TaskId::ALL[k % 10], 70 + k as u64, 0.05, 0.0)).collect();
        let episodes = replay_all(&records).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demos.hdf5");
        write(&episodes, &path).unwrap();

        let file = hdf5::File::open(&path).unwrap();
        let total: i64 = file.group("data").unwrap().attr("total").unwrap().read_scalar().unwrap();
        assert_eq!(total, episodes.iter().map(|e| e.len() as i64).sum::<i64>());
        let demo = file.group("data/demo_3").unwrap();
        let actions: Array2<f32> = demo.dataset("actions").unwrap().read_2d().unwrap();
        assert_eq!(actions.dim(), (episodes[3].len(), 4));
        assert_eq!(actions.row(5).to_vec(), episodes[3].actions()[5].to_vec());
        let next_tcp: Array2<f32> = demo.dataset("next_obs/tcp_pos").unwrap().read_2d().unwrap();
        assert_eq!(next_tcp.row(0).to_vec(), episodes[3].observations[1].0[0..3].to_vec());
        let valid: Array1<Name> = file.dataset("mask/valid").unwrap().read_1d().unwrap();
        assert_eq!(valid.iter().map(|n| n.as_str().to_owned()).collect::<Vec<_>>(), vec!["demo_9"]);
    }
}
