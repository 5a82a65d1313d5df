// Synthesizes the genre-classifier stack offline for the infra tests: explicit dummy account
// and region, no credentials, no lookups, no network.
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import {
  DEFAULT_PARAMETERS,
  type DeploymentParameters,
  parametersFromContext,
} from "../../infra/parameters.ts";
import { GenreClassifierStack } from "../../infra/stack.ts";

export const TEST_ACCOUNT = "123456789012";
export const TEST_REGION = "eu-west-1";

/** The context of a deployment with its own domain in a Route 53 zone. */
export const TEST_CONTEXT = {
  account: TEST_ACCOUNT,
  region: TEST_REGION,
  domainName: "genres.example.com",
  hostedZoneId: "Z0123456789EXAMPLE",
  hostedZoneName: "example.com",
  imageTag: "0.1.0",
};

export interface Synthesized {
  stack: GenreClassifierStack;
  template: Template;
  parameters: DeploymentParameters;
  /** The template as JSON. */
  json: { Resources: Record<string, CfnResourceJson>; Parameters?: Record<string, unknown> };
}

export interface CfnResourceJson {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
}

export function synthesize(context: Record<string, unknown> = TEST_CONTEXT): Synthesized {
  const app = new App({ context: {} });
  const parameters = parametersFromContext(context);
  const stack = new GenreClassifierStack(app, parameters.stackName, {
    parameters,
    env: { account: parameters.account, region: parameters.region },
  });
  const template = Template.fromStack(stack);
  return { stack, template, parameters, json: template.toJSON() as Synthesized["json"] };
}

/** The resources of one type, by logical id. */
export function resourcesOf(
  synthesized: Synthesized,
  type: string,
): Array<[string, Record<string, unknown>]> {
  return Object.entries(synthesized.json.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([id, resource]) => [id, resource.Properties ?? {}]);
}

export { DEFAULT_PARAMETERS };
