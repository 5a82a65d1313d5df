#!/usr/bin/python3
"""scikit-learn's side of `npm run bench:fit`: one whole process doing what `genre-classifier
model fit` does with the seed's pipeline — read the training and validation CSV files, keep the
top genres of the training rows, fit the seed's pipeline (outlier rules, min-max scaling, KNN
imputation, a class-balanced RandomForestClassifier of 100 trees), predict the validation rows
(hard 0.5) and save the fitted forest with pickle (the outlier rules are a closure pickle cannot
save; the forest is nearly all of the bytes).

Usage: fit_process_reference.py TRAIN.csv VALID.csv FEATURES(a,b,…) TOP_K OUT_FILE
Prints JSON: the validation samples Jaccard and the seconds inside the process.
"""

import sys
import time

started = time.perf_counter()

import json  # noqa: E402
from collections import Counter  # noqa: E402

import pickle  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MultiLabelBinarizer  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from quality_reference import forest, jaccard, preprocessing, read_tracks  # noqa: E402


def main(train_path, valid_path, features, top_k, out):
    columns = features.split(",")
    _, train_genres, x_train = read_tracks(train_path, columns)
    _, valid_genres, x_valid = read_tracks(valid_path, columns)
    counts = Counter(g for genres in train_genres for g in genres)
    labels = sorted(counts, key=lambda g: (-counts[g], g))[:top_k]
    binarizer = MultiLabelBinarizer(classes=labels)
    keep = [i for i, genres in enumerate(train_genres) if set(genres) & set(labels)]
    y_train = binarizer.fit_transform([[g for g in train_genres[i] if g in labels] for i in keep])
    cfg = {"tempoMin": 70, "tempoMax": 180, "imputer": "knn", "knnNeighbors": 5,
           "trees": 100, "nJobs": -1, "randomState": 0}
    model = make_pipeline(preprocessing(columns, cfg), forest(cfg, class_weight="balanced"))
    model.fit(x_train[keep], y_train)
    vkeep = [i for i, genres in enumerate(valid_genres) if set(genres) & set(labels)]
    y_valid = binarizer.transform([[g for g in valid_genres[i] if g in labels] for i in vkeep])
    pred = model.predict(x_valid[vkeep])
    with open(out, "wb") as handle:
        pickle.dump(model[-1], handle, protocol=pickle.HIGHEST_PROTOCOL)
    print(json.dumps({"jaccardSamples": float(jaccard(y_valid, np.asarray(pred))),
                      "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
