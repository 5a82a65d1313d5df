#!/usr/bin/python3
"""scikit-learn's side of `npm run bench:quality`: the seed's pipeline and a tuned random forest,
fitted and scored on the same artist-grouped folds as our model, in the same run.

Usage: quality_reference.py FOLDER

FOLDER/config.json (written by bench/quality.ts):
  data          the tracks CSV (../shared/msd-10k-dev/tracks.csv)
  folds         number of outer folds
  labels        per fold, its label columns (the top genres of its inner training rows)
  featureSets   {name: [column, ...]}
  systems       which to run: "seed", "tuned" (the tuned forest, refitted on all the fold's
                training rows, and the same forest before the refit)
  trees, leafGrid, thresholdGrid, randomState, nJobs, imputer ("knn" or "median"),
  knnNeighbors, tempoMin, tempoMax
FOLDER/folds.csv: track_id, fold (the outer fold holding the track out), sides (one letter per
  outer fold: "T" held out, "v" inner validation, "t" inner training)

For each feature set, system and fold it writes FOLDER/<set>.<system>.<fold>.bin, the uint8
predictions (row-major, one column per label) of the fold's held-out tracks that have at least
one of its labels, in table order, and prints JSON: each result's fit seconds, rows, settings
chosen and scikit-learn's own metrics of those predictions (for the bench to check its own).
Needs Debian's python3-sklearn (1.2: forests take no missing values, so they are imputed).

Preprocessing, as the seed's (and our model's default): year 0 missing; tempo below tempoMin/2
or above tempoMax*2 missing, below tempoMin doubled, above tempoMax halved; then
MinMaxScaler(clip=True) and KNNImputer(n_neighbors=5, weights="distance") fitted on the
training rows ("median": SimpleImputer(strategy="median") instead).

- seed: RandomForestClassifier(100 trees, class_weight="balanced") over the
  MultiLabelBinarizer's columns, hard 0.5 predictions (predict), fitted on all the fold's
  training rows (it tunes nothing);
- tuned: an unweighted RandomForestClassifier (sqrt features per split); min_samples_leaf from
  leafGrid and one probability threshold for every genre (from thresholdGrid, a genre predicted
  when its probability is above it) chosen together for the best samples Jaccard on the inner
  validation rows, with the forest fitted on the inner training rows; "tuned" then refits that
  forest on all the fold's training rows and applies the threshold, "tuned-no-refit" applies it
  to the forest fitted on the inner training rows alone (the data our model fits on).
"""

import csv
import json
import sys
import time

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.metrics import f1_score, hamming_loss, jaccard_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, MultiLabelBinarizer


def read_tracks(path, columns):
    """Feature columns as float64 (empty → NaN) and each track's genres, in file order."""
    ids, genres, rows = [], [], []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for record in reader:
            ids.append(record["track_id"])
            cell = record["genres"].strip()
            genres.append([g.strip() for g in cell.split("|")] if cell else [])
            rows.append([float(record[c]) if record[c].strip() != "" else np.nan for c in columns])
    return ids, genres, np.array(rows, dtype=np.float64).reshape(len(ids), len(columns))


def outlier_rules(columns, tempo_min, tempo_max):
    year = columns.index("year") if "year" in columns else None
    tempo = columns.index("tempo") if "tempo" in columns else None

    def apply(x):
        x = np.array(x, dtype=np.float64, copy=True)
        if year is not None:
            x[x[:, year] == 0, year] = np.nan
        if tempo is not None:
            t = x[:, tempo]
            with np.errstate(invalid="ignore"):
                out = (t < tempo_min / 2) | (t > tempo_max * 2)
                low = ~out & (t < tempo_min)
                high = ~out & (t > tempo_max)
            t = np.where(low, t * 2, np.where(high, t / 2, t))
            t[out] = np.nan
            x[:, tempo] = t
        return x

    return FunctionTransformer(apply)


def preprocessing(columns, cfg):
    rules = outlier_rules(columns, cfg["tempoMin"], cfg["tempoMax"])
    if cfg["imputer"] == "median":
        return make_pipeline(rules, MinMaxScaler(clip=True), SimpleImputer(strategy="median"))
    imputer = KNNImputer(n_neighbors=cfg["knnNeighbors"], weights="distance", keep_empty_features=True)
    return make_pipeline(rules, MinMaxScaler(clip=True), imputer)


def positive_proba(forest, x):
    """P(genre) per column: predict_proba gives one (n, classes) array per output."""
    out = np.zeros((x.shape[0], len(forest.classes_)))
    for k, (classes, p) in enumerate(zip(forest.classes_, forest.predict_proba(x))):
        hits = np.flatnonzero(classes == 1)
        if hits.size:
            out[:, k] = p[:, hits[0]]
    return out


def jaccard(y, pred):
    return jaccard_score(y, pred, average="samples", zero_division=0)


