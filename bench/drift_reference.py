#!/usr/bin/python3
"""Evidently's DataDriftPreset tests on numpy and scipy, the reference side of `npm run bench:drift`.

Usage: drift_reference.py FOLDER evidently|p-values

Reads FOLDER/columns.json (column names, reference and current rows) and the float64 tables
FOLDER/reference.bin and FOLDER/current.bin (column after column), tests every column as
scripts/drift-reference.py does (../shared/drift-tests.md's rules; "p-values" takes K-S,
chi-square or Z whatever the reference size, as the daily monitor does), vectorized with numpy,
and prints the dataset's and each column's result as JSON, with the seconds spent reading and
testing and the process's peak memory. Needs Debian's python3-numpy and python3-scipy.
"""

import json
import math
import resource
import sys
import time

import numpy as np
from scipy import stats
from scipy.spatial import distance

THRESHOLDS = {"ks": 0.05, "chi-square": 0.05, "z": 0.05, "wasserstein": 0.1, "jensen-shannon": 0.1}
DRIFT_SHARE = 0.5


def peak_resident_mib():
    """VmHWM: getrusage's maxrss would include the parent's, inherited through fork on Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def default_test(reference_rows, unique, choice):
    if reference_rows <= 1000 or choice == "p-values":
        if unique > 5:
            return "ks"
        return "chi-square" if unique > 2 else "z"
    return "wasserstein" if unique > 5 else "jensen-shannon"


def union_counts(reference, current):
    values = np.unique(np.concatenate([reference, current]))
    ref = np.bincount(np.searchsorted(values, reference), minlength=len(values)).astype(float)
    cur = np.bincount(np.searchsorted(values, current), minlength=len(values)).astype(float)
    return ref, cur


def run_test(test, reference, current):
    """(score, statistic) as Evidently computes them."""
    if test == "ks":
        result = stats.ks_2samp(reference, current)
        return result.pvalue, result.statistic
    if test == "wasserstein":
        w1 = stats.wasserstein_distance(reference, current)
        return w1 / max(np.std(reference), 0.001), w1
    if test == "z":
        smallest = min(reference.min(), current.min())
        if reference.min() == reference.max() == current.min() == current.max():
            return 1.0, 0.0
        n1, n2 = len(reference), len(current)
        p1 = np.count_nonzero(reference != smallest) / n1
        p2 = np.count_nonzero(current != smallest) / n2
        pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
        z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        return 2 * stats.norm.sf(abs(z)), z
    if test == "chi-square":
        ref_counts, cur_counts = union_counts(reference, current)
        expected = ref_counts * (len(current) / len(reference))
        with np.errstate(divide="ignore", invalid="ignore"):
            result = stats.chisquare(cur_counts, expected)
        return result.pvalue, result.statistic
    if len(np.unique(reference)) > 20:
        edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
        p = np.histogram(reference, edges)[0] / len(reference)
        q = np.histogram(current, edges)[0] / len(current)
    else:
        ref_counts, cur_counts = union_counts(reference, current)
        p = ref_counts / len(reference)
        q = cur_counts / len(current)
    js = distance.jensenshannon(p, q)
    return js, js


def is_drift(test, score, threshold):
    if test == "ks":
        return bool(score <= threshold)
    if test in ("chi-square", "z"):
        return bool(score < threshold)
    return bool(score >= threshold)


def main(folder, choice):
    started = time.perf_counter()
    with open(f"{folder}/columns.json", encoding="utf-8") as handle:
        layout = json.load(handle)
    names = layout["columns"]
    reference = np.fromfile(f"{folder}/reference.bin", dtype="<f8").reshape(len(names), -1)
    current = np.fromfile(f"{folder}/current.bin", dtype="<f8").reshape(len(names), -1)
    read = time.perf_counter()
    results = []
    for k, name in enumerate(names):
        ref = reference[k][np.isfinite(reference[k])]
        cur = current[k][np.isfinite(current[k])]
        row = {"column": name, "referenceRows": len(ref), "currentRows": len(cur)}
        if len(ref) == 0 or len(cur) == 0:
            row.update(test=None, score=None, drift=False)
        else:
            unique = len(np.unique(np.concatenate([ref, cur])))
            test = default_test(len(ref), unique, choice)
            score, statistic = run_test(test, ref, cur)
            row.update(
                test=test,
                score=float(score),
                statistic=float(statistic),
                drift=is_drift(test, score, THRESHOLDS[test]),
            )
        results.append(row)
    tested = [r for r in results if r["test"] is not None]
    drifted = sum(1 for r in tested if r["drift"])
    share = drifted / len(tested) if tested else 0
    done = time.perf_counter()
    json.dump(
        {
            "dataset": {"drift": bool(tested) and share >= DRIFT_SHARE, "share": share, "drifted": drifted},
            "columns": results,
            "readSeconds": read - started,
            "testSeconds": done - read,
            "peakMiB": peak_resident_mib(),
            "cpuSeconds": cpu_seconds(),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in ("evidently", "p-values"):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
