#!/usr/bin/python3
"""Writes test/monitoring/fixtures/stattests.json: the drift tests' statistics and p-values and the
special functions behind them, as scipy computes them (run with Debian's /usr/bin/python3, which has
python3-numpy and python3-scipy). Deterministic: the same scipy gives the same values, which the
tests check by running this script again when scipy is present. After regenerating, lay the file
out with `npx biome format --write test/monitoring/fixtures/stattests.json`.

Samples are either listed inline or, when large, described by a generator that the TypeScript
tests replay exactly: a 32-bit linear congruential generator (Numerical Recipes' constants)
whose uniforms u = (state + 0.5) / 2^32 are mapped with +, -, * and / only, so that both
languages produce the same doubles.

Usage: /usr/bin/python3 scripts/drift-fixtures.py [--out PATH]
"""

import argparse
import json
import math
import os
import sys
import warnings

import numpy as np
import scipy
from scipy import special, stats
from scipy.spatial import distance
from scipy.stats._stats_py import _attempt_exact_2kssamp

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "test", "monitoring", "fixtures", "stattests.json")


def lcg_uniforms(seed, n):
    """The generator's first n uniforms, computed a block at a time (state' = a·state + c mod 2^32)."""
    a, c, mod = 1664525, 1013904223, 2**32
    block = 4096
    first = []
    state = seed % mod
    for _ in range(min(n, block)):
        state = (a * state + c) % mod
        first.append(state)
    states = [np.array(first, dtype=np.uint64)]
    # Jumping `block` steps at once: state_{k+block} = A·state_k + C (mod 2^32).
    jump_a, jump_c = 1, 0
    for _ in range(block):
        jump_a, jump_c = (a * jump_a) % mod, (a * jump_c + c) % mod
    done = len(first)
    while done < n:
        previous = states[-1]
        states.append((previous * np.uint64(jump_a) + np.uint64(jump_c)) % np.uint64(mod))
        done += len(previous)
    all_states = np.concatenate(states)[:n]
    return (all_states.astype(np.float64) + 0.5) / 4294967296.0


def generate(spec):
    """Replays a generator spec (the TypeScript tests implement the same mapping)."""
    kind = spec["kind"]
    n = spec["n"]
    if kind == "normal":
        u = lcg_uniforms(spec["seed"], 12 * n).reshape(n, 12)
        total = np.zeros(n)
        for k in range(12):
            total = total + u[:, k]
        values = spec["mean"] + spec["sd"] * (total - 6.0)
    else:
        u = lcg_uniforms(spec["seed"], n)
        if kind == "uniform":
            values = spec["low"] + (spec["high"] - spec["low"]) * u
        elif kind == "integer":
            values = np.floor(spec["low"] + (spec["high"] - spec["low"] + 1) * u)
        elif kind == "skewed":
            values = spec["low"] + spec["scale"] * (u * u * u)
        else:
            raise ValueError(kind)
    return np.sort(np.array(values, dtype=np.float64))


def sample(spec_or_values):
    if isinstance(spec_or_values, dict):
        return generate(spec_or_values), spec_or_values
    values = np.sort(np.array(spec_or_values, dtype=np.float64))
    return values, {"values": [float(v) for v in values]}


