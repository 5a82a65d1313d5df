// MLflow's search syntax: what parses into which conditions, and one clear message for what
// does not.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TrackingError } from "../../src/tracking/errors.ts";
import {
  decodePageToken,
  encodePageToken,
  parseFilter,
  parseOrderBy,
  type SearchGrammar,
} from "../../src/tracking/filter.ts";

const runs: SearchGrammar = {
  subject: "runs",
  attributes: { status: "string", start_time: "number", run_id: "string" },
  attributeAliases: { created: "start_time" },
  orderable: ["start_time", "status"],
  entities: ["metric", "param", "tag", "dataset"],
};

function fails(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof TrackingError);
    assert.equal(error.code, "INVALID_PARAMETER_VALUE");
    assert.match(error.message, message);
    return true;
  });
}

describe("search filters", () => {
  it("parses comparisons joined by AND", () => {
    assert.deepEqual(
      parseFilter(
        "metrics.f1 >= 0.5 and params.model = 'forest' AND tags.`data set` LIKE \"msd%\" and created > 1700000000000",
        runs,
      ),
      [
        { entity: "metric", key: "f1", operator: ">=", value: 0.5 },
        { entity: "param", key: "model", operator: "=", value: "forest" },
        { entity: "tag", key: "data set", operator: "LIKE", value: "msd%" },
        { entity: "attribute", key: "start_time", operator: ">", value: 1_700_000_000_000 },
      ],
    );
    assert.deepEqual(parseFilter("metric.loss<-1e-3", runs), [
      { entity: "metric", key: "loss", operator: "<", value: -0.001 },
    ]);
    assert.deepEqual(
      parseFilter(
        "attributes.run_id in ('a', 'b') and tags.x is not null and params.y IS NULL",
        runs,
      ),
      [
        { entity: "attribute", key: "run_id", operator: "IN", value: ["a", "b"] },
        { entity: "tag", key: "x", operator: "IS NOT NULL", value: undefined },
        { entity: "param", key: "y", operator: "IS NULL", value: undefined },
      ],
    );
    assert.deepEqual(parseFilter("params.name = 'it''s' and metrics.\"val f1\" != 2", runs), [
      { entity: "param", key: "name", operator: "=", value: "it's" },
      { entity: "metric", key: "val f1", operator: "!=", value: 2 },
    ]);
    assert.deepEqual(parseFilter("  ", runs), []);
    assert.deepEqual(parseFilter(undefined, runs), []);
  });

  it("explains what is wrong", () => {
    fails(() => parseFilter("metrics.f1 > 'high'", runs), /expected a number/);
    fails(() => parseFilter("params.trees > 10", runs), /cannot be compared with >/);
    fails(() => parseFilter("params.trees = 10", runs), /quoted string/);
    fails(() => parseFilter("colour = 'red'", runs), /unknown attribute "colour"/);
    fails(() => parseFilter("things.x = 'red'", runs), /unknown prefix "things"/);
    fails(() => parseFilter("metrics.a > 1 or metrics.b > 1", runs), /OR is not supported/);
    fails(() => parseFilter("metrics.a > 1 metrics.b > 1", runs), /expected AND/);
    fails(() => parseFilter("params.a = 'open", runs), /unterminated/);
    fails(() => parseFilter("metrics.a >", runs), /at the end/);
    fails(() => parseFilter("datasets.colour = 'x'", runs), /unknown dataset field/);
    fails(
      () => parseFilter("tags.x = 'a'", { ...runs, entities: [] }),
      /cannot be searched by tags/,
    );
  });

  it("parses order_by terms", () => {
    assert.deepEqual(parseOrderBy(["metrics.f1 DESC", "start_time", "params.`trees` asc"], runs), [
      { entity: "metric", key: "f1", ascending: false },
      { entity: "attribute", key: "start_time", ascending: true },
      { entity: "param", key: "trees", ascending: true },
    ]);
    fails(() => parseOrderBy(["metrics.f1 DOWN"], runs), /ASC or DESC/);
    fails(() => parseOrderBy(["run_id"], runs), /can be ordered by start_time, status/);
    fails(() => parseOrderBy(["datasets.name"], runs), /dataset fields/);
  });

  it("carries offsets in page tokens and refuses forged ones", () => {
    assert.equal(decodePageToken(encodePageToken(1234)), 1234);
    assert.equal(decodePageToken(undefined), 0);
    fails(() => decodePageToken("garbage"), /page_token/);
    fails(() => decodePageToken(Buffer.from('{"offset": -5}').toString("base64")), /page_token/);
  });
});
