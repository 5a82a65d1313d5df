// The flows, tasks and deployments this installation offers. Importing the flows' modules
// registers them, so `flows …`, `deploy`, `scheduler` and `worker` all know the same ones;
// `deploy` without options registers the deployments listed here.
import { type PipelineEnvironment, setPipelineEnvironment } from "../flows/environment.ts";
import type { DeploymentSpec } from "../orchestration/scheduler.ts";

/** Registers the flows; their tasks run against `environment` in this process. */
export async function loadFlowCatalog(environment: PipelineEnvironment): Promise<void> {
  setPipelineEnvironment(environment);
  await import("../orchestration/selfcheck.ts");
  await import("../flows/train.ts");
  await import("../flows/predict.ts");
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
