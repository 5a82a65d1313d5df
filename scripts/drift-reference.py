#!/usr/bin/python3
"""Evidently's DataDriftPreset rules written plainly on numpy and scipy, the reference the drift
engine's tests compare with: reads two CSV tables and prints each common column's test, score
and drift as JSON (../shared/drift-tests.md is the spec).

Usage: drift-reference.py REFERENCE.csv CURRENT.csv [--exclude a,b] [--columns a,b]

A column is numerical when every non-empty cell of both tables reads as a number, else
categorical; an empty cell is a missing value (as pandas reads a CSV), and NaN and +-inf are
dropped before testing, as Evidently does. Needs numpy and scipy (Debian's python3-scipy).
"""

import csv
import json
import math
import sys

import numpy as np
from scipy import stats
from scipy.spatial import distance

THRESHOLDS = {"ks": 0.05, "chi-square": 0.05, "z": 0.05, "wasserstein": 0.1, "jensen-shannon": 0.1}
DRIFT_SHARE = 0.5


def read_table(path):
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        columns = {name: [] for name in header}
        for row in reader:
            for name, cell in zip(header, row):
                columns[name].append(cell)
    return header, columns


def as_number(cell):
    try:
        return float(cell)
    except ValueError:
        return None


def is_numeric(cells):
    return all(cell == "" or as_number(cell) is not None for cell in cells)


def finite_values(cells):
    values = np.array([float(c) for c in cells if c != ""], dtype=float)
    return values[np.isfinite(values)]


def default_test(kind, reference_rows, unique):
    if reference_rows <= 1000:
        if kind == "num" and unique > 5:
            return "ks"
        return "chi-square" if unique > 2 else "z"
    if kind == "num" and unique > 5:
        return "wasserstein"
    return "jensen-shannon"


def counts_over_union(reference, current):
    keys = sorted(set(reference) | set(current))
    ref_counts = {}
    cur_counts = {}
    for v in reference:
        ref_counts[v] = ref_counts.get(v, 0) + 1
    for v in current:
        cur_counts[v] = cur_counts.get(v, 0) + 1
    return (
        keys,
        np.array([ref_counts.get(k, 0) for k in keys], dtype=float),
        np.array([cur_counts.get(k, 0) for k in keys], dtype=float),
    )


def run_test(test, kind, reference, current):
    """(score, statistic) as Evidently computes them."""
    if test == "ks":
        result = stats.ks_2samp(reference, current)
        return result.pvalue, result.statistic
    if test == "wasserstein":
        w1 = stats.wasserstein_distance(reference, current)
        return w1 / max(np.std(reference), 0.001), w1
    if test == "z":
        if len(set(reference)) == 1 and len(set(current)) == 1 and set(reference) == set(current):
            return 1.0, 0.0
        smallest = sorted(set(reference) | set(current))[0]
        n1, n2 = len(reference), len(current)
        p1 = sum(0 if x == smallest else 1 for x in reference) / n1
        p2 = sum(0 if x == smallest else 1 for x in current) / n2
        pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
        z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        return 2 * stats.norm.sf(abs(z)), z
    if test == "chi-square":
        _, ref_counts, cur_counts = counts_over_union(reference, current)
        expected = ref_counts * (len(current) / len(reference))
        with np.errstate(divide="ignore", invalid="ignore"):
            result = stats.chisquare(cur_counts, expected)
        return result.pvalue, result.statistic
    # Jensen-Shannon, Evidently's get_binned_data without filling zeroes, natural log
    if kind == "num" and len(np.unique(reference)) > 20:
        edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
        p = np.histogram(reference, edges)[0] / len(reference)
        q = np.histogram(current, edges)[0] / len(current)
    else:
        _, ref_counts, cur_counts = counts_over_union(reference, current)
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


def number(x):
    x = float(x)
    return x if math.isfinite(x) else str(x)


def main(argv):
    paths = [a for a in argv if not a.startswith("--")]
    options = dict(a[2:].split("=", 1) for a in argv if a.startswith("--"))
    if len(paths) != 2:
        sys.exit(__doc__)
    exclude = set(filter(None, options.get("exclude", "").split(",")))
    ref_header, reference = read_table(paths[0])
    _, current = read_table(paths[1])
    wanted = options.get("columns")
    names = wanted.split(",") if wanted else [n for n in ref_header if n in current]
    results = []
    for name in names:
        if name in exclude:
            continue
        ref_cells, cur_cells = reference[name], current[name]
        if is_numeric(ref_cells) and is_numeric(cur_cells):
            kind = "num"
            ref = finite_values(ref_cells)
            cur = finite_values(cur_cells)
            unique = len(np.unique(np.concatenate([ref, cur])))
        else:
            kind = "cat"
            ref = [c for c in ref_cells if c != ""]
            cur = [c for c in cur_cells if c != ""]
            unique = len(set(ref) | set(cur))
        row = {"column": name, "type": kind, "referenceRows": len(ref), "currentRows": len(cur)}
        if len(ref) == 0 or len(cur) == 0:
            row.update(test=None, score=None, statistic=None, drift=False)
        else:
            test = default_test(kind, len(ref), unique)
            score, statistic = run_test(test, kind, ref, cur)
            row.update(
                test=test,
                score=number(score),
                statistic=number(statistic),
                threshold=THRESHOLDS[test],
                drift=is_drift(test, score, THRESHOLDS[test]),
            )
        results.append(row)
    tested = [r for r in results if r["test"] is not None]
    drifted = sum(1 for r in tested if r["drift"])
    share = drifted / len(tested) if tested else 0
    dataset = {
        "drift": bool(tested) and share >= DRIFT_SHARE,
        "share": share,
        "drifted": drifted,
        "columns": len(tested),
        "threshold": DRIFT_SHARE,
    }
    json.dump({"dataset": dataset, "columns": results}, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
