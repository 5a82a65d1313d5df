// cdk-nag AwsSolutions findings reviewed and accepted, each on the construct it concerns with
// the reason it does not apply or what satisfying it would cost. Anything not acknowledged here
// fails synthesis (infra/app.ts) and test/infra/nag.test.ts.
import { type CfnElement, Stack, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import type { GenreClassifierStack } from "./stack.ts";
import { STORE_PREFIX } from "./storage.ts";

function acknowledge(construct: IConstruct, id: string, reason: string): void {
  Validations.of(construct).acknowledge({ id: `AwsSolutions-${id}`, reason });
}

/** The `<LogicalId.Arn>` form cdk-nag uses for a resource's ARN in IAM findings. */
function arnOf(construct: IConstruct): string {
  const stack = Stack.of(construct);
  return `<${stack.resolve(stack.getLogicalId(construct.node.defaultChild as CfnElement))}.Arn>`;
}

export function suppressReviewedFindings(stack: GenreClassifierStack): void {
  const { storage, databases, services } = stack;
  const { parameters } = stack;

  // Storage.
  const replicationPolicy = storage.data.node.findChild("ReplicationRole");
  for (const bucket of [storage.data, storage.reports])
    acknowledge(
      replicationPolicy,
      `IAM5[Resource::${arnOf(bucket)}/*]`,
      "S3 replication of the store's reports/ objects: the CDK's replication role reads object versions of the source bucket and replicates them into the reports bucket; its statements are limited to these two buckets and the replication actions.",
    );
  const distribution = storage.reportsDistribution;
  acknowledge(
    distribution,
    "CFR1",
    "The reports are for the team wherever it works; no country needs to be kept out.",
  );
  acknowledge(
    distribution,
    "CFR2",
    "The distribution serves static, read-only report files from S3 through Origin Access Control (GET and HEAD only): there is no application behind it for WAF rules to protect, and a web ACL costs $5 a month plus $1 per rule and $0.60 per million requests.",
  );
  acknowledge(
    distribution,
    "CFR4",
    "The reports are served on the distribution's own *.cloudfront.net name, whose certificate CloudFront provides with its fixed TLSv1 security policy; the minimum TLS version can only be raised with a custom domain and an ACM certificate in us-east-1. Browsers negotiate TLS 1.2 or 1.3 regardless.",
  );

  // Databases.
  acknowledge(
    databases.postgresCredentials,
    "SMG4",
    "Rotating the database password needs a rotation Lambda function in the VPC and a rewrite of the TrackingUri secret the tasks read at start; docs/aws.md gives the manual procedure (new password, stack update, new deployment).",
  );
  acknowledge(
    databases.redisAuthToken,
    "SMG4",
    "An ElastiCache AUTH token is rotated with modify-replication-group --auth-token-update-strategy ROTATE, not by Secrets Manager rotation; docs/aws.md gives the procedure.",
  );
  for (const derived of [databases.trackingUri, databases.redisUrl])
    acknowledge(
      derived,
      "SMG4",
      "A connection URL assembled by CloudFormation from the generated password or token: it changes with them on a stack update and has nothing of its own to rotate.",
    );
  if (!parameters.database.multiAz)
    acknowledge(
      databases.postgres,
      "RDS3",
      "Single-AZ by default (dbMultiAz=false) to halve the database cost; the tracking store is restored from automated backups (point-in-time recovery within dbBackupRetentionDays). Deploy with -c dbMultiAz=true for a standby.",
    );
  acknowledge(
    databases.postgres,
    "RDS11",
    "PostgreSQL sits in isolated subnets behind a security group that admits only the genre-classifier tasks; a non-default port hides nothing from anyone who can reach it.",
  );
  if (parameters.redis.replicas === 0)
    acknowledge(
      databases.redis,
      "AEC4",
      "One node by default (redisReplicas=0): the queues are rebuilt by the orchestrator's crash check after a node replacement (task runs go back to their queues); -c redisReplicas=1 adds a replica in another zone with automatic failover.",
    );
  acknowledge(
    databases.redis,
    "AEC5",
    "Redis sits in isolated subnets behind a security group that admits only the genre-classifier tasks, with TLS and an AUTH token; a non-default port hides nothing from anyone who can reach it.",
  );

  // Services.
  for (const service of [services.serve, services.scheduler, services.worker]) {
    acknowledge(
      service.taskDefinition,
      "ECS2",
      "The plain environment variables are non-secret configuration (bucket URI, region, executor, log format, port, worker concurrency, the metrics agent's scrape settings); the database URL, the Redis URL and the server token come from Secrets Manager.",
    );
    const executionRole = service.taskDefinition.executionRole;
    if (executionRole)
      acknowledge(
        executionRole,
        "IAM5[Resource::*]",
        "ecr:GetAuthorizationToken, which the image pull needs, has no resource-level permissions; the repository actions are limited to the image's repository.",
      );
    acknowledge(
      service.taskDefinition.taskRole,
      `IAM5[Resource::${arnOf(storage.data)}/${STORE_PREFIX}/*]`,
      "The object store is the store/ prefix of the data bucket (storage.uri s3://<bucket>/store): the tasks read, write and delete its objects and nothing else.",
    );
  }
  acknowledge(
    services.serverToken,
    "SMG4",
    "The token users log in with and API clients send: rotating it logs everyone out and breaks every client until they are given the new one, so it is rotated on purpose (docs/aws.md: put-secret-value, then a new deployment of serve), not on a schedule.",
  );
  acknowledge(
    services.metricsScrapeConfig,
    "SMG4",
    "The metrics agent's scrape configuration, assembled by CloudFormation around the server token: it changes with the token on a stack update and has nothing of its own to rotate.",
  );
  acknowledge(
    services.loadBalancerSecurityGroup,
    "EC23",
    "The internet-facing load balancer: HTTPS (443) from anywhere, and port 80 answering only a redirect to HTTPS when httpRedirect is on. The tasks admit the load balancer alone.",
  );
}
