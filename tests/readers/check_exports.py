"""Reads AMF Studio's LeRobot v3 and robomimic exports with the field's own readers
(pyarrow and pandas for Parquet, h5py for HDF5) and checks them against the
demonstration file they were converted from: layout, shapes, episode counts, and every
action and state value.

usage: check_exports.py DEMONSTRATIONS.json... [--lerobot FOLDER_OR_ZIP] [--robomimic FILE.hdf5]

Several demonstration files are read as one, in order (a LeRobot dataset exported from
the first and appended to from the others). A LeRobot .zip (as the page downloads it)
holds the dataset's folder at its top. The LeRobot check recomputes each episode's
statistics (LeRobot's quantiles included) from the frames.
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

NUM_TASKS = 16  # task suites 2 and 3
OBS_DIM = 17 + NUM_TASKS  # the observation: 17 numbers, then the task's one-hot
ACTION_DIM = 4


def load_source(path):
    source = json.loads(Path(path).read_text())
    demos = source["demonstrations"]
    assert demos, "the source file has no demonstrations"
    for d in demos:
        assert d.get("states") is not None, "the source file must carry states (amf collect without --no-states)"
    return demos


ROBOT_DIM = 7  # the gripper's position, opening and velocity: LeRobot's observation.state
QUANTILES = [(0.01, "q01"), (0.10, "q10"), (0.50, "q50"), (0.90, "q90"), (0.99, "q99")]
STAT_KEYS = ["min", "max", "mean", "std", "count"] + [k for _, k in QUANTILES]


def histogram_quantiles(x):
    """LeRobot's quantiles: from a 5,000-bin histogram over [min - 1e-10, max + 1e-10],
    interpolated in the bin where the cumulative count reaches q * n."""
    n = len(x)
    if n == 1:
        return {key: float(x[0]) for _, key in QUANTILES}
    counts, edges = np.histogram(x, bins=5000, range=(x.min() - 1e-10, x.max() + 1e-10))
    cumulative = np.cumsum(counts).astype(np.float64)
    out = {}
    for q, key in QUANTILES:
        target = q * n
        i = int(np.searchsorted(cumulative, target, side="left"))
        if i == 0:
            out[key] = edges[0]
        elif i >= len(counts):
            out[key] = edges[-1]
        else:
            out[key] = edges[i] + (target - cumulative[i - 1]) / counts[i] * (edges[i + 1] - edges[i])
    return out


def recomputed_stats(values):
    """An episode's statistics of one feature, from its frames (rows x components)."""
    values = values.astype(np.float64).reshape(len(values), -1)
    stats = {"min": values.min(0), "max": values.max(0), "mean": values.mean(0), "std": values.std(0), "count": np.array([len(values)])}
    per_component = [histogram_quantiles(values[:, k]) for k in range(values.shape[1])]
    for _, key in QUANTILES:
        stats[key] = np.array([c[key] for c in per_component])
    return stats


def aggregated(parts):
    """LeRobot 0.6.1's aggregation of episodes' statistics (aggregate_feature_stats):
    quantiles are the count-weighted mean of the parts'."""
    counts = np.array([p["count"][0] for p in parts], dtype=np.float64)
    means = np.stack([p["mean"] for p in parts])
    total = counts.sum()
    mean = (means * counts[:, None]).sum(0) / total
    variance = ((np.stack([p["std"] for p in parts]) ** 2 + (means - mean) ** 2) * counts[:, None]).sum(0) / total
    out = {"min": np.stack([p["min"] for p in parts]).min(0), "max": np.stack([p["max"] for p in parts]).max(0), "mean": mean, "std": np.sqrt(variance), "count": [int(total)]}
    for _, key in QUANTILES:
        out[key] = (np.stack([p[key] for p in parts]) * counts[:, None]).sum(0) / total
    return out


