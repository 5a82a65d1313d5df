// The flows, tasks and deployments this installation offers. Importing the flows' modules
// registers them, so `flows …`, `deploy`, `scheduler` and `worker` all know the same ones;
// `deploy` without options registers the deployments listed here.

import type { Config } from "../config/schema.ts";
import { type PipelineEnvironment, setPipelineEnvironment } from "../flows/environment.ts";
import type { DeploymentSpec } from "../orchestration/scheduler.ts";

/** Registers the flows; their tasks run against `environment` in this process. */
export async function loadFlowCatalog(environment: PipelineEnvironment): Promise<void> {
  setPipelineEnvironment(environment);
  await import("../orchestration/selfcheck.ts");
  await import("../flows/train.ts");
  await import("../flows/predict.ts");
  await import("../flows/pipeline.ts");
  await import("../flows/monitor.ts");
  await import("../flows/daily.ts");
}

/** The daily inference on `pipeline.dailyInferenceCron`, and complete-training when triggered. */
export function projectDeployments(config: Config): DeploymentSpec[] {
  return [
    {
      name: "daily-inference",
      flow: "daily-inference",
      cron: config.pipeline.dailyInferenceCron,
      timezone: config.pipeline.timeZone,
    },
    { name: "complete-training", flow: "complete-training" },
  ];
}
