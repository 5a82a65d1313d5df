// The crash check for readers that show active runs without running a scheduler (the server's
// pages): runs whose process is gone or stopped beating are marked crashed, at most once per
// heartbeat interval however many pages ask, so a dead run never shows as running for ever.
import type { Orchestrator } from "./runtime.ts";

const lastChecks = new WeakMap<Orchestrator, { at: number; running: Promise<void> }>();

export function checkCrashedRuns(orchestrator: Orchestrator, now = Date.now()): Promise<void> {
  const last = lastChecks.get(orchestrator);
  if (last && now - last.at < orchestrator.heartbeatMs) return last.running;
  const running = orchestrator.runs.markCrashed(orchestrator.crashAfterMs).then(() => undefined);
  lastChecks.set(orchestrator, { at: now, running });
  return running;
}
