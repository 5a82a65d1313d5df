// The model card of real fits: every section, figures equal to the fit's, tables that hostile
// genre and feature names cannot break, the artists' overlap, and the file written whole.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { FeatureTable, type OutputColumn, writeTable } from "../../src/features/feature-table.ts";
import { fitModel } from "../../src/training/fit.ts";
import {
  artistOverlap,
  MODEL_CARD_FILE,
  modelCard,
  modelCardScores,
  writeModelCard,
} from "../../src/training/model-card.ts";
import { SEED_FEATURES } from "../../src/training/tables.ts";
import { writeGenreTable } from "./tables.ts";

const SECTIONS = [
  "# Model card",
  "## Model",
  "## Data",
  "## Validation metrics",
  "## Per genre",
  "## Calibration",
  "## Intended use and limits",
  "## How it was made",
];

const HOSTILE_GENRES: Record<string, string> = {
  rock: "rock|roll",
  pop: "pop\nmusic",
  jazz: "<b>jazz</b>",
  metal: "metal `s` *loud*",
  blues: "blues\\",
  folk: "folk & [roots](x)",
};
const HOSTILE_FEATURE = "en|ergy\nlevel";

const made = {
  command: "genre-classifier model fit --train train.parquet --valid valid.parquet --out m",
  createdAt: "2025-01-02T03:04:05.000Z",
  version: "0.1.0+abc",
};

/** A markdown table row's cells as GitHub splits them: on `|` not escaped by a backslash. */
function cells(line: string): string[] {
  const out: string[] = [];
  let cell = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === "\\" && i + 1 < line.length) {
      cell += c + (line[i + 1] as string);
      i++;
    } else if (c === "|") {
      out.push(cell);
      cell = "";
    } else cell += c;
  }
  out.push(cell);
  return out.slice(1, -1).map((s) => s.trim());
}

/** A cell's text once markdown's backslash escapes are undone. */
function unescapeCell(cell: string): string {
  return cell.replace(/\\([!-/:-@[-`{-~])/g, "$1");
}

/** Each table of the card (outside code blocks) as its header and rows. */
function tables(card: string): { header: string[]; rows: string[][] }[] {
  const out: { header: string[]; rows: string[][] }[] = [];
  let current: string[] | undefined;
  let inCode = false;
  for (const line of card.split("\n")) {
    if (line.startsWith("```")) inCode = !inCode;
    if (!inCode && line.startsWith("|")) {
      current ??= [];
      current.push(line);
      continue;
    }
    if (current !== undefined) {
      const [header, , ...rows] = current.map(cells);
      out.push({ header: header as string[], rows });
      current = undefined;
    }
  }
  return out;
}

function tableAfter(card: string, heading: string, which = 0) {
  const rest = card.slice(card.indexOf(heading));
  const found = tables(rest)[which];
  assert.ok(found, `a table after ${heading}`);
  return found;
}

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "gc-model-card-"));
  for (const [name, rows, seed] of [
    ["plain-train.csv", 500, 1],
    ["plain-valid.parquet", 160, 2],
  ] as const) {
    await writeGenreTable(join(dir, name), rows, seed);
    // The same rows with hostile genre and feature names and an artist column; the validation
    // table's first five artists are also training artists.
    const table = await FeatureTable.read(join(dir, name), { text: ["track_id", "genres"] });
    const training = name.includes("train");
    const columns: OutputColumn[] = [
      { name: "track_id", kind: "text", values: table.text("track_id") },
      {
        name: "artist_id",
        kind: "text",
        values: Array.from({ length: table.rows }, (_, i) =>
          training ? `AR${i % 40}` : `AR${(i % 20) + (i % 20 < 5 ? 0 : 100)}`,
        ),
      },
      {
        name: "genres",
        kind: "list",
        values: table.genres().map((g) => g.map((genre) => HOSTILE_GENRES[genre] ?? genre)),
      },
    ];
    for (const feature of table.featureColumns()) {
      columns.push({
        name: feature === "energy" ? HOSTILE_FEATURE : feature,
        kind: "number",
        values: table.numeric(feature),
      });
    }
    await writeTable(
      join(dir, name.replace("plain-", "hostile-").replace(".csv", ".parquet")),
      columns,
    );
  }
});
after(() => rm(dir, { recursive: true, force: true }));