def sklearn_metrics(y, pred):
    return {
        "jaccardSamples": float(jaccard(y, pred)),
        "hammingLoss": float(hamming_loss(y, pred)),
        "f1Micro": float(f1_score(y, pred, average="micro", zero_division=0)),
        "f1Macro": float(f1_score(y, pred, average="macro", zero_division=0)),
    }


def forest(cfg, **settings):
    return RandomForestClassifier(
        n_estimators=cfg["trees"], n_jobs=cfg["nJobs"], random_state=cfg["randomState"], **settings
    )


def main(folder):
    with open(f"{folder}/config.json", encoding="utf-8") as handle:
        cfg = json.load(handle)
    sets = cfg["featureSets"]
    every = sorted({c for columns in sets.values() for c in columns})
    ids, genres, table = read_tracks(cfg["data"], every)
    with open(f"{folder}/folds.csv", newline="", encoding="utf-8") as handle:
        folds = list(csv.DictReader(handle))
    if [f["track_id"] for f in folds] != ids:
        sys.exit("folds.csv does not list the tracks of the data file in its order")
    sides = np.array([list(f["sides"]) for f in folds])
    thresholds = np.array(cfg["thresholdGrid"], dtype=np.float64)
    results = []
    for set_name, columns in sets.items():
        x_all = table[:, [every.index(c) for c in columns]]
        for fold in range(cfg["folds"]):
            mlb = MultiLabelBinarizer(classes=cfg["labels"][fold])
            mlb.fit([])
            # Genres outside the fold's labels are dropped (sklearn warns about each); rows
            # left without a label are not fitted or scored, as in our model.
            known = set(cfg["labels"][fold])
            y_all = mlb.transform([[g for g in gs if g in known] for gs in genres]).astype(np.uint8)
            labelled = y_all.any(axis=1)
            side = sides[:, fold]
            train = np.flatnonzero(labelled & (side == "t"))
            valid = np.flatnonzero(labelled & (side == "v"))
            test = np.flatnonzero(labelled & (side == "T"))
            outer = np.sort(np.concatenate([train, valid]))
            y_test = y_all[test]

            def record(system, seconds, pred, **extra):
                pred = np.ascontiguousarray(pred, dtype=np.uint8)
                pred.tofile(f"{folder}/{set_name}.{system}.{fold}.bin")
                results.append(
                    {
                        "set": set_name,
                        "system": system,
                        "fold": fold,
                        "fitSeconds": seconds,
                        "trainRows": int(extra.pop("train_rows")),
                        "testRows": int(len(test)),
                        "metrics": sklearn_metrics(y_test, pred),
                        **extra,
                    }
                )

            # The preprocessing of all the fold's training rows serves the seed and the tuned
            # forest's refit; its seconds count in both fit times.
            started = time.perf_counter()
            prep = preprocessing(columns, cfg).fit(x_all[outer])
            x_outer, x_test_outer = prep.transform(x_all[outer]), prep.transform(x_all[test])
            outer_prep_seconds = time.perf_counter() - started

            if "seed" in cfg["systems"]:
                started = time.perf_counter()
                model = forest(cfg, class_weight="balanced").fit(x_outer, y_all[outer])
                seconds = outer_prep_seconds + time.perf_counter() - started
                record("seed", seconds, model.predict(x_test_outer), train_rows=len(outer))

            if "tuned" in cfg["systems"]:
                started = time.perf_counter()
                prep = preprocessing(columns, cfg).fit(x_all[train])
                x_train, x_valid = prep.transform(x_all[train]), prep.transform(x_all[valid])
                x_test = prep.transform(x_all[test])
                tried = []
                best = None
                for leaf in cfg["leafGrid"]:
                    model = forest(cfg, min_samples_leaf=leaf).fit(x_train, y_all[train])
                    p = positive_proba(model, x_valid)
                    scores = [jaccard(y_all[valid], (p > t).astype(np.uint8)) for t in thresholds]
                    k = int(np.argmax(scores))
                    tried.append({"minSamplesLeaf": leaf, "threshold": float(thresholds[k]), "jaccard": float(scores[k])})
                    if best is None or scores[k] > best[0]:
                        best = (scores[k], leaf, float(thresholds[k]), model)
                _, leaf, threshold, model = best
                search_seconds = time.perf_counter() - started
                pred = (positive_proba(model, x_test) > threshold).astype(np.uint8)
                chosen = {"minSamplesLeaf": leaf, "threshold": threshold, "tried": tried}
                record("tuned-no-refit", search_seconds, pred, train_rows=len(train), chosen=chosen)
                started = time.perf_counter()
                model = forest(cfg, min_samples_leaf=leaf).fit(x_outer, y_all[outer])
                seconds = search_seconds + outer_prep_seconds + time.perf_counter() - started
                pred = (positive_proba(model, x_test_outer) > threshold).astype(np.uint8)
                record("tuned", seconds, pred, train_rows=len(outer), chosen=chosen)
            print(f"sklearn: {set_name} fold {fold + 1} done", file=sys.stderr, flush=True)
    json.dump({"sklearn": __import__("sklearn").__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
