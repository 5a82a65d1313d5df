// One of several processes writing to the same run at once (run by concurrency.test.ts):
// metrics in batches, a param every writer logs with the same value, its own params and tags,
// and one version of a shared registered model. It says "ready" once connected and starts
// writing when the test answers "go", so that all writers run at the same time.
import { once } from "node:events";
import { createInterface } from "node:readline";
import { LocalObjectStore } from "../../src/storage/local.ts";
import { StoreTrackingClient } from "../../src/tracking/client.ts";

const [uri, storeRoot, runId, writerText, batchesText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const writer = Number(writerText);
const batches = Number(batchesText);
const store = new LocalObjectStore(storeRoot);
const client = await StoreTrackingClient.open(uri, store);
try {
  const lines = createInterface({ input: process.stdin });
  process.stdout.write("ready\n");
  await once(lines, "line");
  lines.close();
  for (let batch = 0; batch < batches; batch++) {
    await client.logBatch(runId, {
      metrics: Array.from({ length: 50 }, (_, i) => ({
        key: `shared_${i % 5}`,
        value: writer * 1000 + batch * 50 + i,
        step: batch,
        timestamp: 1_700_000_000_000 + writer,
      })),
      params: [
        { key: "shared_param", value: "same" },
        { key: `writer_${writer}_batch_${batch}`, value: String(batch) },
      ],
      tags: [{ key: `writer_${writer}`, value: String(batch) }],
    });
  }
  await client.registerModelVersion("concurrent-model", runId, `model-${writer}`);
  process.stdout.write(`${JSON.stringify({ writer, ok: true })}\n`);
} finally {
  await client.close();
}
