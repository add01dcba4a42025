"""Reads AMF Studio's LeRobot v3 and robomimic exports with the field's own readers
(pyarrow and pandas for Parquet, h5py for HDF5) and checks them against the
demonstration file they were converted from: layout, shapes, episode counts, and every
action and state value.

usage: check_exports.py DEMONSTRATIONS.json [--lerobot FOLDER_OR_ZIP] [--robomimic FILE.hdf5]

A LeRobot .zip (as the page downloads it) holds the dataset's folder at its top.
"""

import argparse
import json
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

OBS_DIM = 24
ACTION_DIM = 4


def load_source(path):
    source = json.loads(Path(path).read_text())
    demos = source["demonstrations"]
    assert demos, "the source file has no demonstrations"
    for d in demos:
        assert d.get("states") is not None, "the source file must carry states (amf collect without --no-states)"
    return demos


def check_lerobot(root, demos):
    root = Path(root)
    if root.suffix == ".zip":
        with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(root) as archive:
            archive.extractall(folder)
            (top,) = Path(folder).iterdir()
            return check_lerobot(top, demos)
    info = json.loads((root / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0", info["codebase_version"]
    assert info["fps"] == 20
    assert info["total_episodes"] == len(demos)
    total_frames = sum(len(d["actions"]) for d in demos)
    assert info["total_frames"] == total_frames
    features = info["features"]
    assert features["observation.state"]["shape"] == [OBS_DIM]
    assert len(features["observation.state"]["names"]) == OBS_DIM
    assert features["action"]["shape"] == [ACTION_DIM]

    # Frames: every data file the template can name, read as one table.
    files = sorted(root.glob("data/chunk-*/file-*.parquet"))
    assert files, "no data files"
    frames = pa.concat_tables([pq.read_table(f) for f in files])
    assert frames.num_rows == total_frames
    assert set(frames.column_names) == set(features), (frames.column_names, list(features))
    state_type = frames.schema.field("observation.state").type
    assert pa.types.is_fixed_size_list(state_type) and state_type.list_size == OBS_DIM, state_type
    assert frames.schema.field("action").type.list_size == ACTION_DIM
    states = np.asarray(frames.column("observation.state").combine_chunks().flatten()).reshape(-1, OBS_DIM)
    actions = np.asarray(frames.column("action").combine_chunks().flatten()).reshape(-1, ACTION_DIM)
    assert np.array_equal(np.asarray(frames.column("index")), np.arange(total_frames))

    # Tasks: pandas restores the table indexed by the task's text, as LeRobot reads it.
    tasks = pd.read_parquet(root / "meta/tasks.parquet")
    assert tasks.index.name == "task", tasks.index.name
    assert list(tasks["task_index"]) == list(range(len(tasks)))
    assert info["total_tasks"] == len(tasks)

    episodes = pd.concat([pd.read_parquet(f) for f in sorted(root.glob("meta/episodes/chunk-*/file-*.parquet"))])
    assert len(episodes) == len(demos)
    episode_of = frames.column("episode_index").to_numpy()
    frame_index = frames.column("frame_index").to_numpy()
    task_index = frames.column("task_index").to_numpy()
    for i, (demo, (_, row)) in enumerate(zip(demos, episodes.iterrows())):
        start, stop = int(row["dataset_from_index"]), int(row["dataset_to_index"])
        n = len(demo["actions"])
        assert stop - start == n == row["length"], (i, start, stop, n)
        assert row["task_name"] == demo["task"]
        assert (episode_of[start:stop] == i).all()
        assert (frame_index[start:stop] == np.arange(n)).all()
        assert (task_index[start:stop] == tasks.loc[row["tasks"][0], "task_index"]).all()
        path = root / info["data_path"].format(chunk_index=row["data/chunk_index"], file_index=row["data/file_index"])
        assert path.exists(), path
        assert np.array_equal(actions[start:stop], np.asarray(demo["actions"], dtype=np.float32)), f"episode {i}: actions differ"
        assert np.array_equal(states[start:stop], np.asarray(demo["states"], dtype=np.float32)), f"episode {i}: states differ"
        done = frames.column("next.done").to_numpy(zero_copy_only=False)[start:stop]
        assert done[-1] and not done[:-1].any()

    stats = json.loads((root / "meta/stats.json").read_text())
    assert len(stats["observation.state"]["mean"]) == OBS_DIM
    assert np.allclose(stats["action"]["mean"], actions.mean(axis=0), atol=1e-5)
    assert stats["action"]["count"] == [total_frames]
    print(f"LeRobot v3: {len(demos)} episodes, {total_frames} frames, {len(tasks)} tasks, {len(files)} data file(s): read by pyarrow {pa.__version__} and pandas {pd.__version__}, values match")


def check_robomimic(path, demos):
    with h5py.File(path, "r") as f:
        data = f["data"]
        total_frames = sum(len(d["actions"]) for d in demos)
        assert data.attrs["total"] == total_frames
        env = json.loads(data.attrs["env_args"])
        assert env["env_kwargs"]["control_freq"] == 20
        names = sorted(data.keys(), key=lambda k: int(k.split("_")[1]))
        assert names == [f"demo_{i}" for i in range(len(demos))], names
        for i, demo in enumerate(demos):
            g = data[f"demo_{i}"]
            n = len(demo["actions"])
            assert g.attrs["num_samples"] == n
            assert g.attrs["task"] == demo["task"]
            assert g["actions"].shape == (n, ACTION_DIM)
            assert g["states"].shape == (n, OBS_DIM)
            assert g["rewards"].shape == (n,) and g["dones"].shape == (n,)
            assert np.array_equal(g["actions"][()], np.asarray(demo["actions"], dtype=np.float32))
            assert np.array_equal(g["states"][()], np.asarray(demo["states"], dtype=np.float32))
            widths = {"tcp_pos": 3, "finger_gap": 1, "object_pos": 3, "object_quat": 4, "goal_pos": 3, "task_one_hot": 10}
            for key, width in widths.items():
                assert g["obs"][key].shape == (n, width), (key, g["obs"][key].shape)
                assert g["next_obs"][key].shape == (n, width)
            assert np.array_equal(g["next_obs/tcp_pos"][: n - 1], g["obs/tcp_pos"][1:])
            assert g["dones"][-1] == 1 and g["dones"][:-1].sum() == 0
            assert bool(g.attrs["success"]) == (g["rewards"][-1] == 1.0) == demo["success"]
        masks = {k: [e.decode("utf-8") for e in f[f"mask/{k}"][()]] for k in f["mask"]}
        assert sorted(masks["train"] + masks.get("valid", []), key=lambda k: int(k.split("_")[1])) == names
    print(f"robomimic: {len(demos)} demos, {total_frames} samples, masks {sorted(masks)}: read by h5py {h5py.__version__}, values match")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("--lerobot")
    parser.add_argument("--robomimic")
    args = parser.parse_args()
    demos = load_source(args.source)
    if args.lerobot:
        check_lerobot(args.lerobot, demos)
    if args.robomimic:
        check_robomimic(args.robomimic, demos)
