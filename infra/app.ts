// The CDK app: the genre-classifier stack from the context's parameters, checked by cdk-nag's
// AWS Solutions rules. `npx aws-cdk@2 deploy -c key=value …` runs it through cdk.json; run
// directly (`npx tsx infra/app.ts -c key=value …`), it synthesizes into cdk.out/.
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { ParameterError, parametersFromContext } from "./parameters.ts";
import { GenreClassifierStack } from "./stack.ts";

/** `-c key=value` pairs from the command line, as the CDK CLI passes them on. */
function contextFromArguments(args: string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const pair = arg === "-c" || arg === "--context" ? args[++i] : undefined;
    if (pair === undefined || !pair.includes("="))
      throw new ParameterError(`argument ${[arg, pair].join(" ").trim()}: expected -c key=value`);
    const eq = pair.indexOf("=");
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return context;
}

try {
  const app = new App({
    context: contextFromArguments(process.argv.slice(2)),
    outdir: process.env.CDK_OUTDIR ?? "cdk.out",
  });
  const parameters = parametersFromContext(app.node.getAllContext(), {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    // The load balancer's access logs need a concrete region; us-east-1 when nothing names one.
    region: process.env.CDK_DEFAULT_REGION ?? process.env.AWS_REGION ?? "us-east-1",
  });
  const stack = new GenreClassifierStack(app, parameters.stackName, {
    parameters,
    env: { account: parameters.account, region: parameters.region },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const assembly = app.synth();
  const template = assembly.getStackArtifact(stack.artifactId).template as {
    Resources: Record<string, unknown>;
  };
  console.error(
    `infra: ${stack.stackName} synthesized into ${assembly.directory} (${Object.keys(template.Resources).length} resources); cdk-nag AwsSolutions: every finding fixed or acknowledged with a reason`,
  );
} catch (error) {
  if (!(error instanceof ParameterError)) throw error;
  console.error(`infra: ${error.message}`);
  process.exit(2);
}
