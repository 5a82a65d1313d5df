// The synthesized CloudFormation template of the AWS deployment (infra/), offline: encrypted,
// private buckets with the reports behind CloudFront's Origin Access Control, an encrypted
// private database and Redis, nothing open to the world but the load balancer's HTTPS (and its
// redirect), workers scaled on the queue depth, least-privilege roles; and cdk-nag's AWS
// Solutions checks with every finding fixed or acknowledged.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { type CfnElement, Stack } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { HTTP_PORT, QUEUE_DEPTH, SECRET_ENV } from "../../infra/application.ts";
import { REPORTS_PREFIX, STORE_PREFIX } from "../../infra/storage.ts";
import { resourcesOf, type Synthesized, synthesize } from "./synth.ts";

type Json = Record<string, unknown>;

/** The logical id of a construct's CloudFormation resource. */
function idOf(construct: IConstruct): string {
  const stack = Stack.of(construct);
  return stack.resolve(stack.getLogicalId(construct.node.defaultChild as CfnElement)) as string;
}

/** The logical id a `{ "Fn::GetAtt": [id, …] }` or `{ Ref: id }` points at. */
function target(value: unknown): string | undefined {
  const v = value as { "Fn::GetAtt"?: [string, string]; Ref?: string } | undefined;
  return v?.["Fn::GetAtt"]?.[0] ?? v?.Ref;
}

interface IngressRule {
  group: string;
  from: number;
  to: number;
  cidr?: string;
  source?: string;
}

function ingressRules(s: Synthesized): IngressRule[] {
  const rules: IngressRule[] = [];
  for (const [id, props] of resourcesOf(s, "AWS::EC2::SecurityGroup")) {
    for (const rule of (props.SecurityGroupIngress ?? []) as Json[])
      rules.push({
        group: id,
        from: rule.FromPort as number,
        to: rule.ToPort as number,
        cidr: (rule.CidrIp ?? rule.CidrIpv6) as string | undefined,
        source: target(rule.SourceSecurityGroupId),
      });
  }
  for (const [, rule] of resourcesOf(s, "AWS::EC2::SecurityGroupIngress"))
    rules.push({
      group: target(rule.GroupId) as string,
      from: rule.FromPort as number,
      to: rule.ToPort as number,
      cidr: (rule.CidrIp ?? rule.CidrIpv6) as string | undefined,
      source: target(rule.SourceSecurityGroupId),
    });
  return rules;
}

/** The CloudFormation properties of a construct's resource. */
function propertiesOf(s: Synthesized, construct: IConstruct): Json {
  const resource = s.json.Resources[idOf(construct)];
  assert.ok(resource?.Properties, `${construct.node.path} has a resource with properties`);
  return resource.Properties;
}

