// Takes the README's pictures of the web UI: serves a data folder where `demo` ran (read-only
// use: pages only) and saves the overview and the newest complete-training run started by itself (not as a retrain) as
// small PNGs. Usage: node --import tsx scripts/ui-screenshots.ts DATA_DIR [OUT_DIR]
import { join } from "node:path";
import { launchBrowser } from "../test/helpers/browser.ts";
import { startTestServer } from "../test/helpers/serve.ts";

const [dataDir, outDir = "docs/images"] = process.argv.slice(2);
if (!dataDir) {
  process.stderr.write("usage: scripts/ui-screenshots.ts DATA_DIR [OUT_DIR]\n");
  process.exit(2);
}
const server = await startTestServer({ dir: dataDir });
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  await page.goto(`${server.url}/`);
  await page.screenshot({ path: join(outDir, "ui-overview.png") });
  const runs = await server.orchestrator.runs.listFlowRuns({ flowName: "complete-training" });
  const run = runs.find((r) => r.parent_flow_run_id === null);
  if (run === undefined) throw new Error(`no complete-training run in ${dataDir}: run demo there`);
  await page.goto(`${server.url}/flow-runs/${run.id}`);
  await page.screenshot({ path: join(outDir, "ui-flow-run.png") });
  process.stdout.write(`wrote ${join(outDir, "ui-overview.png")} and ui-flow-run.png\n`);
} finally {
  await browser.close();
  await server.close();
}
