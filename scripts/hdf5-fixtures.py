#!/usr/bin/python3
"""Writes DIR/filters.h5 and DIR/filters.json: a small HDF5 file in the part of the format
MSD track files use (superblock 0, version 1 object headers, old-style groups, chunked datasets with
a version 1 B-tree index) whose chunked datasets go through the shuffle filter, alone and before
deflate, with chunks that do not divide the rows; and, as JSON, what h5py wrote in it: each
dataset's element type, shape, chunks, filters and values. test/msd/hdf5-fixture.test.ts reads the
file with the project's own reader (src/msd/hdf5-native.ts) and compares; it writes them into a
temporary folder on every run. This project's writer never applies shuffle, so without this file
only the outside MSD sample would test it.

Run with Debian's /usr/bin/python3 (python3-h5py). The values come from fixed formulas, so the
JSON is the same on every run; the .h5 bytes may differ between HDF5 versions, which the test
does not care about.

Usage: /usr/bin/python3 scripts/hdf5-fixtures.py --out DIR
"""

import argparse
import json
import os

import h5py
import numpy as np



def datasets():
    """(path, array, chunks, shuffle, gzip level or None) for each dataset of the file."""
    rows = np.arange(11, dtype=np.float64)[:, None]
    timbre = (rows * 12 + np.arange(12)) * 0.731 - 140.25
    pitches = ((np.arange(9 * 5) * 37) % 101 / 100).astype(np.float32).reshape(9, 5)
    index = (np.arange(21, dtype=np.int32) * 7919) % 65536 - 30000
    song = np.dtype([("title", "S12"), ("year", "<i4"), ("tempo", "<f8"), ("mode", "<i4")])
    songs = np.array(
        [(f"song {i}".encode(), 1950 + 3 * i, 80.5 + 7.25 * i, i % 2) for i in range(7)],
        dtype=song,
    )
    return [
        ("/analysis/segments_timbre", timbre, (4, 12), True, None),
        ("/analysis/segments_pitches", pitches, (4, 5), True, 4),
        ("/analysis/idx", index, (8,), True, 9),
        ("/metadata/songs", songs, (3,), True, 6),
    ]


def describe(array):
    dtype = array.dtype
    if dtype.fields is None:
        return {"dtype": dtype.str}
    return {
        "dtype": "compound",
        "itemsize": dtype.itemsize,
        "fields": [
            {"name": name, "dtype": dtype.fields[name][0].str, "offset": dtype.fields[name][1]}
            for name in dtype.names
        ],
    }


def values(array):
    if array.dtype.fields is None:
        return array.reshape(-1).tolist()
    return [
        [value.decode() if isinstance(value, bytes) else value for value in row]
        for row in array.tolist()
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)
    described = []
    with h5py.File(os.path.join(out, "filters.h5"), "w", libver="earliest") as file:
        for path, array, chunks, shuffle, gzip in datasets():
            file.create_dataset(
                path,
                data=array,
                chunks=chunks,
                shuffle=shuffle,
                compression="gzip" if gzip is not None else None,
                compression_opts=gzip,
            )
            written = file[path]
            described.append(
                {
                    "path": path,
                    **describe(array),
                    "shape": list(written.shape),
                    "chunks": list(written.chunks) if written.chunks else None,
                    "filters": (["shuffle"] if written.shuffle else [])
                    + (["deflate"] if written.compression == "gzip" else []),
                    "values": values(written[()]),
                }
            )
    with open(os.path.join(out, "filters.json"), "w") as handle:
        json.dump({"datasets": described}, handle, indent=1)
        handle.write("\n")


if __name__ == "__main__":
    main()
