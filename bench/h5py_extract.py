"""The reference for bench:msd: h5py and numpy doing the same per-track extraction as
genre-classifier's preprocess (songs tables' scalar fields, artist terms, the
timbre/pitch/loudness/rhythm summaries), on one process or a pool of processes. Prints one JSON line."""
import json
import multiprocessing
import sys
import time

import h5py
import numpy as np


def text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def extract(path):
    with h5py.File(path, "r") as f:
        meta = f["metadata/songs"][0]
        analysis = f["analysis/songs"][0]
        year = int(f["musicbrainz/songs"][0]["year"])
        terms = [text(t) for t in f["metadata/artist_terms"][:]]
        weights = f["metadata/artist_terms_weight"][:]
        timbre = f["analysis/segments_timbre"][:]
        pitches = f["analysis/segments_pitches"][:]
        loudness_max = f["analysis/segments_loudness_max"][:]
        loudness_start = f["analysis/segments_loudness_start"][:]
        max_time = f["analysis/segments_loudness_max_time"][:]
        confidence = f["analysis/segments_confidence"][:]
        segments = f["analysis/segments_start"].shape[0]
        beats = f["analysis/beats_start"].shape[0]
        bars = f["analysis/bars_start"].shape[0]
        sections = f["analysis/sections_start"].shape[0]
    duration = float(analysis["duration"])
    return {
        "track_id": text(analysis["track_id"]),
        "artist_name": text(meta["artist_name"]),
        "title": text(meta["title"]),
        "year": year,
        "tempo": float(analysis["tempo"]),
        "scalars": [float(analysis[name]) for name in ("end_of_fade_in", "start_of_fade_out")]
        + [float(meta[name]) for name in ("artist_familiarity", "artist_hotttnesss", "song_hotttnesss", "artist_latitude", "artist_longitude")],
        "timbre_mean": timbre.mean(axis=0).tolist(),
        "timbre_std": timbre.std(axis=0).tolist(),
        "pitch_mean": pitches.mean(axis=0).tolist(),
        "pitch_std": pitches.std(axis=0).tolist(),
        "loudness": [loudness_max.mean(), loudness_max.std(), loudness_max.max(), loudness_start.mean(), max_time.mean(), confidence.mean()],
        "rates": [segments / duration, beats / duration, bars / duration, sections * 60 / duration],
        "terms": list(zip(terms, weights.tolist())),
    }


def main():
    listing, processes = sys.argv[1], int(sys.argv[2])
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    with open(listing) as f:
        paths = [line.strip() for line in f if line.strip()] * repeat
    started = time.perf_counter()
    if processes == 1:
        rows = [extract(p) for p in paths]
    else:
        with multiprocessing.Pool(processes) as pool:
            rows = pool.map(extract, paths, chunksize=16)
    seconds = time.perf_counter() - started
    print(json.dumps({"files": len(rows), "seconds": seconds}))


if __name__ == "__main__":
    main()
