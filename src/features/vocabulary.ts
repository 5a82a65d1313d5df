// The genre vocabulary and the labels it gives: a track's genres are its artist terms that
// appear in the vocabulary, optionally only those whose term weight reaches a threshold.
import { readFile } from "node:fs/promises";
import { InputError } from "../common/errors.ts";
import { DEFAULT_GENRES } from "./default-genres.ts";

export type GenreVocabulary = ReadonlySet<string>;

/** Lower case, "-" and "_" as spaces, runs of white space as one space, trimmed. */
export function normalizeGenre(term: string): string {
  return term.toLowerCase().replace(/[-_]/g, " ").replace(/\s+/g, " ").trim();
}

export function defaultVocabulary(): GenreVocabulary {
  return new Set(DEFAULT_GENRES.map(normalizeGenre));
}

/**
 * Reads a vocabulary file: one genre per line (a JSON array of strings also works); blank
 * lines and lines starting with # are ignored.
 */
export async function loadVocabulary(file: string): Promise<GenreVocabulary> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new InputError(`genre vocabulary ${file}: cannot be read (${(error as Error).message})`);
  }
  let names: unknown[];
  if (text.trimStart().startsWith("[")) {
    try {
      names = JSON.parse(text);
    } catch (error) {
      throw new InputError(
        `genre vocabulary ${file}: not a valid JSON array (${(error as Error).message})`,
      );
    }
    if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
      throw new InputError(`genre vocabulary ${file}: expected a JSON array of strings`);
    }
  } else {
    names = text
      .split(/\r?\n/)
      .filter((line) => line.trim() !== "" && !line.trimStart().startsWith("#"));
  }
  const vocabulary = new Set((names as string[]).map(normalizeGenre).filter((n) => n !== ""));
  if (vocabulary.size === 0) throw new InputError(`genre vocabulary ${file}: holds no genre names`);
  return vocabulary;
}

/**
 * The genres among a track's artist terms, in the terms' order, each once. With `minWeight`,
 * only terms whose weight is at least that count.
 */
export function genresFromTerms(
  terms: readonly string[],
  weights: ArrayLike<number>,
  vocabulary: GenreVocabulary,
  minWeight = 0,
): string[] {
  const genres: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < terms.length; i++) {
    const genre = normalizeGenre(terms[i] as string);
    if (!vocabulary.has(genre) || seen.has(genre)) continue;
    if (minWeight > 0 && !((weights[i] ?? 0) >= minWeight)) continue;
    seen.add(genre);
    genres.push(genre);
  }
  return genres;
}
