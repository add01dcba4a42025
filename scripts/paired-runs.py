#!/usr/bin/env python3
"""Paired differences between two `amf experiment` folders run on the same seeds:
NEW minus BASE, per selector, of the final mean success and of the area under the
curve, with 90% bootstrap intervals (2000 resamples, seeded).

Usage: scripts/paired-runs.py BASE_DIR NEW_DIR
Used for settings that change every run (e.g. the round's gradient steps), where the
runner's own paired columns (against uniform, against AMF) do not apply. Also counts,
per selector, the rounds whose batch (as a multiset of tasks) is the same in both, and
the runs whose every batch is."""
import csv
import json
import os
import random
import sys


def curves(folder):
    """Each run's curve, (selector, seed) -> [(demonstrations, mean success)]: from
    runs.json, or from curves.csv where only that was kept (runs.json is not tracked)."""
    if os.path.exists(f"{folder}/runs.json"):
        return {(run["selector"], run["seed"]): [(p["demonstrations"], p["mean_success"]) for p in run["curve"]] for run in json.load(open(f"{folder}/runs.json"))}
    points = {}
    with open(f"{folder}/curves.csv") as rows:
        for row in csv.DictReader(rows):
            points.setdefault((row["selector"], int(row["seed"])), []).append((int(row["demonstrations"]), float(row["mean_success"])))
    return points


def load(folder):
    runs = {}
    for key, curve in curves(folder).items():
        xs = [x for x, _ in curve]
        ys = [y for _, y in curve]
        area = sum((xs[i + 1] - xs[i]) * (ys[i] + ys[i + 1]) / 2 for i in range(len(xs) - 1)) / (xs[-1] - xs[0])
        runs[key] = (ys[-1], area)
    return runs


def bootstrap(values, resamples=2000):
    rng = random.Random(0)
    n = len(values)
    means = sorted(sum(rng.choice(values) for _ in range(n)) / n for _ in range(resamples))
    return sum(values) / n, means[int(0.05 * (resamples - 1))], means[int(0.95 * (resamples - 1))]


def batches(folder):
    return {(run["selector"], run["seed"]): [sorted(r["picks"]) for r in run["rounds"]] for run in json.load(open(f"{folder}/runs.json"))}


def same_choices(base_dir, new_dir):
    if not all(os.path.exists(f"{d}/runs.json") for d in (base_dir, new_dir)):
        print("(the batches are compared only where both folders keep runs.json)")
        return
    base, new = batches(base_dir), batches(new_dir)
    for selector in sorted({s for s, _ in base}):
        keys = [k for k in base if k[0] == selector and k in new]
        rounds = [(a == b) for k in keys for a, b in zip(base[k], new[k])]
        whole = sum(base[k] == new[k] for k in keys)
        if rounds:
            print(f"{selector:12s} same batch in {sum(rounds)} of {len(rounds)} rounds; every batch the same in {whole} of {len(keys)} runs")


def main():
    base, new = load(sys.argv[1]), load(sys.argv[2])
    for selector in sorted({s for s, _ in base}):
        for index, measure in enumerate(["final", "auc"]):
            paired = [new[k][index] - base[k][index] for k in base if k[0] == selector and k in new]
            if paired:
                mean, lo, hi = bootstrap(paired)
                print(f"{selector:12s} {measure:5s} new - base {mean:+.3f} [{lo:+.3f}, {hi:+.3f}] over {len(paired)} seeds")
    same_choices(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    main()