async function read(name: string): Promise<FeatureTable> {
  return FeatureTable.read(join(dir, name), { text: ["track_id", "genres", "artist_id"] });
}

describe("model card", () => {
  it("has every section, with the fit's figures, and hostile names cannot break its tables", async () => {
    const [train, valid] = [
      await read("hostile-train.parquet"),
      await read("hostile-valid.parquet"),
    ];
    const { summary } = await fitModel({
      train,
      valid,
      forest: { nTrees: 12, workers: 0, seed: 3 },
      seedBaseline: true,
    });
    const scores = { perGenre: summary.perGenre, calibration: summary.calibration };
    const artists = artistOverlap(train, valid);
    assert.deepEqual(artists, { column: "artist_id", validArtists: 20, alsoInTraining: 5 });
    // The per-genre thresholds' rule, whatever the default.
    const byThresholds = {
      ...summary,
      decision: { ...summary.decision, rule: "thresholds" },
    } as typeof summary;
    const card = modelCard(byThresholds, {
      ...scores,
      preprocessing: {
        imputer: "knn",
        neighbors: 5,
        maxReference: 10_000,
        tempoMin: 70,
        tempoMax: 180,
      },
      artists,
      validationSplit: "The validation table is a hand-made one.",
      made,
    });

    assert.ok(card.startsWith(`${SECTIONS[0]}`));
    let at = 0;
    for (const heading of SECTIONS.slice(1)) {
      const next = card.indexOf(`\n${heading}`, at);
      assert.ok(next > at, `${heading} after the previous section`);
      at = next;
    }
    for (const t of tables(card)) {
      for (const row of t.rows) assert.equal(row.length, t.header.length, JSON.stringify(row));
    }
    // Names are code in prose and escaped text in tables.
    assert.ok(card.includes("`<b>jazz</b>`, "));
    assert.ok(card.includes("| \\<b\\>jazz\\</b\\> |"));
    assert.ok(card.includes("| folk \\& \\[roots\\](x) |"));

    // Model: features (the hostile one on one line) and genres named.
    for (const feature of summary.features) {
      assert.ok(card.includes(feature.replace("\n", " ")), `feature ${feature}`);
    }
    assert.ok(card.includes("``metal `s` *loud*``"));
    assert.match(card, /`year` 0 counts as missing; `tempo` folded into \[70, 180\] bpm/);
    const settings = tableAfter(card, "## Model");
    assert.deepEqual(settings.header, ["setting", "value"]);
    assert.ok(settings.rows.some(([k, v]) => k === "nTrees" && v === "12"));
    assert.ok(settings.rows.some(([k, v]) => k === "seed" && v === "3"));

    // Data.
    const data = tableAfter(card, "## Data");
    assert.deepEqual(
      data.rows.map((r) => [unescapeCell(r[1] as string), ...r.slice(2)]),
      [
        [
          train.path,
          "500",
          String(summary.train.used),
          String(summary.train.droppedWithoutTopGenre),
        ],
        [
          valid.path,
          "160",
          String(summary.valid.used),
          String(summary.valid.droppedWithoutTopGenre),
        ],
      ],
    );

    // Validation metrics, one row per entry of the summary, in its order.
    const metrics = tableAfter(card, "## Validation metrics");
    assert.deepEqual(
      metrics.rows.map((r) => r.slice(1)),
      Object.values(summary.validation).map((m) =>
        [m.jaccardSamples, m.hammingLoss, m.f1Micro, m.f1Macro].map((v) => v.toFixed(4)),
      ),
    );
    assert.deepEqual(
      metrics.rows.map((r) => unescapeCell(r[0] as string).replaceAll("*", "")),
      Object.keys(summary.validation),
    );
    assert.ok(Object.keys(summary.validation).includes("seed model (balanced forest, 0.5)"));

    // Per genre: names, scores, thresholds and Brier scores.
    const perGenre = tableAfter(card, "## Per genre");
    assert.equal(perGenre.rows.length, summary.labels);
    const calibration = scores.calibration;
    assert.ok(calibration);
    perGenre.rows.forEach((row, k) => {
      const g = scores.perGenre[k];
      assert.ok(g);
      assert.equal(unescapeCell(row[0] as string), g.genre.replace("\n", " "));
      assert.deepEqual(row.slice(1), [
        String(g.support),
        g.precision.toFixed(4),
        g.recall.toFixed(4),
        g.f1.toFixed(4),
        (summary.decision.thresholds[g.genre] as number).toFixed(3),
        calibration.genres[k]?.brier.toFixed(4),
        calibration.genres[k]?.brierBaseline.toFixed(4),
      ]);
    });
    assert.deepEqual(
      perGenre.rows.map((r) => unescapeCell(r[0] as string)).sort(),
      Object.values(HOSTILE_GENRES)
        .map((g) => g.replace("\n", " "))
        .sort(),
    );

    // Calibration: the scores and the reliability table.
    assert.ok(
      card.includes(
        `**Brier score** ${calibration.brier.toFixed(4)}, against ${calibration.brierBaseline.toFixed(4)}`,
      ),
    );
    assert.ok(
      card.includes(`**Expected calibration error** ${calibration.ece.toFixed(4)} over 10`),
    );
    const reliability = tableAfter(card, "## Calibration");
    assert.deepEqual(
      reliability.rows.map((r) => [r[0], r[1], r[3], r[4]]),
      calibration.bins.map((b) => [
        `${b.from.toFixed(2)}–${b.to.toFixed(2)}`,
        String(b.pairs),
        b.pairs === 0 ? "–" : b.meanProbability.toFixed(3),
        b.pairs === 0 ? "–" : b.observed.toFixed(3),
      ]),
    );

    // Use and limits; how it was made.
    assert.match(card, /Genres are per artist/);
    assert.match(
      card,
      /The validation table is a hand-made one\. 5 of the 20 validation artists \(25\.0%, column `artist_id`\) also have tracks in the training table/,
    );
    assert.match(
      card,
      /tuned on the validation rows[^,]*, which include the rows the metrics above are computed on/,
    );
    assert.ok(card.includes(`\`\`\`\n${made.command}\n\`\`\``));
    assert.ok(card.includes("- **Seed**: 3"));
    assert.ok(card.includes("- **genre-classifier** 0.1.0+abc"));
    assert.ok(card.includes(made.createdAt));

    const path = await writeModelCard(dir, card);
    assert.equal(path, join(dir, MODEL_CARD_FILE));
    assert.equal(await readFile(path, "utf8"), card);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.includes("partial")),
      [],
    );
  });

  it("takes the calibration from the summary when it carries one, and has none for the most-frequent kind", async () => {
    const train = await read("plain-train.csv");
    const valid = await read("plain-valid.parquet");
    const { model, summary } = await fitModel({
      train,
      valid,
      kind: "most-frequent",
      baselineK: 2,
    });
    const scores = await modelCardScores(model, summary, valid);
    assert.equal(scores.calibration, null);
    const card = modelCard(summary, { ...scores, made });
    assert.match(card, /## Calibration\n\nNot checked/);
    assert.match(card, /most-frequent baseline/);
    assert.match(card, /no artist column/);
    assert.ok(card.includes("- **Seed**: – (nothing random)"));
    for (const row of tableAfter(card, "## Per genre").rows) assert.equal(row[5], "–");

    const forest = await fitModel({
      train,
      valid,
      features: [...SEED_FEATURES],
      forest: { nTrees: 5, workers: 0 },
    });
    const own = await modelCardScores(forest.model, forest.summary, valid);
    assert.ok(own.calibration);
    const carried = { ...own.calibration, brier: 0.123456789, ece: 0.0424242 };
    const withOwn = modelCard(
      { ...forest.summary, calibration: carried } as typeof forest.summary,
      {
        perGenre: own.perGenre,
        calibration: own.calibration,
        made,
      },
    );
    assert.ok(withOwn.includes("**Brier score** 0.1235,"));
    assert.ok(withOwn.includes("**Expected calibration error** 0.0424 over"));

    // A settings search and thresholds tuned on out-of-bag predictions too, as a summary says.
    const settings = forest.summary.forest;
    assert.ok(settings);
    const searched = {
      ...forest.summary,
      decision: {
        ...forest.summary.decision,
        rule: "thresholds",
        tunedOn: "validation+out-of-bag",
        tuningRows: 1234,
      },
      tuning: [
        { minSamplesLeaf: 40, maxFeatures: "sqrt", score: 0.41 },
        { minSamplesLeaf: settings.minSamplesLeaf, maxFeatures: settings.maxFeatures, score: 0.45 },
      ],
    } as typeof forest.summary;
    const searchedCard = modelCard(searched, { ...own, made });
    const byExpectedJaccard = modelCard(
      {
        ...searched,
        decision: { ...searched.decision, rule: "expected-jaccard" },
      } as typeof searched,
      { ...own, made },
    );
    assert.match(
      byExpectedJaccard,
      /\*\*Decision\*\*: each track gets its most probable genres, as many as maximize the Jaccard index expected/,
    );
    assert.match(byExpectedJaccard, /Genres from probabilities alone/);
    assert.doesNotMatch(byExpectedJaccard, /\*\*Thresholds\*\*/);
    for (const row of tableAfter(byExpectedJaccard, "## Per genre").rows) assert.equal(row[5], "–");
    assert.match(
      searchedCard,
      /tuned on the validation rows and the training rows' out-of-bag predictions \(1,234 rows\) to maximize/,
    );
    const tried = tableAfter(searchedCard, "Settings search");
    assert.deepEqual(tried.header, ["minSamplesLeaf", "maxFeatures", "score", "chosen"]);
    assert.deepEqual(tried.rows, [
      ["40", "sqrt", "0.4100", ""],
      [String(settings.minSamplesLeaf), String(settings.maxFeatures), "0.4500", "yes"],
    ]);
  });

  it("reports validation artists unseen in training on real MSD tracks split by artist", {
    skip:
      !existsSync(join(import.meta.dirname, "../../../shared/msd-10k-dev/tracks.csv")) &&
      "no ../shared/msd-10k-dev",
  }, async () => {
    const all = await FeatureTable.read(
      join(import.meta.dirname, "../../../shared/msd-10k-dev/tracks.csv"),
      {
        text: ["track_id", "artist_id", "artist_name", "title", "genres"],
      },
    );
    const artists = all.text("artist_id");
    const pick = (keep: (artist: string, i: number) => boolean) =>
      Uint32Array.from(artists.flatMap((a, i) => (keep(a, i) ? [i] : [])));
    // Artists by the last hex digit of their id: 0–3 train, 4 validation; 1 track in 3 for speed.
    const digit = (a: string) => Number.parseInt(a.at(-1) as string, 16);
    const train = all.select(
      pick((a, i) => digit(a) < 4 && i % 3 === 0),
      "msd-train",
    );
    const valid = all.select(
      pick((a, i) => digit(a) === 4 && i % 3 === 0),
      "msd-valid",
    );
    const { model, summary } = await fitModel({
      train,
      valid,
      features: [...SEED_FEATURES],
      topK: 15,
      forest: { nTrees: 10, workers: 0 },
      unseenGenres: "ignore",
    });
    const overlap = artistOverlap(train, valid);
    assert.ok(
      overlap && overlap.validArtists > 50 && overlap.alsoInTraining === 0,
      JSON.stringify(overlap),
    );
    const card = modelCard(summary, {
      ...(await modelCardScores(model, summary, valid, { unseenGenres: "ignore" })),
      artists: overlap,
      made,
    });
    assert.match(
      card,
      new RegExp(`None of the ${overlap.validArtists} validation artists .* never saw`),
    );
    assert.equal(tableAfter(card, "## Per genre").rows.length, 15);
  });
});