def num(x):
    """JSON has no infinities or NaN: they travel as strings."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def rounded(rng_values, digits=4):
    return [round(float(v), digits) for v in rng_values]


def ks_cases():
    rng = np.random.default_rng(20240612)
    cases = []

    def add(name, ref, cur):
        r, rspec = sample(ref)
        c, cspec = sample(cur)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = stats.ks_2samp(r, c)
        fell_back = any("Exact calculation unsuccessful" in str(w.message) for w in caught)
        method = "asymp" if max(len(r), len(c)) > 10000 or fell_back else "exact"
        cases.append({
            "name": name, "reference": rspec, "current": cspec,
            "statistic": num(res.statistic), "pValue": num(res.pvalue), "method": method,
        })

    add("one value each, equal", [1.5], [1.5])
    add("one value each, different", [1.0], [2.0])
    add("2 vs 3", [0.1, 0.7], [0.2, 0.3, 0.9])
    add("5 vs 5, D = 1/5 falls back to asymp as scipy does", [1, 2, 3, 4, 5], [1.5, 2, 3, 4, 5])
    add("7 vs 7, D = 1/7 falls back", [1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7.5])
    add("30 vs 30 disjoint, D = 1", rounded(rng.normal(0, 1, 30)), rounded(rng.normal(10, 1, 30)))
    add("30 vs 20 disjoint, D = 1", rounded(rng.normal(0, 1, 30)), rounded(rng.normal(10, 1, 20)))
    add("identical samples, D = 0", [0.5, 1, 1, 2, 3, 3, 3, 8], [0.5, 1, 1, 2, 3, 3, 3, 8])
    add("ties: integers 0..5, 50 vs 40", [float(v) for v in rng.integers(0, 6, 50)],
        [float(v) for v in rng.integers(0, 6, 40)])
    add("ties shared across sides, 200 vs 100", [float(v) for v in rng.integers(0, 4, 200)],
        [float(v) for v in rng.integers(1, 5, 100)])
    add("100 vs 100, small shift", rounded(rng.normal(0, 1, 100)), rounded(rng.normal(0.1, 1, 100)))
    add("100 vs 37, shifted", rounded(rng.normal(0, 1, 100)), rounded(rng.normal(0.5, 1, 37)))
    add("1000 vs 100, same distribution", rounded(rng.normal(5, 2, 1000)), rounded(rng.normal(5, 2, 100)))
    add("10000 vs 100, same distribution",
        {"kind": "normal", "seed": 11, "n": 10000, "mean": 0.0, "sd": 1.0},
        {"kind": "normal", "seed": 12, "n": 100, "mean": 0.0, "sd": 1.0})
    add("10000 vs 100, shifted by 0.3 sd",
        {"kind": "normal", "seed": 13, "n": 10000, "mean": 0.0, "sd": 1.0},
        {"kind": "normal", "seed": 14, "n": 100, "mean": 0.3, "sd": 1.0})
    add("10000 vs 100, ties (integers 0..9)",
        {"kind": "integer", "seed": 15, "n": 10000, "low": 0, "high": 9},
        {"kind": "integer", "seed": 16, "n": 100, "low": 0, "high": 9})
    add("10000 vs 10000, same distribution",
        {"kind": "uniform", "seed": 17, "n": 10000, "low": 0.0, "high": 1.0},
        {"kind": "uniform", "seed": 18, "n": 10000, "low": 0.0, "high": 1.0})
    add("10000 vs 10000, D near 1",
        {"kind": "uniform", "seed": 19, "n": 10000, "low": 0.0, "high": 1.0},
        {"kind": "uniform", "seed": 20, "n": 10000, "low": 0.97, "high": 1.97})
    add("3000 vs 2999, skewed vs uniform",
        {"kind": "skewed", "seed": 21, "n": 3000, "low": 0.0, "scale": 1.0},
        {"kind": "uniform", "seed": 22, "n": 2999, "low": 0.0, "high": 1.0})
    add("10000 vs 9999, small shift",
        {"kind": "normal", "seed": 23, "n": 10000, "mean": 0.0, "sd": 1.0},
        {"kind": "normal", "seed": 24, "n": 9999, "mean": 0.05, "sd": 1.0})
    add("asymp: 10001 vs 100",
        {"kind": "normal", "seed": 25, "n": 10001, "mean": 0.0, "sd": 1.0},
        {"kind": "normal", "seed": 26, "n": 100, "mean": 0.2, "sd": 1.0})
    add("asymp: 200000 vs 100, same distribution",
        {"kind": "normal", "seed": 27, "n": 200000, "mean": 100.0, "sd": 15.0},
        {"kind": "normal", "seed": 28, "n": 100, "mean": 100.0, "sd": 15.0})
    add("asymp: 200000 vs 100, shifted",
        {"kind": "normal", "seed": 29, "n": 200000, "mean": 100.0, "sd": 15.0},
        {"kind": "normal", "seed": 30, "n": 100, "mean": 110.0, "sd": 15.0})
    add("asymp: 200000 vs 100, disjoint (D = 1)",
        {"kind": "uniform", "seed": 31, "n": 200000, "low": 0.0, "high": 1.0},
        {"kind": "uniform", "seed": 32, "n": 100, "low": 2.0, "high": 3.0})
    add("asymp: 20001 vs 20001 (n = 10000.5 rounds half to even)",
        {"kind": "normal", "seed": 33, "n": 20001, "mean": 0.0, "sd": 1.0},
        {"kind": "normal", "seed": 34, "n": 20001, "mean": 0.02, "sd": 1.0})
    add("asymp: 12000 vs 11000, large D",
        {"kind": "uniform", "seed": 35, "n": 12000, "low": 0.0, "high": 1.0},
        {"kind": "skewed", "seed": 36, "n": 11000, "low": 0.0, "scale": 1.0})
    return cases


def ks_exact_grid():
    rows = []
    for n1, n2 in [(1, 1), (3, 5), (10, 10), (100, 100), (100, 37), (1000, 999), (10000, 100),
                   (10000, 10000), (10000, 9999), (5000, 64)]:
        g = math.gcd(n1, n2)
        lcm = (n1 // g) * n2
        if lcm > 10**7:  # 10000 vs 9999: each large h costs scipy ~0.6 s, keep one
            hs = [1, 2, 3, lcm // 2]
        else:
            hs = sorted({1, 2, 3, max(1, lcm // 100), lcm // 20, lcm // 7, lcm // 3, lcm // 2,
                         lcm - 1, lcm})
        for h in hs:
            if 1 <= h <= lcm:
                d = h / lcm
                ok, dd, p = _attempt_exact_2kssamp(n1, n2, g, d, "two-sided")
                rows.append([num(d), n1, n2, num(dd), num(p) if ok else None])
    return rows


def chi_square_cases():
    rng = np.random.default_rng(7)
    cases = []

    def add(name, ref, cur):
        ref = [float(x) for x in ref]
        cur = [float(x) for x in cur]
        k_norm = sum(cur) / sum(ref)
        observed = cur
        expected = [r * k_norm for r in ref]
        with np.errstate(divide="ignore", invalid="ignore"):
            res = stats.chisquare(observed, expected)
        cases.append({"name": name, "reference": ref, "current": cur,
                      "statistic": num(res.statistic), "pValue": num(res.pvalue)})

    add("three categories, no drift", [300, 200, 100], [52, 31, 17])
    add("three categories, drift", [300, 200, 100], [20, 30, 50])
    add("category absent from current", [500, 300, 150, 50], [60, 40, 0, 0])
    add("current-only category: statistic inf, p 0", [400, 300, 300, 0], [30, 30, 39, 1])
    add("p-value far in the tail", [1000, 1000, 1000], [100, 0, 0])
    add("twenty categories", rng.integers(1, 200, 20), rng.integers(0, 20, 20))
    add("200 categories", rng.integers(1, 50, 200), rng.integers(0, 10, 200))
    add("1000 categories (df 999)", rng.integers(1, 5, 1000), rng.integers(0, 3, 1000))
    return cases


def z_cases():
    cases = []

    def add(name, ref_ones, ref_rows, cur_ones, cur_rows):
        # Evidently's proportions_diff_z_stat_ind, with scipy's survival function for the tail.
        n1, n2 = ref_rows, cur_rows
        p1 = float(ref_ones) / n1
        p2 = float(cur_ones) / n2
        P = float(p1 * n1 + p2 * n2) / (n1 + n2)
        z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
        p = 2 * stats.norm.sf(np.abs(z))
        evidently = 2 * (1 - stats.norm.cdf(np.abs(z)))
        cases.append({"name": name, "referenceOnes": ref_ones, "referenceRows": ref_rows,
                      "currentOnes": cur_ones, "currentRows": cur_rows, "statistic": num(z),
                      "pValue": num(p), "evidentlyPValue": num(evidently)})

    add("same share", 300, 1000, 30, 100)
    add("small difference", 300, 1000, 35, 100)
    add("clear drift", 300, 1000, 60, 100)
    add("current all ones", 500, 1000, 100, 100)
    add("reference all zeros, current all ones: extreme p", 0, 1000, 100, 100)
    add("p below 1e-16 (Evidently rounds it to 0)", 100, 1000, 60, 100)
    add("huge counts", 4000000, 10000000, 41000, 100000)
    add("one row each, different", 0, 1, 1, 1)
    return cases


def wasserstein_cases():
    rng = np.random.default_rng(99)
    cases = []

    def add(name, ref, cur):
        r, rspec = sample(ref)
        c, cspec = sample(cur)
        w = stats.wasserstein_distance(r, c)
        norm = max(np.std(r), 0.001)
        cases.append({"name": name, "reference": rspec, "current": cspec,
                      "distance": num(w), "std": num(np.std(r)), "normed": num(w / norm)})

    add("one value each", [1.0], [3.5])
    add("identical", [1, 2, 2, 3, 7], [1, 2, 2, 3, 7])
    add("small samples", rounded(rng.normal(0, 1, 10)), rounded(rng.normal(0.5, 2, 7)))
    add("ties on both sides", [0, 0, 1, 1, 1, 2, 5, 5], [1, 1, 2, 2, 5, 6])
    add("constant reference (std 0 → 0.001)", [4.0] * 50, [4.0, 4.0, 4.5, 5.0])
    add("constant reference equal to current", [4.0] * 50, [4.0] * 3)
    add("current entirely below", rounded(rng.uniform(10, 20, 300)), rounded(rng.uniform(0, 1, 30)))
    add("current entirely above", rounded(rng.uniform(10, 20, 300)), rounded(rng.uniform(30, 31, 30)))
    add("current inside, wider reference", rounded(rng.normal(0, 3, 500)), rounded(rng.normal(0, 0.5, 40)))
    add("large offset values (1e6 + small spread)", [1e6 + v for v in rounded(rng.normal(0, 1, 400))],
        [1e6 + v for v in rounded(rng.normal(0.2, 1, 60))])
    add("1000 vs 100 integers (ties)", [float(v) for v in rng.integers(0, 30, 1000)],
        [float(v) for v in rng.integers(0, 30, 100)])
    add("10000 vs 100, same distribution",
        {"kind": "normal", "seed": 41, "n": 10000, "mean": 0.0, "sd": 1.0},
        {"kind": "normal", "seed": 42, "n": 100, "mean": 0.0, "sd": 1.0})
    add("200000 vs 100, shifted",
        {"kind": "normal", "seed": 43, "n": 200000, "mean": 120.0, "sd": 25.0},
        {"kind": "normal", "seed": 44, "n": 100, "mean": 125.0, "sd": 25.0})
    add("200000 vs 100, skewed vs uniform",
        {"kind": "skewed", "seed": 45, "n": 200000, "low": -3.0, "scale": 7.0},
        {"kind": "uniform", "seed": 46, "n": 100, "low": -3.0, "high": 4.0})
    add("20000 vs 500, integers (ties)",
        {"kind": "integer", "seed": 47, "n": 20000, "low": 0, "high": 12},
        {"kind": "integer", "seed": 48, "n": 500, "low": 1, "high": 13})
    return cases


def js_cases():
    rng = np.random.default_rng(5)
    cases = []

    def add(name, ref, cur):
        ref = [float(x) for x in ref]
        cur = [float(x) for x in cur]
        # Evidently's get_binned_data: shares of the row counts, then scipy's jensenshannon.
        p = np.array(ref) / sum(ref)
        q = np.array(cur) / sum(cur)
        cases.append({"name": name, "reference": ref, "current": cur,
                      "distance": num(distance.jensenshannon(p, q))})

    # The spec's check: "aaabbc" × 200 against "aabbcd" × 100, categories a, b, c, d.
    add("spec check value", [600, 400, 200, 0], [200, 200, 100, 100])
    add("disjoint supports (ln 2 → √ln2)", [10, 5, 0, 0], [0, 0, 3, 9])
    add("current matches reference shares", [200, 100, 50], [40, 20, 10])
    add("two categories", [900, 100], [70, 30])
    add("thirty categories", rng.integers(0, 100, 30), rng.integers(0, 10, 30))
    add("one category with zero reference", [5, 5, 5, 0], [1, 1, 1, 1])
    return cases


def grids():
    normal_z = sorted(set([float(z) for z in np.linspace(-40, 40, 161)] +
                          [0.0, 1e-8, -1e-8, 0.5, 0.999, 1.0, 1.0001, 1.4142, 1.41422, 1.96, 2.5,
                           3.5, 3.53553, 3.5356, 5.0, 8.3, 10.0, 20.0, 26.5, 37.5, 37.6, 38.0, 38.5]))
    normal = [[num(z), num(stats.norm.sf(z)), num(stats.norm.cdf(z))] for z in normal_z]

    chi2 = []
    xs = [float(x) for x in np.geomspace(1e-3, 1e3, 25)]
    for df in range(1, 51):
        for x in xs + [df - 1.0, df + 0.0, df + 2 * math.sqrt(df)]:
            if x > 0:
                chi2.append([num(x), df, num(stats.chi2.sf(x, df))])
    for df in [75, 100, 250, 501, 999, 2000]:
        for x in np.linspace(0.6 * df, 1.6 * df, 11):
            chi2.append([num(x), df, num(stats.chi2.sf(x, df))])
    chi2.append([0.0, 3, num(stats.chi2.sf(0.0, 3))])
    chi2.append(["Infinity", 3, num(stats.chi2.sf(np.inf, 3))])

    kstwo = []
    for n in [1, 2, 3, 5, 10, 31, 64, 100, 139, 140, 141, 300, 1000, 5000, 10000, 100000, 100001]:
        # Above 10,000 scipy's Durbin matrix costs ~0.2 s a value in Python: fewer points there.
        ds = set(float(d) for d in np.geomspace(5e-4, 0.995, 24 if n <= 10000 else 5))
        ds |= {0.5 / n, 0.5 / n * 1.001, 1.0 / n, 1.5 / n, 0.4999, 0.5, 0.75, 1 - 1.0 / n,
               1 - 0.5 / n, 1.0, 0.0}
        ds |= {math.sqrt(0.754693 / n) * 0.999, math.sqrt(0.754693 / n) * 1.001,
               math.sqrt(4.0 / n) * 1.001, math.sqrt(2.2 / n) * 1.001, math.sqrt(18.0 / n),
               (1.4 / n) ** (2 / 3) * 0.999, (1.4 / n) ** (2 / 3) * 1.001}
        for d in sorted(ds):
            if 0 <= d <= 1:
                kstwo.append([num(d), n, num(stats.kstwo.sf(d, n))])

    smirnov = []
    for n in [1, 2, 5, 10, 100, 1000, 1013, 20000]:
        for d in [0.0, 0.3 / n, 1.0 / n, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1 - 1.0 / n, 1.0]:
            if 0 <= d <= 1:
                smirnov.append([n, num(d), num(special.smirnov(n, d))])
    return {"normal": normal, "chi2Sf": chi2, "kstwoSf": kstwo, "smirnovSf": smirnov}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()
    data = {
        "generatedBy": "scripts/drift-fixtures.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        **grids(),
        "ksExact": ks_exact_grid(),
        "ks": ks_cases(),
        "chiSquare": chi_square_cases(),
        "zTest": z_cases(),
        "wasserstein": wasserstein_cases(),
        "jensenShannon": js_cases(),
    }
    text = json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n"
    with open(args.out, "w", encoding="utf8") as f:
        f.write(text)
    print(f"wrote {args.out} ({len(text)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
