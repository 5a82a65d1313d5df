// The deployment's parameters from CDK context: defaults, strings from `-c key=value` read as
// numbers and booleans, and one clear message naming the key for every bad value.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULT_PARAMETERS,
  ParameterError,
  parametersFromContext,
} from "../../infra/parameters.ts";

function refused(context: Record<string, unknown>, message: RegExp): void {
  assert.throws(
    () => parametersFromContext(context),
    (error: unknown) => error instanceof ParameterError && message.test(error.message),
  );
}

describe("infra: parameters from context", () => {
  it("defaults every parameter, the environment giving account and region", () => {
    const parameters = parametersFromContext(
      {},
      { account: "123456789012", region: "eu-central-1" },
    );
    assert.deepEqual(parameters, {
      ...DEFAULT_PARAMETERS,
      account: "123456789012",
      region: "eu-central-1",
    });
  });

  it("reads the strings of -c key=value as numbers and booleans, context over environment", () => {
    const parameters = parametersFromContext(
      {
        region: "us-west-2",
        serveCpu: "1024",
        serveMemory: "3072",
        workerMin: "2",
        workerMax: "20",
        dbMultiAz: "true",
        httpRedirect: "false",
        redisReplicas: 1,
        certificateArn: "arn:aws:acm:us-west-2:123456789012:certificate/abcd-1234",
        image: "ghcr.io/example/genre-classifier:0.1.0",
        "@aws-cdk/core:newStyleStackSynthesis": true,
        "aws:cdk:enable-path-metadata": true,
      },
      { region: "eu-west-1" },
    );
    assert.equal(parameters.region, "us-west-2");
    assert.deepEqual(parameters.serve, { cpu: 1024, memoryMiB: 3072, count: 2 });
    assert.deepEqual([parameters.worker.min, parameters.worker.max], [2, 20]);
    assert.equal(parameters.database.multiAz, true);
    assert.equal(parameters.httpRedirect, false);
    assert.equal(parameters.redis.replicas, 1);
  });

  it("refuses a bare name that is not a parameter, so that a typo deploys no default", () => {
    refused(
      { workerMaximum: "4" },
      /^context workerMaximum: not a parameter of this app \(expected one of .*workerMax/,
    );
  });

  it("refuses malformed values, naming the key and what it expects", () => {
    refused(
      { serveCount: "two" },
      /^context serveCount: "two" is not a whole number from 1 to 100$/,
    );
    refused({ workerMin: "0" }, /^context workerMin: "0" is not a whole number/);
    refused({ dbMultiAz: "yes" }, /^context dbMultiAz: "yes" is not true or false$/);
    refused({ region: "Europe" }, /^context region: "Europe" is not a region/);
    refused(
      { cpuArchitecture: "sparc" },
      /^context cpuArchitecture: "sparc" is not one of x86_64, arm64$/,
    );
    refused(
      { certificateArn: "arn:aws:iam::1:role/x" },
      /^context certificateArn: .* is not an ACM certificate ARN$/,
    );
    refused(
      { logRetentionDays: "10" },
      /^context logRetentionDays: 10 is not a CloudWatch Logs retention/,
    );
  });

  it("refuses Fargate sizes that do not go together", () => {
    refused({ workerCpu: "1000" }, /^context workerCpu: 1000 is not a Fargate CPU size/);
    refused(
      { serveCpu: "1024", serveMemory: "1024" },
      /^context serveMemory: 1024 MiB does not go with serveCpu 1024/,
    );
    refused({ workerMin: "5", workerMax: "3" }, /^context workerMax: 3 is below workerMin 5$/);
  });

  it("needs a certificate or a zone to validate one for a domain name", () => {
    refused(
      { domainName: "genres.example.com" },
      /^context domainName: genres\.example\.com needs hostedZoneId and hostedZoneName .* or certificateArn/,
    );
    refused(
      { domainName: "genres.example.com", hostedZoneId: "Z123" },
      /^context hostedZoneId and hostedZoneName: give both/,
    );
    refused(
      { domainName: "genres.example.com", hostedZoneId: "Z123", hostedZoneName: "example.org" },
      /^context domainName: genres\.example\.com is not inside hostedZoneName example\.org$/,
    );
    const parameters = parametersFromContext({
      domainName: "genres.example.com",
      hostedZoneId: "Z123",
      hostedZoneName: "example.com",
    });
    assert.equal(parameters.domainName, "genres.example.com");
  });
});
