// The flows, tasks and deployments this installation offers. Importing the flows' modules
// registers them, so `flows …`, `deploy`, `scheduler` and `worker` all know the same ones;
// `deploy` without options registers the deployments listed here.
import type { DeploymentSpec } from "../orchestration/scheduler.ts";

export async function loadFlowCatalog(): Promise<void> {
  await import("../orchestration/selfcheck.ts");
}

export function projectDeployments(): DeploymentSpec[] {
  return [
    {
      name: "selfcheck-hourly",
      flow: "selfcheck",
      parameters: { tasks: 8, fail_once: 0.25 },
      intervalSeconds: 3600,
    },
  ];
}