def column_values(frames, name, start=0, stop=None):
    column = frames.column(name).combine_chunks()
    if pa.types.is_fixed_size_list(column.type):
        return np.asarray(column.flatten()).reshape(-1, column.type.list_size)[start:stop]
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)[start:stop]


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
    # The robot's own state apart from the environment's, each component named.
    assert features["observation.state"]["shape"] == [ROBOT_DIM]
    assert features["observation.state"]["names"] == ["tcp.x", "tcp.y", "tcp.z", "finger_gap", "tcp.vx", "tcp.vy", "tcp.vz"]
    assert features["observation.environment_state"]["shape"] == [OBS_DIM - ROBOT_DIM]
    assert len(features["observation.environment_state"]["names"]) == OBS_DIM - ROBOT_DIM
    assert features["action"]["shape"] == [ACTION_DIM]

    # Frames: every data file the template can name, read as one table.
    files = sorted(root.glob("data/chunk-*/file-*.parquet"))
    assert files, "no data files"
    frames = pa.concat_tables([pq.read_table(f) for f in files])
    assert frames.num_rows == total_frames
    assert set(frames.column_names) == set(features), (frames.column_names, list(features))
    state_type = frames.schema.field("observation.state").type
    assert pa.types.is_fixed_size_list(state_type) and state_type.list_size == ROBOT_DIM, state_type
    assert frames.schema.field("action").type.list_size == ACTION_DIM
    states = np.concatenate([column_values(frames, "observation.state"), column_values(frames, "observation.environment_state")], axis=1)
    actions = column_values(frames, "action")
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
    episode_stats = []
    for i, (demo, (_, row)) in enumerate(zip(demos, episodes.iterrows())):
        start, stop = int(row["dataset_from_index"]), int(row["dataset_to_index"])
        n = len(demo["actions"])
        assert row["episode_index"] == i
        assert stop - start == n == row["length"], (i, start, stop, n)
        assert row["task_name"] == demo["task"]
        # Each episode's quality, measured on the export's replay.
        assert row["quality/version"] >= 1 and 0.0 <= row["quality/score"] <= 1.0, (i, row["quality/score"])
        assert 0.0 <= row["quality/idle_share"] <= 1.0 and row["quality/extra_grasps"] >= 0
        # A file's episodes name no contributor (a service's export names its ids).
        assert pd.isna(row["contributor"]), (i, row["contributor"])
        assert (episode_of[start:stop] == i).all()
        assert (frame_index[start:stop] == np.arange(n)).all()
        assert (task_index[start:stop] == tasks.loc[row["tasks"][0], "task_index"]).all()
        path = root / info["data_path"].format(chunk_index=row["data/chunk_index"], file_index=row["data/file_index"])
        assert path.exists(), path
        assert np.array_equal(actions[start:stop], np.asarray(demo["actions"], dtype=np.float32)), f"episode {i}: actions differ"
        assert np.array_equal(states[start:stop], np.asarray(demo["states"], dtype=np.float32)), f"episode {i}: states differ"
        done = frames.column("next.done").to_numpy(zero_copy_only=False)[start:stop]
        assert done[-1] and not done[:-1].any()
        # Each episode's statistics, against the ones recomputed from its frames.
        stats = {}
        for name in features:
            expected = recomputed_stats(column_values(frames, name, start, stop))
            stats[name] = {key: np.asarray(row[f"stats/{name}/{key}"]) for key in STAT_KEYS}
            width = expected["max"] - expected["min"]
            for key in STAT_KEYS:
                got, want = stats[name][key], np.asarray(expected[key], dtype=np.float64)
                # Quantiles within one histogram bin (a value on a bin's edge may fall
                # either side); the rest to rounding.
                tolerance = width / 5000 * 1.01 + 1e-9 if key.startswith("q") else 1e-9 + 1e-9 * np.abs(want)
                assert got.shape == want.shape and (np.abs(got - want) <= tolerance).all(), (i, name, key, got, want)
        episode_stats.append(stats)

    # The dataset's statistics: LeRobot's aggregation of the episodes', and the same
    # moments as all frames taken together.
    stats = json.loads((root / "meta/stats.json").read_text())
    for name in features:
        want = aggregated([e[name] for e in episode_stats])
        for key in STAT_KEYS:
            assert np.allclose(stats[name][key], want[key], rtol=1e-9, atol=1e-9), (name, key)
        values = column_values(frames, name).astype(np.float64).reshape(total_frames, -1)
        assert np.allclose(stats[name]["mean"], values.mean(0), atol=1e-6) and np.allclose(stats[name]["std"], values.std(0), atol=1e-6), name
        assert stats[name]["count"] == [total_frames]
        q = np.array([stats[name][key] for _, key in QUANTILES])
        assert (np.diff(q, axis=0) >= 0).all(), f"{name}: quantiles out of order"
    print(f"LeRobot v3: {len(demos)} episodes, {total_frames} frames, {len(tasks)} tasks, {len(files)} data file(s): read by pyarrow {pa.__version__} and pandas {pd.__version__}; values, each episode's statistics and quantiles match")


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
            widths = {"tcp_pos": 3, "finger_gap": 1, "tcp_vel": 3, "object_pos": 3, "object_quat": 4, "goal_pos": 3, "task_one_hot": NUM_TASKS, "object": OBS_DIM - ROBOT_DIM}
            for key, width in widths.items():
                assert g["obs"][key].shape == (n, width), (key, g["obs"][key].shape)
                assert g["next_obs"][key].shape == (n, width)
            # The robot's keys then the environment's rebuild the state; `object` is the
            # environment's whole.
            keys = env["env_kwargs"]["robot_state_keys"] + env["env_kwargs"]["environment_state_keys"]
            assert np.array_equal(np.concatenate([g["obs"][k][()] for k in keys], axis=1), g["states"][()])
            assert np.array_equal(g["obs/object"][()], g["states"][()][:, ROBOT_DIM:])
            assert np.array_equal(g["next_obs/tcp_pos"][: n - 1], g["obs/tcp_pos"][1:])
            assert g["dones"][-1] == 1 and g["dones"][:-1].sum() == 0
            assert bool(g.attrs["success"]) == (g["rewards"][-1] == 1.0) == demo["success"]
        masks = {k: [e.decode("utf-8") for e in f[f"mask/{k}"][()]] for k in f["mask"]}
        assert sorted(masks["train"] + masks.get("valid", []), key=lambda k: int(k.split("_")[1])) == names
    print(f"robomimic: {len(demos)} demos, {total_frames} samples, masks {sorted(masks)}: read by h5py {h5py.__version__}, values match")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+")
    parser.add_argument("--lerobot")
    parser.add_argument("--robomimic")
    args = parser.parse_args()
    demos = [d for source in args.sources for d in load_source(source)]
    if args.lerobot:
        check_lerobot(args.lerobot, demos)
    if args.robomimic:
        check_robomimic(args.robomimic, demos)
