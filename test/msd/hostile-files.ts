// Hostile MSD track files made with h5py (Debian's /usr/bin/python3): copies of a good track
// file whose datasets point at other files on the host (external storage, an external link, a
// virtual dataset) or declare far more data than the file holds. Shared by the reader's and
// preprocess's tests; `h5pyMissing` says why they skip where h5py is absent.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

export const PYTHON = "/usr/bin/python3";
export const h5pyMissing =
  existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import h5py"]).status === 0
    ? false
    : `${PYTHON} with h5py is not available`;

/** A line the secret host file repeats: no byte of it may reach a track. */
export const SECRET_MARKER = "root:x:0:0:SECRET-MARKER-7f3a:/root:/bin/bash";

export interface HostileFiles {
  /** A plain text file standing for /etc/passwd. */
  secretText: string;
  /** An HDF5 file elsewhere on the host (its /x holds 0, 1, 2, ...). */
  secretHdf5: string;
  /** /metadata/songs kept in secretText (HDF5 external storage). */
  externalSongs: string;
  /** /analysis/segments_timbre kept in secretText. */
  externalTimbre: string;
  /** /analysis/segments_start an external link to secretHdf5:/x (a group with dense links). */
  externalLink: string;
  /** /musicbrainz/artist_mbtags_count an external link (a group with links in its header). */
  externalLinkCompact: string;
  /** /analysis/segments_start a virtual dataset mapping secretHdf5:/x. */
  virtualDataset: string;
  /** /metadata/artist_terms declared with 4e9 rows of 256 bytes, 37 of them written. */
  hugeTerms: string;
  /** /analysis/segments_timbre declared (2e6, 12) float64 (192 MB), no chunk written. */
  unwrittenTimbre: string;
  /** /analysis/segments_start one deflated chunk of 200 MB of zeros (194 KB stored). */
  deflateBomb: string;
}

const SCRIPT = `
import h5py, numpy as np, shutil, sys, os, zlib
base, out, secret, secret_h5 = sys.argv[1:5]
with h5py.File(secret_h5, "w") as g:
    g.create_dataset("x", data=np.arange(4000.0))

def variant(name, change):
    path = os.path.join(out, name)
    shutil.copyfile(base, path)
    with h5py.File(path, "a") as f:
        change(f)

def replace_external(path):
    def change(f):
        old = f[path]
        shape, dtype = old.shape, old.dtype
        del f[path]
        f.create_dataset(path, shape=shape, dtype=dtype, external=[(secret, 0, h5py.h5f.UNLIMITED)])
    return change

def external_link(path):
    def change(f):
        del f[path]
        f[path] = h5py.ExternalLink(secret_h5, "/x")
    return change

def virtual(f):
    n = f["analysis/segments_start"].shape[0]
    layout = h5py.VirtualLayout(shape=(n,), dtype="f8")
    layout[:] = h5py.VirtualSource(secret_h5, "x", shape=(4000,))[:n]
    del f["analysis/segments_start"]
    f.create_virtual_dataset("analysis/segments_start", layout)

def huge_terms(f):
    terms = f["metadata/artist_terms"][:]
    del f["metadata/artist_terms"]
    d = f.create_dataset("metadata/artist_terms", shape=(4000000000,), maxshape=(None,),
                         chunks=(1000,), dtype=terms.dtype)
    d[: len(terms)] = terms

def unwritten_timbre(f):
    del f["analysis/segments_timbre"]
    f.create_dataset("analysis/segments_timbre", shape=(2000000, 12), maxshape=(None, 12),
                     chunks=(1000, 12), dtype="f8", compression="gzip")

variant("external-songs.h5", replace_external("metadata/songs"))
variant("external-timbre.h5", replace_external("analysis/segments_timbre"))
variant("external-link.h5", external_link("analysis/segments_start"))
variant("external-link-compact.h5", external_link("musicbrainz/artist_mbtags_count"))
variant("virtual-dataset.h5", virtual)
def deflate_bomb(f):
    n = f["analysis/segments_start"].shape[0]
    del f["analysis/segments_start"]
    d = f.create_dataset("analysis/segments_start", shape=(n,), dtype="f8", chunks=(n,),
                         compression="gzip")
    d.id.write_direct_chunk((0,), zlib.compress(bytes(200_000_000), 9))

variant("huge-terms.h5", huge_terms)
variant("deflate-bomb.h5", deflate_bomb)
variant("unwritten-timbre.h5", unwritten_timbre)
`;

/** Writes the secret files and the hostile copies of `base` (a good track file) into `dir`. */
export async function makeHostileFiles(dir: string, base: string): Promise<HostileFiles> {
  const secretText = join(dir, "secret-passwd.txt");
  await writeFile(secretText, `${SECRET_MARKER}\n`.repeat(20000));
  const secretHdf5 = join(dir, "secret-other.h5");
  const result = spawnSync(PYTHON, ["-c", SCRIPT, base, dir, secretText, secretHdf5], {
    encoding: "utf8",
  });
  assert.equal(result.status, 0, result.stderr);
  return {
    secretText,
    secretHdf5,
    externalSongs: join(dir, "external-songs.h5"),
    externalTimbre: join(dir, "external-timbre.h5"),
    externalLink: join(dir, "external-link.h5"),
    externalLinkCompact: join(dir, "external-link-compact.h5"),
    virtualDataset: join(dir, "virtual-dataset.h5"),
    hugeTerms: join(dir, "huge-terms.h5"),
    unwrittenTimbre: join(dir, "unwritten-timbre.h5"),
    deflateBomb: join(dir, "deflate-bomb.h5"),
  };
}