function statementsOf(policy: Json): Json[] {
  return ((policy.PolicyDocument as Json).Statement as Json[]).map((s) => s);
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

describe("infra: the synthesized stack", () => {
  let s: Synthesized;
  before(() => {
    const started = Date.now();
    s = synthesize();
    console.log(`# synthesized in ${Date.now() - started} ms`);
  });

  it("encrypts every bucket, blocks its public access, keeps versions, serves no website", () => {
    const buckets = resourcesOf(s, "AWS::S3::Bucket");
    assert.equal(buckets.length, 3, "data, reports and access-log buckets");
    for (const [id, props] of buckets) {
      const encryption = (props.BucketEncryption as Json | undefined)
        ?.ServerSideEncryptionConfiguration as Json[] | undefined;
      const algorithm = (encryption?.[0]?.ServerSideEncryptionByDefault as Json | undefined)
        ?.SSEAlgorithm;
      assert.ok(algorithm === "AES256" || algorithm === "aws:kms", `${id} encrypted`);
      assert.deepEqual(
        props.PublicAccessBlockConfiguration,
        {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        `${id} blocks public access`,
      );
      assert.deepEqual(props.VersioningConfiguration, { Status: "Enabled" }, `${id} versioned`);
      assert.equal(props.WebsiteConfiguration, undefined, `${id} is no website`);
    }
    const { data, reports, accessLogs } = s.stack.storage;
    for (const bucket of [data, reports]) {
      const props = propertiesOf(s, bucket);
      assert.equal(
        target((props.LoggingConfiguration as Json).DestinationBucketName),
        idOf(accessLogs),
      );
    }
  });

  it("has no bucket policy granting anyone anything without a condition, and refuses plain HTTP", () => {
    const policies = resourcesOf(s, "AWS::S3::BucketPolicy");
    assert.equal(policies.length, 3);
    for (const [id, props] of policies) {
      const statements = statementsOf(props);
      for (const statement of statements) {
        const principal = statement.Principal as Json | string | undefined;
        const everyone =
          principal === "*" || asList((principal as Json | undefined)?.AWS).includes("*");
        if (everyone && statement.Effect === "Allow")
          assert.ok(statement.Condition, `${id}: an Allow for * carries a condition`);
      }
      assert.ok(
        statements.some(
          (st) =>
            st.Effect === "Deny" &&
            JSON.stringify(st.Condition) ===
              JSON.stringify({ Bool: { "aws:SecureTransport": "false" } }),
        ),
        `${id} denies requests without TLS`,
      );
    }
  });

  it("serves the reports through CloudFront with Origin Access Control, from a private bucket", () => {
    s.template.resourceCountIs("AWS::CloudFront::OriginAccessControl", 1);
    s.template.hasResourceProperties("AWS::CloudFront::OriginAccessControl", {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: "s3",
        SigningBehavior: "always",
        SigningProtocol: "sigv4",
      }),
    });
    const [[, distribution]] = resourcesOf(s, "AWS::CloudFront::Distribution") as [[string, Json]];
    const config = distribution.DistributionConfig as Json;
    const [origin] = config.Origins as Json[];
    assert.ok(origin);
    assert.equal(
      target(origin.OriginAccessControlId),
      resourcesOf(s, "AWS::CloudFront::OriginAccessControl")[0]?.[0],
    );
    assert.equal(target(origin.DomainName), idOf(s.stack.storage.reports));
    assert.equal(origin.OriginPath, `/${REPORTS_PREFIX}`);
    assert.deepEqual(origin.S3OriginConfig, { OriginAccessIdentity: "" });
    assert.equal((config.DefaultCacheBehavior as Json).ViewerProtocolPolicy, "redirect-to-https");

    const reportsPolicy = resourcesOf(s, "AWS::S3::BucketPolicy").find(
      ([, props]) => target(props.Bucket) === idOf(s.stack.storage.reports),
    )?.[1] as Json;
    const allows = statementsOf(reportsPolicy).filter((st) => st.Effect === "Allow");
    assert.equal(allows.length, 1, "the reports bucket allows CloudFront alone");
    const [allow] = allows as [Json];
    assert.deepEqual(allow.Principal, { Service: "cloudfront.amazonaws.com" });
    assert.deepEqual(asList(allow.Action), ["s3:GetObject"]);
    assert.ok(
      JSON.stringify(allow.Condition).includes("AWS:SourceArn"),
      "only this distribution may read",
    );
  });

  it("fills the reports bucket by replicating the store's reports/ objects", () => {
    const data = propertiesOf(s, s.stack.storage.data);
    const [rule] = (data.ReplicationConfiguration as Json).Rules as [Json];
    assert.equal(rule.Status, "Enabled");
    assert.deepEqual(rule.Filter, { Prefix: `${REPORTS_PREFIX}/` });
    assert.equal(target((rule.Destination as Json).Bucket), idOf(s.stack.storage.reports));
  });

  it("keeps PostgreSQL encrypted, private, backed up and protected, with a generated password", () => {
    s.template.hasResourceProperties("AWS::RDS::DBInstance", {
      StorageEncrypted: true,
      PubliclyAccessible: false,
      DeletionProtection: true,
      BackupRetentionPeriod: s.parameters.database.backupRetentionDays,
      MasterUserPassword: Match.objectLike({
        "Fn::Join": Match.arrayWith([
          Match.arrayWith([Match.stringLikeRegexp("resolve:secretsmanager")]),
        ]),
      }),
    });
    const [[, subnetGroup]] = resourcesOf(s, "AWS::RDS::DBSubnetGroup") as [[string, Json]];
    for (const subnet of subnetGroup.SubnetIds as unknown[])
      assert.match(target(subnet) as string, /dataSubnet/, "in the isolated subnets");
    s.template.hasResourceProperties("AWS::RDS::DBParameterGroup", {
      Parameters: Match.objectLike({ "rds.force_ssl": "1" }),
    });
  });

  it("encrypts Redis in transit and at rest, with an AUTH token from Secrets Manager and no eviction", () => {
    s.template.hasResourceProperties("AWS::ElastiCache::ReplicationGroup", {
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
      TransitEncryptionMode: "required",
      AuthToken: Match.objectLike({
        "Fn::Join": Match.arrayWith([
          Match.arrayWith([Match.stringLikeRegexp("resolve:secretsmanager")]),
        ]),
      }),
    });
    s.template.hasResourceProperties("AWS::ElastiCache::ParameterGroup", {
      Properties: { "maxmemory-policy": "noeviction" },
    });
    const [[, subnets]] = resourcesOf(s, "AWS::ElastiCache::SubnetGroup") as [[string, Json]];
    for (const subnet of subnets.SubnetIds as unknown[])
      assert.match(target(subnet) as string, /dataSubnet/);
  });

  it("opens nothing to the world but the load balancer's 443, and 80 only for a redirect", () => {
    const balancerGroup = idOf(s.stack.services.loadBalancerSecurityGroup);
    const open = ingressRules(s).filter((r) => r.cidr === "0.0.0.0/0" || r.cidr === "::/0");
    assert.ok(open.length > 0);
    for (const rule of open) {
      assert.equal(rule.group, balancerGroup, `${JSON.stringify(rule)} is on the load balancer`);
      assert.ok(
        rule.from === rule.to && (rule.from === 443 || rule.from === 80),
        JSON.stringify(rule),
      );
    }
    assert.ok(open.some((r) => r.from === 443));
    const listeners = resourcesOf(s, "AWS::ElasticLoadBalancingV2::Listener");
    const http = listeners.filter(([, l]) => l.Port === 80);
    if (open.some((r) => r.from === 80)) {
      assert.equal(http.length, 1);
      const [[, redirect]] = http as [[string, Json]];
      const actions = redirect.DefaultActions as Json[];
      assert.deepEqual(
        actions.map((a) => [a.Type, (a.RedirectConfig as Json | undefined)?.Protocol]),
        [["redirect", "HTTPS"]],
        "port 80 answers only a redirect to HTTPS",
      );
    } else assert.equal(http.length, 0);
    const https = listeners.filter(([, l]) => l.Port === 443);
    assert.equal(https.length, 1);
    const [, listener] = https[0] as [string, Json];
    assert.equal(listener.Protocol, "HTTPS");
    assert.equal((listener.Certificates as unknown[]).length, 1);
  });

  it("lets only the load balancer reach serve, and only the tasks reach PostgreSQL and Redis", () => {
    const { services, databases } = s.stack;
    const rules = ingressRules(s);
    const into = (group: IConstruct) => rules.filter((r) => r.group === idOf(group));
    const serveGroup = services.serve.connections.securityGroups[0] as IConstruct;
    assert.deepEqual(
      into(serveGroup).map((r) => [r.source, r.from, r.to]),
      [[idOf(services.loadBalancerSecurityGroup), HTTP_PORT, HTTP_PORT]],
    );
    for (const service of [services.worker, services.scheduler])
      assert.deepEqual(into(service.connections.securityGroups[0] as IConstruct), [], "no ingress");
    const taskGroups = [services.serve, services.worker, services.scheduler].map((x) =>
      idOf(x.connections.securityGroups[0] as IConstruct),
    );
    for (const [group, port] of [
      [databases.postgresSecurityGroup, 5432],
      [databases.redisSecurityGroup, 6379],
    ] as const) {
      const sources = into(group);
      assert.equal(sources.length, 3);
      for (const rule of sources) {
        assert.ok(rule.source && taskGroups.includes(rule.source), JSON.stringify(rule));
        assert.deepEqual([rule.from, rule.to], [port, port]);
      }
    }
  });

  it("runs one scheduler and scales workers on the queue depth", () => {
    const { services, parameters } = { services: s.stack.services, parameters: s.parameters };
    s.template.hasResourceProperties("AWS::ECS::Cluster", {
      ClusterSettings: [{ Name: "containerInsights", Value: "enabled" }],
    });
    const scheduler = propertiesOf(s, services.scheduler);
    assert.equal(scheduler.DesiredCount, 1);
    assert.deepEqual(
      [
        (scheduler.DeploymentConfiguration as Json).MinimumHealthyPercent,
        (scheduler.DeploymentConfiguration as Json).MaximumPercent,
      ],
      [0, 100],
      "never two schedulers at once",
    );
    const targets = resourcesOf(s, "AWS::ApplicationAutoScaling::ScalableTarget");
    assert.equal(targets.length, 1);
    const [targetId, scalable] = targets[0] as [string, Json];
    assert.ok(JSON.stringify(scalable.ResourceId).includes(idOf(services.worker)), "the workers");
    assert.deepEqual(
      [scalable.MinCapacity, scalable.MaxCapacity],
      [parameters.worker.min, parameters.worker.max],
    );
    const policies = resourcesOf(s, "AWS::ApplicationAutoScaling::ScalingPolicy");
    assert.equal(policies.length, 2, "scale out on waiting task runs, in when idle");
    for (const [, policy] of policies) {
      assert.equal(policy.PolicyType, "StepScaling");
      assert.equal(target(policy.ScalingTargetId), targetId);
    }
    const alarms = resourcesOf(s, "AWS::CloudWatch::Alarm");
    const scaleOut = alarms.find(([, a]) => a.Namespace === QUEUE_DEPTH.namespace);
    assert.ok(scaleOut, "an alarm on the queue depth metric");
    const alarm = scaleOut[1];
    assert.equal(alarm.MetricName, QUEUE_DEPTH.prometheusName);
    assert.deepEqual(alarm.Dimensions, [
      { Name: QUEUE_DEPTH.queueLabel, Value: QUEUE_DEPTH.queue },
      { Name: QUEUE_DEPTH.stateLabel.name, Value: QUEUE_DEPTH.stateLabel.value },
    ]);
    assert.equal(alarm.Threshold, parameters.worker.scaleOutQueueDepth);
    assert.equal(alarm.ComparisonOperator, "GreaterThanOrEqualToThreshold");
    const scaleIn = alarms.find(([, a]) => Array.isArray(a.Metrics));
    assert.ok(scaleIn, "the idle alarm: waiting + active");
    assert.equal(scaleIn[1].ComparisonOperator, "LessThanOrEqualToThreshold");
    assert.equal(scaleIn[1].Threshold, 0);
  });

  it("gives each service only its own secrets, and the task roles only the store's prefix", () => {
    const { services, databases, storage } = s.stack;
    const policies = resourcesOf(s, "AWS::IAM::Policy");
    const policyOf = (role: IConstruct) =>
      policies
        .filter(([, p]) => asList(p.Roles).some((r) => target(r) === idOf(role)))
        .flatMap(([, p]) => statementsOf(p));
    const secretReads = (role: IConstruct) =>
      policyOf(role)
        .filter((st) => asList(st.Action).includes("secretsmanager:GetSecretValue"))
        .flatMap((st) => asList(st.Resource).map(target))
        .sort();
    const ids = (...constructs: IConstruct[]) => constructs.map(idOf).sort();
    const executionRole = (service: typeof services.serve) =>
      service.taskDefinition.executionRole as IConstruct;
    assert.deepEqual(
      secretReads(executionRole(services.serve)),
      ids(
        databases.trackingUri,
        databases.redisUrl,
        services.serverToken,
        services.metricsScrapeConfig,
      ),
    );
    for (const service of [services.worker, services.scheduler])
      assert.deepEqual(
        secretReads(executionRole(service)),
        ids(databases.trackingUri, databases.redisUrl),
      );
    for (const service of [services.serve, services.worker, services.scheduler]) {
      const statements = policyOf(service.taskDefinition.taskRole);
      assert.deepEqual(
        secretReads(service.taskDefinition.taskRole),
        [],
        "task roles read no secret",
      );
      const text = JSON.stringify(statements);
      assert.ok(!text.includes(idOf(storage.reports)), "no access to the reports bucket");
      for (const statement of statements) {
        const actions = asList(statement.Action) as string[];
        assert.ok(!actions.some((a) => a === "*" || a.endsWith(":*")), JSON.stringify(actions));
        if (actions.some((a) => a.startsWith("s3:") && a !== "s3:ListBucket"))
          assert.deepEqual(statement.Resource, {
            "Fn::Join": ["", [{ "Fn::GetAtt": [idOf(storage.data), "Arn"] }, `/${STORE_PREFIX}/*`]],
          });
      }
    }
    const [serveContainer] = propertiesOf(s, services.serve.taskDefinition)
      .ContainerDefinitions as [Json];
    const environment = serveContainer.Environment as Json[];
    assert.ok(
      !environment.some((e) => e.Name === SECRET_ENV.serverToken),
      "the token is no plain variable",
    );
    assert.ok(!JSON.stringify(environment).includes("resolve:secretsmanager"));
  });

  it("keeps every log group for a limited time", () => {
    const groups = resourcesOf(s, "AWS::Logs::LogGroup");
    assert.ok(groups.length >= 6);
    for (const [id, props] of groups) assert.equal(typeof props.RetentionInDays, "number", id);
  });

  it("points the domain at the load balancer with a certificate validated in the zone", () => {
    s.template.hasResourceProperties("AWS::Route53::RecordSet", {
      Name: "genres.example.com.",
      Type: "A",
      HostedZoneId: "Z0123456789EXAMPLE",
    });
    s.template.hasResourceProperties("AWS::CertificateManager::Certificate", {
      DomainName: "genres.example.com",
      ValidationMethod: "DNS",
    });
  });

  it("passes cdk-nag's AWS Solutions checks: every finding fixed or acknowledged with a reason", () => {
    const started = Date.now();
    const report = new AwsSolutionsChecks().validateScope(s.stack);
    console.log(`# cdk-nag in ${Date.now() - started} ms`);
    const findings = report.violations.map(
      (v) =>
        `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(", ")}`,
    );
    assert.deepEqual(findings, []);
    assert.equal(report.success, true);
  });
});
