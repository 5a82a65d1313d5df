// Storage URIs: file:/// and s3:// parsing and the errors for malformed ones.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InputError } from "../../src/common/errors.ts";
import { parseStoreUri } from "../../src/storage/uri.ts";

describe("storage URIs", () => {
  it("parses file and s3 URIs", () => {
    assert.deepEqual(parseStoreUri("file:///data/store"), { kind: "file", root: "/data/store" });
    assert.deepEqual(parseStoreUri("file:///data/with%20space"), {
      kind: "file",
      root: "/data/with space",
    });
    assert.deepEqual(parseStoreUri("s3://my-bucket"), {
      kind: "s3",
      bucket: "my-bucket",
      prefix: "",
    });
    assert.deepEqual(parseStoreUri("s3://my.bucket/a/b/"), {
      kind: "s3",
      bucket: "my.bucket",
      prefix: "a/b",
    });
  });

  it("rejects malformed URIs naming the URI and what was expected", () => {
    for (const [uri, pattern] of [
      [
        "gs://bucket/x",
        /storage URI gs:\/\/bucket\/x: expected a file:\/\/\/… or s3:\/\/bucket\/prefix URI/,
      ],
      ["s3://", /expected s3:\/\/bucket\/prefix/],
      ["s3://Upper_Case/x", /bucket name of 3-63 lower-case/],
      ["s3://ab", /bucket name/],
      ["s3://bucket/a/../b", /must not contain empty, \. or \.\. segments/],
      ["file://relative/path", /expected file:\/\/\/absolute\/path/],
      ["just words", /expected a file/],
    ] as const) {
      assert.throws(
        () => parseStoreUri(uri),
        (error: Error) => error instanceof InputError && pattern.test(error.message),
        uri,
      );
    }
  });
});
