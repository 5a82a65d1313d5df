// The genre vocabulary: the shipped list, normalization, labels from artist terms, user files.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DEFAULT_GENRES } from "../../src/features/default-genres.ts";
import {
  defaultVocabulary,
  genresFromTerms,
  loadVocabulary,
  normalizeGenre,
} from "../../src/features/vocabulary.ts";

describe("genre vocabulary", () => {
  it("ships a few hundred normalized genre names", () => {
    assert.ok(DEFAULT_GENRES.length >= 300, `${DEFAULT_GENRES.length} genres`);
    for (const genre of DEFAULT_GENRES) assert.equal(normalizeGenre(genre), genre);
    assert.equal(new Set(DEFAULT_GENRES).size, DEFAULT_GENRES.length, "no duplicates");
    for (const notGenre of ["united states", "80s", "male vocalist", "instrumental", "uk"]) {
      assert.ok(!defaultVocabulary().has(notGenre), notGenre);
    }
  });

  it("normalizes case, hyphens and spaces", () => {
    assert.equal(normalizeGenre("  Hip-Hop "), "hip hop");
    assert.equal(normalizeGenre("Drum_and  Bass"), "drum and bass");
  });

  it("labels a track with its artist terms that are genres, in order, once each", () => {
    const terms = ["Hip-Hop", "united states", "80s", "hip hop", "g funk", "Jazz"];
    const weights = [1, 0.9, 0.8, 0.7, 0.3, 0.1];
    const vocabulary = defaultVocabulary();
    assert.deepEqual(genresFromTerms(terms, weights, vocabulary), ["hip hop", "g funk", "jazz"]);
    assert.deepEqual(genresFromTerms(terms, weights, vocabulary, 0.3), ["hip hop", "g funk"]);
    assert.deepEqual(genresFromTerms([], new Float64Array(0), vocabulary), []);
  });

  it("reads a user's vocabulary file, as lines or a JSON array, and rejects bad ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gc-vocab-"));
    try {
      await writeFile(join(dir, "lines.txt"), "# my genres\nSynth-Pop\n\nchiptune\n");
      assert.deepEqual(
        [...(await loadVocabulary(join(dir, "lines.txt")))],
        ["synth pop", "chiptune"],
      );
      await writeFile(join(dir, "list.json"), '["Rock", "K-Pop"]');
      assert.deepEqual([...(await loadVocabulary(join(dir, "list.json")))], ["rock", "k pop"]);
      await writeFile(join(dir, "empty.txt"), "# nothing\n");
      await assert.rejects(
        loadVocabulary(join(dir, "empty.txt")),
        /empty\.txt: holds no genre names/,
      );
      await writeFile(join(dir, "bad.json"), "[1, 2]");
      await assert.rejects(
        loadVocabulary(join(dir, "bad.json")),
        /expected a JSON array of strings/,
      );
      await assert.rejects(loadVocabulary(join(dir, "absent.txt")), /absent\.txt: cannot be read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
